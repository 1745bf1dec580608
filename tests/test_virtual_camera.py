"""`webcam --virtual-camera`: what is sent (size, rate, format, no overlay, unmirrored, kept going while a style
loads) and the one-line errors, with the real pyvirtualcam.

No machine running these tests need have a virtual camera device (v4l2loopback, OBS): the device itself is stood
in for by FakeDevice, registered as pyvirtualcam's only backend through its own extension point (the backend
registry that pyvirtualcam.register_backend fills), so pyvirtualcam.Camera's real checks and conversions to a flat
frame run on every frame sent. The error tests use the real backends of the machine and need no device at all.
"""

from __future__ import annotations

import glob
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from test_webcam import STATS, ScriptedWindow
from videoclips import BUNNY, make_clip, video_summary

NO_V4L2_DEVICE = not sys.platform.startswith("linux") or bool(glob.glob("/dev/video*"))


class FakeDevice:
    """A virtual camera device as a pyvirtualcam backend: keeps what it is sent; fails on frame `fail_at`."""

    fail_at: int | None = None

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw) -> None:
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self.name = device or "fake0"
        self.raw: list[np.ndarray] = []  # as handed over (to see that no copy was made)
        self.pictures: list[np.ndarray] = []  # copies, as pictures
        self.closed = 0
        FakeDevice.opened.append(self)

    opened: list[FakeDevice] = []

    def send(self, frame: np.ndarray) -> None:
        if self.fail_at is not None and len(self.raw) + 1 >= self.fail_at:
            raise RuntimeError("device unplugged")
        self.raw.append(frame)
        self.pictures.append(frame.reshape(self.height, self.width, 3).copy())

    def close(self) -> None:
        self.closed += 1

    def device(self) -> str:
        return self.name

    def native_fourcc(self) -> int | None:
        return None


@pytest.fixture
def devices(monkeypatch) -> list[FakeDevice]:
    pyvirtualcam = pytest.importorskip("pyvirtualcam")
    monkeypatch.setattr(pyvirtualcam.camera, "BACKENDS", {"fake": FakeDevice})
    monkeypatch.setattr(FakeDevice, "opened", [])
    monkeypatch.setattr(FakeDevice, "fail_at", None)
    return FakeDevice.opened


def bgr_fourcc() -> int:
    from pyvirtualcam.util import encode_fourcc

    return encode_fourcc("24BG")  # pyvirtualcam.PixelFormat.BGR: OpenCV's order, no RGB copy made


def clip_frames(path: Path) -> list[np.ndarray]:
    capture, frames = cv2.VideoCapture(str(path)), []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    capture.release()
    return frames


@pytest.mark.parametrize("device_args, size_args, size, name", [
    ([], ["--size", "160x90"], (160, 90), "fake0"),
    (["/dev/video42"], [], (640, 360), "/dev/video42"),  # the file's own size; DEVICE passed on
])
def test_headless_session_sends_every_frame_at_the_capture_size_and_rate(devices, small_style, capsys, device_args,
                                                                         size_args, size, name):
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", str(small_style), "--no-display", "--frames", "4",
                      *size_args, "--virtual-camera", *device_args], capsys)
    assert result.exit_code == 0, result
    assert STATS.search(result.out)
    [device] = devices
    assert (device.width, device.height) == size and device.fps == 24 and device.fourcc == bgr_fourcc()
    assert device.name == name
    assert len(device.raw) >= 4 and all(p.shape == (size[1], size[0], 3) for p in device.pictures)
    assert device.closed == 1
    assert f"sending to virtual camera {name} ({size[0]}x{size[1]} at 24 fps)" in result.err
    assert f"frames sent to the virtual camera {name}" in result.err


