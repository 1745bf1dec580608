"""Style switches without a wait: the styles next to the current one (what `n` and `p` pick) are made ready in the
background, so a switch to one of them swaps networks at the next frame instead of loading one.

What "ready" means: the style's model files built (the ONNX graph, an int8 calibration), its onnxruntime session
made, and, for a cheap network, one frame of the current size run through it (the first run of a session at a size
plans its memory and is slower than the next). A `StyleCache` holds the current style's stylizer and those of its
two neighbours, no more: each holds a session with its own memory arena (docs/benchmarks.md says how much).

The `Preparer` works on its own thread, one style at a time, and only once the current style's frames flow
(`FRAMES_BEFORE_PREPARING` shown since the start, the last switch or the last style prepared), so it never
competes with a style's first frames and leaves the live loop most of the CPU between its steps. The long steps,
building model files (importing onnx, building the graph, an int8 calibration: seconds), run on a short-lived
thread at a lower priority; the session is made at normal priority, because onnxruntime's worker threads are
made with it and inherit its priority, and a process cannot raise a priority again once lowered: the session
would run the live loop at the lower priority after the switch.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable

import numpy as np

from rtstyle.realtime.processing import StylizeFn
from rtstyle.styles.catalog import style_cost

FRAMES_BEFORE_PREPARING = 5  # frames of the current style shown before (and between) preparing styles
# The warm-up frame is for the cheap networks (fast: 5k MAC/px), whose first run at a size took 145 ms against 85
# for the next ones at 640x360 (docs/benchmarks.md). A full network's frame (154k MAC/px: 1.3 s) would take a whole
# frame's CPU from the live loop to save the few % its first run is slower: it is made ready without one.
WARM_UP_BELOW_MACS_PER_PIXEL = 20_000
LOWER_PRIORITY = 10  # the nice value added to the thread that builds model files (Linux)

MakeStylizer = Callable[[str], StylizeFn]
BuildFiles = Callable[[str], None]


def neighbours(index: int, count: int) -> list[int]:
    """The styles `n` and `p` pick from `index` (the playlist wraps), next first: the key pressed most."""
    found: list[int] = []
    for other in ((index + 1) % count, (index - 1) % count):
        if other != index and other not in found:
            found.append(other)
    return found


def prepares_ahead(stylizer: StylizeFn) -> bool:
    """Whether styles are prepared in the background next to this one: for onnxruntime on the CPU only. On a GPU
    a TensorRT engine takes minutes of build and its workspace in GPU memory, and a CUDA session a share of a GPU
    that may be small: neither is made for a style the user may never pick. The torch backend compiles for
    seconds to minutes on first use. Those load when picked, as before."""
    return getattr(stylizer, "provider", None) == "CPUExecutionProvider"


def worth_a_warm_up(style: str) -> bool:
    """Whether a frame is run through a prepared style before it is picked: for cheap networks only (above)."""
    cost = style_cost(style)
    return cost is not None and cost < WARM_UP_BELOW_MACS_PER_PIXEL


def close_stylizer(stylizer: StylizeFn) -> None:
    close = getattr(stylizer, "close", None)
    if close is not None:
        close()


class StyleCache:
    """The stylizers ready to run, by playlist index: the current style's and its neighbours', no others."""

    def __init__(self, count: int, close: Callable[[StylizeFn], None] = close_stylizer) -> None:
        self.count = count
        self.current = 0
        self._ready: dict[int, StylizeFn] = {}
        self._lock = threading.Lock()
        self._close = close

    def wanted(self) -> list[int]:
        return [self.current, *neighbours(self.current, self.count)]

    def get(self, index: int) -> StylizeFn | None:
        with self._lock:
            return self._ready.get(index)

    def missing(self) -> list[int]:
        """The neighbours not ready yet, next first."""
        with self._lock:
            return [index for index in neighbours(self.current, self.count) if index not in self._ready]

    def add(self, index: int, stylizer: StylizeFn) -> bool:
        """Keep a prepared stylizer if its style is still wanted; else close it (the user moved on meanwhile)."""
        with self._lock:
            kept = index in self.wanted() and index not in self._ready
            if kept:
                self._ready[index] = stylizer
        if not kept:
            self._close(stylizer)
        return kept

    def make_current(self, index: int, stylizer: StylizeFn) -> list[StylizeFn]:
        """`index` runs now, with `stylizer`; returns the stylizers of the styles no longer next to it, for the
        caller to close (closing a session takes 10-50 ms: not on the inference thread when it can be helped)."""
        with self._lock:
            self.current = index
            replaced = self._ready.get(index)  # prepared while the same style was loaded on the key
            self._ready[index] = stylizer
            wanted = self.wanted()
            gone = [self._ready.pop(other) for other in list(self._ready) if other not in wanted]
            return gone + [replaced] if replaced is not None and replaced is not stylizer else gone

    def indices(self) -> list[int]:
        with self._lock:
            return sorted(self._ready)

    def close_all(self) -> None:
        with self._lock:
            gone, self._ready = list(self._ready.values()), {}
        for old in gone:
            self._close(old)


class Preparer:
    """Prepares the cache's missing neighbours on a thread, one at a time, while the current style's frames flow."""

    def __init__(self, cache: StyleCache, styles: list[str], make_stylizer: MakeStylizer,
                 build_files: BuildFiles | None = None, *, frames_before: int = FRAMES_BEFORE_PREPARING,
                 warm_up: Callable[[str], bool] = worth_a_warm_up) -> None:
        self.cache = cache
        self.warm_up = warm_up
        self.styles = styles
        self.make_stylizer = make_stylizer
        self.build_files = build_files
        self.frames_before = frames_before
        self.busy: int | None = None  # the style being prepared now (it cannot be interrupted)
        self.failed: set[int] = set()  # styles that could not be prepared: loaded (and said) when picked
        self.prepared = 0  # styles made ready, for the bench and the tests
        self._cond = threading.Condition()
        self._frames = 0  # frames shown since the last start, switch or style prepared
        self._frame_hw: tuple[int, int] | None = None  # the network's input size now (the warm-up frame's)
        self._retired: list[StylizeFn] = []  # stylizers of styles no longer wanted, to close on this thread
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtstyle-prepare", daemon=True)

    def start(self) -> Preparer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """No new preparation after the one running, if any (it ends by itself: see `alive`)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=timeout)

    def frame_shown(self, frame_hw: tuple[int, int]) -> None:
        """Called by the inference thread after each frame of the current style, at the network's input size."""
        with self._cond:
            self._frames += 1
            self._frame_hw = frame_hw
            if self._frames >= self.frames_before:
                self._cond.notify_all()

    def switched(self, retired: list[StylizeFn]) -> None:
        """Another style runs now: its first frames come before any preparation; `retired` (the styles no longer
        next to it) are closed on the preparing thread."""
        with self._cond:
            self._frames = 0
            self._retired += retired
            self._cond.notify_all()

    def wait_while_preparing(self, index: int) -> None:
        """Block while `index` is the style being prepared (the inference thread, asked for it: it waits for the
        preparation instead of loading the style a second time alongside it)."""
        with self._cond:
            while self.busy == index and not self._stop.is_set():
                self._cond.wait(timeout=0.1)

    def _next_step(self) -> tuple[int, tuple[int, int]] | None:
        """The style to prepare now and the frame size, or None: nothing to prepare yet (waited up to 0.1 s for
        it), stylizers to close, or stopped."""
        with self._cond:
            self._cond.wait_for(lambda: self._retired or self._stop.is_set() or self._todo() is not None, timeout=0.1)
            index = self._todo()
            if self._retired or self._stop.is_set() or index is None or self._frame_hw is None:
                return None
            self.busy = index
            return index, self._frame_hw

    def _todo(self) -> int | None:
        """The style to prepare next, once enough frames of the current one were shown (holding the lock)."""
        if self._frames < self.frames_before or self._frame_hw is None:
            return None
        return next((index for index in self.cache.missing() if index not in self.failed), None)

    def _close_retired(self) -> None:
        with self._cond:
            retired, self._retired = self._retired, []
        for stylizer in retired:
            close_stylizer(stylizer)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._close_retired()
            step = self._next_step()
            if step is None:
                continue
            index, frame_hw = step
            try:
                stylizer = self._prepare(self.styles[index], frame_hw)
            except Exception:  # noqa: BLE001 - loaded when picked, which says why it cannot be used
                self.failed.add(index)
                stylizer = None
            with self._cond:
                if stylizer is not None and self.cache.add(index, stylizer):
                    self.prepared += 1
                self.busy = None
                self._frames = 0
                self._cond.notify_all()
        self._close_retired()

    def _prepare(self, name: str, frame_hw: tuple[int, int]) -> StylizeFn | None:
        build = self.build_files
        if build is not None:
            run_at_lower_priority(lambda: build(name))
        if self._stop.is_set():
            return None
        stylizer = self.make_stylizer(name)
        if self._stop.is_set():
            close_stylizer(stylizer)
            return None
        if self.warm_up(name):  # the first run at this size, slower than the next ones; its calling thread's share
            run_at_lower_priority(lambda: stylizer(np.zeros((*frame_hw, 3), np.uint8)))  # at a lower priority
        return stylizer


def run_at_lower_priority(work: Callable[[], object]) -> None:
    """Run `work` on a thread of its own at a lower CPU priority (Linux: a thread's nice value is its own), waiting
    for it; its exception is raised here. Threads it starts (an int8 calibration's onnxruntime session's) inherit
    the priority and end with it."""
    failure: list[BaseException] = []

    def run() -> None:
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError):
                thread_id = threading.get_native_id()
                nice = os.getpriority(os.PRIO_PROCESS, thread_id)
                os.setpriority(os.PRIO_PROCESS, thread_id, min(19, nice + LOWER_PRIORITY))
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - raised on the calling thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="rtstyle-prepare-files", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
