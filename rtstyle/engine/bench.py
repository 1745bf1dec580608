"""Benchmark backends side by side: median and p95 ms per frame, fps, memory growth, speed-up over torch eager.

Every configuration of a frame size is timed in the same run, round-robin one frame at a time, so that
a machine shared with other work slows them all alike and the ratios stay meaningful. Warm-up frames
(session creation, cuDNN/TensorRT tuning, torch.compile) are excluded from the timings.

Memory growth ("mem growth MB"; peak_mem_mb in JSON): on the CPU, the growth of the process's peak resident set (Linux VmHWM, reset through
/proc/self/clear_refs) from just before the stylizer is created to the end of its warm-up; on CUDA, torch's
max allocated memory for torch, and the drop in free device memory for onnxruntime.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import platform
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from rtstyle.engine.base import MAX_FRAME_PIXELS, Stylizer
from rtstyle.errors import RtstyleError
from rtstyle.paths import package_assets_dir

DEFAULT_SIZES = "320x240,640x480,1280x720"


@dataclass(frozen=True)
class BenchConfig:
    backend: str  # "onnx" or "torch"
    device: str  # "cpu" or "cuda"
    precision: str
    compile: bool = True  # torch only: False is plain eager
    baseline: bool = False  # torch eager fp32 of the first style: the reference of the speed-up column
    style: str = ""  # what the factory loads; "" = the factory's own default

    @property
    def key(self) -> str:
        mode = "" if self.backend == "onnx" else (" compiled" if self.compile and self.device == "cuda" else " eager")
        return f"{self.style + ': ' if self.style else ''}{self.backend}{mode} {self.device} {self.precision}"


@dataclass
class BenchResult:
    backend: str
    engine: str  # the stylizer's own description: which provider or mode really ran
    device: str
    precision: str
    size: str
    width: int
    height: int
    frames: int
    median_ms: float
    p95_ms: float
    fps: float
    peak_mem_mb: float | None
    mem_kind: str
    speedup: float | None = None  # baseline median / this median, same device and size
    baseline: bool = False
    style: str = ""  # the style's label (name, architecture, cost) when several styles are compared


@dataclass
class BenchReport:
    machine: dict[str, str]
    results: list[BenchResult] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"machine": self.machine, "results": [asdict(r) for r in self.results]}, indent=2)


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """"320x240,640x480" -> [(320, 240), (640, 480)] as (width, height)."""
    sizes = []
    for item in text.replace(" ", "").split(","):
        if not item:
            continue
        parts = item.lower().split("x")
        if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise RtstyleError(f"bad frame size {item!r}: use WIDTHxHEIGHT, e.g. 640x480")
        width, height = int(parts[0]), int(parts[1])
        if width * height > MAX_FRAME_PIXELS:  # the test frame is made at this size: OpenCV's allocation traceback
            raise RtstyleError(f"frame size {item} is larger than rtstyle stylizes "
                               f"({MAX_FRAME_PIXELS // 1_000_000} Mpx at most)")
        sizes.append((width, height))
    if not sizes:
        raise RtstyleError("no frame sizes given")
    return sizes


def plan_configs(backends: Sequence[str], devices: Sequence[str], precisions: Sequence[str],
                 torch_installed: bool) -> list[BenchConfig]:
    """The configurations to time, with torch eager fp32 added per device as the baseline when torch is there."""
    configs: list[BenchConfig] = []
    for backend in backends:
        if backend not in ("onnx", "torch"):
            raise RtstyleError(f"unknown backend {backend!r} (choose from onnx, torch)")
        if backend == "torch" and not torch_installed:
            raise RtstyleError("--backends torch needs PyTorch: pip install 'rtstyle[train]'")
    for device in devices:
        if torch_installed:
            configs.append(BenchConfig("torch", device, "fp32", compile=False, baseline=True))
        for backend in backends:
            for precision in precisions:
                if backend == "onnx":
                    configs.append(BenchConfig("onnx", device, precision))
                elif device == "cuda" and precision != "int8":  # on the CPU torch is the eager fp32 baseline
                    configs.append(BenchConfig("torch", device, precision, compile=True))
    return configs


def plan_style_configs(styles: Sequence[str], backends: Sequence[str], devices: Sequence[str],
                       precisions: Sequence[str], torch_installed: bool,
                       exported: Mapping[str, str] | None = None) -> list[BenchConfig]:
    """`plan_configs` for each style in turn, all in one run: only the first style's torch eager fp32 is the
    baseline, so the speed-up column compares every style with it (johnson vs its fast variant, say).
    An exported .onnx model has no torch rows and one precision, the one `exported` says it has (default fp32)."""
    configs: list[BenchConfig] = []
    for style in styles:
        shipped = style.lower().endswith(".onnx")
        style_backends = [b for b in backends if not (shipped and b == "torch")]
        own = [(exported or {}).get(style, "fp32")] if shipped else precisions
        for config in plan_configs(style_backends, devices, own, torch_installed and not shipped):
            first = not any(c.baseline and c.device == config.device for c in configs)
            configs.append(replace(config, style=style, baseline=config.baseline and first))
    return configs


def resolve_devices(device: str, available_providers: Sequence[str] | None = None) -> list[str]:
    if device != "auto":
        return [device]
    from rtstyle.engine.factory import nvidia_gpu_present, torch_available
    from rtstyle.engine.providers import GPU_PROVIDERS, available_providers as ort_providers

    present = list(available_providers) if available_providers is not None else ort_providers()
    if any(p in present for p in GPU_PROVIDERS):
        return ["cuda"]
    if torch_available() and nvidia_gpu_present():
        import torch

        if torch.cuda.is_available():
            return ["cuda"]
    return ["cpu"]


def random_style_file(directory: Path, arch: str, arch_kwargs: dict[str, int | float], seed: int = 0) -> Path:
    """A style file with random weights of an architecture: benchmarks need no trained style."""
    from rtstyle.models.registry import create_spec
    from rtstyle.models.weights import expected_weight_shapes
    from rtstyle.styles.format import StyleFile, save_style_file

    spec = create_spec(arch, **arch_kwargs)
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in expected_weight_shapes(spec).items():
        if name.endswith("norm.weight"):
            weights[name] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        elif name.endswith("bias"):
            weights[name] = rng.normal(0, 0.1, shape).astype(np.float32)
        else:
            weights[name] = rng.normal(0, 1 / np.sqrt(np.prod(shape[1:])), shape).astype(np.float32)
    path = directory / f"random-{arch}.safetensors"
    save_style_file(path, StyleFile(arch, dict(spec.kwargs), weights, {"name": f"random {arch}"}))
    return path


def bench_frame(width: int, height: int) -> np.ndarray:
    import cv2

    photo = cv2.imread(str(package_assets_dir() / "astronaut.png"), cv2.IMREAD_COLOR)
    if photo is None:
        return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return np.ascontiguousarray(cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA))


# -- memory -------------------------------------------------------------------------------------------


def _proc_status_kb(field_name: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux >= 4.0)
        return True
    except OSError:
        return False


def release_freed_memory() -> None:
    """Hand freed heap back to the OS (glibc), so that the next configuration's RSS growth is its own."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@contextlib.contextmanager
