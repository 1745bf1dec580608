#!/usr/bin/env python3
"""Write docs/styles.md: each built-in style's credits, training and quality, from its metadata and a report.

The quality numbers come from `scripts/style_quality_report.py --json` run on the built-ins by name (records
whose `style` is not a built-in's name are ignored). Usage:
    python scripts/style_quality_report.py --shared ../shared --json docs/quality.json --sheet docs/styles_vs_gatys.jpg
    python scripts/make_styles_doc.py --quality docs/quality.json --notes docs/train/styles_reading.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rtstyle.styles.catalog import arch_summary, list_styles, without_fast_variants

REPO = Path(__file__).resolve().parent.parent

INTRO = """# Built-in styles

![Built-in styles on public-domain photos](styles.png)

`rtstyle styles` lists them with their credits (`rtstyle styles show NAME`: one in full); `python
scripts/make_style_gallery.py` renders the sheet above.
Each style is one `.safetensors` file in `rtstyle/styles/builtin/` whose metadata holds the painting's title,
artist, source file and licence note, the recipe, its steps and time, and the final losses.

**All built-ins are still stopgaps** (`stopgap: true`, with the reason in `stopgap_reason`). The nine johnson
networks were trained from random weights on one H100 with the full recipe's settings (256 px crops, Adam 1e-3,
content 1, style 5, temporal loss from the start), but the session's 30 minutes of GPU allowed 1,367-2,294 steps
at batch 16, 22k-37k crops instead of the recipe's 80k (20,000 steps at batch 4). Every style also has a
`NAME-fast` network, distilled from its johnson network on the CPU (`docs/fast_vs_johnson.md`), which the
webcam picks when there is no GPU. See `docs/train/README.md` for each run. The time column
is wall time: on the GPU, 4 to 9 styles trained side by side and shared it.
"""

QUALITY_INTRO = """## Quality check

Content and style loss are the training objective's terms with the default weights for the Caffe VGG16
(content relu2_2 weight 1, style relu1_2..relu4_3 weight 5, Johnson's `train.lua`; `rtstyle/metrics/perceptual.py`),
with the painting at the size each style was trained with (its own objective: 512 px, mosaic 470 px). "eval": the
mean over the {photos} evaluation photos of `../shared/data/content/eval` at {size} px. "2 photos": Grace Hopper
and Chelsea the cat (public domain) at {gatys_size} px, through the network and through a Gatys-style
optimisation of the same objective (L-BFGS, {iterations} iterations from the photo; `rtstyle/train/optimize.py`),
the reference Johnson et al. 2016 (Sec. 4.1) compare feed-forward networks with. Lower is better for both; the
optimisation keeps more of the photo, so read the style ratio next to the content losses. Losses of
different styles are not comparable with each other (each painting has its own scale); the ratio to the
optimum is.
"""


def format_seconds(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def steps_text(meta: dict) -> str:
    seen = meta.get("images_seen")
    return f"{meta.get('steps', '?'):,}" + (f" ({seen:,} crops)" if seen else "")


def trained_on(meta: dict) -> str:
    """GPU or CPU, per stage: a built-in continued on another device records e.g. "cuda, then cpu"."""
    return ", then ".join("GPU" if device == "cuda" else "CPU"
                          for device in str(meta.get("device", "cpu")).split(", then "))


def credits_table(styles: list) -> str:
    lines = ["| style | painting | licence note | network | steps | trained on | time | final content / style / tv |",
             "|---|---|---|---|---:|---|---:|---|"]
    for entry in styles:
        meta = entry.metadata()
        losses = meta.get("losses", {})
        loss_text = " / ".join(f"{losses[k]:.2g}" for k in ("content", "style", "tv") if k in losses)
        lines.append(f"| `{entry.name}` | *{meta.get('title', '?')}*, {meta.get('artist', '?')} | "
                     f"{meta.get('licence', '?')} | {arch_summary(meta)} | {steps_text(meta)} | "
                     f"{trained_on(meta)} | "
                     f"{format_seconds(meta.get('training_seconds', 0))} | {loss_text} |")
    return "\n".join(lines)


def quality_table(records: dict[str, dict], names: list[str]) -> str:
    lines = ["| style | content (eval) | style (eval) | content (2 photos) | style (2 photos) | Gatys content | "
             "Gatys style | style / Gatys |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        record = records.get(name)
        if record is None:
            lines.append(f"| `{name}` | not measured | | | | | | |")
            continue
        ev, ref, gatys = record["eval"], record["reference"], record.get("gatys")
        gatys_cells = (f"{gatys['content_loss']:.3g} | {gatys['style_loss']:.3g} | "
                       f"{ref['style_loss'] / gatys['style_loss']:.1f}x" if gatys else "- | - | -")
        lines.append(f"| `{name}` | {ev['content_loss']:.3g} | {ev['style_loss']:.3g} | {ref['content_loss']:.3g} | "
                     f"{ref['style_loss']:.3g} | {gatys_cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", type=Path, required=True, help="JSON of scripts/style_quality_report.py")
    parser.add_argument("--notes", type=Path, help="markdown appended after the tables (observations)")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "docs/styles.md")
    args = parser.parse_args()

    styles = [e for e in list_styles() if e.source == "built-in"]
    records = {r["style"]: r for r in json.loads(args.quality.read_text(encoding="utf-8"))}
    first = next(iter(records.values()))
    gatys = next((r["gatys"] for r in records.values() if "gatys" in r), {"iterations": 0})
    parts = [INTRO, "## Credits and training\n", credits_table(styles), "",
             QUALITY_INTRO.format(photos=first["eval_photos"], size=first["eval_size"],
                                  gatys_size=first.get("reference_size", 256), iterations=gatys["iterations"]),
             quality_table(records, without_fast_variants([e.name for e in styles])), ""]  # fast: own page
    if args.notes:
        parts += [args.notes.read_text(encoding="utf-8").rstrip(), ""]
    args.output.write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {args.output} ({len(styles)} styles, {len(records)} quality records)")


if __name__ == "__main__":
    main()
