"""The mixed precision a training run computes in.

On CUDA: bf16 autocast where the GPU supports it (no loss scaling needed), else fp16 with a GradScaler (the
trainer's). On a CPU: bf16 autocast when the CPU computes bf16 in hardware (x86 AVX512-BF16 or AMX-BF16, which
oneDNN uses for the convolutions): a step of the 256 px recipe took 0.57x float32's time on the 2-core Intel Xeon
VM (bench/train_step.py, docs/benchmarks.md); elsewhere a CPU would emulate bf16, slower than float32, so float32.
`--amp` / `--no-amp` override either way. The Gram matrices and losses stay in float32 (rtstyle.train.losses), as
on the GPU that trained the built-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

CPUINFO = Path("/proc/cpuinfo")
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})  # Linux's names for the x86 instructions


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bf16 in hardware. torch's own CPU detection (torch.cpu, in recent releases) answers
    on every OS; without it, the flags Linux lists (`cpuinfo`: that file's text, for tests), and elsewhere no: float32
    is the safe choice where it cannot tell. ARM CPUs with bf16 (Graviton3, Apple M2) say no too: unmeasured."""
    if cpuinfo is None:
        by_torch = torch_says_native_bf16()
        if by_torch is not None:
            return by_torch
        try:
            cpuinfo = CPUINFO.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return not NATIVE_BF16_FLAGS.isdisjoint(value.split())
    return False


def torch_says_native_bf16() -> bool | None:
    """AVX512-BF16 or AMX (every CPU with AMX tiles has AMX-BF16) by torch's detection; None where torch has none.
    These are private functions of torch.cpu, hence the care."""
    checks: list[Callable[[], bool]] = []
    for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(torch.cpu, name, None)
        if not callable(check):
            return None
        checks.append(check)
    try:
        return any(bool(check()) for check in checks)
    except Exception:  # noqa: BLE001 - a private API that changed: fall back to the flags
        return None


def amp_dtype(device: torch.device, requested: bool | None = None,
              native_cpu_bf16: bool | None = None) -> torch.dtype | None:
    """The autocast dtype, or None for float32. `requested`: None for the device's default (above), True or False
    for --amp or --no-amp; `native_cpu_bf16`: the CPU's answer, for tests (None: asked of this CPU)."""
    if requested is False:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if requested:
        return torch.bfloat16
    return torch.bfloat16 if (cpu_has_native_bf16() if native_cpu_bf16 is None else native_cpu_bf16) else None


def describe(dtype: torch.dtype | None) -> str:
    """For the run's start line and the style's metadata."""
    return "float32" if dtype is None else f"{str(dtype).replace('torch.', '')} autocast"
