"""How bright a PQ (HDR10) video gets, from its static HDR metadata: the peak its tone curve rolls off to.

HDR10 says how bright its content gets in two ways: the content light level (MaxCLL, CTA-861.3: the brightest pixel
of the whole video) and the mastering display's colour volume (SMPTE ST 2086: the brightest the grading monitor
showed). FFmpeg puts both on decoded frames as side data: from the container's boxes (MP4 `clli`/`mdcv`, Matroska's
colour elements) on every frame, from HEVC's SEI on every frame of the coded sequence, from H.264's SEI on the
keyframes that carry it only (so a stream's peak is read once, from its first frame: frames.StreamFrames, and
`rtstyle video`'s probe_video). Without
them a 4000 cd/m2 master had everything above a fixed 1000 cd/m2 clipped to one white. HLG is scene-referred and
has no such peak.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import cast

import av
from av.sidedata.sidedata import SideDataContainer, Type

from rtstyle.io.hdr import PEAK_NITS, REFERENCE_WHITE_NITS

MAX_PQ_NITS = 10000.0  # the brightest PQ can encode: a larger value is not a measurement
# AVMasteringDisplayMetadata: 8 AVRationals (3 primaries and the white point as x, y), then min_luminance,
# max_luminance and the two has_ flags; its size may grow at the end, never change before.
_MASTERING = struct.Struct("=16i2i2iii")
_CONTENT_LIGHT = struct.Struct("=II")  # AVContentLightMetadata: MaxCLL, MaxFALL (cd/m2)


@dataclass(frozen=True)
class SourcePeak:
    """The light level a PQ video's tone curve maps to SDR white, and where it was read."""
    nits: float = PEAK_NITS
    origin: str = "no HDR10 metadata, the default"

    def __str__(self) -> str:
        return f"{self.nits:g} cd/m2 ({self.origin})"


def frame_peak(frame: av.VideoFrame) -> SourcePeak:
    """The peak the frame's side data gives: MaxCLL where it is believable, else the mastering display's maximum
    luminance, else 1000 cd/m2 (what most HDR10 is mastered for)."""
    side_data = cast(SideDataContainer, frame.side_data)  # PyAV's stub types it as a TypedDict; it is a Mapping
    light = _bytes(side_data, Type.CONTENT_LIGHT_LEVEL)
    if len(light) >= _CONTENT_LIGHT.size:
        max_cll, _ = _CONTENT_LIGHT.unpack_from(light)
        if _believable(max_cll):
            return SourcePeak(float(max_cll), "its MaxCLL")
    mastering = _bytes(side_data, Type.MASTERING_DISPLAY_METADATA)
    if len(mastering) >= _MASTERING.size:
        *_, max_num, max_den, _, has_luminance = _MASTERING.unpack_from(mastering)
        if has_luminance and max_den > 0 and _believable(max_num / max_den):
            return SourcePeak(round(max_num / max_den, 1), "its mastering display's peak")
    return SourcePeak()


def _bytes(side_data: SideDataContainer, kind: Type) -> bytes:
    data = side_data.get(kind)
    return bytes(data) if data is not None else b""


def _believable(nits: float) -> bool:
    """0 means "unknown" (CTA-861.3); at or below HDR reference white it is no highlight peak (and would brighten the
    picture); above PQ's 10000 cd/m2 it cannot be a measurement. Such values are passed over, not clamped."""
    return REFERENCE_WHITE_NITS < nits <= MAX_PQ_NITS
