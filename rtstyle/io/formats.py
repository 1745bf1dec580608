"""What `rtstyle video` writes, chosen by the output's extension: H.264, VP9 + Opus in WebM, animated GIF or WebP.

Each format says what its container can hold (audio, a rotation tag, odd sizes) and which encoder settings a
--quality level means for it; rtstyle.realtime.convert adapts the conversion to that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rtstyle.errors import RtstyleError
from rtstyle.io.video import DEFAULT_PRESET, DEFAULT_QUALITY, OUTPUT_SUFFIXES, QUALITY_CRF

#: libvpx-vp9 CRF (0-63) per --quality: the PSNR that x264 veryfast reaches at that level's CRF, on stylized
#: frames (cutBunny, mosaic-fast, 480x270; docs/benchmarks.md), at about the same file size.
VP9_QUALITY_CRF: dict[str, int] = {"low": 48, "medium": 40, "high": 32, "best": 24}
#: libvpx speed: the realtime deadline at cpu-used 6, with row threads, encodes about as fast as x264 veryfast;
#: deadline "good" (cpu-used 4-5) makes 5-10% smaller files at 5-10x the time (docs/benchmarks.md).
VP9_SPEED: dict[str, str] = {"deadline": "realtime", "cpu-used": "6", "row-mt": "1"}
#: Opus bit rate per audio channel and --quality (a stereo track at "high": 128 kb/s).
OPUS_BITRATE: dict[str, int] = {"low": 32_000, "medium": 48_000, "high": 64_000, "best": 96_000}
#: The audio codecs WebM holds, copied as they are; others are re-encoded as Opus.
WEBM_AUDIO = frozenset({"opus", "vorbis"})
#: libwebp quality (0-100) per --quality; "best" is lossless.
WEBP_QUALITY: dict[str, int] = {"low": 60, "medium": 75, "high": 90, "best": 100}

#: Animated pictures are shared and shown small, and their files grow with every pixel (a GIF of stylized
#: 480x270 frames takes about 2.5 MB a second): frames larger than this are scaled down unless --max-size or --scale
#: says otherwise.
ANIMATED_MAX_SIZE = 480
#: GIF frame delays are in 1/100 s and browsers play delays under 2/100 s at 1/10 s: at most 25 frames a second,
#: taking every second (third ...) frame of faster video, so each frame shows for the same time.
GIF_MAX_RATE = 25.0


@dataclass(frozen=True)
class OutputFormat:
    label: str  # for messages: "H.264", "VP9"
    suffixes: tuple[str, ...]
    codec: str  # the PyAV (FFmpeg) encoder
    audio: Literal["copy", "opus", "none"]  # copied packet for packet, Opus (WEBM_AUDIO copied), or dropped
    rotation_tag: bool  # the container stores a display rotation; otherwise frames are written upright
    even_size: bool  # yuv420p: odd sizes are padded by one pixel
    max_rate: float | None = None  # frames per second
    default_max_size: int | None = None  # longer side, when neither --max-size nor --scale is given
    muxer_options: tuple[tuple[str, str], ...] = ()

    @property
    def animated_picture(self) -> bool:
        return self.audio == "none"


H264 = OutputFormat("H.264", OUTPUT_SUFFIXES, "libx264", "copy", rotation_tag=True, even_size=True)
WEBM = OutputFormat("VP9", (".webm",), "libvpx-vp9", "opus", rotation_tag=True, even_size=True)
GIF = OutputFormat("GIF", (".gif",), "gif", "none", rotation_tag=False, even_size=False, max_rate=GIF_MAX_RATE,
                   default_max_size=ANIMATED_MAX_SIZE)
WEBP = OutputFormat("WebP", (".webp",), "libwebp_anim", "none", rotation_tag=False, even_size=True,
                    default_max_size=ANIMATED_MAX_SIZE, muxer_options=(("loop", "0"),))  # FFmpeg's plays once
FORMATS = (H264, WEBM, GIF, WEBP)

#: For messages and --help.
SUPPORTED = ".mp4, .m4v, .mkv or .mov (H.264), .webm (VP9 with Opus audio), .gif or .webp (animated)"


def output_format(target: Path, what: str = "output") -> OutputFormat:
    suffix = Path(target).suffix.lower()
    for fmt in FORMATS:
        if suffix in fmt.suffixes:
            return fmt
    raise RtstyleError(f"unsupported {what} type {Path(target).suffix or '(no extension)'}: {target} (rtstyle video "
                       f"writes {SUPPORTED})")


def encoder_options(fmt: OutputFormat, quality: str = DEFAULT_QUALITY, crf: int | None = None,
                    preset: str = DEFAULT_PRESET) -> dict[str, str]:
    """The encoder's settings for a --quality level; `crf` (x264's or VP9's scale) overrides it."""
    if fmt is H264:
        return {"crf": str(crf if crf is not None else QUALITY_CRF[quality]), "preset": preset}
    if fmt is WEBM:
        # b:v 0 makes the CRF a constant quality, not a cap under libvpx's default bit rate.
        return {"crf": str(crf if crf is not None else VP9_QUALITY_CRF[quality]), "b": "0", **VP9_SPEED}
    if fmt is WEBP:
        level = WEBP_QUALITY[quality]
        return {"lossless": "1"} if level == 100 else {"quality": str(level)}
    return {}  # GIF: the palette is made for the clip (rtstyle.io.animated)


def check_crf(fmt: OutputFormat, crf: int | None) -> None:
    """--crf is x264's 0-51 or VP9's 0-63; the animated pictures have none."""
    if crf is None:
        return
    if fmt is H264 and crf > 51:
        raise RtstyleError(f"--crf {crf} is out of x264's range 0-51 (0-63 is VP9's, for .webm)")
    if fmt.animated_picture:
        raise RtstyleError(f"--crf is for H.264 and VP9 video, not {fmt.label}: use --quality")
