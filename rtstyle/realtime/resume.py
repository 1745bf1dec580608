"""Resuming an interrupted `rtstyle video` run: the frames already stylized are never stylized again.

An interrupted run (Ctrl-C, SIGTERM) keeps its frames as OUT.partial.EXT with a hidden record beside it,
`.OUT.partial.EXT.rtstyle.json`: what the run was (style file's hash, look, frame size, range, encoder quality,
the source's size and modification time). Running the same command again finds that part, says so, and takes its
frames instead of stylizing them again: up to its last keyframe its packets are copied byte for byte where that
is a clean cut (copyable_frames), and the frames after it (all of them otherwise) are decoded and encoded again
together with the new ones in one encoder (an H.264 re-encode costs about 1% of a CPU network's time; the
generation loss is measured in docs/benchmarks.md). The audio comes from the source as in any run, so sync stays
exact. A part made with other settings is refused with one line naming what differs (hours of work are not mixed
in, nor thrown away by a changed option); `--restart` starts over and replaces it. Resuming is for H.264 outputs
(.mp4, .m4v, .mkv, .mov); a WebM, GIF or WebP run starts from the beginning, and says so.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from rtstyle.errors import RtstyleError
from rtstyle.io.fragments import FRAGMENTED_SUFFIXES, whole_frames
from rtstyle.io import temp_locks
from rtstyle.io.atomic import atomic_write_bytes, discard_temp, move_into_place, short_stem
from rtstyle.io.av_files import open_file
from rtstyle.io.formats import H264, OutputFormat
from rtstyle.io.leftovers import record_path
from rtstyle.io.video_probe import frames_past_damage
from rtstyle.io.video_reader import AudioPacket, DecodedFrame

RECORD_VERSION = 1
#: What a record's settings are called in the refusal (the option that changes each).
SETTING_NAMES: dict[str, str] = {
    "style": "--style", "style_file": "the style file's content", "strength": "--strength",
    "keep_colors": "--keep-colors", "stroke_size": "--stroke-size", "stabilize": "--stabilize",
    "precision": "--precision",
    "size": "the frame size (--scale, --max-size)", "start": "--start", "duration": "--duration",
    "encoder": "--quality/--crf", "audio": "--no-audio", "source": "the source file (its size or time changed)",
    "tone_map": "HDR to SDR tone mapping",
}
#: Settings added since RECORD_VERSION 1, as a part recorded before them was made.
ADDED_SETTINGS: dict[str, Any] = {"stroke_size": 1.0}


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

    def copyable(self, encoder_extradata: bytes | None) -> int:
        """How many of the first frames can be copied as packets into the output of an encoder with this
        extradata: none where its SPS or PPS differ from the part's (another --preset, another x264)."""
        try:
            with open_file(self.path) as container:
                extradata = bytes(container.streams.video[0].codec_context.extradata or b"")
        except av.error.FFmpegError:
            return 0
        if extradata[:1] != b"\x01" or len(extradata) < 5 or extradata[4] & 3 != 3:
            return 0  # not avcC with 4-byte NAL lengths (what x264 in MP4 writes; _annex_b reads)
        theirs = parameter_sets(extradata)
        if not theirs or theirs != parameter_sets(encoder_extradata):
            return 0
        return copyable_frames(self.path, self.cut)


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

    def begin(self, tmp: Path) -> None:
        """Mark the run's temporary file (locked by temp_path_beside while the run lives) as this run's: a
        record (frames unknown)."""
        self._temp = tmp
        atomic_write_bytes(record_path(tmp), json.dumps(self.record).encode())

    def sync(self) -> None:
        """Make what is written so far survive a power loss (the data the OS still holds)."""
        fd = temp_locks.held(self._temp) if self._temp is not None else None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(fd)

    def end(self) -> None:
        """The temporary file is renamed or deleted: its record and lock go."""
        if self._temp is not None:
            with contextlib.suppress(FileNotFoundError):
                record_path(self._temp).unlink()
            temp_locks.release(self._temp)
        self._temp = None

    def keep_partial(self, tmp: Path, fresh: Path, frames: int) -> tuple[Path, int]:
        """Keep an interrupted run's file: in place of the part it continued (or --restart replaces), else at
        `fresh` (the first free OUT.partial*.EXT), with its record. Stopped before it had re-encoded all the
        part's frames, the part stays as it was."""
        if self.part is not None and frames < self.part.frames:
            discard_temp(tmp)
            return self.part.path, self.part.frames
        shown = [part for part in self.replaced if not part.name.startswith(".")]  # not a hard-stopped temp
        place = shown[0] if shown else fresh
        atomic_write_bytes(record_path(place), json.dumps({**self.record, "frames": frames}).encode())
        if shown:
            tmp.replace(place)  # holds every frame of the part it replaces, and the new ones
            temp_locks.release(tmp)
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


