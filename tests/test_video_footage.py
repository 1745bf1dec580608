"""`rtstyle video` on footage straight from cameras: PCM audio (camera .MOV, AVCHD .m2ts) and interlaced 1080i
video (camcorders' .mts, broadcast .ts), generated, encoded and decoded for real."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from helpers import run_cli
from videoclips import (
    audio_packets, click_time, combing, make_camera_clip, make_clip, make_interlaced_clip, video_summary,
)


def tracks(path: Path) -> list[tuple[str, str | None, bool]]:
    """(codec, language, default) of each audio track."""
    with av.open(str(path)) as container:
        return [(s.codec_context.name, s.metadata.get("language"), bool(s.disposition & av.stream.Disposition.default))
                for s in container.streams.audio]


def bar_edge(image: np.ndarray) -> int:
    """The left edge of field_frame's bar (in pixels): it moves 6 pixels a field."""
    return int(np.argmax(image[..., 0].mean(axis=0) > 130))


@pytest.mark.parametrize("codec, suffix", [("pcm_s16le", ".mp4"), ("pcm_s24le", ".mp4"), ("pcm_s16le", ".m4v")])
def test_camera_pcm_becomes_aac_in_mp4_in_sync_with_its_language(tmp_path, small_style, capsys, codec, suffix):
    src = make_camera_clip(tmp_path / "CLIP0001.MOV", (codec,))
    out = tmp_path / f"out{suffix}"
    result = run_cli(["video", str(src), "-o", str(out), "-s", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert f"the {codec} audio is re-encoded as AAC at 96 kb/s a channel (common {suffix} players cannot play it; " \
           ".mov or .mkv keep it as it is)" in result.err
    assert "1 audio stream re-encoded as AAC" in result.err
    assert tracks(out) == [("aac", "fra", True)]
    # AAC's encoder delay (1024 samples of priming) is taken off by the MP4 edit list: the click is where it was.
    assert click_time(out) == pytest.approx(0.25, abs=0.001)
    with av.open(str(out)) as container:
        assert sum(frame.samples for frame in container.decode(audio=0)) / 48000 == pytest.approx(0.5, abs=0.025)


@pytest.mark.parametrize("suffix", [".mov", ".mkv"])
def test_camera_pcm_is_copied_where_players_play_it(tmp_path, small_style, capsys, suffix):
    src = make_camera_clip(tmp_path / "CLIP0001.MOV", ("pcm_s24le",))
    out = tmp_path / f"out{suffix}"
    result = run_cli(["video", str(src), "-o", str(out), "-s", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert "re-encoded" not in result.err and "1 audio stream copied" in result.err
    assert [payload for _, payload in audio_packets(out)] == [payload for _, payload in audio_packets(src)]
    assert tracks(out)[0][:2] == ("pcm_s24le", "fra")


def test_only_the_tracks_players_would_not_play_are_re_encoded(tmp_path, small_style, capsys):
    src = make_camera_clip(tmp_path / "two.mov", ("aac", "pcm_s16le"))
    out = tmp_path / "out.mp4"
    result = run_cli(["video", str(src), "-o", str(out), "-s", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert "the pcm_s16le audio is re-encoded as AAC" in result.err
    assert "2 audio streams (1 re-encoded as AAC, the rest copied)" in result.err
    assert tracks(out) == [("aac", "fra", True), ("aac", "eng", False)]
    assert audio_packets(out) == audio_packets(src)  # the AAC track, packet for packet
    assert click_time(out, 1) == pytest.approx(0.25, abs=0.001)


def test_re_encoded_audio_stays_in_sync_from_a_later_start(tmp_path, small_style, capsys):
    src = make_camera_clip(tmp_path / "CLIP0001.MOV")
    out = tmp_path / "out.mp4"
    result = run_cli(["video", str(src), "-o", str(out), "-s", str(small_style), "--start", "0.1"], capsys)
    assert result.exit_code == 0 and "re-encoded as AAC" in result.err, result
    assert video_summary(out)["times"][0] == 0.0  # the frame at 0.125 s comes first
    assert click_time(out) == pytest.approx(0.25 - 0.125, abs=0.001)


def test_the_aac_bit_rate_follows_quality(tmp_path, small_style, capsys):
    src = make_camera_clip(tmp_path / "noise.mov", noise=True, frames=24)
    sizes = {}
    for quality in ("low", "best"):
        out = tmp_path / f"{quality}.mp4"
        result = run_cli(["video", str(src), "-o", str(out), "-s", str(small_style), "--quality", quality], capsys)
        assert result.exit_code == 0, result
        sizes[quality] = sum(len(payload) for _, payload in audio_packets(out))
    assert sizes["best"] > 1.8 * sizes["low"]  # 128 and 48 kb/s a channel


@pytest.mark.parametrize("suffix, codec, label", [(".mkv", "flac", "FLAC"), (".mp4", "aac", "AAC")])
def test_avchd_blu_ray_pcm_that_no_other_container_holds_is_encoded(tmp_path, small_style, capsys, suffix, codec,
                                                                    label):
    src = make_camera_clip(tmp_path / "00001.m2ts", ("pcm_bluray",), fmt="mpegts")
    out = tmp_path / f"out{suffix}"
    result = run_cli(["video", str(src), "-o", str(out), "-s", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert f"the pcm_bluray audio is re-encoded as {label}" in result.err
    assert f"(a {suffix} file cannot hold it)" in result.err
    assert tracks(out)[0][:2] == (codec, "fra")
    assert click_time(out) == pytest.approx(0.25, abs=0.001)


@pytest.mark.parametrize("top_first", [True, False])
@pytest.mark.parametrize("suffix", [".ts", ".mkv"])
def test_interlaced_video_is_deinterlaced_before_the_network(tmp_path, top_first, suffix):
    from rtstyle.realtime.convert import ConvertOptions, convert_video

    src = make_interlaced_clip(tmp_path / f"in{suffix}", top_first=top_first)
    with av.open(str(src)) as container:
        assert min(combing(frame.to_ndarray(format="bgr24")) for frame in container.decode(video=0)) > 4
    seen: list[np.ndarray] = []

    def network(image: np.ndarray) -> np.ndarray:
        seen.append(image)
        return image

    lines: list[str] = []
    out = tmp_path / "out.mp4"
    convert_video(ConvertOptions(src, out), network, log=lines.append, progress=False)
    assert lines == [f"{src} is interlaced (96i): each frame is deinterlaced (bwdif) before stylizing, at the same 25 "
                     "frames a second"]
    assert len(seen) == 10 and max(combing(image) for image in seen) < 2.5
    assert [bar_edge(image) for image in seen] == [12 * i for i in range(10)]  # each frame's first field's moment
    got, want = video_summary(out), video_summary(src)
    assert got["frames"] == 10 and got["rate"] == 25
    assert got["times"] == pytest.approx([t - want["times"][0] for t in want["times"]], abs=1e-6)  # one for one


def test_interlaced_range_keeps_its_frames_to_the_last(tmp_path):
    from rtstyle.io.video_probe import open_input
    from rtstyle.io.video_reader import iter_media

    src = make_interlaced_clip(tmp_path / "in.ts", frames=12)
    with open_input(src) as container:
        times = [item.pts / 90000 for item in iter_media(container, start=0.12, duration=0.2)]
    with open_input(src) as container:
        whole = [item for item in iter_media(container)]
    assert times == pytest.approx([0.0, 0.04, 0.08, 0.12, 0.16])
    assert len(whole) == 12 and max(combing(item.image) for item in whole) < 2.5


def test_progressive_video_is_not_touched(tmp_path):
    from rtstyle.io.frames import frame_to_bgr
    from rtstyle.io.video_probe import open_input, probe_video
    from rtstyle.io.video_reader import iter_media

    src = make_clip(tmp_path / "in.mp4", frames=6)
    assert not probe_video(src).interlaced
    with open_input(src) as container:
        mine = [item.image for item in iter_media(container)]
    with av.open(str(src)) as container:
        theirs = [frame_to_bgr(frame) for frame in container.decode(video=0)]  # decoded as it is, no filter
    assert len(mine) == 6 and all(np.array_equal(a, b) for a, b in zip(mine, theirs))


def test_training_and_evaluation_read_interlaced_clips_deinterlaced(tmp_path):
    from rtstyle.metrics.clips import iter_clip
    from rtstyle.train.data import read_video_frames

    src = make_interlaced_clip(tmp_path / "in.mts")
    frames, first = read_video_frames(src, 96, 10)
    assert len(frames) == 10 and max(combing(image) for image in (*frames, first)) < 2.5
    evaluated = list(iter_clip(src))
    assert len(evaluated) == 10 and max(combing(image) for image in evaluated) < 2.5
