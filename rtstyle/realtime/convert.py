"""Convert a video file: decode -> stylize -> encode, written atomically. H.264 with the audio copied unchanged (or
as AAC where players would not play it: PCM in .mp4); VP9 in WebM with the audio re-encoded to Opus; animated GIF
or WebP, upright, without audio (rtstyle.io.formats).

Output safety: frames go to a temporary file beside the target, renamed when complete. On Ctrl-C (or SIGTERM,
see rtstyle.interrupts) the encoder
is flushed and the container finalised, and what was converted so far is kept as `NAME.partial.EXT` (a
playable file, clearly not the finished output); the requested name is never touched. On any other failure
the temporary file is deleted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from rtstyle.engine.base import cancel_model_runs
from rtstyle.errors import RtstyleError
from rtstyle.interrupts import uninterruptible
from rtstyle.io.atomic import discard_temp, move_into_place, refuse_to_replace, temp_path_beside
from rtstyle.io.animated import GifWriter
from rtstyle.io.deinterlace import FILTER as DEINTERLACER
from rtstyle.io.leftovers import clear_leftovers
from rtstyle.io.fragments import FRAGMENTED_OPTIONS, defragment, fragmentable
from rtstyle.io.hdr import HDR_NAMES, PQ, tone_map_setting
from rtstyle.io.formats import (
    GIF, OutputFormat, audio_encodings, audio_note, check_crf, encoder_options, output_format,
)
from rtstyle.io.quality import DEFAULT_PRESET, DEFAULT_QUALITY
from rtstyle.io.video_probe import VideoInfo, open_input, probe_video
from rtstyle.io.video_reader import AudioPacket, DecodedFrame, DecodeReport, iter_media
from rtstyle.io.video_writer import VideoWriter, even_size
from rtstyle.realtime.pipeline import Pipeline
from rtstyle.realtime.processing import scaled_size
from rtstyle.realtime.resume import (
    CopiedFrame, KeptFrame, Resume, ReusedFrame, partial_path, plan_resume, reuse_frames, source_identity,
)
from rtstyle.wording import counted

if TYPE_CHECKING:
    from rtstyle.realtime.preview import ConversionPreview

Log = Callable[[str], None]

#: How often what is written is pushed to the disk (fsync), so a power loss keeps it too.
SYNC_SECONDS = 30.0


@dataclass(frozen=True)
class ConvertOptions:
    source: Path
    target: Path
    quality: str = DEFAULT_QUALITY
    crf: int | None = None  # the encoder's own scale (x264 or VP9); None: from `quality`
    preset: str = DEFAULT_PRESET
    start: float = 0.0
    duration: float | None = None
    scale: float | None = None
    max_size: int | None = None
    overwrite: bool = False
    audio: bool = True
    queue_size: int = 4
    # Frames stylized at once, each on a thread of its own (rtstyle.realtime.parallel): `process` must then be
    # safe to call from that many threads. The output is the same, in the same order.
    workers: int = 1
    # What the run is, beyond the options above (the style file's hash, the look, --stabilize): with it, an
    # interrupted run's part is resumed (rtstyle.realtime.resume); None: every run starts from the beginning.
    record: dict[str, Any] | None = None
    restart: bool = False  # start from the beginning, replacing an earlier part


@dataclass(frozen=True)
class ConvertResult:
    path: Path
    frames: int
    width: int
    height: int
    seconds: float
    audio_streams: int
    audio_reencoded: tuple[str, ...] = ()  # what each audio stream encoded again became ("AAC", "Opus")
    kept: int = 0  # frames taken from an interrupted run's part (rtstyle.realtime.resume), not stylized again
    # Ctrl-C or SIGTERM heard while the output was being finished (it was written anyway): one video's run has
    # ended; a batch stops there (interrupts.stop_for).
    stops_held: tuple[int, ...] = ()


def partial_path_for(target: Path) -> Path:
    """Where an interrupted conversion keeps its playable part: out.mp4 -> out.partial.mp4, or the first free
    out.partial-N.mp4 (an earlier interruption's part, or the user's own file of that name, is kept)."""
    number = 1
    while partial_path(target, number).exists():
        number += 1
    return partial_path(target, number)


def frame_size(info: VideoInfo, scale: float | None, max_size: int | None,
               fmt: OutputFormat | None = None) -> tuple[int, int] | None:
    """The size frames are decoded at: None keeps the input size; scaled sizes are rounded to even numbers. An
    animated picture (GIF, WebP) is capped at its format's default size unless --scale or --max-size is given."""
    if fmt is not None and scale is None and max_size is None:
        max_size = fmt.default_max_size
    width, height = info.width, info.height
    factor = scale or 1.0
    if max_size and max(width, height) * factor > max_size:
        factor = max_size / max(width, height)
    if factor == 1.0:
        return None
    w, h = scaled_size(width, height, factor)
    return max(2, w - w % 2), max(2, h - h % 2)


