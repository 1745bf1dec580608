"""Which file each video of a `rtstyle video` batch is written to, decided before any model loads.

A batch is several inputs, a folder, a pattern or several styles (one named video with one style is converted as
a single file, rtstyle.cli.video_cmd). The rules are `rtstyle image`'s (rtstyle.io.image_jobs), for clips:
- results are named VIDEO_STYLE.EXT (EXT: .mp4, as for one video, or --format's), beside each video or under
  -o DIR with the videos' subfolders kept, so a result's name depends only on its video, style and format;
- no input is ever replaced, --overwrite or not (compared as files on disk, however they are spelled);
- an existing result is skipped unless --overwrite, so running the same command again finishes an interrupted
  batch (the interrupted video's part, OUT.partial.mp4, is continued by rtstyle.realtime.resume);
- a video named like the result of another in its folder (x_candy.mp4 beside x.mov, for any installed or
  requested style) is taken for an earlier result, and an interrupted run's part (x_candy.partial.mp4) for a
  part: neither is stylized, nor ever replaced;
- two results that would be one file (clip.mov and clip.mp4 both giving clip_candy.mp4) are refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import file_key, probe_writable, refuse_to_replace, result_stem, short_stem
from rtstyle.io.earlier_results import earlier_results
from rtstyle.io.found_files import FoundFile, below_output, find_files
from rtstyle.io.image_jobs import name_key
from rtstyle.io.images import VIDEO_SUFFIXES
from rtstyle.io.video_writer import OUTPUT_SUFFIXES
from rtstyle.wording import counted

DEFAULT_RESULT_SUFFIX = ".mp4"  # as one video's default result (SOURCE_STYLE.mp4)
#: An interrupted run's playable part (rtstyle.realtime.convert.partial_path_for): OUT.partial.EXT, OUT.partial-2.EXT.
_PART_STEM = re.compile(r"(?P<result>.+)\.partial(-\d+)?", re.IGNORECASE)


def is_input_video(path: Path) -> bool:
    """A video file by its name: what folders and patterns find."""
    return path.suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoJob:
    source: Path
    target: Path
    style: str  # the name results are given


@dataclass
class VideoPlan:
    videos: int  # the inputs to stylize, earlier results and parts aside
    overwrite: bool = False
    jobs: list[VideoJob] = field(default_factory=list)
    existing: int = 0  # results already there, kept (no --overwrite)
    existing_inputs: int = 0  # results already there that are inputs too: never replaced
    earlier_results: int = 0  # inputs named VIDEO_STYLE beside a VIDEO input: left alone
    parts: int = 0  # interrupted runs' parts (VIDEO_STYLE.partial.mp4): left alone, continued by their run
    old_parts: int = 0  # parts that no run continues (their result is written, or a WebM's): left alone

    def notes(self) -> list[str]:
        """A line for each kind of file the batch leaves as it is, in the order they are met."""
        said = [
            (self.existing, f"skipped {self.existing} already converted (--overwrite to redo them)"),
            (self.existing_inputs, f"skipped {self.existing_inputs} already converted whose result is an input too "
                                   "(inputs are never replaced)"),
            (self.earlier_results, f"left alone {counted(self.earlier_results, 'earlier result')} (named "
                                   "VIDEO_STYLE beside its video)"),
            (self.parts, f"left alone {counted(self.parts, 'interrupted part')} (NAME.partial.EXT: continued by "
                         "running the command that made it again)"),
            (self.old_parts, f"left alone {counted(self.old_parts, 'old part')} of interrupted runs "
                             "(NAME.partial.EXT, not continued: its result is written, or it is not H.264)"),
        ]
        return [line for count, line in said if count]


def result_name(source: Path, style: str, suffix: str = DEFAULT_RESULT_SUFFIX) -> str:
    """clip.mov -> clip_STYLE.mp4 (or .gif ... with --format)."""
    return f"{result_stem(source.stem, style)}{suffix}"


def plan_video_jobs(inputs: Sequence[str], output: Path | None, styles: Sequence[str], suffix: str,
                    overwrite: bool, known_styles: Sequence[str] = ()) -> VideoPlan:
    """`output`: a folder (made if need be) or None (results beside their videos); `styles`: the names results
    are given, in the order they run; `known_styles`: the other styles whose results count as earlier results."""
    found = find_files(inputs, is_input_video, _no_video_matches)
    if output is not None:  # -o below an input folder: its results are not inputs
        found = [video for video in found if video.named or not below_output(video, output)]
    if not found:
        raise RtstyleError(f"no videos found in {_listed(inputs)} (looked for {', '.join(sorted(VIDEO_SUFFIXES))})")
    parts = {video.path for video in found if _PART_STEM.fullmatch(video.path.stem)}
    # Clips carry no mark of ours, so a clip named like a result of a file without an extension beside it counts as
    # one: at worst it is left alone, never replaced.
    earlier = earlier_results([video for video in found if video.path not in parts], [*styles, *known_styles],
                              name_key, is_ours=lambda path: True)
    videos = [video for video in found if video.path not in earlier and video.path not in parts]
    # Earlier results are results (replaced with --overwrite), parts are their runs': the rest are inputs.
    inputs_on_disk = {file_key(video.path) for video in videos}
    plan = VideoPlan(videos=len(videos), overwrite=overwrite)
    writers: dict[str, Path] = {}
    by_part_name: dict[str, Path] = {}  # each result, by the name its parts give it (_part_of)
    for style in styles:
        for video in videos:
            target = _target(video, output, style, suffix)
            key = name_key(target)
            by_part_name[name_key(target.with_name(short_stem(target) + target.suffix))] = target
            if key in writers:
                raise RtstyleError(f"{writers[key]} and {video.path} would both be written to {target} (rename one, "
                                   "or convert them separately)")
            writers[key] = video.path
            if target.is_symlink() and not target.exists() and not overwrite:  # a link to nothing: the user's
                plan.existing += 1
                continue
            if target.is_file():
                if file_key(target) in inputs_on_disk:  # never replaced, --overwrite or not
                    plan.existing_inputs += 1
                    continue
                if not overwrite:
                    plan.existing += 1
                    continue
            refuse_to_replace(target, overwrite=True, writable=False)  # a folder in the way: now, not after the model
            plan.jobs.append(VideoJob(video.path, target, style))
    # Earlier results that this run writes again (or skips as done) are said as that, not twice.
    plan.earlier_results = sum(name_key(path) not in writers for path in earlier)
    continued = {name_key(job.target) for job in plan.jobs}  # parts this run continues are not said to be left
    for result in (_part_of(path) for path in parts):
        result = by_part_name.get(name_key(result), result)  # a long name's part has its stem shortened
        if name_key(result) in continued:
            continue
        # Only an unfinished H.264 result is ever continued (rtstyle.realtime.resume); other parts stay as they are.
        if result.is_file() or result.suffix.lower() not in OUTPUT_SUFFIXES:
            plan.old_parts += 1
        else:
            plan.parts += 1
    for job in {job.target.parent: job for job in plan.jobs}.values():  # each result folder tried once
        probe_writable(job.target, "the result")
    return plan


def _no_video_matches(pattern: str, files: list[Path]) -> RtstyleError:
    others = f" (it matches {counted(len(files), 'file')}, none named as a video)" if files else ""
    return RtstyleError(f"no videos match {pattern!r}{others}")


def _listed(inputs: Sequence[str]) -> str:
    return inputs[0] if len(inputs) == 1 else "the given inputs"


def _part_of(part: Path) -> Path:
    """The result an interrupted run's part is of: x_candy.partial-2.mp4 -> x_candy.mp4 (a long name: as shortened in
    its part's, atomic.short_stem)."""
    match = _PART_STEM.fullmatch(part.stem)
    assert match is not None
    return part.with_name(match["result"] + part.suffix)


def _target(video: FoundFile, output: Path | None, style: str, suffix: str) -> Path:
    name = result_name(video.path, style, suffix)
    if output is None:
        return video.path.with_name(name)
    relative = os.path.relpath(os.path.abspath(video.path.parent), os.path.abspath(video.root))
    subfolder = Path() if relative == "." or relative.startswith("..") else Path(relative)
    return output / subfolder / name
