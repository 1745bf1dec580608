"""`rtstyle styles`: list built-in and user styles with their credits and training record; show one in full; add,
rename and remove your own."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import click

from rtstyle.cli.completion import complete_style, style_items
from rtstyle.cli.options import UserPath
from rtstyle.errors import RtstyleError
from rtstyle.paths import user_styles_dir
from rtstyle.styles.catalog import FAST_SUFFIX, StyleEntry, arch_summary, builtin_names, find_style, list_styles
from rtstyle.wording import counted, file_size, how_long


def painting(meta: dict[str, Any]) -> str:
    """"The Starry Night by Vincent van Gogh (1889)", or the title alone."""
    return f"{meta['title']}" + (f" by {meta['artist']}" if meta.get("artist") else "")


def describe(meta: dict) -> str:
    parts = []
    if meta.get("title"):
        parts.append(painting(meta))
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


def as_json(entry: StyleEntry, meta: dict[str, Any]) -> dict[str, Any]:
    return {**meta, "name": entry.name, "source": entry.source, "path": str(entry.path)}


def complete_user_style(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Tab for `remove` and `rename`: only the user's own styles, which are what they take."""
    mine = {e.name for e in list_styles() if e.source == "user"}
    return [item for item in style_items(incomplete) if item.value in mine]


@click.group(invoke_without_command=True, short_help="List the styles with credits; show, add, rename, remove.")
@click.option("--json", "json_output", is_flag=True, help="Print the full metadata as JSON.")
@click.pass_context
def styles(ctx: click.Context, json_output: bool) -> None:
    """List the available styles (built-in and user-trained) with their metadata.

    \b
      rtstyle styles show starry-night          # everything about one style: painting, recipe, losses
      rtstyle styles add ~/Downloads/ink.safetensors   # install a style file someone shared
      rtstyle styles rename mystyle ink         # your own styles only
      rtstyle styles remove ink                 # asks first (--yes does not)
    """
    if ctx.invoked_subcommand is not None:
        return
    rows = []
    for entry in list_styles():
        try:
            meta = entry.metadata()
        except RtstyleError as exc:
            meta = {"error": str(exc)}
        rows.append((entry, meta))
    if json_output:
        click.echo(json.dumps([as_json(e, m) for e, m in rows], indent=2, default=str))
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


@styles.command(short_help="Everything about one style: painting, network, recipe, losses.")
@click.argument("style", shell_complete=complete_style)
@click.option("--json", "json_output", is_flag=True, help="Print its full metadata as JSON.")
def show(style: str, json_output: bool) -> None:
    """Show one style (a name or a style file) in full: its painting and licence, its network and file, how it was
    trained (recipe, steps, time, machine) and its final losses."""
    entry = find_style(style)
    meta = entry.metadata()
    if json_output:
        click.echo(json.dumps(as_json(entry, meta), indent=2, default=str))
        return
    click.echo(f"{entry.name} ({entry.source} style)")
    rows = full_description(entry, meta)
    label_width = max(len(label) for label, _ in rows)
    text_width = max(40, shutil.get_terminal_size((100, 24)).columns - label_width - 4)
    for label, value in rows:
        lines = textwrap.wrap(value, text_width, break_long_words=False, break_on_hyphens=False) or [""]
        click.echo(f"  {label:<{label_width}}  {lines[0]}")
        for line in lines[1:]:
            click.echo(f"  {'':<{label_width}}  {line}")


def full_description(entry: StyleEntry, meta: dict[str, Any]) -> list[tuple[str, str]]:
    """`rtstyle styles show`'s rows: (label, text), only those the style's metadata can fill."""
    rows: list[tuple[str, str]] = []
    if meta.get("title"):
        rows.append(("painting", painting(meta)))
    if meta.get("source_image"):
        rows.append(("painting file", str(meta["source_image"])))
    if meta.get("licence"):
        rows.append(("licence", str(meta["licence"])))
    rows.append(("network", arch_summary(meta) + (f"; {meta['weight_storage']}" if meta.get("weight_storage") else "")))
    rows.append(("file", f"{entry.path} ({file_size(entry.path.stat().st_size)})"))
    for key, label in (("init", "started from"), ("teacher", "distilled from")):
        if meta.get(key):
            rows.append((label, str(meta[key])))
    rows.extend(training_rows(meta))
    if meta.get("stopgap"):
        rows.append(("stopgap", str(meta.get("stopgap_reason") or "trained with a reduced recipe")))
    rows.extend(relation_rows(entry))
    return rows


