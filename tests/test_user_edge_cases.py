"""Cases found by using every command as a new user would (odd paths, odd numbers, files in the way)."""

from __future__ import annotations

import json
import shutil

import cv2
import pytest

from conftest import requires_torch
from helpers import assert_one_line_error, run_cli
from videoclips import BUNNY, make_clip


def test_a_path_through_a_missing_folder_cannot_hide_an_existing_file(tmp_path, small_style, photo, capsys,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    cv2.imwrite("s.png", photo[:20, :20])
    kept = (tmp_path / "s.png").read_bytes()
    assert_one_line_error(run_cli(["image", "s.png", "-s", str(small_style), "-o", "nx/../s.png"], capsys),
                          "would replace an input")
    (tmp_path / "keep.onnx").write_bytes(b"mine")
    assert_one_line_error(run_cli(["export", str(small_style), "-o", "nx/../keep.onnx"], capsys), "exists")
    clip = make_clip(tmp_path / "src.mp4", frames=3)
    assert_one_line_error(run_cli(["video", str(clip), "-o", "nx/../src.mp4", "-s", str(small_style)], capsys),
                          "would replace its input: choose another -o")
    assert (tmp_path / "s.png").read_bytes() == kept and (tmp_path / "keep.onnx").read_bytes() == b"mine"
    assert not (tmp_path / "nx").exists()


def test_webcam_never_records_over_its_source(tmp_path, small_style, capsys):
    clip = tmp_path / "b.mp4"
    shutil.copy(BUNNY, clip)
    result = run_cli(["webcam", "--source", str(clip), "--no-display", "--frames", "2", "-s", str(small_style),
                      "--record", str(clip), "--overwrite"], capsys)
    assert_one_line_error(result, "is the --source being read")
    assert clip.stat().st_size == BUNNY.stat().st_size


def test_an_interruption_keeps_an_earlier_partial_file(tmp_path):
    from rtstyle.realtime.convert import partial_path_for

    target = tmp_path / "out.mp4"
    assert partial_path_for(target) == tmp_path / "out.partial.mp4"
    (tmp_path / "out.partial.mp4").write_bytes(b"an earlier part, or the user's file")
    assert partial_path_for(target) == tmp_path / "out.partial-2.mp4"


@pytest.mark.parametrize("args, fragment", [
    (["image", "p.png", "--strength", "nan"], "not a finite number"),
    (["video", "v.mp4", "--scale", "nan"], "not a finite number"),
    (["webcam", "--inference-scale", "nan"], "not a finite number"),
    (["train", "--name", "x", "--lr", "nan"], "not a finite number"),
    (["train", "--name", "x", "--epochs", "inf"], "--epochs"),
    (["video", "v.mp4", "--duration", "nan"], "not a time"),
    (["video", "v.mp4", "--duration", "0"], "more than zero"),
    (["video", "v.mp4", "--start", "1:99"], "not a time"),
])
def test_numbers_that_are_not_numbers_are_one_line(args, fragment, capsys):
    assert_one_line_error(run_cli(args, capsys), fragment)


def test_plain_rtstyle_prints_its_help(capsys):
    result = run_cli([], capsys)
    assert result.exit_code == 0 and "Usage: rtstyle" in result.out and "webcam" in result.out


def test_a_style_image_too_small_for_vgg_is_one_line(tmp_path):
    from rtstyle.errors import RtstyleError
    from rtstyle.train.data import read_style_image

    tiny = tmp_path / "one.png"
    cv2.imwrite(str(tiny), cv2.imread("tests/data/chelsea.png")[:1, :1])
    with pytest.raises(RtstyleError, match="at least 16 px"):
        read_style_image(tiny, None)


def test_meta_cannot_rewrite_what_a_style_file_is(tmp_path, small_style):
    from rtstyle.styles.format import StyleFile, load_style_file, save_style_file

    style = load_style_file(small_style)
    path = tmp_path / "m.safetensors"
    save_style_file(path, StyleFile(style.arch, style.arch_kwargs, style.weights,
                                    {**style.metadata, "arch": "fast", "arch_kwargs": {}, "title": "Mine"}))
    again = load_style_file(path)
    assert again.arch == style.arch and again.arch_kwargs == style.arch_kwargs and again.metadata["title"] == "Mine"


def test_styles_json_tells_the_real_source(tmp_path, small_style, capsys, isolated_dirs):
    from rtstyle.styles.format import StyleFile, load_style_file, save_style_file

    style = load_style_file(small_style)
    (isolated_dirs / "styles").mkdir(parents=True, exist_ok=True)
    save_style_file(isolated_dirs / "styles" / "liar.safetensors",
                    StyleFile(style.arch, style.arch_kwargs, style.weights, {"source": "built-in", "name": "evil"}))
    rows = json.loads(run_cli(["styles", "--json"], capsys).out)
    liar = next(r for r in rows if r["path"].endswith("liar.safetensors"))
    assert liar["name"] == "liar" and liar["source"] == "user"


@requires_torch
def test_all_is_not_a_style_name(tmp_path):
    from rtstyle.errors import RtstyleError
    from rtstyle.train.trainer import TrainConfig, Trainer

    with pytest.raises(RtstyleError, match="reserved"):
        Trainer(TrainConfig(name="all", style_image=tmp_path / "x.png", content=tmp_path))


def _clip_with_audio(path, codec: str):
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream(codec, rate=48000)
        audio.layout = "stereo"
        for i in range(12):
            for packet in video.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), "bgr24")):
                container.mux(packet)
        for k in range(30):
            tone = (np.sin(np.arange(1024) * 0.05 + k) * 8000).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]).reshape(1, -1), format="s16", layout="stereo")
            frame.sample_rate, frame.pts = 48000, k * 1024
            for packet in audio.encode(frame):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)
    return path


