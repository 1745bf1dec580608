"""`rtstyle video` on a batch: several videos, folders, patterns or styles, converted one after another.

Each video goes through the single-file conversion (rtstyle.realtime.convert), so resuming, `.partial` parts,
the formats and every message are the same. Which files are written is decided before any model loads
(rtstyle.io.video_jobs); each style's model is loaded once for all its videos. A video that cannot be converted
(unreadable, no video stream, a part made with other settings) does not stop the batch: it is said at once and
again at the end, and the command exits with 2. Ctrl-C keeps the current video's playable part, as for one video,
and stops the batch (exit 130): running the same command again skips what is done and continues that video.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import av
import click
from tqdm import tqdm

from rtstyle.cli.options import make_stabilizer
from rtstyle.cli.style_requests import RequestedStyle, requested_styles
from rtstyle.errors import RtstyleError
from rtstyle.interrupts import stop_for
from rtstyle.io.formats import check_crf, output_format
from rtstyle.io.images import VIDEO_SUFFIXES
from rtstyle.io.video_probe import VideoInfo, probe_video
from rtstyle.io.video_jobs import VideoJob, VideoPlan, plan_video_jobs
from rtstyle.wording import counted, how_long

if TYPE_CHECKING:
    from rtstyle.engine.base import Stylizer
    from rtstyle.realtime.look import Look
    from rtstyle.realtime.preview import ConversionPreview

Log = Callable[[str], None]


@dataclass(frozen=True)
class VideoSettings:
    """How every video of the batch is converted: `rtstyle video`'s options."""
    quality: str
    crf: int | None
    preset: str
    start: float
    duration: float | None
    scale: float | None
    max_size: int | None
    audio: bool
    overwrite: bool
    restart: bool
    parallel_frames: bool | None
    stabilize: float | None
    look: Look
    backend: str
    device: str
    precision: str
    preview: bool = False  # --preview: one window for the whole batch


@dataclass
class BatchOutcome:
    converted: int = 0
    failed: list[tuple[VideoJob, str]] = field(default_factory=list)  # and why, in one line


def batch_output_folder(output_arg: str | None) -> Path | None:
    """-o for a batch: a folder (made if need be), never a file."""
    if output_arg is None:
        return None
    output = Path(os.path.normpath(output_arg))  # as options.output_path does
    names_file = output.suffix.lower() in VIDEO_SUFFIXES | {".gif", ".webp"} or output.is_file()
    if names_file and not output.is_dir() and not output_arg.endswith(("/", os.sep)):
        raise RtstyleError(f"a batch (several videos, a folder, a pattern or several styles) needs an output folder, "
                           f"not the file {output}")
    return output


def convert_batch(sources: tuple[str, ...], output_arg: str | None, style_args: tuple[str, ...], suffix: str,
                  settings: VideoSettings) -> None:
    from rtstyle.realtime.playlist import default_style
    from rtstyle.styles.catalog import style_names

    output = batch_output_folder(output_arg)
    fmt = output_format(Path(f"result{suffix}"))
    check_crf(fmt, settings.crf)
    styles = requested_styles(style_args or (default_style(),), settings.backend)
    # Every refusal before the first (slow) model load.
    plan = plan_video_jobs(sources, output, [style.name for style in styles], suffix, settings.overwrite,
                           known_styles=style_names())
    notes = plan.notes()
    if not plan.jobs:
        click.echo("nothing to do: " + "; ".join(notes), err=True)
        return
    log = lambda line: tqdm.write(line, file=sys.stderr)  # noqa: E731 - lines above the progress bars
    infos = _probe_all(plan)
    started = time.perf_counter()
    outcome = BatchOutcome()
    _run_jobs(plan, styles, infos, settings, suffix, outcome, log)  # Ctrl-C: said there, no summary
    _say_summary(outcome, notes, time.perf_counter() - started, log)
    if outcome.failed:
        named = ", ".join(str(job.source) for job, _ in outcome.failed[:3])
        more = f" and {len(outcome.failed) - 3} more" if len(outcome.failed) > 3 else ""
        raise RtstyleError(f"{len(outcome.failed)} of {counted(len(plan.jobs), 'video')} could not be converted: "
                           f"{named}{more} (see above)")


