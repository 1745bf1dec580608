"""A path typed one way and written on disk another: `é` as one letter (NFC, what keyboards type) or as `e` and a
combining accent (NFD, what macOS writes, and what a copy from a Mac keeps). Linux tells the two apart, so a name
that looks the same in `ls` was "not found"."""

from __future__ import annotations

import os
import unicodedata

from rtstyle.errors import RtstyleError


def user_path(text: str, what: str, hint: str = "give a file, folder or pattern") -> str:
    """The path the user meant by `text`, as every command takes a path: `~` (or `~user`) at its start is the home
    folder, also in quotes, where the shell leaves it (a folder of that name is written ./~); a name typed with é as
    one letter finds the file written with a combining accent (`as_on_disk`). An empty one is refused in one line
    (`what` names it): Path("") is the current folder, all of it, searched recursively by a batch."""
    if not text.strip():
        raise RtstyleError(f"{what + ' ' if what else ''}{text!r} is an empty name (an unset shell variable?): {hint}")
    return as_on_disk(os.path.expanduser(text))


def as_on_disk(path: str) -> str:
    """`path`, or where nothing has that name, the path whose every part that differs only in its Unicode form is
    spelt as the one entry of its folder so spelt; `path` when there is none (or more than one)."""
    if os.path.lexists(path) or path.isascii():
        return path
    absolute = path.startswith(os.sep)
    here = os.sep if absolute else ""
    spelt: list[str] = []
    for part in path.split(os.sep)[1 if absolute else 0:]:
        folder = os.path.join(here, *spelt) if (here or spelt) else "."
        if part in ("", ".", "..") or part.isascii() or os.path.lexists(os.path.join(folder, part)):
            spelt.append(part)
            continue
        want = unicodedata.normalize("NFC", part)
        try:
            matches = [name for name in os.listdir(folder) if unicodedata.normalize("NFC", name) == want]
        except OSError:
            return path
        if len(matches) != 1:
            return path
        spelt.append(matches[0])
    return os.path.join(here, *spelt)


def drawable(text: str) -> str:
    """`text` as OpenCV's putText and getTextSize can take it: Python holds a name that is not UTF-8 (caf\\xe9.jpg
    from an old Latin-1 archive) with surrogates, and OpenCV crashed on them (a segmentation fault). Such bytes are
    shown as ls shows them, as �."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