@pytest.mark.parametrize("codec, source, target", [("flac", "a.mkv", "out.mov"), ("pcm_s16le", "a.mkv", "out.mp4")])
def test_audio_the_output_cannot_hold_playably_is_encoded_as_aac(tmp_path, small_style, capsys, codec, source, target):
    import av

    clip = _clip_with_audio(tmp_path / source, codec)
    result = run_cli(["video", str(clip), "-o", str(tmp_path / target), "-s", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert f"the {codec} audio is re-encoded as AAC" in result.err and "1 audio stream re-encoded as AAC" in result.err
    with av.open(str(tmp_path / target)) as container:
        assert [s.codec_context.name for s in container.streams.audio] == ["aac"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([source, target, small_style.name])  # no temp left


def test_a_folder_as_output_is_refused_before_any_work(tmp_path, small_style, photo, capsys):
    src = tmp_path / "p.png"
    cv2.imwrite(str(src), photo[:20, :20])
    (tmp_path / "p_smallstyle.png").mkdir()  # a folder where the result would go
    result = run_cli(["image", str(src), "-s", str(small_style), "--overwrite"], capsys)
    assert_one_line_error(result, "is a folder")
    assert len(result.err.splitlines()) == 1  # refused before the model loaded (no status line)
    assert_one_line_error(run_cli(["export", str(small_style), "-o", str(tmp_path), "--overwrite"], capsys), ".onnx")


def test_a_read_only_place_as_output_is_refused_before_any_work(tmp_path, small_style, photo, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("running as root, which can write anywhere: a read-only folder cannot be shown")
    src = tmp_path / "p.png"
    cv2.imwrite(str(src), photo[:20, :20])
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = run_cli(["image", str(src), "-s", str(small_style), "-o", str(locked / "sub" / "o.png")], capsys)
        assert_one_line_error(result, "cannot write", "Permission denied")
        assert len(result.err.splitlines()) == 1
    finally:
        locked.chmod(0o700)


def test_an_exported_model_says_its_precision_and_keeps_it(tmp_path, small_style, photo, capsys):
    model = tmp_path / "q.onnx"
    assert run_cli(["quantize", str(small_style), "-o", str(model), "--calibration", "tests/data"],
                   capsys).exit_code == 0
    src = tmp_path / "p.png"
    cv2.imwrite(str(src), photo[:20, :20])
    result = run_cli(["image", str(src), "-s", str(model), "--precision", "int8"], capsys)
    assert result.exit_code == 0 and "int8" in result.err  # labelled as what it is (it said fp32)
    assert_one_line_error(run_cli(["image", str(src), "-s", str(model), "--precision", "fp16", "--overwrite"], capsys),
                          "exported as int8")


def _png_claiming(path, width: int, height: int):
    """A tiny PNG whose header claims width x height (a decompression bomb's header, without its data)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_a_photo_too_large_for_opencv_to_decode_is_one_line(tmp_path, small_style, photo, capsys):
    bomb = _png_claiming(tmp_path / "bomb.png", 60_000, 60_000)
    result = run_cli(["image", str(bomb), "-s", str(small_style)], capsys)
    assert_one_line_error(result, "3,600 Mpx", "bomb.png")
    batch = tmp_path / "batch"
    batch.mkdir()
    bomb.rename(batch / "bomb.png")
    cv2.imwrite(str(batch / "ok.png"), photo[:20, :20])
    result = run_cli(["image", str(batch), "-s", str(small_style), "-o", str(tmp_path / "out")], capsys)
    assert result.exit_code == 0, result  # the batch goes on without it
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["ok_smallstyle.png"]


def test_a_calibration_photo_that_cannot_be_read_says_why(tmp_path, small_style, capsys):
    out = str(tmp_path / "q.onnx")
    bomb = _png_claiming(tmp_path / "bomb.png", 60_000, 60_000)
    assert_one_line_error(run_cli(["quantize", str(small_style), "-o", out, "--calibration", str(bomb)], capsys),
                          "calibration image", "3,600 Mpx")
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert_one_line_error(run_cli(["quantize", str(small_style), "-o", out, "--calibration",
                                   str(tmp_path / "empty.jpg")], capsys), "empty file")
    clip = make_clip(tmp_path / "c.mp4", frames=2)
    result = run_cli(["quantize", str(small_style), "-o", out, "--calibration", str(clip)], capsys)
    assert_one_line_error(result, "is a video")
    assert "stylizes it" not in result.err  # that hint is for `rtstyle image`, not a calibration set
    assert not (tmp_path / "q.onnx").exists()


@pytest.mark.parametrize("option", ["--camera", "--source"])
def test_a_camera_index_too_large_for_opencv_is_one_line(option, small_style, capsys):
    result = run_cli(["webcam", "--no-display", "--frames", "1", "-s", str(small_style), option, "9" * 20], capsys)
    assert_one_line_error(result, "cannot open camera 99999")


def test_a_folder_as_webcam_source_is_named_as_one(tmp_path, small_style, capsys):
    result = run_cli(["webcam", "--no-display", "--frames", "1", "-s", str(small_style), "--source", str(tmp_path)],
                     capsys)
    assert_one_line_error(result, "is a folder")
    assert "list-cameras" not in result.err  # the hint for a camera that is not there


@pytest.mark.parametrize("command", [["bench", "--sizes", "32x32", "--frames", "1"],
                                     ["train", "--name", "x", "--style-image", "p.png", "--content", "."]])
def test_threads_past_any_machine_are_refused(command, capsys):
    assert_one_line_error(run_cli([*command, "--threads", "100000"], capsys), "--threads", "1<=x<=1024")


@pytest.mark.parametrize("arch_arg, fragment", [
    ("width=0", "width must be >= 1"),
    ("blocks=-1", "blocks from 0 to"),  # was built as 0 blocks without a word
    ("blocks=1000000000", "blocks from 0 to"),
    ("width=100000", "too many to train or run"),  # numpy's 1.3 TiB allocation traceback
])
def test_an_architecture_out_of_range_is_one_line(arch_arg, fragment, capsys):
    result = run_cli(["bench", "--sizes", "32x32", "--frames", "1", "--backends", "onnx", "--arch-arg", arch_arg],
                     capsys)
    assert_one_line_error(result, fragment)


@requires_torch
@pytest.mark.parametrize("option, value, fragment", [
    ("--crop-size", "100000", "Mpx a step"),  # OpenCV's out-of-memory traceback
    ("--batch-size", "100000", "Mpx a step"),  # swapped for minutes, then killed by the OS
    ("--style-size", "100000", "8192 px at most"),  # OpenCV's out-of-memory traceback
])
def test_training_sizes_past_any_memory_are_one_line(tmp_path, option, value, fragment, capsys):
    cv2.imwrite(str(tmp_path / "paint.png"), cv2.imread("tests/data/chelsea.png")[:64, :64])
    (tmp_path / "photos").mkdir()
    cv2.imwrite(str(tmp_path / "photos" / "a.png"), cv2.imread("tests/data/chelsea.png")[:64, :64])
    result = run_cli(["train", "--name", "x", "--style-image", str(tmp_path / "paint.png"), "--content",
                      str(tmp_path / "photos"), "--run-dir", str(tmp_path / "run"),
                      "-o", str(tmp_path / "x.safetensors"), "--vgg-weights", str(tmp_path / "none.safetensors"),
                      option, value], capsys)
    assert_one_line_error(result, option, fragment)
    assert not (tmp_path / "x.safetensors").exists()


def test_an_onnx_model_that_does_not_return_a_frame_is_one_line(tmp_path, photo, capsys):
    import onnx
    from onnx import TensorProto, helper

    from rtstyle.export.onnx_graph import IR_VERSION

    frame = helper.make_tensor_value_info("frame", TensorProto.UINT8, [1, "h", "w", 3])
    colour = helper.make_tensor_value_info("colour", TensorProto.UINT8, [1, 1, 1, 3])
    graph = helper.make_graph([helper.make_node("ReduceMax", ["frame"], ["colour"], axes=[1, 2], keepdims=1)],
                              "brightest", [frame], [colour])
    model = tmp_path / "brightest.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=IR_VERSION), str(model))
    src = tmp_path / "p.png"
    cv2.imwrite(str(src), photo[:20, :20])
    result = run_cli(["image", str(src), "-s", str(model), "-o", str(tmp_path / "o.png")], capsys)
    assert_one_line_error(result, "brightest.onnx is not a style model", "(1, 1, 1, 3)")  # was cv2.resize's traceback
    assert not (tmp_path / "o.png").exists()


@requires_torch
def test_vgg_weights_given_as_their_folder_name_the_file(tmp_path, monkeypatch):
    from rtstyle.errors import RtstyleError
    from rtstyle.train.vgg import load_loss_network

    (tmp_path / "vgg16.safetensors").write_bytes(b"")
    with pytest.raises(RtstyleError, match="is a folder.*give the file in it: .*vgg16.safetensors"):
        load_loss_network(tmp_path)  # it said "file not found", of a folder that is there
    monkeypatch.setenv("RTSTYLE_VGG_WEIGHTS", str(tmp_path / "gone.safetensors"))
    with pytest.raises(RtstyleError, match="^RTSTYLE_VGG_WEIGHTS=.*gone.safetensors: VGG weights file not found"):
        load_loss_network(None)  # a variable set long ago is named


@requires_torch
@pytest.mark.parametrize("name", ["mine.onnx", "mine"])
def test_train_writes_a_style_only_under_a_style_files_name(tmp_path, name, capsys):
    cv2.imwrite(str(tmp_path / "paint.png"), cv2.imread("tests/data/chelsea.png")[:64, :64])
    (tmp_path / "photos").mkdir()
    cv2.imwrite(str(tmp_path / "photos" / "a.png"), cv2.imread("tests/data/chelsea.png")[:64, :64])
    result = run_cli(["train", "--name", "x", "--style-image", str(tmp_path / "paint.png"), "--content",
                      str(tmp_path / "photos"), "--run-dir", str(tmp_path / "run"), "-o", str(tmp_path / name),
                      "--vgg-weights", str(tmp_path / "none.safetensors")], capsys)
    assert_one_line_error(result, "a style is a .safetensors file", f"-o {tmp_path / 'mine.safetensors'}")


@pytest.mark.parametrize("style", ["all", "mosaic,candy"])
def test_a_single_style_command_asked_for_several_says_so(tmp_path, style, capsys):
    clip = make_clip(tmp_path / "c.mp4", frames=2)
    result = run_cli(["eval", str(clip), "-s", style], capsys)
    assert_one_line_error(result, "one name or file", "rtstyle image")  # it listed every style, or 'did you mean'
    assert_one_line_error(run_cli(["export", style, "-o", str(tmp_path / "o.onnx")], capsys), "rtstyle video")


@pytest.mark.parametrize("value, traceback", [("0", False), ("off", False), ("1", True)])
def test_rtstyle_debug_0_is_off(tmp_path, value, traceback, capsys, monkeypatch):
    from rtstyle.errors import RtstyleError

    monkeypatch.setenv("RTSTYLE_DEBUG", value)
    args = ["image", str(tmp_path / "gone.png"), "-s", "mosaic"]
    if traceback:  # debug on: the error is raised for its traceback
        with pytest.raises(RtstyleError, match="input not found"):
            run_cli(args, capsys)
    else:
        assert_one_line_error(run_cli(args, capsys), "input not found")


def test_a_cache_that_cannot_be_written_is_named_as_the_cache(tmp_path, small_style, photo, capsys, monkeypatch):
    src = tmp_path / "p.png"
    cv2.imwrite(str(src), photo[:20, :20])
    (tmp_path / "file").write_bytes(b"")
    monkeypatch.setenv("RTSTYLE_CACHE_DIR", str(tmp_path / "file"))
    result = run_cli(["image", str(src), "-s", str(small_style), "--backend", "onnx"], capsys)
    assert_one_line_error(result, "rtstyle's cache", "RTSTYLE_CACHE_DIR")  # it said "cannot create output directory"


def test_a_painting_past_the_memory_available_is_refused_with_a_size_that_fits():
    from rtstyle.errors import RtstyleError
    from rtstyle.train.data import refuse_painting_past_memory

    with pytest.raises(RtstyleError, match=r"8192x8192 px needs about 52 GB .* 24 GB available: --style-size 5"):
        refuse_painting_past_memory((8192, 8192, 3), available=24 * 10**9)  # --style-size 8192: killed by the OS
    refuse_painting_past_memory((2048, 2048, 3), available=24 * 10**9)  # fits: no refusal
    with pytest.raises(RtstyleError, match=r"needs about 2.9 GB .* the 800 MB available"):  # said "0 GB available"
        refuse_painting_past_memory((2048, 1800, 3), available=800 * 10**6)


@requires_torch
def test_eval_refuses_a_style_size_past_any_memory(tmp_path, small_style, capsys):
    cv2.imwrite(str(tmp_path / "paint.png"), cv2.imread("tests/data/chelsea.png")[:64, :64])
    result = run_cli(["eval", "-s", str(small_style), "--photos", "tests/data/chelsea.png", "--style-image",
                      str(tmp_path / "paint.png"), "--style-size", "99999999"], capsys)
    assert_one_line_error(result, "--style-size 99999999", "8192 px at most")  # OpenCV's 30 PB allocation traceback


def test_a_bench_size_past_the_frame_limit_is_one_line(capsys):
    result = run_cli(["bench", "--sizes", "32x32,99999x99999", "--frames", "1", "--backends", "onnx"], capsys)
    assert_one_line_error(result, "99999x99999", "67 Mpx at most")  # OpenCV's 30 GB allocation traceback


def test_the_input_folder_as_output_folder_stylizes_its_photos(tmp_path, small_style, photo, capsys):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    cv2.imwrite(str(folder / "a.png"), photo[:20, :20])
    cv2.imwrite(str(folder / "sub" / "b.png"), photo[:20, :20])
    result = run_cli(["image", str(folder), "-s", str(small_style), "-o", str(folder)], capsys)
    assert result.exit_code == 0, result  # it said "no images found in the given inputs"
    assert (folder / "a_smallstyle.png").is_file() and (folder / "sub" / "b_smallstyle.png").is_file()
    again = run_cli(["image", str(folder), "-s", str(small_style), "-o", str(folder)], capsys)
    assert again.exit_code == 0 and "nothing to do" in again.err  # its results are not stylized in turn


def test_a_clip_frame_that_cannot_be_read_says_why(tmp_path, small_style, photo, capsys):
    cv2.imwrite(str(tmp_path / "0.png"), photo[:32, :32])
    cv2.imwrite(str(tmp_path / "1.png"), photo[:32, :32])
    (tmp_path / "2.png").write_bytes(b"")
    assert_one_line_error(run_cli(["eval", str(tmp_path), "-s", str(small_style)], capsys), "empty file", "2.png")
    _png_claiming(tmp_path / "2.png", 60_000, 60_000)
    assert_one_line_error(run_cli(["eval", str(tmp_path), "-s", str(small_style)], capsys), "3,600 Mpx")


def test_an_empty_video_file_is_named_as_empty_by_every_command(tmp_path, small_style, capsys):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")  # an interrupted copy: FFmpeg's "invalid data found" hid it
    for args in (["video", str(empty), "-s", str(small_style)], ["eval", str(empty), "-s", str(small_style)],
                 ["webcam", "--no-display", "--frames", "1", "-s", str(small_style), "--source", str(empty)]):
        assert_one_line_error(run_cli(args, capsys), "empty file (0 bytes)")


def test_a_folder_as_style_is_named_as_a_folder(tmp_path, photo, capsys):
    src = tmp_path / "p.png"
    cv2.imwrite(str(src), photo[:20, :20])
    (tmp_path / "styles").mkdir()
    result = run_cli(["image", str(src), "-s", str(tmp_path / "styles")], capsys)
    assert_one_line_error(result, "is a folder, not a style file")  # it said "style file not found"


def test_a_misspelt_command_gets_the_likely_one(capsys):
    assert_one_line_error(run_cli(["imag", "photo.jpg"], capsys), "No such command 'imag'. Did you mean 'image'?",
                          "rtstyle --help")
    assert_one_line_error(run_cli(["style"], capsys), "Did you mean 'styles'?")
    assert_one_line_error(run_cli(["frobnicate"], capsys), "No such command 'frobnicate'.")
