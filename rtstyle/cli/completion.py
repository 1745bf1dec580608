"""What Tab offers for rtstyle's values: installed style names, architectures, and the shell's own path completion.

Completion runs the whole `rtstyle` program at every Tab (click's `_RTSTYLE_COMPLETE` protocol), so everything
here is read from the styles folders and the styles' metadata headers, never their weights, and the command
modules import no torch, onnxruntime, OpenCV or PyAV until a command runs (tests/test_completion.py checks it).
"""

from __future__ import annotations

from click import Context, Parameter
from click.shell_completion import CompletionItem


def complete_path(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """The shell's path completion, for a value click would otherwise complete with nothing (a plain string)."""
    return [CompletionItem(incomplete, type="file")]


def complete_style(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """Installed style names (built-in, NAME-fast, the user's own) that begin with what was typed, and paths (style
    files, .onnx models). The paths first: click's bash script empties its replies at a "file" item, and falls back
    to the shell's paths only when no name follows (zsh and fish offer both)."""
    return [*complete_path(ctx, param, incomplete), *style_items(incomplete)]


def complete_style_list(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """complete_style for `-s a,b,c`: the part after the last comma, and `all`, the option's word for every style."""
    done, _, last = incomplete.rpartition(",")
    prefix = f"{done}," if done else ""
    items = [CompletionItem(prefix + item.value, help=item.help) for item in style_items(last, with_all=True)]
    return items if done else [*complete_path(ctx, param, incomplete), *items]  # no paths after a comma


def complete_arch(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """Architecture names from the registry (`rtstyle archs`)."""
    from rtstyle.models.registry import available_models

    return [CompletionItem(name) for name in available_models() if name.startswith(incomplete)]


def style_items(incomplete: str, with_all: bool = False) -> list[CompletionItem]:
    """Style names beginning with `incomplete` as find_style reads it (any case, `_` for `-`), each with its title."""
    from rtstyle.errors import RtstyleError
    from rtstyle.styles.catalog import FAST_SUFFIX, list_styles

    if "/" in incomplete or "\\" in incomplete or incomplete.startswith((".", "~")):
        return []  # a path: the shell's part
    key = incomplete.lower().replace("_", "-")
    items = [CompletionItem("all", help="every installed style")] if with_all and "all".startswith(key) else []
    try:
        entries = list_styles()
    except OSError:  # an unreadable styles folder: no names, rather than an error printed over the command line
        entries = []
    for entry in entries:
        if not entry.name.startswith(key):
            continue
        try:
            meta = entry.metadata()  # the header only: a few kB, whatever the weights weigh
        except RtstyleError:
            items.append(CompletionItem(entry.name, help="unusable (see `rtstyle styles`)"))
            continue
        title = str(meta.get("title") or meta.get("source_image") or f"{entry.source} style")
        fast = ", fast network" if entry.name.endswith(FAST_SUFFIX) else ""
        items.append(CompletionItem(entry.name, help=f"{title}{fast}"))
    return items
