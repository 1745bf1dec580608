#!/usr/bin/env python3
"""How faithful the mirrored border margin is, by the training objective: content and style loss of a picture
stylized bare, with M px of mirrored picture around it, and inside its real surroundings.

Each evaluation photo (longer side --size) loses --context px on every side to make the picture; "real" stylizes
the whole photo and cuts the picture out of the result, which is what the network gives a picture's pixels when it
sees what lies around them. The closer a margin's losses to real's, the more faithful the margin. Usage:
    python scripts/border_margin_fidelity.py --shared ../shared --styles candy,udnie --photos 16
Results: docs/engine.md ("Borders").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from style_quality_report import EVAL_PHOTOS, VGG_FILE, style_image_path  # noqa: E402

from rtstyle.engine import create_stylizer  # noqa: E402
from rtstyle.errors import RtstyleError  # noqa: E402
from rtstyle.metrics.perceptual import PhotoLosses, photo_losses, read_photos  # noqa: E402
from rtstyle.styles.catalog import find_style, list_styles, trained_painting_size, without_fast_variants  # noqa: E402
from rtstyle.train.data import read_style_image  # noqa: E402
from rtstyle.train.vgg import load_vgg_file  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shared", type=Path, required=True)
    parser.add_argument("--styles", help="comma-separated NAME or NAME=FILE (default: every built-in johnson style)")
    parser.add_argument("--photos", type=int, default=16, help="the first N evaluation photos")
    parser.add_argument("--size", type=int, default=448, help="longer side of a photo, its surroundings included")
    parser.add_argument("--context", type=int, default=32, help="px of real surroundings on each side")
    parser.add_argument("--margins", default="0,8,16,32", help="mirrored margins to measure, px")
    args = parser.parse_args()

    specs = (args.styles.split(",") if args.styles
             else without_fast_variants([e.name for e in list_styles() if e.source == "built-in"]))
    margins = [int(m) for m in args.margins.split(",")]
    network = load_vgg_file(args.shared / VGG_FILE)
    photos = read_photos(args.shared / EVAL_PHOTOS, args.size)[:args.photos]
    c = args.context
    pictures = [photo[c:-c, c:-c] for photo in photos]
    print(f"{len(pictures)} photos, {args.context} px of real surroundings; content / style loss "
          f"(relative to real's)")
    print("| style | " + " | ".join(f"mirrored {m} px" for m in margins) + " | real surroundings |")
    print("|---|" + "---:|" * (len(margins) + 1))
    for spec in specs:
        name, _, path = spec.partition("=")
        metadata = find_style(name).metadata()
        painting = read_style_image(style_image_path(args.shared, metadata), trained_painting_size(metadata))
        stylizer = create_stylizer(path or name, backend="onnx", device="cpu")
        stylizer.border_margin = 0
        in_place = {id(picture): stylizer(photo)[c:-c, c:-c] for picture, photo in zip(pictures, photos)}
        real = photo_losses(lambda picture: in_place[id(picture)], pictures, painting, network)
        cells = []
        for margin in margins:
            stylizer.border_margin = margin
            cells.append(cell(photo_losses(stylizer, pictures, painting, network), real))
        print(f"| `{spec}` | " + " | ".join(cells) + f" | {real.content:.3g} / {real.style:.3g} |", flush=True)


def cell(losses: PhotoLosses, real: PhotoLosses) -> str:
    return f"{losses.content:.3g} / {losses.style:.3g} ({losses.content / real.content - 1:+.0%} / " \
           f"{losses.style / real.style - 1:+.0%})"


if __name__ == "__main__":
    try:
        main()
    except RtstyleError as exc:
        print(f"border_margin_fidelity: error: {exc}", file=sys.stderr)
        sys.exit(2)
