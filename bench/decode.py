"""What a decoded frame costs to become the BGR the networks take (rtstyle.io.frames), whole and scaled down as
`--max-size` scales it: SDR by swscale's fast path (used) and by its accurate one (exact colours, not used), and
HDR read as 8-bit BGR (before) and as 16-bit RGB then tone-mapped (HLG and PQ, rtstyle.io.hdr); and what reading
a PQ video's HDR10 metadata (its peak, rtstyle.io.hdr_metadata) adds, once per stream and on every frame.

8-bit and 10-bit H.264 clips (a noisy gradient; the 10-bit ones tagged BT.2020 with each curve) and a 10-bit HEVC
PQ clip with HDR10 metadata (x265's MaxCLL 4000 and mastering display SEI) are generated first, and their frames
decoded once into memory; each step then runs over all of them, the steps interleaved
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
from rtstyle.io.frames import StreamFrames, frame_to_bgr  # noqa: E402
from rtstyle.io.hdr import HDR_NAMES, HLG, PQ  # noqa: E402
from rtstyle.io.hdr_metadata import frame_peak  # noqa: E402

# x265's HDR10 SEI: MaxCLL 4000 (MaxFALL 400), a 4000 cd/m2 BT.2020 mastering display
HDR10_METADATA = ("hdr10=1:max-cll=4000,400:"
                  "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(40000000,50)")


def make_clip(path: Path, trc: int | None, frames: int, hdr10: bool = False) -> list[av.VideoFrame]:
    """A 1080p clip, decoded back into frames: 8-bit BT.709 (`trc` None), or 10-bit tagged BT.2020 with `trc`
    (H.264; `hdr10`: HEVC with HDR10 metadata)."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 60000, 1920, dtype=np.float32)[None, :, None]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx265" if hdr10 else "libx264", rate=25)
        pix_fmt = "yuv420p" if trc is None else "yuv420p10le"
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, pix_fmt
        stream.options = {"preset": "ultrafast", "crf": "18",
                          **({"x265-params": f"log-level=error:{HDR10_METADATA}"} if hdr10 else {})}
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
        frame_to_bgr(frame, size)  # a PQ frame's peak read from the frame itself


def once_per_stream(frames: list[av.VideoFrame], size: tuple[int, int] | None) -> None:
    stream = StreamFrames()  # the peak read from the first frame only
    for frame in frames:
        stream.bgr(frame, size)


def peaks(frames: list[av.VideoFrame]) -> None:
    for frame in frames:
        frame_peak(frame)


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
        hdr10 = make_clip(Path(tmp) / "hdr10.mkv", PQ, args.frames, hdr10=True)
    assert frame_peak(hdr10[0]).nits == 4000 and frame_peak(pq[0]).nits == 1000  # metadata, and none
    rows: list[tuple[str, str, Callable[[], None]]] = []
    for size in (None, (1280, 720)):
        label = "1920x1080" if size is None else "1280x720 (--max-size 1280)"
        rows += [(label, "SDR as 8-bit BGR, fast path (frame_to_bgr)", partial(rtstyles, sdr, size)),
                 (label, "SDR as 8-bit BGR, accurate path (not used)", partial(as_bgr, sdr, size, ACCURATE)),
                 (label, "HLG as 8-bit BGR (before)", partial(as_bgr, hlg, size)),
                 (label, f"{HDR_NAMES[HLG]}: 16-bit RGB + tone map (frame_to_bgr)", partial(rtstyles, hlg, size)),
                 (label, f"{HDR_NAMES[PQ]}: 16-bit RGB + tone map (frame_to_bgr)", partial(rtstyles, pq, size)),
                 (label, f"{HDR_NAMES[PQ]} + HDR10 metadata, peak read once (StreamFrames)",
                  partial(once_per_stream, hdr10, size)),
                 (label, f"{HDR_NAMES[PQ]} + HDR10 metadata, peak read each frame (frame_to_bgr)",
                  partial(rtstyles, hdr10, size))]
    rows.append(("any", "the HDR10 metadata read alone (frame_peak)", partial(peaks, hdr10)))
    best = [float("inf")] * len(rows)
    for _ in range(args.repeat):
        for k, (_, _, run) in enumerate(rows):
            started = time.perf_counter()
            run()
            best[k] = min(best[k], (time.perf_counter() - started) / args.frames)

    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, {args.frames} frames, best of {args.repeat}")
    print("| frame size | decoded frame to BGR | ms/frame | ratio |")
    print("|---|---|---:|---:|")
    for k, (label, what, _) in enumerate(rows[:-1]):
        # each size: SDR fast, SDR accurate, HLG fast, HLG, PQ, PQ + metadata twice (against metadata-less PQ's)
        baseline = best[k - k % 7 + (0 if k % 7 < 2 else 2 if k % 7 < 5 else 4)]
        print(f"| {label} | {what} | {best[k] * 1000:.1f} | {best[k] / baseline:.2f}x |")
    print(f"| any | {rows[-1][1]} | {best[-1] * 1000:.3f} | |")


if __name__ == "__main__":
    main()
