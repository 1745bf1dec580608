"""Cost of the run-time stabiliser against the frame time of the style network, at 640x480 on this machine.

    python bench/stabilize.py [--frames 12] [--style PATH] [--size 320x240]

Runs a style network (johnson with random weights unless --style is given: the cost does not depend on the
weights) and the stabiliser in several configurations on the same frames, and prints one table with
milliseconds per frame and the stabiliser's cost as a share of the network's frame time (target: at most 15%).
Frames: rtstyle/assets/cutBunny.mp4 resized to 640x480 or --size (a real clip, so the flow has real work to do).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rtstyle.engine import create_stylizer  # noqa: E402
from rtstyle.metrics.clips import iter_clip  # noqa: E402
from rtstyle.realtime.stabilize import Stabilizer  # noqa: E402

CONFIGS: dict[str, dict[str, object]] = {
    "default (DIS medium @480)": {},
    "DIS ultrafast @320": {"flow_preset": "ultrafast", "flow_size": 320},
    "DIS fast @320": {"flow_preset": "fast", "flow_size": 320},
    "DIS medium @320": {"flow_size": 320},
    "DIS medium @640 (full size)": {"flow_size": 640},
    "light: one DIS ultrafast flow @192": {"flow_preset": "ultrafast", "flow_size": 192, "check": "single-flow"},
    "one DIS ultrafast flow @256": {"flow_preset": "ultrafast", "flow_size": 256, "check": "single-flow"},
}


def random_johnson_style(path: Path) -> Path:
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import random_style_weights

    from rtstyle.styles.format import StyleFile, save_style_file

    save_style_file(path, StyleFile("johnson", {}, random_style_weights(), {"name": "random-johnson"}))
    return path


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--style", help="style file or installed style (default: random-weight johnson)")
    parser.add_argument("--size", default="640x480", help="frame size, WxH")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.lower().split("x"))

    frames = [cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA)
              for f in iter_clip(REPO / "rtstyle" / "assets" / "cutBunny.mp4", max_frames=args.frames)]
    with tempfile.TemporaryDirectory() as tmp:
        style = args.style or str(random_johnson_style(Path(tmp) / "random-johnson.safetensors"))
        stylizer = create_stylizer(style, backend="onnx")
    stylizer(frames[0])  # warm-up
    stabilizers = {name: Stabilizer(0.5, **kwargs) for name, kwargs in CONFIGS.items()}  # type: ignore[arg-type]
    network: list[float] = []
    times: dict[str, list[float]] = {name: [] for name in CONFIGS}
    # Frame by frame, the network and then every stabiliser on its output, so a busy machine slows all rows alike.
    for index, frame in enumerate(frames):
        start = time.perf_counter()
        output = stylizer(frame)
        network.append(time.perf_counter() - start)
        for name, stabilizer in stabilizers.items():
            start = time.perf_counter()
            stabilizer(frame, output)
            if index:  # the first frame only starts the history
                times[name].append(time.perf_counter() - start)

    frame_ms = median_ms(network)
    network_name = Path(args.style).stem if args.style else "random johnson"
    rows = [(f"{network_name} network (onnxruntime CPU)", frame_ms, 100.0)]
    rows += [(f"stabiliser, {name}", median_ms(samples), 100 * median_ms(samples) / frame_ms)
             for name, samples in times.items()]

    print(f"# stabiliser cost at {width}x{height}, {len(frames)} frames of cutBunny, median ms/frame")
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, cv2 {cv2.__version__}, "
          f"numpy {np.__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{'what':<44} {'ms/frame':>9} {'% of frame':>11}")
    for name, ms, share in rows:
        print(f"{name:<44} {ms:>9.1f} {share:>10.1f}%")


if __name__ == "__main__":
    main()
