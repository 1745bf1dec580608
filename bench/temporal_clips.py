"""Temporal stability of a style on the real clips: the numbers behind docs/temporal.md.

    RTSTYLE_SHARED=../shared python bench/temporal_clips.py [--style S [--style S2 ...]] [--bunny-frames 48]
        [--flows dis]

For each clip (Sintel frames at full size, the first seconds of cutBunny) the style runs once per frame, then
one table per optical-flow method (DIS, the default of `rtstyle eval`, and Farneback, an independent flow the
stabiliser never uses) scores side by side: the input floor, the per-frame output, the stabiliser at several
strengths, the light stabiliser (the webcam's with fast networks), and a blind blend (previous output mixed in
without flow or mask) that calibrates the ghosting
column: it is what smearing looks like to the measure.
Without --style the style is the built-in mosaic.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rtstyle.engine import create_stylizer  # noqa: E402
from rtstyle.flow import FlowEstimator  # noqa: E402
from rtstyle.metrics.clip_eval import ClipReport, evaluate_clip  # noqa: E402
from rtstyle.metrics.clips import iter_clip  # noqa: E402
from rtstyle.realtime.stabilize import Stabilizer  # noqa: E402

STRENGTHS = (0.3, 0.5, 0.8)
BLIND = 0.5


class BlindBlend:
    """previous output * s + current * (1 - s), no flow, no mask: the ghosting reference."""

    def __init__(self, strength: float) -> None:
        self.strength, self.previous = strength, None

    def __call__(self, content: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        if self.previous is not None:
            mixed = (1 - self.strength) * stylized.astype(np.float32) + self.strength * self.previous
            stylized = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
        self.previous = stylized
        return stylized


def table(name: str, frames: list[np.ndarray], outputs: list[list[np.ndarray]], labels: list[str], method: str) -> str:
    """One table: the first style's rows (floor, per-frame, stabilised, blind blend), then per-frame and
    stabilised 0.5 rows of each other style, all relative to the first style's per-frame output."""
    estimator = FlowEstimator(method, preset="medium")  # type: ignore[arg-type]
    start = time.perf_counter()

    def rows_of(index: int, strengths: tuple[float, ...], **kwargs: object) -> tuple[list[dict], ClipReport]:
        lookup = {id(f): o for f, o in zip(frames, outputs[index])}
        report = evaluate_clip(frames, lambda frame: lookup[id(frame)], strengths, estimator=estimator, **kwargs)
        return report.as_dict()["rows"], report

    rows, report = rows_of(0, STRENGTHS)
    blind_rows, _ = rows_of(0, (BLIND,), make_stabilizer=BlindBlend)
    light_rows, _ = rows_of(0, (0.5,), make_stabilizer=Stabilizer.light)
    rows = [*rows, dict(light_rows[-1], name=f"{light_rows[-1]['name']}, light (fast networks)"),
            dict(blind_rows[-1], name=f"blind blend {BLIND:g} (reference)")]
    baseline = rows[1]["warping_error"]  # rows[0] is the input floor, rows[1] the per-frame output
    for index, label in enumerate(labels[1:], start=1):
        extra, _ = rows_of(index, (0.5,))
        rows += [dict(row, name=f"{label}: {row['name']}", vs_per_frame=row["warping_error"] / baseline)
                 for row in extra[1:]]
    elapsed = time.perf_counter() - start
    h, w = frames[0].shape[:2]
    lines = [f"### {name}: {len(frames)} frames {w}x{h}, flow {report.flow}, "
             f"{report.mask_coverage:.0%} of pixels valid ({elapsed:.0f} s); style {labels[0]} unless named",
             "| output | warping error | x per-frame | ghosting |", "|---|---:|---:|---:|"]
    for row in rows:
        ghost = "-" if row["ghosting"] is None else f"{row['ghosting']:.3f}"
        lines.append(f"| {row['name']} | {row['warping_error']:.5f} | {row['vs_per_frame']:.2f} | {ghost} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", action="append", help="style name or file; repeat to compare styles "
                        "(e.g. a temporally trained one) against the first (default: mosaic)")
    parser.add_argument("--bunny-frames", type=int, default=48)
    parser.add_argument("--flows", default="dis,farneback", help="comma-separated flow methods to score with")
    args = parser.parse_args()
    shared = Path(os.environ.get("RTSTYLE_SHARED", REPO.parent / "shared"))
    clips = {
        "Sintel frames 0016-0025": (shared / "data" / "video" / "sintel_frames", None),
        f"cutBunny, first {args.bunny_frames} frames": (REPO / "rtstyle" / "assets" / "cutBunny.mp4", args.bunny_frames),
    }
    print(f"# {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    styles = args.style or ["mosaic"]
    stylizers = [create_stylizer(style, backend="onnx") for style in styles]
    labels = [Path(style).stem for style in styles]
    for name, (path, max_frames) in clips.items():
        if not path.exists():
            print(f"skipping {name}: {path} not found")
            continue
        frames = list(iter_clip(path, max_frames=max_frames))
        start = time.perf_counter()
        outputs = [[stylizer(frame) for frame in frames] for stylizer in stylizers]
        print(f"# {name}: {(time.perf_counter() - start) / len(frames) / len(stylizers):.2f} s/frame per style")
        for method in args.flows.split(","):
            print(table(name, frames, outputs, labels, method), "\n", flush=True)


if __name__ == "__main__":
    main()
