"""Webcam style switches: the styles `n` and `p` pick are prepared in the background (rtstyle.realtime.prepare) and
swapped in at the next frame, with real (small) stylizers; at most the current style and its neighbours are kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from conftest import random_style_weights

FRAME = np.full((24, 32, 3), 90, np.uint8)


class EndlessFrames:
    """A camera stand-in: the same small frame, as often as it is read (the capture thread is the real one)."""

    def read(self) -> tuple[bool, np.ndarray]:
        time.sleep(0.002)
        return True, FRAME.copy()

    def release(self) -> None:
        pass


def style_files(folder: Path, count: int) -> list[str]:
    from rtstyle.styles.format import StyleFile, save_style_file

    paths = []
    for i in range(count):
        path = folder / f"style{i}.safetensors"
        save_style_file(path, StyleFile("johnson", {"width": 8, "blocks": 1},
                                        random_style_weights(seed=i, width=8, blocks=1), {"name": f"style{i}"}))
        paths.append(str(path))
    return paths


class Loads:
    """create_stylizer, recording which thread made each style's stylizer."""

    def __init__(self) -> None:
        self.made: list[tuple[str, str]] = []  # (style, thread name)
        self.stylizers: dict[str, list] = {}

    def __call__(self, name: str):
        from rtstyle.engine import create_stylizer

        stylizer = create_stylizer(name)
        self.made.append((Path(name).stem, threading.current_thread().name))
        self.stylizers.setdefault(Path(name).stem, []).append(stylizer)
        return stylizer


def started_worker(styles: list[str], loads: Loads, prepare: bool = True):
    from rtstyle.engine.factory import build_model_files
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.inference import InferenceWorker

    capture = LatestFrameCapture(EndlessFrames(), live=True)
    worker = InferenceWorker(capture, styles, loads, build_files=build_model_files if prepare else None)
    capture.start()
    worker.start()
    return capture, worker


def run_until(worker, done: Callable[[], bool], what: str, limit: float = 60) -> None:
    """Take the worker's results until `done` (a bound on a hang, not a speed check)."""
    deadline = time.monotonic() + limit
    while not done():
        worker.results.get(timeout=0.05)
        assert worker.error is None, worker.error
        assert time.monotonic() < deadline, f"never happened: {what}"


def switch_to(worker, index: int) -> None:
    worker.requested_index = index  # what the main loop does for a key
    shown: list[int] = []

    def new_style_shown() -> bool:
        result = worker.results.get(timeout=0.05)
        if result is not None:
            shown.append(result.style_index)
        return bool(shown) and shown[-1] == index

    run_until(worker, new_style_shown, f"a frame of style {index}")


def stopped(capture, worker) -> None:
    capture.stop()
    worker.stop()
    worker.wait()


@contextmanager
def neighbours_prepared(tmp_path: Path, loads: Loads | None = None) -> Iterator:
    """A worker on four styles running style 0, once n and p's styles (1 and 3) are prepared; stopped after."""
    capture, worker = started_worker(style_files(tmp_path, 4), loads or Loads())
    try:
        run_until(worker, lambda: worker.cache.indices() == [0, 1, 3], "both neighbours prepared")
        yield worker
    finally:
        stopped(capture, worker)


def test_a_prepared_style_is_swapped_in_without_a_load_on_the_inference_thread(tmp_path):
    loads = Loads()
    # n and p from style 0 pick 1 and 3: both prepared once frames flow, on the preparing thread
    with neighbours_prepared(tmp_path, loads) as worker:
        prepared = worker.cache.get(1)
        switch_to(worker, 1)
        assert worker.processor.stylize is prepared  # the prepared session runs, not a new one
        assert ("style1", "rtstyle-prepare") in loads.made
        assert not [made for made in loads.made if made[1] == "rtstyle-infer"]  # nothing loaded on the key
        # the style now next to the current one (2) is prepared too, and 3, no longer next to it, is closed
        run_until(worker, lambda: worker.cache.indices() == [0, 1, 2], "the new neighbour prepared")
        assert loads.stylizers["style3"][-1].session is None


