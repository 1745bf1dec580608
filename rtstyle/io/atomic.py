"""Write files so that a crash or Ctrl-C never leaves a half-written file under the final name."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rtstyle.errors import RtstyleError
from rtstyle.io import temp_locks


def refuse_to_replace(path: Path, overwrite: bool, what: str = "output", hint: str = "",
                      writable: bool = True) -> None:
    """The one rule every command follows: an existing file is replaced only when the user said --overwrite.

    A link is replaced by the output itself (as `mv` and a rename do): the file it points to is never written.

    Also refused before any work: a folder where the file should go, and (`writable`, probe_writable) a place
    that cannot be written; a caller that handles that itself (a batch skipping a read-only folder) passes False.
    """
    path = Path(path)
    if path.is_dir():
        raise RtstyleError(f"{what} {path} is a folder: give a file name")
    if path.is_symlink() and not path.exists() and not overwrite:  # a link to nothing: the user's, all the same
        raise RtstyleError(f"{what} exists: {path}, a link to {os.readlink(path)}, which does not exist (pass "
                           f"--overwrite to replace the link{hint})")
    if path.exists() and not overwrite:
        raise RtstyleError(f"{what} exists: {path} (pass --overwrite to replace it{hint})")
    if writable:
        probe_writable(path, f"the {what}")


#: The longest file name that file systems take (ext4, XFS, btrfs, APFS: 255 bytes).
NAME_MAX = 255
#: The most that rtstyle's names beside an output add to its stem and extension: the hidden temporary file
#: `.STEM.XXXXXXXX.part.EXT` and a GIF's `.frames` spool or a stopped part's `.rtstyle.json` record beside it;
#: an interrupted run's `STEM.partial-NN.EXT` and its `.STEM.partial-NN.EXT.rtstyle.json` record.
ADDED_BESIDE = 29
#: The longest extension a result is given (.jpeg, .webm, .tiff): result names leave room for it.
LONGEST_SUFFIX = 5


def short_stem(target: Path) -> str:
    """The output's stem as the names rtstyle keeps beside it spell it: the stem itself, or where those names would
    pass NAME_MAX (a name the file system takes can be too long for them), shortened (fitted)."""
    target = Path(target)
    return fitted(target.stem, NAME_MAX - ADDED_BESIDE - len(os.fsencode(target.suffix)))


def result_stem(source_stem: str, style: str) -> str:
    """SOURCE_STYLE, a result's stem, with SOURCE shortened (fitted) where the name would pass NAME_MAX."""
    ending = f"_{style}"
    return fitted(source_stem, NAME_MAX - LONGEST_SUFFIX - len(os.fsencode(ending))) + ending


def fitted(stem: str, room: int) -> str:
    """`stem`, or where it is longer than `room` bytes, its beginning and a hash of it all: names alike in their
    first 200 bytes still get names of their own, and the same one each run."""
    if len(os.fsencode(stem)) <= room:
        return stem
    digest = "~" + hashlib.sha1(os.fsencode(stem)).hexdigest()[:8]
    while stem and len(os.fsencode(stem + digest)) > room:
        stem = stem[:-1]
    return stem + digest


def temp_path_beside(target: Path, suffix: str | None = None) -> Path:
    """A fresh, unused path in the target's directory (same filesystem, so os.replace is atomic).

    The temporary name keeps the target's extension, because encoders pick the container from it.
    It is locked (rtstyle.io.temp_locks) until it is renamed (move_into_place) or deleted (discard_temp): a file
    like it without a lock is a stopped run's (rtstyle.io.leftovers removes those).
    """
    target = Path(target)
    directory = target.parent
    ensure_writable_dir(directory)
    while True:
        try:
            fd, name = tempfile.mkstemp(
                prefix=f".{short_stem(target)}.", suffix=f".part{suffix if suffix is not None else target.suffix}",
                dir=directory)
        except OSError as exc:  # named as the user's path: the temporary one means nothing to them
            raise RtstyleError(f"cannot write {target}: {exc.strerror or exc}") from None
        if temp_locks.hold(Path(name), fd):
            break
    # mkstemp creates the file private (0600); give it the mode a plain open() would, as it becomes the output.
    os.chmod(name, 0o666 & ~current_umask())
    return Path(name)


