"""Remove the hidden temporary files that runs stopped hard (kill -9, a crash, a power loss) left beside an output.

Such a run leaves `.OUT.XXXXXXXX.part.EXT` (temp_path_beside's names), and a GIF's frame spool
`.OUT.XXXXXXXX.part.gif.frames` (0.4 MB a frame): nothing else removes them, and they are hidden. When rtstyle is
about to write OUT, the files of that name pattern for OUT alone (no other name, no other folder) that no run
holds (rtstyle.io.temp_locks: a live run's, in this or any other process, is never touched) are removed, and
that is said in one line. Kept: a part that rtstyle.realtime.resume continues (one with a record beside it:
`rtstyle video` with the same command resumes it, `--restart` replaces it).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from rtstyle.io import temp_locks
from rtstyle.io.atomic import short_stem
from rtstyle.wording import counted, file_size

#: A temporary file's name: "." + the output's stem (atomic.short_stem) + "." + mkstemp's 8 letters + ".part" + what
#: follows.
_TEMP_NAME = re.compile(r"\.(?P<stem>.+)\.[a-z0-9_]{8}\.part(?P<rest>.*)")
RECORD_SUFFIX = ".rtstyle.json"


def record_path(part: Path) -> Path:
    """The hidden record kept beside a partial file: out.partial.mp4 -> .out.partial.mp4.rtstyle.json."""
    return part.with_name(f".{part.name}{RECORD_SUFFIX}")


def clear_leftovers(targets: Iterable[Path], say: Callable[[str], None]) -> int:
    """Remove what stopped runs left for these outputs (each folder is listed once: a batch of many images costs
    one listing), say it in one line, and return the bytes freed."""
    by_folder: dict[Path, dict[str, list[Path]]] = {}
    for target in targets:
        target = Path(target)
        by_folder.setdefault(target.parent, {}).setdefault(short_stem(target), []).append(target)
    freed: dict[Path, list[int]] = {}
    for folder, by_stem in by_folder.items():
        try:
            hidden = [entry.name for entry in os.scandir(folder) if entry.name.startswith(".")]
        except OSError:  # not made yet, or not readable: nothing of ours can be in it
            continue
        names = set(hidden)
        for name in hidden:
            owner = _owner(name, by_stem, names)
            if owner is None:
                continue
            size = temp_locks.remove_unused(folder / name)
            if size is not None:
                freed.setdefault(owner, []).append(size)
    if freed:
        say(_freed_line(freed))
    return sum(sum(sizes) for sizes in freed.values())


def _owner(name: str, by_stem: dict[str, list[Path]], names: set[str]) -> Path | None:
    """The output whose stopped run left the file `name`, or None: not such a file (or one to keep)."""
    record = name.endswith(RECORD_SUFFIX) and name.startswith("..")
    base = name[1:-len(RECORD_SUFFIX)] if record else name
    match = _TEMP_NAME.fullmatch(base)
    if match is None:
        return None
    rest = match["rest"]
    for target in by_stem.get(match["stem"], []):
        suffix = target.suffix
        if record:  # a record whose part is gone (stopped between the two deletions)
            part_gone = base not in names and not (target.parent / base).exists()  # (not one made since)
            return target if rest == suffix and part_gone else None
        elif rest in (suffix, f"{suffix}.frames") or (rest == ".frames" and suffix.lower() == ".gif"):
            # (".part.frames": an older rtstyle's GIF spool)
            return None if rest == suffix and _resumable(base, names, target.parent) else target
    return None


def _resumable(name: str, names: set[str], folder: Path) -> bool:
    """A part with a readable record: rtstyle.realtime.resume continues it (or --restart replaces it)."""
    record = record_path(folder / name)
    if record.name not in names:
        return False
    try:
        return isinstance(json.loads(record.read_text()), dict)
    except (OSError, ValueError):
        return False


def _freed_line(freed: dict[Path, list[int]]) -> str:
    files = sum(len(sizes) for sizes in freed.values())
    size = file_size(sum(sum(sizes) for sizes in freed.values()))
    outputs = sorted(freed)
    if len(outputs) == 1:
        return f"removed {counted(files, 'file')} ({size}) left by an interrupted run of {outputs[0]}"
    named = ", ".join(str(path) for path in outputs[:3]) + (f" and {len(outputs) - 3} more" if len(outputs) > 3 else "")
    return f"removed {counted(files, 'file')} ({size}) left by interrupted runs of {named}"
