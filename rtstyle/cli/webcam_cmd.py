"""`rtstyle webcam`: live style transfer from a camera (or a video file, stream or device) in a window, or headless."""

from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rtstyle.cli.completion import complete_path, complete_style_list
from rtstyle.cli.options import (
    FiniteFloatRange, UserPath, engine_options, look_options, make_stabilizer, output_path, parse_frame_size,
    stabilize_option,
)
from rtstyle.errors import RtstyleError
from rtstyle.realtime.hotkeys import help_lines
from rtstyle.wording import counted

if TYPE_CHECKING:
    from rtstyle.engine.memory import TooLargeForMemory

_EPILOG = "\b\nHotkeys in the window:\n" + "\n".join(f"  {line}" for line in help_lines())


@click.command(epilog=_EPILOG, short_help="Live style transfer from a webcam, with hotkeys.")
@click.option("-s", "--style", shell_complete=complete_style_list,
              help="Style to start with (name or path). Default: mosaic. Hotkeys step through this style and then "
                   "every installed style; a list (candy,mosaic,udnie) steps through those only.")
@click.option("--camera", type=click.IntRange(min=0), help="Camera index.  [default: 0]")
@click.option("--source", shell_complete=complete_path, help="Instead of a camera: a video file, a URL (rtsp://, http://) or a device (/dev/video2).")
@click.option("--list-cameras", is_flag=True, help="Probe camera indices 0..9, print the ones that work, and exit.")
@click.option("--size", "size_text", metavar="WxH", help="Capture size to ask the camera for (files are resized).")
@click.option("--inference-scale", type=FiniteFloatRange(0.1, 1.0), default=1.0, show_default=True,
              help="Run the model at this fraction of the frame size and upscale: faster on slow machines (the "
                   "strokes grow as with --stroke-size; the two multiply).")
@click.option("--record", type=UserPath(path_type=Path), callback=output_path,
              help="Also write the stylized stream to this video file.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --record file.")
@click.option("--virtual-camera", "virtual_camera", metavar="[DEVICE]", is_flag=False, flag_value="",
              help="Also send the stylized stream to a virtual camera that Zoom, Meet, Teams or OBS can pick, at "
                   "the capture's size and frame rate: the first one there is, or DEVICE (Linux: /dev/videoN of "
                   "v4l2loopback; macOS, Windows: OBS's virtual camera). The call gets the clean stylized picture "
                   "(no overlay or key list, not mirrored: m and the views change the window only). Needs "
                   "pip install \"rtstyle[vcam]\"; see docs/realtime.md.")
@stabilize_option
@look_options
@click.option("--no-fast", is_flag=True, help="Run the style asked for as is: on a CPU, the full network even when a fast variant "
                                         "(NAME-fast) is installed; on a GPU, NAME-fast when asked for.")
@click.option("--no-display", is_flag=True, help="Headless: no window; print latency statistics at the end.")
@click.option("--frames", type=click.IntRange(min=1), help="Stop after this many output frames.")
@click.option("--seconds", type=FiniteFloatRange(min=0, min_open=True), help="Stop after this many seconds.")
@click.option("--realtime", is_flag=True,
              help="Play a file --source as a player does, each frame at its own time, dropping frames the model "
                   "has no time for, like a camera (always so in a window). Headless without it, a file is "
                   "processed as fast as possible, every frame.")
@click.option("--cycle", "cycle_seconds", type=FiniteFloatRange(min=1), metavar="SECONDS",
              help="Move on to the next style every SECONDS (a kiosk, a demo screen), counted from when each style "
                   "shows; n, p and 1..9 still pick one.")
