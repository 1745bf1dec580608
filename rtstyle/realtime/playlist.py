"""Which styles a command uses by default, and the list the webcam hotkeys step through."""

from __future__ import annotations

from rtstyle.errors import RtstyleError
from rtstyle.styles.catalog import FAST_SUFFIX, find_style, list_styles, style_names, without_fast_variants

DEFAULT_STYLE = "mosaic"


def default_style() -> str:
    """`mosaic` when it is installed, else the first available style; an error when there are none."""
    names = style_names()
    if DEFAULT_STYLE in names:
        return DEFAULT_STYLE
    if names:
        return names[0]
    raise RtstyleError("no styles are installed: pass --style PATH.safetensors, or train one with `rtstyle train`")


def style_playlist(requested: str | None) -> list[str]:
    """The requested style first, then every available style (built-in, then user), without duplicates.

    Fast variants are not separate entries: `with_fast_variants` swaps them in on a CPU.
    """
    first = requested if requested is not None else default_style()
    entry = find_style(first)  # fails early, with suggestions, for a misspelt name
    playlist = [first]
    for name in without_fast_variants(style_names()):
        if name != entry.name and name != first:
            playlist.append(name)
    return playlist


def with_fast_variants(playlist: list[str], on_gpu: bool) -> tuple[list[str], list[str]]:
    """On a CPU, use each style's fast variant (`NAME-fast`, a distilled cheap network) when it is installed.

    On a GPU the full networks are real time, so the variants are dropped where the full style exists.
    Returns the new playlist and one note per substitution, to tell the user.
    """
    sources = {entry.name: entry.source for entry in list_styles()}
    # A variant stands in only for a style of the same origin: a user's own `mosaic` does not get the built-in
    # `mosaic-fast`, which was distilled from another network.
    installed = {name for name in sources
                 if not name.endswith(FAST_SUFFIX) or sources.get(name[: -len(FAST_SUFFIX)]) in (None, sources[name])}
    result: list[str] = []
    notes: list[str] = []
    for name in playlist:
        fast = f"{name}{FAST_SUFFIX}"
        if on_gpu:
            full = name[: -len(FAST_SUFFIX)] if name.endswith(FAST_SUFFIX) else None
            chosen = name if full is None or full not in installed or full == name else full
        elif not name.endswith(FAST_SUFFIX) and fast in installed:
            chosen = fast
            notes.append(f"no GPU: using {fast} (the fast network of {name}; --no-fast for the full one)")
        else:
            chosen = name
        if chosen not in result:
            result.append(chosen)
    return result, notes
