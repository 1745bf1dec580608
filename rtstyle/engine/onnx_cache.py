"""ONNX models of styles, built once from the style file and cached (keyed by the file's content hash and
the graph builder's GRAPH_VERSION)."""

from __future__ import annotations

import hashlib
import os
from glob import escape as glob_escape
from pathlib import Path
from typing import TYPE_CHECKING

from rtstyle.export.graph_version import GRAPH_VERSION
from rtstyle.interrupts import deferred_stop
from rtstyle.io.atomic import atomic_write_bytes, fitted
from rtstyle.models.registry import create_spec
from rtstyle.errors import RtstyleError
from rtstyle.paths import CACHE_DIR_ENV, cache_dir
from rtstyle.styles.format import StyleFile, load_style_file

if TYPE_CHECKING:  # onnx is imported when a model is built: a cached one is found without it (1-2 s sooner)
    import onnx

    from rtstyle.export.onnx_graph import IO


def file_digest(path: Path, chars: int = 16) -> str:
    """The content of a style file or model, as `chars` hex digits of its SHA-256: a retrained or replaced file of
    the same name is another style (16 in cached models' names; 32 in an interrupted video run's record)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:chars]


def make_cache_dir(folder: Path) -> None:
    """Make the cache folder before a model is built in it. One that cannot be written is said to be the cache: the
    user's output folder was blamed ("cannot create output directory ~/.cache/rtstyle/onnx")."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        writable, reason = os.access(folder, os.W_OK), "not writable"
    except OSError as exc:
        writable, reason = False, exc.strerror or str(exc)
    if not writable:
        raise RtstyleError(f"cannot keep the styles' ONNX models in rtstyle's cache {folder}: {reason} "
                           f"(set {CACHE_DIR_ENV} to a folder that can be written)")


def onnx_for_style(style_path: Path, *, io: IO = "frame", fp16: bool = False,
                   decompose_instance_norm: bool = False) -> Path:
    """Path of the cached ONNX model for a style file, building it on first use.

    `decompose_instance_norm` is for the TensorRT provider (see rtstyle.export.onnx_graph).
    """
    style_path = Path(style_path)
    variant = f"{io}-{'fp16' if fp16 else 'fp32'}{'-decomposed' if decompose_instance_norm else ''}"
    target = cache_dir() / "onnx" / f"{_cache_stem(style_path)}-{file_digest(style_path)}-g{GRAPH_VERSION}-{variant}.onnx"
    if not target.is_file():
        make_cache_dir(target.parent)
        model = style_onnx(load_style_file(style_path), io=io, fp16=fp16, decompose_instance_norm=decompose_instance_norm)
        atomic_write_bytes(target, model.SerializeToString())
    return target


def style_onnx(style: StyleFile, *, io: IO = "frame", fp16: bool = False, decompose_instance_norm: bool = False,
               fixed_hw: tuple[int, int] | None = None, border_margin: int = 0) -> onnx.ModelProto:
    """The ONNX model of a loaded style, with the metadata every model of a style carries (not cached).

    `border_margin` (for `rtstyle quantize`): the mirrored margin in the graph; the cached models have none,
    since rtstyle adds its own, as wide as each command wants (`Stylizer.border_margin`).
    """
    with deferred_stop():  # onnx's start-up must not be cut by Ctrl-C (see create_stylizer)
        from rtstyle.export.onnx_graph import build_onnx, style_model_metadata

    spec = create_spec(style.arch, **style.arch_kwargs)
    return build_onnx(spec, style.float32_weights(), io=io, fp16=fp16, decompose_instance_norm=decompose_instance_norm,
                      fixed_hw=fixed_hw, border_margin=border_margin,
                      metadata=style_model_metadata(style.name, style.arch, style.arch_kwargs, style.metadata))


# --- int8 (fast area) ---------------------------------------------------------------------------------
def int8_onnx_for_style(style_path: Path) -> Path:
    """Path of the cached static-int8 "frame" model of a style (calibrated on the bundled photos)."""
    from rtstyle.export.quantize import RECIPE_VERSION, quantize_frame_model

    style_path = Path(style_path)
    target = cache_dir() / "onnx" / f"{_cache_stem(style_path)}-{file_digest(style_path)}-g{GRAPH_VERSION}-frame-int8r{RECIPE_VERSION}.onnx"
    if not target.is_file():
        make_cache_dir(target.parent)
        quantize_frame_model(onnx_for_style(style_path, io="frame"), target)
    return target


def cached_models(style_path: Path) -> list[Path]:
    """The models in the cache built from this style file (every graph version, precision and form)."""
    folder = cache_dir() / "onnx"
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{glob_escape(_cache_stem(style_path))}-{file_digest(style_path)}-g*.onnx"))


def _cache_stem(style_path: Path) -> str:
    """The style file's name as its cached models begin (the file's hash follows, and tells them apart): a name
    near 255 bytes made theirs too long for the file system, and the style could not be used."""
    return fitted(style_path.stem, 120)