def test_the_cache_stays_bounded_however_the_styles_are_picked(tmp_path):
    styles = style_files(tmp_path, 6)
    loads = Loads()
    capture, worker = started_worker(styles, loads)
    try:
        for index in (3, 4, 0, 2):  # 1..9 jumps (loaded on the key unless prepared) and n presses
            switch_to(worker, index)
            assert len(worker.cache.indices()) <= 3
            assert set(worker.cache.indices()) <= {index, (index + 1) % 6, (index - 1) % 6}
        assert ("style3", "rtstyle-infer") in loads.made  # a style not next to the current one loads on the key
    finally:
        stopped(capture, worker)
    # every stylizer made is either in the cache or closed: no session is left behind in memory
    kept = {id(worker.cache.get(i)) for i in worker.cache.indices()}
    made = [s for stylizers in loads.stylizers.values() for s in stylizers]
    assert len(made) > len(kept) and all(s.session is None for s in made if id(s) not in kept)
    worker.cache.close_all()
    assert all(s.session is None for stylizers in loads.stylizers.values() for s in stylizers)


def test_without_preparing_a_switch_loads_on_the_key_and_the_cache_is_bounded_too(tmp_path):
    styles = style_files(tmp_path, 4)
    loads = Loads()
    capture, worker = started_worker(styles, loads, prepare=False)
    try:
        assert worker.preparer is None
        switch_to(worker, 2)
        switch_to(worker, 3)
        assert loads.made[1:] == [("style2", "rtstyle-infer"), ("style3", "rtstyle-infer")]
        assert worker.cache.indices() == [2, 3]  # style 0 was closed on the way: 2 is not next to it
    finally:
        stopped(capture, worker)


def test_a_style_that_cannot_be_prepared_is_said_when_picked(tmp_path):
    styles = style_files(tmp_path, 3)
    Path(styles[1]).write_bytes(b"not a style file")
    loads = Loads()
    capture, worker = started_worker(styles, loads)
    try:
        run_until(worker, lambda: worker.cache.indices() == [0, 2] and worker.preparer.failed == {1},
                  "the good neighbour prepared, the broken one given up")
        worker.requested_index = 1
        run_until(worker, lambda: worker.failure is not None, "the failure said")
        assert worker.failure.startswith(f"cannot use {styles[1]}: ")
        assert worker.current_index == 0 and worker.requested_index == 0  # the keys go on from style 0
    finally:
        stopped(capture, worker)


def test_stopping_waits_for_a_preparation_under_way(tmp_path):
    # Exiting while onnxruntime makes a session aborts the process (a C++ exception, exit 134): a quit waits for
    # the preparation, as it waits for a load, and says so.
    styles = style_files(tmp_path, 2)
    preparing, release = threading.Event(), threading.Event()
    loads = Loads()

    def slow_second(name: str):
        if name == styles[1]:
            preparing.set()
            release.wait(30)
        return loads(name)

    from rtstyle.engine.factory import build_model_files
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.inference import InferenceWorker

    capture = LatestFrameCapture(EndlessFrames(), live=True)
    worker = InferenceWorker(capture, styles, slow_second, build_files=build_model_files)
    capture.start()
    worker.start()
    run_until(worker, preparing.is_set, "the second style being prepared")
    capture.stop()
    worker.stop(timeout=0)
    assert worker.loading == f"{styles[1]} (prepared for n/p)"  # what run_live says it quits after
    threading.Timer(0.3, release.set).start()
    worker.wait(timeout=0)
    assert not worker.preparer.alive and release.is_set()
    assert worker.cache.indices() == [0]  # prepared after the stop: not kept
    assert loads.stylizers["style1"][0].session is None


def test_styles_are_prepared_only_once_frames_of_the_current_one_flow():
    from rtstyle.realtime.prepare import Preparer, StyleCache

    made: list[str] = []
    cache = StyleCache(3)
    cache.make_current(0, lambda frame: frame)
    preparer = Preparer(cache, ["a", "b", "c"], lambda name: made.append(name) or (lambda frame: frame),
                        frames_before=3).start()
    try:
        for _ in range(2):
            preparer.frame_shown((8, 8))
        time.sleep(0.3)  # time for a wrong start to show (not a speed check: nothing may happen in it)
        assert made == [] and preparer.busy is None
        preparer.frame_shown((8, 8))
        deadline = time.monotonic() + 10
        while cache.indices() != [0, 1] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert made == ["b"]  # one style per frames_before frames: the next one, then (3 frames on) the previous
        preparer.switched([])
        for _ in range(3):
            preparer.frame_shown((8, 8))
        while cache.indices() != [0, 1, 2] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert made == ["b", "c"]
    finally:
        preparer.stop()
        preparer.join(5)


