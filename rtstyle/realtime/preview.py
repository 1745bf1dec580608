"""`rtstyle video --preview`: the stylized frames of a conversion in a window as they are written, so a long run
shows what it makes. Every frame is offered; one every PREVIEW_SECONDS is drawn, and the window's events are read
with it and every 0.1 s while a frame is in the model (rtstyle.realtime.pipeline's `idle`), so it keeps answering
however slow the network. q, Esc or closing the window stops the conversion as Ctrl-C does: the part is kept, and
the same command continues it."""

from __future__ import annotations

import time
from typing import Protocol

import cv2
import numpy as np

from rtstyle.realtime.overlay import draw_panel

PREVIEW_SECONDS = 0.1  # at most 10 pictures a second
MAX_SHOWN_SIDE = 1280  # a 4K frame is shown at this size (the window's own size is the user's)
STOP_KEYS = (ord("q"), 27)  # q, Esc


class PreviewStopped(KeyboardInterrupt):
    """The preview window asked to stop: handled as Ctrl-C is (the part kept, a batch stopped)."""


class PreviewWindow(Protocol):
    def show(self, image: np.ndarray) -> None: ...
    def poll_key(self, delay_ms: int = 1) -> int: ...
    def closed(self) -> bool: ...
    def close(self) -> None: ...


class ConversionPreview:
    def __init__(self, window: PreviewWindow) -> None:
        self.window = window
        self.shown_at = -PREVIEW_SECONDS
        self.frames, self.name = 0, ""
        self.total: int | None = None

    def start(self, name: str, total: int | None) -> None:
        """A new video (a batch shows each in turn): its name and frame count for the caption; its first frame is
        shown at once."""
        self.frames, self.total, self.name = 0, total, name
        self.shown_at = -PREVIEW_SECONDS

    def __call__(self, image: np.ndarray) -> None:
        """A frame written; shown if its turn has come. Raises PreviewStopped when the user closes or quits."""
        self.frames += 1
        now = time.monotonic()
        if now - self.shown_at >= PREVIEW_SECONDS:
            self.shown_at = now
            self.window.show(self._picture(image))
            self.idle()  # its events with each picture: a key waits 0.1 s at most, and no frame waits on a poll

    def idle(self) -> None:
        """The window's events (its paint, a key, its close button), also while a slow frame is in the model, so it
        never stops answering; raises PreviewStopped on q, Esc or a close."""
        if self.window.poll_key(1) in STOP_KEYS or self.window.closed():
            raise PreviewStopped

    def _picture(self, image: np.ndarray) -> np.ndarray:
        side = max(image.shape[:2])
        if side > MAX_SHOWN_SIDE:
            scale = MAX_SHOWN_SIDE / side
            image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                               interpolation=cv2.INTER_AREA)
        of = f" of {self.total}" if self.total else ""
        return draw_panel(np.ascontiguousarray(image), [f"{self.name}: frame {self.frames}{of}",
                                                        "q stops (the part is kept; run again to continue)"])

    def close(self) -> None:
        self.window.close()
