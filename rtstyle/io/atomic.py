"""Write files so that a crash or Ctrl-C never leaves a half-written file under the final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rtstyle.errors import RtstyleError


def refuse_to_replace(path: Path, overwrite: bool, what: str = "output", hint: str = "") -> None:
    """The one rule every command follows: an existing file is replaced only when the user said --overwrite.

    Also refused before any work: a folder where the file should go, and a place that cannot be written.
    """
    path = Path(path)
    if path.is_dir():
        raise RtstyleError(f"{what} {path} is a folder: give a file name")
    if path.exists() and not overwrite:
        raise RtstyleError(f"{what} exists: {path} (pass --overwrite to replace it{hint})")
    existing = path.parent
    while not existing.exists() and existing != existing.parent:  # the folders that will be created
        existing = existing.parent
    if existing.exists() and not os.access(existing, os.W_OK):
        raise RtstyleError(f"output directory is not writable: {existing}")


def temp_path_beside(target: Path, suffix: str | None = None) -> Path:
    """A fresh, unused path in the target's directory (same filesystem, so os.replace is atomic).

    The temporary name keeps the target's extension, because encoders pick the container from it.
    """
    target = Path(target)
    directory = target.parent
    ensure_writable_dir(directory)
    fd, name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".part{suffix if suffix is not None else target.suffix}", dir=directory
    )
    os.close(fd)
    # mkstemp creates the file private (0600); give it the mode a plain open() would, as it becomes the output.
    os.chmod(name, 0o666 & ~current_umask())
    return Path(name)


def ensure_writable_dir(directory: Path) -> None:
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RtstyleError(f"cannot create output directory {directory}: {exc.strerror or exc}") from None
    if not os.access(directory, os.W_OK):
        raise RtstyleError(f"output directory is not writable: {directory}")


@contextlib.contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary path; on success it is renamed to `target`, on any failure it is removed."""
    target = Path(target)
    tmp = temp_path_beside(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_output(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