def peak_memory(device: str, backend: str) -> Iterator[dict[str, float | None | str]]:
    """Yields a dict that holds {"mb": peak growth in MB or None, "kind": what was measured} afterwards."""
    out: dict[str, float | None | str] = {"mb": None, "kind": "n/a"}
    if device == "cuda":  # pragma: no cover - needs a GPU
        try:
            import torch
        except ImportError:  # onnxruntime-gpu without torch: no portable way to read device memory
            yield out
            return
        if not torch.cuda.is_available():  # the stylizer itself reports the missing GPU clearly
            yield out
            return
        torch.cuda.synchronize()
        if backend == "torch":
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
            yield out
            torch.cuda.synchronize()
            out.update(mb=(torch.cuda.max_memory_allocated() - before) / 2**20, kind="cuda max allocated")
        else:
            free_before = torch.cuda.mem_get_info()[0]
            yield out
            out.update(mb=(free_before - torch.cuda.mem_get_info()[0]) / 2**20, kind="cuda device used")
        return
    release_freed_memory()
    rss_before = _proc_status_kb("VmRSS")
    can_reset = _reset_peak_rss()
    yield out
    peak = _proc_status_kb("VmHWM")
    if rss_before is not None and peak is not None and can_reset:
        out.update(mb=max(peak - rss_before, 0) / 1024, kind="rss growth")


# -- running --------------------------------------------------------------------------------------------


StylizerFactory = Callable[[BenchConfig, tuple[int, int]], Stylizer]


