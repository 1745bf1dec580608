"""Building blocks of video conversion: the threaded pipeline, the per-frame path, sizes and times."""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from rtstyle.io.video import VideoInfo, even_size, pad_to_even
from rtstyle.realtime.convert import frame_size, partial_path_for
from rtstyle.realtime.pipeline import Pipeline
from rtstyle.realtime.processing import FrameProcessor
from rtstyle.realtime.timeparse import parse_time


def test_pipeline_keeps_order_and_overlaps_stages():
    def slow_source():
        for i in range(8):
            time.sleep(0.02)
            yield i

    def slow_double(x):
        time.sleep(0.02)
        return 2 * x

    out = []
    start = time.perf_counter()
    Pipeline(slow_source(), slow_double, queue_size=2).run(lambda x: (time.sleep(0.02), out.append(x)))
    elapsed = time.perf_counter() - start
    assert out == [2 * i for i in range(8)]
    assert elapsed < 0.4  # 3 stages x 8 items x 20 ms = 0.48 s if they did not overlap


def test_pipeline_queues_are_bounded():
    produced = []

    def source():
        for i in range(100):
            produced.append(i)
            yield i

    seen = []

    def consume(x):
        seen.append((x, len(produced)))
        time.sleep(0.005)

    Pipeline(source(), lambda x: x, queue_size=2).run(consume)
    assert max(p - x for x, p in seen) <= 2 + 2 + 3  # two queues, plus one item in each stage


def test_pipeline_worker_errors_reach_the_caller_and_stop_everything():
    def boom(x):
        if x == 3:
            raise ValueError("bad frame 3")
        return x

    with pytest.raises(ValueError, match="bad frame 3"):
        Pipeline(iter(range(1000)), boom).run(lambda x: None)
    assert not [t for t in threading.enumerate() if t.name.startswith("rtstyle-")]


def test_frame_processor_scales_and_applies_the_post_filter():
    calls = []

    def stylize(frame):
        calls.append(frame.shape)
        return 255 - frame

    def post_filter(content, stylized):
        calls.append(("post", content.shape, stylized.shape))
        return np.zeros_like(stylized)

    frame = np.full((100, 200, 3), 10, np.uint8)
    out = FrameProcessor(stylize, inference_scale=0.5, post_filter=post_filter)(frame)
    assert calls == [(50, 100, 3), ("post", (50, 100, 3), (50, 100, 3))]
    assert out.shape == frame.shape and not out.any()
    assert np.array_equal(FrameProcessor(stylize)(frame), 255 - frame)


def _info(w, h):
    return VideoInfo(Path("x.mp4"), w, h, Fraction(24), Fraction(1, 12288), 240, 10.0, 0, "h264", ())


def test_frame_sizes():
    assert frame_size(_info(640, 360), None, None) is None
    assert frame_size(_info(640, 360), 0.5, None) == (320, 180)
    assert frame_size(_info(640, 360), None, 160) == (160, 90)
    assert frame_size(_info(1920, 1080), None, 4000) is None  # never upscales for --max-size
    assert frame_size(_info(641, 361), 0.5, None) == (320, 180)  # scaled sizes are made even
    assert even_size(97, 65) == (98, 66)
    padded = pad_to_even(np.arange(97 * 65 * 3, dtype=np.uint8).reshape(65, 97, 3))
    assert padded.shape == (66, 98, 3)
    assert np.array_equal(padded[-1, :97], padded[-2, :97]) and np.array_equal(padded[:65, -1], padded[:65, -2])


def test_partial_name_and_times():
    assert partial_path_for(Path("/v/out.mp4")) == Path("/v/out.partial.mp4")
    assert parse_time("12.5") == 12.5 and parse_time("1:30") == 90 and parse_time("1:00:01.5") == 3601.5
    assert parse_time("90s") == 90 and parse_time("2m") == parse_time("2 min") == 120 and parse_time("1.5h") == 5400
    for bad in ("", "abc", "1::2", "-3", "1:2:3:4", "5 parsecs", "2hm", "-2m", "-0:05", "0:-5", "+1:00"):
        with pytest.raises(ValueError):
            parse_time(bad)


def test_video_and_webcam_commands_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, rtstyle.cli.video_cmd, rtstyle.cli.webcam_cmd, rtstyle.realtime.webcam, "
            "rtstyle.realtime.convert; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == "False", out.stderr
