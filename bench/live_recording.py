"""What recording costs the live loop: `rtstyle webcam` headless on a camera-like source, without a recording, with
`--record`, and with `--record` plus a clip of the r key running (the two are the same H.264 writer on the main
thread, so a clip during `--record` is a second encode per frame).

The source is cutBunny.mp4 decoded into memory first (640x360, looped for ever at its 24 fps, like a camera: frames
the model has no time for are dropped); the style runs on onnxruntime as the webcam runs it on a CPU. The modes
alternate, `--rounds` times, so a busy machine slows each alike. Columns: frames a second shown, capture-to-output
latency (median, p95), stale frames dropped, and each mode's fps against no recording in the same round.

    python bench/live_recording.py                         # candy-fast (int8), 3 rounds of 8 s
    python bench/live_recording.py --style candy --precision fp32 --seconds 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rtstyle.engine import create_stylizer  # noqa: E402
from rtstyle.engine.bench import machine_info  # noqa: E402
from rtstyle.engine.tiling import LIVE_BORDER_MARGIN  # noqa: E402
from rtstyle.realtime import webcam  # noqa: E402
from rtstyle.realtime.capture import LatestFrameCapture  # noqa: E402
from rtstyle.realtime.file_source import VideoFileSource  # noqa: E402
from rtstyle.realtime.recorder import Recorder  # noqa: E402
from rtstyle.realtime.stats import LatencySummary  # noqa: E402
from style_switch import LoopedClip  # noqa: E402  (bench/ is this script's folder)

BUNNY = REPO / "rtstyle" / "assets" / "cutBunny.mp4"
MODES = ("none", "--record", "--record + clip")


class ClipFromTheStart(webcam.LiveClips):
    """The r key pressed before the first frame: a headless session has no keys."""

    def __init__(self, directory: Path, fps: float | None, log) -> None:  # noqa: ANN001
        super().__init__(directory, fps, log)
        self.toggle("bench", 0.0)


def run_mode(mode: str, frames: list[np.ndarray], fps: float, stylize,  # noqa: ANN001
             seconds: float) -> LatencySummary:
    with tempfile.TemporaryDirectory() as folder:
        capture = LatestFrameCapture(LoopedClip(frames), live=False, pace_fps=fps)  # as a camera: paced, dropping
        recorder = Recorder(Path(folder) / "record.mp4", fps=fps) if mode != "none" else None
        options = webcam.LiveOptions(styles=["style"], display=False, max_seconds=seconds, snapshot_dir=Path(folder),
                                     clip_fps=fps)
        clips = ClipFromTheStart if mode == "--record + clip" else webcam.LiveClips
        with mock.patch.object(webcam, "LiveClips", clips):
            outcome = webcam.run_live(capture, lambda _: stylize, options, recorder=recorder)
        wanted = {"none": 0, "--record": 1, "--record + clip": 2}[mode]
        assert len([p for p in Path(folder).iterdir() if p.suffix == ".mp4"]) == wanted, mode  # they were written
        return outcome.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="candy-fast")
    parser.add_argument("--precision", default="int8")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for key, value in machine_info().items():
        print(f"{key}: {value}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    source = VideoFileSource(BUNNY, (640, 360))
    fps = source.fps or 24
    frames = []
    while (read := source.read())[0] and read[1] is not None:
        frames.append(read[1])
    source.release()
    stylizer = create_stylizer(args.style, backend="onnx", device="cpu", precision=args.precision)
    stylizer.border_margin = min(stylizer.border_margin, LIVE_BORDER_MARGIN)
    results: dict[str, list[LatencySummary]] = {mode: [] for mode in MODES}
    ratios: dict[str, list[float]] = {mode: [] for mode in MODES}
    for round_ in range(args.rounds):
        for mode in MODES:
            results[mode].append(run_mode(mode, frames, fps, stylizer, args.seconds))
            ratios[mode].append(results[mode][-1].fps / results["none"][-1].fps)
            print(f"round {round_ + 1} {mode}: {results[mode][-1].format()}", file=sys.stderr)
    print(f"\n{args.style} ({stylizer.description}), {len(frames)} frames of {BUNNY.name} at 640x360 looped at "
          f"{fps:g} fps, {args.rounds} rounds of {args.seconds:g} s per mode; load average at end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| recording | fps | median ms | p95 ms | dropped a round | fps vs none (same round) |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode in MODES:
        rows = results[mode]
        print(f"| {mode} | {statistics.median(r.fps for r in rows):.1f} | "
              f"{statistics.median(r.median_ms for r in rows):.1f} | {statistics.median(r.p95_ms for r in rows):.1f} | "
              f"{statistics.median(r.dropped for r in rows):.0f} | "
              f"{statistics.median(ratios[mode]):.2f}x |")


if __name__ == "__main__":
    main()
