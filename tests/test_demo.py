"""`rtstyle demo`: offline, no camera; writes a clip and a photo per style plus a contact sheet."""

from __future__ import annotations

import cv2

from helpers import assert_one_line_error, run_cli
from videoclips import video_summary


def test_demo_writes_videos_photos_and_contact_sheet(tmp_path, small_style, capsys):
    out = tmp_path / "demo"
    result = run_cli(["demo", "--styles", str(small_style), "-o", str(out), "--seconds", "0.5",
                      "--max-size", "96"], capsys)
    assert result.exit_code == 0, result
    assert sorted(p.name for p in out.iterdir()) == ["astronaut_smallstyle.jpg", "bunny_smallstyle.mp4",
                                                     "contact_sheet.jpg"]
    clip = video_summary(out / "bunny_smallstyle.mp4")
    assert clip["frames"] == 12 and clip["size"] == (96, 54) and clip["audio"]
    sheet = cv2.imread(str(out / "contact_sheet.jpg"))
    assert sheet is not None and sheet.shape[1] > sheet.shape[0]  # two columns: original | style
    assert "video fps" in result.out and "contact sheet" in result.out


def test_demo_without_styles_is_one_line(tmp_path, capsys, no_builtin_styles):
    assert_one_line_error(run_cli(["demo", "-o", str(tmp_path / "d")], capsys), "no built-in styles")
    assert_one_line_error(run_cli(["demo", "--styles", "nosuchstyle", "-o", str(tmp_path / "d")], capsys),
                          "unknown style")
