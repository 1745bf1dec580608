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


class FrameProcessor:
    """frame (uint8 HxWx3 BGR) -> stylized frame of the same size.

    `inference_scale` < 1 runs the model on a smaller copy and upscales the result: for slow machines, the
    cost of the model falls with the square of the scale. `look` may be replaced between frames (webcam hotkeys).
    """

    def __init__(self, stylize: StylizeFn, *, inference_scale: float = 1.0, post_filter: PostFilter | None = None,
                 look: Look = Look()) -> None:
        if not 0 < inference_scale <= 4:
            raise ValueError(f"inference_scale must be in (0, 4], got {inference_scale}")
        self.stylize = stylize
        self.inference_scale = inference_scale
        self.post_filter = post_filter
        self.look = look

    def __call__(self, frame: np.ndarray, look: Look | None = None) -> np.ndarray:
        """`look` overrides `self.look` for this frame."""
        height, width = frame.shape[:2]
        content = frame
        if self.inference_scale != 1.0:
            w, h = scaled_size(width, height, self.inference_scale)
            content = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA if self.inference_scale < 1 else cv2.INTER_LINEAR)
        stylized = self.stylize(content)
        if self.post_filter is not None:
            stylized = self.post_filter(content, stylized)
        if stylized.shape[:2] != (height, width):  # bicubic: the strokes stay crisper than bilinear, at the same cost
            stylized = cv2.resize(stylized, (width, height), interpolation=cv2.INTER_CUBIC)
        return apply_look(frame, stylized, self.look if look is None else look)
