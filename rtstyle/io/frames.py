"""Decoded video frames as the networks take them: 8-bit BGR, HDR tone-mapped to SDR."""
from __future__ import annotations

import av
import numpy as np

from rtstyle.io.hdr import PEAK_NITS, PQ, is_hdr, tone_map
from rtstyle.io.hdr_metadata import frame_peak

# swscale's default (fast) YUV -> BGR is kept: it reads frames about a level dark (-1.05 on average on a 1080p
# photo), and its accurate path (ACCURATE_RND | FULL_CHR_H_INT) gets the matrix's own colours but costs 8-16 ms a
# 1080p frame instead of 0.7-1 (bench/decode.py): the decoding thread would then hold back GPU conversions.


def frame_to_bgr(frame: av.VideoFrame, size: tuple[int, int] | None = None,
                 peak_nits: float | None = None) -> np.ndarray:
    """A decoded frame as 8-bit BGR (scaled to `size` with area averaging): tone-mapped to SDR when it is HDR.
    `peak_nits`: a PQ stream's peak, read once for the stream (StreamFrames); None reads this frame's metadata."""
    hdr = is_hdr(frame.color_trc)
    fmt = "rgb48le" if hdr else "bgr24"  # HDR's 10-bit steps kept in 16 bits until its curves are undone
    image = frame.to_ndarray(format=fmt, width=size[0], height=size[1], interpolation="AREA") if size else \
        frame.to_ndarray(format=fmt)
    if not hdr:
        return image
    if peak_nits is None:
        peak_nits = frame_peak(frame).nits if frame.color_trc == PQ else PEAK_NITS
    return tone_map(image, frame.color_trc, peak_nits)


def upright_bgr(frame: av.VideoFrame, size: tuple[int, int] | None = None,
                peak_nits: float | None = None) -> np.ndarray:
    """frame_to_bgr, turned as the frame's display rotation says: a portrait phone video's frame as it is shown
    (`size` is the stored frame's). `rtstyle video` does not use it: it turns its frames back after the network."""
    return upright_frame(frame_to_bgr(frame, size, peak_nits), int(getattr(frame, "rotation", 0) or 0))


class StreamFrames:
    """One video stream's frames as frame_to_bgr and upright_bgr make them, a PQ stream's peak read from its first
    frame only: HDR10's metadata is the stream's, and the whole video keeps one tone curve (and one look) where
    frames do not carry it (H.264's SEI comes with keyframes only)."""

    def __init__(self) -> None:
        self.peak_nits: float | None = None

    def bgr(self, frame: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
        return frame_to_bgr(frame, size, self._peak(frame))

    def upright(self, frame: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
        return upright_bgr(frame, size, self._peak(frame))

    def _peak(self, frame: av.VideoFrame) -> float | None:
        if self.peak_nits is None and frame.color_trc == PQ:
            self.peak_nits = frame_peak(frame).nits
        return self.peak_nits


def upright_frame(image: np.ndarray, rotation: int) -> np.ndarray:
    """A decoded frame turned as its display rotation tag says (counter-clockwise degrees, as np.rot90 turns)."""
    turns = rotation // 90 % 4 if rotation % 90 == 0 else 0
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image
