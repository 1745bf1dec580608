"""Shared fixtures. Every test runs with private styles and cache directories, never the user's."""

from __future__ import annotations

import importlib.util
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from rtstyle.torch_threads import prefer_short_spinning

# As the CLI does (before any test module imports torch): torch's threads spin only briefly while they wait.
prefer_short_spinning()

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(os.environ.get("RTSTYLE_SHARED", REPO.parent / "shared"))
VGG_FILE = SHARED / "weights" / "vgg16_imagenet_caffe_conv1_1-conv4_3.safetensors"

requires_shared = pytest.mark.skipif(not (SHARED / "data").is_dir(), reason=f"needs the shared data at {SHARED}")
requires_vgg = pytest.mark.skipif(not VGG_FILE.is_file(), reason=f"needs the VGG16 weights at {VGG_FILE}")
# The core install has no torch (`make test-floors` runs the tests so): a module imports torch only `if HAS_TORCH`,
# and its tests that use it carry requires_torch.
HAS_TORCH = importlib.util.find_spec("torch") is not None
requires_torch = pytest.mark.skipif(not HAS_TORCH, reason='needs torch (pip install "rtstyle[train]")')


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("rtstyle_home")
    monkeypatch.setenv("RTSTYLE_STYLES_DIR", str(home / "styles"))
    monkeypatch.setenv("RTSTYLE_CACHE_DIR", str(home / "cache"))
    return home


@pytest.fixture
def sigint_ignored():
    """Start as a shell starts a background job (`pytest &` in a script): SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGINT, previous)


def random_style_weights(arch: str = "johnson", seed: int = 0, **arch_kwargs: object) -> dict[str, np.ndarray]:
    """Weights of a randomly initialised network whose output visibly depends on its input.

    Norm affine parameters are randomised too, otherwise a fresh network is close to constant.
    """
    from rtstyle.models.registry import create_spec
    from rtstyle.models.weights import expected_weight_shapes

    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in expected_weight_shapes(create_spec(arch, **arch_kwargs)).items():
        if name.endswith("norm.weight"):
            weights[name] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        elif name.endswith("bias"):
            weights[name] = rng.normal(0, 0.1, shape).astype(np.float32)
        else:
            fan_in = int(np.prod(shape[1:]))
            weights[name] = rng.normal(0, 1 / np.sqrt(fan_in), shape).astype(np.float32)
    last = [k for k in weights if k.endswith("conv.bias")][-1]
    weights[last] = np.full_like(weights[last], 128.0)  # centre the unnormalised output in 0..255
    scale_key = [k for k in weights if k.endswith("conv.weight")][-1]
    weights[scale_key] *= 60.0
    return weights


@pytest.fixture
def random_style(tmp_path: Path) -> Path:
    """A valid style file with random johnson weights, saved to a path."""
    from rtstyle.styles.format import StyleFile, save_style_file

    path = tmp_path / "randomstyle.safetensors"
    save_style_file(path, StyleFile("johnson", {"width": 32, "blocks": 5}, random_style_weights(),
                                    {"name": "randomstyle", "title": "Noise", "artist": "numpy"}))
    return path


@pytest.fixture
def small_style(tmp_path: Path) -> Path:
    """A narrow johnson (width 8, 1 block) with random weights: fast enough for video tests."""
    from rtstyle.styles.format import StyleFile, save_style_file

    path = tmp_path / "smallstyle.safetensors"
    save_style_file(path, StyleFile("johnson", {"width": 8, "blocks": 1}, random_style_weights(width=8, blocks=1),
                                    {"name": "smallstyle"}))
    return path


@pytest.fixture
def photo() -> np.ndarray:
    import cv2

    return cv2.imread(str(DATA / "chelsea.png"), cv2.IMREAD_COLOR)


@pytest.fixture
def no_builtin_styles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide the shipped styles, for tests about what happens with only user styles (or none)."""
    import rtstyle.styles.catalog as catalog

    monkeypatch.setattr(catalog, "builtin_styles_dir", lambda: tmp_path / "no_builtin_styles")
