"""`rtstyle video` on footage straight from cameras: PCM audio (camera .MOV, AVCHD .m2ts), generated, encoded and
decoded for real."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from helpers import run_cli
from videoclips import audio_packets, click_time, make_camera_clip, video_summary


def tracks(path: Path) -> list[tuple[str, str | None, bool]]:
    """(codec, language, default) of each audio track."""
    with av.open(str(path)) as container:
        return [(s.codec_context.name, s.metadata.get("language"), bool(s.disposition & av.stream.Disposition.default))
                for s in container.streams.audio]


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
