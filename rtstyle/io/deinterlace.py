"""Interlaced video (1080i camcorders' .mts/.m2ts, broadcast .ts, DV) made progressive before the network sees it.

An interlaced frame holds two fields, its even and its odd lines, taken 1/50 (1/60) s apart: anything that moves
is combed, and a style network turns the comb into stripes. FFmpeg's bwdif filter rebuilds each frame from its
first field (with motion-adaptive interpolation from the fields around it), one output frame per input frame,
so the frame rate and timestamps stay as they were; frames flagged progressive pass through it untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction

import av

from rtstyle.io.filtergraph import ready_frames

#: bwdif ("Bob Weaver"): yadif's successor in FFmpeg, sharper edges for a little more time (docs/benchmarks.md).
#: send_frame: one frame out per frame in; deint interlaced: only frames flagged interlaced are touched (a
#: camcorder's progressive segments, a channel's films, pass through).
FILTER, SETTINGS = "bwdif", "mode=send_frame:deint=interlaced"

#: Which field comes first, by the stream's field order (FFmpeg's AVFieldOrder: tt, bb, tb, bt are interlaced; the
#: second letter is the field shown first). Where the stream does not say, each frame's own flag ("auto").
PARITY = {2: "tff", 3: "bff", 4: "bff", 5: "tff"}


def is_interlaced(frame: av.VideoFrame) -> bool:
    """Whether a decoded frame's two fields were taken at two moments (what makes the filter act on it)."""
    return bool(frame.interlaced_frame)


def field_order(stream: av.VideoStream) -> int:
    return int(getattr(stream.codec_context, "field_order", 0) or 0)


class Deinterlacer:
    """Decoded frames in, progressive frames out, in order and one for one. Nothing is set up (or spent) until the
    first frame flagged interlaced; from there every frame goes through the filter, which holds one frame back
    (it looks at the next field): `flush` gives the last one at the end.

    `stream`: the frames' stream, whose field order is trusted over the frames' flags where it is given: a frame that
    does not say top field first is taken as bottom first by FFmpeg (x264's MBAFF without picture timing decodes so,
    in a stream whose order is 'tt'), and the wrong field first makes motion judder back and forth."""

    def __init__(self, stream: av.VideoStream | None = None) -> None:
        self._stream = stream
        self._graph: av.filter.Graph | None = None
        self._shape: tuple[int, int, str] | None = None
        self._time_base: Fraction | None = None

    def push(self, frames: Iterable[object]) -> list[av.VideoFrame]:
        out: list[av.VideoFrame] = []
        for frame in frames:
            assert isinstance(frame, av.VideoFrame)  # a video packet decodes to video frames
            shape = (frame.width, frame.height, frame.format.name)
            if self._graph is not None and shape != self._shape:  # a new size mid-stream (a TV channel's ad)
                out += self.flush()
            if self._graph is None:
                if not frame.interlaced_frame:
                    out.append(frame)
                    continue
                self._build(frame)
            assert self._graph is not None
            self._graph.push(frame)
            out += self._pulled()
        return out

    def flush(self) -> list[av.VideoFrame]:
        """The frame held back, at the end (or before a change of size); a later push starts afresh."""
        if self._graph is None:
            return []
        self._graph.push(None)
        out = self._pulled()
        self._graph = self._shape = None
        return out

    def _build(self, frame: av.VideoFrame) -> None:
        self._time_base = Fraction(frame.time_base) if frame.time_base else Fraction(1, 90000)
        parity = PARITY.get(field_order(self._stream), "auto") if self._stream is not None else "auto"
        graph = av.filter.Graph()
        source = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format,
                                  time_base=self._time_base)
        graph.link_nodes(source, graph.add(FILTER, f"{SETTINGS}:parity={parity}"), graph.add("buffersink")).configure()
        self._graph, self._shape = graph, (frame.width, frame.height, frame.format.name)

    def _pulled(self) -> list[av.VideoFrame]:
        assert self._graph is not None
        out: list[av.VideoFrame] = []
        for frame in ready_frames(self._graph):  # Ctrl-C kept, where this runs on the main thread (training)
            # The filter counts in half the input's time base (for its field-rate mode): back to the input's, so
            # timestamps compare with the stream's and with the audio's.
            if frame.pts is not None and frame.time_base and self._time_base:
                frame.pts = round(frame.pts * Fraction(frame.time_base) / self._time_base)
                frame.time_base = self._time_base
            out.append(frame)
        return out


def progressive(frames: Iterable[av.VideoFrame], stream: av.VideoStream) -> Iterator[av.VideoFrame]:
    """`frames` of `stream`, deinterlaced where they are interlaced (for readers that take every frame in order:
    training content, evaluation clips)."""
    deinterlacer = Deinterlacer(stream)
    for frame in frames:
        yield from deinterlacer.push([frame])
    yield from deinterlacer.flush()
