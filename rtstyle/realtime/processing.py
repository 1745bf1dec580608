"""The per-frame path shared by the image, video and webcam commands: scale, stylize, post-filter, scale back,
finish (`rtstyle.realtime.look`: strength and colours, at full size against the original frame).

A post-filter takes `(content, stylized)` at model resolution and returns the frame to use (e.g. the temporal
stabiliser in `rtstyle.realtime.stabilize`); it runs on the inference thread, once per frame, in order.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from rtstyle.realtime.look import Look, apply_look

PostFilter = Callable[[np.ndarray, np.ndarray], np.ndarray]
StylizeFn = Callable[[np.ndarray], np.ndarray]


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    return max(1, round(width * scale)), max(1, round(height * scale))


def network_size(width: int, height: int, look: Look, inference_scale: float = 1.0) -> tuple[int, int]:
    """(width, height) the network runs at for a frame of this size: scaled by inference_scale / stroke size."""
    scale = inference_scale / look.stroke_size
    return (width, height) if scale == 1.0 else scaled_size(width, height, scale)


class FrameProcessor:
    """frame (uint8 HxWx3 BGR) -> stylized frame of the same size.

    The network runs on a copy scaled by `inference_scale / look.stroke_size` and its result is scaled back:
    `inference_scale` < 1 is for slow machines (the cost of the model falls with the square of the scale), the
    look's stroke size for larger or finer strokes. `look` may be replaced between frames (webcam hotkeys).
    """

    def __init__(self, stylize: StylizeFn, *, inference_scale: float = 1.0, post_filter: PostFilter | None = None,
                 look: Look = Look()) -> None:
        if not 0 < inference_scale <= 4:
            raise ValueError(f"inference_scale must be in (0, 4], got {inference_scale}")
        self.stylize = stylize
        self.inference_scale = inference_scale
        self.post_filter = post_filter
        self.look = look

    def model_size(self, width: int, height: int, look: Look | None = None) -> tuple[int, int]:
        """(width, height) the network runs at for a frame of this size."""
        return network_size(width, height, self.look if look is None else look, self.inference_scale)

    def __call__(self, frame: np.ndarray, look: Look | None = None) -> np.ndarray:
        """`look` overrides `self.look` for this frame."""
        look = self.look if look is None else look
        height, width = frame.shape[:2]
        content = frame
        w, h = self.model_size(width, height, look)
        if (w, h) != (width, height):
            content = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA if w < width else cv2.INTER_LINEAR)
        stylized = self.stylize(content)
        if self.post_filter is not None:
            stylized = self.post_filter(content, stylized)
        if stylized.shape[:2] != (height, width):  # bicubic: the strokes stay crisper than bilinear, at the same cost
            stylized = cv2.resize(stylized, (width, height), interpolation=cv2.INTER_CUBIC)
        return apply_look(frame, stylized, look)
