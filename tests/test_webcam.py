"""The live loop: latest-frame capture, inference thread, headless stats, recording, hotkeys through a fake window."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from videoclips import BUNNY, combing, damage_packets, make_clip, make_interlaced_clip, video_summary

STATS = re.compile(r"(\d+) frames in ([\d.]+) s: ([\d.]+) fps achieved; capture-to-output latency median "
                   r"([\d.]+) ms, p95 ([\d.]+) ms; (\d+) stale frames? dropped")


def test_headless_file_source_runs_n_frames_prints_stats_and_records(tmp_path, small_style, capsys):
    rec = tmp_path / "rec.mp4"
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", str(small_style), "--no-display",
                      "--frames", "6", "--size", "160x90", "--record", str(rec)], capsys)
    assert result.exit_code == 0, result
    match = STATS.search(result.out)
    assert match, result.out
    frames, _, fps, median, p95, dropped = match.groups()
    assert int(frames) == 6
    assert float(fps) > 0 and 0 < float(median) <= float(p95)
    assert int(dropped) == 0  # a file without --realtime is processed frame by frame
    got = video_summary(rec)
    assert got["frames"] == 6 and got["size"] == (160, 90)
    assert got["times"][0] == 0 and got["times"] == sorted(got["times"])  # timed by capture, from 0
    assert not list(tmp_path.glob(".*part*"))


def test_realtime_file_source_drops_frames_like_a_camera(tmp_path, capsys):
    # A deliberately slow "model" (30 ms) on a file paced at 240 fps: most frames must be dropped, not queued.
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.webcam import LiveOptions, run_live

    def slow(frame):
        time.sleep(0.03)
        return 255 - frame

    capture = cv2.VideoCapture(str(BUNNY))
    grabber = LatestFrameCapture(capture, live=False, pace_fps=240)
    outcome = run_live(grabber, lambda name: slow, LiveOptions(styles=["invert"], display=False, max_frames=8))
    capture.release()
    assert outcome.summary.frames == 8
    assert outcome.summary.dropped > 8
    assert outcome.summary.median_ms < 200  # stale frames never wait in a queue


def test_latest_frame_capture_drops_stale_frames(tmp_path):
    from rtstyle.realtime.capture import LatestFrameCapture

    capture = cv2.VideoCapture(str(BUNNY))
    grabber = LatestFrameCapture(capture, live=True, lost_after=0.2).start()
    consumed = []
    try:
        for _ in range(5):
            # A slow consumer: it reads only after the capture thread has read three more frames (waiting on the
            # count, not a fixed sleep, which a busy machine can outlast); 5 x 3 frames stay inside the clip (240).
            wanted, deadline = grabber.frames_read + 3, time.monotonic() + 5
            while grabber.frames_read < wanted and time.monotonic() < deadline:
                time.sleep(0.002)
            read_before = grabber.frames_read
            frame = grabber.slot.get(timeout=2)
            assert frame is not None
            assert frame.index >= read_before - 1  # the newest frame, not the oldest waiting one
            assert len(grabber.slot) <= 1
            consumed.append(frame.index)
    finally:
        grabber.stop()
        capture.release()
    assert consumed == sorted(consumed)
    assert min(np.diff(consumed)) > 1  # frames in between were skipped
    assert grabber.dropped > 0


def read_all(source: str) -> tuple[list[np.ndarray], tuple[int, int], str]:
    """Every frame of a file --source as the webcam loop gets it (lossless), the size said before the first frame,
    and how the capture ended."""
    from rtstyle.realtime.capture import LatestFrameCapture, frame_size, open_source

    capture, info = open_source(source)
    assert not info.live
    size = frame_size(capture)
    grabber = LatestFrameCapture(capture, live=False, lossless=True).start()
    frames = []
    while (frame := grabber.slot.get(timeout=2)) is not None:
        frames.append(frame.image)
    grabber.stop()
    capture.release()
    return frames, size, grabber.ended or ""


def test_lossless_file_capture_delivers_every_frame_in_order(tmp_path):
    from rtstyle.realtime.capture import LatestFrameCapture, open_source

    clip = make_clip(tmp_path / "c.mp4", frames=12)
    capture, _ = open_source(str(clip))
    grabber = LatestFrameCapture(capture, live=False, lossless=True).start()
    indices = []
    while (frame := grabber.slot.get(timeout=2)) is not None:
        time.sleep(0.005)
        indices.append(frame.index)
    grabber.stop()
    capture.release()
    assert indices == list(range(12))
    assert grabber.dropped == 0 and grabber.ended == "end"


def test_a_file_source_reads_past_damaged_packets(tmp_path):
    # It ended at the first damaged packet: 8 of the clip's 24 frames.
    frames, _, ended = read_all(str(damage_packets(make_clip(tmp_path / "c.mp4", frames=24, gop=4), [8, 9])))
    assert len(frames) == 22 and ended == "end"


def test_a_file_source_is_decoded_as_rtstyle_video_decodes_it(tmp_path):
    # OpenCV's reader gave an interlaced clip combed and an HLG phone clip pale: the window and --record showed what
    # `rtstyle video` would never have stylized.
    from test_video_hdr import hdr, make_hdr_clip, mean_error, photo

    frames, size, _ = read_all(str(make_interlaced_clip(tmp_path / "in.mts")))
    assert len(frames) == 10 and max(combing(image) for image in frames) < 2.5 and size == (128, 96)
    image = photo()
    frames, _, _ = read_all(str(make_hdr_clip(tmp_path / "IMG_0001.mov", image, hdr.HLG, frames=2)))
    assert len(frames) == 2 and mean_error(frames[0], image) < 3
    frames, size, _ = read_all(str(make_clip(tmp_path / "portrait.mp4", width=96, height=64, frames=2, rotation=90)))
    assert size == (64, 96) and frames[0].shape[:2] == (96, 64)  # upright, and said so before the first frame


def test_a_file_source_is_decoded_at_the_size_asked_for(tmp_path, monkeypatch):
    # Decoded whole and resized after, a 4K HDR phone clip's frames took 200 ms each to tone-map, whatever --size.
    from rtstyle.io import frames
    from rtstyle.realtime.capture import frame_size, open_source
    from test_video_hdr import hdr, make_hdr_clip, mean_error, photo

    tone_mapped = []
    tone_map = frames.tone_map
    monkeypatch.setattr(frames, "tone_map",
                        lambda image, *curve: tone_mapped.append(image.shape) or tone_map(image, *curve))
    image = photo()
    capture, _ = open_source(str(make_hdr_clip(tmp_path / "IMG_0001.mov", image, hdr.HLG, frames=1)), (64, 48))
    ok, frame = capture.read()
    capture.release()
    assert ok and frame.shape == (48, 64, 3) and tone_mapped == [(48, 64, 3)]  # not the clip's 128x96
    assert mean_error(frame, cv2.resize(image, (64, 48), interpolation=cv2.INTER_AREA)) < 3
    portrait, _ = open_source(str(make_clip(tmp_path / "portrait.mp4", width=96, height=64, frames=1, rotation=90)),
                              (32, 48))
    ok, frame = portrait.read()
    assert ok and frame.shape == (48, 32, 3) and frame_size(portrait) == (32, 48)  # upright, at the size given
    portrait.release()


def test_lost_camera_finalises_the_recording(tmp_path):
    # A "live" source that stops delivering frames, as an unplugged camera does.
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.recorder import Recorder
    from rtstyle.realtime.webcam import LiveOptions, run_live

    clip = make_clip(tmp_path / "c.mp4", frames=10)
    capture = cv2.VideoCapture(str(clip))
    grabber = LatestFrameCapture(capture, live=True, lossless=True, lost_after=0.2)
    rec = tmp_path / "rec.mp4"
    outcome = run_live(grabber, lambda name: (lambda f: 255 - f), LiveOptions(styles=["invert"], display=False),
                       recorder=Recorder(rec, fps=24))
    capture.release()
    assert outcome.ended == "lost"
    assert outcome.recording == rec
    assert video_summary(rec)["frames"] == 10  # finalised: every frame decodes
    assert not list(tmp_path.glob(".*part*"))


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_kill_ends_a_headless_session_and_keeps_the_recording(tmp_path, small_style, stop_signal):
    rec = tmp_path / "rec.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "rtstyle", "webcam", "--source", str(BUNNY), "--style",
                             str(small_style), "--no-display", "--realtime", "--size", "160x90", "--record", str(rec)],
                            cwd=BUNNY.parent.parent.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The command logs "SOURCE -> STYLE on ENGINE" once the first model has loaded, just before the loop starts (a
    # signal before then ends it with nothing recorded, exit 130: a test below); the 10 s clip plays at its own rate.
    started = ""
    while " -> " not in started:
        line = proc.stderr.readline()
        assert line, started + proc.communicate()[1]  # ended before the loop started
        started += line
    time.sleep(1.0)  # about 24 frames in
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(stop_signal)
    out, err = proc.communicate(timeout=60)
    err = started + err
    assert proc.returncode == 0, err  # stopping is how a live session ends
    assert STATS.search(out), out
    assert f"recording saved: {rec}" in err
    assert 0 < video_summary(rec)["frames"] < 240
    assert not list(tmp_path.glob(".*part*"))


def test_ctrl_c_before_the_loop_starts_leaves_no_recording_behind(tmp_path, small_style, capsys, monkeypatch):
    import rtstyle.realtime.webcam as webcam

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C after --record's file was prepared, before the loop owns it

    monkeypatch.setattr(webcam, "run_live", interrupted)
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", str(small_style), "--no-display",
                      "--record", str(tmp_path / "rec.mp4")], capsys)
    assert result.exit_code == 130, result
    assert list(tmp_path.iterdir()) == [small_style]


def test_a_second_ctrl_c_during_shutdown_still_saves_the_recording(tmp_path):
    from rtstyle.interrupts import stop_on_signals
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.recorder import Recorder
    from rtstyle.realtime.webcam import LiveOptions, run_live

    capture = cv2.VideoCapture(str(make_clip(tmp_path / "c.mp4", frames=10)))
    grabber = LatestFrameCapture(capture, live=False, lossless=True)
    stop = grabber.stop

    def stop_with_a_second_ctrl_c() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)
        stop()

    grabber.stop = stop_with_a_second_ctrl_c  # type: ignore[method-assign]
    rec = tmp_path / "rec.mp4"
    try:
        with stop_on_signals():
            outcome = run_live(grabber, lambda name: (lambda f: 255 - f),
                               LiveOptions(styles=["invert"], display=False, max_frames=5), recorder=Recorder(rec, fps=24))
    except KeyboardInterrupt:
        pytest.fail("the second Ctrl-C cut the shutdown short")
    finally:
        capture.release()
    assert outcome.recording == rec
    assert video_summary(rec)["frames"] == 5
    assert not list(tmp_path.glob(".*part*"))


def test_nonexistent_camera_is_one_line_exit_2(small_style, capsys):
    result = run_cli(["webcam", "--camera", "9", "--style", str(small_style), "--no-display", "--frames", "1"], capsys)
    assert_one_line_error(result, "camera 9", "--list-cameras", "--source")


def test_a_camera_that_gives_no_frame_gets_the_hint_its_system_calls_for(tmp_path):
    # OpenCV reports a refused permission like a missing camera: the line said only "list cameras".
    from rtstyle.realtime.capture import LIST_HINT, camera_hint

    (tmp_path / "video0").touch()
    refused = camera_hint(0, "linux", tmp_path, readable=lambda path: False)
    assert refused.startswith(f"no permission to read {tmp_path / 'video0'}: add yourself to its group")
    assert camera_hint(0, "linux", tmp_path, readable=lambda path: True).startswith("is another app using it?")
    assert camera_hint(1, "linux", tmp_path) == f"there is no {tmp_path / 'video1'}: {LIST_HINT}"
    assert "Privacy & Security > Camera" in camera_hint(0, "darwin")
    assert "Let desktop apps access your camera" in camera_hint(0, "win32")
    assert all(hint.endswith(LIST_HINT[1:]) for hint in (refused, camera_hint(0, "darwin"), camera_hint(0, "win32")))


def test_nonexistent_camera_prints_nothing_else(small_style):
    # OpenCV writes multi-line warnings straight to fd 2 for missing cameras; they must be silenced.
    proc = subprocess.run([sys.executable, "-m", "rtstyle", "webcam", "--camera", "9", "--style", str(small_style),
                           "--no-display", "--frames", "1"], cwd=BUNNY.parent.parent.parent, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert proc.stderr.startswith("rtstyle: error: cannot open camera 9")


def test_corrupt_source_prints_nothing_but_the_error(small_style, tmp_path):
    # A cut-off MP4 makes OpenCV's FFmpeg print "moov atom not found" straight to fd 2 unless it is quietened.
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(BUNNY.read_bytes()[:20_000])
    env = {k: v for k, v in os.environ.items() if k not in ("OPENCV_FFMPEG_LOGLEVEL", "RTSTYLE_DEBUG")}
    proc = subprocess.run([sys.executable, "-m", "rtstyle", "webcam", "--source", str(truncated), "--style",
                           str(small_style), "--no-display", "--frames", "1"], cwd=BUNNY.parent.parent.parent,
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert proc.stderr.startswith("rtstyle: error: --source") and "cannot read it as video" in proc.stderr


@pytest.mark.parametrize("args, fragments", [
    (["--source", "nowhere.mp4", "--no-display"], ("not found",)),
    (["--source", "/dev/video77", "--no-display"], ("--source /dev/video77: no such device", "--list-cameras")),
    (["--source", "{readme}", "--no-display"], ("cannot read it as video (is it a video file?)",)),
    (["--source", "{folder}", "--no-display"], ("is a folder", "a video file")),  # told to use --source before
    (["--camera", "0", "--source", "x.mp4"], ("either --camera or --source",)),
    (["--source", "{bunny}", "--size", "big", "--no-display"], ("--size",)),
    (["--source", "{bunny}", "--size", "99999x99999", "--no-display"], ("--size 99999x99999", "larger")),
    (["--source", "{bunny}", "--size", "7x5", "--no-display"], ("--size 7x5 is too small", "at least 16 px")),
    (["--source", "{bunny}", "--record", "rec.avi", "--no-display"], ("unsupported --record type .avi", ".mp4")),
    (["--camera", "0", "--realtime", "--no-display"], ("--realtime",)),
])
def test_bad_options_are_one_line(small_style, capsys, args, fragments):
    args = [a.format(bunny=BUNNY, readme=BUNNY.parent.parent.parent / "README.md", folder=BUNNY.parent) for a in args]
    result = run_cli(["webcam", "--style", str(small_style), *args], capsys)
    assert_one_line_error(result, *fragments)
    assert "a video file, URL or device with --source" not in result.err  # to someone who gave one


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="$DISPLAY only decides on Linux")
def test_window_without_a_display_is_one_line(small_style, capsys, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", str(small_style)], capsys)
    assert_one_line_error(result, "no display", "--no-display")


def test_existing_recording_is_refused(tmp_path, small_style, capsys):
    rec = tmp_path / "rec.mp4"
    rec.write_bytes(b"keep me")
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", str(small_style), "--no-display", "--frames", "1",
                      "--record", str(rec)], capsys)
    assert_one_line_error(result, "exists", "--overwrite")
    assert rec.read_bytes() == b"keep me"


def test_help_lists_every_hotkey(capsys):
    from rtstyle.realtime.hotkeys import HOTKEYS

    result = run_cli(["webcam", "--help"], capsys)
    assert result.exit_code == 0
    for key in HOTKEYS:
        assert f"{key.label}" in result.out and key.action.value in result.out


class ScriptedWindow:
    """Stands in for the HighGUI window: records what is shown, presses keys once frames have been shown."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = [ord(k) if len(k) == 1 else int(k) for k in keys]
        self.shown: list[np.ndarray] = []
        self.fullscreen = []
        self.titles: list[str] = []
        # A key per three shown frames, however often the loop polls while the model works: a key's repaint and
        # the frame in flight, then one made after the key.
        self.pressed_at = 0

    def show(self, image):
        self.shown.append(image)

    def poll_key(self, delay_ms=1):
        if self.keys and len(self.shown) >= self.pressed_at + 3:
            self.pressed_at = len(self.shown)
            return self.keys.pop(0)
        return -1

    def closed(self):
        return False

    def set_fullscreen(self, on):
        self.fullscreen.append(on)

    def set_title(self, text):
        self.titles.append(text)

    def close(self):
        pass


