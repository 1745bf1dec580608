"""What a decoded frame costs to become the BGR the networks take (rtstyle.io.frames), whole and scaled down as
`--max-size` scales it: SDR by swscale's fast path (used) and by its accurate one (exact colours, not used), and
HDR read as 8-bit BGR (before) and as 16-bit RGB then tone-mapped (HLG and PQ, rtstyle.io.hdr).

8-bit and 10-bit H.264 clips (a noisy gradient; the 10-bit ones tagged BT.2020 with each curve) are generated
first, and their frames decoded once into memory; each step then runs over all of them, the steps interleaved
`--repeat` times (background load hits all alike), the best time a frame reported with its ratio to the fast
8-bit BGR conversion of the same clip.

    python bench/decode.py                 # 10 frames of 1920x1080, 3 repeats
    python bench/decode.py --frames 4 --repeat 1
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
from functools import partial
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from encoding import encode_all  # noqa: E402
from rtstyle.io.frames import frame_to_bgr  # noqa: E402
from rtstyle.io.hdr import HDR_NAMES, HLG, PQ  # noqa: E402


def make_clip(path: Path, trc: int | None, frames: int) -> list[av.VideoFrame]:
    """A 1080p clip, decoded back into frames: 8-bit BT.709 (`trc` None), or 10-bit tagged BT.2020 with `trc`."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 60000, 1920, dtype=np.float32)[None, :, None]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        pix_fmt = "yuv420p" if trc is None else "yuv420p10le"
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, pix_fmt
        stream.options = {"preset": "ultrafast", "crf": "18"}
        tags = (1, 1, 1, 1) if trc is None else (9, trc, 9, 1)
        context = stream.codec_context
        context.color_primaries, context.color_trc, context.colorspace, context.color_range = tags
        encode_all(container, stream, (tagged(np.clip(ramp + rng.normal(0, 3000, (1080, 1920, 3)), 0, 65535)
                                              .astype(np.uint16), tags).reformat(format=pix_fmt)
                                       for _ in range(frames)))
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


# swscale's exact YUV -> RGB: accurate rounding with full chroma interpolation
ACCURATE = Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


def as_bgr(frames: list[av.VideoFrame], size: tuple[int, int] | None, flags: int = 0) -> None:
    """Plain to_ndarray, scaled as rtstyle.io.frames scales (area averaging), with swscale `flags` added."""
    for frame in frames:
        if size:
            frame.to_ndarray(format="bgr24", width=size[0], height=size[1], interpolation=Interpolation.AREA | flags)
        else:
            frame.to_ndarray(format="bgr24", interpolation=Interpolation.BILINEAR | flags)


def rtstyles(frames: list[av.VideoFrame], size: tuple[int, int] | None) -> None:
    for frame in frames:
        frame_to_bgr(frame, size)


def tagged(rgb48: np.ndarray, tags: tuple[int, int, int, int]) -> av.VideoFrame:
    """16-bit RGB as a frame with (primaries, trc, matrix, range) tags, which its conversion to YUV follows."""
    frame = av.VideoFrame.from_ndarray(rgb48, format="rgb48le")
    frame.color_primaries, frame.color_trc, frame.colorspace, frame.color_range = tags
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        sdr = make_clip(Path(tmp) / "sdr.mp4", None, args.frames)
        hlg, pq = (make_clip(Path(tmp) / f"{trc}.mp4", trc, args.frames) for trc in (HLG, PQ))
    rows: list[tuple[str, str, Callable[[], None]]] = []
    for size in (None, (1280, 720)):
        label = "1920x1080" if size is None else "1280x720 (--max-size 1280)"
        rows += [(label, "SDR as 8-bit BGR, fast path (frame_to_bgr)", partial(rtstyles, sdr, size)),
                 (label, "SDR as 8-bit BGR, accurate path (not used)", partial(as_bgr, sdr, size, ACCURATE)),
                 (label, "HLG as 8-bit BGR (before)", partial(as_bgr, hlg, size)),
                 (label, f"{HDR_NAMES[HLG]}: 16-bit RGB + tone map (frame_to_bgr)", partial(rtstyles, hlg, size)),
                 (label, f"{HDR_NAMES[PQ]}: 16-bit RGB + tone map (frame_to_bgr)", partial(rtstyles, pq, size))]
    best = [float("inf")] * len(rows)
    for _ in range(args.repeat):
        for k, (_, _, run) in enumerate(rows):
            started = time.perf_counter()
            run()
            best[k] = min(best[k], (time.perf_counter() - started) / args.frames)

    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, {args.frames} frames, best of {args.repeat}")
    print("| frame size | decoded frame to BGR | ms/frame | vs the clip's fast path |")
    print("|---|---|---:|---:|")
    for k, (label, what, _) in enumerate(rows):
        baseline = best[k - k % 5 + (0 if k % 5 < 2 else 2)]  # each size: SDR fast, SDR accurate, HLG fast, HLG, PQ
        print(f"| {label} | {what} | {best[k] * 1000:.1f} | {best[k] / baseline:.2f}x |")


if __name__ == "__main__":
    main()
