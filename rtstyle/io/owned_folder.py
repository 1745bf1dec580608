"""A folder a command rewrites as its own (`rtstyle demo`'s output): it replaces only the files it wrote there.

The folder keeps a list of them (MARKER, one name a line). A run may replace those and removes the ones it no longer
writes (a second demo with fewer styles leaves no stale clip beside a contact sheet that does not show it); any other
file in the folder is the user's and is never replaced or removed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import atomic_write_bytes, ensure_writable_dir

MARKER = ".rtstyle-owned"


class OwnedFolder:
    def __init__(self, directory: Path, owner: str) -> None:
        self.directory = Path(directory)
        self.owner = owner  # the command, as the user typed it: "rtstyle demo"
        self.previous = self._listed()

    def claim(self, names: Iterable[str]) -> None:
        """Before any work: refuse if a file to be written is not one of ours, then forget ours not written again."""
        names = list(names)
        for path in (self.directory / MARKER, *(self.directory / n for n in names)):
            if path.is_dir():  # listed or not, a folder is the user's: never written over, said before any work
                raise RtstyleError(f"{path} is a folder, where {self.owner} writes a file: choose another -o, "
                                   "or move it")
        theirs = [n for n in names if n not in self.previous and (self.directory / n).exists()]
        if theirs:
            raise RtstyleError(f"{self.directory / theirs[0]} exists and is not on the list of files an earlier "
                               f"{self.owner} wrote there ({self.directory / MARKER}): choose another -o, or remove it")
        ensure_writable_dir(self.directory)
        for stale in self.previous - set(names):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                (self.directory / stale).unlink()
        # Listed before they are written: an interrupted run's files are still ours to replace next time.
        atomic_write_bytes(self.directory / MARKER, "".join(f"{n}\n" for n in sorted(names)).encode())

    def _listed(self) -> set[str]:
        try:
            text = (self.directory / MARKER).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return set()
        # Plain names only: a list edited to name ../something must not reach outside the folder.
        return {line for line in text.splitlines()
                if Path(line).name == line and line not in ("", ".", "..", MARKER)}
