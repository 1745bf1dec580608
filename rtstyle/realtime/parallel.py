"""Frame-parallel inference for video files on the CPU: one frame per core, each run on one thread.

One onnxruntime run spread over the cores synchronises its threads at every operator; runs on different frames,
one thread each, never wait for one another, and used less CPU time a frame (docs/benchmarks.md, "Frame-parallel
conversion"). One session serves them all: onnxruntime allows concurrent runs of a session, and its weights and
graph are then held once.

Only where the frames are independent and fit: not with the stabiliser (each frame is blended with the previous
output), not on a GPU (one run already fills it), not with PyTorch (its own thread pool), and only when every
frame in flight fits in memory whole (`MemoryGuard.fits_at_once`); otherwise fewer frames with more threads each,
or one frame at a time with every core, as before. The default for the fast networks only (`rtstyle video`,
`--parallel-frames` for the full ones, `--one-frame-at-a-time` to turn it off): it wins clearly for them only. The webcam never does this: a frame would wait for the ones started
before it, which is latency.
"""

from __future__ import annotations

import os

import psutil

from rtstyle.engine.base import Stylizer
from rtstyle.engine.providers import CPU


def cpu_cores() -> int:
    """The cores onnxruntime's default session would use: one per physical core, of those this process may use."""
    cores = psutil.cpu_count(logical=False) or os.cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):  # a container or `taskset` limits it
        cores = min(cores, len(os.sched_getaffinity(0)))
    return max(1, cores)


def planned_workers(backend: str, stabilize: float | None, on_gpu: bool, cores: int | None = None) -> int:
    """Frames to stylize at once, as planned before the model loads (its session threads depend on it): one per
    core for onnxruntime on the CPU without the stabiliser, else 1. `frames_at_once` has the last word."""
    if stabilize is not None or on_gpu or backend == "torch":
        return 1
    return cores if cores is not None else cpu_cores()


def frames_at_once(stylizer: Stylizer, wanted: int, height: int, width: int) -> int:
    """How many of `wanted` frames of height x width to stylize at once with the loaded stylizer: all of them
    where it runs on the CPU's onnxruntime and they fit in memory whole at the same time; else the most that fit
    and divide `wanted` (each then gets wanted / that many session threads, so every core still works); else 1
    (tiles and tight memory: one frame at a time, with every core)."""
    from rtstyle.engine.onnx_backend import OnnxStylizer

    if wanted <= 1 or not isinstance(stylizer, OnnxStylizer):
        return 1
    if stylizer.provider != CPU or stylizer.buffers is not None:  # a binding's buffers are one frame's
        return 1
    guard = stylizer.memory_guard
    if guard is None:  # an exported .onnx file: no estimate of its memory (nor a check for one frame)
        return wanted
    for count in range(wanted, 1, -1):
        if wanted % count == 0 and guard.fits_at_once(height, width, stylizer.border_margin, count):
            return count
    return 1
