"""Which of a batch's found files are results of earlier runs, by their names: STEM_STYLE beside STEM.

Shared by `rtstyle image` and `rtstyle video`: a folder batch finds results along with the photos or clips, and
must leave them alone rather than stylize a result again (x_candy_candy.jpg).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from rtstyle.io.atomic import result_stem
from rtstyle.io.found_files import FoundFile


def earlier_results(found: Sequence[FoundFile], styles: Sequence[str], folder_key: Callable[[Path], str],
                    is_ours: Callable[[Path], bool]) -> set[Path]:
    """Found files named STEM_STYLE for one of `styles` in a folder that also holds STEM (letter case ignored; a long
    STEM shortened as its results are: atomic.result_stem): another found file of any extension, or a file without
    an extension. A photo or clip named without one (`scan0001`, stylized by name) is never found in a folder, where
    only extensions tell what is a photo or a clip, so without the second its result would pass for an input. As a
    file without an extension is seldom a photo or clip (README, Makefile), such a result must also pass `is_ours`
    (the mark rtstyle writes into photos; clips carry none)."""
    results = {(folder_key(item.path.parent), result_stem(item.path.stem, style).casefold())
               for item in found for style in styles}
    earlier = {item.path for item in found if (folder_key(item.path.parent), item.path.stem.casefold()) in results}
    of_extensionless = _results_of_files_without_extension(found, styles, folder_key)
    return earlier | {path for path in of_extensionless - earlier if is_ours(path)}


def _results_of_files_without_extension(found: Sequence[FoundFile], styles: Sequence[str],
                                        folder_key: Callable[[Path], str]) -> set[Path]:
    sources: set[tuple[str, str]] = set()
    for folder in {item.path.parent for item in found if not item.named}:
        try:
            names = [entry.name for entry in os.scandir(folder)
                     if "." not in entry.name.lstrip(".") and entry.is_file()]
        except OSError:
            continue
        sources.update((folder_key(folder), result_stem(name, style).casefold()) for name in names for style in styles)
    return {item.path for item in found if not item.named and sources
            and (folder_key(item.path.parent), item.path.stem.casefold()) in sources}
