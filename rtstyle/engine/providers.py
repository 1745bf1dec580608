"""Which onnxruntime execution providers to ask for, and with which options.

Pure logic over the list of available providers (injectable, so every branch is tested on a CPU-only
machine). `--device auto` takes the best one present: TensorRT > CUDA > CPU. `--device cuda` never falls
back to the CPU silently: no GPU provider is a clear error, and so is a GPU provider that is listed but
cannot be loaded (onnxruntime-gpu without matching CUDA/cuDNN libraries: onnxruntime then logs an error
and runs on the CPU, onnxruntime#23372, #17801), which `check_active_provider` catches after the session
is created.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rtstyle.engine.tiling import BORDER_MARGIN
from rtstyle.errors import RtstyleError
from rtstyle.paths import cache_dir

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
GPU_PROVIDERS = (TENSORRT, CUDA)

# onnxruntime and onnxruntime-gpu install one and the same `onnxruntime` module, and rtstyle depends on the plain one:
# `pip install "rtstyle[gpu]"` alone leaves both, the module holding whichever was installed last (the CPU build, as
# pip orders them), and removing the plain one afterwards removes the shared files too. These sequences end with the
# one build wanted, from any of those states (checked with pip 26, onnxruntime 1.32 and onnxruntime-gpu 1.31).
GPU_ENGINE_INSTALL = ('pip install "rtstyle[gpu]" && pip uninstall -y onnxruntime && '
                      'pip install --force-reinstall --no-deps onnxruntime-gpu')
CPU_ENGINE_INSTALL = "pip uninstall -y onnxruntime-gpu && pip install --force-reinstall --no-deps onnxruntime"

# TensorRT optimisation profile for the "frame" input (NHWC): one engine covers every frame from
# 16x16 to 4K UHD; `opt` is the size it is tuned for (1080p unless the caller knows the frame size).
TRT_MIN_HW = (16, 16)
TRT_MAX_HW = (2160, 3840)
TRT_OPT_HW = (1080, 1920)

ProviderList = list[tuple[str, dict[str, str]]]


@dataclass(frozen=True)
class ProviderPlan:
    """The providers to pass to onnxruntime (first is preferred) and what the graph must look like."""

    providers: ProviderList
    device: str  # "cpu" or "cuda"
    decompose_instance_norm: bool = False  # TensorRT clamps the op's epsilon (NVIDIA/TensorRT#260)
    notes: list[str] = field(default_factory=list)

    @property
    def primary(self) -> str:
        return self.providers[0][0]


def available_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def trt_cache_dir() -> Path:
    return cache_dir() / "trt"


def tensorrt_options(precision: str, input_name: str = "frame", frame_hw: tuple[int, int] | None = None,
                     batch: int = 1) -> dict[str, str]:
    """TensorRT provider options: fp16, a persistent engine and timing cache, and an explicit shape profile.

    Without an explicit profile, TensorRT rebuilds the engine (tens of seconds) for every new frame size.
    """
    # The network sees each frame with its mirrored border margin around it (up to BORDER_MARGIN px a side): a
    # profile of frame sizes was exceeded by every 4K UHD frame, and tuned for a size that never ran.
    margin = 2 * BORDER_MARGIN
    frame_h, frame_w = frame_hw or TRT_OPT_HW
    opt_h, opt_w = frame_h + margin, frame_w + margin
    max_h, max_w = max(TRT_MAX_HW[0] + margin, opt_h), max(TRT_MAX_HW[1] + margin, opt_w)
    cache = trt_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    return {
        "trt_fp16_enable": "True" if precision == "fp16" else "False",
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": str(cache),
        "trt_timing_cache_enable": "True",
        "trt_timing_cache_path": str(cache),
        "trt_profile_min_shapes": f"{input_name}:1x{TRT_MIN_HW[0]}x{TRT_MIN_HW[1]}x3",
        "trt_profile_opt_shapes": f"{input_name}:{batch}x{opt_h}x{opt_w}x3",
        "trt_profile_max_shapes": f"{input_name}:{batch}x{max_h}x{max_w}x3",
    }


def cuda_options() -> dict[str, str]:
    # HEURISTIC instead of EXHAUSTIVE: an image folder has a new size per image and an exhaustive
    # cuDNN search per size costs more than it saves there.
    return {"device_id": "0", "cudnn_conv_algo_search": "HEURISTIC", "do_copy_in_default_stream": "1"}


def plan_providers(device: str, precision: str = "fp32", available: Sequence[str] | None = None,
                   frame_hw: tuple[int, int] | None = None, use_tensorrt: bool = True) -> ProviderPlan:
    """Choose providers for `device` ("auto", "cpu" or "cuda") from the available ones."""
    present = list(available) if available is not None else available_providers()
    if device not in ("auto", "cpu", "cuda"):
        raise RtstyleError(f"unknown device {device!r} (choose from auto, cpu, cuda)")
    if device == "cpu":
        return ProviderPlan([(CPU, {})], "cpu")
    gpu: ProviderList = []
    if use_tensorrt and TENSORRT in present:
        gpu.append((TENSORRT, tensorrt_options(precision, frame_hw=frame_hw)))
    if CUDA in present:
        gpu.append((CUDA, cuda_options()))  # also runs the nodes TensorRT does not take
    if not gpu:
        if device == "cuda":
            raise RtstyleError(
                f"--device cuda: onnxruntime has no CUDA provider here (available: {', '.join(present) or 'none'}); "
                f"install onnxruntime-gpu in its place ({GPU_ENGINE_INSTALL}) or use --device cpu")
        return ProviderPlan([(CPU, {})], "cpu")
    # CPU stays last so that the rare op without a GPU kernel still runs; the session is checked afterwards.
    return ProviderPlan([*gpu, (CPU, {})], "cuda", decompose_instance_norm=gpu[0][0] == TENSORRT)


def check_active_provider(plan: ProviderPlan, active: Sequence[str], requested_device: str) -> None:
    """After the session is created: refuse a silent CPU fall-back when the user asked for CUDA."""
    if requested_device == "cuda" and not any(p in active for p in GPU_PROVIDERS):
        raise RtstyleError(
            f"--device cuda: onnxruntime lists {plan.primary} but could not load it (CUDA or cuDNN libraries "
            "missing or not matching onnxruntime-gpu); use --device cpu, or see "
            "https://onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html#requirements")
