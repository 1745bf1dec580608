"""Resuming an interrupted `rtstyle video` run: the frames already stylized are never stylized again.

An interrupted run (Ctrl-C, SIGTERM) keeps its frames as OUT.partial.EXT with a hidden record beside it,
`.OUT.partial.EXT.rtstyle.json`: what the run was (style file's hash, look, frame size, range, encoder quality,
the source's size and modification time). Running the same command again finds that part, says so, and takes its
frames instead of stylizing them again: they are decoded and encoded again together with the new ones in one
encoder (an H.264 re-encode costs about 1% of a CPU network's time; the generation loss is measured in
docs/benchmarks.md), and the audio is copied from the source as in any run, so sync stays exact. A part made
with other settings is refused with one line naming what differs (hours of work are not mixed in, nor thrown
away by a changed option); `--restart` starts over and replaces it. Resuming is for H.264 outputs (.mp4, .m4v,
.mkv, .mov); a WebM, GIF or WebP run starts from the beginning, and says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

try:
    import fcntl
except ImportError:  # Windows: no flock; hard-stopped runs are not continued there
    fcntl = None  # type: ignore[assignment]

from rtstyle.errors import RtstyleError
from rtstyle.io.fragments import last_whole_time
from rtstyle.io.atomic import atomic_write_bytes, move_into_place
from rtstyle.io.formats import H264, OutputFormat
from rtstyle.io.video import AudioPacket, DecodedFrame, frames_past_damage

RECORD_VERSION = 1
#: What a record's settings are called in the refusal (the option that changes each).
SETTING_NAMES: dict[str, str] = {
    "style": "--style", "style_file": "the style file's content", "strength": "--strength",
    "keep_colors": "--keep-colors", "stabilize": "--stabilize", "precision": "--precision",
    "size": "the frame size (--scale, --max-size)", "start": "--start", "duration": "--duration",
    "encoder": "--quality/--crf", "audio": "--no-audio", "source": "the source file (its size or time changed)",
}


def record_path(part: Path) -> Path:
    """The hidden record kept beside a partial file: out.partial.mp4 -> .out.partial.mp4.rtstyle.json."""
    return part.with_name(f".{part.name}.rtstyle.json")


def file_digest(path: Path) -> str:
    """The content of a style file or model: a retrained or replaced file of the same name is another style."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:32]


def source_identity(source: Path) -> list[int]:
    """Size and modification time: a re-exported or edited source is another video (hashing hours of video is
    not cheap; these change whenever the file is written)."""
    stat = Path(source).stat()
    return [stat.st_size, stat.st_mtime_ns]


@dataclass
class EarlierPart:
    """A partial file whose record matches this run."""
    path: Path
    frames: int  # as recorded (counted, for a hard-stopped one); those reused are those that decode and match
    cut: float | None = None  # a hard-stopped file: frames from this time (the file's) on may be incomplete

    @property
    def hard_stopped(self) -> bool:
        return self.path.name.startswith(".")


@dataclass
class Resume:
    """This run's record, the earlier part it continues (if any) and the parts it replaces once it has a part
    of its own (a later interruption) or has finished. While the run writes, its temporary file has a record
    too, and a lock that the system lets go of however the process ends: a file with a record and no lock is
    a run stopped hard (kill -9, a crash, power loss), to be continued."""
    record: dict[str, Any]
    part: EarlierPart | None = None
    replaced: list[Path] = field(default_factory=list)
    _temp: Path | None = None
    _lock: int | None = None

    def begin(self, tmp: Path) -> None:
        """Mark the run's temporary file as this run's: a record (frames unknown) and a lock."""
        self._temp, self._lock = tmp, _lock(tmp)  # first: a record without a lock is a stopped run's
        atomic_write_bytes(record_path(tmp), json.dumps(self.record).encode())

    def sync(self) -> None:
        """Make what is written so far survive a power loss (the data the OS still holds)."""
        if self._lock is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._lock)

    def end(self) -> None:
        """The temporary file is renamed or deleted: its record and lock go."""
        if self._temp is not None:
            with contextlib.suppress(FileNotFoundError):
                record_path(self._temp).unlink()
        if self._lock is not None:
            os.close(self._lock)  # the lock goes with it
        self._temp = self._lock = None

    def keep_partial(self, tmp: Path, fresh: Path, frames: int) -> tuple[Path, int]:
        """Keep an interrupted run's file: in place of the part it continued (or --restart replaces), else at
        `fresh` (the first free OUT.partial*.EXT), with its record. Stopped before it had re-encoded all the
        part's frames, the part stays as it was."""
        if self.part is not None and frames < self.part.frames:
            tmp.unlink()
            return self.part.path, self.part.frames
        shown = [part for part in self.replaced if not part.name.startswith(".")]  # not a hard-stopped temp
        place = shown[0] if shown else fresh
        atomic_write_bytes(record_path(place), json.dumps({**self.record, "frames": frames}).encode())
        if shown:
            tmp.replace(place)  # holds every frame of the part it replaces, and the new ones
        else:
            place = move_into_place(tmp, place, overwrite=False)
            if place != fresh:  # another run took the name meanwhile: the record goes with this file
                record_path(fresh).replace(record_path(place))
        for other in self.replaced:
            if other != place:
                remove_part(other)
        return place, frames

    def finished(self) -> None:
        """The full output is written: the parts it contains (or --restart replaced) go."""
        for part in self.replaced:
            remove_part(part)