def _probe_all(plan: VideoPlan) -> dict[Path, VideoInfo | str]:
    """Each video's header (for the overall progress), or why it cannot be read: said when its turn comes."""
    infos: dict[Path, VideoInfo | str] = {}
    for job in plan.jobs:
        if job.source not in infos:
            try:
                infos[job.source] = probe_video(job.source)
            except (RtstyleError, av.error.FFmpegError) as exc:
                infos[job.source] = str(exc)
    return infos


@dataclass
class _Sizes:
    """What each readable video is converted to: its frames' size and how many frames to expect."""
    frame: dict[Path, tuple[int, int]]
    frames: dict[Path, int | None]


@dataclass
class _LoadedStyle:
    """A style's model, loaded once for all its videos, with how it runs them and what makes their frames theirs."""
    style: RequestedStyle
    stylizer: Stylizer
    workers: int
    threads: int | None
    record: dict[str, object]


class _BatchProgress:
    """One bar for the whole batch, above each video's own: which video of how many, and the time left, by pixels
    (it holds for videos of mixed sizes and lengths); off where each video's bar is off (not a terminal)."""

    def __init__(self, jobs: list[VideoJob], weights: dict[VideoJob, int]) -> None:
        self.count, self.weights, self.number, self.done = len(jobs), weights, 0, 0
        self.bar = tqdm(total=sum(weights.values()), disable=True if len(jobs) == 1 else None, leave=False,
                        dynamic_ncols=True, desc=f"video 1 of {len(jobs)}",
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]")

    def start(self, job: VideoJob, log: Log) -> None:
        self.number += 1
        self.bar.set_description_str(f"video {self.number} of {self.count}")
        log(f"video {self.number} of {self.count}: {job.source} -> {job.target}")

    def finished(self, job: VideoJob) -> None:
        self.done += self.weights[job]
        self.bar.n = self.done  # the frames the video really had, not its header's guess
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _run_jobs(plan: VideoPlan, styles: list[RequestedStyle], infos: dict[Path, VideoInfo | str],
              settings: VideoSettings, suffix: str, outcome: BatchOutcome, log: Log) -> None:
    """Each style's videos, its model loaded once (for the largest of them)."""
    from rtstyle.cli.video_cmd import open_preview
    from rtstyle.realtime.convert import expected_frames, frame_size

    fmt = output_format(Path(f"result{suffix}"))
    readable = {path: info for path, info in infos.items() if isinstance(info, VideoInfo)}
    sizes = _Sizes({path: frame_size(info, settings.scale, settings.max_size, fmt) or (info.width, info.height)
                    for path, info in readable.items()},
                   {path: expected_frames(info, settings.start, settings.duration, fmt)
                    for path, info in readable.items()})
    progress = _BatchProgress(plan.jobs, _weights(plan.jobs, sizes))
    shown: ConversionPreview | None = None
    try:
        shown = open_preview() if settings.preview else None
        for style in styles:
            jobs = [job for job in plan.jobs if job.style == style.name]
            largest = max((sizes.frame[job.source] for job in jobs if job.source in readable),
                          key=lambda size: size[0] * size[1], default=None)
            loaded = _load_style(style, largest, settings, log) if largest else None
            try:
                for job in jobs:
                    progress.start(job, log)
                    if shown is not None:
                        shown.start(job.target.name, sizes.frames.get(job.source))
                    _convert_job(job, infos[job.source], loaded, sizes, settings, progress, outcome, log, shown)
                    progress.finished(job)
            except KeyboardInterrupt:
                rest = len(plan.jobs) - outcome.converted - len(outcome.failed)
                failed = f", {len(outcome.failed)} could not be converted" if outcome.failed else ""
                log(f"the batch stopped at video {progress.number} of {len(plan.jobs)} ({outcome.converted} written"
                    f"{failed}, {rest} not done): run the same command again to finish it (what is written is "
                    "skipped)")
                raise
            finally:
                if loaded is not None:
                    loaded.stylizer.close()
    finally:
        progress.close()
        if shown is not None:
            shown.close()


