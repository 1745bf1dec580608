"""Synthetic clips with known motion for the temporal tests: textured frames cut from the test photos."""

from __future__ import annotations

import cv2
import numpy as np

from conftest import DATA


def texture(size: tuple[int, int] = (240, 320), name: str = "chelsea.png") -> np.ndarray:
    """A textured uint8 BGR image of (height, width) from a test photo."""
    image = cv2.imread(str(DATA / name), cv2.IMREAD_COLOR)
    return cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)


def panning_clip(frames: int = 5, shape: tuple[int, int] = (96, 128), step: tuple[int, int] = (3, 2)
                 ) -> tuple[list[np.ndarray], np.ndarray]:
    """A camera pan: frame t is a window of a big image moved by `step` (dx, dy) pixels per frame.

    Returns the frames and the exact forward flow (t -> t+1 on t's grid): frame_t(x) = frame_t+1(x - step).
    """
    height, width = shape
    dx, dy = step
    big = texture((height + abs(dy) * frames + 1, width + abs(dx) * frames + 1))
    clip = []
    for t in range(frames):
        x0 = t * dx if dx >= 0 else abs(dx) * (frames - t)
        y0 = t * dy if dy >= 0 else abs(dy) * (frames - t)
        clip.append(np.ascontiguousarray(big[y0:y0 + height, x0:x0 + width]))
    flow = np.zeros((height, width, 2), np.float32)
    flow[..., 0], flow[..., 1] = -dx, -dy
    return clip, flow


def flicker(clip: list[np.ndarray], sigma: float, seed: int = 0) -> list[np.ndarray]:
    """Independent per-frame noise, smoothed like style-network flicker (blotches, not single pixels)."""
    rng = np.random.default_rng(seed)
    out = []
    for frame in clip:
        noise = rng.normal(0, sigma, frame.shape).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), 1.0) * 2.0
        out.append(np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8))
    return out


def moving_square_clip(frames: int = 6, shape: tuple[int, int] = (96, 128), side: int = 40, speed: int = 12
                       ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Fast motion: a textured square crossing a static textured background at `speed` px/frame.

    Returns the frames and, for t >= 1, the exact disocclusion of frame t: background pixels that the square
    covered in frame t-1 (they have no counterpart in frame t-1; a blind blend leaves a ghost there).
    """
    assert 4 + (frames - 1) * speed + side <= shape[1], "the square must stay inside the frame"
    background = texture(shape)
    patch = texture((side, side), "grace_hopper.jpg")
    y = (shape[0] - side) // 2
    clip, squares = [], []
    for t in range(frames):
        frame = background.copy()
        square = np.zeros(shape, bool)
        square[y:y + side, 4 + t * speed:4 + t * speed + side] = True
        frame[square] = patch.reshape(-1, 3)
        clip.append(frame)
        squares.append(square)
    return clip, [previous & ~current for previous, current in zip(squares, squares[1:])]