@pytest.mark.parametrize("index, count, expected", [(0, 4, [1, 3]), (3, 4, [0, 2]), (0, 2, [1]), (0, 1, [])])
def test_neighbours_are_what_n_and_p_pick(index, count, expected):
    from rtstyle.realtime.prepare import neighbours

    assert neighbours(index, count) == expected


def test_model_files_built_ahead_are_the_ones_a_load_runs(tmp_path, small_style):
    """int8 too: its calibration (seconds for a real network) happens while preparing, not when the key is pressed."""
    from rtstyle.engine import create_stylizer
    from rtstyle.engine.factory import build_model_files
    from rtstyle.paths import cache_dir

    build_model_files(str(small_style), "int8")
    built = {path: path.stat().st_mtime_ns for path in (cache_dir() / "onnx").iterdir()}
    assert any("int8" in path.name for path in built)
    stylizer = create_stylizer(str(small_style), precision="int8")
    assert stylizer.model_path in built and "int8" in stylizer.description
    assert {path: path.stat().st_mtime_ns for path in (cache_dir() / "onnx").iterdir()} == built  # nothing rebuilt


def test_the_cache_hands_back_what_it_no_longer_keeps():
    from rtstyle.realtime.prepare import StyleCache

    closed: list[str] = []
    cache = StyleCache(5, close=closed.append)
    cache.make_current(0, "zero")
    assert cache.add(1, "one") and cache.add(4, "four")
    assert not cache.add(2, "two") and closed == ["two"]  # not next to 0: closed at once, never kept
    # 1 loaded on the key while its preparation ended: the prepared one is handed back to be closed, as 4 is
    assert sorted(cache.make_current(1, "one again")) == ["four", "one"]
    assert cache.indices() == [0, 1] and cache.get(1) == "one again"


def test_nothing_is_prepared_headless_where_there_are_no_keys(tmp_path):
    from rtstyle.engine.factory import build_model_files
    from rtstyle.realtime.capture import LatestFrameCapture
    from rtstyle.realtime.webcam import LiveOptions, run_live

    styles = style_files(tmp_path, 3)
    for style in styles:  # built now: a preparation, if one started, would take a few ms within the 200 frames
        build_model_files(style)
    loads = Loads()
    outcome = run_live(LatestFrameCapture(EndlessFrames(), live=True), loads,
                       LiveOptions(styles=styles, display=False, max_frames=200), build_files=build_model_files)
    assert outcome.ended == "frames"
    assert loads.made == [("style0", "MainThread")]


def test_a_frame_being_stylized_can_be_cancelled_and_the_next_one_runs(tmp_path, small_style):
    from rtstyle.engine import create_stylizer
    from rtstyle.engine.base import RunCancelled

    stylizer = create_stylizer(str(small_style))
    frame = np.full((720, 1280, 3), 90, np.uint8)  # some ms a frame: the cancels below land inside a run
    done = threading.Event()

    def cancel_until_done() -> None:
        while not done.is_set():
            stylizer.cancel()
            time.sleep(0.0005)

    canceller = threading.Thread(target=cancel_until_done)
    canceller.start()
    try:
        with pytest.raises(RunCancelled):
            for _ in range(50):
                stylizer(frame)
    finally:
        done.set()
        canceller.join()
    assert stylizer(frame).shape == frame.shape  # a cancel applies to the frame it stopped, not to the next one


