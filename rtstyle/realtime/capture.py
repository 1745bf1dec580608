"""Open cameras, URLs and devices with OpenCV (files with PyAV: rtstyle.realtime.file_source), and read them on a
thread that keeps only the newest frame.

Sources and pacing:
- a camera, URL or device is *live*: it delivers frames at its own pace; frames the model has no time for are
  dropped (never queued), so the picture is always current;
- a file shown in a window, or headless with --realtime, is paced by its frames' own timestamps (a variable frame
  rate plays as recorded: rtstyle.realtime.pacing) and stale frames are dropped, exactly like a camera
  (`pace_fps`): a player, and a way to try the live loop without a camera;
- a file headless without --realtime is read *as fast as the loop can use it*, every frame in order, nothing
  dropped (`lossless`): that measures the pipeline, and a server can process a file at full speed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.io.images import quiet_opencv
from rtstyle.io.unicode_names import user_path
from rtstyle.realtime.pacing import Pacer, Timeline
from rtstyle.realtime.slot import LatestSlot

if TYPE_CHECKING:
    from rtstyle.realtime.file_source import VideoFileSource

MAX_CAMERA_INDEX = 9
LIST_HINT = "list cameras with `rtstyle webcam --list-cameras`, or read a video file, URL or device with --source"


class FrameSource(Protocol):
    def read(self) -> tuple[bool, np.ndarray | None]: ...
    def release(self) -> None: ...


@dataclass(frozen=True)
class SourceInfo:
    description: str  # "camera 0", "file clip.mp4", ...
    live: bool
    fps: float | None  # nominal rate, when the source says


@dataclass
class CapturedFrame:
    image: np.ndarray
    captured_at: float  # time.perf_counter() when the read returned (a paced file's frame: when it was due)
    index: int  # count of frames read from the source (gaps = frames dropped)
    media_time: float | None = None  # a file's frame: seconds from its first frame, by its timestamps (Timeline)


def open_camera(index: int, size: tuple[int, int] | None = None) -> tuple[cv2.VideoCapture, SourceInfo]:
    try:
        with quiet_opencv():
            capture = cv2.VideoCapture(index)
            ok = capture.isOpened() and capture.read()[0]
    except (cv2.error, OverflowError):  # an index past a C int (`--camera 99999999999`): no such camera either
        raise RtstyleError(f"cannot open camera {index}: {LIST_HINT}") from None
    if not ok:
        capture.release()
        raise RtstyleError(f"cannot open camera {index}: {camera_hint(index)}")
    if size is not None:
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
    with contextlib.suppress(cv2.error):
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # drivers that honour it queue fewer stale frames
    fps = capture.get(cv2.CAP_PROP_FPS) or None
    return capture, SourceInfo(f"camera {index}", live=True, fps=fps)


def camera_hint(index: int, platform: str = sys.platform, devices: Path = Path("/dev"),
                readable: Callable[[Path], bool] = lambda path: os.access(path, os.R_OK)) -> str:
    """What to do about a camera that gives no frame, where the system says more than "no camera": OpenCV reports
    a refused permission and a missing device alike, and so did this line."""
    if platform.startswith("linux"):
        device = devices / f"video{index}"
        if not device.exists():
            return f"there is no {device}: {LIST_HINT}"
        if not readable(device):
            return (f"no permission to read {device}: add yourself to its group (`sudo usermod -aG video $USER`, then "
                    f"log in again); or {LIST_HINT}")
        return f"is another app using it? {LIST_HINT[0].upper()}{LIST_HINT[1:]}"
    if platform == "darwin":  # macOS asks once per app; a refusal looks like no camera at all to OpenCV
        return ("if macOS did not ask for camera access, allow your terminal in System Settings > Privacy & Security "
                f"> Camera, then open it again; or {LIST_HINT}")
    if platform == "win32":
        return ("close other apps using it (a call, OBS), and check Settings > Privacy & security > Camera > Let "
                f"desktop apps access your camera; or {LIST_HINT}")
    return LIST_HINT


SOURCE_HINT = "give a video file, a URL such as rtsp://host/stream, or a device such as /dev/video0"


def open_source(source: str, size: tuple[int, int] | None = None) -> tuple[cv2.VideoCapture | VideoFileSource,
                                                                          SourceInfo]:
    """A file (read with PyAV), URL (rtsp://, http://...) or device (/dev/video2); a bare number is a camera
    index. `size` (--size): a file's frames are decoded at that size, a camera index is asked for it."""
    if source.isdigit():
        return open_camera(int(source), size)
    path = Path(user_path(source, "--source", SOURCE_HINT))
    is_url = "://" in source
    is_file = path.is_file()
    is_device = not is_url and not is_file and source.startswith("/dev/")
    if is_device and not path.exists():  # the hint below would suggest the very path given
        raise RtstyleError(f"--source {source}: no such device (list cameras with `rtstyle webcam --list-cameras`)")
    if not is_url and path.is_dir():  # the camera hint that OpenCV's refusal gets below would mislead
        raise RtstyleError(f"--source {source} is a folder: give a video file, a URL or a device")
    if is_file and path.stat().st_size == 0:
        raise RtstyleError(f"--source {source} is an empty file (0 bytes)")
    if not is_url and not path.exists():
        raise RtstyleError(f"--source {source}: not found ({SOURCE_HINT})")
    if is_file:  # decoded as `rtstyle video` decodes it: deinterlaced, HDR tone-mapped, upright
        from rtstyle.realtime.file_source import VideoFileSource

        try:
            video = VideoFileSource(path, size)
        except RtstyleError:
            raise RtstyleError(f"--source {source}: cannot read it as video (is it a video file?)") from None
        return video, SourceInfo(f"file {source}", live=False, fps=video.fps)
    with quiet_opencv():
        capture = cv2.VideoCapture(source)
        opened = capture.isOpened()
    if not opened:
        capture.release()
        # What to try next depends on what was given: a file is not video, a stream is not reachable.
        hint = "is the address right and the stream running?" if is_url else LIST_HINT
        raise RtstyleError(f"--source {source}: OpenCV cannot read it as video ({hint})")
    fps = capture.get(cv2.CAP_PROP_FPS) or None
    return capture, SourceInfo(f"{'stream' if is_url else 'device'} {source}", live=True, fps=fps)


def frame_size(capture: cv2.VideoCapture | VideoFileSource, resize: tuple[int, int] | None = None) -> tuple[int, int]:
    """(width, height) of the frames a source opened here will deliver (`resize`: what LatestFrameCapture resizes
    them to), before its first frame is read; a source that does not say (some streams) gives up one frame."""
    if resize is not None:
        return resize
    if not isinstance(capture, cv2.VideoCapture):  # a file: its size as shown, upright
        return capture.size
    width, height = round(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), round(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if width > 0 and height > 0:
        return width, height
    ok, image = capture.read()
    if not ok or image is None:
        raise RtstyleError("the source delivered no frame to take its size from")
    return image.shape[1], image.shape[0]


def list_cameras(max_index: int = MAX_CAMERA_INDEX) -> list[tuple[int, int, int, str]]:
    """(index, width, height, backend) of every camera index 0..max_index that delivers a frame."""
    found = []
    with quiet_opencv():
        for index in range(max_index + 1):
            capture = cv2.VideoCapture(index)
            try:
                if capture.isOpened():
                    ok, frame = capture.read()
                    if ok and frame is not None:
                        found.append((index, frame.shape[1], frame.shape[0], capture.getBackendName()))
            finally:
                capture.release()
    return found


# A file's failed reads in a row taken for its end; fewer are damaged packets, read past as ffmpeg does (a file
# source stopped at the first one: 4 of a clip's 24 frames).
FILE_MISSES_AT_END = 64


class LatestFrameCapture:
    """Reads a source on its own thread into a LatestSlot (newest frame only).

    `lossless`: wait for each frame to be taken before reading the next (file sources at full speed).
    `pace_fps`: play a file like a camera: each frame is given out when its timestamp is due (the source's
    `position` after a read, in seconds; a source without one, or a frame without one: at this rate).
    `lost_after`: a live source that fails reads for this many seconds is considered gone.
    `clock`, `sleep`: time.perf_counter's scale and a wait on it (tests pass a clock of their own); the default
    wait ends at once on stop(), since a screen recording's frames may be seconds apart.
    """

    def __init__(self, source: FrameSource, *, live: bool, lossless: bool = False, pace_fps: float | None = None,
                 resize: tuple[int, int] | None = None, lost_after: float = 1.0,
                 clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], object] | None = None) -> None:
        self.source = source
        self.live = live
        self.lossless = lossless
        self.pace_fps = pace_fps
        self.resize = resize
        self.lost_after = lost_after
        self.slot: LatestSlot[CapturedFrame] = LatestSlot()
        self.frames_read = 0
        self.ended: str | None = None  # "end" (file finished), "lost" (live source stopped), "stopped"
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._clock = clock
        self._sleep = sleep or self._stop.wait
        rate = pace_fps or getattr(source, "fps", None) or 30
        self.timeline = Timeline(rate, getattr(source, "max_step", None))
        self._pacer = Pacer(1 / pace_fps, clock) if pace_fps else None
        self._thread = threading.Thread(target=self._run, name="rtstyle-capture", daemon=True)

    def start(self) -> LatestFrameCapture:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.slot.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    @property
    def dropped(self) -> int:
        return self.slot.dropped

    def _run(self) -> None:
        failing_since: float | None = None
        misses = 0  # a file's failed reads in a row
        try:
            while not self._stop.is_set():
                ok, image = self.source.read()
                now = self._clock()
                if not ok or image is None:
                    if not self.live:
                        misses += 1  # a damaged packet fails one read and the next ones go on; the end fails all
                        if misses > FILE_MISSES_AT_END:
                            self.ended = "end"
                            return
                        continue
                    failing_since = failing_since or now
                    if now - failing_since >= self.lost_after:
                        self.ended = "lost"
                        return
                    time.sleep(0.01)
                    continue
                failing_since = None
                misses = 0
                if self.resize is not None and (image.shape[1], image.shape[0]) != self.resize:
                    image = cv2.resize(image, self.resize, interpolation=cv2.INTER_AREA)
                at = None if self.live else self.timeline.place(getattr(self.source, "position", None))
                if self._pacer is not None and at is not None:
                    # Decoded ahead, given out when due: on time, a frame is stamped with its due time, so a
                    # recording keeps the file's own timing to the millisecond; late, with when it was ready.
                    due, now = self._pacer.due(at), self._clock()
                    if due > now:
                        self._sleep(due - now)
                        if self._stop.is_set():
                            return
                        now = due
                self.slot.put(CapturedFrame(image, now, self.frames_read, at))
                self.frames_read += 1
                if self.lossless:
                    while not self.slot.wait_until_taken(timeout=0.1):
                        if self._stop.is_set() or self.slot.closed:
                            return
        except BaseException as exc:  # noqa: BLE001 - reported by the main loop
            self.error = exc
            self.ended = "error"
        finally:
            if self.ended is None:
                self.ended = "stopped"
            self.slot.close()
