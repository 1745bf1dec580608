"""Test-only helpers for the trainer: a small random loss network and a tiny content folder.

Random VGG weights are for tests about mechanics (loops, checkpoints); the CLI never uses them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

DATA = Path(__file__).resolve().parent / "data"


def random_vgg_state(seed: int = 0) -> dict[str, Any]:
    import torch

    from rtstyle.train.vgg import EXPECTED_SHAPES

    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in EXPECTED_SHAPES.items():
        if key.endswith("weight"):
            fan_in = shape[1] * shape[2] * shape[3]
            state[key] = torch.randn(shape, generator=gen) * (2.0 / fan_in) ** 0.5
        else:
            state[key] = torch.zeros(shape)
    return state


def random_loss_network(seed: int = 0) -> Any:
    from rtstyle.train.vgg import LossNetwork, parse_convention

    return LossNetwork(random_vgg_state(seed), parse_convention("BGR, 0..255, minus mean [103.939,116.779,123.68]"))


def make_content_folder(folder: Path, count: int = 6, size: int = 48) -> Path:
    """Small crops of the test photos, in a nested folder, as JPEG and PNG."""
    photos = [cv2.imread(str(DATA / "chelsea.png")), cv2.imread(str(DATA / "grace_hopper.jpg"))]
    (folder / "nested").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        photo = photos[i % 2]
        top = int(rng.integers(0, photo.shape[0] - 2 * size))
        left = int(rng.integers(0, photo.shape[1] - 2 * size))
        crop = cv2.resize(photo[top:top + 2 * size, left:left + 3 * size], (size * 3 // 2, size))
        target = folder / ("nested" if i % 2 else "") / f"img{i}.{'png' if i % 3 == 0 else 'jpg'}"
        cv2.imwrite(str(target), crop)
    return folder


def write_style_image(path: Path) -> Path:
    """A colourful stand-in painting: stripes and blobs."""
    yy, xx = np.mgrid[0:64, 0:64]
    image = np.stack([(np.sin(xx / 3.0) * 127 + 128), (np.cos(yy / 5.0) * 127 + 128), ((xx + yy) % 32) * 8], -1)
    cv2.imwrite(str(path), image.astype(np.uint8))
    return path