def test_hotkeys_switch_style_snapshot_mirror_and_quit(tmp_path):
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.webcam import LiveOptions, run_live

    stylizers = {"dark": lambda f: f // 4, "bright": lambda f: 255 - f // 4}
    clip = make_clip(tmp_path / "c.mp4", width=320, height=180, frames=40)
    capture = cv2.VideoCapture(str(clip))
    window = ScriptedWindow(["n", "s", "f", "b", "q"])
    outcome = run_live(LatestFrameCapture(capture, live=False, lossless=True), stylizers.__getitem__,
                       LiveOptions(styles=["dark", "bright"], snapshot_dir=tmp_path), window=window)
    capture.release()
    assert outcome.ended == "quit"
    assert window.fullscreen == [True]
    assert window.titles == ["rtstyle: dark", "rtstyle: bright"]  # the style in the title bar too
    assert len(outcome.snapshots) == 1
    snap = cv2.imread(str(outcome.snapshots[0]))
    assert snap.shape == (180, 320, 3) and snap.mean() > 128  # taken after `n` switched to "bright", no overlay
    assert outcome.snapshots[0].name.startswith("rtstyle-bright-")
    last = window.shown[-1]  # side by side after `b`, letterboxed into the frame size, enlarged to 640 px wide
    assert last.shape == (360, 640, 3)
    assert not last[:80, 560:].any() and not last[-80:, 560:].any() and last[120:240].mean() > 20  # bars, not text
    assert outcome.summary.frames < 40 and len(window.shown) >= outcome.summary.frames  # keys repaint too


def test_a_key_answers_at_once_while_the_next_style_loads(tmp_path):
    # Loading a style can take seconds (an int8 calibration, a TensorRT build) and a full network on a CPU runs at
    # about 1 fps: a key must repaint the last frame at once, not wait for the next stylized one.
    import threading

    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.webcam import LiveOptions, run_live

    loading, loaded = threading.Event(), threading.Event()

    def make_stylizer(name):
        if name == "slow":
            loading.set()
            loaded.wait(10)
        return lambda f: f // 4

    class Window(ScriptedWindow):
        def __init__(self):
            super().__init__([])
            self.during_load: list[np.ndarray] = []
            self.keys_sent = False
            self.o_pressed_at: tuple[int, float] | None = None  # (frames shown, time)

        def poll_key(self, delay_ms=1):
            time.sleep(0.001)
            if not loading.is_set():
                if len(self.shown) >= 2 and not self.keys_sent:
                    self.keys_sent = True
                    return ord("n")
                return -1
            if self.o_pressed_at is None:
                self.o_pressed_at = len(self.shown), time.monotonic()
                return ord("o")
            if not loaded.is_set():
                self.during_load = self.shown[self.o_pressed_at[0]:]
                if self.during_load or time.monotonic() - self.o_pressed_at[1] > 3:
                    loaded.set()
                return -1
            return ord("q")

    clip = make_clip(tmp_path / "c.mp4", width=320, height=180, frames=40)
    capture = cv2.VideoCapture(str(clip))
    window = Window()
    outcome = run_live(LatestFrameCapture(capture, live=False, lossless=True), make_stylizer,
                       LiveOptions(styles=["dark", "slow"]), window=window)
    capture.release()
    assert outcome.ended == "quit"
    assert window.during_load, "nothing was repainted while the style loaded"
    before = window.shown[window.o_pressed_at[0] - 1]
    assert window.during_load[-1].mean() > 2 * before.mean()  # the original view, not the dark stylized one


def test_quitting_while_a_style_loads_closes_the_window_and_saves_the_recording_at_once(tmp_path):
    # A style load cannot be interrupted (an int8 calibration, a TensorRT build): q must not leave a frozen window
    # and an unsaved recording until it ends, and the process must not exit under it.
    import threading

    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.recorder import Recorder
    from rtstyle.realtime.webcam import LiveOptions, run_live

    loading, closed, loaded, seen_while_loading = threading.Event(), threading.Event(), threading.Event(), {}
    rec = tmp_path / "rec.mp4"

    def make_stylizer(name):
        if name == "slow":
            loading.set()
            seen_while_loading["window closed"] = closed.wait(5)
            deadline = time.monotonic() + 5
            while not rec.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            seen_while_loading["recording saved"] = rec.exists()
            time.sleep(0.2)
            loaded.set()
        return lambda f: f // 4

    class Window(ScriptedWindow):
        def poll_key(self, delay_ms=1):
            if loading.is_set():
                return ord("q")
            return super().poll_key(delay_ms)

        def close(self):
            closed.set()

    clip = make_clip(tmp_path / "c.mp4", width=320, height=180, frames=40)
    capture = cv2.VideoCapture(str(clip))
    log: list[str] = []
    outcome = run_live(LatestFrameCapture(capture, live=False, lossless=True), make_stylizer,
                       LiveOptions(styles=["dark", "slow"]), window=Window(["n"]),
                       recorder=Recorder(rec, fps=24), log=log.append)
    capture.release()
    assert outcome.ended == "quit" and outcome.recording == rec
    assert seen_while_loading == {"window closed": True, "recording saved": True}
    assert "quitting once slow has loaded (loading cannot be interrupted)" in log
    assert loaded.is_set()  # and then it waited for the load (leaving onnxruntime building a model aborts the exit)


def test_a_style_asked_for_just_before_quitting_is_not_loaded_after_it():
    """n then q within one frame: the frame left in the closed capture slot must not start the new style's load
    (minutes for a TensorRT build), which the quit would then have to wait for."""
    from rtstyle.realtime.capture import CapturedFrame, LatestFrameCapture
    from rtstyle.realtime.inference import InferenceWorker
    from rtstyle.realtime.slot import LatestSlot

    made: list[str] = []

    def make_stylizer(name):
        made.append(name)
        return lambda f: f

    class StopsWhileWaiting(LatestSlot):  # the quit arrives while the model thread waits for a frame
        def get(self, timeout=None):
            worker.stop(timeout=0)
            return CapturedFrame(np.zeros((8, 8, 3), np.uint8), time.perf_counter(), 0)

    capture = LatestFrameCapture(cv2.VideoCapture(), live=False)
    capture.slot = StopsWhileWaiting()
    worker = InferenceWorker(capture, ["first", "second"], make_stylizer)
    worker.requested_index = 1
    worker.start().wait(timeout=5)
    assert made == ["first"] and worker.error is None and worker.loading is None


def test_the_window_overlay_names_the_engine(tmp_path, monkeypatch):
    import rtstyle.realtime.webcam as webcam
    from rtstyle.realtime.capture import LatestFrameCapture

    class Stylizer:
        description = "onnxruntime CPUExecutionProvider fp32"

        def __call__(self, frame):
            return frame // 4

    engines = []
    real_compose = webcam.compose

    def compose(*args, **kwargs):
        engines.append(kwargs.get("engine"))
        return real_compose(*args, **kwargs)

    monkeypatch.setattr(webcam, "compose", compose)
    clip = make_clip(tmp_path / "c.mp4", width=320, height=180, frames=10)
    capture = cv2.VideoCapture(str(clip))
    webcam.run_live(LatestFrameCapture(capture, live=False, lossless=True), lambda name: Stylizer(),
                    webcam.LiveOptions(styles=["dark"]), window=ScriptedWindow(["q"]))
    capture.release()
    assert engines and set(engines) == {"onnxruntime CPUExecutionProvider fp32"}


def test_a_style_that_cannot_load_is_said_for_a_while_and_keys_go_on(tmp_path, monkeypatch):
    import rtstyle.realtime.webcam as webcam
    from rtstyle.errors import RtstyleError
    from rtstyle.realtime.capture import LatestFrameCapture

    def make_stylizer(name):
        if name == "broken":
            raise RtstyleError("not a style file")
        return lambda f: f // 4

    notes = []
    real_compose = webcam.compose

    def compose(*args, **kwargs):
        notes.append(kwargs["status"])
        return real_compose(*args, **kwargs)

    monkeypatch.setattr(webcam, "compose", compose)
    monkeypatch.setattr(webcam, "STATUS_SECONDS", 0.0)  # shown for no time: the frames after it have no note
    clip = make_clip(tmp_path / "c.mp4", width=320, height=180, frames=40)
    capture = cv2.VideoCapture(str(clip))
    log: list[str] = []
    outcome = webcam.run_live(LatestFrameCapture(capture, live=False, lossless=True), make_stylizer,
                              webcam.LiveOptions(styles=["dark", "broken"]), window=ScriptedWindow(["n", "n", "q"]),
                              log=log.append)
    capture.release()
    assert outcome.ended == "quit"
    assert log == ["cannot use broken: not a style file"] * 2  # the second n asks for it again, from "dark"
    assert notes[-1] == ""  # not left on the screen for the rest of the session


def test_the_terminal_says_the_full_path_of_a_snapshot(tmp_path, monkeypatch):
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.webcam import LiveOptions, run_live

    monkeypatch.chdir(tmp_path)
    clip = make_clip(tmp_path / "c.mp4", width=320, height=180, frames=20)
    capture = cv2.VideoCapture(str(clip))
    log: list[str] = []
    outcome = run_live(LatestFrameCapture(capture, live=False, lossless=True), lambda name: lambda f: f // 4,
                       LiveOptions(styles=["dark"]), window=ScriptedWindow(["s", "q"]), log=log.append)
    capture.release()
    assert log == [f"snapshot: {tmp_path.resolve() / outcome.snapshots[0].name}"]


def test_strength_keys_reach_the_model_thread(tmp_path):
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.webcam import LiveOptions, run_live

    clip = make_clip(tmp_path / "c.mp4", width=320, height=180, frames=40)
    capture, frames = cv2.VideoCapture(str(clip)), []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    capture.release()
    snapshots = []
    for keys in (["s", "q"], ["-"] * 10 + ["s", "q"]):  # ten presses: strength 0, the camera's own frame
        capture = cv2.VideoCapture(str(clip))
        outcome = run_live(LatestFrameCapture(capture, live=False, lossless=True), lambda name: lambda f: f // 4,
                           LiveOptions(styles=["dark"], snapshot_dir=tmp_path), window=ScriptedWindow(keys))
        capture.release()
        snapshots.append(cv2.imread(str(outcome.snapshots[0])))
    assert any(np.array_equal(snapshots[0], frame // 4) for frame in frames)
    assert any(np.array_equal(snapshots[1], frame) for frame in frames)


def test_stroke_keys_change_the_size_the_network_runs_at(tmp_path):
    """> twice: strokes 2x, the network on half-size frames, the window still full size; the stabiliser (which
    keeps the previous frame at the network's size) starts over rather than failing on the new size."""
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.stabilize import Stabilizer
    from rtstyle.realtime.webcam import LiveOptions, run_live

    clip = make_clip(tmp_path / "c.mp4", width=320, height=180, frames=40)
    capture = cv2.VideoCapture(str(clip))
    sizes: list[tuple[int, int]] = []

    def network(frame: np.ndarray) -> np.ndarray:
        sizes.append(frame.shape[:2])
        return frame // 4

    window = ScriptedWindow([">", ">", "q"])
    outcome = run_live(LatestFrameCapture(capture, live=False, lossless=True), lambda name: network,
                       LiveOptions(styles=["dark"], snapshot_dir=tmp_path), window=window,
                       post_filter=Stabilizer(0.5))
    capture.release()
    assert outcome.ended == "quit"
    assert sizes[0] == (180, 320) and sizes[-1] == (90, 160) and (129, 229) in sizes  # 1, 1.4, then 2
    assert window.shown[-1].shape[:2] == (360, 640)  # the window: enlarged to 640 px wide, as before


def test_unusable_recording_format_fails_before_starting(tmp_path, small_style, capsys):
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", str(small_style), "--no-display", "--frames", "1",
                      "--record", str(tmp_path / "rec.webm")], capsys)
    assert_one_line_error(result, "H.264", "rec.webm")
    assert not list(tmp_path.glob("*rec*"))


def test_a_broken_style_leaves_no_recording_behind(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a style")
    rec = tmp_path / "rec.mp4"
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", str(bad), "--no-display", "--frames", "1",
                      "--record", str(rec)], capsys)
    assert result.exit_code == 2 and "Traceback" not in result.err
    assert not list(tmp_path.glob("*rec*"))


