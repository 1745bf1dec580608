"""Hidden temporary files of runs stopped hard (kill -9) are removed when the same output is written again; a live
run's (in this process or another) and a part that resume continues are never touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import run_cli, wait_until_writing
from rtstyle.io import temp_locks
from rtstyle.io.atomic import discard_temp, temp_path_beside
from rtstyle.io.leftovers import clear_leftovers, record_path
from rtstyle.realtime.convert import ConvertOptions, convert_video
from rtstyle.wording import file_size
from videoclips import BUNNY, make_clip

REPO = BUNNY.parent.parent.parent


def test_a_gif_killed_mid_write_leaves_its_spool_which_the_next_run_removes(tmp_path, small_style, capsys):
    out = tmp_path / "out.gif"
    args = ["video", str(BUNNY), "-o", str(out), "--style", str(small_style), "--max-size", "160"]
    proc = subprocess.Popen([sys.executable, "-m", "rtstyle", *args], cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_until_writing(proc, tmp_path, ".out.*.part.gif.frames", 200_000)
        said: list[str] = []
        assert clear_leftovers([out], said.append) == 0 and said == []  # the live run holds its files
        live = sorted(tmp_path.glob(".out.*"))
        assert len(live) == 2 and all(path.exists() for path in live)
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    (spool,) = tmp_path.glob(".out.*.part.gif.frames")  # no Ctrl-C handler ran: the frames are still there
    left = spool.stat().st_size + next(tmp_path.glob(".out.*.part.gif")).stat().st_size

    result = run_cli([*args, "--duration", "0.5"], capsys)
    assert result.exit_code == 0, result
    assert f"removed 2 files ({file_size(left)}) left by an interrupted run of {out}" in result.err
    assert out.exists() and not list(tmp_path.glob(".out.*"))
    assert temp_locks.holding() == []  # every temporary file's lock let go


def test_a_temporary_file_this_process_writes_is_not_removed(tmp_path):
    out = tmp_path / "photo.png"
    tmp = temp_path_beside(out)
    tmp.write_bytes(b"x" * 10)
    said: list[str] = []
    clear_leftovers([out], said.append)
    assert tmp.exists() and said == []
    discard_temp(tmp)
    assert not tmp.exists() and temp_locks.holding() == []


def test_only_the_outputs_own_leftovers_go_and_a_resumable_part_stays(tmp_path):
    def made(name: str, size: int = 1000) -> Path:
        path = tmp_path / name
        path.write_bytes(b"\0" * size)
        return path

    resumable = made(".out.abcd1234.part.mp4")
    record_path(resumable).write_text(json.dumps({"version": 1}))  # resume.py continues it
    stale = made(".out.efgh5678.part.mp4", 2_500_000)  # no record: not resumable
    orphan = made("..out.ijkl9012.part.mp4.rtstyle.json", 50)  # its part is gone
    others = [made(".out2.abcd1234.part.mp4"), made(".out.abcd1234.part.mkv"), made(".out.x.abcd1234.part.mp4"),
              made("out.partial.mp4"), made(".out.abcd1234.part.gif.frames"), made(".out.mp4")]
    said: list[str] = []
    assert clear_leftovers([tmp_path / "out.mp4"], said.append) == 2_500_050
    assert said == [f"removed 2 files (2.5 MB) left by an interrupted run of {tmp_path / 'out.mp4'}"]
    assert not stale.exists() and not orphan.exists()
    assert resumable.exists() and record_path(resumable).exists() and all(path.exists() for path in others)


def test_a_gif_spool_of_an_older_rtstyle_goes_too_and_many_outputs_share_one_line(tmp_path):
    for name in (".a.abcd1234.part.frames", ".b_candy.abcd1234.part.png", ".c.abcd1234.part.png"):
        (tmp_path / name).write_bytes(b"\0" * 2000)
    said: list[str] = []
    clear_leftovers([tmp_path / "a.gif", tmp_path / "b_candy.png", tmp_path / "c.png", tmp_path / "d.png"],
                    said.append)
    assert said == [f"removed 3 files (6.0 kB) left by interrupted runs of {tmp_path / 'a.gif'}, "
                    f"{tmp_path / 'b_candy.png'}, {tmp_path / 'c.png'}"]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("stop", [None, 3])
def test_no_lock_is_left_held_after_a_conversion_or_a_ctrl_c(tmp_path, stop):
    src = make_clip(tmp_path / "in.mp4", frames=8)
    calls = [0]

    def network(frame: np.ndarray) -> np.ndarray:
        calls[0] += 1
        if calls[0] == stop:
            raise KeyboardInterrupt
        return frame

    for suffix in (".gif", ".mp4"):
        options = ConvertOptions(src, tmp_path / f"out{suffix}", record={"style": "test"})
        if stop is None:
            convert_video(options, network, progress=False)
        else:
            with pytest.raises(KeyboardInterrupt):
                convert_video(options, network, progress=False)
        calls[0] = 0
        assert temp_locks.holding() == []
        assert not list(tmp_path.glob(".out.????????.part*"))  # (an interrupted one keeps out.partial.EXT)


def test_sizes_read_as_a_file_manager_shows_them():
    assert [file_size(n) for n in (1, 999, 1000, 12_345, 230_400_000, 1_440_000_000)] == \
        ["1 byte", "999 bytes", "1.0 kB", "12 kB", "230 MB", "1.4 GB"]


def test_a_recording_removes_what_a_killed_recording_left(tmp_path):
    from rtstyle.realtime.recorder import Recorder

    left = tmp_path / ".rec.abcd1234.part.mp4"
    left.write_bytes(b"\0" * 3000)
    said: list[str] = []
    recorder = Recorder(tmp_path / "rec.mp4", fps=24, say=said.append)
    try:
        assert said == [f"removed 1 file (3.0 kB) left by an interrupted run of {tmp_path / 'rec.mp4'}"]
        assert not left.exists()
    finally:
        recorder.abandon()
    assert temp_locks.holding() == [] and not list(tmp_path.iterdir())
