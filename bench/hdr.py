"""What tone-mapping HDR video costs a frame (rtstyle.io.hdr), side by side with the conversion to BGR that every
frame gets anyway: a 10-bit frame read as 8-bit BGR (what HDR video got before it was tone-mapped), and read as
16-bit RGB then tone-mapped (HLG and PQ), whole and scaled down as `--max-size` scales it.

10-bit H.264 clips tagged BT.2020 with each curve are generated first (a noisy gradient), and their frames decoded
once into memory; each step then runs over all of them, the steps interleaved `--repeat` times (background load
hits all alike), the best time a frame reported with its ratio to the plain BGR conversion.

    python bench/hdr.py                 # 10 frames of 1920x1080, 3 repeats
    python bench/hdr.py --frames 4 --repeat 1
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

from rtstyle.io.hdr import HDR_NAMES, HLG, PQ, frame_to_bgr  # noqa: E402


def make_clip(path: Path, trc: int, frames: int) -> list[av.VideoFrame]:
    """A 1080p 10-bit clip tagged BT.2020 with the `trc` curve, decoded back into frames."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 60000, 1920, dtype=np.float32)[None, :, None]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p10le"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        tags = (9, trc, 9, 1)
        context = stream.codec_context
        context.color_primaries, context.color_trc, context.colorspace, context.color_range = tags
        for i in range(frames):
            image = np.clip(ramp + rng.normal(0, 3000, (1080, 1920, 3)), 0, 65535).astype(np.uint16)
            frame = av.VideoFrame.from_ndarray(image, format="rgb48le")
            frame.color_primaries, frame.color_trc, frame.colorspace, frame.color_range = tags
            frame.pts = i
            for packet in stream.encode(frame.reformat(format="yuv420p10le")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rows: list[tuple[str, str, Callable[[], object]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        clips = {trc: make_clip(Path(tmp) / f"{trc}.mp4", trc, args.frames) for trc in (HLG, PQ)}
    for size in (None, (1280, 720)):
        label = "1920x1080" if size is None else "1280x720 (--max-size 1280)"
        scale = {"width": size[0], "height": size[1], "interpolation": "AREA"} if size else {}
        frames = clips[HLG]
        rows.append((label, "as 8-bit BGR (no tone mapping)",
                     lambda f=frames, s=scale: [x.to_ndarray(format="bgr24", **s) for x in f]))
        for trc, frames in clips.items():
            rows.append((label, f"{HDR_NAMES[trc]}: 16-bit RGB + tone map",
                         lambda f=frames, z=size: [frame_to_bgr(x, z) for x in f]))
    best = [float("inf")] * len(rows)
    for _ in range(args.repeat):
        for k, (_, _, run) in enumerate(rows):
            started = time.perf_counter()
            run()
            best[k] = min(best[k], (time.perf_counter() - started) / args.frames)

    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, {args.frames} frames, best of {args.repeat}")
    print("| frame size | decoded frame to BGR | ms/frame | vs plain BGR |")
    print("|---|---|---:|---:|")
    for k, (label, what, _) in enumerate(rows):
        baseline = best[k - k % 3]  # the first row of each size
        print(f"| {label} | {what} | {best[k] * 1000:.1f} | {best[k] / baseline:.2f}x |")


if __name__ == "__main__":
    main()
