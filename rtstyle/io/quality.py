"""What each --quality level means for each encoder, and x264's presets: plain numbers, no codec libraries, so
that `rtstyle video`'s options (its --help, its shell completion) are listed without loading PyAV or OpenCV."""

from __future__ import annotations

#: x264 constant rate factor per --quality (lower is better; 18 is commonly called visually lossless).
QUALITY_CRF: dict[str, int] = {"low": 28, "medium": 23, "high": 18, "best": 14}
DEFAULT_QUALITY = "high"
# veryfast by default: ~3x the speed of x264's own default (medium) at a similar size for a given CRF, so the
# encoder stays far from being the bottleneck of a fast (GPU) model; the CRF sets the quality either way.
DEFAULT_PRESET = "veryfast"
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")

#: libvpx-vp9 CRF (0-63) per --quality: the PSNR that x264 veryfast reaches at that level's CRF, on stylized
#: frames (cutBunny, mosaic-fast, 480x270; docs/benchmarks.md), at about the same file size.
VP9_QUALITY_CRF: dict[str, int] = {"low": 48, "medium": 40, "high": 32, "best": 24}
#: Opus bit rate per audio channel and --quality (a stereo track at "high": 128 kb/s).
OPUS_BITRATE: dict[str, int] = {"low": 32_000, "medium": 48_000, "high": 64_000, "best": 96_000}
#: AAC bit rate per audio channel and --quality (a stereo track at "high": 192 kb/s): FFmpeg's own AAC encoder
#: needs about half as much again as Opus for the same sound.
AAC_BITRATE: dict[str, int] = {"low": 48_000, "medium": 64_000, "high": 96_000, "best": 128_000}
#: libwebp quality (0-100) per --quality; "best" is lossless.
WEBP_QUALITY: dict[str, int] = {"low": 60, "medium": 75, "high": 90, "best": 100}

#: What `rtstyle video --format` names results as (rtstyle.io.formats has what each is; a test keeps the two alike).
RESULT_FORMATS = ("mp4", "m4v", "mkv", "mov", "webm", "gif", "webp")
