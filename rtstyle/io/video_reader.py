"""A video file's frames, decoded to BGR, and its audio packets, in demux order, over a range of it (--start,
--duration).

Frames are uint8 HxWx3 BGR (what every Stylizer takes). Timestamps stay in the input stream's time base, so
variable frame rate input keeps its timing; audio is demuxed as packets, which rtstyle.io.video_writer muxes
unchanged or encodes again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.io.av_errors import short_reason
from rtstyle.io.deinterlace import Deinterlacer
from rtstyle.io.frames import frame_to_bgr
from rtstyle.io.video_probe import MAX_DAMAGED_BEFORE_FIRST, stream_time_base, video_start


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


@dataclass
class AudioPacket:
    packet: av.Packet
    stream_index: int  # position among the input's audio streams


class _SeekMissed(Exception):
    """The seek landed after the requested start (or nowhere): frames would be lost, so seek earlier."""


# How far before the requested start each seek goes, in seconds: demuxers that cannot seek backward to a
# keyframe (MPEG-TS lands on the next one) get earlier and earlier targets, then the beginning of the file.
SEEK_BACKOFF = (0.0, 1.0, 4.0, 16.0, 64.0)


def iter_media(container: av.container.InputContainer, *, start: float = 0.0, duration: float | None = None,
               size: tuple[int, int] | None = None, audio: bool = True,
               zero: float | None = None, report: DecodeReport | None = None,
               peak_nits: float | None = None) -> Iterator[DecodedFrame | AudioPacket]:
    """Video frames (BGR, resized to `size`=(w, h) when given) and audio packets of [start, start+duration).

    `start` and `duration` are seconds from `zero`, the video's first decodable frame (probe_video's first_time;
    without it, the stream's start: video_start), whatever its first timestamp. Items come in demux order, so a
    consumer that muxes them in order interleaves audio and video naturally. With `start` > 0 every timestamp is
    shifted so that the first kept video frame is at time 0 (audio by the same amount, so they stay in sync) and
    the audio packets that overlap the kept range are kept; with start 0 the input timestamps and audio packets
    are kept exactly, but for a start after 0 that all the streams share (an MPEG-TS clock), which is taken off.
    A damaged video packet after the first frame is skipped (the frames it held are missing) and counted in
    `report`. Interlaced frames are deinterlaced (rtstyle.io.deinterlace), one for one, as they are decoded.
    `peak_nits`: a PQ video's peak (VideoInfo.peak), one for all its frames.
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
        yield from _media(container, video, audio_streams, span, size, report, peak_nits, checked=False)
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
            yield from _media(container, video, audio_streams, span, size, report, peak_nits, checked=True)
            return
        except _SeekMissed:
            continue
    try:
        container.seek(min(0, container.start_time or 0), backward=True)  # the beginning (AV_TIME_BASE units)
    except av.error.FFmpegError as exc:
        raise RtstyleError(f"cannot seek to --start {start:g} s in {container.name} ({short_reason(exc)})") from None
    yield from _media(container, video, audio_streams, span, size, report, peak_nits, checked=False)


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
           span: _Span, size: tuple[int, int] | None, report: DecodeReport, peak_nits: float | None, *,
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
                    image = frame_to_bgr(frame, size, peak_nits)  # HDR tone-mapped to SDR, as the networks learnt
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
            raise RtstyleError(f"cannot decode video: {container.name} ({short_reason(exc)})") from None
        # A damaged tail: keep what decoded, like ffmpeg does.
    if index == 0:
        if checked and decoded == 0:
            raise _SeekMissed
        if damage is not None and decoded == 0:
            raise RtstyleError(f"cannot decode video: {container.name} ({short_reason(damage)})")
        raise RtstyleError(f"no video frames in the requested range (start {span.asked:g} s) of {container.name}")


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
