"""`rtstyle video`: stylize a video file; the audio is copied unchanged where the output's players play it."""

from __future__ import annotations

import contextlib
import glob
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rtstyle.cli.completion import complete_path, complete_style_list
from rtstyle.cli.options import (
    FiniteFloatRange, UserPath, engine_options, look_options, make_stabilizer, stabilize_option,
)
from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import result_stem
from rtstyle.io.unicode_names import user_path
from rtstyle.io.quality import (
    AAC_BITRATE, DEFAULT_PRESET, DEFAULT_QUALITY, OPUS_BITRATE, QUALITY_CRF, RESULT_FORMATS, VP9_QUALITY_CRF,
    WEBP_QUALITY, X264_PRESETS,
)
from rtstyle.realtime.timeparse import TimeType
from rtstyle.styles.catalog import style_specs
from rtstyle.wording import counted, how_long

if TYPE_CHECKING:
    from rtstyle.engine.base import Stylizer
    from rtstyle.realtime.convert import ConvertResult
    from rtstyle.realtime.estimate import Alternative
    from rtstyle.realtime.look import Look
    from rtstyle.realtime.preview import ConversionPreview


@click.command()
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...", shell_complete=complete_path)
@click.option("-o", "--output", "output_arg", type=UserPath(),
              help="Output file: .mp4, .m4v, .mkv or .mov (H.264, audio copied, or AAC where players would not play "
                   "it), .webm (VP9, audio as Opus), .gif "
                   "or .webp (animated, no audio, at most 480 px unless --max-size or --scale); or a folder for "
                   "SOURCE_STYLE.mp4 in it (a batch's results, with the inputs' subfolders kept). Default: "
                   "SOURCE_STYLE.mp4 beside each input.")
@click.option("-s", "--style", "style_args", multiple=True, shell_complete=complete_style_list,
              help="Style name (see `rtstyle styles`), a style file or an exported .onnx model. Several: repeat it, or "
                   "separate them with commas; `all` for every usable installed style (fast variants aside). "
                   "Default: mosaic.")
@click.option("--format", "result_format", type=click.Choice(RESULT_FORMATS, case_sensitive=False),
              help="What results are written as, named SOURCE_STYLE.FORMAT (default mp4): e.g. gif for a folder of "
                   "clips to share. Not needed with -o FILE: its extension says it.")
