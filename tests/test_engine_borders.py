"""How the edges of a stylized picture look: no faded frame, for every size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import DATA, requires_torch
from rtstyle.engine import create_stylizer
from rtstyle.engine.tiling import BORDER_MARGIN, LIVE_BORDER_MARGIN


def _detail_and_colour(image: np.ndarray, band: slice) -> tuple[float, float]:
    """Mean |Laplacian| of the grey picture and mean chroma (max - min channel) over the pixels `band` px deep."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    detail = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    chroma = image.max(2).astype(np.float32) - image.min(2)
    h, w = grey.shape
    yy, xx = np.mgrid[:h, :w]
    depth = np.minimum(np.minimum(yy, xx), np.minimum(h - 1 - yy, w - 1 - xx))
    inside = (depth >= band.start) & (depth < band.stop)
    return float(detail[inside].mean()), float(chroma[inside].mean())


@pytest.mark.parametrize(("backend", "margin", "min_colour"), [
    ("onnx", BORDER_MARGIN, 0.6), pytest.param("torch", BORDER_MARGIN, 0.6, marks=requires_torch),
    ("onnx", LIVE_BORDER_MARGIN, 0.4),  # the webcam's cheaper margin: the detail, and part of the colour
])
def test_the_outermost_pixels_keep_the_styles_detail_and_colour(backend, margin, min_colour):
    # A trained style: the faded band comes from how such a network treats its edges (random weights show none).
    stylizer = create_stylizer("mosaic-fast", backend=backend, device="cpu")
    stylizer.border_margin = margin
    photo = cv2.resize(cv2.imread(str(DATA / "chelsea.png")), (163, 121), interpolation=cv2.INTER_AREA)
    out = stylizer(photo)
    assert out.shape == photo.shape and out.flags.c_contiguous
    edge_detail, edge_colour = _detail_and_colour(out, slice(0, 2))
    inner_detail, inner_colour = _detail_and_colour(out, slice(24, 10_000))
    # Without the mirrored margin: detail 0.25 and colour 0.3 of the interior's (a blurred, pale frame).
    assert edge_detail > 0.6 * inner_detail
    assert edge_colour > min_colour * inner_colour
    batch = stylizer.stylize_batch(np.stack([photo, photo[::-1]]))
    assert np.abs(batch[0].astype(int) - out).max() <= 1


@pytest.mark.parametrize("hw", [(1, 1), (3, 500), (17, 17), (2, 3)])
def test_tiny_and_thin_frames_keep_their_size(hw):
    stylizer = create_stylizer("mosaic-fast", backend="onnx", device="cpu")
    frame = np.random.default_rng(0).integers(0, 256, (*hw, 3), dtype=np.uint8)
    assert stylizer(frame).shape == frame.shape
    assert stylizer.stylize_batch(np.stack([frame, frame])).shape == (2, *frame.shape)


def test_without_a_margin_the_edge_fades():
    """What the margin is for (and that the measure above sees it): with none, the outer pixels lose their style."""
    stylizer = create_stylizer("mosaic-fast", backend="onnx", device="cpu")
    stylizer.border_margin = 0
    photo = cv2.resize(cv2.imread(str(DATA / "chelsea.png")), (163, 121), interpolation=cv2.INTER_AREA)
    out = stylizer(photo)
    edge_detail, edge_colour = _detail_and_colour(out, slice(0, 2))
    inner_detail, inner_colour = _detail_and_colour(out, slice(24, 10_000))
    assert edge_detail < 0.5 * inner_detail or edge_colour < 0.5 * inner_colour
