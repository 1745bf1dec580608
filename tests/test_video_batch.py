"""`rtstyle video` on many videos: folders, patterns, several files and styles; skipped, failed and resumed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

from helpers import assert_one_line_error, run_cli, wait_until_writing
from videoclips import BUNNY, make_clip, video_summary

REPO = BUNNY.parent.parent.parent


@pytest.fixture
def clips(tmp_path):
    """clips/a.mp4 (3 frames), clips/b.mov (2, with audio), clips/sub/c.mkv (2), and a hidden clips/.d.mp4."""
    folder = tmp_path / "clips"
    (folder / "sub").mkdir(parents=True)
    make_clip(folder / "a.mp4", frames=3)
    make_clip(folder / "b.mov", frames=2, audio=True)
    make_clip(folder / "sub" / "c.mkv", frames=2)
    make_clip(folder / ".d.mp4", frames=2)  # hidden: macOS's ._ files, a killed run's temporary file
    return folder


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_a_folder_is_converted_beside_its_videos_and_again_skipped(clips, small_style, capsys):
    result = run_cli(["video", str(clips), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    written = [clips / "a_smallstyle.mp4", clips / "b_smallstyle.mp4", clips / "sub" / "c_smallstyle.mp4"]
    assert result.out.split() == [str(p) for p in written]  # the results' paths, as for one video
    assert [video_summary(p)["frames"] for p in written] == [3, 2, 2]
    assert len(video_summary(clips / "b_smallstyle.mp4")["audio"]) == 1  # each video as one video's run
    assert "video 2 of 3: " in result.err and "wrote 3 videos" in result.err
    assert not (clips / ".d_smallstyle.mp4").exists()
    # The same command again: nothing is redone, and no result is taken for a video (no a_smallstyle_smallstyle).
    before = _files(clips)
    result = run_cli(["video", str(clips), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert "nothing to do: skipped 3 already converted (--overwrite to redo them)" in result.err
    assert _files(clips) == before
    # --overwrite redoes them (results are not inputs, even found in the folder).
    stamp = (clips / "a_smallstyle.mp4").stat().st_mtime_ns
    result = run_cli(["video", str(clips), "--style", str(small_style), "--overwrite"], capsys)
    assert result.exit_code == 0, result
    assert "wrote 3 videos" in result.err and (clips / "a_smallstyle.mp4").stat().st_mtime_ns != stamp
    assert _files(clips) == before


def test_an_output_folder_keeps_subfolders_and_is_not_searched_again(clips, small_style, capsys):
    out = clips / "stylized"  # inside the folder searched
    result = run_cli(["video", str(clips), "-o", str(out), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert _files(out) == ["a_smallstyle.mp4", "b_smallstyle.mp4", "sub/c_smallstyle.mp4"]
    result = run_cli(["video", str(clips), "-o", str(out), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert "nothing to do: skipped 3 already converted" in result.err
    assert _files(out) == ["a_smallstyle.mp4", "b_smallstyle.mp4", "sub/c_smallstyle.mp4"]


def test_several_styles_and_a_pattern_with_another_format(clips, small_style, random_style, capsys):
    out = clips.parent / "out"
    result = run_cli(["video", str(clips / "*.mp4"), str(clips / "b.mov"), "--style",
                      f"{small_style},{random_style}", "-o", str(out), "--format", "gif"], capsys)
    assert result.exit_code == 0, result
    assert _files(out) == ["a_randomstyle.gif", "a_smallstyle.gif", "b_randomstyle.gif", "b_smallstyle.gif"]
    assert video_summary(out / "a_randomstyle.gif")["frames"] == 3
    assert "video 4 of 4" in result.err
    # One video and several styles is a batch too: each result beside it.
    result = run_cli(["video", str(clips / "a.mp4"), "-s", str(small_style), "-s", str(random_style)], capsys)
    assert result.exit_code == 0, result
    assert (clips / "a_smallstyle.mp4").is_file() and (clips / "a_randomstyle.mp4").is_file()


def test_a_video_that_fails_does_not_stop_the_batch(clips, small_style, capsys):
    (clips / "broken.mp4").write_bytes(b"not a video at all" * 10)
    result = run_cli(["video", str(clips), "--style", str(small_style)], capsys)
    assert_one_line_error(result, "1 of 4 videos could not be converted", str(clips / "broken.mp4"))
    for name in ("a_smallstyle.mp4", "b_smallstyle.mp4", "sub/c_smallstyle.mp4"):  # the others are done
        assert (clips / name).is_file(), name
    assert not (clips / "broken_smallstyle.mp4").exists() and not list(clips.glob(".*part*"))
    summary = result.err[result.err.index("wrote 3 videos"):]  # the summary names it, with why
    assert "1 could not be converted" in summary
    assert f"  {clips / 'broken.mp4'}: cannot read video" in summary


def test_an_interrupted_batch_is_finished_by_the_same_command(tmp_path, small_style, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    make_clip(folder / "a.mp4", frames=3)
    shutil.copy(BUNNY, folder / "b.mp4")
    args = ["video", str(folder), "--style", str(small_style), "--scale", "0.5", "--preset", "ultrafast"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "rtstyle", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_until_writing(proc, folder, ".b_smallstyle.*part.mp4", 2000)  # the second video is being written
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.rstrip().endswith("rtstyle: interrupted"), err
    assert "the batch stopped at video 2 of 2 (1 written, 1 not done): run the same command again" in err
    assert (folder / "a_smallstyle.mp4").is_file() and not (folder / "b_smallstyle.mp4").exists()
    kept = video_summary(folder / "b_smallstyle.partial.mp4")["frames"]
    assert 0 < kept < 240
    # The part is neither an input nor left behind: the same command continues it and skips what is done.
    result = run_cli(args, capsys)
    assert result.exit_code == 0, result
    assert "resuming from b_smallstyle.partial.mp4" in result.err
    assert "skipped 1 already converted" in result.err and "interrupted part" not in result.err
    assert result.out.split() == [str(folder / "b_smallstyle.mp4")]
    assert video_summary(folder / "b_smallstyle.mp4")["frames"] == 240
    assert _files(folder) == ["a.mp4", "a_smallstyle.mp4", "b.mp4", "b_smallstyle.mp4"]


def test_inputs_are_never_replaced(tmp_path, small_style, capsys):
    # o/d1/a_smallstyle.mp4 is an input here (no o/d1/a.*), and where d1/a.mp4's result goes under -o o.
    (tmp_path / "d1").mkdir()
    (tmp_path / "o" / "d1").mkdir(parents=True)
    make_clip(tmp_path / "d1" / "a.mp4", frames=2)
    theirs = make_clip(tmp_path / "o" / "d1" / "a_smallstyle.mp4", frames=3)
    before = theirs.read_bytes()
    result = run_cli(["video", str(tmp_path / "d1" / "a.mp4"), str(theirs), "-o", str(tmp_path / "o"),
                      "--style", str(small_style), "--overwrite"], capsys)
    assert result.exit_code == 0, result
    assert theirs.read_bytes() == before
    assert "whose result is an input too (inputs are never replaced)" in result.err


def test_earlier_results_and_parts_are_left_alone(clips, small_style, capsys):
    # Results of another style (any installed or requested one) and an interrupted run's part: not inputs.
    make_clip(clips / "a_mosaic.mp4", frames=2)
    make_clip(clips / "b_smallstyle.partial.mp4", frames=1)
    result = run_cli(["video", str(clips), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert not (clips / "a_mosaic_smallstyle.mp4").exists()
    assert not list(clips.glob("*partial_*"))
    assert "left alone 1 earlier result" in result.err


def test_the_result_of_a_clip_named_without_an_extension_is_no_input_of_the_next_batch(tmp_path, small_style, capsys):
    folder = tmp_path / "camera"
    folder.mkdir()
    make_clip(folder / "MVI_0001.mp4", frames=2)
    (folder / "MVI_0001.mp4").rename(folder / "MVI_0001")  # a camera's or a download's name, no extension
    first = run_cli(["video", str(folder / "MVI_0001"), "--style", str(small_style)], capsys)
    assert first.exit_code == 0, first.err
    assert (folder / "MVI_0001_smallstyle.mp4").is_file()
    batch = run_cli(["video", str(folder), "--style", str(small_style)], capsys)
    assert batch.exit_code == 0, batch.err
    assert not (folder / "MVI_0001_smallstyle_smallstyle.mp4").exists()  # not a result of the result
    assert "left alone 1 earlier result" in batch.err


def test_a_part_no_run_continues_is_not_said_to_be_continued(clips, small_style, capsys):
    # A WebM run starts over (its part stays), and a part whose result is written is done with: "continued by
    # running the command that made it again" was said of them at every later run.
    shutil.copy(clips / "a.mp4", clips / "a_smallstyle.partial.webm")
    make_clip(clips / "b_mosaic.partial.mp4", frames=1)  # another style's run continues this one
    args = ["video", str(clips), "--style", str(small_style), "--format", "webm"]
    assert run_cli(args, capsys).exit_code == 0
    result = run_cli(args, capsys)
    assert result.exit_code == 0, result
    assert "left alone 1 interrupted part (NAME.partial.EXT: continued by running the command" in result.err
    assert "left alone 1 old part of interrupted runs (NAME.partial.EXT, not continued" in result.err


@pytest.mark.parametrize("args, fragments", [
    (["{empty}"], ("no videos found in", "looked for .3gp")),
    (["{clips}/*.avi"], ("no videos match",)),
    (["{clips}", "missing.mp4"], ("input not found: missing.mp4",)),
    (["{clips}", "-o", "{out}/one.mp4"], ("needs an output folder, not the file",)),
    (["{clips}/a.mp4", "-s", "{style},{style2}", "-o", "{out}/one.gif"], ("needs an output folder",)),
    (["{clips}/a.mp4", "-o", "{out}/one.mp4", "--format", "gif"], ("--format gif and -o", "disagree")),
    (["{clips}", "-s", "nosuchstyle"], ("unknown style",)),
    (["{clips}"], ("would both be written to", "a_smallstyle.mp4")),  # a.mp4 and a.mov: one result
])
def test_bad_batch_input_is_one_line(tmp_path, clips, small_style, random_style, capsys, args, fragments):
    (tmp_path / "empty").mkdir()
    make_clip(clips / "a.mov", frames=1)  # a.mp4 and a.mov would both give a_smallstyle.mp4
    args = [a.format(empty=tmp_path / "empty", clips=clips, out=tmp_path / "out", style=small_style,
                     style2=random_style) for a in args]
    result = run_cli(["video", *args, "--style", str(small_style)] if "-s" not in args else ["video", *args], capsys)
    assert_one_line_error(result, *fragments)
    assert len(result.err.strip().splitlines()) == 1, result.err  # before any model loads
    assert _files(clips) == [".d.mp4", "a.mov", "a.mp4", "b.mov", "sub/c.mkv"]
    assert not (tmp_path / "out").exists()


def test_one_video_takes_format_for_its_default_name(tmp_path, small_style, capsys):
    src = make_clip(tmp_path / "a.mov", frames=2)
    result = run_cli(["video", str(src), "--style", str(small_style), "--format", "gif"], capsys)
    assert result.exit_code == 0, result
    assert result.out.strip() == str(tmp_path / "a_smallstyle.gif")  # one video: converted as before, as a GIF
    assert video_summary(tmp_path / "a_smallstyle.gif")["frames"] == 2


def test_a_full_disk_stops_the_batch(clips, small_style, capsys, monkeypatch):
    # Every video after it would fail as well, each after its work: the batch stops at the first.
    import errno

    from rtstyle.io.video_writer import VideoWriter

    def disk_full(self, image, pts=None):  # what PyAV raises when the muxer's write fails
        raise OSError(errno.ENOSPC, "No space left on device", str(self.path))

    monkeypatch.setattr(VideoWriter, "write", disk_full)
    result = run_cli(["video", str(clips), "--style", str(small_style)], capsys)
    assert_one_line_error(result, f"cannot write {clips / 'a_smallstyle.mp4'}: No space left on device",
                          "stopped at video 1 of 3 (0 written)", "run the same command again")
    assert "video 2 of 3" not in result.err
    assert _files(clips) == [".d.mp4", "a.mp4", "b.mov", "sub/c.mkv"]


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_while_a_video_is_finished_stops_the_batch_after_it(clips, small_style, capsys, monkeypatch, sig, code):
    # A GIF's palette pass takes seconds: a Ctrl-C (or kill) there finishes that GIF, and must then stop the batch,
    # not be forgotten while the batch converts every other video and exits 0.
    from rtstyle.realtime import convert

    finish = convert._finish

    def stopped_while_finishing(writer, target, bar_shown):
        if target.name.startswith("a_"):
            os.kill(os.getpid(), sig)
        finish(writer, target, bar_shown)

    monkeypatch.setattr(convert, "_finish", stopped_while_finishing)
    result = run_cli(["video", str(clips), "--style", str(small_style), "--format", "gif"], capsys)
    assert result.exit_code == code, result
    assert "a_smallstyle.gif is being finished" in result.err
    assert "the batch stopped at video 1 of 3 (1 written, 2 not done)" in result.err
    assert "video 2 of 3" not in result.err
    assert _files(clips) == [".d.mp4", "a.mp4", "a_smallstyle.gif", "b.mov", "sub/c.mkv"]


def test_the_format_choices_are_the_formats_written():
    # --format's choices are listed without loading PyAV (rtstyle.io.quality); they must name what is written.
    from rtstyle.io.formats import FORMATS
    from rtstyle.io.quality import RESULT_FORMATS

    assert RESULT_FORMATS == tuple(suffix[1:] for fmt in FORMATS for suffix in fmt.suffixes)


def test_one_video_is_named_after_the_style_as_a_batch_names_it(tmp_path, capsys):
    # `--style Mosaic_Fast` named the result clip_Mosaic_Fast.mp4, which a batch (clip_mosaic-fast.mp4) did again.
    make_clip(tmp_path / "clip.mp4", frames=2)
    result = run_cli(["video", str(tmp_path / "clip.mp4"), "--style", "Mosaic_Fast"], capsys)
    assert result.exit_code == 0, result
    assert result.out.split() == [str(tmp_path / "clip_mosaic-fast.mp4")]
    again = run_cli(["video", str(tmp_path / "clip.mp4"), "-s", "mosaic-fast,candy-fast"], capsys)
    assert again.exit_code == 0, again
    assert again.out.split() == [str(tmp_path / "clip_candy-fast.mp4")]  # clip_mosaic-fast.mp4 was done already
