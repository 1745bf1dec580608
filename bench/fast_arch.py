"""Benchmark: johnson vs the fast architectures, fp32 vs int8, through the real Stylizer path on the CPU.

    python bench/fast_arch.py                      # the main table (320x240 and 640x480)
    python bench/fast_arch.py --settings           # onnxruntime CPU settings, one table
    python bench/fast_arch.py --int8 --sizes 640x480   # int8 quantisation recipes vs fp32
    python bench/fast_arch.py --sizes 320x240 --rounds 30

All configurations run in ONE process and are timed round-robin (one frame each, in turn), so a busy
machine slows all of them alike and the ratios stay meaningful even when absolute times drift.
Weights are random (tests/conftest.py random_style_weights): speed does not depend on them, but the
int8 error column does (trained styles will differ; see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conftest import random_style_weights  # noqa: E402

from rtstyle.models.registry import create_spec  # noqa: E402
from rtstyle.styles.format import StyleFile, save_style_file  # noqa: E402

ARCHS = ["johnson", "fast", "fast-tiny"]
PHOTO = REPO / "tests" / "data" / "grace_hopper.jpg"


def parse_size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


def round_robin(runs: dict[str, Callable[[], object]], rounds: int, warmup: int = 2) -> dict[str, np.ndarray]:
    """Milliseconds per call of each function, timed in turn so that they share the machine's state."""
    for fn in runs.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: np.array(t) for name, t in times.items()}


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    import onnxruntime

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {load:.1f} at start, "
            f"onnxruntime {onnxruntime.__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def make_styles(folder: Path) -> dict[str, Path]:
    paths = {}
    for arch in ARCHS:
        spec = create_spec(arch)
        paths[arch] = folder / f"bench-{arch}.safetensors"
        save_style_file(paths[arch], StyleFile(arch, dict(spec.kwargs), random_style_weights(arch), {"name": arch}))
    return paths


def main_table(sizes: list[tuple[int, int]], rounds: int) -> None:
    from rtstyle.engine import create_stylizer
    from rtstyle.realtime.processing import FrameProcessor

    photo = cv2.imread(str(PHOTO), cv2.IMREAD_COLOR)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RTSTYLE_CACHE_DIR"] = str(Path(tmp) / "cache")  # a cold, private cache
        styles = make_styles(Path(tmp))
        stylizers = {(arch, precision): create_stylizer(str(styles[arch]), backend="onnx", precision=precision)
                     for arch in ARCHS for precision in ("fp32", "int8")}
        for arch in ("johnson", "fast"):  # the explicit lower-internal-resolution option
            stylizers[(arch, "fp32@0.5")] = FrameProcessor(create_stylizer(str(styles[arch]), backend="onnx"),
                                                            inference_scale=0.5)
        print(f"machine: {machine()}")
        print(f"{rounds} rounds, round-robin; int8 error: |int8 - fp32| on {PHOTO.name} resized, 0..255; "
              f"fp32@0.5: network at half the frame size, upscaled (--inference-scale)\n")
        header = (f"{'size':<8} {'arch':<10} {'prec':<8} {'MAC/px':>8} {'params':>9} {'median ms':>9} {'p95 ms':>7} "
                  f"{'fps':>5} {'vs johnson fp32':>15} {'int8 err mean/p99/max':>22}")
        print(header)
        print("-" * len(header))
        for width, height in sizes:
            frame = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
            runs = {key: (lambda s=s: s(frame)) for key, s in stylizers.items()}
            times = round_robin(runs, rounds)
            base = np.median(times[("johnson", "fp32")])
            for arch, precision in stylizers:
                spec = create_spec(arch)
                t = times[(arch, precision)]
                err = ""
                if precision == "int8":
                    d = np.abs(stylizers[(arch, "int8")](frame).astype(int) - stylizers[(arch, "fp32")](frame).astype(int))
                    err = f"{d.mean():.1f}/{np.percentile(d, 99):.0f}/{d.max()}"
                median = np.median(t)
                print(f"{width}x{height:<4} {arch:<10} {precision:<8} {spec.macs_per_pixel() / 1000:>7.1f}k "
                      f"{spec.num_params():>9,} {median:>9.1f} {np.percentile(t, 95):>7.1f} {1000 / median:>5.1f} "
                      f"{base / median:>14.1f}x {err:>22}")
            print()


