"""Run a style network at a lower internal resolution and upscale the result: an explicit speed option.

Cost falls with the square of the scale (0.5 -> about 1/4 of the network time), but the strokes of a
style network have a fixed size in pixels, so at a lower internal resolution they look larger and fine
detail is lost. That is a visible trade, so it is never applied silently: a command offers it as an
option and the description says it is on.
"""

from __future__ import annotations

import cv2
import numpy as np

from rtstyle.engine.base import Stylizer
from rtstyle.errors import RtstyleError

MIN_SCALE = 0.1


class ScaledStylizer(Stylizer):
    """Downscales each frame by `scale` (area filter), stylizes it, and upscales back (bilinear)."""

    def __init__(self, inner: Stylizer, scale: float) -> None:
        if not MIN_SCALE <= scale <= 1:
            raise RtstyleError(f"internal scale must be between {MIN_SCALE} and 1, got {scale:g}")
        self.inner = inner
        self.scale = scale
        self.style_name = inner.style_name
        self.description = f"{inner.description}, internal scale {scale:g}"

    def _stylize(self, frame: np.ndarray) -> np.ndarray:
        if self.scale == 1:
            return self.inner(frame)
        height, width = frame.shape[:2]
        small_size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        small = cv2.resize(frame, small_size, interpolation=cv2.INTER_AREA)
        return cv2.resize(self.inner(small), (width, height), interpolation=cv2.INTER_LINEAR)

    def close(self) -> None:
        self.inner.close()


def with_internal_scale(stylizer: Stylizer, scale: float) -> Stylizer:
    """`stylizer` itself at scale 1, else wrapped to run at `scale` x the frame size."""
    return stylizer if scale == 1 else ScaledStylizer(stylizer, scale)
