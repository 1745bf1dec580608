"""A long video conversion says early how long it will take and what would be faster, timed on its own frames."""

from __future__ import annotations

import numpy as np

from helpers import run_cli
from rtstyle.realtime import estimate
from rtstyle.realtime.estimate import Alternative, RunEstimate, smaller_frames
from rtstyle.wording import how_long
from videoclips import make_clip


class Clock:
    """Time that moves only when the work says so: the frames' costs are the test's, not the machine's."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def work(self, seconds: float):
        def process(frame: np.ndarray) -> np.ndarray:
            self.now += seconds
            return frame
        return process


def test_a_long_run_says_its_time_and_the_faster_choices_once_after_the_first_frames():
    clock, lines = Clock(), []
    fast_frames: list[tuple[int, ...]] = []
    fast = Alternative("--style x-fast", lambda: clock.work(0.5))
    small = smaller_frames(lambda: (lambda f: (fast_frames.append(f.shape), clock.work(2.0)(f))[1]))
    run = RunEstimate(clock.work(5.0), 1800, lines.append, alternatives=lambda: [fast, small], clock=clock)
    frame = np.zeros((1080, 1920, 3), np.uint8)
    for _ in range(10):
        run(frame)
    assert len(lines) == 1
    assert lines[0].startswith("about 2 h 30 min to go (1796 more frames at 5.0 s each)")
    assert "--style x-fast about 15 min" in lines[0] and "--max-size 1280 about 1 h 0 min" not in lines[0]
    assert "--max-size 1280 about 1 h (for all 1800 frames)" in lines[0]
    assert fast_frames and all(shape == (720, 1280, 3) for shape in fast_frames)


def test_choices_are_scaled_by_how_much_slower_the_run_went_than_when_they_were_timed():
    # The run's frames took 5 s; timed again beside the choice, in a quieter moment, the same work takes 4 s.
    clock, lines = Clock(), []
    run = RunEstimate(clock.work(5.0), 1000, lines.append, again=lambda: clock.work(4.0), clock=clock,
                      alternatives=lambda: [Alternative("--style x-fast", lambda: clock.work(0.4))])
    for _ in range(5):
        run(np.zeros((8, 8, 3), np.uint8))
    assert "--style x-fast about 8 min" in lines[0]  # 0.4 s x 5/4 a frame, not 0.4 s (7 min)


def test_a_short_run_or_one_of_unknown_length_says_nothing_and_times_nothing():
    for total in (200, None):
        clock, lines, made = Clock(), [], []
        run = RunEstimate(clock.work(1.0), total, lines.append,
                          alternatives=lambda: made.append(1) or [], clock=clock)  # type: ignore[func-returns-value]
        for _ in range(6):
            run(np.zeros((8, 8, 3), np.uint8))
        assert lines == [] and made == []


def test_a_choice_that_is_not_much_faster_or_cannot_load_is_left_out():
    clock, lines = Clock(), []

    def broken() -> estimate.Process:
        raise OSError("corrupt style file")

    choices = [Alternative("--style same-speed", lambda: clock.work(4.0)), Alternative("--style broken", broken)]
    run = RunEstimate(clock.work(5.0), 1000, lines.append, alternatives=lambda: choices, clock=clock)
    for _ in range(5):
        run(np.zeros((8, 8, 3), np.uint8))
    assert len(lines) == 1 and "faster" not in lines[0]


def test_a_stop_while_the_choices_are_timed_loads_no_more_of_them_and_says_nothing():
    # Ctrl-C ends the model runs in progress (RunCancelled), the choices' too: the stop was taken for a choice that
    # cannot run, so the next one was loaded and timed, delaying the stop, and the estimate was said after it.
    from rtstyle.engine.base import RunCancelled

    clock, lines, made = Clock(), [], []

    def cancelled(frame: np.ndarray) -> np.ndarray:
        raise RunCancelled("x-fast: the frame was cancelled")

    choices = [Alternative("--style x-fast", lambda: made.append("x-fast") or cancelled),
               Alternative("--max-size 1280", lambda: made.append("smaller") or clock.work(2.0))]
    run = RunEstimate(clock.work(5.0), 1000, lines.append, alternatives=lambda: choices, clock=clock)
    for _ in range(5):
        run(np.zeros((8, 8, 3), np.uint8))  # the conversion's own frames are not lost to it
    assert made == ["x-fast"] and lines == []


def test_choices_that_cannot_even_be_listed_leave_the_estimate_alone():
    clock, lines = Clock(), []

    def unlisted() -> list[Alternative]:
        raise OSError("styles folder unreadable")

    run = RunEstimate(clock.work(5.0), 1000, lines.append, alternatives=unlisted, clock=clock)
    for _ in range(5):
        run(np.zeros((8, 8, 3), np.uint8))
    assert lines == ["about 1 h 23 min to go (996 more frames at 5.0 s each)"]


def test_times_read_as_people_say_them():
    assert [how_long(s) for s in (4.24, 45, 59.6, 720, 3599, 3600, 9000)] == [
        "4.2 s", "45 s", "1 min", "12 min", "1 h", "1 h", "2 h 30 min"]


def test_the_video_command_names_the_fast_variant_and_smaller_frames(tmp_path, small_style, capsys, monkeypatch):
    import os
    import shutil
    from pathlib import Path

    styles = Path(os.environ["RTSTYLE_STYLES_DIR"])
    styles.mkdir(parents=True, exist_ok=True)
    shutil.copy(small_style, styles / "mine.safetensors")
    shutil.copy(small_style, styles / "mine-fast.safetensors")
    monkeypatch.setattr(estimate, "LONG_RUN_SECONDS", 0.0)  # every run is long: the line is what is tested
    monkeypatch.setattr(estimate, "SMALLER_SIDE", 48)
    monkeypatch.setattr(estimate, "WORTH_IT", 100.0)  # the two networks are alike here: name every choice
    src = make_clip(tmp_path / "in.mp4", width=96, height=64, frames=8)
    # One frame at a time (the test style is as cheap as a fast network): frames in parallel are timed in pairs.
    result = run_cli(["video", str(src), "-o", str(tmp_path / "out.mp4"), "--style", "mine",
                      "--one-frame-at-a-time"], capsys)
    assert result.exit_code == 0, result
    line = next(line for line in result.err.splitlines() if line.startswith("about "))
    assert "to go (4 more frames at" in line
    assert "faster, timed here on this video's frames: --style mine-fast about" in line
    assert ", --max-size 48 about" in line
    assert "wrote 8 frames 96x64" in result.err
