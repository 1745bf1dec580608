"""Tell a live run's hidden temporary files from those a stopped run left behind.

Every temporary file rtstyle writes beside an output holds an exclusive lock (flock) for as long as the run
writes it. The system lets go of a lock however the process ends (kill -9, a crash; a power loss ends them
all), so a temporary file nobody holds is a stopped run's. A process id would not do: a live run on another
machine writing the same network folder, or in another container, has an id that does not exist here (its
file would be taken for a stopped run's and deleted under it), and a stopped run's id is soon another
program's (its file kept forever). A lock is the file's own state, seen alike by every process that opens
it (NFS passes flock on as a lock of the whole file).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; there a temporary file is never taken for a stopped run's
    fcntl = None  # type: ignore[assignment]

#: The temporary files this process writes, with the descriptor that holds each one's lock.
_held: dict[Path, int] = {}


def hold(path: Path, fd: int) -> bool:
    """Lock the just-created `path` through its open `fd`, kept open until release(path). False (fd closed): a
    cleaner took the fresh file before the lock (it was unlocked for an instant): the caller makes another."""
    if fcntl is None:  # no lock to hold, and Windows cannot rename or delete a file held open
        os.close(fd)
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # a cleaner holds it, to delete it
        os.close(fd)
        return False
    except OSError:  # a file system without locks: no cleaner can lock it either, so none deletes it
        pass
    else:
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))  # not deleted (or made again) meanwhile
        except OSError:
            same = False
        if not same:
            os.close(fd)
            return False
    _held[Path(path)] = fd
    return True


def release(path: Path) -> None:
    """The temporary file is renamed or deleted: its lock goes."""
    fd = _held.pop(Path(path), None)
    if fd is not None:
        os.close(fd)


def held(path: Path) -> int | None:
    """The descriptor holding this process's lock on `path` (to fsync it), None if not held here."""
    return _held.get(Path(path))


def holding() -> list[Path]:
    """The temporary files this process holds now (none once every run has ended)."""
    return list(_held)


@contextlib.contextmanager
def _locked_if_unused(path: Path) -> Iterator[int | None]:
    """A descriptor of `path` holding its lock, or None where a run holds it (or it cannot be opened)."""
    if fcntl is None or Path(path) in _held:
        yield None
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield None
            return
        yield fd
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


def in_use(path: Path) -> bool:
    """A run holds this file (it is writing it). Without locks (Windows) every file counts as in use."""
    with _locked_if_unused(path) as fd:
        return fd is None


def remove_unused(path: Path) -> int | None:
    """Delete `path` unless a run holds it; the bytes freed, or None where it is in use (or gone). The lock is
    held while deleting, so a run cannot take the file between the check and the deletion."""
    with _locked_if_unused(path) as fd:
        if fd is None:
            return None
        try:
            stat = os.fstat(fd)
            if not os.path.samestat(stat, os.stat(path)):  # replaced meanwhile: not the file checked
                return None
            os.unlink(path)
        except OSError:
            return None
        return stat.st_size
