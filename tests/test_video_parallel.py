"""Frame-parallel conversion on the CPU (rtstyle.realtime.parallel): several frames stylized at once, each on its
own thread, with the same output, in the same order, in bounded memory; and not where it would be wrong."""

from __future__ import annotations

import _thread
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from rtstyle.cli.video_cmd import parallel_by_default
from rtstyle.engine import create_stylizer
from rtstyle.engine.memory import HEADROOM, MemoryGuard
from rtstyle.interrupts import stop_on_signals
from rtstyle.realtime import convert as convert_module
from rtstyle.realtime import estimate, parallel
from rtstyle.realtime.convert import ConvertOptions, convert_video
from rtstyle.realtime.estimate import Alternative, RunEstimate
from rtstyle.realtime.pipeline import Pipeline
from videoclips import make_clip, video_summary


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def test_workers_run_at_the_same_time_and_the_items_come_out_in_order():
    together = threading.Barrier(3, timeout=20)  # three workers each hold an item at once, or this breaks
    threads = set()

    def transform(x: int) -> int:
        threads.add(threading.current_thread().name)
        if x < 3:
            together.wait()
        if x % 4 == 0:  # some finish out of order
            threading.Event().wait(0.01)
        return 2 * x

    out: list[int] = []
    Pipeline(iter(range(40)), transform, queue_size=2, workers=3).run(out.append)
    assert out == [2 * i for i in range(40)]
    assert len(threads) == 3


def test_a_worker_racing_ahead_of_a_slow_one_is_held_in_bounded_memory():
    produced: list[int] = []
    slow_started = threading.Event()
    release = threading.Event()

    def source():
        for i in range(200):
            produced.append(i)
            yield i

    def transform(x: int) -> int:
        if x == 0:  # the first frame takes long (a timing, a large frame): the other worker goes on meanwhile
            slow_started.set()
            release.wait(20)
        return x

    def watch() -> None:
        slow_started.wait(20)
        for _ in range(100):  # time for the fast worker to run ahead as far as it can
            if len(produced) > 50:
                break
            threading.Event().wait(0.01)
        release.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    out: list[int] = []
    seen: list[int] = []
    Pipeline(source(), transform, queue_size=2, workers=2).run(lambda x: (out.append(x), seen.append(len(produced))))
    watcher.join()
    assert out == list(range(200))
    assert seen[0] <= 2 + 2 + 2  # slots in order (queue + workers), and one in the producer's hand


def test_an_error_in_one_worker_reaches_the_caller_and_stops_all_of_them():
    def boom(x: int) -> int:
        if x == 7:
            raise ValueError("bad frame 7")
        return x

    out: list[int] = []
    with pytest.raises(ValueError, match="bad frame 7"):
        Pipeline(iter(range(1000)), boom, workers=2).run(out.append)
    assert out == list(range(len(out))) and len(out) <= 7  # in order, and none after the failed one
    assert not [t for t in threading.enumerate() if t.name.startswith("rtstyle-")]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the KeyboardInterrupt dropped
@pytest.mark.parametrize("workers", [1, 2])
def test_a_ctrl_c_whose_keyboard_interrupt_a_finaliser_dropped_still_stops_the_run(workers):
    # Ctrl-C is handled wherever the main thread is; where that is a finaliser (an object's __del__, a generator or
    # file closed by the garbage collector) or C code that clears errors, Python drops the KeyboardInterrupt and the
    # run went on to its end. Here a finaliser runs on the main thread at item 10.
    class PressedWhileFreed:
        def __del__(self) -> None:
            _thread.interrupt_main()  # handled here, inside __del__, where the KeyboardInterrupt goes nowhere

    out: list[int] = []

    def consume(x: int) -> None:
        out.append(x)
        if x == 10:
            PressedWhileFreed()  # made and freed at once, on the main thread

    with stop_on_signals(), pytest.raises(KeyboardInterrupt):
        Pipeline(iter(range(200)), lambda x: x, queue_size=2, workers=workers).run(consume)
    assert out == list(range(11))  # stopped before the next item
    assert not [t for t in threading.enumerate() if t.name.startswith("rtstyle-")]


