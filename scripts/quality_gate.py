#!/usr/bin/env python3
"""Whether a newly trained network may replace a built-in: the training objective as users get it, old vs new.

Both networks run as rtstyle runs them (onnxruntime, the 32 px mirrored border margin) on the evaluation photos
(longer side 384, the settings of docs/styles.md), and their content and style loss against the built-in's
painting are compared. The new one may replace the built-in only if it is no worse: more training is not always
a better picture (a 270-step margin stage at style weight 5 cut rain-princess's training style loss by 29% and raised
its style loss on the 46 photos by 92%, docs/train/README.md). Flicker and faces still need a look by hand.
Usage:
    python scripts/quality_gate.py wave runs/out/wave-m.safetensors --shared ../shared
Exit status 0: may replace; 1: keep the built-in; 2: bad input.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from rtstyle.errors import RtstyleError  # noqa: E402

if TYPE_CHECKING:  # the module imports torch; collect_gpu_styles.py --no-gate and the judging need none
    from rtstyle.metrics.perceptual import PhotoLosses

# The photos and the painting are fixed, so a rise is the network's, not noise; the tolerances allow the
# difference packing makes (int8 kernels: at most 1 level on 0..255) and a trade a person would take.
MAX_STYLE_RISE = 0.02
# Content may rise for a style gain, but not so far that faces go: the-scream's margin stage at style weight 10
# (content +17%, style -24%) banded Grace Hopper's face.
MAX_CONTENT_RISE = 0.10


@dataclass(frozen=True)
class Verdict:
    replace: bool
    reason: str


def judge(built_in: PhotoLosses, candidate: PhotoLosses) -> Verdict:
    """Replace only if the style loss has not risen, content has not risen far, and the two together fall or hold."""
    style = candidate.style / built_in.style - 1
    content = candidate.content / built_in.content - 1
    together = (candidate.style + candidate.content) / (built_in.style + built_in.content) - 1
    numbers = f"style {style:+.1%}, content {content:+.1%}, both {together:+.1%} on {candidate.photos} photos"
    if style > MAX_STYLE_RISE:
        return Verdict(False, f"{numbers}: the style loss rose more than {MAX_STYLE_RISE:.0%}")
    if content > MAX_CONTENT_RISE:
        return Verdict(False, f"{numbers}: the content loss rose more than {MAX_CONTENT_RISE:.0%}")
    if together > 0:
        return Verdict(False, f"{numbers}: the objective rose")
    return Verdict(True, numbers)


def check_shared(shared: Path) -> None:
    """Raise RtstyleError, in one line, when `shared` lacks what the gate measures with."""
    from style_quality_report import EVAL_PHOTOS, VGG_FILE  # imports torch, which judging needs not

    for needed in (shared / VGG_FILE, shared / EVAL_PHOTOS):
        if not needed.exists():
            raise RtstyleError(f"cannot compare with the built-in: {needed} is missing (--shared DIR)")


def measure(name: str, candidate: Path, shared: Path, photos: int | None = None) -> tuple[PhotoLosses, PhotoLosses]:
    """Content and style loss of built-in `name` and of the style file `candidate` on the first `photos`
    evaluation photos (all by default), both against the built-in's painting at the size it was trained with."""
    check_shared(shared)
    # The report's photos, size and painting, so a verdict and a docs/styles.md row measure the same thing.
    from style_quality_report import EVAL_PHOTOS, EVAL_SIZE, VGG_FILE, style_image_path

    from rtstyle.engine import create_stylizer
    from rtstyle.metrics.perceptual import photo_losses, read_photos
    from rtstyle.styles.catalog import find_style, trained_painting_size
    from rtstyle.train.data import read_style_image
    from rtstyle.train.vgg import load_vgg_file

    metadata = find_style(name).metadata()
    painting = read_style_image(style_image_path(shared, metadata), trained_painting_size(metadata))
    network = load_vgg_file(shared / VGG_FILE)
    eval_photos = read_photos(shared / EVAL_PHOTOS, EVAL_SIZE)[:photos]
    return tuple(photo_losses(create_stylizer(spec, backend="onnx", device="cpu"), eval_photos, painting, network)
                 for spec in (name, str(candidate)))  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("name", help="the built-in style")
    parser.add_argument("candidate", type=Path, help="the newly trained style file")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--photos", type=int, help="the first N evaluation photos (default: all)")
    args = parser.parse_args(argv)
    try:
        if not args.candidate.is_file():
            raise RtstyleError(f"no such style file: {args.candidate}")
        built_in, candidate = measure(args.name, args.candidate, args.shared, args.photos)
    except RtstyleError as exc:
        print(f"quality_gate: error: {exc}", file=sys.stderr)
        return 2
    verdict = judge(built_in, candidate)
    print(f"{args.name}: {'replace' if verdict.replace else 'keep the built-in'} ({verdict.reason}; built-in "
          f"{built_in.content:.3g} / {built_in.style:.3g}, new {candidate.content:.3g} / {candidate.style:.3g})")
    return 0 if verdict.replace else 1


if __name__ == "__main__":
    sys.exit(main())