def discard_temp(tmp: Path) -> None:
    """Delete a temporary file of temp_path_beside (if it is there) and let go of its lock."""
    with contextlib.suppress(FileNotFoundError):
        Path(tmp).unlink()
    temp_locks.release(tmp)


def probe_writable(target: Path, what: str = "the output") -> None:
    """Before any work, create and remove a file where `target` goes (in the nearest folder that exists: a check
    creates nothing). os.access is no test: it says yes to root where nothing can be written (/proc, read-only
    mounts), and the write then failed after the work, naming its temporary file."""
    folder = Path(target).parent
    while not folder.exists() and folder != folder.parent:  # the folders the write will create
        folder = folder.parent
    try:
        fd, name = tempfile.mkstemp(prefix=".rtstyle-probe.", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise RtstyleError(f"cannot write {what} to {target}: {exc.strerror or exc}") from None


def file_key(path: Path) -> tuple[int, int]:
    """The file itself (device, inode): the same for every spelling, letter case or link that reaches it, so an
    input is recognised as an output however it is named."""
    stat = Path(path).stat()
    return stat.st_dev, stat.st_ino


def ensure_writable_dir(directory: Path) -> None:
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RtstyleError(f"cannot create output directory {directory}: {exc.strerror or exc}") from None
    if not os.access(directory, os.W_OK):
        raise RtstyleError(f"output directory is not writable: {directory}")


@contextlib.contextmanager
def atomic_output(target: Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path; on success it is renamed to `target`, on any failure it is removed.

    `overwrite=False`: a file that appeared at `target` meanwhile is not replaced (move_into_place refuses).
    """
    target = Path(target)
    tmp = temp_path_beside(target)
    try:
        yield tmp
        move_into_place(tmp, target, overwrite, keep_aside=False)
    except BaseException:
        discard_temp(tmp)
        raise


def move_into_place(tmp: Path, target: Path, overwrite: bool, *, keep_aside: bool = True) -> Path:
    """Rename a finished temporary file to `target`, and return where it went.

    The exists check before the work cannot see a file that another run (the same command twice, say) writes
    while this one works. So without `overwrite`, the rename itself must not replace: a hard link fails when the
    name is taken, atomically. Then the result is kept beside it as NAME-2.EXT (`keep_aside`: an hour of video is
    not thrown away) or refused. Where hard links are unsupported (FAT, some shares) it checks, then renames.
    """
    tmp, target = Path(tmp), Path(target)
    if overwrite:
        os.replace(tmp, target)
        temp_locks.release(tmp)
        return target
    for n in range(1, 1000):
        candidate = target if n == 1 else target.with_name(f"{short_stem(target)}-{n}{target.suffix}")
        if _take_name(tmp, candidate):
            temp_locks.release(tmp)
            return candidate
        if not keep_aside:
            raise RtstyleError(f"{target} appeared while this ran (another rtstyle writing it?): not replaced "
                               "(pass --overwrite to replace it)")
    raise RtstyleError(f"no free name beside {target} to keep the result")


def _take_name(tmp: Path, name: Path) -> bool:
    """Give `tmp` the name `name`, unless the name is taken (False)."""
    try:
        os.link(tmp, name)
    except FileExistsError:
        return False
    except OSError:  # no hard links on this file system: check, then rename
        if name.exists():
            return False
        os.replace(tmp, name)
        return True
    tmp.unlink()
    return True


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(target: Path, data: bytes, overwrite: bool = True) -> None:
    with atomic_output(target, overwrite) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