def _load_style(style: RequestedStyle, largest: tuple[int, int], settings: VideoSettings, log: Log) -> _LoadedStyle:
    """The style's model, for frames up to `largest` at once where --parallel-frames (or its default) says so."""
    from rtstyle.cli.video_cmd import load_for_frames, parallel_by_default, run_record
    from rtstyle.realtime.processing import network_size

    parallel = (settings.parallel_frames if settings.parallel_frames is not None
                else parallel_by_default(style.spec, settings.stabilize, settings.backend, settings.device))
    stylizer, workers, threads = load_for_frames(style.spec, settings.backend, settings.device, settings.precision,
                                                  parallel, *network_size(*largest, settings.look), log,
                                                  said=settings.parallel_frames is True)
    at_once = f", {workers} frames at once" if workers > 1 else ""
    log(f"style {stylizer.style_name} on {stylizer.description}{at_once}")
    stylizer.notify = log  # e.g. frames too large for memory, stylized in tiles
    record = run_record(style.spec, look=settings.look, stabilize=settings.stabilize, precision=settings.precision)
    return _LoadedStyle(style, stylizer, workers, threads, record)


def _convert_job(job: VideoJob, info: VideoInfo | str, loaded: _LoadedStyle | None, sizes: _Sizes,
                 settings: VideoSettings, progress: _BatchProgress, outcome: BatchOutcome, log: Log,
                 preview: ConversionPreview | None = None) -> None:
    """One video, converted as `rtstyle video SOURCE -o TARGET` converts it; a failure is noted and said."""
    from rtstyle.cli.video_cmd import faster_choices, say_written
    from rtstyle.realtime.convert import ConvertOptions, convert_video
    from rtstyle.realtime.estimate import RunEstimate
    from rtstyle.realtime.processing import FrameProcessor

    if isinstance(info, str):  # it could not be read
        outcome.failed.append((job, info))
        log(f"failed: {info}")
        return
    assert loaded is not None
    stylizer, stabilize, look = loaded.stylizer, settings.stabilize, settings.look
    width, height = sizes.frame[job.source]
    options = ConvertOptions(source=job.source, target=job.target, quality=settings.quality, crf=settings.crf,
                             preset=settings.preset, start=settings.start, duration=settings.duration,
                             scale=settings.scale, max_size=settings.max_size, overwrite=settings.overwrite,
                             audio=settings.audio, record=loaded.record, restart=settings.restart,
                             workers=loaded.workers)
    timed = RunEstimate(
        FrameProcessor(stylizer, post_filter=make_stabilizer(stabilize), look=look), sizes.frames[job.source], log,
        alternatives=lambda: faster_choices(loaded.style.spec, stylizer, max(width, height), look, stabilize,
                                            backend=settings.backend, device=settings.device,
                                            precision=settings.precision, cpu_threads=loaded.threads),
        again=lambda: FrameProcessor(stylizer, post_filter=make_stabilizer(stabilize), look=look),
        workers=loaded.workers)
    try:
        result = convert_video(options, timed, log=log, resumed=timed.skip,
                               frame_done=lambda: progress.bar.update(width * height), preview=preview)
    except (RtstyleError, av.error.FFmpegError) as exc:
        if _disk_full(exc):  # every video after it would fail too, each after its work
            raise RtstyleError(f"{exc}: the batch stopped at video {progress.number} of {progress.count} "
                               f"({outcome.converted} written): make room and run the same command again to finish "
                               "it") from None
        outcome.failed.append((job, str(exc)))
        log(f"failed: {exc}")
        return
    say_written(result, log)
    tqdm.write(str(result.path), file=sys.stdout)  # as one video's run: the result's path
    outcome.converted += 1
    if result.stops_held:  # a Ctrl-C or kill while it was finished: it is written, and the batch stops here
        raise stop_for(list(result.stops_held))


def _disk_full(exc: BaseException) -> bool:
    """A conversion failed for want of room (convert_video names the output, the disk's error in its context)."""
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT)


def _weights(jobs: list[VideoJob], sizes: _Sizes) -> dict[VideoJob, int]:
    """Each job's share of the batch's work: its frames times their pixels; a video whose length is not known
    counts as the mean of the others; one that cannot be read as nothing."""
    counts = [n for n in sizes.frames.values() if n]
    fill = sum(counts) // len(counts) if counts else 1
    return {job: (sizes.frames[job.source] or fill) * sizes.frame[job.source][0] * sizes.frame[job.source][1]
            if job.source in sizes.frame else 0 for job in jobs}


def _say_summary(outcome: BatchOutcome, notes: list[str], seconds: float, log: Log) -> None:
    failed = [f"{len(outcome.failed)} could not be converted"] if outcome.failed else []
    log(f"wrote {counted(outcome.converted, 'video')} in {how_long(seconds)}" + "".join(f"; {n}" for n in
                                                                                      notes + failed))
    for job, reason in outcome.failed:
        log(f"  {job.source}: {reason}")

