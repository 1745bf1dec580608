"""Finished outputs go into place without replacing what another run wrote meanwhile."""

from __future__ import annotations

import os

import pytest

from helpers import run_cli
from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import atomic_write_bytes, move_into_place
from videoclips import make_clip, video_summary


def test_a_file_that_appeared_meanwhile_is_kept_and_the_result_goes_beside_it(tmp_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"another run's result")
    tmp = tmp_path / ".out.part.mp4"
    tmp.write_bytes(b"this run's")
    assert move_into_place(tmp, target, overwrite=False) == tmp_path / "out-2.mp4"
    assert target.read_bytes() == b"another run's result" and (tmp_path / "out-2.mp4").read_bytes() == b"this run's"
    assert not tmp.exists()
    tmp.write_bytes(b"asked to replace")
    assert move_into_place(tmp, target, overwrite=True) == target and target.read_bytes() == b"asked to replace"


def test_without_hard_links_it_checks_then_renames(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise PermissionError("no hard links here")  # FAT, some network shares

    monkeypatch.setattr(os, "link", no_links)
    (tmp_path / "x.mp4").write_bytes(b"theirs")
    (tmp_path / "t").write_bytes(b"ours")
    assert move_into_place(tmp_path / "t", tmp_path / "x.mp4", overwrite=False) == tmp_path / "x-2.mp4"
    assert (tmp_path / "x.mp4").read_bytes() == b"theirs"


def test_a_small_write_refuses_instead(tmp_path):
    target = tmp_path / "x_candy.jpg"
    target.write_bytes(b"theirs")
    with pytest.raises(RtstyleError, match="appeared while this ran"):
        atomic_write_bytes(target, b"ours", overwrite=False)
    assert target.read_bytes() == b"theirs" and sorted(p.name for p in tmp_path.iterdir()) == ["x_candy.jpg"]


def test_a_second_conversion_to_the_same_output_keeps_the_first(tmp_path, small_style, capsys, monkeypatch):
    # Two runs of one command: the first finishes while the second works; the second used to replace it.
    from rtstyle.io import video_writer

    src = make_clip(tmp_path / "in.mp4", frames=6)
    out = tmp_path / "out.mp4"
    real_close = video_writer.VideoWriter.close

    def first_run_finishes_meanwhile(self):
        real_close(self)
        if self.shown_as == out and not out.exists():
            out.write_bytes(b"the first run's video")

    monkeypatch.setattr(video_writer.VideoWriter, "close", first_run_finishes_meanwhile)
    result = run_cli(["video", str(src), "-o", str(out), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert out.read_bytes() == b"the first run's video"
    assert f"this result is kept as {tmp_path / 'out-2.mp4'}" in result.err
    assert video_summary(tmp_path / "out-2.mp4")["frames"] == 6


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc (unwritable even for root)")
def test_an_unwritable_output_is_one_line_naming_it_before_any_work(tmp_path, small_style, photo, capsys):
    import cv2

    from helpers import assert_one_line_error

    cv2.imwrite(str(tmp_path / "p.png"), photo[:16, :16])
    clip = make_clip(tmp_path / "in.mp4", frames=2)
    for command in (["image", str(tmp_path / "p.png"), "-o", "/proc/x.png"],
                    ["video", str(clip), "-o", "/proc/x.mp4"],
                    ["webcam", "--source", str(clip), "--no-display", "--record", "/proc/x.mp4"],
                    ["export", str(small_style), "-o", "/proc/x.onnx"]):
        style = [] if command[0] == "export" else ["--style", str(small_style)]
        result = run_cli([*command, *style], capsys)
        assert_one_line_error(result, "cannot write", "/proc/x.")
        assert ".part" not in result.err and "style smallstyle on" not in result.err  # before the model loaded
