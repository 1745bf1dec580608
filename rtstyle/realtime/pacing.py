"""When a file `--source`'s frames are due: at their own timestamps, as a player shows them.

Phone videos and screen recordings are variable frame rate: a phone drops to 15 fps in dim light, a screen recorder
writes a frame only when the screen changes. Paced at the file's average rate, such a file played unevenly (fast
through the 15 fps stretches, slow through the 30 fps ones) and its recording kept that wrong timing.
"""

from __future__ import annotations

from collections.abc import Callable

#: A step between two timestamps past which they are taken as a discontinuity, not a wait, in formats whose
#: timestamps may jump (MPEG-TS: a recorder restarted, files concatenated): ffplay's AV_NOSYNC_THRESHOLD.
MAX_STEP_DISCONTINUOUS = 10.0


class Timeline:
    """A file's frames placed on one playback time line that starts at 0 with the first frame: each frame at its
    own timestamp, so a variable frame rate plays as recorded. A frame without a timestamp comes one average frame
    interval after the one before; so does one whose timestamp steps back (a loop, a seek, concatenated streams
    that restart at 0) or, in a format that allows jumps, forward by more than `max_step` seconds."""

    def __init__(self, fps: float, max_step: float | None = None) -> None:
        self.interval = 1 / fps
        self.max_step = max_step
        self._offset: float | None = None  # added to a timestamp to place it on the line
        self._last: float | None = None  # where the frame before was placed

    def place(self, stamp: float | None) -> float:
        """Seconds from the start of playback at which a frame with this timestamp (seconds, or None) is shown."""
        last = self._last
        if last is None:
            at = 0.0
            self._offset = None if stamp is None else -stamp
        elif stamp is None:  # the frames after it keep their own times
            at = last + self.interval
        elif self._offset is None:  # the first with a timestamp: the ones before had none
            at = last + self.interval
            self._offset = at - stamp
        else:
            at = stamp + self._offset
            if at < last or (self.max_step is not None and at - last > self.max_step):
                at = last + self.interval
                self._offset = at - stamp
        self._last = at
        return at


class Pacer:
    """The clock time at which each frame is due: the start of playback plus its place on the time line.

    A frame that comes later than one average frame interval after its time (a decoder slower than real time, a
    machine busy for a moment) moves the start of playback along, so that playback slows down there instead of
    rushing the frames after it through to catch up; a camera's frames do not catch up either."""

    def __init__(self, interval: float, clock: Callable[[], float]) -> None:
        self.interval = interval
        self.clock = clock
        self._start: float | None = None  # the clock time of the time line's 0

    def due(self, at: float) -> float:
        """When the frame placed at `at` (Timeline.place) is to be shown, on `clock`'s scale."""
        now = self.clock()
        if self._start is None:
            self._start = now - at
        due = self._start + at
        if now - due > self.interval:
            self._start += now - due - self.interval
            due = now - self.interval
        return due
