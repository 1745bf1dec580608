"""An interrupted `rtstyle video` run is continued by the same command: no frame is stylized twice, none is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli, wait_until_writing
from rtstyle.realtime.convert import ConvertOptions, convert_video
from rtstyle.realtime.resume import record_path
from videoclips import BUNNY, audio_packets, make_clip, video_summary

REPO = BUNNY.parent.parent.parent

RECORD = {"style": "test", "style_file": "0123", "strength": 1.0, "keep_colors": False, "stroke_size": 1.0,
          "stabilize": None, "precision": "fp32"}


class Network:
    """Stands in for the style network (a real colour change, so kept frames can be told from fresh ones):
    counts its calls, and can be stopped after a number of frames as Ctrl-C stops a run."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.calls = 0
        self.stop_after = stop_after

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        if self.stop_after is not None and self.calls == self.stop_after:
            raise KeyboardInterrupt
        self.calls += 1
        return np.ascontiguousarray(255 - frame)


def convert(src: Path, out: Path, network: Network, log: list[str], **options: object) -> None:
    record = {**RECORD, **options.pop("record", {})}  # type: ignore[dict-item]
    convert_video(ConvertOptions(src, out, record=record, **options), network,  # type: ignore[arg-type]
                  log=log.append, progress=False)


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24").astype(np.float64) for f in container.decode(video=0)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255 ** 2 / max(np.mean((a - b) ** 2), 1e-9)))


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_a_second_run_continues_where_the_first_stopped(tmp_path, suffix):
    src = make_clip(tmp_path / "in.mp4", frames=48, gop=12, audio=True)
    out = tmp_path / f"out{suffix}"
    log: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        convert(src, out, Network(stop_after=20), log)
    partial = tmp_path / f"out.partial{suffix}"
    first = video_summary(partial)["frames"]
    assert 0 < first <= 20 and "run the same command again to continue it" in log[-1]
    kept = decoded(partial)

    log.clear()
    network = Network()
    convert(src, out, network, log)
    assert any(f"resuming from out.partial{suffix}: its {first} stylized frames are kept" in line for line in log)
    assert network.calls == 48 - first  # the network ran for the remaining frames only
    # Each frame once, in order, at its time, and the audio copied from the source: as a run never stopped.
    reference = tmp_path / f"reference{suffix}"
    convert(src, reference, Network(), [])
    got, expected = video_summary(out), video_summary(reference)
    assert got["frames"] == 48 and got["times"] == pytest.approx(expected["times"], abs=1e-3)
    assert audio_packets(out) == audio_packets(reference)
    assert [p for _, p in audio_packets(out)] == [p for _, p in audio_packets(src)]
    frames = decoded(out)
    assert all(psnr(frames[i], kept[i]) > 35 for i in range(first))  # the part's frames, encoded once more
    assert not partial.exists() and not record_path(partial).exists()  # in the output now
    assert not list(tmp_path.glob(".*part*"))


def test_interrupted_again_the_part_grows(tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=40, gop=10)
    out = tmp_path / "out.mp4"
    log: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        convert(src, out, Network(stop_after=10), log)
    partial = tmp_path / "out.partial.mp4"
    first = video_summary(partial)["frames"]
    with pytest.raises(KeyboardInterrupt):
        convert(src, out, Network(stop_after=15), log)
    second = video_summary(partial)["frames"]
    assert second > first  # the same part, holding the first run's frames and the second's
    assert json.loads(record_path(partial).read_text())["frames"] == second
    assert not (tmp_path / "out.partial-2.mp4").exists()
    network = Network()
    convert(src, out, network, log)
    assert network.calls == 40 - second
    assert video_summary(out)["frames"] == 40


