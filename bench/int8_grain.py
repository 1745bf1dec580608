"""Benchmark: int8 quantisation recipes on trained styles: speed against fp32, error, and grain in flat areas.

    RTSTYLE_SHARED=/work/shared python bench/int8_grain.py
    python bench/int8_grain.py --styles mosaic-fast --photos a.jpg,b.jpg --size 640x480 --rounds 10

Each style's fp32 frame graph and every recipe's int8 graph run in ONE process, timed round-robin
(one frame each, in turn, bench/fast_arch.py round_robin), so load slows all of them alike.

Columns: median ms and speed-up over fp32 (on the first photo); mean and p99 of |int8 - fp32| (0..255, all
photos); "flat step": the grain measure. Flat pixel pairs are horizontal and vertical neighbours whose fp32
outputs differ by at most 1 level in every channel; the flat step is the mean |difference| between the
same neighbours in the recipe's output (mean over channels). fp32's own is <= 1 by construction; int8
grain raises it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from fast_arch import machine, parse_size, round_robin  # noqa: E402

from rtstyle.engine.onnx_backend import load_session  # noqa: E402
from rtstyle.engine.onnx_cache import onnx_for_style  # noqa: E402
from rtstyle.export.quantize import QuantSettings, bundled_calibration_frames, quantize_frame_model  # noqa: E402
from rtstyle.styles.catalog import find_style  # noqa: E402

EVAL = Path(os.environ.get("RTSTYLE_SHARED", "/work/shared")) / "data" / "content" / "eval"
PHOTOS = [EVAL / "pypi_samples" / "scikit_image" / "rocket.jpg", EVAL / "kodak24" / "kodim03.png",
          EVAL / "kodak24" / "kodim23.png"]
R1 = QuantSettings(float_first=1, float_last=1, calibration="MinMax")  # the recipe before 2026-12-06
RECIPES = {
    "int8 recipe 1 (MinMax, image convs float)": R1,
    "r1 + Percentile 99.999": replace(R1, calibration="Percentile", percentile=99.999),
    "r1 + Percentile 99.99": replace(R1, calibration="Percentile"),
    "r1 + Percentile 99.9": replace(R1, calibration="Percentile", percentile=99.9),
    "r1 + Entropy": replace(R1, calibration="Entropy"),
    "r1 + symmetric activations": replace(R1, activations_symmetric=True),
    "first 2 + last 2 float, MinMax": QuantSettings(float_first=2, float_last=2, calibration="MinMax"),
    "first 3 + last 2 float, MinMax": QuantSettings(float_first=3, float_last=2, calibration="MinMax"),
    "first 2 + last 2 float, Pctl 99.99": QuantSettings(float_first=2, float_last=2),
    "first 2 + last 3 float, Pctl 99.99": QuantSettings(float_first=2, float_last=3),
    "int8 recipe 2 (first 3 + last 2, Pctl 99.99)": QuantSettings(),
}


def flat_step(reference: np.ndarray, output: np.ndarray) -> float:
    """Mean |neighbour difference| of `output` where `reference` is flat (neighbours within 1 level)."""
    steps = []
    for axis in (0, 1):
        ref = np.abs(np.diff(reference.astype(np.int16), axis=axis))
        out = np.abs(np.diff(output.astype(np.int16), axis=axis))
        flat = ref.max(axis=-1) <= 1
        steps.append(out[flat].mean(axis=-1))
    return float(np.concatenate(steps).mean())


def style_table(style: str, photos: list[np.ndarray], rounds: int, recipes: dict[str, QuantSettings],
                tmp: Path) -> None:
    float_model = onnx_for_style(find_style(style).path, io="frame")
    frames = bundled_calibration_frames()
    sessions = {"fp32": load_session(float_model, ["CPUExecutionProvider"])}
    for index, (name, settings) in enumerate(recipes.items()):
        path = quantize_frame_model(float_model, tmp / f"{style}-{index}.onnx", frames, settings)
        sessions[name] = load_session(path, ["CPUExecutionProvider"])
    times = round_robin({k: (lambda s=s: s.run(None, {"frame": photos[0]})) for k, s in sessions.items()}, rounds, 1)
    references = [sessions["fp32"].run(None, {"frame": p})[0][0] for p in photos]
    base = np.median(times["fp32"])
    for name, session in sessions.items():
        outputs = [session.run(None, {"frame": p})[0][0] for p in photos]
        diffs = np.concatenate([np.abs(o.astype(int) - r.astype(int)).ravel() for o, r in zip(outputs, references)])
        step = np.mean([flat_step(r, o) for o, r in zip(outputs, references)])
        print(f"{style:<12} {name:<46} {np.median(times[name]):>9.1f} {base / np.median(times[name]):>7.2f}x "
              f"{diffs.mean():>9.2f} {np.percentile(diffs, 99):>5.0f} {step:>9.2f}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--styles", default="mosaic-fast:640x480,candy-fast:640x480,mosaic:320x240",
                        help="comma-separated NAME:WIDTHxHEIGHT")
    parser.add_argument("--photos", default=",".join(map(str, PHOTOS)))
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--recipes", default="", help="comma-separated recipe name prefixes (default: all)")
    args = parser.parse_args()
    wanted = [r for r in args.recipes.split(",") if r]
    recipes = {k: v for k, v in RECIPES.items() if not wanted or any(k.startswith(w) for w in wanted)}
    print(f"machine: {machine()}")
    print(f"photos: {args.photos}; {args.rounds} rounds round-robin (speed on the first photo)\n")
    print(f"{'style':<12} {'recipe':<46} {'median ms':>9} {'vs fp32':>8} {'err mean':>9} {'p99':>5} "
          f"{'flat step':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for item in args.styles.split(","):
            style, size = item.split(":")
            photos = [cv2.resize(cv2.imread(p, cv2.IMREAD_COLOR), parse_size(size), interpolation=cv2.INTER_AREA)[None]
                      for p in args.photos.split(",")]
            style_table(style, photos, args.rounds if style.endswith("-fast") else max(3, args.rounds // 3),
                        recipes, Path(tmp))


if __name__ == "__main__":
    main()
