"""What deinterlacing costs a frame of 1080i, side by side with decoding it and with the BGR conversion every frame
gets anyway: bwdif (what `rtstyle video` uses, rtstyle.io.deinterlace) and yadif, one frame per frame.

A 1080i clip (x264 MBAFF, top field first) of a textured picture panning right, each field at its own moment, is
generated first. The frames are decoded once into memory; then each step runs over all of them, the steps
interleaved `--repeat` times (background load hits all alike), best time a frame reported, with the ratio to
decoding. The filters run with FFmpeg's default threads (slices over all cores) and with one thread.

    python bench/deinterlace.py               # 30 frames of 1920x1080, 3 repeats
    python bench/deinterlace.py --frames 10 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from encoding import encode_all  # noqa: E402
from rtstyle.io.deinterlace import Deinterlacer, SETTINGS  # noqa: E402


def make_1080i(path: Path, frames: int) -> None:
    """Noise texture panning 8 px a field: the even lines at one moment, the odd lines 1/50 s later."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (1080, 1920 + 16 * frames, 3), dtype=np.uint8)
    with av.open(str(path), mode="w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options = {"x264-params": "interlaced=1:tff=1", "preset": "ultrafast", "crf": "18"}
        encode_all(container, stream, (av.VideoFrame.from_ndarray(interlaced(texture, i), format="bgr24")
                                       for i in range(frames)))


def interlaced(texture: np.ndarray, i: int) -> np.ndarray:
    """Frame i: the even lines 16 px a frame along the texture, the odd lines 8 px (half a frame's time) further."""
    image = texture[:, 16 * i:16 * i + 1920].copy()
    image[1::2] = texture[1::2, 16 * i + 8:16 * i + 8 + 1920]
    return image


def decoded(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def filtered(path: Path, name: str, threads: int | None) -> Callable[[], int]:
    """One pass of a deinterlacing filter over the decoded frames (as Deinterlacer sets it up)."""
    frames = decoded(path)

    def run() -> int:
        graph = av.filter.Graph()
        if threads is not None:
            graph.threads = threads
        first = frames[0]
        source = graph.add_buffer(width=first.width, height=first.height, format=first.format,
                                  time_base=first.time_base)
        graph.link_nodes(source, graph.add(name, f"{SETTINGS}:parity=tff"), graph.add("buffersink")).configure()
        out = 0
        for frame in [*frames, None]:
            graph.push(frame)
            while True:
                try:
                    graph.pull()
                    out += 1
                except (av.error.BlockingIOError, av.error.EOFError):
                    break
        return out

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "1080i.ts"
        make_1080i(clip, args.frames)
        frames = decoded(clip)
        assert all(f.interlaced_frame for f in frames), "the clip did not decode as interlaced"
        assert len(Deinterlacer().push(frames[:2])) == 1  # the filter holds one frame back, as in use
        steps: dict[str, Callable[[], int]] = {
            "decode (H.264 1080i)": lambda: len(decoded(clip)),
            "to BGR (every frame, anyway)": lambda: sum(1 for f in frames if f.to_ndarray(format="bgr24") is not None),
            "bwdif (rtstyle)": filtered(clip, "bwdif", None),
            "yadif": filtered(clip, "yadif", None),
            "bwdif, 1 thread": filtered(clip, "bwdif", 1),
            "yadif, 1 thread": filtered(clip, "yadif", 1),
        }
        best = {name: float("inf") for name in steps}
        for _ in range(args.repeat):
            for name, step in steps.items():
                started = time.perf_counter()
                count = step()
                assert count == args.frames, (name, count)
                best[name] = min(best[name], (time.perf_counter() - started) / count)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load {load:.1f}; PyAV {av.__version__}, {args.frames} frames 1920x1080, "
          f"best of {args.repeat}")
    print(f"| {'step':<30} | ms a frame | x decode |")
    print(f"|{'-' * 32}|-----------:|---------:|")
    for name, seconds in best.items():
        print(f"| {name:<30} | {seconds * 1000:10.1f} | {seconds / best['decode (H.264 1080i)']:8.2f} |")


if __name__ == "__main__":
    main()
