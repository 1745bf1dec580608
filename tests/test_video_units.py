"""Building blocks of video conversion: the threaded pipeline, the per-frame path, sizes and times."""

from __future__ import annotations

import math
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from rtstyle.io.frames import frame_to_bgr
from rtstyle.io.video_probe import VideoInfo, open_input
from rtstyle.io.video_reader import AudioPacket, DecodedFrame, iter_media
from rtstyle.io.video_writer import even_size, pad_to_even
from rtstyle.realtime.convert import ConvertOptions, convert_video, frame_size, partial_path_for
from rtstyle.realtime.pipeline import Pipeline
from rtstyle.realtime.processing import FrameProcessor
from rtstyle.realtime.timeparse import parse_time
from videoclips import make_clip


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


def _ts_clip(path: Path, gop: int | None) -> Path:
    """2 s of MPEG-TS whose clock starts at 10 s, as broadcast and camera files do (none start at 0)."""
    return make_clip(path, frames=48, pts=[round((10 + i / 24) * 90000) for i in range(48)],
                     time_base=Fraction(1, 90000), gop=gop, audio=True)


def _decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame_to_bgr(frame) for frame in container.decode(video=0)]


def _audio(path: Path) -> list[tuple[float, float, bytes]]:
    """(start, end, payload) in seconds of every audio packet."""
    with av.open(str(path)) as container:
        return [(float(p.pts * p.time_base), float((p.pts + p.duration) * p.time_base), bytes(p))
                for p in container.demux(audio=0) if p.size]


# MPEG-TS seeks land on the keyframe after the time asked for: gop 12 lands mid-clip, a single keyframe (None)
# lands nowhere. Either way every frame from the start on must come out, and the audio with it.
@pytest.mark.parametrize("gop, start", [(12, 0.5), (12, 1.2), (None, 0.2), (None, 1.5)])
def test_start_counts_from_the_first_frame_and_loses_none(tmp_path, gop, start):
    src = _ts_clip(tmp_path / "in.ts", gop)
    with open_input(src) as container:
        items = list(iter_media(container, start=start, duration=0.5))
    frames = [item for item in items if isinstance(item, DecodedFrame)]
    first = math.ceil(start * 24 - 1e-9)
    want = _decoded(src)[first:first + 12]
    assert len(frames) == len(want) == 12
    assert all(np.array_equal(got.image, image) for got, image in zip(frames, want))
    assert [f.pts for f in frames] == [round(i / 24 * 90000) for i in range(12)]  # from 0, in the input's clock
    # The audio packets that sound in the kept half second, shifted by the same origin as the video.
    origin, end = 10 + first / 24, 10 + start + 0.5
    kept = [(s - origin, payload) for s, e, payload in _audio(src) if e > origin + 1e-6 and s < end - 1e-6]
    copied = [(float(i.packet.pts * i.packet.time_base), bytes(i.packet)) for i in items
              if isinstance(i, AudioPacket)]
    assert [p for _, p in copied] == [p for _, p in kept]
    assert [t for t, _ in copied] == pytest.approx([t for t, _ in kept], abs=1e-4)
    assert copied[0][0] <= 0 < copied[1][0]


def test_duration_counts_from_the_first_frame(tmp_path):
    src = _ts_clip(tmp_path / "in.ts", 12)
    with open_input(src) as container:
        frames = [i for i in iter_media(container, duration=1.0) if isinstance(i, DecodedFrame)]
    assert len(frames) == 24
    # Without --start the input's timestamps are kept, less the 10 s that every stream starts after (the output
    # showed nothing for 10 s); the audio's priming starts a little before the video, and stays before it.
    assert 0 < frames[0].pts < 0.1 * 90000 and frames[1].pts - frames[0].pts == 90000 // 24


def _colors(path: Path) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The stream's (primaries, trc, matrix, range) tags and its first frame as BGR, read as the tags say."""
    with av.open(str(path)) as container:
        context = container.streams.video[0].codec_context
        tags = (context.color_primaries, context.color_trc, context.colorspace, context.color_range)
        return tags, next(container.decode(video=0)).to_ndarray(format="bgr24").astype(int)


@pytest.mark.parametrize("tags", [(1, 1, 1, 1), (1, 1, 1, 2), (6, 6, 6, 1), (2, 2, 2, 0)],
                         ids=["bt709-tv", "bt709-pc", "smpte170m-tv", "untagged"])
