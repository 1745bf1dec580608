"""Three overlapping stages with bounded queues: produce (decode) -> transform (inference) -> consume (encode).

Decoding, onnxruntime and the encoder all release the GIL, so with threads the three run at the same time and
the end-to-end rate approaches the slowest stage (the model) instead of the sum of all three. The queues are
bounded so memory stays flat however long the video is. The consumer runs on the calling (main) thread, so
Ctrl-C lands there and the caller decides how to finish the output.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")
U = TypeVar("U")

_END = object()  # sentinel: the upstream stage has finished


class Pipeline(Generic[T, U]):
    def __init__(self, source: Iterable[T], transform: Callable[[T], U], *, queue_size: int = 4) -> None:
        self._source = source
        self._transform = transform
        self._decoded: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._transformed: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._produce, name="rtstyle-decode", daemon=True),
            threading.Thread(target=self._work, name="rtstyle-infer", daemon=True),
        ]

    def run(self, consume: Callable[[U], None]) -> None:
        """Run to the end, calling `consume` on the main thread for each transformed item, in order."""
        for thread in self._threads:
            thread.start()
        try:
            while True:
                item = self._get(self._transformed)
                if item is _END:
                    break
                consume(item)  # type: ignore[arg-type]
        finally:
            self.stop()
        if self._error is not None:
            raise self._error  # the worker's own exception (its traceback points into the worker)

    def stop(self) -> None:
        """Stop the workers (after an error or Ctrl-C) and wait for them; safe to call twice."""
        self._stop.set()
        for q in (self._decoded, self._transformed):  # unblock workers waiting on a full queue
            with q.mutex:
                q.queue.clear()
                q.not_full.notify_all()
        for thread in self._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout=30)

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

    def _get(self, q: queue.Queue[object]) -> object:
        while True:
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set() and not any(t.is_alive() for t in self._threads):
                    return _END
