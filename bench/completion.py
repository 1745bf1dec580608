"""What a Tab costs: the shell runs `rtstyle` once per key press (click's `_RTSTYLE_COMPLETE` protocol), so its
start-up is the whole cost. Side by side in one run (round-robin), each as its own process:
  * the bare interpreter (the floor);
  * completing a command name, a style name after --style (webcam, video), the STYLE of `export`, and an option
    name (which loads the command's module);
  * for scale, importing what completion leaves out (OpenCV, PyAV, onnxruntime, onnx): what every Tab would add
    if the command modules still imported them at the top.
Wall time depends on the machine's load; CPU time (user + system) less so.

    python bench/completion.py              # 7 rounds
    python bench/completion.py --rounds 15
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMPLETE = [sys.executable, "-m", "rtstyle"]

# label -> (command, COMP_WORDS, or None for no completion)
CASES: dict[str, tuple[list[str], str | None]] = {
    "python -c pass (floor)": ([sys.executable, "-c", "pass"], None),
    "rtstyle <Tab>": (COMPLETE, "rtstyle "),
    "rtstyle webcam --style mo<Tab>": (COMPLETE, "rtstyle webcam --style mo"),
    "rtstyle video in.mp4 -s mo<Tab>": (COMPLETE, "rtstyle video in.mp4 -s mo"),
    "rtstyle export mo<Tab>": (COMPLETE, "rtstyle export mo"),
    "rtstyle image --<Tab>": (COMPLETE, "rtstyle image --"),
    "import cv2, av, onnxruntime, onnx": ([sys.executable, "-c", "import cv2, av, onnxruntime, onnx"], None),
}


def run_once(command: list[str], words: str | None) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `command`, completing `words` when given."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if words is not None:
        env.update(_RTSTYLE_COMPLETE="bash_complete", COMP_WORDS=words,
                   COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if words is not None and not done.stdout.strip():
        sys.exit(f"no completions for {words!r}: {done.stderr.strip()}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in CASES}
    for _ in range(args.rounds):
        for label, (command, words) in CASES.items():
            times[label].append(run_once(command, words))
    floor = statistics.median(cpu for _, cpu in times["python -c pass (floor)"])
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, "
          f"{args.rounds} rounds\n")
    print("| run                                 | wall ms median | wall ms min | CPU ms median | CPU vs floor |")
    print("|-------------------------------------|---------------:|------------:|--------------:|-------------:|")
    for label, runs in times.items():
        walls, cpus = [w * 1000 for w, _ in runs], [c * 1000 for _, c in runs]
        print(f"| {label:<35} | {statistics.median(walls):14.0f} | {min(walls):11.0f} | "
              f"{statistics.median(cpus):13.0f} | {statistics.median(cpus) / (floor * 1000):11.1f}x |")


if __name__ == "__main__":
    main()
