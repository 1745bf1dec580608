"""Video files through PyAV (the ffmpeg libraries in its wheel): probe, decode to BGR frames, encode H.264.

Frames are uint8 HxWx3 BGR (what every Stylizer takes). Timestamps stay in the input stream's time base, so
variable frame rate input keeps its timing; audio is demuxed as packets and muxed unchanged, or decoded and encoded
again where the output cannot hold it playably (rtstyle.io.formats decides which).
The input's colour tags (matrix, range, primaries, transfer) go to the output, and both conversions, YUV to
BGR and back, use that matrix and range, so colours keep their meaning.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
from av.video.reformatter import Interpolation, VideoReformatter
import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.io.deinterlace import Deinterlacer, is_interlaced
from rtstyle.io.frames import frame_to_bgr
from rtstyle.io.hdr import is_hdr
from rtstyle.io.quality import DEFAULT_PRESET, DEFAULT_QUALITY, QUALITY_CRF
from rtstyle.interrupts import deferred_stop
from rtstyle.realtime.timeparse import parse_time



#: The containers written: they hold H.264 with the input's own time base (variable frame rates, exact
#: timestamps) and the usual audio codecs. AVI stores one frame rate, not timestamps; WebM refuses H.264.
OUTPUT_SUFFIXES = (".mp4", ".m4v", ".mkv", ".mov")


# BGR -> yuv420p as x264 gets it: swscale's default (fast) path truncates, which took every flat grey 128 to
# (123, 126, 124) and darkened real frames by 1-2 levels; accurate rounding gives the input back (to +-0.02 on average).
TO_YUV = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INP

#: The channels of audio whose file does not say which is where (PCM in Matroska: "2 channels"), as FFmpeg
#: assumes them.
USUAL_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}

WRITE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})  # what the disk says, not FFmpeg

SUFFIX_LIST = f"{', '.join(OUTPUT_SUFFIXES[:-1])} or {OUTPUT_SUFFIXES[-1]}"  # for messages


def check_output_suffix(target: Path, what: str = "output") -> None:
    if target.suffix.lower() not in OUTPUT_SUFFIXES:
        raise RtstyleError(f"unsupported {what} type {target.suffix or '(no extension)'}: {target} (H.264 video "
                           f"is written as {SUFFIX_LIST})")


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


@dataclass
class DecodedFrame:
    image: np.ndarray
    pts: int  # in the video stream's time base, already shifted by the trim origin
    index: int


@dataclass
class DecodeReport:
    """What decoding met on the way, for the conversion's closing lines."""
    damaged_packets: int = 0  # video packets that failed to decode after the first frame, skipped
    first_time: float | None = None  # seconds (the input's) of the first and the last video frame yielded
    last_time: float | None = None

    def seconds(self, rate: float) -> float:
        """How long the frames yielded last (the last one shown for a frame at `rate`)."""
        if self.first_time is None or self.last_time is None:
            return 0.0
        return self.last_time - self.first_time + 1 / rate


@dataclass(frozen=True)
class AudioEncoding:
    """How a track that the output cannot hold (or its players cannot play) as it is gets encoded again."""
    label: str  # for messages: "AAC"
    encoder: str  # FFmpeg's name
    bit_rate: int | None  # bits a second per channel; None: lossless
    rate: int | None = None  # the one sample rate the encoder takes (Opus: 48 kHz); None: the input's, where it can


@dataclass
class AudioPacket:
    packet: av.Packet
    stream_index: int  # position among the input's audio streams


def open_input(path: Path) -> av.container.InputContainer:
    path = Path(path)
    if not path.exists():
        raise RtstyleError(f"video not found: {path}")
    if path.is_dir():
        raise RtstyleError(f"expected a video file, got a directory: {path}")
    if path.is_file() and path.stat().st_size == 0:  # FFmpeg's "invalid data" hid it (an interrupted copy)
        raise RtstyleError(f"video is an empty file (0 bytes): {path}")
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise RtstyleError(f"cannot read video (corrupt or unsupported format): {path} ({_short(exc)})") from None
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
        raise RtstyleError(f"cannot decode video: {path} ({_short(exc)})") from None
    raise RtstyleError(f"video has no frames: {path}")


