"""The PyTorch backend: eager fp32 as the reference, and a fast path on CUDA.

On CUDA: channels_last (cuDNN's fast layout for convolutions), fp16 with instance norm kept in fp32
(the variance of large feature maps is lost in fp16: onnxruntime#10079, torch2trt#776), and once a frame
size repeats, `torch.compile(mode="reduce-overhead")`, which captures the whole uint8-to-uint8 pipeline
in a CUDA graph for that size. What runs is decided by `plan_torch` (pure, unit-tested on the CPU); the
GPU-only branches are kept short and guarded.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rtstyle.engine.base import Stylizer
from rtstyle.engine.memory import MemoryGuard
from rtstyle.errors import RtstyleError
from rtstyle.models.registry import create_spec
from rtstyle.models.torch_net import ConvLayer, StyleNet
from rtstyle.styles.format import StyleFile

Pipeline = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class TorchPlan:
    device: str  # "cpu" or "cuda"
    half: bool
    channels_last: bool
    compile_fixed_size: bool  # torch.compile + CUDA graphs once a frame size repeats

    def describe(self) -> str:
        mode = "compiled+cudagraphs" if self.compile_fixed_size else "eager"
        layout = " channels_last" if self.channels_last else ""
        return f"torch {mode} {self.device} {'fp16' if self.half else 'fp32'}{layout}"


def plan_torch(device: str, precision: str = "fp32", compile: bool = True) -> TorchPlan:
    """What the torch backend does on a device; `compile=False` gives plain eager (the benchmark baseline)."""
    if device == "cpu":
        if precision == "fp16":
            raise RtstyleError("--precision fp16 with the torch backend needs a CUDA GPU; on the CPU use fp32 "
                               "or --backend onnx")
        # channels_last and torch.compile were no faster than eager on the CPU here, and compile costs seconds.
        return TorchPlan("cpu", half=False, channels_last=False, compile_fixed_size=False)
    if device != "cuda":
        raise RtstyleError(f"unknown torch device {device!r}")
    return TorchPlan("cuda", half=precision == "fp16", channels_last=compile, compile_fixed_size=compile)


class Fp32InstanceNorm(nn.Module):
    """Runs a (float32) instance norm on a half-precision tensor and hands back half precision."""

    def __init__(self, norm: nn.Module) -> None:
        super().__init__()
        self.norm = norm.float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.float()).to(x.dtype)


def half_with_fp32_norms(net: StyleNet) -> StyleNet:
    net.half()
    for module in net.modules():
        if isinstance(module, ConvLayer) and module.norm is not None:
            module.norm = Fp32InstanceNorm(module.norm)
    return net


def style_to_module(style: StyleFile) -> StyleNet:
    net = StyleNet(create_spec(style.arch, **style.arch_kwargs))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in style.float32_weights().items()})
    return net.eval()


def frames_to_tensor(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 NHWC BGR -> float NCHW RGB 0..255 on the device (conversion done there)."""
    t = torch.from_numpy(np.ascontiguousarray(frames)).to(device, non_blocking=True)
    return t.flip(-1).permute(0, 3, 1, 2).float()


def tensor_to_frames(y: torch.Tensor) -> np.ndarray:
    """float NCHW RGB 0..255 -> uint8 NHWC BGR on the host (same rounding as the ONNX frame graph)."""
    return device_frames(y).cpu().numpy()


def device_frames(y: torch.Tensor) -> torch.Tensor:
    """float NCHW RGB 0..255 -> uint8 NHWC BGR, on the tensor's device."""
    return y.float().clamp(0, 255).round().to(torch.uint8).flip(1).permute(0, 2, 3, 1).contiguous()


def make_pipeline(net: StyleNet, plan: TorchPlan) -> Pipeline:
    """uint8 NHWC BGR frames on the device -> the same, stylized: pre-processing, network, post-processing."""
    dtype = torch.float16 if plan.half else torch.float32
    memory_format = torch.channels_last if plan.channels_last else torch.contiguous_format

    def pipeline(frames: torch.Tensor) -> torch.Tensor:
        x = frames.flip(-1).permute(0, 3, 1, 2).to(dtype).contiguous(memory_format=memory_format)
        return device_frames(net(x))

    return pipeline


class FixedSizeCompiler:
    """Eager until one input shape comes `repeat` times in a row, then a callable compiled for that shape.

    Compiling costs seconds, so an image folder (a new size per image) stays eager, while video and
    webcam frames (one size) get the compiled CUDA-graph version from their second frame on. A failed
    compilation (no Triton, an unsupported GPU) warns once and stays eager.
    """

    def __init__(self, eager: Pipeline, compile_fn: Callable[[Pipeline], Pipeline], repeat: int = 2) -> None:
        self.eager, self.compile_fn, self.repeat = eager, compile_fn, repeat
        self.compiled: Pipeline | None = None
        self.compiled_shape: tuple[int, ...] | None = None
        self.last_shape: tuple[int, ...] | None = None
        self.count = 0
        self.failed = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        shape = tuple(x.shape)
        if self.compiled is not None and shape == self.compiled_shape:
            return self.compiled(x)
        self.count = self.count + 1 if shape == self.last_shape else 1
        self.last_shape = shape
        if self.count >= self.repeat and not self.failed:
            try:
                compiled = self.compile_fn(self.eager)
                result = compiled(x)  # compilation happens on the first call
            except Exception as exc:  # noqa: BLE001 - any compiler failure means: stay eager
                self.failed = True
                warnings.warn(f"torch.compile failed, running eager: {str(exc).splitlines()[0][:200]}", stacklevel=2)
            else:
                self.compiled, self.compiled_shape = compiled, shape
                return result
        return self.eager(x)


def _compile_cuda_graphs(fn: Pipeline) -> Pipeline:  # pragma: no cover - needs a GPU
    return torch.compile(fn, mode="reduce-overhead", dynamic=False, fullgraph=True)


class TorchStylizer(Stylizer):
    def __init__(self, style: StyleFile, device: str = "cpu", precision: str = "fp32", compile: bool = True,
                 plan: TorchPlan | None = None) -> None:
        self.plan = plan or plan_torch(device, precision, compile)
        self.device = torch.device(self.plan.device)
        net = style_to_module(style)
        if self.plan.half:
            net = half_with_fp32_norms(net)
        if self.plan.channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.net = net.to(self.device)
        self.style_name = style.name
        if self.device.type == "cpu":  # the GPU reports its own out-of-memory errors
            self.memory_guard = MemoryGuard(create_spec(style.arch, **style.arch_kwargs))
        eager = make_pipeline(self.net, self.plan)
        if self.plan.compile_fixed_size:  # pragma: no cover - needs a GPU
            torch.backends.cudnn.benchmark = True  # fixed sizes: let cuDNN pick the fastest algorithm once
            self.pipeline: Pipeline = FixedSizeCompiler(eager, _compile_cuda_graphs)
        else:
            self.pipeline = eager
        self.description = self.plan.describe()

    @torch.inference_mode()
    def _run(self, frames: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device, non_blocking=True)
        return self.pipeline(x).cpu().numpy()

    def _stylize(self, frame: np.ndarray) -> np.ndarray:
        return self._run(frame[None])[0]

    def stylize_batch(self, frames: np.ndarray) -> np.ndarray:
        return self._stylize_batch_at_once(frames, self._run)