def check_paths(source: Path, target: Path, overwrite: bool) -> None:
    if source.exists() and target.exists() and source.resolve() == target.resolve():
        raise RtstyleError(f"the output {target} would replace its input: choose another -o")  # as `image` says
    output_format(target)
    refuse_to_replace(target, overwrite, "video")


def check_start(info: VideoInfo, start: float) -> None:
    if info.duration is not None and start >= info.duration:
        raise RtstyleError(f"--start {start:g} s is past the end of the video ({info.duration:.2f} s)")


def expected_frames(info: VideoInfo, start: float, duration: float | None,
                    fmt: OutputFormat | None = None) -> int | None:
    """Frames the output will have: those of the range, fewer where the format caps the frame rate."""
    if not start and duration is None:
        count = info.frame_count
    elif info.duration is None:
        count = None
    else:
        span = max(0.0, info.duration - start)
        if duration is not None:
            span = min(span, duration)
        count = max(1, round(span * float(info.rate)))
    if count is None or fmt is None:
        return count
    step = frame_step(float(info.rate), fmt)
    return -(-count // step)


def frame_step(rate: float, fmt: OutputFormat) -> int:
    """Every how many frames one is kept, for a format with a frame rate cap (30 fps -> every 2nd for GIF)."""
    if fmt.max_rate is None or rate <= 0:
        return 1
    return max(1, math.ceil(rate / fmt.max_rate - 1e-6))


def capped_rate(items: Iterator[DecodedFrame | AudioPacket], time_base: Fraction,
                max_rate: float | None) -> Iterator[DecodedFrame | AudioPacket]:
    """Drop the frames that come less than 1/max_rate s after the last kept one (before they are stylized: no
    work is spent on them). Each kept frame keeps its time, so the clip lasts as long; for constant frame rates
    this keeps every n-th frame, so each shows for the same time."""
    if max_rate is None:
        yield from items
        return
    gap = 1 / max_rate - 1e-4  # 50 fps: frames 1/25 s apart are kept, whatever the time base's rounding
    last: int | None = None
    for item in items:
        if isinstance(item, DecodedFrame):
            if last is not None and float((item.pts - last) * time_base) < gap:
                continue
            last = item.pts
        yield item


def convert_video(options: ConvertOptions, process: Callable[[np.ndarray], np.ndarray], *,
                  log: Log = lambda _: None, progress: bool | None = None,
                  resumed: Callable[[int], None] = lambda _: None,
                  frame_done: Callable[[], None] = lambda: None,
                  preview: ConversionPreview | None = None) -> ConvertResult:
    """Convert `options.source` into `options.target`, running `process` on every frame.

    `progress`: True/False forces the tqdm bar on/off; None shows it on terminals only. `resumed`: called with
    the number of frames an earlier part holds, before the run, when it continues one (`options.record`).
    `frame_done`: called as each frame is written, kept ones too (a batch's overall progress). `preview`: given
    each frame stylized in this run as it is written, upright (`--preview`); it may raise KeyboardInterrupt to stop.
    """
    source, target = Path(options.source), Path(options.target)
    check_paths(source, target, options.overwrite)
    fmt = output_format(target)
    check_crf(fmt, options.crf)
    info = probe_video(source)
    check_start(info, options.start)
    # A PQ video's frames roll off to its own peak (its HDR10 metadata), which the log and a resumable part say.
    peak = info.peak
    if info.color.hdr:  # said: the output is SDR, which every screen shows as intended
        up_to = f"; its highlights roll off up to {peak}" if info.color.trc == PQ else ""
        log(f"{source} is HDR video ({HDR_NAMES[info.color.trc]}, {info.bits}-bit): tone-mapped to SDR (BT.709, "
            f"8-bit) for the networks, which learnt from SDR photos, and for the output{up_to}")
    elif info.bits > 8:  # said, not hidden (as for photos)
        log(f"{source} has {info.bits}-bit video: the networks and the output ({fmt.label}"
            f"{', yuv420p' if fmt.even_size else ''}) work at 8 bits")
    if info.interlaced:  # said: the output is progressive, at the input's frame rate
        log(f"{source} is interlaced ({info.height}i): each frame is deinterlaced ({DEINTERLACER}) before stylizing, "
            f"at the same {float(info.rate):.4g} frames a second")
    size = frame_size(info, options.scale, options.max_size, fmt)
    width, height = size or (info.width, info.height)
    out_w, out_h = even_size(width, height) if fmt.even_size else (width, height)
    if (out_w, out_h) != (width, height):
        log(f"odd frame size {width}x{height}: padded to {out_w}x{out_h} by repeating the last "
            f"column/row ({fmt.label} yuv420p needs even sizes)")
    step = frame_step(float(info.rate), fmt)
    if step > 1:
        log(f"{fmt.label}: every {_nth(step)} frame kept ({float(info.rate) / step:.4g} fps; at most "
            f"{fmt.max_rate:g} fps, as GIF delays are in 1/100 s), lasting as long")
    total = expected_frames(info, options.start, options.duration, fmt)
    if info.subtitles:  # said, not dropped silently: a film's subtitles are easy to miss until they are needed
        log(f"{counted(info.subtitles, 'subtitle stream')} of {source} not copied (the video and its audio are)")
    audio = options.audio and bool(info.audio_codecs)
    if audio and fmt.audio == "none":
        log(f"{fmt.label} has no sound: the audio of {source} is left out")
        audio = False
    # Copied where the target's players play it; else encoded again (PCM in .mp4 as AAC, AAC in WebM as Opus).
    reencode = audio_encodings(source, target, info.audio_codecs, options.quality) if audio else []
    note = audio_note(target, info.audio_codecs, reencode)
    if note:
        log(note)

    rotation = info.rotation if fmt.rotation_tag else 0
    process = upright(process, info.rotation, turn_back=fmt.rotation_tag)
    if info.rotation % 180 == 90 and not fmt.rotation_tag:  # written as shown: a portrait video stays portrait
        out_w, out_h = out_h, out_w
    if size is not None and options.scale is None and options.max_size is None:
        log(f"{fmt.label}: frames scaled down to {out_w}x{out_h} (at most {fmt.default_max_size} px, as animated "
            "pictures are shown; --max-size to change)")

    clear_leftovers([target], log)  # hidden files of runs stopped hard (not a part that resume continues)
    resume = _plan_resume(options, fmt, (out_w, out_h), tone_map_setting(info.color.trc, peak.nits)
                          if info.color.hdr else None, log)
    if resume is not None and resume.part is not None:
        resumed(resume.part.frames)

    def transform(item: DecodedFrame | AudioPacket) -> DecodedFrame | AudioPacket:
        if isinstance(item, DecodedFrame) and not isinstance(item, ReusedFrame):  # a kept one is stylized already
            return DecodedFrame(process(item.image), item.pts, item.index)
        return item  # audio packets ride along, so they stay in demux order

    started = time.perf_counter()
    tmp = temp_path_beside(target)
    # Readable after a hard stop (rtstyle.io.fragments), for the runs that can be continued.
    fragmented = resume is not None and fragmentable(target, source, [k for k, how in enumerate(reencode)
                                                                      if how is None])
    first_time: list[float] = []  # of the first frame given to the encoder
    kept_count = [0]
    writer: VideoWriter | GifWriter | None = None
    try:
        with open_input(source) as container:
            audio_templates = list(container.streams.audio) if audio else []
            if fmt is GIF:
                writer = GifWriter(tmp, width=out_w, height=out_h, time_base=info.time_base,
                                   frame_time=step / float(info.rate), shown_as=target)
            else:
                writer = VideoWriter(tmp, width=out_w, height=out_h, rate=info.rate, time_base=info.time_base,
                                     rotation=rotation, audio_templates=audio_templates, shown_as=target,
                                     color=info.color.written(), sample_aspect=info.sample_aspect, codec=fmt.codec,
                                     options=encoder_options(fmt, options.quality, options.crf, options.preset),
                                     audio_encodings=reencode, pix_fmt=fmt.pix_fmt,
                                     muxer_options={**dict(fmt.muxer_options), **(FRAGMENTED_OPTIONS if fragmented
                                                                                   else {})})
                if resume is not None:
                    resume.begin(tmp)  # marked as this run's, to be continued after a hard stop
            report = DecodeReport()
            items = capped_rate(iter_media(container, start=options.start, duration=options.duration, size=size,
                                           audio=audio, zero=info.first_time, report=report,
                                           peak_nits=peak.nits if info.color.trc == PQ else None), info.time_base,
                                fmt.max_rate)
            if resume is not None and resume.part is not None and isinstance(writer, VideoWriter):
                copied = resume.part.copyable(writer.stream.codec_context.extradata)
                items = reuse_frames(items, resume.part.path, info.time_base, float(info.rate), resume.part.cut,
                                     copied)
            synced = [time.monotonic()]
            bar_shown = None if progress is None else not progress
            with tqdm(total=total, unit="frame", desc=target.name, disable=bar_shown, dynamic_ncols=True,
                      leave=False) as bar:
                def consume(item: DecodedFrame | AudioPacket) -> None:
                    assert writer is not None
                    if isinstance(item, DecodedFrame) and not first_time:
                        first_time.append(float(item.pts * info.time_base))
                    if isinstance(item, ReusedFrame):
                        kept_count[0] += 1
                    if isinstance(item, CopiedFrame) and isinstance(writer, VideoWriter):
                        writer.write_encoded(item.packets)
                        bar.update(1)
                        frame_done()
                    elif isinstance(item, KeptFrame) and isinstance(writer, VideoWriter):
                        writer.write_picture(item.picture, item.pts)
                        bar.update(1)
                        frame_done()
                    elif isinstance(item, DecodedFrame):
                        writer.write(item.image, item.pts)
                        bar.update(1)
                        frame_done()
                        if preview is not None:  # as it is shown: a rotation the file keeps as a tag undone
                            preview(np.rot90(item.image, rotation // 90 % 4) if rotation % 90 == 0 else item.image)
                        if resume is not None and time.monotonic() - synced[0] > SYNC_SECONDS:
                            resume.sync()
                            synced[0] = time.monotonic()
                    else:
                        writer.write_audio(item)

                Pipeline(items, transform, queue_size=options.queue_size, workers=options.workers,
                         cancel=cancel_model_runs).run(consume, idle=preview.idle if preview else lambda: None)
            # A GIF's palette pass takes seconds a hundred frames: a Ctrl-C there is answered, not ignored in silence.
            with uninterruptible(said=lambda: log(f"{target} is being finished: stopping now would lose the "
                                                  "converted frames, so it is written first")) as held:
                _finish(writer, target, bar_shown)
                if fragmented and first_time:
                    written = _defragmented(tmp, target, first_time[0], options.overwrite, log)
                else:
                    written = move_into_place(tmp, target, options.overwrite)
                if resume is not None:
                    resume.end()
                    resume.finished()
            if written != target:
                log(f"{target} appeared while converting (another run writing it?): this result is kept as {written}")
            _note_shortfall(writer.frames_written, total, report, expected_seconds(info, options.start, options.duration),
                            float(info.rate), log)
    except KeyboardInterrupt:
        _keep_partial(writer, tmp, target, total, log, resume)
        raise
    except BaseException as exc:
        if writer is not None:
            writer.abandon()
        discard_temp(tmp)
        if resume is not None:
            resume.end()
        if isinstance(exc, OSError) and exc.filename and Path(exc.filename) == tmp:
            # A full disk, say: name the file the user asked for, not the hidden (and now deleted) temporary one.
            raise RtstyleError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise
    return ConvertResult(written, writer.frames_written, out_w, out_h, time.perf_counter() - started,
                         len(writer.audio_streams), tuple(how.label for how in reencode if how is not None),
                         kept_count[0], tuple(held))



def _defragmented(tmp: Path, target: Path, first_time: float, overwrite: bool, log: Log) -> Path:
    """The finished fragmented file, remuxed into a plain one and moved into place. Where the remux fails (a disk
    without room for the copy, say), the fragmented file is the output: it plays, and the work is not lost."""
    plain = temp_path_beside(target)
    try:
        defragment(tmp, plain, first_time, shown_as=target)
    except (RtstyleError, OSError) as exc:
        discard_temp(plain)
        log(f"{target} is written as fragmented MP4 (it plays as any MP4; some editors want it remuxed): "
            f"{getattr(exc, 'strerror', None) or exc}")
        return move_into_place(tmp, target, overwrite)
    try:
        written = move_into_place(plain, target, overwrite)
    except BaseException:
        discard_temp(plain)
        raise
    discard_temp(tmp)
    return written


def _nth(step: int) -> str:
    return {2: "2nd", 3: "3rd"}.get(step, f"{step}th")


def _finish(writer: VideoWriter | GifWriter, target: Path, bar_shown: bool | None) -> None:
    """Close the writer; a GIF's second pass (palette mapping and encoding) has a bar of its own."""
    if isinstance(writer, GifWriter):
        with tqdm(total=writer.frames_written, unit="frame", desc=f"{target.name} (palette)", disable=bar_shown,
                  dynamic_ncols=True, leave=False) as bar:
            writer.close(bar.update)
    else:
        writer.close()


def upright(process: Callable[[np.ndarray], np.ndarray], rotation: int,
            turn_back: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """Run `process` on a rotated (phone) video's frames as they are shown, upright, and turn the result back to
    how the file stores them (which keeps its rotation tag): the networks learnt from upright photos, and their
    strokes lie the way they are seen (a portrait video's sky is at the top, as in a portrait photo).
    `turn_back` False: the result stays upright, for a format with no rotation tag (GIF, WebP)."""
    turns = rotation // 90 % 4 if rotation % 90 == 0 else 0  # np.rot90 turns as the display tag does
    if not turns:
        return process

    def stylize_upright(frame: np.ndarray) -> np.ndarray:
        result = process(np.ascontiguousarray(np.rot90(frame, turns)))
        return np.ascontiguousarray(np.rot90(result, -turns)) if turn_back else result

    return stylize_upright


def expected_seconds(info: VideoInfo, start: float, duration: float | None) -> float | None:
    """How long the converted part of the video should last, where the file says how long it is."""
    if info.duration is None:
        return duration
    span = max(0.0, info.duration - start)
    return min(span, duration) if duration is not None else span


def _note_shortfall(frames: int, total: int | None, report: DecodeReport, seconds: float | None, rate: float,
                    log: Log) -> None:
    """Say so when the input ended early (a cut or damaged file): its header promised more frames, and its frames
    stop before its stated end. A frame or two less is the rounding of duration x frame rate, not a loss; and
    fewer frames over the whole length is a variable frame rate whose nominal rate is too high (Matroska gives no
    frame count), not a loss either. Damaged packets skipped are said either way."""
    if report.damaged_packets:
        of = f" of the expected {total}" if total is not None and total != frames else ""
        log(f"skipped {counted(report.damaged_packets, 'damaged video packet')} of the input (its frames are "
            f"missing; the video's timing is kept): wrote {counted(frames, 'frame')}{of}")
    elif total is not None and total - frames > 2 and (seconds is None or report.seconds(rate) < seconds - 2 / rate):
        log(f"the input ended after {frames} of the expected {total} frames (the file may be truncated)")


def _plan_resume(options: ConvertOptions, fmt: OutputFormat, size: tuple[int, int], tone_map: str | None,
                 log: Log) -> Resume | None:
    """What this run continues, from its record: the settings that make its frames what they are (for HDR input,
    how it is tone-mapped, `tone_map`: a part made before HDR was tone-mapped, or with another peak, would
    otherwise be mixed in)."""
    if options.record is None:
        return None
    record = {**options.record, "size": list(size), "start": options.start, "duration": options.duration,
              "encoder": {k: v for k, v in encoder_options(fmt, options.quality, options.crf).items()
                          if k != "preset"},  # the preset changes the speed and size, not the look
              "audio": options.audio, "source": source_identity(options.source),
              **({"tone_map": tone_map} if tone_map else {})}
    return plan_resume(options.target, fmt, record, options.restart, log)


def _keep_partial(writer: VideoWriter | GifWriter | None, tmp: Path, target: Path, total: int | None, log: Log,
                  resume: Resume | None = None) -> None:
    """Finalise what was written as NAME.partial.EXT (playable), or delete it when there is nothing to keep."""
    with uninterruptible():
        frames = writer.frames_written if writer is not None else 0
        if writer is not None and frames > 0:
            if isinstance(writer, GifWriter):  # said now: its palette pass takes seconds a hundred frames
                log(f"interrupted: the {frames} frames done are made into a GIF first (its palette pass)")
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - a half-flushed file is not worth keeping
                frames = 0
        elif writer is not None:
            writer.abandon()
        if frames > 0 and tmp.exists():
            if resume is not None and isinstance(writer, VideoWriter):  # with its record, to be resumed
                partial, frames = resume.keep_partial(tmp, partial_path_for(target), frames)
                resume.end()
                again = "; run the same command again to continue it"
            else:
                partial = move_into_place(tmp, partial_path_for(target), overwrite=False)  # another run's is kept
                again = ""
            of_total = f" of ~{total}" if total else ""
            log(f"interrupted: kept the first {frames}{of_total} frames as {partial} (playable{again}); {target} "
                "was not written")
        else:
            discard_temp(tmp)
            if resume is not None:
                resume.end()
            log(f"interrupted before any frame was written; {target} was not written")
