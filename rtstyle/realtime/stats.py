"""Latency and frame-rate statistics of the live loop (what headless mode prints and the overlay shows)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from rtstyle.wording import counted


@dataclass(frozen=True)
class LatencySummary:
    frames: int
    seconds: float
    fps: float
    median_ms: float
    p95_ms: float
    dropped: int

    def format(self) -> str:
        # A rate needs two frames: one frame's "0.0 fps" would read as a measurement.
        rate = (f"{self.frames} frames in {self.seconds:.1f} s: {self.fps:.1f} fps achieved" if self.frames > 1
                else f"{counted(self.frames, 'frame')} (too few to measure the fps)")
        return (f"{rate}; capture-to-output latency median {self.median_ms:.1f} ms, p95 {self.p95_ms:.1f} ms; "
                f"{counted(self.dropped, 'stale frame')} dropped")


class LatencyStats:
    """Records (captured_at, shown_at) per output frame; times are time.perf_counter() seconds."""

    def __init__(self, window: int = 30) -> None:
        self.latencies: list[float] = []
        self.first_output: float | None = None
        self.last_output: float | None = None
        self._recent: deque[tuple[float, float]] = deque(maxlen=window)  # (shown_at, latency)

    def record(self, captured_at: float, shown_at: float | None = None) -> None:
        shown_at = time.perf_counter() if shown_at is None else shown_at
        latency = shown_at - captured_at
        self.latencies.append(latency)
        self._recent.append((shown_at, latency))
        if self.first_output is None:
            self.first_output = shown_at
        self.last_output = shown_at

    def recent(self) -> tuple[float, float]:
        """(fps, latency in ms) over the last few frames, for the overlay."""
        if len(self._recent) < 2:
            return 0.0, (self._recent[-1][1] * 1000 if self._recent else 0.0)
        span = self._recent[-1][0] - self._recent[0][0]
        fps = (len(self._recent) - 1) / span if span > 0 else 0.0
        return fps, float(np.mean([lat for _, lat in self._recent])) * 1000

    def summary(self, dropped: int = 0) -> LatencySummary:
        n = len(self.latencies)
        span = (self.last_output - self.first_output) if n > 1 and self.first_output is not None \
            and self.last_output is not None else 0.0
        ms = np.asarray(self.latencies) * 1000 if n else np.zeros(1)
        return LatencySummary(frames=n, seconds=span, fps=(n - 1) / span if span > 0 else 0.0,
                              median_ms=float(np.median(ms)), p95_ms=float(np.percentile(ms, 95)), dropped=dropped)
