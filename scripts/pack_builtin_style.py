#!/usr/bin/env python3
"""Pack a trained style into the package as a built-in: int8 conv kernels, float16 elsewhere.

The packed network must stylize the committed test photos like the trained one (mean difference at most
1 on 0..255), else nothing is written. Usage:
    python scripts/pack_builtin_style.py runs/out/shipwreck.safetensors [--name shipwreck]
    python scripts/pack_builtin_style.py runs/out/mosaic-temporal.safetensors --name mosaic \
        --fine-tuned-from runs/orig/mosaic.safetensors
--fine-tuned-from names the style the network was fine-tuned from (`rtstyle train --init`): its painting
credits are copied (--init does not carry them, as the painting may differ), and its recipe, steps and
training time come first in the packed style's own, so the metadata tells the whole training history.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from rtstyle.engine import create_stylizer
from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import atomic_write_bytes
from rtstyle.io.images import read_image
from rtstyle.paths import builtin_styles_dir
from rtstyle.styles.catalog import find_style
from rtstyle.styles.format import TEACHER_CREDIT_KEYS, StyleFile, load_style_file, save_style_file
from rtstyle.train.hparams import BUILTIN_RECIPE_IMAGES

REPO = Path(__file__).resolve().parent.parent
PHOTOS = [REPO / "tests/data/chelsea.png", REPO / "tests/data/grace_hopper.jpg", REPO / "rtstyle/assets/astronaut.png"]
MAX_MEAN_DIFFERENCE = 1.0
STORAGE_NOTES = {"int8": "int8 conv kernels (one float16 scale per output channel), float16 otherwise",
                 "float16": "float16"}


def output_difference(reference: Path, packed: Path) -> tuple[float, float]:
    """(mean, 99th percentile) of |reference - packed| over the test photos, 0..255."""
    a = create_stylizer(str(reference), backend="onnx", device="cpu")
    b = create_stylizer(str(packed), backend="onnx", device="cpu")
    diffs = np.concatenate([np.abs(a(p).astype(np.int16) - b(p).astype(np.int16)).ravel()
                            for p in (read_image(path) for path in PHOTOS)])
    return float(diffs.mean()), float(np.percentile(diffs, 99))


def joined_recipes(earlier: str, later: str) -> str:
    """One recipe text for a network trained in stages, each stage's sentence ended."""
    return f"{earlier.rstrip().rstrip('.')}. Then fine-tuned: {later}"


def add_parent_history(style: StyleFile, parent_name: str) -> None:
    """Credits from the parent; its recipe, steps and training time before this network's own."""
    entry = find_style(parent_name)
    parent = entry.metadata()
    meta = style.metadata
    meta.update({k: parent[k] for k in TEACHER_CREDIT_KEYS if k in parent})
    earlier = f"built-in {parent['name']}" if entry.source == "built-in" else f"stage {entry.path.name}"
    meta["init"] = f"the earlier {earlier} (its recipe first in 'recipe')"
    meta["recipe"] = joined_recipes(parent.get("recipe", "unrecorded"), meta.get("recipe", "unrecorded"))
    meta["images_seen"] = images_seen(parent) + images_seen(meta)  # before steps become the sum
    meta["steps"] = parent.get("steps", 0) + meta.get("steps", 0)
    meta["training_seconds"] = round(parent.get("training_seconds", 0) + meta.get("training_seconds", 0), 1)
    # A GPU stage continued on the CPU (or the reverse) ran on both: the record names each, in order.
    for key, separator in (("device", ", then "), ("machine", "; then ")):
        history = stage_history(parent.get(key), meta.get(key), separator)
        if history:
            meta[key] = history


def stage_history(earlier: str | None, this: str | None, separator: str) -> str | None:
    """The earlier stages' value, then this stage's where it differs from the last one."""
    if not earlier or not this:
        return this or earlier
    return earlier if earlier.split(separator)[-1] == this else f"{earlier}{separator}{this}"


def images_seen(meta: dict) -> int:
    """Training crops a run saw: recorded, or its steps times its batch size."""
    return meta.get("images_seen") or meta.get("steps", 0) * meta.get("hyperparameters", {}).get("batch_size", 0)


def mark_recipe(meta: dict) -> None:
    """A built-in short of the full recipe's crops is a stopgap, and says why; one with them is not.

    A distilled network is as much a stopgap as its teacher (the trainer copies the teacher's flag)."""
    seen = meta["images_seen"] = images_seen(meta)
    if meta.get("teacher"):
        if meta.get("stopgap"):
            meta["stopgap_reason"] = f"distilled from {meta['teacher']}, itself a stopgap"
        return
    meta["stopgap"] = seen < BUILTIN_RECIPE_IMAGES
    if meta["stopgap"]:
        meta["stopgap_reason"] = (f"{seen:,} training crops instead of the full recipe's "
                                  f"{BUILTIN_RECIPE_IMAGES:,} (20,000 steps at batch 4)")
    else:
        meta.pop("stopgap_reason", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("style", type=Path)
    parser.add_argument("--name", help="built-in name (default: the style's own)")
    parser.add_argument("--fine-tuned-from", help="style (name or path) this network was fine-tuned from")
    parser.add_argument("--storage", choices=("auto", "int8", "float16"), default="auto",
                        help="conv kernels in int8 (a quarter of float32) or all float16; auto: int8 where it moves "
                             f"the output by at most {MAX_MEAN_DIFFERENCE} on average, else float16")
    args = parser.parse_args()
    style = load_style_file(args.style)
    if args.fine_tuned_from:
        add_parent_history(style, args.fine_tuned_from)
    name = args.name or style.name
    style.metadata["name"] = name
    style.metadata.pop("stopped_early", None)  # a stage cut by --time-limit; steps and images_seen tell the rest
    mark_recipe(style.metadata)
    storages = ("int8", "float16") if args.storage == "auto" else (args.storage,)
    with tempfile.TemporaryDirectory() as tmp:
        packed = Path(tmp) / f"{name}.safetensors"
        for storage in storages:
            style.metadata["weight_storage"] = STORAGE_NOTES[storage]
            save_style_file(packed, style, int8=storage == "int8", half=True)
            mean, p99 = output_difference(args.style, packed)
            print(f"{name}: {storage} packing moves the output by {mean:.3f} on average (p99 {p99:.0f}) on 0..255")
            if mean <= MAX_MEAN_DIFFERENCE:
                break
        else:
            print(f"refused: more than {MAX_MEAN_DIFFERENCE}", file=sys.stderr)
            return 1
        target = builtin_styles_dir() / f"{name}.safetensors"
        atomic_write_bytes(target, packed.read_bytes())
    print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RtstyleError as exc:  # a missing or broken style file: one line, like the CLI
        print(f"pack_builtin_style: error: {exc}", file=sys.stderr)
        sys.exit(2)
