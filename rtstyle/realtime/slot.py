"""A one-value mailbox that keeps only the newest value: the heart of a low-latency camera loop.

A camera produces frames at its own pace; if they were queued, a slow model would show ever older frames.
Here a new frame replaces an unread one (counted in `dropped`), so the consumer always gets the latest.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._value: T | None = None
        self._full = False
        self._closed = False
        self.dropped = 0  # values replaced before anyone read them
        self.put_count = 0

    def put(self, value: T) -> None:
        with self._cond:
            if self._full:
                self.dropped += 1
            self._value, self._full = value, True
            self.put_count += 1
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> T | None:
        """The newest value (taking it), or None after `timeout` seconds or once closed and empty."""
        with self._cond:
            self._cond.wait_for(lambda: self._full or self._closed, timeout=timeout)
            if not self._full:
                return None
            value, self._value, self._full = self._value, None, False
            self._cond.notify_all()
            return value

    def wait_until_taken(self, timeout: float | None = None) -> bool:
        """Block until the value was read (for lossless producers); False on timeout or close."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._full or self._closed, timeout=timeout) and not self._closed

    def close(self) -> None:
        """No more values will come: wake every waiter."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return int(self._full)
