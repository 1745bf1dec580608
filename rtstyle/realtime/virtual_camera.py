"""`--virtual-camera`: the stylized stream as a camera that video calls (Zoom, Meet, Teams) and OBS can pick.

pyvirtualcam (the optional extra `rtstyle[vcam]`) writes to a v4l2loopback device on Linux and to OBS's virtual
camera on macOS and Windows. Frames go out in OpenCV's own BGR order, which every pyvirtualcam backend takes: the
backend turns them into its YUV format in one pass, so no RGB copy is made here. The camera keeps the size it
was opened at (the capture's frame size) for the whole session; a frame of another size is fitted into it.

What the call sees (choices): the stylized picture as `--record` gets it, with the strength and colours the
hotkeys set, never the window's overlay or key list (the people in the call get a clean picture) and never the
window's original or side-by-side views; unmirrored, as a real camera sends it (call apps mirror the self-view
themselves), so `m` mirrors the window only. While the model is busy (a style loading, a slow network), the last
frame is sent again every REPEAT_SECONDS, so a call app never takes the camera for stalled (Chromium restarts a
V4L2 camera that gives it no frame for 1 s, and drops it after 10 such seconds).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Protocol

import cv2
import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.realtime.overlay import letterbox

INSTALL = 'pip install "rtstyle[vcam]"'
LINUX_SETUP = "sudo modprobe v4l2loopback exclusive_caps=1 card_label=rtstyle"
MAC_WINDOWS_SETUP = ("install OBS Studio (on macOS 13 and newer: OBS 30 or newer), start its virtual camera once "
                     "(Start Virtual Camera, then stop it) and run again")
REPEAT_SECONDS = 0.1  # the longest the call goes without a frame while the model is busy
DEFAULT_FPS = 30.0


class VirtualCameraLost(Exception):
    """The virtual camera stopped taking frames mid-session (the session ends as when the camera is lost)."""


class CameraBackend(Protocol):
    """The part of pyvirtualcam.Camera used here."""

    @property
    def device(self) -> str: ...
    def send(self, frame: np.ndarray) -> None: ...
    def close(self) -> None: ...


def require_pyvirtualcam() -> ModuleType:
    """pyvirtualcam, or one line saying how to install it (checked before the camera opens)."""
    try:
        import pyvirtualcam
    except ImportError as exc:
        raise RtstyleError(f"--virtual-camera needs pyvirtualcam, which is not installed: {INSTALL}") from exc
    return pyvirtualcam


def camera_rate(fps: float | None) -> float:
    """The rate the virtual camera announces: the source's own, or 30 where it says none (or nonsense)."""
    return fps if fps is not None and math.isfinite(fps) and 1 <= fps <= 240 else DEFAULT_FPS


class VirtualCamera:
    def __init__(self, width: int, height: int, fps: float | None, device: str | None) -> None:
        """Open the virtual camera (`device` None: the first one there is); one RtstyleError line if it cannot."""
        pyvirtualcam = require_pyvirtualcam()
        self.width, self.height, self.fps = width, height, camera_rate(fps)
        try:
            self.camera: CameraBackend = pyvirtualcam.Camera(width, height, self.fps, device=device,
                                                             fmt=pyvirtualcam.PixelFormat.BGR)
        except Exception as exc:  # noqa: BLE001 - pyvirtualcam raises RuntimeError or ValueError, per backend
            raise RtstyleError(open_failure(str(exc), device)) from exc
        self.device = self.camera.device
        self.frames_sent = 0
        self.last_sent_at = -math.inf
        self._unmirrored: np.ndarray | None = None  # reused: a mirrored session flips every frame back

    def describe(self) -> str:
        label = device_label(self.device)  # the name to pick in the call app's camera list
        named = f' "{label}"' if label else ""
        return f"virtual camera {self.device}{named} ({self.width}x{self.height} at {self.fps:g} fps)"

    def due(self, now: float) -> bool:
        """Whether the last frame must be sent again (nothing new for REPEAT_SECONDS)."""
        return now - self.last_sent_at >= REPEAT_SECONDS

    def send(self, stylized: np.ndarray, *, mirrored: bool, now: float) -> None:
        """Send a stylized BGR frame (`mirrored`: made from the mirrored capture; turned back here)."""
        frame = stylized
        if frame.shape[:2] != (self.height, self.width):  # e.g. a camera that changed resolution: the call's stays
            frame = letterbox(frame, self.width, self.height)
        if mirrored:
            if self._unmirrored is None or self._unmirrored.shape != frame.shape:
                self._unmirrored = np.empty_like(frame)
            frame = cv2.flip(frame, 1, dst=self._unmirrored)
        try:
            self.camera.send(np.ascontiguousarray(frame))  # a view when contiguous, as the model's output is
        except Exception as exc:  # noqa: BLE001 - whatever the backend raises, the session must end cleanly
            raise VirtualCameraLost(f"the virtual camera {self.device} stopped taking frames ({one_line(str(exc))})") \
                from exc
        self.frames_sent += 1
        self.last_sent_at = now

    def close(self) -> None:
        self.camera.close()


def device_label(device: str) -> str | None:
    """A v4l2loopback device's name as apps list it (its card_label), read from sysfs; None elsewhere."""
    try:
        return (Path("/sys/class/video4linux") / Path(device).name / "name").read_text().strip() or None
    except (OSError, ValueError):
        return None


def one_line(text: str) -> str:
    """pyvirtualcam joins one message per backend it tried with newlines."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def open_failure(message: str, device: str | None) -> str:
    """One line from pyvirtualcam's message: what went wrong, and what to do about it on this system."""
    option = f"--virtual-camera {device}" if device else "--virtual-camera"
    reason = one_line(message)
    if sys.platform.startswith("linux"):
        reason = reason.replace("'v4l2loopback' backend: ", "")
        if "No v4l2 loopback device found" in reason:
            return f"{option}: no v4l2loopback device found: load the module with `{LINUX_SETUP}` " \
                   "(Debian/Ubuntu: `sudo apt install v4l2loopback-dkms` first)"
        if "does not exist" in reason:
            return f"{option}: {device} does not exist: load v4l2loopback with `{LINUX_SETUP}` and give the " \
                   "device it makes (`v4l2-ctl --list-devices`), or leave DEVICE out to use the first one"
        if "missing permissions" in reason:
            return f"{option}: no permission to write to {device or 'the device'}: add yourself to the video " \
                   "group (`sudo usermod -aG video $USER`) and log in again"
        if "not a V4L2 device" in reason or "not a video output device" in reason or "could not be queried" in reason:
            return f"{option}: {device} is not a v4l2loopback device (a real camera?): give the one v4l2loopback " \
                   "made (`v4l2-ctl --list-devices`), or leave DEVICE out to use the first one"
        return f"{option}: the virtual camera did not open: {reason}"
    if "not found" in reason or "not installed" in reason:  # macOS and Windows: OBS's virtual camera
        return f"{option}: OBS's virtual camera is not installed: {MAC_WINDOWS_SETUP}"
    return f"{option}: the virtual camera did not open: {reason}"