def _lock(path: Path) -> int | None:
    """An exclusive lock on `path` for as long as the returned descriptor is open (None: no locks here)."""
    if fcntl is None:
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _in_use(path: Path) -> bool:
    """Another run holds this file (it is writing it): not a hard-stopped one. Without locks (Windows), a hidden
    temporary file cannot be told from a live run's, so none is taken."""
    if fcntl is None:
        return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def remove_part(part: Path) -> None:
    for path in (part, record_path(part)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def plan_resume(target: Path, fmt: OutputFormat, record: dict[str, Any], restart: bool,
                log: Any) -> Resume | None:
    """Find the earlier parts of `target` made by rtstyle (those with a record): continue the matching one, or
    refuse one made with other settings (one line naming them), unless `restart`. None: nothing to resume."""
    if fmt is not H264:  # no record is kept for these: an interrupted run's part is only said
        partial = target.with_name(f"{target.stem}.partial{target.suffix}")
        if partial.exists():
            log(f"resuming is for H.264 video (.mp4, .m4v, .mkv, .mov): {partial.name} is kept, and this run "
                "starts from the beginning")
        return None
    record = {"version": RECORD_VERSION, **record}
    parts = _earlier_parts(target)
    if restart:
        if parts:
            log(f"--restart: starting from the beginning; {', '.join(_named(p) for p, _ in parts)} will be replaced")
        return Resume(record, replaced=[p for p, _ in parts])
    matching = [(path, saved) for path, saved in parts if _differences(saved, record) == []]
    if not matching:
        if parts:
            path, saved = parts[0]
            raise RtstyleError(f"{_named(path)} was made with other settings "
                               f"({'; '.join(_differences(saved, record))}): run its command again to resume it, or "
                               "pass --restart to start over (it is replaced)")
        return Resume(record)
    part = max((_earlier_part(path, saved) for path, saved in matching), key=lambda found: found.frames)
    if not part.frames:  # stopped before its first frame was written: nothing to keep
        return Resume(record, replaced=[p for p, _ in matching])
    if part.hard_stopped:
        log(f"resuming a run that was stopped without finishing (killed, crashed or a power loss): its {part.frames} "
            "stylized frames are kept, the rest are stylized (--restart to start over)")
    else:
        log(f"resuming from {part.path.name}: its {part.frames} stylized frames are kept, the rest are stylized "
            "(--restart to start over)")
    return Resume(record, part, replaced=[part.path] + [p for p, _ in matching if p != part.path])


def _earlier_parts(target: Path) -> list[tuple[Path, dict[str, Any]]]:
    """OUT.partial.EXT, OUT.partial-2.EXT ... and the hidden temporary files of runs stopped hard, that have a
    readable record, in that order."""
    stem, suffix = _glob_escape(target.stem), _glob_escape(target.suffix)
    found = []
    candidates = [target.with_name(f"{target.stem}.partial{target.suffix}")]
    candidates += sorted(target.parent.glob(f"{stem}.partial-*{suffix}"), key=lambda p: (len(p.name), p.name))
    candidates += sorted(p for p in target.parent.glob(f".{stem}.*.part{suffix}") if not _in_use(p))
    for path in candidates:
        if not path.is_file():
            continue
        try:
            saved = json.loads(record_path(path).read_text())
        except (OSError, ValueError):
            continue  # the user's own file of that name, or one from before records were kept
        if isinstance(saved, dict):
            found.append((path, saved))
    return found


def _earlier_part(path: Path, saved: dict[str, Any]) -> EarlierPart:
    if "frames" in saved:  # kept by an interruption: closed properly
        return EarlierPart(path, int(saved["frames"]))
    cut = last_whole_time(path)  # a hard stop: the last frame written may be cut short
    return EarlierPart(path, _frames_before(path, cut), cut)


def _frames_before(path: Path, cut: float | None) -> int:
    if cut is None:
        return 0
    with contextlib.suppress(av.error.FFmpegError), av.open(str(path)) as container:
        return sum(1 for p in container.demux(video=0) if p.pts is not None and p.size
                   and float(p.pts * p.time_base) < cut - 1e-6)
    return 0


def _named(part: Path) -> str:
    return f"an unfinished run's file {part}" if part.name.startswith(".") else str(part)


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def _differences(saved: dict[str, Any], record: dict[str, Any]) -> list[str]:
    """What differs between a part's record and this run's, in the options' words."""
    if saved.get("version") != record["version"]:
        return ["an older rtstyle's part"]
    said = []
    for key, value in record.items():
        if key == "version" or _same(saved.get(key), value):
            continue
        if key == "style_file" and saved.get("style") != record.get("style"):
            continue  # the style's name says it already
        name = SETTING_NAMES.get(key, key)
        said.append(name if key in ("style_file", "source") else f"{name} {_shown(saved.get(key))}, now "
                    f"{_shown(value)}")
    return said


def _same(a: Any, b: Any) -> bool:
    return json.loads(json.dumps(a)) == json.loads(json.dumps(b))  # tuples and lists alike, as JSON keeps them


def _shown(value: Any) -> str:
    if value is None:
        return "not given"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return "x".join(str(v) for v in value)
    if isinstance(value, dict):
        return " ".join(f"{k} {v}" for k, v in value.items())
    return f"{value:g}" if isinstance(value, float) else str(value)


class KeptFrame(DecodedFrame):
    """A frame of the earlier part, stylized already: encoded again as it is (`picture`, yuv420p)."""

    def __init__(self, item: DecodedFrame, picture: av.VideoFrame) -> None:
        super().__init__(item.image, item.pts, item.index)
        self.picture = picture


def reuse_frames(items: Iterator[DecodedFrame | AudioPacket], part: Path, time_base: Fraction,
                 rate: float, cut: float | None = None) -> Iterator[DecodedFrame | AudioPacket]:
    """The source's items, with each video frame that the part holds (at the same time) replaced by the part's
    frame; from the first that it does not hold (its end, a frame that does not decode), frames pass on to be
    stylized. Audio passes as it comes: it is copied from the source."""
    tolerance = 0.5 / rate if rate > 0 else 1e-3
    shift: float | None = None  # the part's times less the source's: a container may move every stream alike
    with av.open(str(part)) as container:  # (Matroska starts at 0 where audio priming comes before the video)
        frames = frames_past_damage(container, container.streams.video[0])
        pending = _next_frame(frames)
        for item in items:
            if pending is not None and pending.time is not None and cut is not None and pending.time >= cut - 1e-6:
                pending = None  # a hard-stopped file's last frames: stylized again
            if pending is not None and isinstance(item, DecodedFrame):
                at = float(item.pts * time_base)
                if shift is None and pending.time is not None:
                    shift = pending.time - at  # both runs begin at the same frame of the source
                if pending.time is not None and abs(pending.time - at - (shift or 0.0)) <= tolerance:
                    pending.pict_type = av.video.frame.PictureType.NONE  # x264 chooses: not the part's GOP
                    yield KeptFrame(item, pending)
                    pending = _next_frame(frames)
                    continue
                pending = None  # out of step with the source: stylized from here on
            yield item


def _next_frame(frames: Iterator[av.VideoFrame]) -> av.VideoFrame | None:
    try:
        return next(frames, None)
    except av.error.FFmpegError:  # a damaged end: the frames after it are stylized again
        return None
