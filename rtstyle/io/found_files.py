"""Which files a command's inputs name: files, folders (searched recursively) and glob patterns, each file once.

Shared by `rtstyle image` (photos) and `rtstyle video` (clips): what counts as one of their files is theirs to say.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from rtstyle.errors import RtstyleError
from rtstyle.io.unicode_names import user_path


@dataclass(frozen=True)
class FoundFile:
    path: Path
    root: Path  # the folder given, the fixed part of a glob pattern, or a named file's own folder
    named: bool  # given by name on the command line (not found in a folder or by a pattern)


def find_files(inputs: Iterable[str], wanted: Callable[[Path], bool],
               no_match: Callable[[str, list[Path]], RtstyleError]) -> list[FoundFile]:
    """The files named, the `wanted` files in folders and matched by patterns, in a stable order, without
    duplicates, with where each was found (so outputs can mirror the subfolders). A file named on the command line
    is taken whatever its name. `no_match(pattern, files)`: the error for a pattern that matches none wanted.

    A file is one input however it is spelled (`q` and `$PWD/q`, a link): reached twice, it keeps the outermost
    root (`r/sub r` and `r r/sub` agree), with that root's spelling, and counts as named if it was named once.
    """
    found: dict[str, FoundFile] = {}

    def add(path: Path, root: Path, named: bool) -> None:
        key = os.path.realpath(path)
        earlier = found.get(key)
        item = FoundFile(path, root, named)
        if earlier is not None:  # the outermost root; under one root, the spelling without a linked folder
            outer = min(earlier, item,
                        key=lambda i: (len(Path(os.path.realpath(i.root)).parts), _through_link(i.path)))
            item = FoundFile(outer.path, outer.root, named or earlier.named)
        found[key] = item

    for text in inputs:
        text = user_path(text, "input")
        path = Path(text)
        if path.is_dir():
            for p in files_below(path, wanted):
                add(p, path, False)
        elif path.exists():
            add(path, path.parent, True)
        elif glob.has_magic(text):
            files = [p for p in sorted(Path(p) for p in glob.glob(text, recursive=True)) if p.is_file()]
            matched = [p for p in files if wanted(p)]
            if not matched:
                raise no_match(text, files)
            for p in matched:
                add(p, Path(*_until_magic(path.parts)), False)
        else:
            raise RtstyleError(f"input not found: {text}")
    # Inputs from several places (files named one by one or by a shell's *, several folders) share one root,
    # the common parent: under -o each keeps its subfolders, so d1/a.png and d2/a.png never meet.
    roots = {os.path.abspath(item.root) for item in found.values()}
    if len(roots) > 1:
        try:
            common = Path(os.path.commonpath(sorted(roots)))
        except ValueError:  # on different drives (Windows): each keeps its own root
            roots = set()
        if roots:
            found = {key: FoundFile(item.path, common, item.named) for key, item in found.items()}
    return list(found.values())


def files_below(folder: Path, wanted: Callable[[Path], bool]) -> list[Path]:
    """The `wanted` files in a folder and its subfolders, sorted. Linked folders are followed, but never into a
    folder being walked already (a link to a parent would loop); a folder reached twice is found twice, and
    find_files keeps the spelling without the link. Hidden files and folders are skipped, as `*` skips them in a
    shell: a temporary ".name.part.png" of a killed run, macOS's "._photo.jpg", ".thumbnails/"."""
    top = Path(folder)
    found: list[Path] = []
    for root, folders, files in os.walk(top, followlinks=True):
        here = Path(root)
        walking = {os.path.realpath(p) for p in (here, *here.parents) if p == top or top in p.parents}
        folders[:] = [n for n in folders if not n.startswith(".") and os.path.realpath(here / n) not in walking]
        found += [here / n for n in files if not n.startswith(".") and wanted(Path(n)) and (here / n).is_file()]
    return sorted(found)


def _through_link(path: Path) -> bool:
    """Whether a path reaches its file through a linked folder."""
    return os.path.realpath(path.parent) != os.path.abspath(path.parent)


def _until_magic(parts: tuple[str, ...]) -> list[str]:
    """The leading path parts without glob characters."""
    fixed: list[str] = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return fixed


def below_output(found: FoundFile, output: Path) -> bool:
    """Whether a file found in a folder or by a pattern lies in -o DIR, itself inside the folder searched (its
    results there are not inputs; -o naming the searched folder itself is the folder, not a results folder)."""
    out, root, path = (os.path.realpath(p) for p in (output, found.root, found.path))
    return out.startswith(root + os.sep) and path.startswith(out + os.sep)
