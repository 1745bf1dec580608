"""Every shipped style loads and stylizes in the core install (onnxruntime, no torch) and carries its credits."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from conftest import DATA
from rtstyle.paths import builtin_styles_dir
from test_engine_no_torch import run_without_torch

BUILTINS = sorted(p.stem for p in builtin_styles_dir().glob("*.safetensors"))
MAX_TOTAL_BYTES = 30_000_000  # issue 5: all built-ins together at most 30 MB


def test_the_package_ships_built_in_styles_within_budget():
    assert "mosaic" in BUILTINS  # the default of `rtstyle webcam` and `rtstyle video`
    total = sum(p.stat().st_size for p in builtin_styles_dir().glob("*.safetensors"))
    assert total <= MAX_TOTAL_BYTES


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_style_metadata_credits_its_painting(name):
    from rtstyle.styles.catalog import find_style

    meta = find_style(name).metadata()
    for key in ("title", "artist", "source_image", "licence", "steps", "losses", "hyperparameters"):
        assert meta.get(key), f"{name}: metadata lacks {key}"


def test_builtin_styles_stylize_without_torch(tmp_path):
    src = tmp_path / "in.png"
    image = cv2.resize(cv2.imread(str(DATA / "chelsea.png")), (96, 64))
    cv2.imwrite(str(src), image)
    for name in BUILTINS:
        out = tmp_path / f"{name}.png"
        result = run_without_torch(tmp_path, ["image", str(src), "--style", name, "--backend", "onnx", "-o", str(out)])
        assert result.returncode == 0, result.stderr
        stylized = cv2.imread(str(out)).astype(np.int16)
        assert stylized.shape == image.shape
        assert np.abs(stylized - image).mean() > 10, f"{name} barely changes the photo"
        assert stylized.std() > 10, f"{name} gives a nearly constant image"
    styles = run_without_torch(tmp_path, ["styles", "--json"])
    assert styles.returncode == 0
    listed = {row["name"]: row for row in json.loads(styles.stdout)}
    assert set(BUILTINS) <= set(listed)
