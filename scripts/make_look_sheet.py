#!/usr/bin/env python3
"""Render docs/look.jpg: a few built-in styles at full strength, at --strength 0.5, with --keep-colors and at
--stroke-size 2.

The photos are committed public-domain ones (CREDITS.md). Usage:
    python scripts/make_look_sheet.py [-o docs/look.jpg] [--styles candy,udnie,starry-night] [--tile 224]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from rtstyle.engine import create_stylizer
from rtstyle.io.contact_sheet import contact_sheet
from rtstyle.io.images import read_image, write_image
from rtstyle.realtime.look import Look
from rtstyle.realtime.processing import FrameProcessor

REPO = Path(__file__).resolve().parent.parent
PHOTOS = [REPO / "tests/data/grace_hopper.jpg", REPO / "rtstyle/assets/astronaut.png"]
COLUMNS = {"style": Look(), "--strength 0.5": Look(0.5), "--keep-colors": Look(keep_colors=True),
           "--stroke-size 2": Look(stroke_size=2.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=REPO / "docs/look.jpg")
    parser.add_argument("--styles", default="candy,udnie,starry-night")
    parser.add_argument("--tile", type=int, default=224, help="tile width in pixels")
    parser.add_argument("--work-size", type=int, default=512, help="longer side the photos are stylized at")
    args = parser.parse_args()

    photos = []
    for path in PHOTOS:
        image = read_image(path)
        scale = args.work_size / max(image.shape[:2])
        photos.append(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    rows, labels = [], []
    for name in args.styles.split(","):
        stylizer = create_stylizer(name, backend="onnx", device="cpu")
        for photo in photos:
            rows.append([photo, *(FrameProcessor(stylizer, look=look)(photo) for look in COLUMNS.values())])
            labels.append(name)
        stylizer.close()
    sheet = contact_sheet(rows, row_labels=labels, col_labels=["photo", *COLUMNS], tile_w=args.tile,
                          tile_h=args.tile * 3 // 4)
    write_image(args.output, sheet, jpeg_quality=88)
    print(f"wrote {args.output} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
