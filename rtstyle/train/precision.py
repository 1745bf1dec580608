"""The mixed precision a training run computes in.

On CUDA: bf16 autocast where the GPU supports it (no loss scaling needed), else fp16 with a GradScaler (the
trainer's); `--no-amp` trains in float32. On a CPU: float32, unless `--amp` asks for bf16 autocast (oneDNN runs the
convolutions in bf16; on the 2-core AMD EPYC VM, which has AVX512-BF16, a step of the 256 px recipe measured no
quicker than float32: bench/train_step.py, docs/benchmarks.md). The Gram matrices and losses stay in float32 either
way (rtstyle.train.losses), as on the GPU that trained the built-ins.
"""

from __future__ import annotations

import torch


def amp_dtype(device: torch.device, requested: bool | None = None) -> torch.dtype | None:
    """The autocast dtype, or None for float32. `requested`: None for the device's default (above), True or
    False for --amp or --no-amp."""
    if requested is False:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if requested else None


def describe(dtype: torch.dtype | None) -> str:
    """For the run's start line and the style's metadata."""
    return "float32" if dtype is None else f"{str(dtype).replace('torch.', '')} autocast"
