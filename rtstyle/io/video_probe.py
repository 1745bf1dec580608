"""Opening a video file and reading what it is, through PyAV (the ffmpeg libraries in its wheel): its size, rate,
time base, rotation, colour tags and audio codecs, from the container and the first decoded frame.

The input's colour tags (matrix, range, primaries, transfer) go to the output (rtstyle.io.video_writer), and both
conversions, YUV to BGR and back, use that matrix and range, so colours keep their meaning.
`frames_past_damage` is the decode loop that probing and the readers of frames alone share.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from rtstyle.errors import RtstyleError
from rtstyle.io.av_errors import short_reason
from rtstyle.io.av_files import open_file
from rtstyle.io.deinterlace import is_interlaced
from rtstyle.io.hdr import PQ, is_hdr
from rtstyle.io.hdr_metadata import SourcePeak, frame_peak
from rtstyle.realtime.timeparse import parse_time


@dataclass(frozen=True)
class ColorTags:
    """How a video's pixel values are to be read (FFmpeg's AVCOL_* codes); the defaults are "unspecified"."""
    primaries: int = 2
    trc: int = 2
    space: int = 2  # the YUV matrix (BT.709 = 1)
    range: int = 0  # 1: limited (tv), 2: full (pc)

    @classmethod
    def of(cls, frame: av.VideoFrame) -> ColorTags:
        if frame.format.is_rgb:  # an RGB input's matrix and range mean nothing for the yuv420p output
            return cls(frame.color_primaries, frame.color_trc)
        return cls(frame.color_primaries, frame.color_trc, frame.colorspace, frame.color_range)

    def tag(self, target: av.VideoFrame | av.video.codeccontext.VideoCodecContext) -> None:
        """Tag an encoder (for the file's header) or a BGR frame (PyAV converts it to YUV with this matrix)."""
        target.color_primaries, target.color_trc = self.primaries, self.trc
        target.colorspace, target.color_range = self.space, self.range

    @property
    def hdr(self) -> bool:
        return is_hdr(self.trc)

    def written(self) -> ColorTags:
        """The output's tags: these, but BT.709 SDR for HDR input, which is tone-mapped as it is decoded."""
        return ColorTags(1, 1, 1, self.range) if self.hdr else self



@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int
    height: int
    rate: Fraction  # average frame rate (nominal for variable frame rate input)
    time_base: Fraction
    frame_count: int | None  # from the container; None when it does not say
    duration: float | None  # seconds
    rotation: int  # display rotation in degrees, counter-clockwise (as ffmpeg reports it)
    codec: str
    audio_codecs: tuple[str, ...]
    color: ColorTags = ColorTags()
    first_time: float = 0.0  # seconds of the first decodable frame: where --start and --duration count from
    bits: int = 8  # per colour sample (10 for HDR video); the output is 8-bit yuv420p
    sample_aspect: Fraction | None = None  # pixel shape, where not square (a DVD's 720x480 shown at 16:9: 32/27)
    subtitles: int = 0  # subtitle streams, which are not copied
    interlaced: bool = False  # fields of a frame taken at two moments (1080i): deinterlaced as decoded
    peak: SourcePeak = SourcePeak()  # a PQ video's HDR10 peak, from its first frame: what all its frames map to


def open_input(path: Path) -> av.container.InputContainer:
    path = Path(path)
    if not path.exists():
        raise RtstyleError(f"video not found: {path}")
    if path.is_dir():
        raise RtstyleError(f"expected a video file, got a directory: {path}")
    if not path.is_file():  # FFmpeg waited for a pipe's writer forever, and could not read it twice anyway
        device = stat.S_ISCHR(path.stat().st_mode) or stat.S_ISBLK(path.stat().st_mode)
        raise RtstyleError(f"{path} is {'a device' if device else 'a pipe, not a file'}: a video is read more than "
                           "once, so save it to a file first" + ("; a camera is `rtstyle webcam --source DEVICE`"
                                                                 if device else ""))
    if path.is_file() and path.stat().st_size == 0:  # FFmpeg's "invalid data" hid it (an interrupted copy)
        raise RtstyleError(f"video is an empty file (0 bytes): {path}")
    try:
        container = open_file(path)
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise RtstyleError(f"cannot read video (corrupt or unsupported format): {path} ({short_reason(exc)})") from None
    if not container.streams.video:
        container.close()
        raise RtstyleError(f"no video stream in {path}")
    return container


def probe_video(path: Path) -> VideoInfo:
    """What the conversion needs to know, read from the container and the first decoded frame."""
    with open_input(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or Fraction(30)
        first = _first_frame(container, stream, path)
        # The video runs from its first decodable frame (a recording cut mid-GOP has undecodable packets before it)
        # to the end of its own track: --start, --duration and the frames to expect count within that.
        first_time = float(first.time) if first.time is not None else video_start(container, stream)
        end = _video_end(container, stream)
        duration = max(0.0, end - first_time) if end is not None else None
        # Not stream.frames: an MP4 edit list trims samples that it still counts.
        frame_count = round(duration * rate) if duration else (stream.frames or None)
        return VideoInfo(
            path=Path(path), width=first.width, height=first.height, rate=Fraction(rate),
            time_base=stream_time_base(stream), frame_count=frame_count or None,
            duration=duration, rotation=int(getattr(first, "rotation", 0) or 0) % 360,
            codec=stream.codec_context.name, audio_codecs=tuple(a.codec_context.name for a in container.streams.audio),
            color=ColorTags.of(first), first_time=first_time,
            bits=max((c.bits for c in first.format.components), default=8),
            sample_aspect=_sample_aspect(stream),
            subtitles=len(container.streams.subtitles), interlaced=is_interlaced(first),
            peak=frame_peak(first) if first.color_trc == PQ else SourcePeak(),
        )


def _sample_aspect(stream: av.VideoStream) -> Fraction | None:
    """The shape of a pixel (width/height) where the file gives one other than square."""
    sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    return Fraction(sar) if sar and sar > 0 and sar != 1 else None


def stream_time_base(stream: av.VideoStream) -> Fraction:
    return Fraction(stream.time_base or Fraction(1, 90000))  # demuxed streams always have one; 1/90000 is MPEG's clock


def _video_end(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    """Seconds at which the video track ends, where the file says so; None when only the longest stream's end is
    known (an FLV or NUT whose audio runs on: that end is not the video's)."""
    if stream.duration is not None and stream.time_base:
        return float(((stream.start_time or 0) + stream.duration) * stream.time_base)
    try:
        return parse_time(stream.metadata["DURATION"])  # Matroska's track end, as a tag (DURATION=00:00:03.0)
    except (KeyError, ValueError):
        pass
    if container.duration is not None and len(container.streams) == 1:
        return ((container.start_time or 0) + container.duration) / av.time_base
    return None


def _first_frame(container: av.container.InputContainer, stream: av.VideoStream, path: Path) -> av.VideoFrame:
    try:
        for frame in frames_past_damage(container, stream):
            return frame
    except av.error.FFmpegError as exc:
        raise RtstyleError(f"cannot decode video: {path} ({short_reason(exc)})") from None
    raise RtstyleError(f"video has no frames: {path}")


def video_start(container: av.container.InputContainer, video: av.VideoStream) -> float:
    """Seconds at which the video begins: --start and --duration count from here, since many files do not start
    at 0 (MPEG-TS clocks start at 1.4 s or anywhere)."""
    if video.start_time is not None and video.time_base:
        return float(video.start_time * video.time_base)
    if container.start_time is not None:
        return container.start_time / av.time_base
    return 0.0


# Damaged packets skipped before a first frame decodes; beyond this, it is a stream the decoder cannot read.
MAX_DAMAGED_BEFORE_FIRST = 64


def frames_past_damage(container: av.container.InputContainer, stream: av.VideoStream) -> Iterator[av.VideoFrame]:
    """`container.decode(stream)`, going on past damaged packets (as players and ffmpeg do); the decoder's error is
    raised when no frame decodes (after MAX_DAMAGED_BEFORE_FIRST failures, or by the end)."""
    decoded = damaged = 0
    damage: av.error.FFmpegError | None = None
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            damaged += 1
            if not decoded and damaged > MAX_DAMAGED_BEFORE_FIRST:
                raise
            damage = exc
            continue
        for frame in frames:
            assert isinstance(frame, av.VideoFrame)  # a video packet decodes to video frames
            decoded += 1
            yield frame
    if not decoded and damage is not None:
        raise damage
