#!/usr/bin/env python3
"""Render docs/styles.png: every built-in style applied to public-domain / CC0 photos.

The photos are the committed ones (CREDITS.md) plus, when ../shared is beside the checkout, the other
public-domain photos listed in ../shared/data/COMMITTABLE.tsv. Usage:
    python scripts/make_style_gallery.py [-o docs/styles.png] [--tile 256]
    python scripts/make_style_gallery.py --styles mosaic,mosaic-fast,mosaic-fast@int8 -o docs/fast_vs_johnson.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from rtstyle.engine import create_stylizer
from rtstyle.io.contact_sheet import contact_sheet
from rtstyle.io.images import read_image, write_image
from rtstyle.styles.catalog import list_styles, without_fast_variants

REPO = Path(__file__).resolve().parent.parent
PHOTOS = [
    REPO / "rtstyle/assets/astronaut.png",
    REPO / "tests/data/grace_hopper.jpg",
    REPO / "tests/data/chelsea.png",
    REPO.parent / "shared/data/content/eval/detectron_usgov/16004479832_a748d55f21_k.jpg",
    REPO.parent / "shared/data/content/eval/pypi_samples/scikit_image/coffee.png",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=REPO / "docs/styles.png")
    parser.add_argument("--tile", type=int, default=192, help="tile width in pixels")
    parser.add_argument("--work-size", type=int, default=512, help="longer side the photos are stylized at")
    parser.add_argument("--styles", help="comma-separated NAME or NAME@int8 (default: every built-in style, "
                        "without the fast variants)")
    args = parser.parse_args()

    photos = []
    for path in PHOTOS:
        if path.is_file():
            image = read_image(path)
            scale = args.work_size / max(image.shape[:2])
            photos.append(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    names = (args.styles.split(",") if args.styles
             else without_fast_variants([e.name for e in list_styles() if e.source == "built-in"]))
    rows = [photos]
    labels = ["photo"]
    for label in names:
        name, _, precision = label.partition("@")
        stylizer = create_stylizer(name, backend="onnx", device="cpu", precision=precision or "fp32")
        rows.append([stylizer(p) for p in photos])
        labels.append(label)
        print(f"rendered {label}")
    sheet = contact_sheet(rows, row_labels=labels, tile_w=args.tile, tile_h=args.tile * 3 // 4)
    write_image(args.output, sheet, jpeg_quality=90)
    print(f"wrote {args.output} ({len(names)} styles x {len(photos)} photos)")


if __name__ == "__main__":
    main()