@click.option("--mirror", is_flag=True, help="Start mirrored (selfie view).")
@click.option("--fullscreen", is_flag=True, help="Start in fullscreen.")
@click.option("--snapshot-dir", type=UserPath(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where the s key saves snapshots and the r key its clips.")
@engine_options
def webcam(style: str | None, camera: int | None, source: str | None, list_cameras: bool, size_text: str | None,
           inference_scale: float, record: Path | None, overwrite: bool, virtual_camera: str | None,
           stabilize: float | None, strength: float, keep_colors: bool, stroke_size: float, no_fast: bool,
           no_display: bool, frames: int | None, seconds: float | None, realtime: bool, cycle_seconds: float | None,
           mirror: bool, fullscreen: bool, snapshot_dir: Path, backend: str, device: str, precision: str) -> int:
    """Live style transfer from a webcam, with hotkeys to switch styles and views.

    Capture, the model and display run on separate threads; the capture thread keeps only the newest frame,
    so a slow model shows fewer frames, never old ones. Exit code 0 when stopped (q, Ctrl-C, kill, --frames,
    --seconds, end of a file), 1 when the camera stops delivering frames or the virtual camera stops taking them
    (the recording is still finalised).

    \b
    Examples:
      rtstyle webcam --style mosaic
      rtstyle webcam --camera 1 --size 1280x720 --inference-scale 0.5 --record me.mp4
      rtstyle webcam --source clip.mp4 --no-display --frames 200
      rtstyle webcam --style candy --virtual-camera      # then pick it as the camera in the call
      rtstyle webcam --list-cameras
    """
    from rtstyle.realtime.display import load_opencv_before_pyav

    load_opencv_before_pyav()  # a --source file is read with PyAV; the window must still open
    from rtstyle.realtime import capture as cap

    if list_cameras:
        found = cap.list_cameras()
        if not found:
            click.echo(f"no cameras found at indices 0..{cap.MAX_CAMERA_INDEX}; "
                       "a video file, URL or device can be read with --source")
        for index, width, height, backend_name in found:
            click.echo(f"camera {index}: {width}x{height} ({backend_name})")
        return 0

    from rtstyle.engine import Stylizer, create_stylizer
    from rtstyle.engine.factory import build_model_files
    from rtstyle.engine.memory import TooLargeForMemory
    from rtstyle.engine.tiling import LIVE_BORDER_MARGIN
    from rtstyle.realtime.look import Look
    from rtstyle.realtime.playlist import style_playlist, with_fast_variants
    from rtstyle.realtime.recorder import Recorder
    from rtstyle.realtime.stabilize import wants_light_stabilizer
    from rtstyle.realtime.virtual_camera import VirtualCamera, require_pyvirtualcam
    from rtstyle.realtime.webcam import LiveOptions, run_live
    from rtstyle.styles.catalog import style_cost

    if camera is not None and source is not None:
        raise RtstyleError("use either --camera or --source, not both")
    if record is not None and source is not None and Path(source).exists() and record.exists() \
            and os.path.samefile(source, record):
        raise RtstyleError(f"--record {record} is the --source being read: choose another file")
    if realtime and source is None:
        raise RtstyleError("--realtime paces a file --source; cameras are real time already")
    vcam_device = virtual_camera or None  # "" (no DEVICE given): the first virtual camera there is
    if virtual_camera is not None:
        require_pyvirtualcam()  # a missing install is said before the camera opens and the model loads
    size = parse_frame_size(size_text)
    styles = style_playlist(style)
    fast_note = None
    if not no_fast:
        starting_style = styles[0]
        styles, notes = with_fast_variants(styles, on_gpu=gpu_expected(backend, device))
        # Told for the style the session starts with; the others in the hotkey cycle follow the same rule.
        fast_note = notes.get(starting_style)
    if not no_display:
        from rtstyle.realtime.display import check_display_available

        check_display_available()
    capture, info = cap.open_source(source, size) if source is not None else cap.open_camera(camera or 0, size)
    if fast_note:  # after the source opened: a missing camera's error stays the only line
        click.echo(fast_note, err=True)
    # Closed at the end (device memory); weakly held: those the live loop closed and dropped (styles no longer next
    # to the current one) are freed at once.
    stylizers: weakref.WeakSet[Stylizer] = weakref.WeakSet()
    # The preparer thread adds to it (n/p's styles), and one still making a style when a stop gives up waiting may add
    # while the end lists it: a set changed during iteration raised there and left the others unclosed.
    stylizers_lock = threading.Lock()
    made = 0
    recorder: Recorder | None = None
    vcam: VirtualCamera | None = None
    try:
        file_source = not info.live
        # A file in a window or a virtual camera plays at its own speed, like a player; headless it runs flat out
        # unless --realtime.
        paced = file_source and (realtime or not no_display or virtual_camera is not None)
        grabber = cap.LatestFrameCapture(capture, live=info.live, lossless=file_source and not paced,
                                         pace_fps=(info.fps or 30) if paced else None,
                                         resize=size if file_source else None)
        recorder = Recorder(record, fps=info.fps, overwrite=overwrite,
                            say=lambda line: click.echo(line, err=True)) if record is not None else None
        if virtual_camera is not None:  # opened at the capture's size, before the model loads and the window opens
            width, height = cap.frame_size(capture, size if file_source else None)
            vcam = VirtualCamera(width, height, info.fps, vcam_device)
            if is_same_device(vcam.device, source if source is not None else f"/dev/video{camera or 0}"):
                raise RtstyleError(f"--virtual-camera {vcam.device} is the camera being read: the stream would loop "
                                   "back into itself; give another device")

        log = lambda line: click.echo(line, err=True)  # noqa: E731

        def make_stylizer(name: str) -> Stylizer:
            stylizer = create_stylizer(name, backend=backend, device=device, precision=precision)
            stylizer.notify = log  # e.g. frames too large for memory, stylized in tiles
            # the frame rate before the last few edge pixels' colour (a fixed-size model has no margin at all)
            stylizer.border_margin = min(stylizer.border_margin, LIVE_BORDER_MARGIN)
            nonlocal made
            with stylizers_lock:
                stylizers.add(stylizer)
            made += 1
            if made == 1:  # the session starts now: say what runs, and on what
                log(f"{info.description} -> {name} on {stylizer.description} ({counted(len(styles), 'style')} on the hotkeys)")
                if vcam is not None:
                    log(f"sending to {vcam.describe()}")
            return stylizer

        options = LiveOptions(styles=styles, inference_scale=inference_scale, display=not no_display,
                              max_frames=frames, max_seconds=seconds, mirror=mirror, fullscreen=fullscreen,
                              snapshot_dir=snapshot_dir, clip_fps=info.fps, cycle_seconds=cycle_seconds,
                              look=Look(strength, keep_colors, stroke_size))
        # The stabiliser must stay small next to the frame time of the network the session starts with.
        light = stabilize is not None and wants_light_stabilizer(style_cost(styles[0]),
                                                                 on_gpu=gpu_expected(backend, device))
        # The styles n and p pick are prepared in the background while this one runs (onnxruntime on a CPU only).
        outcome = run_live(grabber, make_stylizer, options, recorder=recorder, virtual_camera=vcam, log=log,
                           post_filter=make_stabilizer(stabilize, light=light),
                           build_files=lambda name: build_model_files(name, precision))
    except BaseException as exc:
        if recorder is not None:  # stopped before run_live took the recording over: leave no temporary file
            recorder.abandon()
        if vcam is not None:  # closing twice is harmless (run_live closes it too)
            vcam.close()
        if isinstance(exc, TooLargeForMemory):  # its advice, --max-size, is not a webcam option
            raise RtstyleError(live_memory_advice(exc)) from exc
        raise
    finally:
        capture.release()
        with stylizers_lock:
            made_here = list(stylizers)
        for stylizer in made_here:
            stylizer.close()
    if outcome.ended == "lost":
        log(f"{info.description} stopped delivering frames (unplugged?) after {grabber.frames_read} frames")
    if vcam is not None:
        log(f"{counted(vcam.frames_sent, 'frame')} sent to the virtual camera {vcam.device}")
    if outcome.recording is not None:
        log(f"recording saved: {outcome.recording}")
    if no_display or outcome.summary.frames:
        click.echo(outcome.summary.format())
    return 1 if outcome.ended in ("lost", "virtual camera lost") else 0


def live_memory_advice(exc: TooLargeForMemory) -> str:
    """A frame too large for the memory, said with the webcam's own options (it has no --max-size)."""
    fits = f" (frames up to {exc.largest_side} px on their longer side fit)" if exc.largest_side else ""
    return f"{exc.problem}: use a smaller --size or an --inference-scale below 1{fits}"


def is_same_device(output: str, source: str) -> bool:
    """Whether the virtual camera is the source itself (a v4l2loopback device read back; OpenCV's camera N is
    /dev/videoN on Linux)."""
    try:
        return os.path.samefile(output, source)
    except (OSError, ValueError):  # either is no path (OBS's camera name, a URL, a camera elsewhere)
        return False


def gpu_expected(backend: str, device: str) -> bool:
    """Whether the style networks will run on a GPU (then the full networks are real time)."""
    if device == "cpu":
        return False
    if device == "cuda":
        return True
    from rtstyle.engine.factory import nvidia_gpu_present, torch_available
    from rtstyle.engine.providers import GPU_PROVIDERS, available_providers

    if backend != "torch" and any(p in available_providers() for p in GPU_PROVIDERS):
        return True
    if backend != "onnx" and torch_available() and nvidia_gpu_present():  # no slow torch import without a GPU
        import torch

        return bool(torch.cuda.is_available())
    return False