def test_a_cancel_ends_the_frames_decided_on_before_it_and_no_others(small_style):
    from rtstyle.engine import create_stylizer
    from rtstyle.engine.base import RunCancelled, cancel_stamp, decided_at

    old, new = create_stylizer(str(small_style)), create_stylizer(str(small_style))
    decided = cancel_stamp()
    old.cancel()  # after the decision, before the frame started (a key pressed in between)
    with decided_at(decided), pytest.raises(RunCancelled):
        old(FRAME)
    with decided_at(decided):
        assert new(FRAME).shape == FRAME.shape  # another stylizer's cancel is not this one's (the new style's)
        with pytest.raises(RunCancelled):  # a batch too
            old.stylize_batch(np.stack([FRAME, FRAME]))
    with decided_at(cancel_stamp()):  # decided on after the cancel: the style picked again later runs
        assert old(FRAME).shape == FRAME.shape
    old.cancel()
    assert old(FRAME).shape == FRAME.shape  # not said when it was decided on: at its start, as for a stop


def test_a_key_for_a_ready_style_cancels_the_old_style_s_frame_in_flight(tmp_path):
    loads = Loads()
    with neighbours_prepared(tmp_path, loads) as worker:
        first = worker.processor.stylize
        cancels: list[str] = []
        first.cancel = lambda: cancels.append("first")  # the real stylizer, its cancel recorded instead
        worker.request_style(0)  # the style running: nothing to cancel
        worker.request_style(2)  # not ready: the frame in flight is the last one before the load
        assert cancels == []
        worker.request_style(1)  # ready: the frame in flight is not waited for
        assert cancels == ["first"]
        switch_to(worker, 1)
        worker.processor.stylize.cancel = lambda: cancels.append("second")
        worker.lossless = True  # every frame kept (a file read headless): never cancelled
        worker.request_style(0)  # ready (the previous style)
        assert cancels == ["first"]


def test_a_key_never_cancels_the_new_style_s_first_frame(tmp_path):
    # The inference thread may take the request the moment it is made (it checks between frames) and start the new
    # style's frame while the key is still being handled: the style cancelled is the one running when the key came.
    with neighbours_prepared(tmp_path) as worker:
        cancels: list[str] = []
        worker.processor.stylize.cancel = lambda: cancels.append("old")
        worker.cache.get(1).cancel = lambda: cancels.append("new")
        look_up = worker.cache.get

        def switched_meanwhile(index: int):  # the key's look in the cache, as the inference thread switches
            worker.processor.stylize = look_up(index)
            return look_up(index)

        worker.cache.get = switched_meanwhile
        worker.request_style(1)
        worker.cache.get = look_up
        assert cancels == ["old"]


def test_cancelled_frames_are_skipped_and_the_live_loop_goes_on(tmp_path):
    styles = style_files(tmp_path, 2)
    capture, worker = started_worker(styles, Loads(), prepare=False)
    try:
        run_until(worker, lambda: worker.results.put_count > 3, "frames")
        stylizer = worker.processor.stylize
        for _ in range(200):  # some land inside runs, some between them: all harmless
            stylizer.cancel()
            time.sleep(0.001)
        count = worker.results.put_count
        run_until(worker, lambda: worker.results.put_count > count + 3, "frames after the cancels")
        assert worker.error is None
    finally:
        stopped(capture, worker)


def test_a_key_pressed_just_before_the_old_style_s_frame_starts_cancels_that_frame(tmp_path):
    # The inference thread decides on a frame's style (it looks at the key's request) and then starts the frame: a
    # key for a ready style pressed between the two was undone by the frame's start (it cleared the stop), and that
    # frame of the old style ran to its end. Held here, deterministically, between the two.
    decided, go = threading.Event(), threading.Event()
    with neighbours_prepared(tmp_path) as worker:
        try:
            switch_style = worker._switch_style

            def held_after_deciding() -> None:
                switch_style()
                if not decided.is_set():
                    decided.set()
                    go.wait()

            put = worker.results.put
            shown: list[int] = []

            def recorded(result) -> None:
                shown.append(result.style_index)
                put(result)

            worker._switch_style = held_after_deciding
            run_until(worker, decided.is_set, "the inference thread between deciding on style 0 and its frame")
            assert worker.current_index == 0
            worker.results.put = recorded
            worker.request_style(1)
            go.set()
            run_until(worker, lambda: bool(shown), "a frame after the key")
            assert shown[0] == 1  # the frame of style 0 decided on before the key never showed
        finally:
            go.set()  # never leave the inference thread held
