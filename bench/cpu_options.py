"""Choose onnxruntime's CPU session options by measurement: threads, spinning, graph optimisation, execution mode.

Every variant runs the same model on the same frame, round-robin one frame at a time in a shuffled order (a shared
machine slows them all alike); the table gives the median and p95 ms and the ratio to the default
(`CpuSessionConfig()`). Usage (from the repository root):

    python bench/cpu_options.py --size 640x480 --frames 8
    python bench/cpu_options.py --style mosaic-fast --size 320x240 --frames 40   # an installed (trained) style
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from rtstyle.engine.bench import bench_frame, parse_sizes, random_style_file
from rtstyle.engine.onnx_backend import CpuSessionConfig, OnnxStylizer
from rtstyle.engine.onnx_cache import onnx_for_style
from rtstyle.styles.catalog import find_style

DEFAULT = CpuSessionConfig()
VARIANTS = {
    "rtstyle default (threads 0, no spinning, all, sequential)": DEFAULT,
    "spinning (onnxruntime's default)": replace(DEFAULT, spinning=True),
    "threads 1": replace(DEFAULT, intra_op_threads=1),
    "threads 1, spinning": replace(DEFAULT, intra_op_threads=1, spinning=True),
    "threads 2": replace(DEFAULT, intra_op_threads=2),
    "threads 2, spinning": replace(DEFAULT, intra_op_threads=2, spinning=True),
    "optimization basic": replace(DEFAULT, optimization="basic"),
    "optimization extended": replace(DEFAULT, optimization="extended"),
    "parallel execution": replace(DEFAULT, parallel=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--width", type=int, default=32, help="johnson width (32 is the paper's network)")
    parser.add_argument("--style", help="an installed style (e.g. mosaic-fast) instead of a random johnson")
    args = parser.parse_args()
    (width, height), = parse_sizes(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        if args.style:
            model = onnx_for_style(find_style(args.style).path)
            network = args.style
        else:
            model = onnx_for_style(random_style_file(Path(tmp), "johnson", {"width": args.width}))
            network = f"johnson width {args.width}"
        stylizers = {name: OnnxStylizer(model, ["CPUExecutionProvider"], cpu_config=cfg)
                     for name, cfg in VARIANTS.items()}
    frame = bench_frame(width, height)
    for stylizer in stylizers.values():
        stylizer(frame)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in stylizers}
    order = list(stylizers)
    shuffle = random.Random(0).shuffle
    for _ in range(args.frames):
        # A fresh order each round: a spinning session's workers keep spinning for a while after its run and
        # slow whichever variant runs next, which a fixed order would always pin on the same neighbour.
        shuffle(order)
        for name in order:
            stylizer = stylizers[name]
            start = time.perf_counter()
            stylizer(frame)
            times[name].append((time.perf_counter() - start) * 1000)
    base = float(np.median(times[next(iter(times))]))
    print(f"{network}, {width}x{height}, {args.frames} frames round-robin, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| variant | median ms | p95 ms | vs default |\n|---|---:|---:|---:|")
    for name, ms in times.items():
        median = float(np.median(ms))
        print(f"| {name} | {median:.1f} | {np.percentile(ms, 95):.1f} | {base / median:.2f}x |")


if __name__ == "__main__":
    main()