def training_rows(meta: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    hp = meta.get("hyperparameters") or {}
    if meta.get("steps"):
        trained = counted(int(meta["steps"]), "step")
        if meta.get("images_seen"):
            trained += f", {counted(int(meta['images_seen']), 'training image')} in all"
        if meta.get("training_seconds"):
            trained += f", {how_long(float(meta['training_seconds']))}"
        if meta.get("device"):
            trained += f" on {'the GPU' if meta['device'] == 'cuda' else meta['device']}"
        if meta.get("stopped_early") and hp.get("steps"):
            trained += (f" (stopped by --time-limit at {meta['steps']} of {hp['steps']}; `rtstyle train --resume` "
                        "goes on)")
        rows.append(("trained", trained))
    if meta.get("recipe"):
        rows.append(("recipe", str(meta["recipe"])))
    if hp:
        rows.append(("settings", settings_text(hp, distilled=bool(meta.get("teacher")))))
    recorded = meta.get("losses") or {}
    over = recorded.get("averaged_over_last_steps")
    losses = {k: v for k, v in recorded.items() if isinstance(v, (int, float)) and k != "averaged_over_last_steps"}
    if losses:
        rows.append(("final losses", ", ".join(f"{k} {v:.3g}" for k, v in losses.items())
                     + (f" (mean of the last {over} steps)" if over else "")))
    for key, label in (("machine", "machine"), ("content", "photos"), ("vgg_convention", "loss network"),
                       ("created", "created"), ("rtstyle_version", "rtstyle")):
        if meta.get(key):
            rows.append((label, str(meta[key])))
    return rows


def settings_text(hp: dict[str, Any], *, distilled: bool) -> str:
    """The run's hyperparameters in the order one reads a recipe (the teacher term only where there was one)."""
    named = [("batch", "batch_size"), ("crop", "crop_size"), ("lr", "lr"), ("content", "content_weight"),
             ("style", "style_weight"), ("tv", "tv_weight"), ("temporal", "temporal_weight"),
             ("teacher term", "distill_weight"), ("painting at", "style_size"), ("margin", "border_margin"),
             ("seed", "seed")]
    if not distilled:
        named.remove(("teacher term", "distill_weight"))
    shown = [(label, hp[key]) for label, key in named if key in hp and (hp[key] or key == "seed")]  # 0: unused
    parts = [f"{label} {value:g}" if isinstance(value, float) else f"{label} {value}" for label, value in shown]
    return ", ".join(parts)


def relation_rows(entry: StyleEntry) -> list[tuple[str, str]]:
    """The style's fast variant or full network as a CPU pairs them (playlist.cpu_variant: a user's own mosaic does
    not get the built-in mosaic-fast), and the built-in a user style stands in for."""
    from rtstyle.realtime.playlist import cpu_variant

    if entry.source == "path":  # a file elsewhere: a name of the same stem would be another style
        return []
    rows = []
    full = entry.name[: -len(FAST_SUFFIX)] if entry.name.endswith(FAST_SUFFIX) else None
    if full and full in {e.name for e in list_styles()} and cpu_variant(full) == entry.name:
        rows.append(("full network", f"{full} (on a CPU the webcam runs this fast network in its place)"))
    elif (fast := cpu_variant(entry.name)) != entry.name:
        rows.append(("fast variant", f"{fast} (what the webcam runs on a CPU)"))
    if entry.source == "user" and entry.name in builtin_names():
        rows.append(("stands in for", f"the built-in {entry.name} (`rtstyle styles remove {entry.name}` brings it "
                                      "back)"))
    return rows


@styles.command(short_help="Install style files someone shared as your own styles.")
@click.argument("files", nargs=-1, required=True, type=UserPath(path_type=Path))
@click.option("--name", help="The name to give it (one file only); default: the file's name.")
@click.option("--overwrite", is_flag=True, help="Replace a style of yours with that name.")
def add(files: tuple[Path, ...], name: str | None, overwrite: bool) -> None:
    """Install rtstyle style files (.safetensors, as `rtstyle train` writes them) into your styles folder, so that
    `--style NAME` finds them. Each is checked whole before it is installed, and the file given is left as it is."""
    from rtstyle.styles.manage import add_style

    if name is not None and len(files) > 1:
        raise RtstyleError("--name names one style: give one file with it")
    for file in files:
        change = add_style(file, name, overwrite=overwrite)
        meta = find_style(change.name).metadata()
        click.echo(f"added style {change.name!r}: {describe(meta) or 'no credits recorded'}", err=True)
        if change.stands_in_for_builtin:
            click.echo(f"  it stands in for the built-in {change.name} (`rtstyle styles remove {change.name}` "
                       "brings that back)", err=True)
        click.echo(str(change.path))


@styles.command(short_help="Rename one of your styles.")
@click.argument("old", shell_complete=complete_user_style)
@click.argument("new")
@click.option("--overwrite", is_flag=True, help="Replace a style of yours already called NEW.")
def rename(old: str, new: str, overwrite: bool) -> None:
    """Rename your style OLD to NEW (built-ins keep their names). Its fast variant, if you have one (OLD-fast),
    keeps its name until you rename it too."""
    from rtstyle.styles.manage import rename_style, user_style

    old_name = (entry := user_style(old, "renamed")).name
    change = rename_style(entry, new, overwrite=overwrite)
    click.echo(f"renamed {old_name!r} to {change.name!r}", err=True)
    if change.stands_in_for_builtin:
        click.echo(f"  it stands in for the built-in {change.name} (`rtstyle styles remove {change.name}` brings "
                   "that back)", err=True)
    if _is_user_style(old_name + FAST_SUFFIX):
        click.echo(f"  {old_name}{FAST_SUFFIX} keeps its name: `rtstyle styles rename {old_name}{FAST_SUFFIX} "
                   f"{change.name}{FAST_SUFFIX}` makes it {change.name}'s fast variant", err=True)
    click.echo(str(change.path))


@styles.command(short_help="Remove some of your styles (asks first).")
@click.argument("names", nargs=-1, required=True, shell_complete=complete_user_style)
@click.option("-y", "--yes", is_flag=True, help="Remove without asking.")
def remove(names: tuple[str, ...], yes: bool) -> None:
    """Remove your styles NAMES... from your styles folder, with the ONNX models rtstyle built from them (built
    again if ever needed). Built-in styles are part of rtstyle and cannot be removed."""
    from rtstyle.styles.manage import remove_style, user_style

    entries = list({e.name: e for e in (user_style(n, "removed") for n in names)}.values())  # all found, or none go
    listed = ", ".join(f"{e.name} ({file_size(e.path.stat().st_size)})" for e in entries)
    if not yes:
        if not sys.stdin.isatty():
            raise RtstyleError(f"removing asks first, and there is no terminal to ask at: pass --yes to remove "
                               f"{listed}")
        if not click.confirm(f"remove {listed} from {user_styles_dir()}?", default=False, err=True):
            click.echo("nothing removed", err=True)
            return
    gone = {e.name for e in entries}
    for entry in entries:
        models = remove_style(entry)
        extra = f" and {counted(len(models), 'ONNX model')} built from it" if models else ""
        click.echo(f"removed {entry.name!r}{extra}", err=True)
        if entry.name in builtin_names():
            click.echo(f"  `--style {entry.name}` is the built-in {entry.name} again", err=True)
        if entry.name + FAST_SUFFIX not in gone and _is_user_style(entry.name + FAST_SUFFIX):
            click.echo(f"  {entry.name}{FAST_SUFFIX}, its fast variant, is still installed", err=True)


def _is_user_style(name: str) -> bool:
    return any(e.name == name and e.source == "user" for e in list_styles())
