"""Choose and build a backend for a style."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from rtstyle.engine.base import Stylizer
from rtstyle.errors import RtstyleError
from rtstyle.interrupts import deferred_stop
from rtstyle.styles.catalog import StyleEntry, find_style

BACKENDS = ("auto", "onnx", "torch")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "fp16", "int8")  # int8: static QDQ, onnx backend only (rtstyle.export.quantize)


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def nvidia_gpu_present() -> bool:
    """A cheap hint (no torch import) that an NVIDIA driver is installed."""
    return os.path.exists("/proc/driver/nvidia/version") or shutil.which("nvidia-smi") is not None


def create_stylizer(style: str, backend: str = "auto", device: str = "auto", precision: str = "fp32", *,
                    available_providers: Sequence[str] | None = None,
                    frame_hw: tuple[int, int] | None = None, compile: bool = True,
                    cpu_threads: int | None = None) -> Stylizer:
    """A ready Stylizer for a style name, a style file or an exported `.onnx` model.

    `auto` prefers onnxruntime: it needs no torch and is the faster CPU path. On a machine whose
    onnxruntime has no GPU provider but whose PyTorch sees a CUDA GPU, `auto` takes torch on the GPU.
    `available_providers` replaces onnxruntime's list (tests); `frame_hw` is the expected frame size
    (TensorRT tunes its engine for it); `compile=False` keeps the torch backend eager; `cpu_threads`
    sets onnxruntime's intra-op threads, or torch's (process-wide), instead of their defaults.
    """
    if backend not in BACKENDS:
        raise RtstyleError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if device not in DEVICES:
        raise RtstyleError(f"unknown device {device!r} (choose from {', '.join(DEVICES)})")
    if precision not in PRECISIONS:
        raise RtstyleError(f"unknown precision {precision!r} (choose from {', '.join(PRECISIONS)})")
    onnx_model = style.lower().endswith(".onnx")  # onnx_backend.is_onnx_path, before onnxruntime is imported
    _load_native_libraries(onnx_too=onnx_model or precision == "int8", torch_too=backend == "torch")

    if onnx_model:
        if backend == "torch":
            raise RtstyleError(f"{style} is an ONNX model: run it with --backend onnx (or auto)")
        return _onnx_model_stylizer(Path(style), device, precision, available_providers, frame_hw, cpu_threads)

    entry = find_style(style)
    if backend == "auto":
        backend = _auto_backend(device, precision, available_providers)
    if backend == "torch":
        if cpu_threads and torch_available():
            import torch

            torch.set_num_threads(cpu_threads)
        if precision == "int8":
            raise RtstyleError("--precision int8 needs the onnx backend (--backend onnx or auto)")
        return _torch_stylizer(entry, device, precision, compile)

    from rtstyle.engine.memory import MemoryGuard
    from rtstyle.engine.onnx_backend import CpuSessionConfig, OnnxStylizer
    from rtstyle.engine.onnx_cache import onnx_for_style
    from rtstyle.engine.providers import plan_providers
    from rtstyle.models.registry import create_spec

    loaded = entry.load()  # validate the style file before building anything from it
    plan = plan_providers(device, precision, available_providers, frame_hw=frame_hw)
    model = onnx_for_style(entry.path, io="frame", fp16=precision == "fp16",
                           decompose_instance_norm=plan.decompose_instance_norm)
    if precision == "int8":  # quantised from the fp32 graph, calibrated on the bundled photos
        from rtstyle.engine.onnx_cache import int8_onnx_for_style

        model = int8_onnx_for_style(entry.path)
    guard = MemoryGuard(create_spec(loaded.arch, **loaded.arch_kwargs))
    return OnnxStylizer(model, plan, style_name=entry.name, requested_device=device,
                        cpu_config=CpuSessionConfig(intra_op_threads=cpu_threads or 0), memory_guard=guard,
                        precision=precision)


def build_model_files(style: str, precision: str = "fp32") -> None:
    """Build, once, the model files `create_stylizer` runs a style from on onnxruntime's CPU provider (its ONNX
    graph; with int8, its calibrated model), without making a session: the webcam does this work ahead, at a lower
    priority, for the styles it prepares (rtstyle.realtime.prepare). Nothing to build for an exported `.onnx`."""
    if style.lower().endswith(".onnx"):
        return
    _load_native_libraries(onnx_too=precision == "int8", torch_too=False)
    from rtstyle.engine.onnx_cache import int8_onnx_for_style, onnx_for_style

    entry = find_style(style)
    entry.load()  # validate the style file before building anything from it
    onnx_for_style(entry.path, io="frame", fp16=precision == "fp16")  # the CPU's graph: no TensorRT decomposition
    if precision == "int8":
        int8_onnx_for_style(entry.path)


def _auto_backend(device: str, precision: str, available_providers: Sequence[str] | None) -> str:
    from rtstyle.engine.providers import GPU_PROVIDERS, available_providers as ort_providers

    present = list(available_providers) if available_providers is not None else ort_providers()
    if precision == "int8" or device == "cpu" or any(p in present for p in GPU_PROVIDERS):
        return "onnx"
    if torch_available() and nvidia_gpu_present() and _torch_cuda():
        return "torch"
    return "onnx"  # CPU, or the clear "no CUDA provider" error for --device cuda


def _torch_stylizer(entry: StyleEntry, device: str, precision: str, compile: bool) -> Stylizer:
    if not torch_available():
        raise RtstyleError("the torch backend needs PyTorch: pip install 'rtstyle[train]', or use --backend onnx")
    from rtstyle.engine.torch_backend import TorchStylizer

    if device == "cuda" and not _torch_cuda():
        raise RtstyleError("--device cuda: PyTorch cannot use a CUDA GPU on this machine")
    torch_device = device if device != "auto" else ("cuda" if _torch_cuda() else "cpu")
    if torch_device == "cpu" and device == "auto" and precision == "fp16":
        precision = "fp32"  # auto landed on the CPU, where torch has no fast fp16
    return TorchStylizer(entry.load(), torch_device, precision, compile=compile)


def _load_native_libraries(onnx_too: bool, torch_too: bool) -> None:
    """Import onnxruntime (and onnx, torch) with Ctrl-C held until they are in: an interrupt inside an
    extension's own start-up aborted the process (a C++ exception, exit 134) or was lost. Only the imports: a
    long build after them (int8 calibration, a TensorRT engine) stays interruptible. onnx only where it is
    needed for sure (an .onnx model is read, int8 is quantised): a style's cached model runs without it, and its
    import took 1.3-2.3 s of every command's start on the 2-core VM (onnx_cache imports it to build a model)."""
    with deferred_stop():
        import onnxruntime  # noqa: F401

        if onnx_too:
            import onnx  # noqa: F401

        if torch_too and torch_available():
            import torch  # noqa: F401


