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
    assert sorted(p.name for p in out.iterdir() if p.name != ".rtstyle-owned") == [
        "astronaut_smallstyle.jpg", "bunny_smallstyle.mp4", "contact_sheet.jpg"]
    clip = video_summary(out / "bunny_smallstyle.mp4")
    assert clip["frames"] == 12 and clip["size"] == (96, 54) and clip["audio"]
    sheet = cv2.imread(str(out / "contact_sheet.jpg"))
    assert sheet is not None and sheet.shape[1] > sheet.shape[0]  # two columns: original | style
    assert "video fps" in result.out and "contact sheet" in result.out


def test_demo_without_styles_is_one_line(tmp_path, capsys, no_builtin_styles):
    assert_one_line_error(run_cli(["demo", "-o", str(tmp_path / "d")], capsys), "no built-in styles")
    assert_one_line_error(run_cli(["demo", "--styles", "nosuchstyle", "-o", str(tmp_path / "d")], capsys),
                          "unknown style")


def test_demo_replaces_only_what_an_earlier_demo_wrote(tmp_path, small_style, capsys):
    import shutil

    out = tmp_path / "demo"
    other = tmp_path / "other.safetensors"
    shutil.copy(small_style, other)
    args = ["demo", "--seconds", "0.5", "--max-size", "64"]
    assert run_cli([*args, "-o", str(out), "--styles", f"{small_style},{other}"], capsys).exit_code == 0
    (out / "notes.txt").write_text("mine")
    # Again with one style: its own files are replaced, the other style's stale results go, the user's file stays.
    assert run_cli([*args, "-o", str(out), "--styles", str(small_style)], capsys).exit_code == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "astronaut_smallstyle.jpg", "bunny_smallstyle.mp4", "contact_sheet.jpg", "notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"
    # A folder of the user's: a file the demo would write is refused before any work, and nothing changes.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "contact_sheet.jpg").write_text("my own sheet")
    assert_one_line_error(run_cli([*args, "-o", str(mine), "--styles", str(small_style)], capsys),
                          "contact_sheet.jpg", "not on the list of files an earlier rtstyle demo wrote")
    assert sorted(p.name for p in mine.iterdir()) == ["contact_sheet.jpg"]
    assert (mine / "contact_sheet.jpg").read_text() == "my own sheet"


def test_a_folder_where_the_demo_writes_a_file_is_refused_before_any_work(tmp_path, small_style, capsys):
    out = tmp_path / "demo"
    args = ["demo", "-o", str(out), "--styles", str(small_style), "--seconds", "0.5", "--max-size", "64"]
    assert run_cli(args, capsys).exit_code == 0
    (out / "contact_sheet.jpg").unlink()
    (out / "contact_sheet.jpg").mkdir()  # on the demo's own list, but now the user's folder
    (out / "contact_sheet.jpg" / "mine.txt").write_text("mine")
    before = (out / "bunny_smallstyle.mp4").stat().st_mtime_ns
    assert_one_line_error(run_cli(args, capsys), "contact_sheet.jpg is a folder")
    assert (out / "bunny_smallstyle.mp4").stat().st_mtime_ns == before  # refused before the clip was redone
    assert (out / "contact_sheet.jpg" / "mine.txt").read_text() == "mine"
