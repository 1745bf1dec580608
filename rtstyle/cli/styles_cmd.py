"""`rtstyle styles`: list built-in and user styles with their credits and training record."""

from __future__ import annotations

import json

import click

from rtstyle.errors import RtstyleError
from rtstyle.paths import user_styles_dir
from rtstyle.styles.catalog import arch_summary, list_styles
from rtstyle.wording import counted


def describe(meta: dict) -> str:
    parts = []
    title = meta.get("title")
    if title:
        parts.append(f"{title}" + (f" by {meta['artist']}" if meta.get("artist") else ""))
    elif meta.get("source_image"):  # a style the user trained: its painting's file name is what they know it by
        # --init and --teacher too: a 300-step fine-tune of mosaic is not a 300-step style from scratch
        parts.append(f"from {meta['source_image']}" + (f", fine-tuned from {meta['init']}" if meta.get("init") else "")
                     + (f", distilled from {meta['teacher']}" if meta.get("teacher") else ""))
    if meta.get("steps"):
        planned = (meta.get("hyperparameters") or {}).get("steps")
        if meta.get("stopped_early") and planned:  # a --time-limit run: resumable, not finished
            parts.append(f"{meta['steps']} of {planned} steps (stopped by --time-limit; --resume continues)")
        else:
            parts.append(counted(meta["steps"], "step"))
    if meta.get("stopgap"):
        parts.append("stopgap (reduced recipe)")
    return "; ".join(parts)


@click.command(short_help="List the built-in styles and your own, with credits.")
@click.option("--json", "as_json", is_flag=True, help="Print the full metadata as JSON.")
def styles(as_json: bool) -> None:
    """List the available styles (built-in and user-trained) with their metadata."""
    rows = []
    for entry in list_styles():
        try:
            meta = entry.metadata()
        except RtstyleError as exc:
            meta = {"error": str(exc)}
        rows.append((entry, meta))
    if as_json:
        click.echo(json.dumps([{**m, "name": e.name, "source": e.source, "path": str(e.path)} for e, m in rows],
                              indent=2, default=str))
        return
    if not rows:
        click.echo(f"no styles found; user styles go in {user_styles_dir()} (train one with `rtstyle train`)")
        return
    width = max(len(e.name) for e, _ in rows)
    for entry, meta in rows:
        if "error" in meta:
            click.echo(f"{entry.name:<{width}}  {entry.source:<8}  unusable: {meta['error']}")
            continue
        arch_text = arch_summary(meta)
        click.echo(f"{entry.name:<{width}}  {entry.source:<8}  {arch_text:<24}  {describe(meta)}")
        credit = meta.get("licence")
        if credit:
            click.echo(f"{'':<{width}}  {'':<8}  {credit}")
    click.echo(f"\nuser styles: {user_styles_dir()}")
