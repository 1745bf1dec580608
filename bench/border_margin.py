"""Cost of the mirrored border margin (`Stylizer.border_margin`) per frame, on this machine.

    python bench/border_margin.py [--style mosaic-fast] [--sizes 320x240,640x480,1280x720] [--frames 20]

For each size: the same stylizer with no margin, the webcam's (LIVE_BORDER_MARGIN) and the files' (BORDER_MARGIN),
interleaved frame by frame so that machine noise hits every row alike. Prints one table with the median
milliseconds per frame and each margin's time against none. Frames: rtstyle/assets/cutBunny.mp4, resized.
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rtstyle.engine import create_stylizer  # noqa: E402
from rtstyle.engine.bench import parse_sizes  # noqa: E402
from rtstyle.engine.tiling import BORDER_MARGIN, LIVE_BORDER_MARGIN  # noqa: E402
from rtstyle.metrics.clips import iter_clip  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--style", default="mosaic-fast")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--sizes", default="320x240,640x480,1280x720")
    parser.add_argument("--frames", type=int, default=20)
    args = parser.parse_args()

    stylizer = create_stylizer(args.style, backend="onnx", device="cpu", precision=args.precision)
    source = list(iter_clip(REPO / "rtstyle" / "assets" / "cutBunny.mp4", max_frames=args.frames))
    margins = {"none": 0, "webcam": LIVE_BORDER_MARGIN, "image, video": BORDER_MARGIN}
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{args.style} {args.precision} on {stylizer.description}, {len(source)} frames per row")
    print("| size | margin | ms/frame | vs none |")
    print("|---|---|---:|---:|")
    for width, height in parse_sizes(args.sizes):
        frames = [cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in source]
        times: dict[str, list[float]] = {name: [] for name in margins}
        for margin in margins.values():  # warm-up: each padded size once
            stylizer.border_margin = margin
            stylizer(frames[0])
        for frame in frames:
            for name, margin in margins.items():
                stylizer.border_margin = margin
                start = time.perf_counter()
                stylizer(frame)
                times[name].append(time.perf_counter() - start)
        none = statistics.median(times["none"])
        for name, margin in margins.items():
            median = statistics.median(times[name])
            print(f"| {width}x{height} | {name} ({margin} px) | {1000 * median:.1f} | {median / none:.2f}x |")
    stylizer.close()


if __name__ == "__main__":
    main()