@click.option("--quality", type=click.Choice(list(QUALITY_CRF)), default=DEFAULT_QUALITY, show_default=True,
              help="H.264 quality: " + ", ".join(f"{k}=crf {v}" for k, v in QUALITY_CRF.items()) + ". WebM: VP9 crf "
                   + "/".join(str(v) for v in VP9_QUALITY_CRF.values()) + " with Opus at "
                   + "/".join(str(v // 1000) for v in OPUS_BITRATE.values()) + " kb/s a channel. Audio encoded as "
                   "AAC: " + "/".join(str(v // 1000) for v in AAC_BITRATE.values()) + " kb/s a channel. WebP: quality "
                   + "/".join(str(v) if v < 100 else "lossless" for v in WEBP_QUALITY.values())
                   + ". A GIF's palette is made for the clip.")
@click.option("--crf", type=click.IntRange(0, 63),
              help="Constant rate factor: x264's (0-51), or VP9's (0-63) for .webm; overrides --quality.")
@click.option("--preset", type=click.Choice(X264_PRESETS), default=DEFAULT_PRESET, show_default=True,
              help="x264 speed/size trade-off (H.264 only); slower presets make smaller files at the same quality.")
@click.option("--start", type=TimeType(), default=0.0,
              help="Start this far into the video, counted from its first frame (seconds, 2m or MM:SS).")
@click.option("--duration", type=TimeType(positive=True), help="Convert only this long (seconds, 2m or MM:SS).")
@click.option("--scale", type=FiniteFloatRange(0.05, 4.0), help="Resize frames by this factor before stylizing.")
@click.option("--max-size", type=click.IntRange(min=16), help="Downscale so the longer side is at most this.")
@click.option("--no-audio", is_flag=True, help="Drop the audio instead of copying it.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--restart", is_flag=True,
              help="Start from the beginning instead of continuing an interrupted run's OUTPUT.partial file "
                   "(which this run replaces).")
@click.option("--parallel-frames/--one-frame-at-a-time", default=None,
              help="On the CPU, stylize one frame per core at once, each on one thread, instead of one frame on "
                   "every core: less CPU time a frame, the same output, and a frame's memory per core (fast "
                   "networks: 1.1-1.2x the frames a second on a busy 2-core machine; full networks: a few %). "
                   "Default: on for the fast networks (NAME-fast) without --stabilize, off otherwise. Not with "
                   "--stabilize; a GPU runs one frame at a time.")
@click.option("--preview", is_flag=True,
              help="Show the stylized frames in a window as they are written (up to 10 a second); q, Esc or closing "
                   "it stops as Ctrl-C does (the part is kept, and the same command continues it).")
@stabilize_option
@look_options
@engine_options
def video(sources: tuple[str, ...], output_arg: str | None, style_args: tuple[str, ...], result_format: str | None,
          quality: str, crf: int | None, preset: str, start: float, duration: float | None, scale: float | None,
          max_size: int | None, no_audio: bool, overwrite: bool, restart: bool, parallel_frames: bool | None,
          preview: bool, stabilize: float | None, strength: float, keep_colors: bool, stroke_size: float,
          backend: str, device: str, precision: str) -> None:
    """Stylize videos: files, folders (recursive) and glob patterns. H.264 (yuv420p) out, in .mp4, .m4v, .mkv or
    .mov; frame rate, timestamps, size, rotation (a portrait phone video is stylized upright), pixel shape and
    colour tags (BT.709 etc.) are kept, and the audio is copied packet for packet (no re-encoding) with each track's
    language, where the output's players play it: a camera's PCM audio in .mp4 (or FLAC, AC-3 ...) is encoded as AAC
    instead, and rtstyle says so (.mov and .mkv keep PCM as it is; a camcorder's Blu-ray PCM, which only its own
    containers hold, becomes FLAC in .mkv). Interlaced video (1080i camcorders, broadcast TV) is deinterlaced before
    stylizing (bwdif, a frame for each frame), and rtstyle says so. HDR video (HLG from phones, PQ / HDR10) is
    tone-mapped to SDR (BT.709) for the networks and the output, and rtstyle says so. Subtitles are not copied, and
    rtstyle says so. --start and --duration count from the video's first frame, whatever its first timestamp.

    To share a short clip: .webm is VP9 with the audio re-encoded as Opus (copied if it is Opus or Vorbis
    already). .gif is an animated GIF with a 256-colour palette made for the stylized frames, at most 25 frames a
    second (every 2nd frame of a 30 fps video, lasting as long) and 480 px unless --max-size or --scale is given,
    upright, without audio; .webp is an animated WebP, likewise but at the full frame rate.

    Decoding, the model and encoding run at the same time in three threads (--parallel-frames: the model on a frame
    per core at once). A run with more than 5 minutes to go says, after its first frames, how long it will take and
    which options would be faster (timed on the video's own frames). The output is written to a hidden temporary
    file and renamed when complete. Ctrl-C (exit 130) or `kill PID` (exit 143) keeps what was converted as
    OUTPUT.partial.mp4 (playable) and never leaves a file under the requested name. Running the same command again
    continues it: the frames it holds are not stylized again (their packets are copied; those after its last
    keyframe are encoded again), and rtstyle says so; a part made with other settings (style, look, size, range,
    quality, or a changed source) is refused, naming what differs; --restart starts over. A killed or crashed run is
    continued too. WebM, GIF and WebP runs always start from the beginning. Odd frame sizes are padded by one pixel
    (edge repeated), because yuv420p needs even sizes. A GIF is written in two passes: its palette is made from
    every stylized frame, which are kept in a hidden file beside the output until then (0.4 MB a frame at 480x270).
    The hidden files a killed run leaves that cannot be continued (a GIF's frames, a WebM's or WebP's temporary
    file) are removed by the next run writing the same output, which says how much that freed; a live run's are
    never touched.

    A batch (several videos, a folder, a pattern or several styles) converts one video after another, each as
    above: results go beside each video as VIDEO_STYLE.mp4 (--format for another), or into -o DIR with the
    folders' subfolders kept. Inputs are never replaced; existing results are skipped unless --overwrite, and an
    earlier result (clip_candy.mp4 beside clip.mov) or part (clip_candy.partial.mp4) is not taken for an input,
    so after Ctrl-C the same command finishes the batch, continuing the interrupted video. Hidden files are
    skipped. A video that cannot be converted does not stop the others; the batch ends with a summary naming
    each, and exits with 2.

    \b
    Examples:
      rtstyle video clip.mp4 -o clip_mosaic.mp4 --style mosaic
      rtstyle video talk.mkv -o talk_candy.mkv --style candy --start 1:00 --duration 30
      rtstyle video phone.mov -o small.mp4 --max-size 720 --quality medium
      rtstyle video party.mp4 --style udnie --strength 0.7 --keep-colors
      rtstyle video 4k.mp4 --style candy --stroke-size 2    # bolder strokes, about 4x faster
      rtstyle video clip.mp4 -o clip.gif --style candy --duration 5
      rtstyle video clip.mp4 -o clip.webm --style wave
      rtstyle video long.mp4 --style mosaic --parallel-frames
      rtstyle video clips/ --style candy                 # clips/**/NAME_candy.mp4
      rtstyle video a.mp4 b.mov --style mosaic,candy -o stylized/
      rtstyle video "trip/*.mp4" --style all -o out/     # one result per style
      rtstyle video clips/ --style wave --format gif --duration 5
    """
    if preview:  # before anything loads PyAV, or the window would never open (see load_opencv_before_pyav)
        from rtstyle.realtime.display import load_opencv_before_pyav

        load_opencv_before_pyav()
    sources = tuple(user_path(source, "input") for source in sources)  # before a folder or pattern is told apart
    if parallel_frames and stabilize is not None:
        raise RtstyleError("--parallel-frames cannot be used with --stabilize: each stabilized frame needs the "
                           "one before it")
    suffix = f".{(result_format or 'mp4').lower()}"
    from rtstyle.realtime.look import Look

    look = Look(strength, keep_colors, stroke_size)
    if preview:  # before any work: no window to show it in is the only line
        from rtstyle.realtime.display import check_display_available

        check_display_available("convert without --preview (the progress bar says how far it is)")
    if is_batch(sources, style_args):
        from rtstyle.cli.video_batch import VideoSettings, convert_batch

        settings = VideoSettings(quality=quality, crf=crf, preset=preset, start=start, duration=duration, scale=scale,
                                 max_size=max_size, audio=not no_audio, overwrite=overwrite, restart=restart,
                                 parallel_frames=parallel_frames, stabilize=stabilize, look=look, backend=backend,
                                 device=device, precision=precision, preview=preview)
        convert_batch(sources, output_arg, style_args, suffix, settings)
        return
    source = Path(sources[0])
    style = next(iter(style_specs(style_args)), None)
    from tqdm import tqdm

    from rtstyle.io.formats import check_crf, output_format
    from rtstyle.io.video_probe import probe_video
    from rtstyle.realtime.convert import (
        ConvertOptions, check_paths, check_start, convert_video, expected_frames, frame_size,
    )
    from rtstyle.realtime.estimate import RunEstimate
    from rtstyle.realtime.playlist import default_style
    from rtstyle.realtime.processing import FrameProcessor, network_size

    style = style or default_style()
    output = None if output_arg is None else Path(os.path.normpath(output_arg))  # as options.output_path does
    # `-o stylized/`, as `rtstyle image` takes it: a folder, made if need be (its trailing slash says so).
    if output is None or output.is_dir() or (output_arg or "").endswith(("/", os.sep)):
        output = (output or source.parent) / f"{result_stem(source.stem, _result_name(style))}{suffix}"
    elif result_format and output.suffix.lower() != suffix:
        raise RtstyleError(f"--format {result_format} and -o {output} disagree: give one of them")
    check_paths(source, output, overwrite)  # before the (slow) model load
    fmt = output_format(output)
    check_crf(fmt, crf)
    info = probe_video(source)  # a missing or unreadable input is the only line, before the model load too
    check_start(info, start)  # likewise
    width, height = frame_size(info, scale, max_size, fmt) or (info.width, info.height)
    log = lambda line: tqdm.write(line, file=sys.stderr)  # noqa: E731 - lines above the progress bar, not through it
    # Asked for, or by default where it was measured to win clearly (the fast networks, docs/benchmarks.md).
    parallel = parallel_frames if parallel_frames is not None else parallel_by_default(style, stabilize, backend,
                                                                                          device)
    stylizer, workers, threads = load_for_frames(style, backend, device, precision, parallel,
                                                  *network_size(width, height, look), log,
                                                  said=parallel_frames is True)
    at_once = f", {workers} frames at once" if workers > 1 else ""
    click.echo(f"style {stylizer.style_name} on {stylizer.description}{at_once}", err=True)
    stylizer.notify = log  # e.g. frames too large for memory, stylized in tiles
    shown: ConversionPreview | None = None
    try:
        shown = open_preview() if preview else None
        record = run_record(style, look=look, stabilize=stabilize, precision=precision)
        options = ConvertOptions(source=source, target=output, quality=quality, crf=crf, preset=preset, start=start,
                                 duration=duration, scale=scale, max_size=max_size, overwrite=overwrite,
                                 audio=not no_audio, record=record, restart=restart, workers=workers)
        process = FrameProcessor(stylizer, post_filter=make_stabilizer(stabilize), look=look)
        # After the first frames, a long run says how long, and what would be faster (timed, not guessed).
        timed = RunEstimate(
            process, expected_frames(info, start, duration, fmt), log,
            alternatives=lambda: faster_choices(style, stylizer, max(width, height), look, stabilize, backend=backend,
                                                device=device, precision=precision, cpu_threads=threads),
            again=lambda: FrameProcessor(stylizer, post_filter=make_stabilizer(stabilize), look=look), workers=workers)
        if shown is not None:
            shown.start(output.name, expected_frames(info, start, duration, fmt))
        result = convert_video(options, timed, log=log, resumed=timed.skip, preview=shown)
    finally:
        stylizer.close()
        if shown is not None:
            shown.close()
    say_written(result, log)
    click.echo(str(result.path))


def open_preview() -> ConversionPreview:
    """--preview's window."""
    from rtstyle.realtime.display import Window
    from rtstyle.realtime.preview import ConversionPreview

    return ConversionPreview(Window("rtstyle video"))


def is_batch(sources: tuple[str, ...], style_args: tuple[str, ...]) -> bool:
    """Several videos, a folder, a pattern or several styles (rtstyle.cli.video_batch); else one video's
    conversion."""
    specs = style_specs(style_args)
    if len(specs) > 1 or specs == ["all"] or len(sources) > 1:
        return True
    path = Path(sources[0])  # "" is no folder (Path("") is "."): one video's run refuses it, as before
    return (bool(sources[0]) and path.is_dir()) or (glob.has_magic(sources[0]) and not path.exists())


def say_written(result: ConvertResult, log: Callable[[str], None]) -> None:
    """'wrote 240 frames 640x360, 1 audio stream copied in 12 s (20.0 fps)'."""
    audio = f", {audio_summary(result.audio_streams, result.audio_reencoded)}" if result.audio_streams else ", no audio"
    stylized = result.frames - result.kept  # the pace of this run's own work
    fps = stylized / result.seconds if result.seconds else 0.0
    pace = f"{fps:.1f} fps" if fps >= 1 or not fps else f"{result.seconds / stylized:.1f} s a frame"
    kept = f" ({result.kept} kept from the interrupted run, {stylized} stylized now)" if result.kept else ""
    log(f"wrote {counted(result.frames, 'frame')}{kept} {result.width}x{result.height}{audio} in "
        f"{how_long(result.seconds)} ({pace})")


def parallel_by_default(style: str, stabilize: float | None, backend: str, device: str) -> bool:
    """Frame-parallel by default where it wins clearly: a fast network (below the stabiliser's light threshold,
    as the NAME-fast variants are) on the CPU, without the stabiliser."""
    from rtstyle.cli.webcam_cmd import gpu_expected
    from rtstyle.realtime.stabilize import LIGHT_BELOW_MACS_PER_PIXEL
    from rtstyle.styles.catalog import style_cost

    if stabilize is not None or backend == "torch" or gpu_expected(backend, device):
        return False
    cost = style_cost(style)
    return cost is not None and cost < LIGHT_BELOW_MACS_PER_PIXEL


def load_for_frames(style: str, backend: str, device: str, precision: str, parallel: bool, width: int,
                     height: int, log: Callable[[str], None], said: bool = True) -> tuple[Stylizer, int, int | None]:
    """The stylizer, how many frames it stylizes at once, and its session threads (None: onnxruntime's default).

    `parallel` (--parallel-frames), on the CPU: one frame per core, each on one thread of one shared session
    (rtstyle.realtime.parallel). Where that many frames do not fit in memory at once (frames of thousands of px,
    many cores), the model is loaded again for fewer frames with more threads each, or for one frame at a time
    on every core, and the user is told."""
    from rtstyle.cli.webcam_cmd import gpu_expected
    from rtstyle.engine import create_stylizer
    from rtstyle.realtime.parallel import frames_at_once, planned_workers

    on_gpu = parallel and gpu_expected(backend, device)
    wanted = planned_workers(backend, None, on_gpu=on_gpu) if parallel else 1
    if parallel and wanted == 1 and said:  # asked for, and not possible here
        log("--parallel-frames: " + ("a GPU runs one frame at a time" if on_gpu else "the torch backend runs one "
            "frame at a time" if backend == "torch" else "one core: one frame at a time"))
    threads = 1 if wanted > 1 else None
    stylizer = create_stylizer(style, backend=backend, device=device, precision=precision, cpu_threads=threads)
    workers = frames_at_once(stylizer, wanted, height, width)
    if workers != wanted:
        if said:  # by default it falls back quietly
            log(f"--parallel-frames: {wanted} frames of {width}x{height} do not fit in memory at once: "
                + (f"{workers} at a time" if workers > 1 else "one at a time, on every core"))
        guard = stylizer.memory_guard  # it has let `workers` frames through: the same style, the same guard
        stylizer.close()
        threads = wanted // workers if workers > 1 else None
        stylizer = create_stylizer(style, backend=backend, device=device, precision=precision, cpu_threads=threads)
        stylizer.memory_guard = guard
    return stylizer, workers, threads


def audio_summary(streams: int, reencoded: tuple[str, ...]) -> str:
    """'1 audio stream copied', '2 audio streams re-encoded as AAC', '2 audio streams (1 re-encoded as AAC)'."""
    as_what = " and ".join(sorted(set(reencoded)))
    if not reencoded:
        return f"{counted(streams, 'audio stream')} copied"
    if len(reencoded) == streams:
        return f"{counted(streams, 'audio stream')} re-encoded as {as_what}"
    return f"{counted(streams, 'audio stream')} ({len(reencoded)} re-encoded as {as_what}, the rest copied)"


def _result_name(style: str) -> str:
    """What a result is named after: the style's own name (`--style Rain_Princess` gives _rain-princess, as a batch
    names it, so that either finds the other's results), or a file's stem; an unknown name is refused later."""
    from rtstyle.engine.onnx_backend import is_onnx_path
    from rtstyle.styles.catalog import find_style

    if not is_onnx_path(style):
        with contextlib.suppress(RtstyleError):
            return find_style(style).name
    return Path(style).stem


def run_record(style: str, *, look: Look, stabilize: float | None, precision: str) -> dict[str, object]:
    """What makes this run's frames what they are, beside the conversion's own options: an interrupted run is
    continued only by a run whose record is the same (rtstyle.realtime.resume). The style is its file's content:
    a retrained style of the same name is another style. The backend is not in it: onnxruntime and torch give
    the same picture (to rounding)."""
    from rtstyle.engine.onnx_backend import is_onnx_path
    from rtstyle.engine.onnx_cache import file_digest
    from rtstyle.styles.catalog import find_style

    path = Path(style) if is_onnx_path(style) else find_style(style).path
    return {"style": path.stem, "style_file": file_digest(path, chars=32), "strength": look.strength,
            "keep_colors": look.keep_colors, "stroke_size": look.stroke_size, "stabilize": stabilize or None,
            "precision": precision}


def faster_choices(style: str, stylizer: Stylizer, long_side: int, look: Look, stabilize: float | None, *,
                   backend: str, device: str, precision: str, cpu_threads: int | None = None) -> list[Alternative]:
    """What would make a long CPU run faster: the style's fast variant, and frames of at most 1280 px. The fast
    variant is loaded with the run's session threads (`cpu_threads`), as the run would load it.

    None on a GPU: the full networks are fast there, and timing another model could mean a TensorRT build."""
    from rtstyle.cli.webcam_cmd import gpu_expected
    from rtstyle.engine import create_stylizer
    from rtstyle.realtime.estimate import SMALLER_SIDE, Alternative, smaller_frames
    from rtstyle.realtime.playlist import cpu_variant
    from rtstyle.realtime.processing import FrameProcessor

    if gpu_expected(backend, device):
        return []
    choices: list[Alternative] = []
    fast = cpu_variant(style)
    if fast != style:
        loaded: list[Stylizer] = []

        def make_fast() -> FrameProcessor:
            loaded.append(create_stylizer(fast, backend=backend, device=device, precision=precision,
                                          cpu_threads=cpu_threads))
            return FrameProcessor(loaded[-1], post_filter=make_stabilizer(stabilize), look=look)

        def close_fast() -> None:
            for loaded_stylizer in loaded:
                loaded_stylizer.close()

        choices.append(Alternative(f"--style {fast}", make_fast, close=close_fast))
    if long_side > SMALLER_SIDE:  # the same network on smaller frames (a fresh stabiliser: it keeps the last frame)
        choices.append(smaller_frames(lambda: FrameProcessor(stylizer, post_filter=make_stabilizer(stabilize),
                                                             look=look)))
    return choices
