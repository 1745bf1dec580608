"""What `rtstyle video --preview` costs a conversion: the same conversion with and without the window, alternating
(`--rounds`), so a busy machine slows both alike. Needs a display (`xvfb-run python bench/video_preview.py` on a
machine without one). Columns: the conversion's wall time (median over the rounds), frames a second, and the
ratio to no preview in the same round.

    xvfb-run -a python bench/video_preview.py                       # candy-fast on cutBunny.mp4, 3 rounds
    xvfb-run -a python bench/video_preview.py --style candy --max-size 320
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rtstyle.realtime.display import Window, check_display_available  # noqa: E402  (OpenCV before PyAV, see it)
from rtstyle.engine import create_stylizer  # noqa: E402
from rtstyle.engine.bench import machine_info  # noqa: E402
from rtstyle.realtime.convert import ConvertOptions, convert_video  # noqa: E402
from rtstyle.realtime.preview import ConversionPreview  # noqa: E402
from rtstyle.realtime.processing import FrameProcessor  # noqa: E402

BUNNY = REPO / "rtstyle" / "assets" / "cutBunny.mp4"


def convert_once(stylizer, max_size: int | None, shown: ConversionPreview | None) -> tuple[float, int]:  # noqa: ANN001
    with tempfile.TemporaryDirectory() as folder:
        if shown is not None:
            shown.start("bench.mp4", None)
        started = time.perf_counter()
        result = convert_video(ConvertOptions(source=BUNNY, target=Path(folder) / "bench.mp4", max_size=max_size),
                               FrameProcessor(stylizer), progress=False, preview=shown)
        return time.perf_counter() - started, result.frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="candy-fast")
    parser.add_argument("--max-size", type=int)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    check_display_available("run it under xvfb-run")
    for key, value in machine_info().items():
        print(f"{key}: {value}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    stylizer = create_stylizer(args.style, backend="onnx", device="cpu")
    times: dict[bool, list[float]] = {False: [], True: []}
    frames = 0
    # One window for every round, opened before any conversion, as `rtstyle video` opens it (once, before a batch).
    shown = ConversionPreview(Window("rtstyle video preview bench"))
    try:
        for round_ in range(args.rounds):
            for preview in (False, True):
                seconds, frames = convert_once(stylizer, args.max_size, shown if preview else None)
                times[preview].append(seconds)
                print(f"round {round_ + 1} preview={preview}: {seconds:.2f} s", file=sys.stderr)
    finally:
        shown.close()
    print(f"\n{args.style} ({stylizer.description}), {frames} frames of {BUNNY.name}"
          f"{f' at --max-size {args.max_size}' if args.max_size else ''}, {args.rounds} rounds; load average at end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| conversion | wall s (median) | fps | vs no preview (same round) |")
    print("|---|---:|---:|---:|")
    for preview, label in ((False, "without --preview"), (True, "with --preview")):
        median = statistics.median(times[preview])
        ratios = [t / base for t, base in zip(times[preview], times[False])]
        print(f"| {label} | {median:.2f} | {frames / median:.1f} | {statistics.median(ratios):.2f}x |")


if __name__ == "__main__":
    main()
