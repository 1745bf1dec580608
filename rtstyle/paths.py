"""Where rtstyle keeps user data: trained styles, exported models, caches.

Every location can be moved with an environment variable, so tests and servers never touch a home directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

STYLES_DIR_ENV = "RTSTYLE_STYLES_DIR"
CACHE_DIR_ENV = "RTSTYLE_CACHE_DIR"
VGG_WEIGHTS_ENV = "RTSTYLE_VGG_WEIGHTS"


def user_styles_dir() -> Path:
    """Directory of user-trained styles (`$RTSTYLE_STYLES_DIR`, else the platform's user data dir)."""
    override = os.environ.get(STYLES_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("rtstyle", appauthor=False)) / "styles"


def cache_dir() -> Path:
    """Directory for derived files that can always be rebuilt (ONNX graphs, TensorRT engines)."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir("rtstyle", appauthor=False))


def builtin_styles_dir() -> Path:
    return Path(__file__).resolve().parent / "styles" / "builtin"


def package_assets_dir() -> Path:
    """The media installed with rtstyle (the demo clip and photo, which also calibrate int8), read-only: an
    installed package's folder may not be writable, so nothing is ever written here (caches go to `cache_dir`)."""
    return Path(__file__).resolve().parent / "assets"
