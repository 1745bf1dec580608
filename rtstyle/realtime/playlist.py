"""Which styles a command uses by default, and the list the webcam hotkeys step through."""

from __future__ import annotations

from rtstyle.errors import RtstyleError
from rtstyle.styles.catalog import (
    FAST_SUFFIX, StyleEntry, find_style, list_styles, style_names, style_specs, without_fast_variants,
)

DEFAULT_STYLE = "mosaic"


def default_style() -> str:
    """`mosaic` when it is installed, else the first available style; an error when there are none."""
    names = style_names()
    if DEFAULT_STYLE in names:
        return DEFAULT_STYLE
    if names:
        return names[0]
    raise RtstyleError("no styles are installed: pass --style PATH.safetensors, or train one with `rtstyle train`")


def own_name(entry: StyleEntry, asked: str) -> str:
    """The style `asked` for (`entry`, what find_style found for it) by its own name, so that its NAME-fast is found:
    `Candy` or `starry_night` as candy or starry-night; a style file's path as it was given."""
    return entry.name if entry.source != "path" else asked


def style_playlist(requested: str | None) -> list[str]:
    """The requested style first, then every available style (built-in, then user), without duplicates; a list
    (`candy,mosaic,udnie`) is those styles only, in that order (`all` in it: every style).

    Fast variants are not separate entries: `with_fast_variants` swaps them in on a CPU.
    """
    listed = style_specs([requested]) if requested is not None else []
    if len(listed) > 1 or listed == ["all"]:
        chosen: list[str] = []
        for item in listed:
            names = without_fast_variants(style_names()) if item == "all" else [own_name(find_style(item), item)]
            chosen += [name for name in names if name not in chosen]
        return chosen
    asked = listed[0] if listed else default_style()
    entry = find_style(asked)  # fails early, with suggestions, for a misspelt name
    first = own_name(entry, asked)
    playlist = [first]
    for name in without_fast_variants(style_names()):
        if name != entry.name and name != first:
            playlist.append(name)
    return playlist


def with_fast_variants(playlist: list[str], on_gpu: bool) -> tuple[list[str], dict[str, str]]:
    """On a CPU, use each style's fast variant (`NAME-fast`, a distilled cheap network) when it is installed.

    On a GPU the full networks are real time, so the variants are dropped where the full style exists.
    Returns the new playlist and, for each style that was swapped, a note to tell the user (keyed by the style
    asked for).
    """
    sources = {entry.name: entry.source for entry in list_styles()}
    # A built-in variant stands in only for the built-in style: a user's own `mosaic` does not get the built-in
    # `mosaic-fast`, which was distilled from another network. A user's `NAME-fast` stands in for any NAME: the
    # user named it so (`train --teacher mosaic --name mosaic-fast`, the documented way to make one).
    installed = {name for name in sources
                 if not name.endswith(FAST_SUFFIX) or sources[name] == "user"
                 or sources.get(name[: -len(FAST_SUFFIX)]) in (None, sources[name])}
    result: list[str] = []
    notes: dict[str, str] = {}
    for name in playlist:
        chosen = name
        if on_gpu and name.endswith(FAST_SUFFIX) and name in installed:
            full = name[: -len(FAST_SUFFIX)]
            if full in installed:
                chosen = full
                notes[name] = f"GPU: using {full} (the full network of {name}; --no-fast to keep {name})"
        elif not on_gpu and not name.endswith(FAST_SUFFIX) and f"{name}{FAST_SUFFIX}" in installed:
            chosen = f"{name}{FAST_SUFFIX}"
            notes[name] = f"no GPU: using {chosen} (the fast network of {name}; --no-fast for the full one)"
        if chosen not in result:
            result.append(chosen)
    return result, notes


def cpu_variant(style: str) -> str:
    """What a CPU would run for `style`: its NAME-fast where `with_fast_variants` swaps one in (found for any spelling
    find_style takes, `Candy` or `starry_night`), else `style` itself."""
    name = own_name(find_style(style), style)
    (chosen,), _ = with_fast_variants([name], on_gpu=False)
    return chosen if chosen != name else style

