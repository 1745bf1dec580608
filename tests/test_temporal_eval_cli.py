"""`rtstyle eval`: the temporal table and JSON on a folder of frames and a video file."""

import json
from pathlib import Path

import cv2

from conftest import SHARED, requires_shared, requires_torch, requires_vgg
from helpers import assert_one_line_error, install_user_styles, run_cli
from temporal_clips import flicker, panning_clip

REPO = Path(__file__).resolve().parent.parent


def write_frames(folder: Path, frames) -> Path:
    folder.mkdir()
    for index, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"frame_{index}.png"), frame)  # frame_10 must sort after frame_9
    return folder


def test_eval_prints_the_table(tmp_path, small_style, capsys):
    clip, _ = panning_clip(4)
    folder = write_frames(tmp_path / "clip", clip)
    result = run_cli(["eval", str(folder), "-s", str(small_style), "--stabilize", "0.5"], capsys)
    assert result.exit_code == 0, result
    lines = result.out.splitlines()
    assert "4 frames, 128x96" in lines[0]
    assert lines[1].split()[:3] == ["output", "warping", "error"]
    names = [line.split("  ")[0].strip() for line in lines[3:]]
    assert names == ["input (floor)", "per-frame", "stabilized 0.5"]
    per_frame = next(line for line in lines if line.startswith("per-frame"))
    assert per_frame.split()[-2:] == ["1.00", "-"]
    assert "frame/s" not in result.err and "\r" not in result.err  # no progress bar where stderr is not a terminal


def test_eval_without_a_style_measures_the_default_like_video(tmp_path, small_style, capsys, no_builtin_styles,
                                                              isolated_dirs):
    install_user_styles(isolated_dirs, small_style, "aa", "mosaic")
    clip, _ = panning_clip(3)
    folder = write_frames(tmp_path / "clip", clip)
    result = run_cli(["eval", str(folder), "--json"], capsys)
    assert result.exit_code == 0, result
    assert json.loads(result.out)["style"] == "mosaic"


def test_eval_json_ranks_floor_per_frame_and_stabilized(tmp_path, small_style, capsys):
    clip, _ = panning_clip(12, step=(2, 1))
    folder = write_frames(tmp_path / "clip", flicker(clip, 6))  # a flickering input makes a flickering output
    result = run_cli(["eval", str(folder), "-s", str(small_style), "--stabilize", "0.6", "--stabilize", "0.3",
                      "--json"], capsys)
    assert result.exit_code == 0, result
    report = json.loads(result.out)
    assert report["frames"] == 12 and (report["width"], report["height"]) == (128, 96)
    assert report["flow"] == "DIS medium" and 0.5 < report["mask_coverage"] <= 1
    rows = {row["name"]: row for row in report["rows"]}
    assert list(rows) == ["input (floor)", "per-frame", "stabilized 0.3", "stabilized 0.6"]
    assert rows["per-frame"]["vs_per_frame"] == 1.0 and rows["per-frame"]["pairs"] == 11
    assert rows["stabilized 0.6"]["warping_error"] < rows["stabilized 0.3"]["warping_error"] \
        < rows["per-frame"]["warping_error"]
    assert rows["stabilized 0.6"]["ghosting"] is not None and rows["per-frame"]["ghosting"] is None


def test_eval_reads_a_video_file(small_style, capsys):
    video = REPO / "rtstyle" / "assets" / "cutBunny.mp4"
    result = run_cli(["eval", str(video), "-s", str(small_style), "--max-frames", "3", "--max-size", "96",
                      "--flow", "farneback", "--json"], capsys)
    assert result.exit_code == 0, result
    report = json.loads(result.out)
    assert report["frames"] == 3 and (report["width"], report["height"]) == (96, 54)
    assert report["flow"] == "Farneback" and report["rows"][1]["pairs"] == 2


def test_eval_measures_a_rotated_phone_video_upright(tmp_path, small_style, capsys):
    # rtstyle video stylizes a portrait video upright; eval measured the network on the frames as stored, sideways.
    from videoclips import make_clip

    video = make_clip(tmp_path / "portrait.mp4", width=64, height=48, frames=3, rotation=90)
    result = run_cli(["eval", str(video), "-s", str(small_style), "--flow", "farneback", "--json"], capsys)
    assert result.exit_code == 0, result
    report = json.loads(result.out)
    assert (report["width"], report["height"]) == (48, 64)