def video_start(container: av.container.InputContainer, video: av.VideoStream) -> float:
    """Seconds at which the video begins: --start and --duration count from here, since many files do not start
    at 0 (MPEG-TS clocks start at 1.4 s or anywhere)."""
    if video.start_time is not None and video.time_base:
        return float(video.start_time * video.time_base)
    if container.start_time is not None:
        return container.start_time / av.time_base
    return 0.0


class _SeekMissed(Exception):
    """The seek landed after the requested start (or nowhere): frames would be lost, so seek earlier."""


# How far before the requested start each seek goes, in seconds: demuxers that cannot seek backward to a
# keyframe (MPEG-TS lands on the next one) get earlier and earlier targets, then the beginning of the file.
SEEK_BACKOFF = (0.0, 1.0, 4.0, 16.0, 64.0)


def iter_media(container: av.container.InputContainer, *, start: float = 0.0, duration: float | None = None,
               size: tuple[int, int] | None = None, audio: bool = True,
               zero: float | None = None, report: DecodeReport | None = None) -> Iterator[DecodedFrame | AudioPacket]:
    """Video frames (BGR, resized to `size`=(w, h) when given) and audio packets of [start, start+duration).

    `start` and `duration` are seconds from `zero`, the video's first decodable frame (probe_video's first_time;
    without it, the stream's start: video_start), whatever its first timestamp. Items come in demux order, so a
    consumer that muxes them in order interleaves audio and video naturally. With `start` > 0 every timestamp is
    shifted so that the first kept video frame is at time 0 (audio by the same amount, so they stay in sync) and
    the audio packets that overlap the kept range are kept; with start 0 the input timestamps and audio packets
    are kept exactly, but for a start after 0 that all the streams share (an MPEG-TS clock), which is taken off.
    A damaged video packet after the first frame is skipped (the frames it held are missing) and counted in
    `report`. Interlaced frames are deinterlaced (rtstyle.io.deinterlace), one for one, as they are decoded.
    """
    report = report if report is not None else DecodeReport()
    video = container.streams.video[0]
    video.thread_type = "AUTO"  # frame threads: decoding keeps up while the model uses the cores
    audio_streams = list(container.streams.audio) if audio else []
    time_base = stream_time_base(video)
    zero = video_start(container, video) if zero is None else zero  # probe_video's first_time, where known
    span = _Span(start, zero + start if start > 0 else None,
                 zero + start + duration if duration is not None else None)
    if span.first is None:
        span.origin = _common_start(video, audio_streams)
        yield from _media(container, video, audio_streams, span, size, report, checked=False)
        return
    for back in SEEK_BACKOFF:
        target = span.first - back
        if back and target <= zero:
            break
        try:
            container.seek(int(target / time_base), stream=video, backward=True, any_frame=False)
        except av.error.FFmpegError:
            continue
        try:
            yield from _media(container, video, audio_streams, span, size, report, checked=True)
            return
        except _SeekMissed:
            continue
    try:
        container.seek(min(0, container.start_time or 0), backward=True)  # the beginning (AV_TIME_BASE units)
    except av.error.FFmpegError as exc:
        raise RtstyleError(f"cannot seek to --start {start:g} s in {container.name} ({_short(exc)})") from None
    yield from _media(container, video, audio_streams, span, size, report, checked=False)


def _common_start(video: av.VideoStream, audio_streams: list[av.AudioStream]) -> float:
    """Seconds before the first kept stream begins, where every stream begins after 0 (an MPEG-TS clock starts at
    1.4 s or anywhere): the output starts there, as ffmpeg's does, instead of showing nothing until then. All
    streams move by the same amount, so they stay in sync."""
    starts = [float(s.start_time * s.time_base) for s in (video, *audio_streams)
              if s.start_time is not None and s.time_base]
    return max(0.0, min(starts)) if starts else 0.0


@dataclass
class _Span:
    """The kept range in the input's seconds: [first, end); None is open (the start or the end of the file)."""
    asked: float  # --start, for messages
    first: float | None
    end: float | None
    origin: float | None = None  # seconds subtracted from every timestamp, known at the first kept frame

    def __post_init__(self) -> None:
        if self.first is None:
            self.origin = 0.0  # no --start: timestamps are kept (but for a common start, see _common_start)


