"""Frames out of an FFmpeg filter graph (PyAV), without losing a Ctrl-C on the way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import av

from rtstyle.interrupts import deferred_stop


class Pullable(Protocol):
    def pull(self) -> object: ...


def ready_frames(sink: Pullable) -> Iterator[av.VideoFrame]:
    """What a filter graph (or its sink) has ready now; nothing more is waited for. PyAV's push only queues a frame:
    the graph runs when it is pulled, so pulling after every push keeps the queue (and memory) from growing.

    Each pull holds Ctrl-C and SIGTERM until it returns: PyAV says 'nothing ready' by raising inside its error
    check, and a KeyboardInterrupt that the signal handler raises there is lost (a GIF conversion went on as if
    Ctrl-C had not been pressed)."""
    while True:
        with deferred_stop():  # raises the held Ctrl-C after the block, which must not raise itself
            try:
                frame = sink.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                frame = None
        if frame is None:
            return
        assert isinstance(frame, av.VideoFrame)  # a video graph's
        yield frame