def test_eval_bad_inputs_are_one_line_errors(tmp_path, small_style, capsys):
    assert_one_line_error(run_cli(["eval", str(tmp_path / "nope.mp4"), "-s", str(small_style)], capsys), "not found")
    single = write_frames(tmp_path / "single", panning_clip(1)[0])
    assert_one_line_error(run_cli(["eval", str(single), "-s", str(small_style)], capsys), "at least two")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run_cli(["eval", str(tmp_path / "empty"), "-s", str(small_style)], capsys), "no image frames")
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    assert_one_line_error(run_cli(["eval", str(tmp_path / "broken.mp4"), "-s", str(small_style)], capsys),
                          "cannot read video")
    mixed = write_frames(tmp_path / "mixed", [panning_clip(1)[0][0], panning_clip(1, shape=(50, 60))[0][0]])
    assert_one_line_error(run_cli(["eval", str(mixed), "-s", str(small_style)], capsys), "one size")
    clip = write_frames(tmp_path / "ok", panning_clip(2)[0])
    assert_one_line_error(run_cli(["eval", str(clip), "-s", "no-such-style"], capsys), "unknown style")
    result = run_cli(["eval", str(clip), "-s", str(small_style), "--stabilize", "1"], capsys)
    assert result.exit_code == 2 and "Traceback" not in result.err


def test_eval_and_stabilizer_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, rtstyle.cli.eval_cmd, rtstyle.metrics.clip_eval, rtstyle.realtime.stabilize; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


@requires_shared
def test_eval_on_the_shared_sintel_frames(small_style, capsys):
    folder = SHARED / "data" / "video" / "sintel_frames"
    result = run_cli(["eval", str(folder), "-s", str(small_style), "--max-frames", "3", "--max-size", "256",
                      "--stabilize", "0.5", "--json"], capsys)
    assert result.exit_code == 0, result
    report = json.loads(result.out)
    assert (report["frames"], report["width"], report["height"]) == (3, 256, 109)
    floor, per_frame, stabilized = (row["warping_error"] for row in report["rows"])
    assert floor < per_frame and stabilized < per_frame


@requires_torch
@requires_vgg
@requires_shared
def test_eval_photos_style_loss_prefers_the_styles_own_painting(capsys):
    import json

    from conftest import DATA, SHARED, VGG_FILE

    paintings = SHARED / "data" / "style" / "pytorch_examples_fast_neural_style"
    losses = {}
    for painting in ("mosaic", "candy"):
        result = run_cli(["eval", "--style", "mosaic", "--photos", str(DATA), "--style-image",
                          str(paintings / f"{painting}.jpg"), "--vgg-weights", str(VGG_FILE), "--max-size", "192",
                          "--json"], capsys)
        assert result.exit_code == 0, result
        report = json.loads(result.out)
        assert report["photos"] == 2 and report["content_loss"] > 0
        # mosaic was trained on its painting at its own size (470 px), not at a fixed 256
        assert report["style_size"] == max(cv2.imread(str(paintings / f"{painting}.jpg")).shape[:2])
        losses[painting] = report["style_loss"]
    assert losses["mosaic"] < 0.5 * losses["candy"], losses


def test_the_painting_size_comes_from_the_styles_training_run():
    from rtstyle.styles.catalog import find_style, trained_painting_size

    assert trained_painting_size(find_style("candy").metadata()) == 512
    assert trained_painting_size(find_style("mosaic").metadata()) is None  # its own size
    assert trained_painting_size({}) is None and trained_painting_size({"hyperparameters": {"style_size": 0}}) is None


def test_the_photo_losses_line_names_the_folder_then_the_count():
    from rtstyle.cli.eval_cmd import format_photo_losses

    line = format_photo_losses({"photos": 5, "photo_source": "photos", "content_loss": 2.0, "style_loss": 3.0,
                                "style_size": 470, "vgg": "vgg16.safetensors"})
    assert line.startswith("photos: 5 photos; content loss 2, style loss 3 (")
    one = format_photo_losses({"photos": 1, "photo_source": "me.jpg", "content_loss": 2.0, "style_loss": 3.0,
                               "style_size": 470, "vgg": "vgg16.safetensors"})
    assert one.startswith("me.jpg: 1 photo;")


def test_eval_photos_needs_the_painting(capsys, small_style):
    from conftest import DATA

    assert_one_line_error(run_cli(["eval", "--style", str(small_style), "--photos", str(DATA)], capsys),
                          "--style-image")
    assert_one_line_error(run_cli(["eval", "--style", str(small_style)], capsys), "give a clip")


def test_a_clip_with_a_damaged_packet_is_measured_without_its_frames(tmp_path):
    # eval stopped with 'cannot decode video ... Invalid data found' at the first damaged packet.
    from rtstyle.metrics.clips import iter_clip
    from videoclips import damage_packets, make_clip

    clip = damage_packets(make_clip(tmp_path / "c.mp4", frames=12, gop=4), [5])
    assert len(list(iter_clip(clip))) == 11