def _media(container: av.container.InputContainer, video: av.VideoStream, audio_streams: list[av.AudioStream],
           span: _Span, size: tuple[int, int] | None, report: DecodeReport, *,
           checked: bool) -> Iterator[DecodedFrame | AudioPacket]:
    """Decode from where the container stands. `checked`: raise _SeekMissed, before yielding anything, when
    the first decoded frame is after span.first (a seek that overshot) or there is none."""
    time_base = stream_time_base(video)
    rate = float(video.average_rate or 30)
    frame_step = max(1, int(round(1 / (rate * time_base))))
    pending_audio: list[AudioPacket] = []  # audio demuxed before the origin is known
    audio_done = [False] * len(audio_streams)
    video_done = False
    decoded = index = packets = 0
    last_pts: int | None = None
    damage: av.error.FFmpegError | None = None  # the last packet that failed to decode
    deinterlacer = Deinterlacer(video)  # nothing to do, and nothing spent, for progressive video
    try:
        for packet in container.demux(video, *audio_streams):
            if packet.stream.type == "video":
                if video_done:
                    continue
                packets += 1
                if checked and not decoded and packets > 64 and _time(packet) > (span.first or 0.0):
                    raise _SeekMissed  # no keyframe from here on (decoders lag a few frames, never 64)
                try:
                    frames = deinterlacer.push(packet.decode())
                except av.error.FFmpegError as exc:
                    report.damaged_packets += 1  # a damaged packet: go on, as players and ffmpeg do
                    if not decoded and report.damaged_packets > MAX_DAMAGED_BEFORE_FIRST:
                        raise  # not damage: a stream this decoder cannot read (handled below)
                    damage = exc
                    continue
                if not packet.size:  # the decoder's flush, at the end: the deinterlacer's too
                    frames += deinterlacer.flush()
                for frame in frames:
                    t = float(frame.time) if frame.time is not None else index / rate
                    decoded += 1
                    if checked and decoded == 1 and t > (span.first or 0.0) + 1e-6:
                        raise _SeekMissed
                    if span.first is not None and t < span.first - 1e-6:
                        continue
                    if span.end is not None and t >= span.end - 1e-6:
                        video_done = True
                        break
                    if span.origin is None:
                        span.origin = t
                        yield from _release_audio(pending_audio, span)
                        pending_audio.clear()
                    origin = span.origin
                    pts = frame.pts - round(origin / time_base) if frame.pts is not None else \
                        (last_pts + frame_step if last_pts is not None else 0)
                    if last_pts is not None and pts <= last_pts:  # duplicate or broken timestamps
                        pts = last_pts + 1
                    last_pts = pts
                    image = frame_to_bgr(frame, size)  # HDR tone-mapped to SDR, as the networks learnt
                    report.first_time = t if report.first_time is None else report.first_time
                    report.last_time = t
                    yield DecodedFrame(image, pts, index)
                    index += 1
            elif packet.dts is not None and packet.size:  # audio; empty packets only flush decoders
                k = audio_streams.index(packet.stream)  # type: ignore[arg-type]  # an audio packet's stream
                if audio_done[k]:
                    continue
                t = _time(packet)
                if span.end is not None and t >= span.end - 1e-6:
                    audio_done[k] = True
                elif span.origin is None:
                    if _audio_end(packet) > (span.first or 0.0) + 1e-6:  # one ending earlier is never kept
                        pending_audio.append(AudioPacket(packet, k))
                else:
                    yield from _release_audio([AudioPacket(packet, k)], span)
            if video_done and all(audio_done):
                break
    except av.error.FFmpegError as exc:
        if index == 0:
            if checked and span.origin is None:  # nothing was yielded yet: a seek to an earlier point may work
                raise _SeekMissed from None
            raise RtstyleError(f"cannot decode video: {container.name} ({_short(exc)})") from None
        # A damaged tail: keep what decoded, like ffmpeg does.
    if index == 0:
        if checked and decoded == 0:
            raise _SeekMissed
        if damage is not None and decoded == 0:
            raise RtstyleError(f"cannot decode video: {container.name} ({_short(damage)})")
        raise RtstyleError(f"no video frames in the requested range (start {span.asked:g} s) of {container.name}")


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


def _time(packet: av.Packet) -> float:
    return float(packet.pts * packet.time_base) if packet.pts is not None else 0.0


def _audio_end(packet: av.Packet) -> float:
    """Seconds at which an audio packet's sound ends (its start when the duration is unknown)."""
    pts = packet.pts if packet.pts is not None else 0
    return float((pts + (packet.duration or 0)) * packet.time_base)


