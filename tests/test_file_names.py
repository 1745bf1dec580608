"""File names users really have: FFmpeg's protocols and patterns, names near the length limit, links as outputs."""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np
import pytest

from helpers import run_cli
from rtstyle.realtime.convert import ConvertOptions, convert_video
from videoclips import make_clip, video_summary

RECORD = {"style": "test", "style_file": "0123", "strength": 1.0, "keep_colors": False, "stabilize": None,
          "precision": "fp32"}


@pytest.mark.parametrize("name", ["a:b.mp4", "http:clip.mp4", "pipe:0.mp4", "file:x.mp4", "concat:x.mp4"])
def test_a_video_named_like_a_url_is_read_as_the_file_it_is(tmp_path, small_style, capsys, monkeypatch, name):
    """FFmpeg took `a:b.mp4` in the current folder for a protocol (refused), `http:` went to the network, `pipe:0`
    read stdin, and `file:x.mp4` converted another video, x.mp4."""
    monkeypatch.chdir(tmp_path)
    make_clip(tmp_path / name, width=64, height=48, frames=3)
    make_clip(tmp_path / "x.mp4", width=32, height=32, frames=3)
    result = run_cli(["video", name, "-o", "out.mp4", "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert video_summary(tmp_path / "out.mp4")["size"] == (64, 48)


def test_a_webcam_source_named_like_a_url_is_the_file(tmp_path, small_style, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_clip(tmp_path / "cam:1.mp4", width=64, height=48, frames=3)
    result = run_cli(["webcam", "--source", "cam:1.mp4", "--no-display", "--frames", "2", "--style",
                      str(small_style), "--record", "rec:1.mp4"], capsys)
    assert result.exit_code == 0, result
    assert video_summary(tmp_path / "rec:1.mp4")["size"] == (64, 48)


def test_an_animated_webp_named_with_a_frame_pattern_is_one_file(tmp_path, small_style, capsys):
    """`%d` in the name made FFmpeg pick its image-sequence muxer: an empty output, the frames under other names."""
    src = make_clip(tmp_path / "in.mp4", width=64, height=48, frames=4)
    out = tmp_path / "clip%03d.webp"
    result = run_cli(["video", str(src), "-o", str(out), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    with av.open(str(out), format="webp") as container:  # (named, the pattern would pick the sequence reader)
        assert len(list(container.demux(video=0))) > 1  # (FFmpeg cannot decode animated WebP)
    assert out.stat().st_size > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip%03d.webp", "in.mp4", "smallstyle.safetensors"]


class StopOnce:
    """A network that raises Ctrl-C at its 13th frame the first time (`convert_video` keeps a part), then runs on."""

    def __init__(self) -> None:
        self.calls, self.resumed = 0, False

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        if self.calls == 12 and not self.resumed:
            raise KeyboardInterrupt
        self.calls += 1
        return np.ascontiguousarray(255 - frame)

    def stop(self, src: Path, target: Path, log: list[str]) -> None:
        with pytest.raises(KeyboardInterrupt):
            convert_video(ConvertOptions(src, target, record=RECORD), self, log=log.append, progress=False)

    def resume(self, src: Path, target: Path, log: list[str]) -> None:
        self.calls, self.resumed = 0, True
        convert_video(ConvertOptions(src, target, record=RECORD), self, log=log.append, progress=False)


def test_an_interrupted_run_of_an_output_named_like_a_url_is_continued(tmp_path, monkeypatch):
    """Its part, `take:2.partial.mp4` in the current folder, was refused by FFmpeg as a protocol when resuming."""
    monkeypatch.chdir(tmp_path)
    src = make_clip(tmp_path / "in.mp4", frames=24, gop=6)
    network, log = StopOnce(), []
    network.stop(src, Path("take:2.mp4"), log)
    kept = video_summary(tmp_path / "take:2.partial.mp4")["frames"]
    assert kept > 0
    network.resume(src, Path("take:2.mp4"), log)
    assert any(f"resuming from take:2.partial.mp4: its {kept} stylized frames are kept" in line for line in log)
    assert network.calls == 24 - kept and video_summary(tmp_path / "take:2.mp4")["frames"] == 24


def long_name(suffix: str, size: int = 255) -> str:
    """A name of `size` bytes, as long as file systems take, with letters of two bytes (UTF-8) in it."""
    name = "é" * ((size - len(suffix)) // 2)
    return name + "x" * (size - len(suffix) - 2 * len(name)) + suffix


@pytest.mark.parametrize("command, suffix", [("image", ".jpg"), ("video", ".mp4"), ("video", ".gif")])
def test_an_output_name_as_long_as_the_file_system_takes_is_written(tmp_path, small_style, photo, capsys, command,
                                                                      suffix):
    """The hidden temporary file's name (`.NAME.XXXXXXXX.part.EXT`) was longer than 255 bytes: 'File name too
    long' for any output name over 236 bytes, and `rtstyle video` refused one over 246 looking for its part."""
    import cv2

    src = tmp_path / "in.png"
    cv2.imwrite(str(src), photo[:48, :64])
    if command == "video":
        src = make_clip(tmp_path / "in.mp4", width=64, height=48, frames=3)
    out = tmp_path / long_name(suffix)
    result = run_cli([command, str(src), "-o", str(out), "--style", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert out.is_file() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_interrupted_run_of_a_long_name_keeps_its_part_and_continues_it(tmp_path):
    from rtstyle.realtime.resume import record_path

    src = make_clip(tmp_path / "in.mp4", frames=24, gop=6)
    target = tmp_path / long_name(".mp4", 250)
    network, log = StopOnce(), []
    network.stop(src, target, log)
    parts = list(tmp_path.glob("*.partial.mp4"))
    assert len(parts) == 1 and record_path(parts[0]).is_file()
    assert parts[0].name.startswith("é" * 90) and len(record_path(parts[0]).name.encode()) <= 255
    kept = video_summary(parts[0])["frames"]
    network.resume(src, target, log)
    assert any(f"its {kept} stylized frames are kept" in line for line in log)
    assert video_summary(target)["frames"] == 24 and not parts[0].exists()


def test_a_long_names_hard_stopped_temporary_file_is_removed_by_the_next_run(tmp_path):
    from rtstyle.io import temp_locks
    from rtstyle.io.atomic import temp_path_beside
    from rtstyle.io.leftovers import clear_leftovers

    target = tmp_path / long_name(".gif")
    other = tmp_path / (target.stem[:-1] + "y.gif")  # alike in its first 250 bytes: not the same output
    for path in (target, other):
        for suffix in (None, ".gif.frames"):
            tmp = temp_path_beside(path, suffix)
            tmp.write_bytes(b"x" * 10)
            temp_locks.release(tmp)  # as a killed run lets go of it
    said: list[str] = []
    assert clear_leftovers([target], said.append) == 20
    assert len(list(tmp_path.iterdir())) == 2 and len(said) == 1


def test_an_output_that_is_a_link_to_nothing_is_refused_before_any_work(tmp_path, small_style, photo, capsys):
    """It was not seen as there: the photo was stylized, then refused as 'appeared while this ran'."""
    import cv2

    from helpers import assert_one_line_error

    src = tmp_path / "in.png"
    cv2.imwrite(str(src), photo[:48, :64])
    out = tmp_path / "out.png"
    out.symlink_to("gone.png")
    result = run_cli(["image", str(src), "-o", str(out), "--style", str(small_style)], capsys)
    assert_one_line_error(result, "a link to gone.png, which does not exist", "--overwrite")
    assert len(result.err.splitlines()) == 1  # refused before the network was loaded ("style ... on ...")
    assert out.is_symlink()


def test_an_output_link_is_replaced_only_with_overwrite_and_never_its_file(tmp_path, small_style, photo, capsys):
    import cv2

    src = tmp_path / "in.png"
    cv2.imwrite(str(src), photo[:48, :64])
    kept = tmp_path / "kept.png"
    kept.write_bytes(b"the user's")
    out = tmp_path / "out.png"
    out.symlink_to(kept.name)
    assert run_cli(["image", str(src), "-o", str(out), "--style", str(small_style)], capsys).exit_code == 2
    assert out.is_symlink()
    result = run_cli(["image", str(src), "-o", str(out), "--style", str(small_style), "--overwrite"], capsys)
    assert result.exit_code == 0, result
    assert not out.is_symlink() and cv2.imread(str(out)).shape == (48, 64, 3)
    assert kept.read_bytes() == b"the user's"


def test_a_home_folder_in_quotes_is_the_home_folder(tmp_path, small_style, photo, capsys, monkeypatch):
    """`-o "~/x.jpg"`: the shell leaves `~` in quotes, and rtstyle made a folder named `~` in the current one (as
    --style and webcam --source already took it, the inputs and outputs of every command take it now)."""
    import cv2

    home, here = tmp_path / "home", tmp_path / "here"
    home.mkdir(), here.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(here)
    cv2.imwrite(str(home / "in.png"), photo[:48, :64])
    make_clip(home / "in.mp4", width=64, height=48, frames=2)
    runs = [["image", "~/in.png", "-o", "~/photos/out.png"], ["image", "~/*.png", "--contact-sheet", "~/sheet.png"],
            ["video", "~/in.mp4", "-o", "~/out.mp4"],
            ["webcam", "--source", "~/in.mp4", "--no-display", "--frames", "1", "--record", "~/rec.mp4"]]
    for args in runs:
        result = run_cli([*args, "--style", str(small_style)], capsys)
        assert result.exit_code == 0, result
    for name in ("photos/out.png", "in_smallstyle.png", "sheet.png", "out.mp4", "rec.mp4"):
        assert (home / name).is_file(), name
    assert list(here.iterdir()) == []


def test_a_photo_with_a_long_name_gets_a_result_that_fits_and_the_next_run_knows_it(tmp_path, small_style, photo,
                                                                                     capsys):
    """PHOTO_STYLE.jpg passed 255 bytes: 'File name too long', and the whole batch stopped before its first photo."""
    import cv2

    for name in (long_name(".jpg"), long_name(".jpg")[:-5] + "y.jpg", "short.jpg"):
        cv2.imwrite(str(tmp_path / name), photo[:48, :64])
    args = ["image", str(tmp_path), "--style", str(small_style)]
    result = run_cli(args, capsys)
    assert result.exit_code == 0, result
    results = [p for p in tmp_path.iterdir() if "_smallstyle" in p.name]
    assert len(results) == 3 and all(len(p.name.encode()) <= 255 for p in results)
    again = run_cli(args, capsys)  # the results are known as results, not taken for photos
    assert again.exit_code == 0 and "skipped 3 already stylized" in again.err, again
    assert len(list(tmp_path.iterdir())) == 7


def test_a_video_with_a_long_name_gets_a_result_that_fits(tmp_path, small_style, capsys):
    src = make_clip(tmp_path / long_name(".mp4"), width=64, height=48, frames=2)
    for args in (["video", str(src)], ["video", str(src), str(tmp_path / "in.mp4"), "--format", "gif"]):
        if len(args) > 2:
            make_clip(tmp_path / "in.mp4", width=64, height=48, frames=2)
        result = run_cli([*args, "--style", str(small_style)], capsys)
        assert result.exit_code == 0, result
    assert len(list(tmp_path.glob("*_smallstyle.mp4"))) == 1 and len(list(tmp_path.glob("*_smallstyle.gif"))) == 2


def test_a_batch_knows_the_part_of_a_long_named_result_as_its_own(tmp_path):
    """The part's name has the result's stem shortened (atomic.short_stem): a batch that continued it said it left
    it alone ("continued by running the command that made it again"), and after its result was written, too."""
    from rtstyle.io.video_jobs import plan_video_jobs, result_name
    from rtstyle.realtime.resume import partial_path

    src = tmp_path / long_name(".mp4", 234)
    src.write_bytes(b"")
    target = tmp_path / result_name(src, "smallstyle")
    part = partial_path(target)
    assert part.stem != f"{target.stem}.partial"  # the result's name fits, its part's is shortened
    part.write_bytes(b"")
    plan = plan_video_jobs([str(tmp_path)], None, ["smallstyle"], ".mp4", False)
    assert [job.target for job in plan.jobs] == [target] and plan.notes() == []  # continued by this run
    target.write_bytes(b"")
    plan = plan_video_jobs([str(tmp_path)], None, ["smallstyle"], ".mp4", False)
    assert (plan.existing, plan.parts, plan.old_parts) == (1, 0, 1)  # its result is written: an old part


@pytest.mark.parametrize("command", ["image", "video"])
def test_a_file_named_like_an_option_is_said_how_to_give(tmp_path, small_style, capsys, monkeypatch, command):
    from helpers import assert_one_line_error

    monkeypatch.chdir(tmp_path)
    (tmp_path / "-clip.mp4").write_bytes(b"")
    result = run_cli([command, "--style", str(small_style), "-clip.mp4"], capsys)
    assert_one_line_error(result, "No such option", "-c", "write ./-clip.mp4", "after --")
    # click's own words differ by version ("No such option '-c'." in 8.2, "No such option: -c" in 8.1): a sentence
    assert re.search(r"-c'?\. For the file -clip\.mp4, write \./-clip\.mp4", result.err), result.err
    assert "--help" not in result.err  # its help does not say it



def test_a_misspelt_option_is_not_blamed_on_a_file_with_a_leading_dash(tmp_path, small_style, photo, capsys,
                                                                       monkeypatch):
    from helpers import assert_one_line_error

    monkeypatch.chdir(tmp_path)
    (tmp_path / "-out.jpg").write_bytes(b"")
    result = run_cli(["image", str(photo), "-o", "-out.jpg", "--stlye", "x"], capsys)
    assert_one_line_error(result, "No such option", "--stlye")
    assert "For the file" not in result.err

def test_a_file_with_a_leading_dash_is_read_as_given_after_two_dashes_or_with_a_folder(tmp_path, small_style, photo,
                                                                                   capsys, monkeypatch):
    import cv2

    monkeypatch.chdir(tmp_path)
    cv2.imwrite("-p.png", photo[:48, :64])
    make_clip(tmp_path / "-clip.mp4", width=64, height=48, frames=2)
    for args in (["image", "--style", str(small_style), "-o", "./-out.png", "--", "-p.png"],
                 ["video", "--style", str(small_style), "-o", "./-out.mp4", "./-clip.mp4"]):
        assert run_cli(args, capsys).exit_code == 0
    assert (tmp_path / "-out.png").is_file() and video_summary(tmp_path / "-out.mp4")["frames"] == 2


def test_a_name_typed_with_one_letter_for_e_acute_finds_the_file_macos_wrote_with_an_accent(
        tmp_path, small_style, photo, capsys, monkeypatch):
    """macOS writes é as e + a combining accent (NFD); typed, it is one letter (NFC): Linux tells them apart, so the
    file that `ls` shows as Été/café.png was 'not found'."""
    import unicodedata

    import cv2

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / unicodedata.normalize("NFD", "Été")
    folder.mkdir()
    cv2.imwrite(str(folder / unicodedata.normalize("NFD", "café.png")), photo[:48, :64])
    make_clip(folder / unicodedata.normalize("NFD", "clé.mp4"), width=64, height=48, frames=2)
    typed = unicodedata.normalize("NFC", "Été")
    for args in (["image", f"{typed}/café.png", "-o", "a.png"], ["video", f"{typed}/clé.mp4", "-o", "v.mp4"],
                 ["webcam", "--source", f"{typed}/clé.mp4", "--no-display", "--frames", "1", "--record", "w.mp4"]):
        result = run_cli([*args, "--style", str(small_style)], capsys)
        assert result.exit_code == 0, result
    assert all((tmp_path / name).is_file() for name in ("a.png", "v.mp4", "w.mp4"))


def test_a_name_that_is_not_utf8_is_printed_as_its_bytes_under_a_utf8_locale(tmp_path, small_style, photo):
    """Python writes to a UTF-8 locale's stdout strictly (en_US.UTF-8; C.UTF-8 is lenient): a Latin-1 name
    (caf\\xe9.jpg, from an old archive) stopped a batch with a traceback after its first result."""
    import os
    import subprocess
    import sys

    import cv2

    folder = os.fsencode(tmp_path)
    for name in (b"caf\xe9.png", b"d\xe9j\xe0.png"):
        ok, data = cv2.imencode(".png", photo[:48, :64])
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(data.tobytes())
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "PYTHONPATH": str(Path(__file__).parent.parent)}
    sheet = tmp_path / "sheet" / "sheet.png"  # its rows are named after the photos: OpenCV crashed on such names
    proc = subprocess.run([sys.executable, "-m", "rtstyle", "image", str(tmp_path), "--style", str(small_style),
                           "--contact-sheet", str(sheet)], env=env, capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert sorted(proc.stdout.splitlines()) == [os.path.join(folder, b"caf\xe9_smallstyle.png"),
                                               os.path.join(folder, b"d\xe9j\xe0_smallstyle.png"), bytes(sheet)]


def test_the_webcam_overlay_draws_a_style_named_by_a_file_that_is_not_utf8():
    """A segmentation fault in OpenCV, so it is drawn in a process of its own."""
    import subprocess
    import sys

    code = ("import numpy as np; from rtstyle.realtime.overlay import draw_panel; "
            "draw_panel(np.zeros((90, 160, 3), np.uint8), ['style\\tcaf\\udce9'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    assert proc.returncode == 0, proc.stderr


def test_a_style_file_with_a_long_name_is_used(tmp_path, small_style, photo, capsys):
    """Its cached ONNX model's name (NAME-HASH-gN-frame-fp32.onnx) passed 255 bytes: 'File name too long'."""
    import shutil

    import cv2

    style = tmp_path / long_name(".safetensors", 250)
    shutil.copy(small_style, style)
    cv2.imwrite(str(tmp_path / "in.png"), photo[:48, :64])
    result = run_cli(["image", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), "--style", str(style),
                      "--backend", "onnx"], capsys)
    assert result.exit_code == 0, result


def test_a_video_that_cannot_be_read_is_named_as_given_once(tmp_path, small_style, capsys, monkeypatch):
    """FFmpeg ends its reason with the name it was given, the absolute path now: the line says the user's own."""
    from helpers import assert_one_line_error

    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad:1.mp4").write_bytes(b"not a video" * 100)
    result = run_cli(["video", "bad:1.mp4", "-o", "out.mp4", "--style", str(small_style)], capsys)
    assert_one_line_error(result, "cannot read video", "bad:1.mp4 (", "invalid data")
    assert str(tmp_path) not in result.err


@pytest.mark.parametrize("args", [["image", ""], ["video", ""], ["image", "in.png", "-o", ""],
                                  ["image", "in.png", "--contact-sheet", ""],
                                  ["webcam", "--source", "", "--no-display", "--frames", "1"]])
def test_an_empty_name_is_refused_not_taken_for_the_current_folder(tmp_path, small_style, photo, capsys, monkeypatch,
                                                                    args):
    """`rtstyle image "$photo"` with the variable unset: Path("") is ".", so every photo below the current folder
    was stylized (and `-o ""` wrote there)."""
    import cv2

    from helpers import assert_one_line_error

    monkeypatch.chdir(tmp_path)
    cv2.imwrite("in.png", photo[:48, :64])
    make_clip(tmp_path / "in.mp4", width=64, height=48, frames=2)
    result = run_cli([*args, "--style", str(small_style)], capsys)
    assert_one_line_error(result, "empty name")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "in.png", "smallstyle.safetensors"]


def test_a_named_pipe_as_a_video_is_refused_not_waited_on(tmp_path, small_style):
    """FFmpeg waited for a writer forever (and, given one, failed at the second read: 'Interrupted system call')."""
    import os
    import subprocess
    import sys

    os.mkfifo(tmp_path / "clip.mp4")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    proc = subprocess.run([sys.executable, "-m", "rtstyle", "video", str(tmp_path / "clip.mp4"), "-o",
                           str(tmp_path / "out.mp4"), "--style", str(small_style)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "is a pipe, not a file" in proc.stderr, proc.stderr


def test_quantize_calibrates_on_a_video_named_like_a_url(tmp_path, monkeypatch):
    """OpenCV's FFmpeg took `cal:1.mp4` for a protocol too: the calibration video gave no frames."""
    from rtstyle.export.quantize import _video_frames

    monkeypatch.chdir(tmp_path)
    make_clip(tmp_path / "cal:1.mp4", width=64, height=48, frames=8)
    frames = _video_frames(Path("cal:1.mp4"), 4)
    assert len(frames) == 4 and frames[0].shape == (48, 64, 3)
