"""Drawing for the webcam window, as pure functions on BGR frames (testable without a screen)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import cv2
import numpy as np

from rtstyle.io.text import put_text, text_size


def side_by_side(left: np.ndarray, right: np.ndarray, max_width: int | None = None) -> np.ndarray:
    """The two frames next to each other (right resized to left's height), shrunk to `max_width` if wider."""
    if right.shape[0] != left.shape[0]:
        scale = left.shape[0] / right.shape[0]
        right = cv2.resize(right, (max(1, round(right.shape[1] * scale)), left.shape[0]))
    both = np.hstack([left, right])
    if max_width and both.shape[1] > max_width:
        scale = max_width / both.shape[1]
        both = cv2.resize(both, (max_width, max(1, round(both.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    return both


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`image` scaled to fit width x height with its aspect ratio kept, centred on black bars."""
    scale = min(width / image.shape[1], height / image.shape[0])
    w, h = max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))
    fitted = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.zeros((height, width, 3), np.uint8)
    y, x = (height - h) // 2, (width - w) // 2
    out[y:y + h, x:x + w] = fitted
    return out


MIN_TEXT_SCALE = 0.3  # the text stays legible down to about this (8 px tall)


def text_scale(image: np.ndarray) -> float:
    """Font scale that stays readable from 320 px to 4K wide frames."""
    return float(np.clip(image.shape[1] / 1280, 0.35, 1.5))


@functools.lru_cache(maxsize=1024)
def _text_size(text: str, scale: float, thickness: int) -> tuple[int, int]:
    """text_size's (width, height), remembered: the key list and most of the stats lines are the same text every
    frame, and measuring them (about 150 calls a frame with the key list up) was most of the overlay's cost."""
    return text_size(text, scale, thickness)


def _panel_layout(lines: Sequence[str], scale: float) -> tuple[int, int, int, int, int]:
    """(thickness, line height, padding, first column width, box width) for `lines` at `scale`."""
    thickness = 1 if scale < 0.8 else 2
    cells = [line.split("\t", 1) for line in lines]
    size = lambda text: _text_size(text, scale, thickness)  # noqa: E731
    gap = size("  ")[0]
    first_w = max(size(c[0])[0] for c in cells if len(c) == 2) + gap if any(len(c) == 2 for c in cells) else 0
    widths = [size(c[0])[0] if len(c) == 1 else first_w + size(c[1])[0] for c in cells]
    line_h = max(size(line.replace("\t", " "))[1] for line in lines) + int(10 * scale) + 2
    pad = int(8 * scale) + 2
    return thickness, line_h, pad, first_w, max(widths) + 2 * pad


def panel_bottom(image: np.ndarray, lines: Sequence[str]) -> int:
    """The row below a top-left panel of `lines` (with its margin), to fit another panel under it."""
    if not lines:
        return 0
    _, line_h, pad, _, _ = _panel_layout(lines, text_scale(image))
    return min(image.shape[0], line_h * len(lines) + pad) + 2 * pad


def draw_panel(image: np.ndarray, lines: Sequence[str], *, corner: str = "top-left", alpha: float = 0.6,
               max_height: int | None = None) -> np.ndarray:
    """A copy of `image` with `lines` on a darkened box in a corner ("top-left", "bottom-left", "center").

    A tab in a line starts a second column, aligned across lines (the font is proportional, so spaces cannot).
    `max_height`: shrink the text (down to a readable minimum) until the box and its margin fit in this many rows.
    """
    out = image.copy()
    if not lines:
        return out
    scale = text_scale(image)
    thickness, line_h, pad, first_w, box_w = _panel_layout(lines, scale)
    while max_height is not None and line_h * len(lines) + 2 * pad > max_height and scale > MIN_TEXT_SCALE:
        scale = max(MIN_TEXT_SCALE, scale * 0.9)
        thickness, line_h, pad, first_w, box_w = _panel_layout(lines, scale)
    box_w = min(image.shape[1], box_w)
    box_h = min(image.shape[0], line_h * len(lines) + pad)
    x0 = {"top-left": pad, "bottom-left": pad, "center": (image.shape[1] - box_w) // 2}[corner]
    y0 = {"top-left": pad, "bottom-left": image.shape[0] - box_h - pad, "center": (image.shape[0] - box_h) // 2}[corner]
    x0, y0 = max(0, x0), max(0, y0)
    region = out[y0:y0 + box_h, x0:x0 + box_w]
    # The same truncated product per value as `(region * (1 - alpha)).astype(np.uint8)`, through a 256-entry
    # table instead of a float64 copy of the box.
    region[:] = cv2.LUT(region, (np.arange(256) * (1 - alpha)).astype(np.uint8))
    for i, cell in enumerate(line.split("\t", 1) for line in lines):
        baseline = y0 + pad // 2 + line_h * (i + 1) - int(5 * scale)
        for text, x in zip(cell, (x0 + pad, x0 + pad + first_w)):
            put_text(out, text, (x, baseline), scale, (255, 255, 255), thickness)
    return out


def draw_recording_badge(image: np.ndarray, seconds: float) -> np.ndarray:
    """A copy of `image` with a red dot and "REC m:ss" in its top-right corner: a clip is being recorded."""
    out = image.copy()
    scale = text_scale(image)
    thickness = 1 if scale < 0.8 else 2
    minutes, secs = divmod(int(seconds), 60)
    text = f"REC {minutes}:{secs:02d}"
    width, height = _text_size(text, scale, thickness)
    pad = int(8 * scale) + 2
    radius = max(3, height // 2)
    right, baseline = out.shape[1] - pad, pad + height + int(4 * scale)
    left = max(0, right - width - 3 * radius)
    out[max(0, baseline - height - pad // 2):baseline + pad // 2, max(0, left - pad // 2):right + pad // 2] //= 2
    cv2.circle(out, (left + radius, baseline - height // 2), radius, (0, 0, 255), -1, cv2.LINE_AA)
    put_text(out, text, (left + 3 * radius, baseline), scale, (255, 255, 255), thickness)
    return out


def short_engine(description: str) -> str:
    """A stylizer's description as the overlay shows it: "onnxruntime CPUExecutionProvider fp32" -> "onnxruntime
    CPU fp32", "onnxruntime TensorrtExecutionProvider fp16" -> "onnxruntime TensorRT fp16"."""
    return description.replace("TensorrtExecutionProvider", "TensorRT").replace("ExecutionProvider", "")


def stats_lines(fps: float, latency_ms: float, style: str, view: str, *, index: int, count: int,
                status: str = "", look: str = "", engine: str = "") -> list[str]:
    lines = [f"{fps:5.1f} fps   latency {latency_ms:5.0f} ms",
             f"style {index + 1}/{count}: {style}   view: {view}",
             *([look] if look else []),
             f"on {short_engine(engine)}   h: keys" if engine else "h: keys"]  # on the short line: no wider box
    if status:
        lines.append(status)
    return lines