def _release_audio(items: list[AudioPacket], span: _Span) -> Iterator[AudioPacket]:
    """Without --start every packet (moved back by a common start); with it, those still sounding at the origin,
    shifted by it."""
    for item in items:
        packet = item.packet
        origin = span.origin or 0.0
        if span.first is not None and _audio_end(packet) <= origin + 1e-6:
            continue
        if not origin:
            yield item
            continue
        shift = round(origin / packet.time_base)
        packet.pts = packet.pts - shift if packet.pts is not None else None
        packet.dts = packet.dts - shift if packet.dts is not None else None
        yield item


def even_size(width: int, height: int) -> tuple[int, int]:
    """yuv420p stores chroma per 2x2 block, so H.264 needs even sizes: round odd ones up (see pad_to_even)."""
    return width + width % 2, height + height % 2


def pad_to_even(image: np.ndarray) -> np.ndarray:
    """Pad an odd-sized frame by one pixel on the right/bottom, repeating the edge (no content is lost)."""
    height, width = image.shape[:2]
    bottom, right = height % 2, width % 2
    if not (bottom or right):
        return image
    return cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_REPLICATE)


class VideoWriter:
    """H.264 yuv420p (libx264, constant quality) plus audio streams copied from templates; or another encoder
    (`codec`, `options`: VP9 for WebM, animated WebP); audio streams with an `audio_encodings` entry are decoded and
    encoded again (Opus for WebM, AAC for PCM in .mp4)."""

    def __init__(self, path: Path, *, width: int, height: int, rate: Fraction, time_base: Fraction | None = None,
                 crf: int = QUALITY_CRF[DEFAULT_QUALITY], preset: str = DEFAULT_PRESET, rotation: int = 0,
                 audio_templates: Sequence[av.stream.Stream] = (), shown_as: Path | None = None,
                 color: ColorTags | None = None, sample_aspect: Fraction | None = None, codec: str = "libx264",
                 options: dict[str, str] | None = None, audio_encodings: Sequence[AudioEncoding | None] = (),
                 muxer_options: dict[str, str] | None = None, pix_fmt: str = "yuv420p") -> None:
        """`shown_as`: the name to use in messages (the user's target, when `path` is a temporary file);
        `color`: the input's colour tags, for the header and the BGR -> yuv420p conversion (None: unspecified);
        `sample_aspect`: the input's pixel shape (None: square), so an anamorphic video keeps its picture's shape;
        `options`: the encoder's (default: x264's `crf` and `preset`); `audio_encodings`: per audio template, how
        its packets are decoded and encoded again (None, or no entry: the packets are copied);
        `muxer_options`: the container's (a WebP's loop count); `pix_fmt`: what the encoder takes (yuv420p, whose
        odd sizes are padded; or bgra for WebP, as the frames are)."""
        self.path = Path(path)
        self.color = color
        self.shown_as = Path(shown_as or path)
        self.width, self.height = even_size(width, height) if pix_fmt == "yuv420p" else (width, height)
        self.audio_encodings = [audio_encodings[k] if k < len(audio_encodings) else None
                                for k in range(len(audio_templates))]
        try:
            self.container = av.open(str(self.path), mode="w", options=muxer_options or {})
        except (av.error.FFmpegError, ValueError) as exc:
            raise RtstyleError(f"cannot write video {self.shown_as}: {_short(exc)} (use {SUFFIX_LIST})") from None
        try:
            try:
                stream = self.container.add_stream(codec, rate=rate)
            except ValueError:
                raise RtstyleError(f"{codec} video cannot be stored in a {self.shown_as.suffix} file: "
                                   f"use {SUFFIX_LIST} ({self.shown_as})") from None
            assert isinstance(stream, av.VideoStream)  # a video encoder's
            self.stream = stream
            self.stream.width, self.stream.height = self.width, self.height
            self.stream.pix_fmt = pix_fmt
            self.stream.options = dict(options) if options is not None else {"crf": str(crf), "preset": preset}
            if color is not None:
                color.tag(self.stream.codec_context)
            if time_base is not None:
                # Encode in the input's time base, so timestamps (and variable frame rates) pass through exactly.
                self.stream.codec_context.time_base = time_base
                self.stream.time_base = time_base
            if sample_aspect is not None:
                self.stream.codec_context.sample_aspect_ratio = sample_aspect
            if rotation:
                self.stream.set_display_rotation(rotation)
            self.audio_streams = [self._add_audio(t, e) for t, e in zip(audio_templates, self.audio_encodings)]
            self._start(audio_templates)
        except BaseException:
            self.container.close()
            raise
        self.frames_written = 0
        self._to_yuv = VideoReformatter()

    def _start(self, audio_templates: Sequence[av.stream.Stream]) -> None:
        """Write the header now: a container that cannot hold a stream fails here, before any frame is converted,
        not at the first audio packet (FLAC or Opus audio in a .mov, for example)."""
        try:
            self.container.start_encoding()
        except (av.error.FFmpegError, ValueError) as exc:
            encoded = [t for t, e in zip(audio_templates, self.audio_encodings) if e is not None]
            if encoded:
                labels = " and ".join(sorted({e.label for e in self.audio_encodings if e is not None}))
                raise RtstyleError(f"cannot encode the input's audio as {labels} for {self.shown_as}: "
                                   f"{_short(exc)} (pass --no-audio)") from None
            if audio_templates:
                raise audio_refusal(audio_templates, self.shown_as) from None
            raise RtstyleError(f"cannot write video {self.shown_as}: {_short(exc)}") from None

    def _add_audio(self, template: av.stream.Stream, encoding: AudioEncoding | None) -> av.stream.Stream:
        if encoding is not None:
            stream = self._add_encoder(template, encoding)
        else:
            codec = template.codec_context.name
            supported = self.container.supported_codecs
            if supported and codec not in supported:
                raise audio_refusal([template], self.shown_as)
            stream = self.container.add_stream_from_template(template)
        # A track's language and title name it in players' audio menus (two languages were both 'und'), and its
        # disposition says which plays by default.
        stream.metadata.update({k: v for k, v in template.metadata.items() if k.lower() in ("language", "title")})
        stream.disposition = template.disposition
        return stream

    def _add_encoder(self, template: av.stream.Stream, encoding: AudioEncoding) -> av.stream.Stream:
        """An encoder for a copy of `template`, with its channels; PyAV resamples what is decoded to the encoder's
        sample format and rate."""
        context = template.codec_context
        layout = context.layout  # type: ignore[attr-defined]  # an audio stream's
        rate = encoding.rate or _encodable_rate(encoding.encoder, context.sample_rate)  # type: ignore[attr-defined]
        name = layout.name
        if any(channel.name == "NONE" for channel in layout.channels):  # "2 channels": encoders want their places
            name = USUAL_LAYOUTS.get(layout.nb_channels, name)
        try:
            stream = self.container.add_stream(encoding.encoder, rate=rate, layout=name)
        except (av.error.FFmpegError, ValueError) as exc:
            raise RtstyleError(f"cannot encode the input's audio as {encoding.label} for {self.shown_as}: "
                               f"{_short(exc)} (pass --no-audio)") from None
        assert isinstance(stream, av.AudioStream)  # an audio encoder's
        if encoding.bit_rate:
            stream.bit_rate = encoding.bit_rate * max(1, layout.nb_channels)
        return stream

    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        if self.stream.pix_fmt != "yuv420p":  # RGB for the encoder (WebP): the same colours
            frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format=self.stream.pix_fmt)
            self.write_picture(frame, pts)
            return
        frame = av.VideoFrame.from_ndarray(pad_to_even(image), format="bgr24")
        if self.color is not None:
            self.color.tag(frame)  # the matrix and range of the conversion below
        frame = self._to_yuv.reformat(frame, format="yuv420p", interpolation=TO_YUV)
        self.write_picture(frame, pts)

    def write_picture(self, frame: av.VideoFrame, pts: int | None = None) -> None:
        """A frame in the output's own format (yuv420p at its size): a resumed run's kept frames, encoded again
        without a round trip through BGR (which would blur their chroma once more)."""
        frame.pts = pts if pts is not None else self.frames_written
        if self.stream.codec_context.time_base is not None:
            frame.time_base = self.stream.codec_context.time_base
        with deferred_stop():  # a Ctrl-C between encoding and muxing lost the frame's packet from the part
            for packet in self.stream.encode(frame):
                self.container.mux(packet)
            self.frames_written += 1

    def write_encoded(self, packets: Sequence[av.Packet]) -> None:
        """One frame's place in the video: `packets` (zero or more, in decoding order) that an encoder with this
        one's settings made, copied as they are (a resumed run's kept part; rtstyle.realtime.resume)."""
        with deferred_stop():  # all of them or none
            for packet in packets:
                packet.stream = self.stream
                self.container.mux(packet)
            self.frames_written += 1

    def write_audio(self, item: AudioPacket) -> None:
        with deferred_stop():  # as for a frame: a stop between decoding, encoding and muxing lost sound
            if self.audio_encodings[item.stream_index] is not None:
                self._encode_audio(item)
                return
            item.packet.stream = self.audio_streams[item.stream_index]
            try:
                self.container.mux(item.packet)
            except av.error.FFmpegError as exc:  # a packet the output container refuses: one line, not a traceback
                if exc.errno in WRITE_FAILURES:  # the disk, not the container: the advice below would be wrong
                    raise OSError(exc.errno, os.strerror(exc.errno), str(self.path)) from None
                raise RtstyleError(f"cannot copy the audio into {self.shown_as}: {_short(exc)} (try .mkv, or "
                                   "--no-audio)") from None

    def _encode_audio(self, item: AudioPacket) -> None:
        """Decode a packet with its input stream's decoder and encode what it holds again."""
        try:
            decoded = item.packet.decode()
        except av.error.FFmpegError:  # a damaged audio packet: a moment of silence, as a player would give
            return
        stream = self.audio_streams[item.stream_index]
        assert isinstance(stream, av.AudioStream)  # an audio encoder's
        for frame in decoded:
            assert isinstance(frame, av.AudioFrame)  # an audio packet's
            for packet in stream.encode(frame):
                self.container.mux(packet)

    def close(self, progress: Callable[[int], None] | None = None) -> None:
        """Flush the encoders and write the trailer: the file is playable after this. (`progress`: for the GIF
        writer's second pass; nothing is left to count here.)"""
        try:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
            for stream, encoding in zip(self.audio_streams, self.audio_encodings):
                if encoding is not None:
                    assert isinstance(stream, av.AudioStream)  # an audio encoder's
                    for packet in stream.encode(None):
                        self.container.mux(packet)
        finally:
            self.container.close()

    def abandon(self) -> None:
        """Close without caring whether the file is complete (it is about to be deleted)."""
        with contextlib.suppress(Exception):
            self.container.close()