@pytest.mark.parametrize("changed, said", [
    ({"record": {"strength": 0.5}}, "--strength 1, now 0.5"),
    ({"record": {"stroke_size": 2.0}}, "--stroke-size 1, now 2"),
    ({"record": {"style_file": "4567"}}, "the style file's content"),
    ({"quality": "medium"}, "--quality/--crf crf 18, now crf 23"),
    ({"max_size": 64}, "the frame size (--scale, --max-size) 96x64, now 64x42"),
    ({"duration": 1.0}, "--duration not given, now 1"),
    ("source", "the source file"),
])
def test_a_part_made_otherwise_is_not_mixed_in(tmp_path, capsys, changed, said):
    src = make_clip(tmp_path / "in.mp4", frames=24)
    out = tmp_path / "out.mp4"
    log: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        convert(src, out, Network(stop_after=8), log)
    partial = tmp_path / "out.partial.mp4"
    before = partial.read_bytes()
    if changed == "source":
        os.utime(src, ns=(src.stat().st_atime_ns, src.stat().st_mtime_ns + 10 ** 9))  # re-exported, say
        changed = {}
    from rtstyle.errors import RtstyleError

    network = Network()
    with pytest.raises(RtstyleError) as refused:
        convert(src, out, network, log, **changed)
    message = str(refused.value)
    assert "out.partial.mp4 was made with other settings" in message and said in message, message
    assert "--restart" in message
    assert network.calls == 0 and partial.read_bytes() == before and not out.exists()

    convert(src, out, network, log, restart=True, **changed)  # --restart: from the beginning, the part replaced
    assert network.calls == 24 and video_summary(out)["frames"] == 24
    assert not partial.exists() and not record_path(partial).exists()


def test_a_part_recorded_before_the_stroke_size_existed_is_continued_at_stroke_size_1(tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=24)
    out = tmp_path / "out.mp4"
    log: list[str] = []
    older = {key: value for key, value in RECORD.items() if key != "stroke_size"}
    with pytest.raises(KeyboardInterrupt):
        convert_video(ConvertOptions(src, out, record=older), Network(stop_after=8), log=log.append, progress=False)
    network = Network()
    convert(src, out, network, log)
    assert 0 < network.calls < 24 and video_summary(out)["frames"] == 24
    with pytest.raises(KeyboardInterrupt):  # and at another stroke size it is refused
        convert_video(ConvertOptions(src, tmp_path / "b.mp4", record=older), Network(stop_after=8), log=log.append,
                      progress=False)
    from rtstyle.errors import RtstyleError

    with pytest.raises(RtstyleError, match="--stroke-size 1, now 2"):
        convert(src, tmp_path / "b.mp4", Network(), log, record={"stroke_size": 2.0})


def test_the_cli_resumes_and_says_so(tmp_path, small_style, capsys, monkeypatch):
    from rtstyle.realtime.processing import FrameProcessor

    src = make_clip(tmp_path / "in.mp4", frames=24, audio=True)
    out = tmp_path / "out.mp4"
    calls = []
    stylize = FrameProcessor.__call__

    def counted(self, frame, look=None):
        if len(calls) == 9 and stop:
            raise KeyboardInterrupt
        calls.append(1)
        return stylize(self, frame, look)

    monkeypatch.setattr(FrameProcessor, "__call__", counted)
    stop = True
    args = ["video", str(src), "-o", str(out), "--style", str(small_style), "--strength", "0.8"]
    assert run_cli(args, capsys).exit_code == 130
    kept = video_summary(tmp_path / "out.partial.mp4")["frames"]
    assert 0 < kept <= 9
    stop, calls[:] = False, []
    result = run_cli(args[:-1] + ["0.7"], capsys)  # another look: refused, the part untouched
    assert_one_line_error(result, "out.partial.mp4 was made with other settings (--strength 0.8, now 0.7)")
    result = run_cli(args, capsys)
    assert result.exit_code == 0, result
    assert f"resuming from out.partial.mp4: its {kept} stylized frames are kept" in result.err
    assert f"wrote 24 frames ({kept} kept from the interrupted run, {24 - kept} stylized now)" in result.err
    assert len(calls) == 24 - kept
    assert video_summary(out)["frames"] == 24 and audio_packets(out) == audio_packets(src)


def test_a_user_file_named_like_a_part_is_left_alone(tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=12)
    out = tmp_path / "out.mp4"
    (tmp_path / "out.partial.mp4").write_bytes(b"the user's own file")
    network = Network()
    convert(src, out, network, [])
    assert network.calls == 12
    assert (tmp_path / "out.partial.mp4").read_bytes() == b"the user's own file"


def test_webm_starts_from_the_beginning_and_says_so(tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=12)
    out = tmp_path / "out.webm"
    log: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        convert(src, out, Network(stop_after=4), log)
    network = Network()
    log.clear()
    convert(src, out, network, log)
    assert network.calls == 12 and video_summary(out)["frames"] == 12
    assert any("resuming is for H.264 video" in line for line in log), log


