"""A file --source played by its frames' own timestamps (variable frame rate), on a clock of the test's own."""

from __future__ import annotations

import threading
from fractions import Fraction

import pytest

from videoclips import make_clip, video_summary

# A phone clip's timestamps (ms): 30 fps, a dim stretch at 10 fps, 30 fps again; 10 frames over 0.6 s (17 fps on
# average, which is what the file's rate says).
VFR_MS = [0, 33, 67, 100, 200, 300, 400, 433, 467, 500]


def vfr_clip(path):
    return make_clip(path, pts=VFR_MS, time_base=Fraction(1, 1000), rate=30, width=64, height=48)


class FakeClock:
    """time.perf_counter's stand-in: time passes only when the capture thread waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_a_variable_frame_rate_file_is_given_out_at_its_own_timestamps(tmp_path):
    # Paced at its average rate (17 fps) the 30 fps stretches played at half speed and the 10 fps one 1.7x fast.
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.file_source import VideoFileSource
    from rtstyle.realtime.slot import LatestSlot

    class Kept(LatestSlot):  # every frame the capture gives out, including those the model had no time for
        def __init__(self):
            super().__init__()
            self.kept = []

        def put(self, value):
            self.kept.append(value)
            super().put(value)

    source = VideoFileSource(vfr_clip(tmp_path / "vfr.mp4"))
    assert source.fps is not None and 15 < source.fps < 20
    clock = FakeClock()
    grabber = LatestFrameCapture(source, live=False, pace_fps=source.fps, clock=clock, sleep=clock.sleep)
    grabber.slot = Kept()
    grabber.start()
    grabber._thread.join(timeout=10)
    source.release()
    assert grabber.ended == "end"
    given = grabber.slot.kept
    assert [f.index for f in given] == list(range(10))
    assert [round((f.captured_at - 1000) * 1000) for f in given] == VFR_MS  # stamped when due: exact
    assert [round(f.media_time * 1000) for f in given] == VFR_MS
    assert round(sum(clock.waits) * 1000) == VFR_MS[-1]  # and waited for, not just stamped


def test_a_late_frame_slows_playback_instead_of_rushing_the_next_ones():
    # A decoder slower than real time for a moment (a 4K keyframe): the frames after it keep their spacing.
    from rtstyle.realtime.pacing import Pacer

    clock = FakeClock()
    pacer = Pacer(0.1, clock)
    assert pacer.due(0.0) == 1000.0
    clock.now = 1000.5  # the frame at 0.1 s is ready 0.4 s late
    assert pacer.due(0.1) == pytest.approx(1000.4)  # at most one frame interval behind, not 0.4 s
    assert pacer.due(0.2) == pytest.approx(1000.5)  # the next one frame later, not at once
    clock.now = 1000.55
    assert pacer.due(0.3) == pytest.approx(1000.6)


def test_the_time_line_fills_in_missing_and_jumping_timestamps():
    from rtstyle.realtime.pacing import Timeline

    line = Timeline(fps=10, max_step=10.0)
    # Starts at 0 whatever the first timestamp; none: one average interval on; a step back (concatenated streams
    # restarting at 0) or a jump of 20 s in an MPEG-TS: one interval on, then the new timestamps are followed.
    stamps = [5.0, 5.05, None, 5.3, 0.0, 0.02, 25.02, 25.1]
    assert [round(line.place(s), 3) for s in stamps] == [0, 0.05, 0.15, 0.3, 0.4, 0.42, 0.52, 0.6]
    screen = Timeline(fps=10)  # a screen recording (no jumps in its format): a still screen for 30 s is waited for
    assert [screen.place(s) for s in (0.0, 30.0)] == [0, 30.0]


def test_a_recording_keeps_a_variable_frame_rate_file_s_timing(tmp_path):
    # Headless, every frame: the recording was timed by frame count over the average rate (evenly spaced).
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.file_source import VideoFileSource
    from rtstyle.realtime.recorder import Recorder
    from rtstyle.realtime.webcam import LiveOptions, run_live

    source = VideoFileSource(vfr_clip(tmp_path / "vfr.mp4"))
    recorder = Recorder(tmp_path / "rec.mp4", fps=source.fps)
    outcome = run_live(LatestFrameCapture(source, live=False, lossless=True), lambda name: lambda f: 255 - f,
                       LiveOptions(styles=["invert"], display=False), recorder=recorder)
    source.release()
    assert outcome.ended == "end" and outcome.recording is not None
    assert [round(t * 1000) for t in video_summary(outcome.recording)["times"]] == VFR_MS


def test_a_paced_recording_keeps_a_variable_frame_rate_file_s_timing(tmp_path):
    # Played like a camera (a window, --realtime): frames the model has no time for are dropped, and the ones
    # recorded keep the file's own times, not the moments the capture thread happened to wake.
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.file_source import VideoFileSource
    from rtstyle.realtime.recorder import Recorder
    from rtstyle.realtime.webcam import LiveOptions, run_live

    source = VideoFileSource(vfr_clip(tmp_path / "vfr.mp4"))
    clock = FakeClock()
    lock = threading.Lock()

    def sleep(seconds: float) -> None:  # a model that keeps up: the frame before was taken before time moves on
        grabber.slot.wait_until_taken(timeout=5)
        with lock:
            clock.sleep(seconds)

    grabber = LatestFrameCapture(source, live=False, pace_fps=source.fps, clock=clock, sleep=sleep)
    recorder = Recorder(tmp_path / "rec.mp4", fps=source.fps)
    outcome = run_live(grabber, lambda name: lambda f: 255 - f, LiveOptions(styles=["invert"], display=False),
                       recorder=recorder)
    source.release()
    assert outcome.recording is not None
    times = [round(t * 1000) for t in video_summary(outcome.recording)["times"]]
    assert len(times) >= 3
    # The recording starts at 0 with the first frame recorded, which may be any of the file's.
    assert any({t + start for t in times} <= set(VFR_MS) for start in VFR_MS), times
