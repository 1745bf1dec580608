"""`rtstyle video --preview`: the frames in a window as they are written; q stops as Ctrl-C does."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from videoclips import BUNNY, make_clip, video_summary


class FakeWindow:
    """Stands in for the HighGUI window: keeps what is shown, presses q once `stop_after` frames were offered."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.shown: list[np.ndarray] = []
        self.polls = 0
        self.stop_after = stop_after
        self.closed_calls = 0

    def show(self, image: np.ndarray) -> None:
        self.shown.append(image)

    def poll_key(self, delay_ms: int = 1) -> int:
        self.polls += 1
        return ord("q") if self.stop_after is not None and self.polls >= self.stop_after else -1

    def closed(self) -> bool:
        return False

    def close(self) -> None:
        self.closed_calls += 1


def convert(tmp_path, source, window, process=lambda f: f // 2, **kwargs):
    from rtstyle.realtime.convert import ConvertOptions, convert_video
    from rtstyle.realtime.preview import ConversionPreview

    preview = ConversionPreview(window)
    preview.start("out.mp4", None)
    return convert_video(ConvertOptions(source=source, target=tmp_path / "out.mp4", **kwargs), process,
                         preview=preview)


def test_the_preview_shows_the_frames_written_upright(tmp_path):
    portrait = make_clip(tmp_path / "phone.mp4", width=96, height=64, frames=6, rotation=90)
    window = FakeWindow()
    result = convert(tmp_path, portrait, window)
    assert result.frames == 6
    assert 1 <= len(window.shown) <= 6 and window.polls >= len(window.shown)  # drawn at most 10 times a second
    assert window.shown[0].shape == (96, 64, 3)  # as players show it: the file stores 96x64 with a rotation tag
    assert video_summary(result.path)["rotation"] in (90, -90, 270)  # the file itself unchanged by the preview


def test_q_in_the_preview_stops_as_ctrl_c_does(tmp_path):
    from rtstyle.realtime.preview import PreviewStopped

    with pytest.raises(PreviewStopped):
        convert(tmp_path, BUNNY, FakeWindow(stop_after=2), scale=0.25)
    assert not (tmp_path / "out.mp4").exists()
    assert 1 <= video_summary(tmp_path / "out.partial.mp4")["frames"] < 240  # the part is kept, playable


def test_the_window_answers_while_a_slow_frame_is_in_the_model(tmp_path):
    """A full network on a CPU takes seconds a frame: q must not wait for the frame to finish."""
    import time

    from rtstyle.realtime.preview import PreviewStopped

    def slow(frame):
        time.sleep(0.6)
        return frame

    window = FakeWindow(stop_after=1)
    clip = make_clip(tmp_path / "c.mp4", width=64, height=48, frames=3)
    with pytest.raises(PreviewStopped):
        convert(tmp_path, clip, window, process=slow)
    assert window.shown == [] and window.polls == 1  # stopped while the first frame was still in the model


def test_preview_from_the_cli_stops_with_the_part_kept(tmp_path, small_style, capsys, monkeypatch):
    import rtstyle.cli.video_cmd as video_cmd
    from rtstyle.realtime.preview import ConversionPreview

    window = FakeWindow(stop_after=2)
    monkeypatch.setenv("DISPLAY", ":0")  # the window is the fake one
    monkeypatch.setattr(video_cmd, "open_preview", lambda: ConversionPreview(window))
    result = run_cli(["video", str(BUNNY), "-o", str(tmp_path / "out.mp4"), "-s", str(small_style), "--scale", "0.25",
                      "--preview"], capsys)
    assert result.exit_code == 130 and result.err.rstrip().endswith("rtstyle: interrupted")
    assert (tmp_path / "out.partial.mp4").exists() and not (tmp_path / "out.mp4").exists()
    assert window.closed_calls == 1 and window.shown and window.shown[0].shape == (90, 160, 3)


def test_a_batch_previews_each_video_in_one_window(tmp_path, small_style, capsys, monkeypatch):
    import rtstyle.cli.video_cmd as video_cmd
    from rtstyle.realtime.preview import ConversionPreview

    for name in ("a", "b"):
        make_clip(tmp_path / f"{name}.mp4", width=64, height=48, frames=3)
    window = FakeWindow()
    previews: list[ConversionPreview] = []
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(video_cmd, "open_preview", lambda: previews.append(ConversionPreview(window)) or previews[-1])
    result = run_cli(["video", str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4"), "-s", str(small_style), "--preview"],
                     capsys)
    assert result.exit_code == 0, result.err
    assert len(previews) == 1 and len(window.shown) >= 2 and window.closed_calls == 1  # both videos shown
    assert previews[0].name == "b_smallstyle.mp4"  # the caption names the video being converted


def test_preview_without_a_display_is_a_one_line_error(tmp_path, small_style, capsys, monkeypatch):
    for variable in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(variable, raising=False)
    result = run_cli(["video", str(BUNNY), "-o", str(tmp_path / "out.mp4"), "-s", str(small_style), "--preview"],
                     capsys)
    assert_one_line_error(result, "no display", "without --preview")
    assert [p.name for p in tmp_path.iterdir()] == ["smallstyle.safetensors"]  # nothing written


# Run as `rtstyle` runs (a fresh process): when the window would open, OpenCV must have been loaded before PyAV,
# whose bundled libxcb otherwise makes OpenCV's Qt window livelock (rtstyle.realtime.display.load_opencv_before_pyav).
ORDER_PROBE = """
import os, sys
import rtstyle.cli.video_cmd as video_cmd
import rtstyle.realtime.webcam as webcam

def opening(*args, **kwargs):
    loaded = list(sys.modules)
    print("OPENCV FIRST" if "av" in loaded and loaded.index("cv2") < loaded.index("av") else f"ORDER {loaded}")
    sys.stdout.flush()
    os._exit(0)

video_cmd.open_preview = opening
webcam.Window = opening
from rtstyle.cli.main import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("command", ["video", "webcam"])
def test_opencv_is_loaded_before_pyav_where_a_window_opens(tmp_path, small_style, command):
    import os
    import subprocess
    import sys

    from conftest import REPO

    args = {"video": ["video", str(BUNNY), "-o", str(tmp_path / "o.mp4"), "-s", str(small_style), "--preview"],
            "webcam": ["webcam", "--source", str(BUNNY), "-s", str(small_style)]}[command]
    env = {**os.environ, "PYTHONPATH": str(REPO), "DISPLAY": ":0"}
    result = subprocess.run([sys.executable, "-c", ORDER_PROBE, *args], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip() == "OPENCV FIRST", (result.stdout[-300:], result.stderr[-500:])