def audio_refusal(streams: Sequence[av.stream.Stream], target: Path) -> RtstyleError:
    codecs = ", ".join(sorted({s.codec_context.name for s in streams}))
    return RtstyleError(f"the {codecs} audio of the input cannot be stored in a {target.suffix} file: choose an "
                        "output extension that can hold it (e.g. .mkv), or pass --no-audio")


def refused_audio_copies(source: Path, target: Path, streams: Sequence[int],
                         muxer_options: dict[str, str] | None = None) -> list[int]:
    """Those of the input's audio `streams` (positions among its audio streams) that a file of the target's type
    cannot hold: the first packet of each is copied into a throwaway file of that type (written with
    `muxer_options`), which is then finished.

    Some containers accept a codec at the header and refuse it only when the file is finished: found here, before
    the conversion, the track is encoded again (or refused in one line) instead of a whole conversion lost at the end.
    """
    return [k for k in streams if not _copies_into(source, target, k, muxer_options or {})]


def _copies_into(source: Path, target: Path, index: int, muxer_options: dict[str, str]) -> bool:
    with open_input(source) as container:
        stream = container.streams.audio[index]
        fd, name = tempfile.mkstemp(suffix=target.suffix)
        os.close(fd)
        try:
            with av.open(name, mode="w", options=muxer_options) as trial:
                copy = trial.add_stream_from_template(stream)
                for packet in container.demux(stream):
                    if packet.dts is not None and packet.size:
                        packet.stream = copy
                        trial.mux(packet)
                        break
        except (av.error.FFmpegError, ValueError, OSError):
            return False
        finally:
            os.unlink(name)
    return True


def _encodable_rate(encoder: str, rate: int) -> int:
    """The input's sample rate where the encoder takes it; else the nearest it takes at or above it (AAC stops at
    96 kHz, below a 192 kHz recording's)."""
    rates = av.Codec(encoder, "w").audio_rates
    if not rates or rate in rates:
        return rate
    above = [r for r in rates if r >= rate]
    return min(above) if above else max(rates)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
