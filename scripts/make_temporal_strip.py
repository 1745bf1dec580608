#!/usr/bin/env python3
"""Before/after of temporal stability: docs/temporal_strip.jpg and a side-by-side clip.

Flicker does not show in one still, so the strip shows, per variant (per-frame, temporally trained,
run-time stabilised), two consecutive frames and a *flicker map*: the per-pixel warping error
|V_t - warp(V_t+1)|^2 averaged over the clip (input flow, occlusion-masked; the measure of `rtstyle eval`),
brighter where strokes pop or crawl. The clip plays the variants side by side. Usage:
    python scripts/make_temporal_strip.py --style mosaic --temporal-style mosaic-temporal [--frames 48]
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from rtstyle.engine import create_stylizer
from rtstyle.flow import FlowEstimator, pair_motion, warp_backward
from rtstyle.io.contact_sheet import contact_sheet
from rtstyle.io.images import write_image
from rtstyle.io.video_writer import VideoWriter
from rtstyle.metrics.clips import iter_clip
from rtstyle.metrics.temporal import to_unit
from rtstyle.realtime.stabilize import Stabilizer

REPO = Path(__file__).resolve().parent.parent


def flicker_map(outputs: list[np.ndarray], motions: list, scale: float) -> np.ndarray:
    """Mean masked squared warping error per pixel, as a BGR heat map (0 .. `scale` -> dark .. bright)."""
    total = np.zeros(outputs[0].shape[:2], np.float32)
    count = np.zeros_like(total)
    for current, following, motion in zip(outputs, outputs[1:], motions, strict=False):
        squared = ((to_unit(current) - warp_backward(to_unit(following), motion.forward)) ** 2).mean(axis=2)
        total += np.where(motion.valid_forward, squared, 0)
        count += motion.valid_forward
    mean = total / np.maximum(count, 1)
    return cv2.applyColorMap(np.clip(mean / scale * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_INFERNO)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=REPO / "rtstyle/assets/cutBunny.mp4")
    parser.add_argument("--style", default="mosaic")
    parser.add_argument("--temporal-style", help="the temporally trained variant")
    parser.add_argument("--stabilize", type=float, default=0.5)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--max-size", type=int, default=480)
    parser.add_argument("--strip", type=Path, default=REPO / "docs/temporal_strip.jpg")
    parser.add_argument("--video", type=Path, default=REPO / "docs/temporal_before_after.mp4")
    args = parser.parse_args()

    frames = list(iter_clip(args.clip, max_frames=args.frames, max_size=args.max_size))
    estimator = FlowEstimator("dis", preset="medium")
    motions = [pair_motion(a, b, estimator) for a, b in zip(frames, frames[1:], strict=False)]
    per_frame = [create_stylizer(args.style, backend="onnx", device="cpu")(f) for f in frames]
    stabilizer = Stabilizer(args.stabilize)
    variants = {"per-frame": per_frame,
                f"stabilised {args.stabilize:g}": [stabilizer(f, s) for f, s in zip(frames, per_frame, strict=True)]}
    if args.temporal_style:
        temporal = create_stylizer(args.temporal_style, backend="onnx", device="cpu")
        variants["temporally trained"] = [temporal(f) for f in frames]
    maps = {name: flicker_map(outputs, motions, scale=0.03) for name, outputs in variants.items()}
    middle = len(frames) // 2
    rows = [[frames[middle], frames[middle + 1], np.zeros_like(frames[0])]]
    rows += [[outputs[middle], outputs[middle + 1], maps[name]] for name, outputs in variants.items()]
    h, w = frames[0].shape[:2]
    tile_w = 320
    sheet = contact_sheet(rows, row_labels=["input", *variants], tile_w=tile_w, tile_h=tile_w * h // w,
                          col_labels=[f"frame {middle}", f"frame {middle + 1}", "flicker map (brighter = more)"])
    write_image(args.strip, sheet, jpeg_quality=88)
    print(f"wrote {args.strip}")

    tiles = [[cv2.resize(o, (tile_w, tile_w * h // w), interpolation=cv2.INTER_AREA) for o in outputs]
             for outputs in variants.values()]
    labelled = []
    for index in range(len(frames)):
        row = []
        for name, column in zip(variants, tiles, strict=True):
            tile = column[index].copy()
            cv2.putText(tile, name, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
            row.append(tile)
        labelled.append(np.concatenate(row, axis=1))
    writer = VideoWriter(args.video, width=labelled[0].shape[1], height=labelled[0].shape[0], rate=Fraction(24),
                         crf=26)
    for image in labelled:
        writer.write(image)
    writer.close()
    print(f"wrote {args.video} ({args.video.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