def test_colour_tags_are_kept_and_colours_do_not_shift(tmp_path, tags):
    src = make_clip(tmp_path / "in.mp4", width=128, height=64, frames=2, color=tags)
    out = tmp_path / "out.mp4"
    convert_video(ConvertOptions(src, out, crf=0, preset="ultrafast"), lambda image: image)
    (tags_in, before), (tags_out, after) = _colors(src), _colors(out)
    assert tags_in == tags_out == tags
    # The BGR frames the model saw come back: YUV -> BGR and BGR -> YUV used the same matrix and range (a
    # BT.601 matrix on BT.709 pixels moves saturated colours by 10-30 levels).
    assert np.abs(after - before).mean() < 2.5


FLAT_COLOURS = [(128, 128, 128), (90, 140, 200), (200, 150, 60), (30, 30, 30), (235, 235, 235)]  # BGR


@pytest.mark.parametrize("tags", [(1, 1, 1, 1), (1, 1, 1, 2), (2, 2, 2, 0)], ids=["bt709-tv", "bt709-pc", "untagged"])
def test_flat_colours_are_written_as_the_matrix_says(tmp_path, tags):
    # swscale's default BGR -> yuv420p truncates: a flat grey 128 came back (123, 126, 124) and every frame was 1-2
    # levels darker. Each patch's Y, Cb, Cr against the matrix's formula (BT.601 when untagged).
    from rtstyle.io.video_probe import ColorTags
    from rtstyle.io.video_writer import VideoWriter

    image = np.concatenate([np.full((32, 32, 3), colour, np.uint8) for colour in FLAT_COLOURS], axis=1)
    out = tmp_path / "flat.mp4"
    writer = VideoWriter(out, width=image.shape[1], height=32, rate=Fraction(24), crf=0, preset="ultrafast",
                         color=ColorTags(*tags))
    writer.write(image)
    writer.close()
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0))
        planes = [np.frombuffer(frame.planes[i], np.uint8).reshape(frame.planes[i].height, -1) for i in range(3)]
    kr, kb = (0.2126, 0.0722) if tags[2] == 1 else (0.299, 0.114)
    full = tags[3] == 2
    for k, (b, g, r) in enumerate(FLAT_COLOURS):
        luma = kr * r + (1 - kr - kb) * g + kb * b
        cb, cr = (b - luma) / (2 * (1 - kb)), (r - luma) / (2 * (1 - kr))
        expected = (luma, 128 + cb, 128 + cr) if full else (16 + luma * 219 / 255, 128 + cb * 224 / 255,
                                                            128 + cr * 224 / 255)
        x = 32 * k + 16
        got = (planes[0][16, x], planes[1][8, x // 2], planes[2][8, x // 2])
        # within 0.9 of a level: swscale's own coefficients leave up to 0.7; truncation was a whole level or more
        assert np.abs(np.array(got, float) - expected).max() < 0.9, (k, got, expected)


def test_a_stop_between_encoding_and_muxing_loses_no_frame(tmp_path):
    # Ctrl-C landed between the encoder giving a frame's packet and the muxer taking it: the packet was lost, and
    # the kept part skipped a frame (13 before its end, x264's delay); resuming then matched only up to that gap.
    import os
    import signal

    from rtstyle.interrupts import stop_on_signals
    from rtstyle.io.video_writer import VideoWriter

    out = tmp_path / "part.mp4"
    writer = VideoWriter(out, width=64, height=48, rate=Fraction(24))
    real = writer.container
    calls = [0]

    class StoppedWhileMuxing:  # the real container; Ctrl-C arrives as the 6th packet is about to go in
        def mux(self, packet: av.Packet) -> None:
            calls[0] += 1
            if calls[0] == 6:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.1)  # delivered here, before the packet is muxed
            real.mux(packet)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    writer.container = StoppedWhileMuxing()  # type: ignore[assignment]
    image = np.zeros((48, 64, 3), np.uint8)
    with stop_on_signals(), pytest.raises(KeyboardInterrupt):
        for i in range(100):
            image[:] = i * 2
            writer.write(image, i)
    writer.container = real
    writer.close()
    with av.open(str(out)) as container:
        times = [frame.pts for frame in container.decode(video=0)]
    assert len(times) == writer.frames_written
    assert times == list(range(0, times[-1] + 1, times[1] - times[0]))  # no frame missing
