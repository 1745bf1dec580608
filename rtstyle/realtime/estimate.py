"""How long a video conversion will take, said once the first frames are done, with what would be faster.

A full style network runs at a few seconds a frame on a laptop CPU (a minute of 1080p phone video: hours), and the
progress bar alone neither says so off a terminal nor says what else could be done. So after the first frames,
when the rest of the run is long, one line gives the time to expect and the faster choices (the style's fast
variant, smaller frames), each timed on the video's own frame on this machine, not guessed from a table.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from rtstyle.engine.base import RunCancelled
from rtstyle.wording import how_long

Process = Callable[[np.ndarray], np.ndarray]

#: Say the estimate when the rest of the run takes longer than this.
LONG_RUN_SECONDS = 300.0
#: Frames timed after the first (which pays the model's warm-up) before the estimate.
TIMED_FRAMES = 3
#: The --max-size suggested for larger frames: 720p, a quarter of 4K's pixels and half of 1080p's.
SMALLER_SIDE = 1280
#: A choice is suggested when it takes at most this share of the time.
WORTH_IT = 0.7


@dataclass
class Alternative:
    """A faster way to run: the options that ask for it, and how to time it on a frame."""
    options: str  # e.g. "--style mosaic-fast"
    make: Callable[[], Process]  # the per-frame work it would do (loaded only when timed)
    prepare: Callable[[np.ndarray], np.ndarray] = field(default=lambda frame: frame)  # e.g. the smaller frame
    close: Callable[[], None] = field(default=lambda: None)


def smaller_frames(make: Callable[[], Process]) -> Alternative:
    """--max-size SMALLER_SIDE: the same work on a downscaled copy of the frame (for frames larger than that)."""
    def prepare(frame: np.ndarray) -> np.ndarray:
        factor = SMALLER_SIDE / max(frame.shape[:2])
        return cv2.resize(frame, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)

    return Alternative(f"--max-size {SMALLER_SIDE}", make, prepare)


def time_per_frame(process: Process, frame: np.ndarray, *, clock: Callable[[], float] = time.perf_counter,
                   budget: float = 1.0, most: int = 3, warm_up: bool = True) -> float:
    """Seconds per call after a warm-up call: the mean of up to `most` calls, fewer once `budget` s are spent."""
    if warm_up:
        process(frame)  # a new model or frame size pays its allocations here
    spent: list[float] = []
    while len(spent) < most and sum(spent) < budget:
        start = clock()
        process(frame)
        spent.append(clock() - start)
    return statistics.fmean(spent)


class RunEstimate:
    """Wraps the per-frame work of a conversion (called in order, on one thread; or from `workers` threads at
    once, each on its own frame: rtstyle.realtime.parallel): after the first frames it says, once, how long the
    rest will take when that is long, and what would be faster.

    The pace is the time between finished frames (what the run really achieves, with the decoder, the encoder
    and whatever else runs on the machine beside the model); with `workers` frames at once, the time over
    `workers` frames, divided by it (they finish in pairs, a pair apart). The alternatives are timed together
    with the same work again (`again`: a fresh copy of `process`), in the same moment, and scaled by how much
    slower the work ran in the run than then; the time between frames not spent in the work is added as it is.
    With `workers`, each worker's work is a share of the pace: the work a frame over `workers`.
    """

    def __init__(self, process: Process, total: int | None, log: Callable[[str], None], *,
                 alternatives: Callable[[], list[Alternative]] = list, again: Callable[[], Process] | None = None,
                 clock: Callable[[], float] = time.perf_counter, workers: int = 1) -> None:
        self.process = process
        self.workers = workers
        self._lock = threading.Lock()
        self.again = again or (lambda: process)
        self.total = total
        self.log = log
        self.alternatives = alternatives
        self.clock = clock
        self.done = 0
        self.ends: list[float] = []  # of the frames timed (the first frame pays the warm-up: not counted)
        self.paces: list[float] = []
        self.work: list[float] = []
        self.said = False

    def skip(self, frames: int) -> None:
        """A resumed run: `frames` of the total are done already, and will not pass through here."""
        if self.total is not None:
            self.total = max(0, self.total - frames)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        start = self.clock()
        out = self.process(frame)
        end = self.clock()
        with self._lock:
            self.done += 1
            if self.said:
                return out
            if self.ends:  # the first frame pays the warm-up: not counted
                self.work.append(end - start)
            self.ends.append(end)
            if len(self.ends) > self.workers:
                self.paces.append((end - self.ends[-1 - self.workers]) / self.workers)
            advise = len(self.paces) == TIMED_FRAMES
            self.said = advise
            done = self.done
        if advise:  # outside the lock: the other workers go on meanwhile, as in the run
            self._advise(frame, done)
        return out

    def _advise(self, frame: np.ndarray, done: int) -> None:
        if not self.total:
            return
        pace = statistics.median(self.paces)
        left = pace * max(0, self.total - done)
        if left <= LONG_RUN_SECONDS:
            return
        line = f"about {how_long(left)} to go ({self.total - done} more frames at {seconds(pace)} each)"
        try:
            faster = self._faster(frame, pace, self.total)
        except RunCancelled:  # the conversion is being stopped (Ctrl-C): nothing more is loaded, timed or said
            return
        except Exception:  # noqa: BLE001 - advice that cannot be timed is left out; the conversion goes on
            faster = []
        if faster:
            line += (f"; faster, timed here on this video's frames: {', '.join(faster)} "
                     f"(for all {self.total} frames)")
        self.log(line)

    def _faster(self, frame: np.ndarray, pace: float, total: int) -> list[str]:
        alternatives = self.alternatives()
        if not alternatives:
            return []
        work = statistics.median(self.work)
        slower = work / max(time_per_frame(self.again(), frame, clock=self.clock, most=1, warm_up=False), 1e-9)
        work /= self.workers  # each frame's share of the pace, as `workers` frames are stylized at once
        faster = []
        for alternative in alternatives:
            try:
                theirs = time_per_frame(alternative.make(), alternative.prepare(frame), clock=self.clock)
            except RunCancelled:
                raise  # a stop, not a choice that cannot run
            except Exception:  # noqa: BLE001 - one that cannot load (a corrupt style file) is left out
                continue
            finally:
                alternative.close()
            their_pace = max(0.0, pace - work) + theirs * slower / self.workers
            if their_pace <= WORTH_IT * pace:
                faster.append(f"{alternative.options} about {how_long(their_pace * total)}")
        return faster


def seconds(value: float) -> str:
    """A time per frame: '5.3 s', '0.42 s', '35 ms'."""
    if value >= 1:
        return f"{value:.1f} s"
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"
