"""Three overlapping stages with bounded queues: produce (decode) -> transform (inference) -> consume (encode).

Decoding, onnxruntime and the encoder all release the GIL, so with threads the three run at the same time and
the end-to-end rate approaches the slowest stage (the model) instead of the sum of all three. The queues are
bounded so memory stays flat however long the video is. The consumer runs on the calling (main) thread, so
Ctrl-C lands there and the caller decides how to finish the output.

With `workers` > 1 the transform runs on that many threads, each on a different item (frame-parallel inference:
one single-threaded onnxruntime run per core has none of the per-op synchronisation of one run spread over the
cores, docs/benchmarks.md). The items still reach the consumer in their order: the producer queues a slot for
each item in order, a worker fills it, and the consumer waits for the slots one after another. That queue of
slots is bounded too, so a worker that races ahead cannot pile up frames behind a slow one.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar, cast

from rtstyle.interrupts import stops_kept

T = TypeVar("T")
U = TypeVar("U")

_END = object()  # sentinel: the upstream stage has finished


class _Slot:
    """One item's place in the output order, filled by whichever worker transforms it."""

    __slots__ = ("done", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: object = None


class Pipeline(Generic[T, U]):
    def __init__(self, source: Iterable[T], transform: Callable[[T], U], *, queue_size: int = 4,
                 workers: int = 1, cancel: Callable[[], None] = lambda: None) -> None:
        """`workers` > 1: `transform` is called from that many threads at once (it must be safe to). `cancel`: ends
        the transforms in progress (model runs), for a stop before the end: a stop waits for the workers, and a full
        network on a large frame runs for seconds on a CPU (the first Ctrl-C looked ignored until then)."""
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._source = source
        self._transform = transform
        self._workers = workers
        self._cancel = cancel
        self._decoded: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        # In parallel, the slots in order: the workers' items and those finished, waiting for the consumer.
        self._transformed: queue.Queue[object] = queue.Queue(maxsize=queue_size + (workers if workers > 1 else 0))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._threads = [threading.Thread(target=self._produce if workers == 1 else self._produce_slots,
                                          name="rtstyle-decode", daemon=True)]
        self._threads += [threading.Thread(target=self._work if workers == 1 else self._work_on_slots,
                                           name="rtstyle-infer" if workers == 1 else f"rtstyle-infer-{i + 1}",
                                           daemon=True) for i in range(workers)]

    def run(self, consume: Callable[[U], None], idle: Callable[[], None] = lambda: None) -> None:
        """Run to the end, calling `consume` on the main thread for each transformed item, in order; `idle` about
        every 0.1 s while the main thread waits for the next (a window's events: `video --preview`)."""
        with stops_kept() as check_stop:  # a Ctrl-C whose KeyboardInterrupt was dropped on the way still stops it
            def waiting() -> None:
                check_stop()
                idle()

            ended = False  # at the source's end: nothing left to cancel
            try:
                for thread in self._threads:  # inside the try: a Ctrl-C while they start still stops those started
                    thread.start()
                while True:
                    item = self._get(self._transformed, waiting)
                    if item is _END:
                        break
                    if isinstance(item, _Slot):
                        while not item.done.wait(0.1) and not self._stop.is_set():
                            waiting()
                        if not item.done.is_set():  # a worker failed (its error is raised below)
                            break
                        item = item.result
                    check_stop()
                    consume(item)  # type: ignore[arg-type]
                check_stop()
                ended = True
            finally:
                self.stop(cancel=not ended)  # stopped (Ctrl-C) or failed: what the workers do is not wanted
        if self._error is not None:
            raise self._error  # the worker's own exception (its traceback points into the worker)

    def stop(self, cancel: bool = False) -> None:
        """Stop the workers (after an error or Ctrl-C) and wait for them (30 s at most); safe to call twice.
        `cancel`: end their transforms in progress, again while they are waited for (one may start right after)."""
        self._stop.set()
        for q in (self._decoded, self._transformed):  # unblock workers waiting on a full queue
            with q.mutex:
                q.queue.clear()
                q.not_full.notify_all()
        deadline = time.monotonic() + 30
        for thread in self._threads:
            while thread.is_alive() and thread is not threading.current_thread() and time.monotonic() < deadline:
                if cancel:
                    self._cancel()
                thread.join(timeout=0.1)

    def _produce(self) -> None:
        try:
            for item in self._source:
                if not self._put(self._decoded, item):
                    return
        except BaseException as exc:  # noqa: BLE001 - carried to the main thread
            self._fail(exc)
        finally:
            self._put(self._decoded, _END)

    def _work(self) -> None:
        try:
            while True:
                item = self._get(self._decoded)
                if item is _END or self._stop.is_set():
                    break
                if not self._put(self._transformed, self._transform(item)):  # type: ignore[arg-type]
                    return
        except BaseException as exc:  # noqa: BLE001
            self._fail(exc)
        finally:
            self._put(self._transformed, _END)

    def _produce_slots(self) -> None:
        """In parallel: each item's slot goes in the output order first, then the item to the workers."""
        try:
            for item in self._source:
                slot = _Slot()
                if not self._put(self._transformed, slot) or not self._put(self._decoded, (slot, item)):
                    return
        except BaseException as exc:  # noqa: BLE001 - carried to the main thread
            self._fail(exc)
        finally:
            self._put(self._transformed, _END)
            for _ in range(self._workers):
                self._put(self._decoded, _END)

    def _work_on_slots(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    entry = self._decoded.get(timeout=0.1)
                except queue.Empty:
                    continue
                if entry is _END:
                    return
                slot, item = cast("tuple[_Slot, T]", entry)
                slot.result = self._transform(item)
                slot.done.set()
        except BaseException as exc:  # noqa: BLE001
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        self._stop.set()

    def _put(self, q: queue.Queue[object], item: object) -> bool:
        """Put unless stopped; the end sentinel always goes through (after making room) so readers wake up."""
        while True:
            if self._stop.is_set() and item is not _END:
                return False
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                if item is _END and self._stop.is_set():
                    with q.mutex:
                        q.queue.clear()
                    continue

    def _get(self, q: queue.Queue[object], check_stop: Callable[[], None] = lambda: None) -> object:
        while True:
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                check_stop()
                if self._stop.is_set() and not any(t.is_alive() for t in self._threads):
                    return _END