def test_a_killed_run_leaves_a_readable_file_that_the_next_run_continues(tmp_path, small_style, capsys,
                                                                         monkeypatch):
    # kill -9 (or a crash, or a power loss): no Ctrl-C handler runs, nothing is finalised. The temporary file is
    # written in fragments, so what reached it is readable; its record and released lock say a run stopped there.
    out = tmp_path / "out.mp4"
    args = ["video", str(BUNNY), "-o", str(out), "--style", str(small_style), "--scale", "0.5"]
    proc = subprocess.Popen([sys.executable, "-m", "rtstyle", *args], cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    wait_until_writing(proc, tmp_path, ".out.*part.mp4", 60_000)
    proc.kill()
    proc.communicate(timeout=60)
    (temp,) = tmp_path.glob(".out.*part.mp4")
    assert record_path(temp).exists()
    readable = video_summary(temp)["frames"]
    assert 0 < readable < 240

    from rtstyle.realtime.processing import FrameProcessor

    calls = []
    stylize = FrameProcessor.__call__

    def counted(self, frame, look=None):
        calls.append(1)
        return stylize(self, frame, look)

    monkeypatch.setattr(FrameProcessor, "__call__", counted)
    result = run_cli(args, capsys)
    assert result.exit_code == 0, result
    assert "resuming a run that was stopped without finishing" in result.err
    assert "removed" not in result.err  # its part is continued, not taken for a leftover (rtstyle.io.leftovers)
    kept = int(result.err.split("stopped without finishing (killed, crashed or a power loss): its ")[1].split()[0])
    assert readable - 20 <= kept < readable  # all but the last frame or two, which may have been cut short
    assert len(calls) == 240 - kept
    got = video_summary(out)
    assert got["frames"] == 240 and got["times"] == pytest.approx([i / 24 for i in range(240)], abs=1e-3)
    assert audio_packets(out) == audio_packets(BUNNY)
    assert not list(tmp_path.glob(".*part*"))  # the stopped run's file and record went with the finished output


def test_a_live_runs_temporary_file_is_not_taken(tmp_path):
    # A second run started while the first still writes (its lock is held) starts from the beginning.
    src = make_clip(tmp_path / "in.mp4", frames=12)
    out = tmp_path / "out.mp4"
    first: list[str] = []

    class Second(Network):
        def __call__(self, frame: np.ndarray) -> np.ndarray:
            if self.calls == 6 and not first:
                network = Network()
                convert(src, out, network, first, overwrite=True)
                first.append(f"calls {network.calls}")
            return super().__call__(frame)

    convert(src, out, Second(), [], overwrite=True)
    assert "calls 12" in first and not any("resuming" in line for line in first)


def make_cut_clip(path: Path, frames: int = 72, cut: int = 36) -> Path:
    """A clip with a scene cut: the style network's frames change completely there, and x264 starts a keyframe."""
    rng = np.random.default_rng(0)
    scenes = [rng.integers(0, 256, (64, 96, 3), dtype=np.uint8), rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for i in range(frames):
            image = np.roll(scenes[i >= cut], i, axis=1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def test_the_frames_before_the_parts_last_keyframe_are_copied_as_they_were(tmp_path):
    # No generation loss for most of the kept frames: up to the part's last keyframe its packets are copied.
    src = make_cut_clip(tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        convert(src, out, Network(stop_after=60), [])
    partial = tmp_path / "out.partial.mp4"
    kept, kept_frames = video_packets(partial), decoded(partial)
    with av.open(str(partial)) as container:
        keys = [n for n, p in enumerate(p for p in container.demux(video=0) if p.size) if p.is_keyframe]
    assert keys[0] == 0 and len(keys) > 1  # the scene cut's keyframe
    network = Network()
    convert(src, out, network, [])
    assert network.calls == 72 - len(kept_frames)
    got = video_packets(out)
    assert got[:keys[-1]] == kept[:keys[-1]]  # byte for byte
    assert got[keys[-1]] != kept[keys[-1]]  # from the keyframe on: encoded again by this run's encoder
    frames = decoded(out)
    assert len(frames) == 72
    assert all(np.array_equal(frames[i], kept_frames[i]) for i in range(keys[-1]))
    reference = tmp_path / "reference.mp4"
    convert(src, reference, Network(), [])
    assert video_summary(out)["times"] == pytest.approx(video_summary(reference)["times"], abs=1e-3)


def test_another_preset_encodes_the_kept_frames_again(tmp_path):
    # --preset is not part of the record (it changes the size, not the look), but x264's SPS/PPS differ with it:
    # packets of one cannot follow the other's, so every kept frame is decoded and encoded again.
    src = make_cut_clip(tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        convert(src, out, Network(stop_after=60), [], preset="ultrafast")
    kept = video_packets(tmp_path / "out.partial.mp4")
    network = Network()
    convert(src, out, network, [])
    got = video_packets(out)
    assert got[0] != kept[0] and network.calls < 72 and len(decoded(out)) == 72


@pytest.mark.parametrize("step", ["write_encoded", "write_picture"])
def test_stopped_again_before_the_kept_frames_are_written_the_part_stays_as_it_was(tmp_path, monkeypatch, step):
    from rtstyle.io.video_writer import VideoWriter

    src = make_cut_clip(tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        convert(src, out, Network(stop_after=60), [])
    partial = tmp_path / "out.partial.mp4"
    before, record = partial.read_bytes(), record_path(partial).read_text()
    original = getattr(VideoWriter, step)

    def stopped(self, *args):
        if self.frames_written == 3:
            raise KeyboardInterrupt  # Ctrl-C while the part's frames go into the new file
        return original(self, *args)

    monkeypatch.setattr(VideoWriter, step, stopped)
    if step == "write_picture":  # every kept frame encoded again: no copy
        monkeypatch.setattr("rtstyle.realtime.resume.EarlierPart.copyable", lambda self, extradata: 0)
    log: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        convert(src, out, Network(), log)
    assert partial.read_bytes() == before and record_path(partial).read_text() == record
    assert not list(tmp_path.glob(".out.*part.mp4")) and not (tmp_path / "out.partial-2.mp4").exists()
    assert "kept the first 60 of ~72 frames as" in log[-1], log


def test_no_room_to_remux_keeps_the_fragmented_file_as_the_output(tmp_path, monkeypatch):
    import errno

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / ".x.part.mp4"))

    monkeypatch.setattr("rtstyle.realtime.convert.defragment", full_disk)
    src = make_clip(tmp_path / "in.mp4", frames=24, audio=True)
    out = tmp_path / "out.mp4"
    log: list[str] = []
    convert(src, out, Network(), log)
    assert any("out.mp4 is written as fragmented MP4" in line and "No space left" in line for line in log), log
    assert video_summary(out)["frames"] == 24 and audio_packets(out) == audio_packets(src)
    assert not list(tmp_path.glob(".*part*"))


@pytest.mark.parametrize("tracks, fmt, name", [(("pcm_bluray",), "mpegts", "00001.m2ts"),
                                               (("pcm_s16le",), None, "CLIP0001.MOV")])
def test_camera_audio_encoded_again_still_leaves_a_file_a_hard_stop_keeps_readable(tmp_path, tracks, fmt, name):
    # Blu-ray PCM (AVCHD) cannot be copied into an MP4, so it is encoded as AAC; whether the temporary file could be
    # written in fragments was tried by copying it all the same, and a camcorder's long conversion was written as a
    # plain MP4, which a kill -9 leaves unreadable (and not to be continued).
    from videoclips import make_camera_clip

    src = make_camera_clip(tmp_path / name, tracks, frames=96, fmt=fmt)
    seen: list[bytes] = []

    def network(frame: np.ndarray) -> np.ndarray:
        network.calls += 1  # type: ignore[attr-defined]
        if network.calls == 90:  # type: ignore[attr-defined]  # past x264's look-ahead: frames are in the file
            (temp,) = tmp_path.glob(".out.*part.mp4")
            seen.append(temp.read_bytes())
        return np.ascontiguousarray(255 - frame)

    network.calls = 0  # type: ignore[attr-defined]

    convert_video(ConvertOptions(src, tmp_path / "out.mp4", record=RECORD), network, progress=False)
    assert seen and b"moof" in seen[0]  # fragments: readable up to the last whole one
    assert video_summary(tmp_path / "out.mp4")["frames"] == 96
