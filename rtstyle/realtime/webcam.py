"""The live loop: capture thread (newest frame only) -> inference thread -> main thread (display or headless).

The main thread owns the window (GUI toolkits require it), the recording, the virtual camera and the statistics.
Latency is measured per frame from the moment the capture read returned to the moment the frame was painted
(display) or sent to the virtual camera (headless); a recording's encode comes after that, off the latency.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

from rtstyle.errors import RtstyleError
from rtstyle.interrupts import uninterruptible
from rtstyle.io.images import write_image
from rtstyle.realtime.capture import LatestFrameCapture
from rtstyle.realtime.clips import LiveClips
from rtstyle.realtime.display import Window
from rtstyle.realtime.hotkeys import Action, action_for_key
from rtstyle.realtime.inference import InferenceWorker, LiveResult
from rtstyle.realtime.look import Look
from rtstyle.realtime.prepare import BuildFiles
from rtstyle.realtime.processing import PostFilter, StylizeFn
from rtstyle.realtime.recorder import Recorder
from rtstyle.realtime.stats import LatencyStats, LatencySummary
from rtstyle.realtime.view import MIN_SHOWN_SIZE, ViewState, apply_action, compose, view_image
from rtstyle.realtime.virtual_camera import REPEAT_SECONDS, VirtualCamera, VirtualCameraLost

Log = Callable[[str], None]
STATUS_SECONDS = 3.0
STYLE_FILE_SUFFIXES = (".safetensors", ".onnx")


@dataclass(frozen=True)
class LiveOptions:
    styles: list[str]
    inference_scale: float = 1.0
    display: bool = True
    max_frames: int | None = None
    max_seconds: float | None = None
    mirror: bool = False
    fullscreen: bool = False
    snapshot_dir: Path = Path(".")  # also where the r key's clips go
    clip_fps: float | None = None  # the capture's frame rate, the clips' nominal rate
    window_title: str = "rtstyle"
    look: Look = Look()  # the starting strength and colours; hotkeys change them
    cycle_seconds: float | None = None  # move on to the next style this often (a kiosk, a demo)


@dataclass(frozen=True)
class LiveOutcome:
    summary: LatencySummary
    # "frames", "seconds", "quit", "end" (file finished), "lost" (camera gone), "interrupted",
    # "virtual camera lost" (it stopped taking frames)
    ended: str
    recording: Path | None
    snapshots: list[Path]
    clips: list[Path] = dataclasses.field(default_factory=list)


def run_live(capture: LatestFrameCapture, make_stylizer: Callable[[str], StylizeFn],
             options: LiveOptions, *, recorder: Recorder | None = None, post_filter: PostFilter | None = None,
             window: Window | None = None, virtual_camera: VirtualCamera | None = None,
             log: Log = lambda _: None, build_files: BuildFiles | None = None) -> LiveOutcome:
    """Run until a stop condition; `window` replaces the HighGUI window (for tests), used when display is on.
    `build_files` turns on preparing the styles `n` and `p` pick in the background (InferenceWorker), in a window
    only: headless there are no keys to switch with.

    The recording and the virtual camera are taken over: finished and closed however the loop ends."""
    try:
        worker = InferenceWorker(capture, options.styles, make_stylizer, inference_scale=options.inference_scale,
                                 post_filter=post_filter, look=options.look, lossless=capture.lossless,
                                 build_files=build_files if options.display else None)  # no keys headless
        if not options.display:
            window = None
        elif window is None:
            window = Window(options.window_title, options.fullscreen)
    except BaseException:
        if recorder is not None:
            recorder.abandon()  # nothing was recorded: leave no file behind
        if virtual_camera is not None:
            virtual_camera.close()
        raise
    state = ViewState(mirror=options.mirror, fullscreen=options.fullscreen, look=options.look)
    worker.mirror = state.mirror
    stats = LatencyStats()
    snapshots: list[Path] = []
    clips = LiveClips(options.snapshot_dir, options.clip_fps, log)
    status, status_until = "", 0.0
    last: LiveResult | None = None
    painted: tuple[ViewState, str, bool] | None = None  # (view, message, key list shown): repainted on a change
    titled = ""
    ended = "stopped"
    recording: Path | None = None
    started = time.perf_counter()
    switched_at = started  # when the style on screen first showed (the cycle counts from there)
    unusable: set[int] = set()  # styles that failed to load
    capture.start()
    worker.start()
    try:
        while True:
            # Headless with a virtual camera, the loop wakes often enough to send the last frame again in time.
            result = worker.results.get(timeout=0.01 if window else REPEAT_SECONDS / 2 if virtual_camera else 0.2)
            now = time.perf_counter()
            if result is not None:
                if last is None or result.style_index != last.style_index:
                    switched_at = now
                last = result
            if virtual_camera is not None and last is not None and (result is not None or virtual_camera.due(now)):
                try:  # the stylized frame as it is: the overlay is drawn on the window's copy only
                    virtual_camera.send(last.stylized, mirrored=last.mirrored, now=now)
                except VirtualCameraLost as exc:
                    log(str(exc))
                    ended = "virtual camera lost"
                    break
            if options.cycle_seconds and last is not None and last.style_index == state.style_index \
                    and len(options.styles) > 1 and now - switched_at >= options.cycle_seconds:
                following = next_in_cycle(state.style_index, len(options.styles), unusable)
                if following != state.style_index:
                    state = dataclasses.replace(state, style_index=following)
                    worker.request_style(following)  # its time counts once it shows (loading may take a while)
            failure, worker.failure = worker.failure, None
            if failure is not None:  # said for a while, and the hotkeys go on from the style still running
                status, status_until = failure, now + STATUS_SECONDS
                log(failure)
                unusable.add(state.style_index)  # the cycle passes over it from now on (a key can still pick it)
                state = dataclasses.replace(state, style_index=worker.current_index)
                switched_at = now  # the style still running gets a whole turn again
            if window is not None and last is not None:
                note = worker.status or (status if now < status_until else "")
                view = (state, note, state.help_pinned or now - started < state.help_until)
                # A new frame, or a key or message with the model busy (a style loading, a slow network): the
                # window answers at once, on the last frame, instead of at the next one.
                title = f"{options.window_title}: {style_title(options.styles[last.style_index])}"
                if title != titled:  # the style also in the title bar (and task bar), overlay or not
                    window.set_title(title)
                    titled = title
                if result is not None or view != painted:
                    fps, latency_ms = stats.recent()
                    shown = dataclasses.replace(state, style_index=last.style_index, look=last.look)
                    engine = getattr(worker.processor.stylize, "description", "")  # an engine.Stylizer's
                    window.show(compose(shown, last.original, last.stylized, now=now - started, fps=fps,
                                        latency_ms=latency_ms, style_names=options.styles, status=note,
                                        engine=engine, min_size=MIN_SHOWN_SIZE,
                                        recording_seconds=clips.elapsed(now) if clips.recording else None))
                    painted = view
            key = window.poll_key() if window is not None else -1  # this is also what paints the frame
            if result is not None:
                stats.record(result.captured_at)
                # Encoded after the frame is on screen (and sent to the virtual camera): an H.264 encode takes
                # milliseconds a frame, which the window's latency would otherwise carry while recording.
                if recorder is not None:
                    recorder.write(result.stylized, frame_time(result, started, recorder.rate, capture.lossless))
                if clips.recording:
                    failed = clips.write(result.stylized, frame_time(result, started, clips.rate, capture.lossless))
                    if failed:
                        status, status_until = failed, now + STATUS_SECONDS
            if window is not None:
                hit = action_for_key(key)
                if hit is not None:
                    action, argument = hit
                    if action is Action.QUIT:
                        ended = "quit"
                        break
                    if action is Action.SNAPSHOT and last is not None:
                        path = snapshot_path(options.snapshot_dir, options.styles[last.style_index])
                        try:
                            write_image(path, view_image(state, last.original, last.stylized))
                        except (RtstyleError, OSError) as exc:  # a full disk must not end the session
                            status, status_until = f"snapshot failed: {exc}", now + STATUS_SECONDS
                            log(f"snapshot failed: {exc}")
                        else:
                            snapshots.append(path)
                            status, status_until = f"saved {path.name}", now + STATUS_SECONDS
                            log(f"snapshot: {path.resolve()}")  # the window has room for its name only
                    if action is Action.RECORD_CLIP:
                        status = clips.toggle(style_title(options.styles[state.style_index]), now)
                        status_until = now + STATUS_SECONDS
                    new = apply_action(state, action, argument, style_count=len(options.styles), now=now - started)
                    if new.style_index != state.style_index:
                        worker.request_style(new.style_index)
                    if new.fullscreen != state.fullscreen:
                        window.set_fullscreen(new.fullscreen)
                    worker.mirror = new.mirror
                    worker.processor.look = new.look  # the overlay shows it
                    state = new
                if window.closed():
                    ended = "quit"
                    break
            if worker.error is not None:
                raise worker.error
            if capture.error is not None:
                raise capture.error
            if options.max_frames is not None and len(stats.latencies) >= options.max_frames:
                ended = "frames"
                break
            if options.max_seconds is not None and now - started >= options.max_seconds:
                ended = "seconds"
                break
            if result is None and worker.results.closed:
                ended = capture.ended or "end"
                break
    except KeyboardInterrupt:
        ended = "interrupted"  # Ctrl-C is how a headless run is stopped: finish normally
    finally:
        # Stopping is how a session and its recording end: a second Ctrl-C must not cut the shutdown short and
        # lose the recording (the thread joins are bounded, so this cannot hang).
        with uninterruptible():
            capture.stop()
            worker.stop(timeout=0)  # no new frame or style load, the frame in the model ended (waited for below)
            # The window goes and the recording is saved at once, before waiting for the model thread, which may
            # be loading a style (an int8 calibration or a TensorRT build cannot be interrupted).
            try:
                if window is not None:
                    window.close()
                if virtual_camera is not None:
                    close_virtual_camera(virtual_camera, log)
                clips.stop(time.perf_counter())  # a clip still running is saved like the recording
                if recorder is not None:
                    try:
                        recording = recorder.finish()
                    except BaseException:
                        recorder.abandon()
                        raise
            finally:
                loading = worker.loading
                if loading is not None:
                    log(f"quitting once {loading} has loaded (loading cannot be interrupted)")
                worker.stop(timeout=0 if loading is not None else 10)
        worker.wait()  # everything is saved: a Ctrl-C may cut this wait short
    return LiveOutcome(stats.summary(dropped=capture.dropped), ended, recording, snapshots, clips.saved)


def next_in_cycle(index: int, count: int, skip: set[int]) -> int:
    """The style after `index` that the cycle shows next, passing over those in `skip` (`index` if none is left)."""
    for step in range(1, count):
        candidate = (index + step) % count
        if candidate not in skip:
            return candidate
    return index


def frame_time(result: LiveResult, started: float, rate: Fraction, lossless: bool) -> float:
    """Where a frame goes in a recording, in seconds. A file read frame by frame (headless, unpaced) keeps its own
    timestamps (a variable frame rate stays as recorded); anything live (a camera, a paced file) is timed by when
    it was captured, since frames may have been dropped (a paced file's frame: when it was due)."""
    if lossless:
        return float(result.index / rate) if result.media_time is None else float(result.media_time)
    return result.captured_at - started


def close_virtual_camera(camera: VirtualCamera, log: Log) -> None:
    """Close it; a device that fails to close must not keep the recording from being saved."""
    try:
        camera.close()
    except Exception as exc:  # noqa: BLE001 - the backend's own errors, said and passed over
        log(f"closing the virtual camera {camera.device} failed: {exc}")


def style_title(style: str) -> str:
    """A style as the title bar and snapshot names show it: a name as it is ('my.v2' is a valid name), a style
    or model file by its file name without the suffix."""
    path = Path(style)
    return path.stem if path.suffix.lower() in STYLE_FILE_SUFFIXES else path.name


def snapshot_path(directory: Path, style: str, now: datetime | None = None) -> Path:
    """rtstyle-STYLE-YYYYmmdd-HHMMSS-mmm.png: sortable, and never clobbers an earlier snapshot."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S-%f")[:-3]
    path = Path(directory) / f"rtstyle-{style_title(style)}-{stamp}.png"
    n = 1
    while path.exists():
        path = path.with_name(f"rtstyle-{style_title(style)}-{stamp}-{n}.png")
        n += 1
    return path
