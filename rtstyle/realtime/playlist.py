"""Which styles a command uses by default, and the list the webcam hotkeys step through."""

from __future__ import annotations

from rtstyle.errors import RtstyleError
from rtstyle.styles.catalog import find_style, style_names

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
    """The requested style first, then every available style (built-in, then user), without duplicates."""
    first = requested if requested is not None else default_style()
    entry = find_style(first)  # fails early, with suggestions, for a misspelt name
    playlist = [first]
    for name in style_names():
        if name != entry.name and name != first:
            playlist.append(name)
    return playlist
