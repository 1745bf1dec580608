"""Choose and build a backend for a style."""

from __future__ import annotations

import importlib.util

from rtstyle.engine.base import Stylizer
from rtstyle.errors import RtstyleError
from rtstyle.styles.catalog import find_style

BACKENDS = ("auto", "onnx", "torch")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "fp16", "int8")  # int8: static QDQ, onnx backend only (rtstyle.export.quantize)


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def create_stylizer(style: str, backend: str = "auto", device: str = "auto", precision: str = "fp32") -> Stylizer:
    """A ready Stylizer for a style name or path.

    `auto` prefers onnxruntime (it needs no torch and is the faster CPU path).
    """
    if backend not in BACKENDS:
        raise RtstyleError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if device not in DEVICES:
        raise RtstyleError(f"unknown device {device!r} (choose from {', '.join(DEVICES)})")
    if precision not in PRECISIONS:
        raise RtstyleError(f"unknown precision {precision!r} (choose from {', '.join(PRECISIONS)})")
    entry = find_style(style)
    if backend == "torch":
        if not torch_available():
            raise RtstyleError("the torch backend needs PyTorch: pip install 'rtstyle[train]', or use --backend onnx")
        from rtstyle.engine.torch_backend import TorchStylizer

        if device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise RtstyleError("--device cuda: PyTorch cannot use a CUDA GPU on this machine")
        torch_device = device if device != "auto" else ("cuda" if _torch_cuda() else "cpu")
        if precision == "int8":  # fast (int8)
            raise RtstyleError("--precision int8 needs the onnx backend (--backend onnx or auto)")
        return TorchStylizer(entry.load(), torch_device)

    from rtstyle.engine.onnx_backend import OnnxStylizer
    from rtstyle.engine.onnx_cache import onnx_for_style

    entry.load()  # validate the style file before building anything from it
    model = onnx_for_style(entry.path, io="frame", fp16=precision == "fp16")
    if precision == "int8":  # fast (int8): quantised from the fp32 graph, calibrated on the bundled photos
        from rtstyle.engine.onnx_cache import int8_onnx_for_style

        model = int8_onnx_for_style(entry.path)
    return OnnxStylizer(model, ["CPUExecutionProvider"], style_name=entry.name)


def _torch_cuda() -> bool:
    import torch

    return torch.cuda.is_available()