def test_cpu_uses_installed_fast_variants_and_says_so(tmp_path, small_style, capsys, monkeypatch):
    import shutil

    from rtstyle.realtime.playlist import with_fast_variants

    user = tmp_path / "user_styles"
    user.mkdir()
    for name in ("aaa", "aaa-fast", "bbb"):
        shutil.copy(small_style, user / f"{name}.safetensors")
    monkeypatch.setenv("RTSTYLE_STYLES_DIR", str(user))
    styles, notes = with_fast_variants(["aaa", "bbb", "aaa-fast"], on_gpu=False)
    assert styles == ["aaa-fast", "bbb"] and list(notes) == ["aaa"] and "using aaa-fast" in notes["aaa"]
    styles, notes = with_fast_variants(["aaa-fast", "bbb", "aaa"], on_gpu=True)
    assert styles == ["aaa", "bbb"] and list(notes) == ["aaa-fast"] and "GPU: using aaa " in notes["aaa-fast"]
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", "aaa", "--no-display", "--frames", "2",
                      "--size", "96x54", "--device", "cpu"], capsys)
    assert result.exit_code == 0, result
    assert "using aaa-fast" in result.err
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", "aaa", "--no-display", "--frames", "2",
                      "--size", "96x54", "--device", "cpu", "--no-fast"], capsys)
    assert result.exit_code == 0 and "aaa-fast" not in result.err
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", "bbb", "--no-display", "--frames", "2",
                      "--size", "96x54", "--device", "cpu"], capsys)
    assert result.exit_code == 0 and "using" not in result.err  # bbb has no variant; aaa's is not its business
    shutil.copy(small_style, user / "mosaic.safetensors")  # the user's own mosaic replaces the built-in
    assert with_fast_variants(["mosaic"], on_gpu=False) == (["mosaic"], {})  # not the built-in's mosaic-fast
    (user / "mosaic.safetensors").unlink()
    # A user's mosaic-fast (`train --teacher mosaic --name mosaic-fast`) is the built-in mosaic's webcam alternate.
    shutil.copy(small_style, user / "mosaic-fast.safetensors")
    styles, notes = with_fast_variants(["mosaic"], on_gpu=False)
    assert styles == ["mosaic-fast"] and "using mosaic-fast" in notes["mosaic"]


