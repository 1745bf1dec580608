"""Webcam style switches: the time from the key to the first frame of the new style, and the frame rate while the
next styles are prepared in the background (rtstyle.realtime.prepare), against switching as before (the style
loaded on the inference thread when the key is pressed).

The live loop as `rtstyle webcam` runs it, without a window: the capture thread reading a clip at its own frame
rate (cutBunny.mp4 looped, decoded into memory first, 640x360 at 24 fps, like a camera: frames the model has no
time for are dropped), the inference thread, and this script in the main loop's place taking the results. A key
press is what the main loop does for `n`: `InferenceWorker.request_style`. The two modes alternate
(`--rounds`), so a busy machine slows both alike.

  prepared  styles next to the current one prepared in the background (what `rtstyle webcam` does on a CPU)
  on key    no preparing: the new style is loaded when the key is pressed (as before)

Columns: the switch latency (key to the first frame of the new style reaching the main loop, median and worst
over all presses), how many presses found their style prepared, the frame rate over the session, and, for
`prepared`, the frame rate while a style was being prepared against while none was.
`--memory` also prints what one prepared stylizer costs (resident memory after its session was made and one
640x360 frame run through it).

    python bench/style_switch.py                                  # the fast networks, the model cache as it is
    python bench/style_switch.py --cold                           # an empty model cache: ONNX graphs built too
    python bench/style_switch.py --cold --precision int8          # ... and int8 calibrations
    python bench/style_switch.py --styles mosaic candy --gap 20 --presses 1   # the full networks (~1 fps)
    python bench/style_switch.py --memory
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rtstyle.engine import create_stylizer  # noqa: E402
from rtstyle.engine.bench import machine_info  # noqa: E402
from rtstyle.engine.factory import build_model_files  # noqa: E402
from rtstyle.engine.tiling import LIVE_BORDER_MARGIN  # noqa: E402
from rtstyle.paths import CACHE_DIR_ENV  # noqa: E402
from rtstyle.realtime.capture import LatestFrameCapture  # noqa: E402
from rtstyle.realtime.file_source import VideoFileSource  # noqa: E402
from rtstyle.realtime.inference import InferenceWorker  # noqa: E402

BUNNY = REPO / "rtstyle" / "assets" / "cutBunny.mp4"
FAST = ["mosaic-fast", "candy-fast", "udnie-fast", "rain-princess-fast", "starry-night-fast", "the-scream-fast"]


class LoopedClip:
    """A FrameSource replaying frames decoded beforehand, for ever (the capture thread paces it)."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = frames
        self.index = 0

    def read(self) -> tuple[bool, np.ndarray | None]:
        frame = self.frames[self.index % len(self.frames)]
        self.index += 1
        return True, frame

    def release(self) -> None:
        pass


@dataclass
class Session:
    latencies: list[float] = field(default_factory=list)
    prepared_presses: int = 0
    frames: int = 0
    seconds: float = 0.0
    busy_frames: int = 0
    busy_seconds: float = 0.0


PRECISION = "fp32"


def make_stylizer(name: str):  # as rtstyle webcam makes them
    stylizer = create_stylizer(name, precision=PRECISION)
    stylizer.border_margin = min(stylizer.border_margin, LIVE_BORDER_MARGIN)
    return stylizer


