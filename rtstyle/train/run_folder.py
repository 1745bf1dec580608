"""The folders a run creates for itself (runs/NAME and its parents): a run that fails to start, or stops before its
first step, removes them again, so it leaves no empty runs/NAME behind.
"""

from __future__ import annotations

from pathlib import Path


def missing_dirs(directory: Path) -> list[Path]:
    """`directory` and those of its parents that do not exist yet, deepest first."""
    out = []
    while not directory.exists() and directory != directory.parent:
        out.append(directory)
        directory = directory.parent
    return out


def remove_empty_dirs(directories: list[Path]) -> None:
    for directory in directories:  # deepest first; one that holds anything stops the rest
        try:
            directory.rmdir()
        except OSError:
            return