def test_a_fast_style_asked_for_where_a_gpu_is_expected_is_swapped_and_said(small_style, tmp_path, capsys, monkeypatch):
    # It used to crash (IndexError) before anything ran; here CUDA is missing, so the one-line CUDA error follows.
    import shutil

    user = tmp_path / "user_styles"
    user.mkdir()
    for name in ("aaa", "aaa-fast"):
        shutil.copy(small_style, user / f"{name}.safetensors")
    monkeypatch.setenv("RTSTYLE_STYLES_DIR", str(user))
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", "aaa-fast", "--no-display", "--frames", "1",
                      "--size", "96x54", "--device", "cuda"], capsys)
    assert result.exit_code == 2 and "Traceback" not in result.err, result
    assert "GPU: using aaa (the full network of aaa-fast" in result.err
    assert result.err.strip().splitlines()[-1].startswith("rtstyle: error:")



def test_webcam_stabiliser_follows_the_network_cost(tmp_path, capsys, monkeypatch):
    """The light stabiliser with a cheap starting network (the fast variant on a CPU), the default with johnson."""
    import rtstyle.cli.webcam_cmd as webcam_cmd
    from conftest import random_style_weights

    from rtstyle.styles.format import StyleFile, save_style_file

    user = tmp_path / "user_styles"
    user.mkdir()
    save_style_file(user / "aaa.safetensors", StyleFile("johnson", {}, random_style_weights(), {"name": "aaa"}))
    for name in ("aaa-fast", "mine"):  # a cheap network under any name
        save_style_file(user / f"{name}.safetensors", StyleFile("fast", {}, random_style_weights("fast"), {"name": name}))
    monkeypatch.setenv("RTSTYLE_STYLES_DIR", str(user))
    chosen: list[tuple[float, bool]] = []
    real = webcam_cmd.make_stabilizer
    monkeypatch.setattr(webcam_cmd, "make_stabilizer",
                        lambda strength, light=False: chosen.append((strength, light)) or real(strength, light))
    for style, extra in (("aaa", []), ("aaa", ["--no-fast"]), ("mine", [])):
        result = run_cli(["webcam", "--source", str(BUNNY), "--style", style, "--no-display", "--frames", "2",
                          "--size", "96x54", "--device", "cpu", "--stabilize", *extra], capsys)
        assert result.exit_code == 0, result
    assert chosen == [(0.5, True), (0.5, False), (0.5, True)]


