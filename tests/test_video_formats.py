"""`rtstyle video -o clip.gif / clip.webm / clip.webp`: decoded for real, with their timing, size, palette and audio."""

from __future__ import annotations

import os
import signal
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from videoclips import BUNNY, make_clip, video_summary, write_frames
DATA = Path(__file__).resolve().parent / "data"


def gif_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def gif_duration(path: Path) -> float:
    with av.open(str(path)) as container:
        assert container.duration is not None
        return container.duration / av.time_base


def test_gif_keeps_frames_timing_and_size_and_leaves_the_audio_out(tmp_path, small_style, capsys):
    src = make_clip(tmp_path / "in.mp4", frames=12, rate=24, audio=True)
    out = tmp_path / "out.gif"
    result = run_cli(["video", str(src), "-o", str(out), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert result.out.strip() == str(out)
    assert [line for line in result.err.splitlines() if "sound" in line] == \
        [f"GIF has no sound: the audio of {src} is left out"]
    got = video_summary(out)
    assert got["frames"] == 12 and got["size"] == (96, 64) and got["audio"] == []
    assert got["times"] == pytest.approx([i / 24 for i in range(12)], abs=0.006)  # 1/100 s delays, rounded
    assert gif_duration(out) == pytest.approx(0.5, abs=0.011)
    assert not list(tmp_path.glob(".*part*"))  # the GIF's temporary file and its spooled frames are gone


@pytest.mark.parametrize("rate, frames, kept, step", [(30, 12, 6, 2), (50, 10, 5, 2), (60, 12, 4, 3), (25, 5, 5, 1)])
def test_gif_frame_rate_is_capped_at_25_fps_keeping_the_duration(tmp_path, small_style, capsys, rate, frames, kept,
                                                                  step):
    src = make_clip(tmp_path / "in.mp4", frames=frames, rate=rate)
    out = tmp_path / "out.gif"
    result = run_cli(["video", str(src), "-o", str(out), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    got = video_summary(out)
    assert got["frames"] == kept
    assert got["times"] == pytest.approx([i * step / rate for i in range(kept)], abs=0.006)
    assert gif_duration(out) == pytest.approx(frames / rate, abs=0.011)
    assert (f"every {step}" in result.err) == (step > 1), result.err


def test_frame_rate_cap_keeps_variable_frame_rate_timing():
    # A phone clip that dropped frames (1/30 s ticks): a frame is kept when at least 1/25 s has passed since the last.
    from rtstyle.io.video_reader import AudioPacket, DecodedFrame
    from rtstyle.realtime.convert import capped_rate

    image = np.zeros((2, 2, 3), np.uint8)
    sound = AudioPacket(packet=None, stream_index=0)  # type: ignore[arg-type]
    items = [DecodedFrame(image, pts, index) for index, pts in enumerate([0, 1, 2, 5, 6, 10, 11, 12, 20, 21])]
    kept = list(capped_rate(iter([items[0], sound, *items[1:]]), Fraction(1, 30), 25.0))
    assert kept[1] is sound  # audio is never dropped
    assert [item.pts for item in kept if isinstance(item, DecodedFrame)] == [0, 2, 5, 10, 12, 20]
    assert list(capped_rate(iter(items), Fraction(1, 30), None)) == items


def panning_clip(path: Path, frames: int = 6) -> list[np.ndarray]:
    """A photo panned a few pixels a frame, stored losslessly (FFV1): the frames as they go into the GIF."""
    import cv2

    photo = cv2.imread(str(DATA / "chelsea.png"), cv2.IMREAD_COLOR)
    images = [np.ascontiguousarray(cv2.resize(photo[:, 4 * i:4 * i + 400], (160, 120), interpolation=cv2.INTER_AREA))
              for i in range(frames)]
    write_frames(path, images)
    return images


def test_gif_palette_is_made_for_the_frames(tmp_path):
    # FFmpeg's default for BGR frames, a fixed 3-3-2 colour cube with error diffusion, is off by about 17 levels a
    # channel on a photo; a palette made from the frames is within a few.
    from rtstyle.realtime.convert import ConvertOptions, convert_video

    src = tmp_path / "in.mkv"
    originals = [image.astype(int) for image in panning_clip(src)]
    out = tmp_path / "out.gif"
    convert_video(ConvertOptions(src, out), lambda image: image, progress=False)
    frames = [frame.astype(int) for frame in gif_frames(out)]
    assert len(frames) == len(originals)
    colours = {tuple(c) for frame in frames for c in frame.reshape(-1, 3)}
    assert 128 < len(colours) <= 256  # one palette, and most of it used
    error = np.mean([np.abs(a - b).mean() for a, b in zip(frames, originals, strict=True)])
    fixed_cube = np.mean([np.abs(av.VideoFrame.from_ndarray(a.astype(np.uint8), format="bgr24")
                                 .reformat(format="bgr8").to_ndarray(format="bgr24").astype(int) - a).mean()
                          for a in originals])
    assert error < 6 < fixed_cube, (error, fixed_cube)


def test_gif_of_a_large_video_is_scaled_down_unless_asked_otherwise(tmp_path, small_style, capsys):
    src = make_clip(tmp_path / "in.mp4", width=640, height=360, frames=2)
    for name, extra, size in (("default.gif", [], (480, 270)), ("small.gif", ["--max-size", "200"], (200, 112)),
                              ("full.gif", ["--scale", "1"], (640, 360))):
        result = run_cli(["video", str(src), "-o", str(tmp_path / name), "--style", str(small_style), *extra], capsys)
        assert result.exit_code == 0, result
        assert video_summary(tmp_path / name)["size"] == size
        assert ("scaled down to 480x270" in result.err) == (not extra), result.err


def test_gif_of_a_rotated_phone_video_is_upright(tmp_path, small_style, capsys):
    # GIF has no rotation tag: a portrait video stored sideways must be written as it is shown.
    src = make_clip(tmp_path / "rot.mp4", width=64, height=48, frames=3, rotation=90)
    out = tmp_path / "rot.gif"
    assert run_cli(["video", str(src), "-o", str(out), "--style", str(small_style)], capsys).exit_code == 0
    assert video_summary(out)["size"] == (48, 64)


def test_gif_odd_size_is_kept_exactly(tmp_path, small_style, capsys):
    src = make_clip(tmp_path / "odd.mp4", width=97, height=65, frames=3)
    result = run_cli(["video", str(src), "-o", str(tmp_path / "odd.gif"), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert "padded" not in result.err
    assert video_summary(tmp_path / "odd.gif")["size"] == (97, 65)


def test_a_full_disk_while_spooling_gif_frames_names_the_requested_output(tmp_path, small_style, capsys, monkeypatch):
    import errno

    from rtstyle.io import animated

    class FullDisk:
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            pass

    real_open = open
    monkeypatch.setattr(animated, "open", lambda path, mode="r": FullDisk() if "w" in mode else real_open(path, mode),
                        raising=False)
    src = make_clip(tmp_path / "in.mp4", frames=3)
    out = tmp_path / "full.gif"
    result = run_cli(["video", str(src), "-o", str(out), "--style", str(small_style)], capsys)
    assert_one_line_error(result, f"cannot write {out}: No space left on device")
    assert not out.exists() and not list(tmp_path.glob(".*part*"))


def test_webm_is_vp9_with_the_audio_as_opus(tmp_path, small_style, capsys):
    src = make_clip(tmp_path / "in.mp4", frames=24, rate=24, audio=True)
    out = tmp_path / "out.webm"
    result = run_cli(["video", str(src), "-o", str(out), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert "re-encoded as Opus" in result.err
    got = video_summary(out)
    assert got["frames"] == 24 and got["size"] == (96, 64)
    assert got["times"] == pytest.approx([i / 24 for i in range(24)], abs=0.002)
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "vp9"
        (audio,) = container.streams.audio
        assert audio.codec_context.name == "opus" and audio.rate == 48000 and audio.channels == 2
        sound = sum(frame.samples for frame in container.decode(audio=0)) / 48000
    assert sound == pytest.approx(1.0, abs=0.05)  # as long as the input's tone, from the same start
    assert not list(tmp_path.glob(".*part*"))


def test_webm_input_audio_that_webm_holds_is_copied_not_re_encoded(tmp_path, small_style, capsys):
    from videoclips import audio_packets

    first = tmp_path / "first.webm"
    src = make_clip(tmp_path / "in.mp4", frames=12, audio=True)
    assert run_cli(["video", str(src), "-o", str(first), "--style", str(small_style)], capsys).exit_code == 0
    again = tmp_path / "again.webm"
    result = run_cli(["video", str(first), "-o", str(again), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert "re-encoded" not in result.err and "1 audio stream copied" in result.err
    assert audio_packets(again) == audio_packets(first)


def test_webm_without_audio_and_with_no_audio(tmp_path, small_style, capsys):
    src = make_clip(tmp_path / "in.mp4", frames=4, audio=True)
    silent = make_clip(tmp_path / "silent.mp4", frames=4)
    for source, extra in ((src, ["--no-audio"]), (silent, [])):
        out = tmp_path / f"{source.stem}.webm"
        result = run_cli(["video", str(source), "-o", str(out), "--style", str(small_style), *extra], capsys)
        assert result.exit_code == 0, result
        assert "Opus" not in result.err
        got = video_summary(out)
        assert got["frames"] == 4 and got["audio"] == []


def test_webm_quality_levels_are_vp9_constant_quality(tmp_path, small_style, capsys):
    src = make_clip(tmp_path / "in.mp4", width=160, height=96, frames=6)
    sizes = {}
    for quality in ("low", "best"):
        out = tmp_path / f"{quality}.webm"
        assert run_cli(["video", str(src), "-o", str(out), "--style", str(small_style), "--quality", quality],
                       capsys).exit_code == 0
        sizes[quality] = out.stat().st_size
    assert sizes["best"] > 2 * sizes["low"], sizes


def test_webp_is_animated_looping_and_upright(tmp_path, small_style, capsys):
    image = pytest.importorskip("PIL.Image")  # FFmpeg cannot decode animated WebP; Pillow can
    src = make_clip(tmp_path / "rot.mp4", width=64, height=48, frames=5, rate=25, rotation=90, audio=True)
    out = tmp_path / "out.webp"
    result = run_cli(["video", str(src), "-o", str(out), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert "WebP has no sound" in result.err
    with image.open(out) as picture:
        assert picture.n_frames == 5 and picture.size == (48, 64)
        assert picture.info["loop"] == 0  # forever, like a GIF (FFmpeg's default plays once)
        durations = []
        for index in range(picture.n_frames):
            picture.seek(index)
            picture.load()
            durations.append(picture.info["duration"])
    assert sum(durations) == pytest.approx(200, abs=2)  # ms: 5 frames at 25 fps


def test_best_webp_is_lossless_with_its_odd_size(tmp_path):
    # --quality best is 'lossless': it was lossless only after the frames went through yuv420p (chroma at half
    # size, odd sizes padded), a mean error of several levels on colourful detail.
    image = pytest.importorskip("PIL.Image")
    from rtstyle.realtime.convert import ConvertOptions, convert_video

    with av.open(str(make_clip(tmp_path / "in.mp4", width=96, height=64, frames=3))) as source:
        pictures = [frame.to_ndarray(format="bgr24")[:63, :95] for frame in source.decode(video=0)]
    for picture in pictures:
        picture[::2, ::2] += np.array([0, 90, 180], np.uint8)  # colourful detail (wrapping around)
    odd = write_frames(tmp_path / "odd.mkv", pictures)  # 95x63, lossless, full chroma
    out = tmp_path / "out.webp"
    convert_video(ConvertOptions(odd, out, quality="best"), lambda frame: frame)
    with av.open(str(odd)) as container:
        expected = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    with image.open(out) as picture:
        assert picture.n_frames == 3 and picture.size == (95, 63)
        for index in range(3):
            picture.seek(index)
            got = np.asarray(picture.convert("RGB"))[..., ::-1]
            assert np.array_equal(got, expected[index])


@pytest.mark.parametrize("name, args, fragments", [
    ("o.xyz", [], ("o.xyz", ".mp4, .m4v, .mkv or .mov (H.264), .webm (VP9 with Opus audio), .gif or .webp")),
    ("o.mp4", ["--crf", "60"], ("--crf 60", "0-51")),
    ("o.gif", ["--crf", "20"], ("--crf", "--quality")),
])
def test_bad_format_choices_are_one_line_before_the_model_loads(tmp_path, small_style, capsys, name, args, fragments):
    src = make_clip(tmp_path / "in.mp4", frames=2)
    result = run_cli(["video", str(src), "-o", str(tmp_path / name), "--style", str(small_style), *args], capsys)
    assert_one_line_error(result, *fragments)
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert not (tmp_path / name).exists() and not list(tmp_path.glob(".*part*"))


STOP_AT = 8  # Ctrl-C lands while the network works on this frame (0-based) of 48


@pytest.mark.parametrize("suffix", [".gif", ".webm"])
def test_ctrl_c_keeps_a_playable_part_and_nothing_under_the_name(tmp_path, small_style, capsys, monkeypatch, suffix):
    # The user's Ctrl-C, a real SIGINT, comes at a set frame (not at a moment guessed from a growing file: a WebM
    # writes nothing until its first 5 s cluster, and a short GIF run could finish first). The frames before it are
    # with the writer: a GIF's spooled, a WebM's still in the encoder and the muxer's open cluster.
    from rtstyle.realtime.processing import FrameProcessor

    src = make_clip(tmp_path / "in.mp4", frames=48, width=160, height=96)
    out = tmp_path / f"out{suffix}"
    pressed, set_handler, before = threading.Event(), signal.signal, signal.getsignal(signal.SIGINT)

    def noting_ctrl_c(sig: int, handler: Any) -> Any:  # whichever handler rtstyle arms notes that it ran
        if sig == signal.SIGINT and callable(handler):
            armed = handler

            def handler(signum: int, frame: Any) -> Any:
                pressed.set()
                return armed(signum, frame)
        return set_handler(sig, handler)

    monkeypatch.setattr(signal, "signal", noting_ctrl_c)
    stylize, calls = FrameProcessor.__call__, [0]

    def stylize_with_ctrl_c(self: FrameProcessor, image: np.ndarray, look: object = None) -> np.ndarray:
        if calls[0] == STOP_AT:
            os.kill(os.getpid(), signal.SIGINT)
            assert pressed.wait(30)  # the run cannot finish before Ctrl-C lands
        calls[0] += 1
        return stylize(self, image, look)  # type: ignore[arg-type]

    monkeypatch.setattr(FrameProcessor, "__call__", stylize_with_ctrl_c)
    try:
        result = run_cli(["video", str(src), "-o", str(out), "--style", str(small_style)], capsys)
    finally:
        set_handler(signal.SIGINT, before)  # pytest's own, as it was (not wrapped)
    assert pressed.is_set()
    assert result.exit_code == 130, result
    assert "Traceback" not in result.err
    assert result.err.rstrip().endswith("rtstyle: interrupted"), result.err
    assert not out.exists()
    assert not list(tmp_path.glob(".*part*"))  # temporary file and spooled frames removed
    partial = tmp_path / f"out.partial{suffix}"
    assert f"out.partial{suffix}" in result.err
    got = video_summary(partial)  # finalised: decodes from start to end
    assert 0 < got["frames"] <= STOP_AT and got["size"] == (160, 96)
    assert got["times"] == pytest.approx([i / 24 for i in range(got["frames"])], abs=0.006)
    if suffix == ".gif":
        assert gif_duration(partial) == pytest.approx(got["frames"] / 24, abs=0.02)
        # Said before the palette pass, which takes seconds a hundred frames: not a silent wait after Ctrl-C.
        first, kept = result.err.index("made into a GIF first"), result.err.index("interrupted: kept")
        assert first < kept, result.err


def test_ctrl_c_during_a_gifs_palette_pass_is_answered_and_the_gif_finished(tmp_path, small_style, capsys):
    """The palette pass maps every spooled frame again (seconds a hundred frames): a Ctrl-C there cannot stop it
    without losing the frames, so the GIF is finished, and a line says why, instead of the Ctrl-C doing nothing."""
    out = tmp_path / "out.gif"
    sent = threading.Event()

    def interrupt_in_the_palette_pass() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not sent.is_set():
            # The GIF itself is written only in the palette pass; before it only the frames are spooled.
            if any(path.stat().st_size > 0 for path in tmp_path.glob(".out.*.part.gif")):
                os.kill(os.getpid(), signal.SIGINT)
                sent.set()
            time.sleep(0.001)

    watcher = threading.Thread(target=interrupt_in_the_palette_pass, daemon=True)
    watcher.start()
    result = run_cli(["video", str(BUNNY), "-o", str(out), "--style", str(small_style), "--scale", "0.5",
                      "--duration", "4"], capsys)
    sent.set()
    watcher.join()
    assert result.exit_code == 0, result
    assert result.err.count("is being finished") == 1, result.err
    assert "Traceback" not in result.err
    assert video_summary(out)["frames"] == 96
    assert not list(tmp_path.glob(".*part*"))
