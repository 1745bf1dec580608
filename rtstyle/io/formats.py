"""What `rtstyle video` writes, chosen by the output's extension: H.264, VP9 + Opus in WebM, animated GIF or WebP.

Each format says what its container can hold (audio, a rotation tag, odd sizes) and which encoder settings a
--quality level means for it; rtstyle.realtime.convert adapts the conversion to that.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rtstyle.errors import RtstyleError
from rtstyle.io.audio_copy import AudioEncoding, refused_audio_copies
from rtstyle.io.quality import (
    AAC_BITRATE, DEFAULT_PRESET, DEFAULT_QUALITY, OPUS_BITRATE, QUALITY_CRF, VP9_QUALITY_CRF, WEBP_QUALITY,
)
from rtstyle.io.video_writer import OUTPUT_SUFFIXES

#: libvpx speed: the realtime deadline at cpu-used 6, with row threads, encodes about as fast as x264 veryfast;
#: deadline "good" (cpu-used 4-5) makes 5-10% smaller files at 5-10x the time (docs/benchmarks.md).
VP9_SPEED: dict[str, str] = {"deadline": "realtime", "cpu-used": "6", "row-mt": "1"}

#: The audio codecs each container holds where common players play them: copied packet for packet; others are
#: encoded again (see reencoding). MP4's muxer takes PCM, FLAC, AC-3 or Opus too, but QuickTime, browsers and
#: phones all play AAC and MP3 in it (PCM gets the 'ipcm' tag that few players know; AC-3, FLAC, Opus play in some);
#: .m4v (Apple's) holds AAC; QuickTime's .mov also plays the PCM that cameras record, and ALAC; WebM holds Opus and
#: Vorbis. Matroska's players (VLC, mpv, Kodi, Windows) play whatever its muxer takes (None: all of it).
WEBM_AUDIO = frozenset({"opus", "vorbis"})
MP4_AUDIO = frozenset({"aac", "mp3"})
MOV_AUDIO = MP4_AUDIO | {"alac"}  # and PCM (pcm_*)
#: PCM packed as on Blu-ray and DVD, and broadcast SMPTE 302M: only their own containers hold it.
HELD_NOWHERE = frozenset({"pcm_bluray", "pcm_dvd", "s302m"})
KEPT_AUDIO: dict[str, frozenset[str] | None] = {".mp4": MP4_AUDIO, ".m4v": frozenset({"aac"}), ".mov": MOV_AUDIO,
                                                ".mkv": None, ".webm": WEBM_AUDIO}

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
    audio: Literal["copy", "opus", "none"]  # copied or encoded again (see audio_encodings), as Opus, or dropped
    rotation_tag: bool  # the container stores a display rotation; otherwise frames are written upright
    even_size: bool  # yuv420p: odd sizes are padded by one pixel
    max_rate: float | None = None  # frames per second
    default_max_size: int | None = None  # longer side, when neither --max-size nor --scale is given
    muxer_options: tuple[tuple[str, str], ...] = ()
    pix_fmt: str = "yuv420p"  # what the encoder is given (converted from the frames' BGR)

    @property
    def animated_picture(self) -> bool:
        return self.audio == "none"


H264 = OutputFormat("H.264", OUTPUT_SUFFIXES, "libx264", "copy", rotation_tag=True, even_size=True)
WEBM = OutputFormat("VP9", (".webm",), "libvpx-vp9", "opus", rotation_tag=True, even_size=True)
GIF = OutputFormat("GIF", (".gif",), "gif", "none", rotation_tag=False, even_size=False, max_rate=GIF_MAX_RATE,
                   default_max_size=ANIMATED_MAX_SIZE)
# WebP is given the frames' own colours (libwebp makes its YUV itself where lossy): lossless is lossless, and odd
# sizes stay as they are.
WEBP = OutputFormat("WebP", (".webp",), "libwebp_anim", "none", rotation_tag=False, even_size=False,
                    default_max_size=ANIMATED_MAX_SIZE, muxer_options=(("loop", "0"),),  # FFmpeg's plays once
                    pix_fmt="bgra")
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


def plays(suffix: str, codec: str) -> bool:
    """Whether common players of a `suffix` file play `codec` audio in it (KEPT_AUDIO)."""
    kept = KEPT_AUDIO.get(suffix.lower())
    if codec in HELD_NOWHERE:
        return False
    return kept is None or codec in kept or (suffix.lower() == ".mov" and codec.startswith("pcm_"))


def reencoding(suffix: str, quality: str = DEFAULT_QUALITY) -> AudioEncoding:
    """What audio that a `suffix` file cannot hold playably becomes: Opus in WebM; FLAC in Matroska, lossless
    (only what its muxer refuses gets here: Blu-ray and DVD PCM, broadcast SMPTE 302M); AAC elsewhere."""
    if suffix.lower() == ".webm":
        return AudioEncoding("Opus", "libopus", OPUS_BITRATE[quality], rate=48000)
    if suffix.lower() == ".mkv":
        return AudioEncoding("FLAC", "flac", None)
    return AudioEncoding("AAC", "aac", AAC_BITRATE[quality])


def audio_encodings(source: Path, target: Path, codecs: Sequence[str],
                    quality: str = DEFAULT_QUALITY) -> list[AudioEncoding | None]:
    """Per audio stream of `source` (of these `codecs`): None where its packets are copied into `target`, or how
    it is encoded again, where the target's players would not play it or its muxer refuses it (tried for real)."""
    suffix = Path(target).suffix

    def plan(refused: Collection[int]) -> list[AudioEncoding | None]:
        again = reencoding(suffix, quality)
        return [again if k in refused or not plays(suffix, codec) else None for k, codec in enumerate(codecs)]

    first = plan(())
    return plan(refused_audio_copies(source, target, [k for k, how in enumerate(first) if how is None]))


def audio_note(target: Path, codecs: Sequence[str], encodings: Sequence[AudioEncoding | None]) -> str | None:
    """The line that says which audio is encoded again, as what, and why (None: all of it is copied)."""
    again = [(codec, how) for codec, how in zip(codecs, encodings) if how is not None]
    if not again:
        return None
    suffix = Path(target).suffix.lower()
    how = again[0][1]
    names = sorted({codec for codec, _ in again})
    bits = f" at {how.bit_rate // 1000} kb/s a channel" if how.bit_rate else ", lossless"
    if suffix == ".webm":
        why = "WebM cannot hold it"
    elif KEPT_AUDIO.get(suffix) is None or HELD_NOWHERE.intersection(names):
        why = f"a {suffix} file cannot hold it"
    else:
        why = f"common {suffix} players cannot play it"
        elsewhere = [s for s in (".mov", ".mkv") if s != suffix and all(plays(s, codec) for codec in names)]
        if elsewhere:
            why += f"; {' or '.join(elsewhere)} {'keeps' if len(elsewhere) == 1 else 'keep'} it as it is"
    return f"the {', '.join(names)} audio is re-encoded as {how.label}{bits} ({why})"


def check_crf(fmt: OutputFormat, crf: int | None) -> None:
    """--crf is x264's 0-51 or VP9's 0-63; the animated pictures have none."""
    if crf is None:
        return
    if fmt is H264 and crf > 51:
        raise RtstyleError(f"--crf {crf} is out of x264's range 0-51 (0-63 is VP9's, for .webm)")
    if fmt.animated_picture:
        raise RtstyleError(f"--crf is for H.264 and VP9 video, not {fmt.label}: use --quality")