def default_factory(style: str, cpu_threads: int | None = None) -> StylizerFactory:
    """Stylizers of `style`, or of the config's own style when it names one."""
    from rtstyle.engine.factory import create_stylizer

    def make(config: BenchConfig, hw: tuple[int, int]) -> Stylizer:
        return create_stylizer(config.style or style, backend=config.backend, device=config.device, precision=config.precision,
                               frame_hw=hw, compile=config.compile, cpu_threads=cpu_threads)

    return make


def run_bench(factory: StylizerFactory, sizes: Sequence[tuple[int, int]], configs: Sequence[BenchConfig],
              frames: int = 20, warmup: int = 3, progress: Callable[[int], None] | None = None) -> list[BenchResult]:
    if frames < 1 or warmup < 0:
        raise RtstyleError("--frames must be at least 1 and --warmup at least 0")
    results: list[BenchResult] = []
    if any(c.backend == "torch" for c in configs):
        import torch  # noqa: F401 - imported before the first memory window, so it is not counted there
    for width, height in sizes:
        frame = bench_frame(width, height)
        stylizers: list[tuple[BenchConfig, Stylizer, dict]] = []
        for config in configs:
            with peak_memory(config.device, config.backend) as memory:
                stylizer = factory(config, (height, width))
                for _ in range(warmup):
                    stylizer(frame)
                    if progress:
                        progress(1)
            stylizers.append((config, stylizer, memory))
        times: dict[BenchConfig, list[float]] = {c: [] for c in configs}
        for _ in range(frames):  # round-robin: background load hits every configuration alike
            for config, stylizer, _memory in stylizers:
                start = time.perf_counter()
                stylizer(frame)
                times[config].append(time.perf_counter() - start)
                if progress:
                    progress(1)
        size_results = []
        for config, stylizer, memory in stylizers:
            ms = np.array(times[config]) * 1000
            median = float(np.median(ms))
            size_results.append(BenchResult(
                backend=config.backend, engine=stylizer.description, device=config.device,
                precision=config.precision, size=f"{width}x{height}", width=width, height=height, frames=frames,
                median_ms=round(median, 3), p95_ms=round(float(np.percentile(ms, 95)), 3),
                fps=round(1000 / median, 2), peak_mem_mb=None if memory["mb"] is None else round(float(memory["mb"]), 1),
                mem_kind=str(memory["kind"]), baseline=config.baseline, style=config.style))
            stylizer.close()
        stylizers.clear()
        release_freed_memory()
        for result in size_results:
            base = next((r for r in size_results if r.baseline and r.device == result.device), None)
            if base is not None:
                result.speedup = round(base.median_ms / result.median_ms, 2)
        results.extend(size_results)
    return results


def machine_info() -> dict[str, str]:
    import os

    import onnxruntime

    info = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_cores": str(os.cpu_count()),
        "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
    }
    from rtstyle.engine.factory import torch_available

    if torch_available():
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = str(torch.get_num_threads())
        if torch.cuda.is_available():  # pragma: no cover - needs a GPU
            info["gpu"] = torch.cuda.get_device_name(0)
    return info


def cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def format_table(results: Sequence[BenchResult]) -> str:
    """A markdown table; a style column when the rows compare more than one style."""
    with_style = len({r.style for r in results}) > 1
    headers = ["size", *(["style"] if with_style else []), "backend", "engine", "median ms", "p95 ms", "fps",
               "mem growth MB", "vs torch eager"]  # not the process's peak: what creating and warming it added
    rows = []
    for r in results:
        rows.append([r.size, *([r.style] if with_style else []), r.backend, r.engine, f"{r.median_ms:.1f}",
                     f"{r.p95_ms:.1f}", f"{r.fps:.1f}" if r.fps >= 10 else f"{r.fps:.2f}",
                     "n/a" if r.peak_mem_mb is None else f"{r.peak_mem_mb:.0f}",
                     "baseline" if r.baseline else ("n/a" if r.speedup is None else f"{r.speedup:.2f}x")])
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]
    numeric = set(range(len(headers) - 5, len(headers)))

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if i in numeric else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if i in numeric else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


@contextlib.contextmanager
def style_for_bench(style: str | None, arch: str, arch_kwargs: dict[str, int | float]) -> Iterator[str]:
    """The style to benchmark: the given one, or random weights of `arch` in a temporary file."""
    if style is not None:
        yield style
        return
    with tempfile.TemporaryDirectory(prefix="rtstyle-bench-") as tmp:
        yield str(random_style_file(Path(tmp), arch, arch_kwargs))
