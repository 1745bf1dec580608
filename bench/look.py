"""Cost of the look (`--strength`, `--keep-colors`, `--stroke-size`) against the frame time of a style network, on
this machine.

    python bench/look.py [--style mosaic-fast] [--precision int8] [--sizes 640x480,1280x720] [--frames 30]

For each size: the style network alone (the webcam's CPU path by default: mosaic-fast in int8), then each look on
the same frames, interleaved round by round so that machine noise hits every row alike. Prints one table with the
median milliseconds per frame and each look's cost as a share of the network's frame time. Strength and colours
are timed alone (they follow the network); a stroke size is the whole frame path (`FrameProcessor`: resize, the
network at the scaled size, resize back), so its share is its frame time against the network's at full size.
Frames: rtstyle/assets/cutBunny.mp4, resized.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rtstyle.engine import create_stylizer  # noqa: E402
from rtstyle.engine.bench import parse_sizes  # noqa: E402
from rtstyle.metrics.clips import iter_clip  # noqa: E402
from rtstyle.realtime.look import Look, apply_look  # noqa: E402
from rtstyle.realtime.processing import FrameProcessor  # noqa: E402

LOOKS = {"--strength 0.6": Look(0.6), "--keep-colors": Look(keep_colors=True),
         "--strength 0.6 --keep-colors": Look(0.6, True)}
STROKES = {"--stroke-size 2": Look(stroke_size=2.0), "--stroke-size 0.5": Look(stroke_size=0.5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--style", default="mosaic-fast")
    parser.add_argument("--precision", default="int8")
    parser.add_argument("--sizes", default="640x480,1280x720")
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()

    stylizer = create_stylizer(args.style, backend="onnx", device="cpu", precision=args.precision)
    source = list(iter_clip(REPO / "rtstyle" / "assets" / "cutBunny.mp4", max_frames=args.frames))
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{args.style} {args.precision} on {stylizer.description}, {len(source)} frames per row")
    print("| size | step | ms/frame | share of the network |")
    print("|---|---|---:|---:|")
    for width, height in parse_sizes(args.sizes):
        frames = [cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in source]
        stylizer(frames[0])  # warm-up
        processors = {name: FrameProcessor(stylizer, look=look) for name, look in STROKES.items()}
        for process in processors.values():
            process(frames[0])  # warm-up at its own size
        times: dict[str, list[float]] = {"network": [], **{name: [] for name in [*LOOKS, *STROKES]}}
        for frame in frames:
            start = time.perf_counter()
            stylized = stylizer(frame)
            times["network"].append(time.perf_counter() - start)
            for name, look in LOOKS.items():
                start = time.perf_counter()
                out = apply_look(frame, stylized, look)
                times[name].append(time.perf_counter() - start)
                assert out.shape == frame.shape and np.any(out != stylized)
            for name, process in processors.items():
                start = time.perf_counter()
                out = process(frame)
                times[name].append(time.perf_counter() - start)
                assert out.shape == frame.shape
        network = statistics.median(times["network"])
        for name, samples in times.items():
            ms = 1000 * statistics.median(samples)
            share = "" if name == "network" else f"{statistics.median(samples) / network:.1%}"
            print(f"| {width}x{height} | {name} | {ms:.2f} | {share} |")
    stylizer.close()


if __name__ == "__main__":
    main()
