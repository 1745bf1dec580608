"""MP4 written in fragments while it is converted, so a hard stop (kill -9, a crash, power loss) leaves a readable
file; the finished output is remuxed into a plain MP4, as players and editors expect.

A plain MP4 keeps its index (the moov box) until the end: a process killed before then leaves megabytes that no
player or decoder can read. Fragmented, each frame is its own self-describing piece (moof + mdat) as soon as the
encoder gives it out, and the file is readable up to the last whole one. Matroska (.mkv) is readable when cut
anyway (its clusters carry their own timing) and is written as before. The cost is measured in
docs/benchmarks.md (a few percent larger while converting; the remux reads and writes the file once).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Sequence
from pathlib import Path

import av

from rtstyle.errors import RtstyleError
from rtstyle.io.audio_copy import refused_audio_copies
from rtstyle.io.av_files import create_file, open_file

#: The containers written in fragments while converting (the ISO/QuickTime family).
FRAGMENTED_SUFFIXES = (".mp4", ".m4v", ".mov")
#: A fragment for every packet (frag_duration 1 us: a hard stop loses only the frames still inside the encoder,
#: its look-ahead), written out at once (flush_packets) rather than kept in a 32 KB buffer. delay_moov writes the
#: header once the first packets are known, with the edit lists that keep the audio priming and the B-frame delay
#: exact (empty_moov moved the first audio packet, and frag_every_frame gave audio packets the same times).
FRAGMENTED_OPTIONS = {"movflags": "delay_moov+default_base_moof", "frag_duration": "1", "flush_packets": "1"}


def fragmentable(target: Path, source: Path, copied: Sequence[int]) -> bool:
    """Whether `target` can be written in fragments with the source's audio streams `copied` (positions among its
    audio streams) copied into it; those encoded again come from an encoder in a form the muxer takes. The MP4
    muxer takes ADTS AAC (MPEG-TS audio) only without fragments, where it converts it itself: tried on the first
    packets, into a throwaway file, as the conversion would copy them."""
    if Path(target).suffix.lower() not in FRAGMENTED_SUFFIXES:
        return False
    return not refused_audio_copies(source, target, copied, FRAGMENTED_OPTIONS)


def defragment(fragmented: Path, plain: Path, first_time: float, shown_as: Path) -> None:
    """Copy every packet of `fragmented` into a plain MP4 (index at the end, as written without fragments).

    `first_time`: the seconds of the first frame as it was given to the encoder. A fragmented file cannot start
    its video before its first decoding time, so the muxer moved every stream later by the encoder's delay (two
    frames with x264's B-frames); the copy moves them back, and the plain muxer keeps that delay in an edit list,
    as it does for a file written without fragments, so times and audio sync are as before.
    """
    with open_file(fragmented) as source:
        video = source.streams.video[0]
        shift = _first_video_time(source, video) - first_time
        source.seek(0)
        try:
            with create_file(plain) as target:
                copies = {}
                for stream in source.streams:
                    if stream.type not in ("video", "audio"):
                        continue
                    copy = target.add_stream_from_template(stream)
                    copy.metadata.update(stream.metadata)
                    copy.disposition = stream.disposition
                    copies[stream.index] = copy
                for packet in source.demux(*[source.streams[i] for i in copies]):
                    if packet.dts is None:
                        continue  # flush markers
                    moved = round(shift / packet.time_base)
                    packet.pts = packet.pts - moved if packet.pts is not None else None
                    packet.dts -= moved
                    packet.stream = copies[packet.stream.index]
                    target.mux(packet)
        except av.error.FFmpegError as exc:
            raise RtstyleError(f"cannot finish {shown_as}: {exc}") from None


def _first_video_time(container: av.container.InputContainer, video: av.VideoStream) -> float:
    """The earliest presentation time of the video's packets (the first frame's, whatever the decoding order)."""
    times = [float(p.pts * p.time_base) for p in itertools.islice(container.demux(video), 64) if p.pts is not None]
    return min(times) if times else 0.0


def whole_frames(path: Path) -> tuple[float | None, int]:
    """For a file cut by a hard stop, in one pass: the presentation time from which its frames may be incomplete
    (that of its last video packet, which may have been cut short, and of any later frame; None when it has no
    packet), and how many frames come before it."""
    times: list[float] = []
    with contextlib.suppress(av.error.FFmpegError), open_file(path) as container:
        times = [float(p.pts * p.time_base) for p in container.demux(video=0) if p.pts is not None and p.size]
    if not times:
        return None, 0
    cut = times[-1]
    return cut, sum(1 for t in times if t < cut - 1e-6)
