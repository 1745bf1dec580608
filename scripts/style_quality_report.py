#!/usr/bin/env python3
"""Content and style loss of styles on the evaluation photos, against Gatys-style optimisation.

For each style: the training objective's content and style loss (weighted as in training, Caffe VGG16)
averaged over ../shared/data/content/eval, and on two public-domain photos both for the network and for an
L-BFGS optimisation of the same objective (rtstyle.train.optimize): the reference for how low the style
loss can go (Johnson et al. 2016, Sec. 4.1). Writes JSON (one record per style, saved after each) and,
with --sheet, the two photos through each network and each optimisation. Usage:
    python scripts/style_quality_report.py --shared ../shared --json docs/quality.json --sheet docs/styles_vs_gatys.jpg
    python scripts/style_quality_report.py --shared ../shared --styles mosaic,mosaic-fast,mosaic-fast@int8 --iterations 0
    python scripts/style_quality_report.py --shared ../shared --styles wave --json docs/quality.json --update
The networks run as rtstyle runs them, with the mirrored border margin (--border-margin, 32 px), which the
optimisation has no use for: on the two small reference photos it raises the networks' style loss against the
optimisation's (docs/train/styles_reading.md); --border-margin 0 measures without it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from rtstyle.engine import create_stylizer
from rtstyle.errors import RtstyleError
from rtstyle.engine.tiling import BORDER_MARGIN
from rtstyle.io.contact_sheet import contact_sheet
from rtstyle.io.images import write_image
from rtstyle.metrics.perceptual import photo_losses, read_photos
from rtstyle.styles.catalog import find_style, list_styles, trained_painting_size, without_fast_variants
from rtstyle.train.data import read_style_image
from rtstyle.train.optimize import optimize_image
from rtstyle.train.vgg import load_vgg_file

VGG_FILE = "weights/vgg16_imagenet_caffe_conv1_1-conv4_3.safetensors"
EVAL_PHOTOS = "data/content/eval"
EVAL_SIZE = 384  # longer side of the evaluation photos in docs/styles.md (and scripts/quality_gate.py)
# Public domain (COMMITTABLE.tsv), so the optimised images may be shown in the docs; a face and fur.
REFERENCE_PHOTOS = ("data/content/eval/pypi_samples/matplotlib/grace_hopper.jpg",
                    "data/content/eval/pypi_samples/scikit_image/chelsea.png")


def style_image_path(shared: Path, metadata: dict) -> Path:
    """The painting a style was trained on: the path its metadata names relative to the folder holding
    `shared`, or else the file under shared/data/style whose content matches `source_image_sha256` (a fresh
    training run records only the file name, which datasets reuse for different paintings)."""
    source = Path(str(metadata.get("source_image", "")))
    parts = source.parts[1:] if source.parts[:1] == ("shared",) else source.parts
    path = shared.joinpath(*parts)
    digest = metadata.get("source_image_sha256")
    if path.is_file() or not digest:
        return path
    for candidate in sorted((shared / "data" / "style").rglob(source.name or "*")):
        if hashlib.sha256(candidate.read_bytes()).hexdigest() == digest:
            return candidate
    raise RtstyleError(f"the painting of this style ({source.name}, sha256 {digest[:12]}...) is not in {shared}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, required=True)
    parser.add_argument("--styles", help="comma-separated NAME or NAME@int8 (default: every built-in style, "
                        "without the fast variants)")
    parser.add_argument("--eval-size", type=int, default=EVAL_SIZE, help="longer side of the evaluation photos")
    parser.add_argument("--gatys-size", type=int, default=256, help="longer side of the two reference photos")
    parser.add_argument("--painting-size", default="trained",
                        help="longest side of the painting for the style loss: 'trained' (the size each style was "
                             "trained with, its own objective) or pixels, the same for every style")
    parser.add_argument("--iterations", type=int, default=100, help="L-BFGS iterations (0: no optimisation)")
    parser.add_argument("--border-margin", type=int, default=BORDER_MARGIN,
                        help="mirrored margin (px) the networks run with, as rtstyle runs them; 0: none")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--update", action="store_true",
                        help="keep the records of --json for the styles not measured now (one style's rerun)")
    parser.add_argument("--sheet", type=Path, help="write network vs optimisation on the reference photos here")
    args = parser.parse_args()
    if args.update and args.sheet:
        parser.error("--sheet shows the styles measured in the run; leave out --update to remake it")

    names = (args.styles.split(",") if args.styles
             else without_fast_variants([e.name for e in list_styles() if e.source == "built-in"]))
    network = load_vgg_file(args.shared / VGG_FILE)
    eval_photos = read_photos(args.shared / EVAL_PHOTOS, args.eval_size)
    references = [read_photos(args.shared / p, args.gatys_size)[0] for p in REFERENCE_PHOTOS]
    kept = earlier_records(args.json, names) if args.update and args.json else []
    results: list[dict] = []
    rows, labels = [], []
    for label in names:
        started = time.perf_counter()
        name, _, precision = label.partition("@")
        style = find_style(name)
        painting_size = trained_painting_size(style.metadata()) if args.painting_size == "trained" \
            else int(args.painting_size)
        painting = read_style_image(style_image_path(args.shared, style.metadata()), painting_size)
        stylizer = create_stylizer(name, backend="onnx", device="cpu", precision=precision or "fp32")
        stylizer.border_margin = args.border_margin
        record = {"style": label, "eval_photos": len(eval_photos), "eval_size": args.eval_size,
                  "reference_size": args.gatys_size, "painting_size": max(painting.shape[:2]),
                  "border_margin": args.border_margin,
                  "eval": photo_losses(stylizer, eval_photos, painting, network).as_dict(),
                  "reference": photo_losses(stylizer, references, painting, network).as_dict()}
        networked = [stylizer(photo) for photo in references]
        if args.iterations:
            optimised = [optimize_image(np.ascontiguousarray(photo[..., ::-1]), painting, network, args.iterations)
                         for photo in references]
            record["gatys"] = {"photos": len(optimised), "iterations": args.iterations,
                               "content_loss": float(np.mean([o.content for o in optimised])),
                               "style_loss": float(np.mean([o.style for o in optimised]))}
            rows.append([img for pair in zip(networked, [o.image_rgb[..., ::-1] for o in optimised]) for img in pair])
            labels.append(style.name + (f"@{precision}" if precision else ""))  # a file's stem, not its path
        record["seconds"] = round(time.perf_counter() - started, 1)
        results.append(record)
        print(json.dumps(record))
        if args.json:
            args.json.write_text(json.dumps(merged(kept, results), indent=1) + "\n", encoding="utf-8")
    print(markdown_table(merged(kept, results)))
    if args.sheet and rows:
        header = [img for photo in references for img in (photo, photo)]
        sheet = contact_sheet([header, *rows], row_labels=["photo", *labels], tile_w=args.gatys_size,
                              tile_h=args.gatys_size * 3 // 4)
        write_image(args.sheet, sheet, jpeg_quality=88)
        print(f"wrote {args.sheet}: per photo, the network | the optimisation")


def earlier_records(path: Path, measured_now: list[str]) -> list[dict]:
    """The records of an earlier report at `path`, but for the styles measured now."""
    if not path.is_file():
        return []
    return [r for r in json.loads(path.read_text(encoding="utf-8")) if r["style"] not in measured_now]


def merged(kept: list[dict], measured: list[dict]) -> list[dict]:
    """The records measured now, in their run's order; with an earlier report's (--update), all sorted by style as
    the default run (built-ins by name) lists them."""
    return sorted(kept + measured, key=lambda record: record["style"]) if kept else measured


def markdown_table(results: list[dict]) -> str:
    lines = ["| style | content (eval) | style (eval) | content (2 photos) | style (2 photos) | "
             "Gatys content | Gatys style | style / Gatys |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        gatys = r.get("gatys")
        ratio = f"{r['reference']['style_loss'] / gatys['style_loss']:.1f}x" if gatys else "-"
        lines.append(f"| {r['style']} | {r['eval']['content_loss']:.3g} | {r['eval']['style_loss']:.3g} | "
                     f"{r['reference']['content_loss']:.3g} | {r['reference']['style_loss']:.3g} | "
                     + (f"{gatys['content_loss']:.3g} | {gatys['style_loss']:.3g} | " if gatys else "- | - | ")
                     + f"{ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        main()
    except RtstyleError as exc:  # a painting or photo missing from --shared: one line, not a traceback
        print(f"style_quality_report: error: {exc}", file=sys.stderr)
        sys.exit(2)