def settings_table(size: tuple[int, int], rounds: int) -> None:
    """onnxruntime SessionOptions compared on the same fp32 frame models (the Stylizer's graph)."""
    import onnxruntime as ort

    from rtstyle.engine.onnx_cache import onnx_for_style

    photo = cv2.resize(cv2.imread(str(PHOTO), cv2.IMREAD_COLOR), size, interpolation=cv2.INTER_AREA)[None]
    level = ort.GraphOptimizationLevel
    variants: dict[str, dict[str, object]] = {
        "ALL, 2 threads, spin (default)": {},
        "EXTENDED (no NCHWc)": {"level": level.ORT_ENABLE_EXTENDED},
        "BASIC": {"level": level.ORT_ENABLE_BASIC},
        "ALL, 1 thread": {"threads": 1},
        "ALL, 2 threads, no spinning": {"spin": "0"},
        "ALL, 1 thread, no spinning": {"threads": 1, "spin": "0"},
        "ALL, parallel execution mode": {"parallel": True},
    }

    def session(model: Path, level_: object = level.ORT_ENABLE_ALL, threads: int = 0, spin: str = "1",
                parallel: bool = False) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.graph_optimization_level = level_
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", spin)
        if parallel:
            options.execution_mode = ort.ExecutionMode.ORT_PARALLEL
        return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RTSTYLE_CACHE_DIR"] = str(Path(tmp) / "cache")
        styles = make_styles(Path(tmp))
        print(f"machine: {machine()}")
        print(f"onnxruntime settings at {size[0]}x{size[1]}, fp32 frame graph, {rounds} rounds round-robin\n")
        print(f"{'arch':<10} {'settings':<32} {'median ms':>9} {'p95 ms':>7} {'vs default':>10} {'CPU s/frame':>11}")
        for arch in ARCHS:
            model = onnx_for_style(styles[arch], io="frame")
            sessions = {}
            for name, v in variants.items():
                sessions[name] = session(model, v.get("level", level.ORT_ENABLE_ALL), int(v.get("threads", 0)),
                                         str(v.get("spin", "1")), bool(v.get("parallel", False)))
            cpu: dict[str, float] = {}

            def timed(name: str, s: ort.InferenceSession) -> Callable[[], object]:
                def call() -> object:
                    c0 = time.process_time()
                    out = s.run(None, {"frame": photo})
                    cpu[name] = cpu.get(name, 0.0) + time.process_time() - c0
                    return out
                return call

            n = rounds if arch != "johnson" else max(3, rounds // 3)
            times = round_robin({name: timed(name, s) for name, s in sessions.items()}, n, warmup=1)
            base = np.median(times["ALL, 2 threads, spin (default)"])
            for name, t in times.items():
                print(f"{arch:<10} {name:<32} {np.median(t):>9.1f} {np.percentile(t, 95):>7.1f} "
                      f"{base / np.median(t):>9.2f}x {cpu[name] / (n + 1):>11.3f}")
            print()


def int8_table(size: tuple[int, int], rounds: int) -> None:
    """int8 recipes (rtstyle.export.quantize.QuantSettings) against fp32: speed and error on a real photo."""
    import onnxruntime as ort

    from rtstyle.engine.onnx_backend import load_session
    from rtstyle.engine.onnx_cache import onnx_for_style
    from rtstyle.export.quantize import QuantSettings, bundled_calibration_frames, quantize_frame_model

    photo = cv2.resize(cv2.imread(str(PHOTO), cv2.IMREAD_COLOR), size, interpolation=cv2.INTER_AREA)[None]
    recipes = {
        "int8 (default recipe)": QuantSettings(),
        "int8, recipe 1 (image convs float, MinMax)": QuantSettings(float_first=1, float_last=1, calibration="MinMax"),
        "int8, all convs": QuantSettings(float_first=0, float_last=0),
        "int8, no reduce_range": QuantSettings(reduce_range=False),
        "int8, S8S8": QuantSettings(activations_uint8=False, reduce_range=False),
        "int8, per-tensor weights": QuantSettings(per_channel=False),
    }
    frames = bundled_calibration_frames()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RTSTYLE_CACHE_DIR"] = str(Path(tmp) / "cache")
        styles = make_styles(Path(tmp))
        print(f"machine: {machine()}")
        print(f"int8 recipes at {size[0]}x{size[1]}, frame graph via load_session, {rounds} rounds round-robin; "
              f"error |int8 - fp32| on {PHOTO.name}, 0..255\n")
        print(f"{'arch':<10} {'recipe':<36} {'median ms':>9} {'p95 ms':>7} {'vs fp32':>8} {'err mean/p99/max':>17}")
        for arch in ARCHS:
            float_model = onnx_for_style(styles[arch], io="frame")
            sessions: dict[str, ort.InferenceSession] = {"fp32": load_session(float_model, ["CPUExecutionProvider"])}
            for name, settings in recipes.items():
                path = quantize_frame_model(float_model, Path(tmp) / f"{arch}-{len(sessions)}.onnx", frames, settings)
                sessions[name] = load_session(path, ["CPUExecutionProvider"])
            n = rounds if arch != "johnson" else max(3, rounds // 3)
            times = round_robin({k: (lambda s=s: s.run(None, {"frame": photo})) for k, s in sessions.items()}, n, 1)
            reference = sessions["fp32"].run(None, {"frame": photo})[0].astype(int)
            base = np.median(times["fp32"])
            for name, t in times.items():
                d = np.abs(sessions[name].run(None, {"frame": photo})[0].astype(int) - reference)
                err = f"{d.mean():.1f}/{np.percentile(d, 99):.0f}/{d.max()}" if name != "fp32" else ""
                print(f"{arch:<10} {name:<36} {np.median(t):>9.1f} {np.percentile(t, 95):>7.1f} "
                      f"{base / np.median(t):>7.2f}x {err:>17}")
            print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="320x240,640x480", help="comma-separated WIDTHxHEIGHT")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--settings", action="store_true", help="compare onnxruntime CPU settings instead")
    parser.add_argument("--int8", action="store_true", help="compare int8 quantisation recipes instead")
    args = parser.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    if args.settings or args.int8:
        for size in sizes:
            (settings_table if args.settings else int8_table)(size, args.rounds)
    else:
        main_table(sizes, args.rounds)


if __name__ == "__main__":
    main()