def test_a_ctrl_c_while_the_threads_start_stops_those_already_started(monkeypatch):
    # Thread.start waits for the thread to run: a Ctrl-C there left the decoding thread going, reading a file that
    # the conversion then closed (a segfault).
    start = threading.Thread.start

    def start_then_ctrl_c(self: threading.Thread) -> None:
        start(self)
        if self.name == "rtstyle-decode":
            raise KeyboardInterrupt

    monkeypatch.setattr(threading.Thread, "start", start_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        Pipeline(iter(range(10**6)), lambda x: x, queue_size=2, workers=2).run(lambda x: None)
    assert not [t for t in threading.enumerate() if t.name.startswith("rtstyle-")]


def test_a_real_network_gives_the_same_video_two_frames_at_a_time(tmp_path, small_style):
    src = make_clip(tmp_path / "in.mp4", width=96, height=64, frames=16, audio=True)
    stylizer = create_stylizer(str(small_style), backend="onnx", device="cpu", cpu_threads=1)
    default = create_stylizer(str(small_style), backend="onnx", device="cpu")  # today's: every core on one frame
    outputs = {}
    for name, model, workers in [("one", default, 1), ("two", stylizer, 2), ("three", stylizer, 3)]:
        out = tmp_path / f"{name}.mp4"
        # Lossless: x264's own choices at a CRF vary from run to run (frame threads), a few frames by 20 levels.
        result = convert_video(ConvertOptions(src, out, crf=0, workers=workers), model, progress=False)
        assert result.frames == 16 and result.audio_streams == 1
        outputs[name] = decoded(out)
    for name in ("two", "three"):
        assert len(outputs[name]) == 16
        assert all(np.array_equal(a, b) for a, b in zip(outputs["one"], outputs[name])), name


def test_ctrl_c_keeps_the_frames_in_order_up_to_the_stop(tmp_path, sigint_ignored):
    src = make_clip(tmp_path / "in.mp4", width=64, height=48, frames=40)
    out = tmp_path / "out.mp4"
    lines: list[str] = []

    calls = []
    lock = threading.Lock()

    def network(frame: np.ndarray) -> np.ndarray:
        with lock:
            calls.append(1)
            call = len(calls)
            if call == 20:
                _thread.interrupt_main()  # as Ctrl-C does: on the main thread, while the workers go on
        if call % 2:  # every other frame is slow: later frames finish first
            threading.Event().wait(0.02)
        if call > 20:  # the rest is slower: the run cannot end before the main thread takes the stop (busy CI)
            threading.Event().wait(0.1)
        return np.ascontiguousarray(255 - frame)

    # As the CLI runs it, with SIGINT armed: pytest started in the background (`pytest &` in a script, as here) has
    # it ignored, and there the simulated Ctrl-C did nothing and the conversion went on to its end.
    with stop_on_signals(), pytest.raises(KeyboardInterrupt):
        convert_video(ConvertOptions(src, out, workers=2), network, log=lines.append, progress=False)
    partial = tmp_path / "out.partial.mp4"
    assert not out.exists() and "interrupted: kept the first" in lines[-1]
    kept, source = decoded(partial), decoded(src)
    assert 0 < len(kept) < 40
    for frame, original in zip(kept, source):  # each in its place: the inverse of its own source frame
        assert np.abs(frame.astype(int) - (255 - original.astype(int))).mean() < 4


def test_the_estimate_counts_frames_finished_two_at_a_time():
    # Two workers each take 4 s a frame: frames finish in pairs, 2 s a frame; the choice takes 1 s on one thread.
    lines: list[str] = []
    now = [0.0]
    clock = lambda: now[0]  # noqa: E731
    ends = iter([4.0, 4.0, 8.0, 8.0, 12.0, 12.0])
    starts = iter([0.0, 0.0, 4.0, 4.0, 8.0, 8.0])

    def process(frame: np.ndarray) -> np.ndarray:
        now[0] = next(ends)
        return frame

    def work(seconds: float):
        def run(frame: np.ndarray) -> np.ndarray:
            now[0] += seconds
            return frame
        return run

    run = RunEstimate(process, 1000, lines.append, clock=clock, workers=2, again=lambda: work(4.0),
                      alternatives=lambda: [Alternative("--style x-fast", lambda: work(1.0))])
    frame = np.zeros((8, 8, 3), np.uint8)
    for _ in range(5):
        now[0] = next(starts)
        run(frame)
    assert len(lines) == 1
    assert "more frames at 2.0 s each" in lines[0]  # not 0 s (a pair's two ends) nor 4 s (one worker's pace)
    assert "--style x-fast about 8 min" in lines[0]  # 0.5 s a frame for 1000 frames, two at a time


def test_frames_in_flight_must_fit_in_memory_or_the_video_goes_one_frame_at_a_time(small_style):
    stylizer = create_stylizer(str(small_style), backend="onnx", device="cpu", cpu_threads=1)
    guard = stylizer.memory_guard
    assert guard is not None
    one = guard.need(360, 640, stylizer.border_margin)
    stylizer.memory_guard = MemoryGuard(guard.spec, available=int(1.5 * one / HEADROOM))
    assert parallel.frames_at_once(stylizer, 2, 360, 640) == 1
    stylizer.memory_guard = MemoryGuard(guard.spec, available=int(2.5 * one / HEADROOM))
    assert parallel.frames_at_once(stylizer, 2, 360, 640) == 2
    assert stylizer.memory_guard.tile_for(640, 360, stylizer.border_margin) is None  # a portrait frame too
    # More cores than frames that fit: as many frames as fit and divide the cores (2 threads each), every core busy.
    assert parallel.frames_at_once(stylizer, 4, 360, 640) == 2
    assert parallel.frames_at_once(stylizer, 3, 360, 640) == 1


def test_the_video_command_goes_one_frame_at_a_time_on_every_core_when_memory_is_tight(
        tmp_path, small_style, capsys, conversions, monkeypatch):
    from rtstyle.engine import memory
    from rtstyle.engine.tiling import BORDER_MARGIN
    from rtstyle.models.registry import create_spec

    one = MemoryGuard(create_spec("johnson", width=8, blocks=1)).need(64, 96, BORDER_MARGIN)
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: int(1.5 * one / HEADROOM))
    made: list[int | None] = []
    real = create_stylizer

    def counted(*args, **kwargs):
        made.append(kwargs.get("cpu_threads"))
        return real(*args, **kwargs)

    import rtstyle.engine
    monkeypatch.setattr(rtstyle.engine, "create_stylizer", counted)
    src = make_clip(tmp_path / "in.mp4", width=96, height=64, frames=4)
    result = run_cli(["video", str(src), "-o", str(tmp_path / "a.mp4"), "--style", str(small_style),
                      "--parallel-frames"], capsys)
    assert result.exit_code == 0, result
    assert "frames at once" not in result.err and conversions[-1].workers == 1
    assert "2 frames of 96x64 do not fit in memory at once: one at a time" in result.err
    assert made == [1, None]  # loaded again with onnxruntime's own threads
    assert video_summary(tmp_path / "a.mp4")["frames"] == 4