def run_session(frames: list[np.ndarray], fps: float, styles: list[str], prepared: bool, presses: int,
                gap: float, session: Session) -> None:
    capture = LatestFrameCapture(LoopedClip(frames), live=False, pace_fps=fps)
    worker = InferenceWorker(capture, styles, make_stylizer,
                             build_files=(lambda name: build_model_files(name, PRECISION)) if prepared else None)
    capture.start()
    worker.start()
    started = last = time.perf_counter()
    pressed_at: float | None = None
    wanted = 0
    busy_since: float | None = None
    try:
        while True:
            result = worker.results.get(timeout=0.005)
            now = time.perf_counter()
            busy = worker.preparer is not None and worker.preparer.busy is not None
            if busy and busy_since is None:
                busy_since = now
            elif not busy and busy_since is not None:
                session.busy_seconds += now - busy_since
                busy_since = None
            if worker.error is not None:
                raise worker.error
            if result is not None:
                session.frames += 1
                session.busy_frames += busy
                if pressed_at is not None and result.style_index == wanted:
                    session.latencies.append(now - pressed_at)
                    pressed_at = None
            if pressed_at is None and now - last >= gap:
                if presses == 0:
                    break
                presses -= 1
                wanted = (worker.current_index + 1) % len(styles)
                session.prepared_presses += worker.cache.get(wanted) is not None
                pressed_at = last = now
                worker.request_style(wanted)  # what the main loop does for `n`
        if busy_since is not None:
            session.busy_seconds += time.perf_counter() - busy_since
        session.seconds += time.perf_counter() - started
    finally:
        capture.stop()
        worker.stop()
        worker.wait()
        worker.cache.close_all()


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def memory_table(names: list[str]) -> None:
    frame = np.zeros((360, 640, 3), np.uint8)
    make_stylizer(names[0])(frame)  # onnxruntime's own start-up is not a stylizer's cost
    print("\n| style | resident memory of one prepared stylizer (640x360) |\n|---|---:|")
    for name in names:
        gc.collect()
        before = rss_mb()
        stylizer = make_stylizer(name)
        stylizer(frame)
        print(f"| {name} | {rss_mb() - before:.0f} MB |")
        stylizer.close()
        del stylizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--styles", nargs="+", default=FAST)
    parser.add_argument("--presses", type=int, default=4, help="n presses per session")
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between presses (time to prepare)")
    parser.add_argument("--rounds", type=int, default=2, help="sessions per mode, alternating")
    parser.add_argument("--cold", action="store_true", help="an empty model cache for each session")
    parser.add_argument("--precision", choices=["fp32", "int8"], default="fp32")
    parser.add_argument("--memory", action="store_true", help="only the memory table")
    parser.add_argument("--source", type=Path, default=BUNNY)
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds of the clip to loop")
    args = parser.parse_args()
    global PRECISION
    PRECISION = args.precision
    for key, value in machine_info().items():
        print(f"{key}: {value}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.memory:
        memory_table(args.styles)
        return
    source = VideoFileSource(args.source, (640, 360))
    fps = source.fps or 24
    frames = []
    while len(frames) < args.seconds * fps:
        ok, image = source.read()
        if not ok or image is None:
            break
        frames.append(image)
    source.release()
    modes = {"on key": Session(), "prepared": Session()}
    for round_ in range(args.rounds):
        for name, session in modes.items():
            done = len(session.latencies)
            with tempfile.TemporaryDirectory() as cache:
                if args.cold:
                    os.environ[CACHE_DIR_ENV] = cache
                run_session(frames, fps, args.styles, name == "prepared", args.presses, args.gap, session)
                os.environ.pop(CACHE_DIR_ENV, None)
            print(f"round {round_ + 1} {name}: {', '.join(f'{x * 1000:.0f}' for x in session.latencies[done:])} ms",
                  file=sys.stderr)
    print(f"\n{len(frames)} frames of {args.source.name} at 640x360 looped at {fps:g} fps; styles "
          f"{', '.join(args.styles)}; {args.presses} presses of n per session, {args.gap:g} s apart, "
          f"{args.rounds} sessions per mode"
          f"{'; empty model cache' if args.cold else ''}; {args.precision}")
    print("\n| mode | switch latency median | worst | presses prepared | fps | fps while preparing | fps otherwise |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, s in modes.items():
        idle_fps = (s.frames - s.busy_frames) / max(1e-9, s.seconds - s.busy_seconds)
        busy = f"{s.busy_frames / s.busy_seconds:.1f} ({s.busy_seconds:.1f} s)" if s.busy_seconds else "-"
        print(f"| {name} | {statistics.median(s.latencies) * 1000:.0f} ms | {max(s.latencies) * 1000:.0f} ms | "
              f"{s.prepared_presses}/{len(s.latencies)} | {s.frames / s.seconds:.1f} | {busy} | "
              f"{idle_fps if s.busy_seconds else s.frames / s.seconds:.1f} |")


if __name__ == "__main__":
    main()
