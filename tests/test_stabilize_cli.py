"""`--stabilize` wires the run-time stabiliser into `rtstyle video` and `rtstyle webcam`."""

from __future__ import annotations

import av
import numpy as np

from helpers import assert_one_line_error, run_cli
from videoclips import BUNNY, video_summary


def frame_to_frame_change(path) -> float:
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="bgr24").astype(np.float32) for f in container.decode(video=0)]
    return float(np.mean([np.abs(a - b).mean() for a, b in zip(frames, frames[1:])]))


def test_video_stabilize_keeps_frames_and_reduces_change(tmp_path, small_style, capsys):
    outputs = {}
    for name, extra in (("plain", []), ("stable", ["--stabilize", "0.7"])):
        outputs[name] = tmp_path / f"{name}.mp4"
        result = run_cli(["video", str(BUNNY), "-o", str(outputs[name]), "--style", str(small_style),
                          "--duration", "0.5", "--max-size", "240", "--quality", "high", *extra], capsys)
        assert result.exit_code == 0, result
    plain, stable = (video_summary(outputs[n]) for n in ("plain", "stable"))
    assert stable["frames"] == plain["frames"] == 12 and stable["size"] == plain["size"]
    # Blending with the flow-warped previous output makes consecutive frames closer to each other.
    assert frame_to_frame_change(outputs["stable"]) < 0.9 * frame_to_frame_change(outputs["plain"])


def test_webcam_stabilize_runs_headless(tmp_path, small_style, capsys):
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", str(small_style), "--no-display",
                      "--frames", "4", "--size", "160x90", "--stabilize"], capsys)
    assert result.exit_code == 0, result
    assert "frames" in result.out


def test_bad_strength_is_one_line(tmp_path, small_style, capsys):
    result = run_cli(["video", str(BUNNY), "-o", str(tmp_path / "o.mp4"), "--style", str(small_style),
                      "--stabilize", "1.5"], capsys)
    assert result.exit_code == 2 and "Traceback" not in result.err
    assert "--stabilize" in result.err


def test_a_file_taken_for_the_strength_says_where_to_put_it(tmp_path, small_style, capsys):
    # `--stabilize IN.mp4` takes the file as the optional strength; the error says how to write it instead.
    result = run_cli(["video", "--stabilize", str(BUNNY), "-o", str(tmp_path / "o.mp4"), "--style", str(small_style)],
                     capsys)
    assert_one_line_error(result, "is not a strength", "--stabilize 0.5 FILE", "after the file")