def test_light_stabiliser_rule():
    from rtstyle.realtime.stabilize import wants_light_stabilizer

    assert wants_light_stabilizer(5_000, on_gpu=False)  # fast
    assert not wants_light_stabilizer(154_000, on_gpu=False)  # johnson on a CPU: the default is 6% of its frame
    assert wants_light_stabilizer(154_000, on_gpu=True)  # on a GPU every network is a few ms a frame
    assert not wants_light_stabilizer(None, on_gpu=False)  # unknown cost (an .onnx file): the default


def test_a_file_read_headless_is_recorded_on_its_own_clock(tmp_path, small_style, capsys):
    # Unpaced, frames are processed as fast as the model goes (here far faster than 24 fps); the recording used to
    # take that speed as its clock and play too fast.
    rec = tmp_path / "rec.mp4"
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", str(small_style), "--no-display", "--frames", "48",
                      "--size", "96x54", "--record", str(rec)], capsys)
    assert result.exit_code == 0, result
    summary = video_summary(rec)
    assert summary["frames"] == 48
    assert summary["times"][0] == 0 and summary["times"][-1] == pytest.approx(47 / 24, abs=0.002)


def test_the_summary_line_counts_in_words_that_fit():
    from rtstyle.realtime.stats import LatencyStats

    stats = LatencyStats()
    stats.record(0.0, 0.05)
    assert stats.summary(dropped=1).format() == ("1 frame (too few to measure the fps); capture-to-output latency "
                                                 "median 50.0 ms, p95 50.0 ms; 1 stale frame dropped")
    stats.record(0.05, 0.15)
    assert STATS.fullmatch(stats.summary(dropped=2).format())
    assert stats.summary().format().startswith("2 frames in 0.1 s: 10.0 fps achieved;")