def remove_part(part: Path) -> None:
    for path in (part, record_path(part)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def partial_path(target: Path, number: int = 1) -> Path:
    """The `number`th place an interrupted run of `target` keeps its part: out.mp4 -> out.partial.mp4, then
    out.partial-2.mp4 ... (a long stem shortened as every name beside an output is: atomic.short_stem)."""
    return target.with_name(f"{short_stem(target)}.partial{'' if number == 1 else f'-{number}'}{target.suffix}")


def plan_resume(target: Path, fmt: OutputFormat, record: dict[str, Any], restart: bool,
                log: Any) -> Resume | None:
    """Find the earlier parts of `target` made by rtstyle (those with a record): continue the matching one, or
    refuse one made with other settings (one line naming them), unless `restart`. None: nothing to resume."""
    if fmt is not H264:  # no record is kept for these: an interrupted run's part is only said
        partial = partial_path(target)
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
    stem, suffix = glob.escape(short_stem(target)), glob.escape(target.suffix)
    found = []
    candidates = [partial_path(target)]
    candidates += sorted(target.parent.glob(f"{stem}.partial-*{suffix}"), key=lambda p: (len(p.name), p.name))
    candidates += sorted(p for p in target.parent.glob(f".{stem}.*.part{suffix}") if not temp_locks.in_use(p))
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
    cut, frames = whole_frames(path)  # a hard stop: the last frame written may be cut short
    return EarlierPart(path, frames, cut)


def _named(part: Path) -> str:
    return f"an unfinished run's file {part}" if part.name.startswith(".") else str(part)


def _differences(saved: dict[str, Any], record: dict[str, Any]) -> list[str]:
    """What differs between a part's record and this run's, in the options' words."""
    if saved.get("version") != record["version"]:
        return ["an older rtstyle's part"]
    said = []
    for key, value in record.items():
        before = saved.get(key, ADDED_SETTINGS.get(key))
        if key == "version" or _same(before, value):
            continue
        if key == "style_file" and saved.get("style") != record.get("style"):
            continue  # the style's name says it already
        name = SETTING_NAMES.get(key, key)
        said.append(name if key in ("style_file", "source") else f"{name} {_shown(before)}, now {_shown(value)}")
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


class ReusedFrame(DecodedFrame):
    """A frame of the earlier part, stylized already: not stylized again."""


class KeptFrame(ReusedFrame):
    """Encoded again as it is (`picture`, yuv420p)."""

    def __init__(self, item: DecodedFrame, picture: av.VideoFrame) -> None:
        super().__init__(item.image, item.pts, item.index)
        self.picture = picture


class CopiedFrame(ReusedFrame):
    """Copied as the part's encoder wrote it: `packets` are those (in decoding order) that can go into the output
    once this frame is reached (none for a frame whose packet came earlier, or comes with a later frame's)."""

    def __init__(self, item: DecodedFrame, packets: list[av.Packet]) -> None:
        super().__init__(item.image, item.pts, item.index)
        self.packets = packets


def reuse_frames(items: Iterator[DecodedFrame | AudioPacket], part: Path, time_base: Fraction,
                 rate: float, cut: float | None = None, copied: int = 0) -> Iterator[DecodedFrame | AudioPacket]:
    """The source's items, with each video frame that the part holds (at the same time) replaced by the part's:
    the first `copied` as its packets (see copyable_frames), the next decoded, to be encoded again. From the first
    frame that it does not hold (its end, a frame that does not decode), frames pass on to be stylized. Audio
    passes as it comes: it is copied from the source."""
    tolerance = 0.5 / rate if rate > 0 else 1e-3
    shift: float | None = None  # the part's times less the source's: a container may move every stream alike
    with open_file(part) as container, open_file(part) as copies:  # (Matroska starts at 0 where audio
        frames = frames_past_damage(container, container.streams.video[0])  # priming comes before the video)
        packets = (p for p in copies.demux(video=0) if p.size and p.pts is not None)
        waiting: list[av.Packet] = []  # in decoding order, not yet muxed: a frame after them is not confirmed
        pending = _next_frame(frames)
        matched = 0
        for item in items:
            if pending is not None and pending.time is not None and cut is not None and pending.time >= cut - 1e-6:
                pending = None  # a hard-stopped file's last frames: stylized again
            if pending is not None and isinstance(item, DecodedFrame):
                at = float(item.pts * time_base)
                if shift is None and pending.time is not None:
                    shift = pending.time - at  # both runs begin at the same frame of the source
                if pending.time is not None and abs(pending.time - at - (shift or 0.0)) <= tolerance:
                    if matched < copied:
                        waiting.append(next(packets))
                        yield CopiedFrame(item, _confirmed(waiting, pending.time + tolerance, shift or 0.0))
                    else:
                        pending.pict_type = av.video.frame.PictureType.NONE  # x264 chooses: not the part's GOP
                        yield KeptFrame(item, pending)
                    matched += 1
                    pending = _next_frame(frames)
                    continue
                if matched < copied:  # packets of frames not confirmed are out already: the file would lack them
                    raise RtstyleError(f"{part} does not match the source at {at:.3f} s: pass --restart to start "
                                       "over")
                pending = None  # out of step with the source: stylized from here on
            yield item


def _confirmed(waiting: list[av.Packet], until: float, shift: float) -> list[av.Packet]:
    """Take from `waiting` the packets, in decoding order, of frames up to `until` (the part's seconds), moved to
    the output's times; a packet of a later frame (a P frame that B frames before it refer to) waits."""
    ready = []
    while waiting and waiting[0].pts is not None and float(waiting[0].pts * waiting[0].time_base) <= until:
        packet = waiting.pop(0)
        moved = round(shift / packet.time_base)
        copy = av.Packet(_annex_b(bytes(packet)))
        copy.time_base, copy.is_keyframe = packet.time_base, packet.is_keyframe
        copy.pts = packet.pts - moved if packet.pts is not None else None
        copy.dts = packet.dts - moved if packet.dts is not None else None
        copy.duration = packet.duration
        ready.append(copy)
    return ready


def _annex_b(data: bytes) -> bytes:
    """An MP4's H.264 sample (each NAL unit after its 4-byte length) as an encoder gives it (each after a start
    code), which the muxer takes back to lengths: the same bytes in the file."""
    units, pos = [], 0
    while pos + 4 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        units.append(b"\x00\x00\x00\x01" + data[pos + 4:pos + 4 + size])
        pos += 4 + size
    return b"".join(units)


def parameter_sets(extradata: bytes | None) -> list[bytes]:
    """The H.264 SPS and PPS in a stream's extradata, as an MP4 stores them (avcC) or an encoder gives them
    (start codes): two encoders whose sets are the same make packets that can follow each other."""
    data = bytes(extradata or b"")
    if data[:1] == b"\x01" and len(data) > 6:  # avcC: version 1, lengths, then counted SPS and PPS
        sets, pos = [], 5
        for mask in (0x1F, 0xFF):
            count, pos = data[pos] & mask, pos + 1
            for _ in range(count):
                size = int.from_bytes(data[pos:pos + 2], "big")
                sets.append(data[pos + 2:pos + 2 + size])
                pos += 2 + size
        return sorted(sets)
    return sorted(unit.strip(b"\x00") for unit in data.split(b"\x00\x00\x01") if unit.strip(b"\x00"))


def copyable_frames(part: Path, cut: float | None) -> int:
    """How many of the part's first frames can be copied as packets instead of encoded again (no generation loss):
    those before its last keyframe, where that is a clean cut. The H.264 in MP4 is a closed GOP (x264's default:
    nothing before the keyframe refers to a frame after it), the frame rate constant, and the keyframe's decoding
    time the one a fresh encoder starting on it gives (its first picture's delay), so the timestamps of the copied
    packets and of the new encoder's follow on. Otherwise 0: every kept frame is decoded and encoded again."""
    if Path(part).suffix.lower() not in FRAGMENTED_SUFFIXES:  # Matroska does not store decoding times
        return 0
    try:
        with open_file(part) as container:
            video = container.streams.video[0]
            if video.codec_context.name != "h264":
                return 0
            found = [(p.pts, p.dts, p.is_keyframe, float(p.pts * p.time_base)) for p in container.demux(video)
                     if p.size and p.pts is not None and p.dts is not None]
    except av.error.FFmpegError:
        return 0
    keys = [n for n, (_, _, key, at) in enumerate(found) if key and n > 0 and (cut is None or at < cut - 1e-6)]
    if not keys:
        return 0
    k = keys[-1]
    pts = [p for p, _, _, _ in found]
    if max(pts[:k]) >= pts[k] or min(pts[k:]) < pts[k]:
        return 0  # an open GOP: a frame on one side refers to the other
    steps = {b - a for a, b in zip(sorted(pts[:k + 1]), sorted(pts[:k + 1])[1:])}
    delay = min(pts[:k]) - found[0][1]
    if len(steps) != 1 or found[k][1] != pts[k] - delay:
        return 0
    return k


def _next_frame(frames: Iterator[av.VideoFrame]) -> av.VideoFrame | None:
    try:
        return next(frames, None)
    except av.error.FFmpegError:  # a damaged end: the frames after it are stylized again
        return None