def _onnx_model_stylizer(path: Path, device: str, precision: str, available_providers: Sequence[str] | None,
                         frame_hw: tuple[int, int] | None, cpu_threads: int | None) -> Stylizer:
    from rtstyle.engine.onnx_backend import CpuSessionConfig, OnnxStylizer, stored_precision
    from rtstyle.engine.providers import plan_providers

    if not path.is_file():
        raise RtstyleError(f"ONNX model not found: {path}")
    # A shipped model is run as it is: its precision is the one it was exported with. TensorRT's shape
    # profile is written for the "frame" input; a "tensor" model runs on CUDA (or the CPU) instead.
    plan = plan_providers(device, precision, available_providers, frame_hw=frame_hw,
                          use_tensorrt=_onnx_input_name(path) == "frame")
    stylizer = OnnxStylizer(path, plan, style_name=path.stem, requested_device=device,
                            cpu_config=CpuSessionConfig(intra_op_threads=cpu_threads or 0))
    exported = stored_precision(stylizer.session)
    if precision != "fp32" and precision != exported:  # fp32 is the default: only a choice the user made
        raise RtstyleError(f"{path} was exported as {exported}: an exported model runs as it is, --precision "
                           f"{precision} cannot change it (export or quantize the style again)")
    return stylizer


def _onnx_input_name(path: Path) -> str | None:
    """The model's first input name, or None when the file cannot be parsed (OnnxStylizer then says why)."""
    try:
        import onnx

        return onnx.load(str(path), load_external_data=False).graph.input[0].name
    except Exception:  # noqa: BLE001 - corrupt or foreign files are reported by the session loader
        return None


def _torch_cuda() -> bool:
    import torch

    return torch.cuda.is_available()