def test_the_call_gets_the_clean_unmirrored_stylized_picture(devices, tmp_path):
    """The window shows the overlay, the key list and the mirrored view; the virtual camera gets none of them."""
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.virtual_camera import VirtualCamera
    from rtstyle.realtime.webcam import LiveOptions, run_live

    clip = make_clip(tmp_path / "c.mp4", width=320, height=180, frames=30)
    frames = clip_frames(clip)
    capture = cv2.VideoCapture(str(clip))
    window = ScriptedWindow(["b", "m", "i", "q"])  # side by side, mirror off again, overlay off
    camera = VirtualCamera(320, 180, 24, None)  # held, so that only run_live can have closed it
    outcome = run_live(LatestFrameCapture(capture, live=False, lossless=True), lambda name: lambda f: f // 2,
                       LiveOptions(styles=["half"], mirror=True), window=window, virtual_camera=camera)
    capture.release()
    assert outcome.ended == "quit"
    [device] = devices
    assert len(device.pictures) >= 4 and device.closed == 1
    expected = [frame // 2 for frame in frames]  # stylized, as the camera saw it, nothing drawn on it
    for picture in device.pictures:
        assert any(np.array_equal(picture, want) for want in expected)


def test_frames_go_to_the_device_without_a_copy(devices, tmp_path):
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.virtual_camera import VirtualCamera
    from rtstyle.realtime.webcam import LiveOptions, run_live

    made: list[np.ndarray] = []

    def stylize(frame):
        made.append(255 - frame)
        return made[-1]

    capture = cv2.VideoCapture(str(make_clip(tmp_path / "c.mp4", width=96, height=64, frames=6)))
    run_live(LatestFrameCapture(capture, live=False, lossless=True), lambda name: stylize,
             LiveOptions(styles=["invert"], display=False), virtual_camera=VirtualCamera(96, 64, 24, None))
    capture.release()
    [device] = devices
    assert len(device.raw) >= 6
    assert all(any(np.shares_memory(sent, out) for out in made) for sent in device.raw)


def test_the_stream_keeps_going_while_the_next_style_loads(devices, tmp_path):
    """A style load (seconds with a full network, minutes for a TensorRT build) must not stall the call's camera:
    the last frame is sent again meanwhile."""
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.virtual_camera import VirtualCamera
    from rtstyle.realtime.webcam import LiveOptions, run_live

    kept_going = threading.Event()

    def make_stylizer(name):
        if name == "slow":
            [device] = devices
            sent_before, deadline = len(device.raw), time.monotonic() + 10
            while len(device.raw) < sent_before + 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            if len(device.raw) >= sent_before + 3:
                kept_going.set()
        return lambda f: f // 4

    class Window(ScriptedWindow):
        def poll_key(self, delay_ms=1):
            return ord("q") if kept_going.is_set() else super().poll_key(delay_ms)

    capture = cv2.VideoCapture(str(make_clip(tmp_path / "c.mp4", width=160, height=90, frames=40)))
    outcome = run_live(LatestFrameCapture(capture, live=False, lossless=True), make_stylizer,
                       LiveOptions(styles=["dark", "slow"]), window=Window(["n"]),
                       virtual_camera=VirtualCamera(160, 90, 24, None))
    capture.release()
    assert kept_going.is_set(), "nothing was sent while the style loaded"
    assert outcome.ended == "quit"


def test_a_frame_of_another_size_is_fitted_into_the_camera(devices):
    from rtstyle.realtime.virtual_camera import VirtualCamera

    camera = VirtualCamera(160, 90, 30, None)
    camera.send(np.full((120, 160, 3), 200, np.uint8), mirrored=True, now=0.0)  # 4:3 into 16:9: bars at the sides
    [device] = devices
    [picture] = device.pictures
    assert picture.shape == (90, 160, 3)
    assert not picture[:, :19].any() and not picture[:, -19:].any() and (picture[:, 21:-21] == 200).all()
    camera.close()


def test_a_device_that_fails_mid_session_ends_it_cleanly_with_the_recording(devices, small_style, tmp_path, capsys,
                                                                            monkeypatch):
    monkeypatch.setattr(FakeDevice, "fail_at", 4)
    rec = tmp_path / "rec.mp4"
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", str(small_style), "--no-display", "--size", "96x54",
                      "--virtual-camera", "--record", str(rec)], capsys)
    assert result.exit_code == 1, result
    assert "Traceback" not in result.err
    assert "the virtual camera fake0 stopped taking frames (device unplugged)" in result.err
    assert f"recording saved: {rec}" in result.err
    assert video_summary(rec)["frames"] >= 3
    assert not list(tmp_path.glob(".*part*"))
    assert devices[0].closed == 1


def test_missing_pyvirtualcam_is_one_line_before_the_camera_opens(small_style, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)  # what `import pyvirtualcam` meets where it is missing
    result = run_cli(["webcam", "--camera", "9", "--style", str(small_style), "--no-display", "--virtual-camera"],
                     capsys)
    assert_one_line_error(result, "--virtual-camera needs pyvirtualcam", 'pip install "rtstyle[vcam]"')


@pytest.mark.skipif(NO_V4L2_DEVICE, reason="the real Linux backend with no /dev/video* device at all")
@pytest.mark.parametrize("device_args, fragments", [
    ([], ("--virtual-camera: no v4l2loopback device found",
          "sudo modprobe v4l2loopback exclusive_caps=1 card_label=rtstyle")),
    (["/dev/video63"], ("--virtual-camera /dev/video63: /dev/video63 does not exist", "sudo modprobe v4l2loopback")),
    (["/dev/null"], ("/dev/null is not a v4l2loopback device",)),
])
def test_no_v4l2loopback_is_one_line_before_the_model_loads(small_style, tmp_path, capsys, device_args, fragments):
    pytest.importorskip("pyvirtualcam")
    rec = tmp_path / "rec.mp4"
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", str(small_style), "--no-display", "--size", "96x54",
                      "--record", str(rec), "--virtual-camera", *device_args], capsys)
    assert_one_line_error(result, *fragments)
    assert " -> " not in result.err  # said before the model loaded, so before any window opened
    assert sorted(tmp_path.iterdir()) == [small_style]  # and --record left nothing behind


def test_the_source_cannot_be_the_virtual_camera(devices, small_style, capsys):
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", str(small_style), "--no-display",
                      "--virtual-camera", str(BUNNY)], capsys)
    assert_one_line_error(result, "is the camera being read", "loop back")
    assert devices[0].closed == 1 and not devices[0].raw


def test_help_says_what_the_call_gets(capsys):
    result = run_cli(["webcam", "--help"], capsys)
    text = " ".join(result.out.split())
    assert "--virtual-camera [DEVICE]" in text
    assert "no overlay" in text and 'pip install "rtstyle[vcam]"' in text


def test_the_announced_rate_is_the_sources_or_30():
    from rtstyle.realtime.virtual_camera import camera_rate

    assert camera_rate(29.97) == 29.97
    assert camera_rate(None) == camera_rate(0.0) == camera_rate(float("nan")) == camera_rate(90000.0) == 30.0
