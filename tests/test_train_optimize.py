"""Gatys-style optimisation: the reference point of the style quality report."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")

from train_utils import DATA, random_loss_network  # noqa: E402

from rtstyle.train.optimize import optimize_image  # noqa: E402


def test_optimisation_lowers_the_style_loss_and_returns_an_8_bit_image() -> None:
    photo = cv2.resize(cv2.imread(str(DATA / "chelsea.png")), (40, 32))[..., ::-1].copy()
    yy, xx = np.mgrid[0:48, 0:48]
    stripes = np.stack([np.sin(xx / 2.0) * 127 + 128, np.cos(yy / 3.0) * 127 + 128, (xx * 5) % 256], -1)
    network = random_loss_network()
    barely = optimize_image(photo, stripes.astype(np.uint8), network, iterations=1)
    longer = optimize_image(photo, stripes.astype(np.uint8), network, iterations=30)
    assert longer.image_rgb.shape == photo.shape and longer.image_rgb.dtype == np.uint8
    assert longer.style < 0.5 * barely.style, (barely, longer)
    assert not np.array_equal(longer.image_rgb, photo)