def test_never_with_the_stabilizer_a_gpu_or_torch():
    assert parallel.planned_workers("auto", None, on_gpu=False, cores=2) == 2
    assert parallel.planned_workers("onnx", 0.5, on_gpu=False, cores=2) == 1  # each frame needs the one before
    assert parallel.planned_workers("auto", None, on_gpu=True, cores=2) == 1
    assert parallel.planned_workers("torch", None, on_gpu=False, cores=2) == 1
    assert parallel.planned_workers("auto", None, on_gpu=False, cores=1) == 1


@pytest.fixture
def conversions(monkeypatch):
    """The options `rtstyle video` converts with, as it passes them on."""
    seen: list[ConvertOptions] = []
    real = convert_module.convert_video

    def spy(options: ConvertOptions, *args, **kwargs):
        seen.append(options)
        return real(options, *args, **kwargs)

    monkeypatch.setattr(convert_module, "convert_video", spy)
    monkeypatch.setattr(parallel, "cpu_cores", lambda: 2)
    return seen


def test_the_video_command_stylizes_a_frame_per_core_for_fast_networks(tmp_path, small_style, capsys, conversions,
                                                                       monkeypatch):
    monkeypatch.setattr(estimate, "LONG_RUN_SECONDS", 0.0)  # every run is long: the estimate is said
    src = make_clip(tmp_path / "in.mp4", frames=8)
    result = run_cli(["video", str(src), "-o", str(tmp_path / "a.mp4"), "--style", str(small_style),
                      "--parallel-frames"], capsys)
    assert result.exit_code == 0, result
    assert "onnxruntime CPUExecutionProvider fp32, 2 frames at once" in result.err
    assert conversions[-1].workers == 2 and video_summary(tmp_path / "a.mp4")["frames"] == 8
    assert "to go (3 more frames at" in result.err  # after 5 frames: 3 paces over 2 frames each
    # By default too: the test style is as cheap as the NAME-fast networks, where it wins clearly.
    result = run_cli(["video", str(src), "-o", str(tmp_path / "b.mp4"), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert "2 frames at once" in result.err and conversions[-1].workers == 2
    result = run_cli(["video", str(src), "-o", str(tmp_path / "c.mp4"), "--style", str(small_style),
                      "--one-frame-at-a-time"], capsys)
    assert result.exit_code == 0, result
    assert "frames at once" not in result.err and conversions[-1].workers == 1


def test_frames_in_parallel_by_default_only_for_fast_networks_on_the_cpu_without_the_stabilizer():
    assert parallel_by_default("mosaic-fast", None, "auto", "cpu")
    assert not parallel_by_default("mosaic", None, "auto", "cpu")  # a full network gains a few %, not clearly
    assert not parallel_by_default("mosaic-fast", 0.5, "auto", "cpu")  # each stabilized frame needs the last
    assert not parallel_by_default("mosaic-fast", None, "torch", "cpu")


def test_parallel_frames_with_stabilize_is_refused_in_one_line(tmp_path, small_style, capsys, conversions):
    src = make_clip(tmp_path / "in.mp4", frames=2)
    result = run_cli(["video", str(src), "-o", str(tmp_path / "b.mp4"), "--style", str(small_style),
                      "--stabilize", "--parallel-frames"], capsys)
    assert_one_line_error(result, "--parallel-frames", "--stabilize")
    assert not conversions and not (tmp_path / "b.mp4").exists()


def test_ctrl_c_on_a_parallel_run_keeps_a_playable_part(tmp_path, small_style):
    import os
    import signal
    import subprocess
    import sys
    import time

    from videoclips import BUNNY

    repo = BUNNY.parent.parent.parent
    out = tmp_path / "out.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "rtstyle", "video", str(BUNNY), "-o", str(out), "--style",
                             str(small_style), "--scale", "0.5", "--preset", "ultrafast", "--parallel-frames"],
                            cwd=repo, env=dict(os.environ, PYTHONPATH=str(repo)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until frames are being written, then Ctrl-C
        temps = list(tmp_path.glob(".out.*part.mp4"))
        if temps and temps[0].stat().st_size > 2000:
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("conversion did not start writing in time")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and not out.exists()
    if parallel.cpu_cores() >= 2:
        assert "2 frames at once" in err
    got = video_summary(tmp_path / "out.partial.mp4")  # finalised: decodes from start to end
    assert 0 < got["frames"] < 240 and got["size"] == (320, 180)
    assert got["times"] == pytest.approx([i / 24 for i in range(got["frames"])], abs=1e-3)  # none missing