def test_a_recording_is_tagged_bt709_so_players_show_its_colours(tmp_path):
    # Untagged, it was converted with swscale's BT.601 matrix, and players read untagged HD video as BT.709: a
    # 1280x720 recording played a mean 8 levels off the window's colours (reds and greens most).
    import av

    from rtstyle.realtime.recorder import Recorder

    image = np.zeros((720, 1280, 3), np.uint8)
    for i, colour in enumerate([(0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255), (255, 0, 255), (40, 90, 200)]):
        image[:, i * 200:(i + 1) * 200] = colour  # saturated bars, where the two matrices differ most
    recorder = Recorder(tmp_path / "rec.mp4", fps=24)
    for n in range(3):
        recorder.write(image, n / 24)
    assert recorder.finish() == tmp_path / "rec.mp4"
    with av.open(str(tmp_path / "rec.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.color_primaries, stream.codec_context.colorspace) == (1, 1)  # BT.709
        frame = next(container.decode(video=0))
        shown = frame.reformat(format="bgr24", src_colorspace=1, src_color_range=frame.color_range).to_ndarray()
    assert np.abs(shown.astype(int) - image).mean() < 2.5


def red_badge(image: np.ndarray) -> bool:
    """The REC badge's red dot in the window's top-right corner."""
    corner = image[: image.shape[0] // 6, -image.shape[1] // 4 :].astype(int)
    return bool(((corner[..., 2] > 200) & (corner[..., 1] < 60) & (corner[..., 0] < 60)).sum() > 10)


def run_with_keys(tmp_path, keys: list[str], snapshot_dir=None, log=None):
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.webcam import LiveOptions, run_live

    clip = make_clip(tmp_path / "c.mp4", width=320, height=180, frames=40)
    capture = cv2.VideoCapture(str(clip))
    window = ScriptedWindow(keys)
    outcome = run_live(LatestFrameCapture(capture, live=False, lossless=True), lambda name: lambda f: f // 4,
                       LiveOptions(styles=["dark"], snapshot_dir=snapshot_dir or tmp_path, clip_fps=24),
                       window=window, log=(log or (lambda _: None)))
    capture.release()
    return outcome, window


def test_r_records_a_clip_of_the_stylized_stream_and_r_stops_it(tmp_path):
    log: list[str] = []
    outcome, window = run_with_keys(tmp_path, ["r", "o", "r", "q"], log=log.append)  # o: the view, not the clip
    assert outcome.ended == "quit" and len(outcome.clips) == 1
    clip = outcome.clips[0]
    assert clip.parent == tmp_path and re.fullmatch(r"rtstyle-dark-\d{8}-\d{6}\.mp4", clip.name)
    summary = video_summary(clip)
    assert summary["size"] == (320, 180) and summary["frames"] >= 3
    reader = cv2.VideoCapture(str(clip))
    frames = [f for ok, f in iter(reader.read, (False, None))]
    reader.release()
    assert max(f.mean() for f in frames) < 70  # the stylized frames (f // 4), also while the window showed o
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    badges = [red_badge(image) for image in window.shown]
    assert any(badges) and not badges[0] and not badges[-1]  # shown while recording only
    assert log[-1].startswith(f"clip saved: {clip.resolve()}")


def test_quitting_while_a_clip_records_saves_it(tmp_path):
    outcome, _ = run_with_keys(tmp_path, ["r", "q"])
    assert len(outcome.clips) == 1 and video_summary(outcome.clips[0])["frames"] >= 1


def test_a_clip_that_cannot_be_written_is_said_and_the_session_goes_on(tmp_path):
    log: list[str] = []
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x")
    outcome, window = run_with_keys(tmp_path, ["r", "n", "q"], snapshot_dir=blocked, log=log.append)
    assert outcome.ended == "quit" and outcome.clips == []
    assert len(log) == 1 and log[0].startswith("cannot record a clip")
    assert not any(red_badge(image) for image in window.shown)


def test_a_full_disk_ends_the_clip_not_the_session(tmp_path, monkeypatch):
    import errno

    from rtstyle.realtime.recorder import Recorder

    writes = []

    def full(self, image, seconds):
        writes.append(seconds)
        if len(writes) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, image, seconds)

    original = Recorder.write
    monkeypatch.setattr(Recorder, "write", full)
    log: list[str] = []
    outcome, window = run_with_keys(tmp_path, ["r", "n", "n", "q"], log=log.append)
    assert outcome.ended == "quit" and outcome.clips == []
    assert log == ["recording the clip failed: [Errno 28] No space left on device"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mp4"]  # no clip, no temporary file left
    assert red_badge(window.shown[3]) and not red_badge(window.shown[-1])


def run_cycling(tmp_path, styles: list[str], *, broken: str | None = None):
    """A headless session with --cycle 0.2 on a clip stylized at about 25 ms a frame; which style each frame got,
    and the log."""
    from rtstyle.errors import RtstyleError
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.webcam import LiveOptions, run_live

    seen: list[str] = []

    def make_stylizer(name):
        if name == broken:
            raise RtstyleError("not a style file")

        def stylize(frame):
            time.sleep(0.025)
            seen.append(name)
            return frame // 4
        return stylize

    clip = make_clip(tmp_path / "c.mp4", width=96, height=64, frames=60)
    capture = cv2.VideoCapture(str(clip))
    log: list[str] = []
    outcome = run_live(LatestFrameCapture(capture, live=False, lossless=True), make_stylizer,
                       LiveOptions(styles=styles, display=False, cycle_seconds=0.2), log=log.append)
    capture.release()
    assert outcome.ended == "end"
    turns = [name for i, name in enumerate(seen) if i == 0 or seen[i - 1] != name]
    return seen, turns, log


def test_cycle_moves_on_to_the_next_style_in_turn(tmp_path):
    seen, turns, _ = run_cycling(tmp_path, ["a", "b", "c"])
    assert len(turns) >= 4 and turns == (["a", "b", "c"] * 10)[: len(turns)]
    runs = [len(list(group)) for _, group in itertools.groupby(seen)]
    assert min(runs[:-1]) >= 2  # each style stays up for its turn (0.2 s, about 8 frames), not a frame each


def test_cycle_passes_over_a_style_that_cannot_load(tmp_path):
    _, turns, log = run_cycling(tmp_path, ["a", "broken", "c"], broken="broken")
    assert len(turns) >= 3 and turns == (["a", "c"] * 10)[: len(turns)]
    assert log == ["cannot use broken: not a style file"]  # tried once, not at every turn


def test_next_in_cycle():
    from rtstyle.realtime.webcam import next_in_cycle

    assert next_in_cycle(0, 3, set()) == 1 and next_in_cycle(2, 3, set()) == 0
    assert next_in_cycle(0, 3, {1}) == 2 and next_in_cycle(0, 3, {1, 2}) == 0


def test_cycle_below_a_second_is_a_one_line_error(capsys):
    assert_one_line_error(run_cli(["webcam", "--source", str(BUNNY), "--no-display", "--cycle", "0.5"], capsys),
                          "--cycle", "0.5")


def test_a_frame_is_on_screen_before_it_is_encoded(tmp_path, monkeypatch):
    """Recording must not add its encode to what the window shows late: each frame is painted, then written."""
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.recorder import Recorder
    from rtstyle.realtime.webcam import LiveOptions, run_live

    events: list[str] = []
    original = Recorder.write
    monkeypatch.setattr(Recorder, "write", lambda self, image, seconds: (events.append("write"),
                                                                        original(self, image, seconds)))

    class LoggingWindow(ScriptedWindow):
        def show(self, image):
            events.append("show")
            super().show(image)

    clip = make_clip(tmp_path / "c.mp4", width=320, height=180, frames=12)
    capture = cv2.VideoCapture(str(clip))
    recorder = Recorder(tmp_path / "rec.mp4", fps=24)
    outcome = run_live(LatestFrameCapture(capture, live=False, lossless=True), lambda name: lambda f: f // 4,
                       LiveOptions(styles=["dark"], snapshot_dir=tmp_path), window=LoggingWindow([]),
                       recorder=recorder)
    capture.release()
    assert outcome.recording is not None and events.count("write") == 12
    writes = [i for i, event in enumerate(events) if event == "write"]
    assert all(events[:i].count("show") >= k + 1 for k, i in enumerate(writes))  # frame k painted before written


def test_webcam_steps_through_a_style_list_only(capsys):
    result = run_cli(["webcam", "--source", str(BUNNY), "--no-display", "--frames", "3", "-s", "udnie,candy"], capsys)
    assert result.exit_code == 0, result.err
    assert "-> udnie-fast on" in result.err and "(2 styles on the hotkeys)" in result.err
