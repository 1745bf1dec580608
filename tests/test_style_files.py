import numpy as np
import pytest

from rtstyle.errors import RtstyleError
from rtstyle.styles.catalog import find_style, list_styles
from rtstyle.styles.format import StyleFile, load_style_file, save_style_file

from conftest import random_style_weights


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    weights = random_style_weights(width=8, blocks=1)
    meta = {"name": "x", "title": "T", "losses": {"style": 1.5}, "steps": 12}
    save_style_file(tmp_path / "x.safetensors", StyleFile("johnson", {"width": 8, "blocks": 1}, weights, meta))
    loaded = load_style_file(tmp_path / "x.safetensors")
    assert loaded.arch == "johnson" and loaded.arch_kwargs == {"width": 8, "blocks": 1}
    assert loaded.metadata["losses"] == {"style": 1.5} and loaded.metadata["steps"] == 12
    assert loaded.metadata["rtstyle_version"]
    for k, v in weights.items():
        np.testing.assert_array_equal(loaded.weights[k], v)


def test_half_storage_halves_size_and_upcasts(tmp_path):
    weights = random_style_weights(width=8, blocks=1)
    save_style_file(tmp_path / "f.safetensors", StyleFile("johnson", {"width": 8, "blocks": 1}, weights))
    save_style_file(tmp_path / "h.safetensors", StyleFile("johnson", {"width": 8, "blocks": 1}, weights), half=True)
    full, half = (tmp_path / "f.safetensors").stat().st_size, (tmp_path / "h.safetensors").stat().st_size
    assert half < 0.6 * full
    loaded = load_style_file(tmp_path / "h.safetensors").float32_weights()
    for k, v in weights.items():
        np.testing.assert_allclose(loaded[k], v, rtol=1e-3, atol=1e-3)


def test_int8_storage_quarters_size_and_each_weight_stays_within_half_a_step(tmp_path):
    weights = random_style_weights(width=8, blocks=1)
    style = StyleFile("johnson", {"width": 8, "blocks": 1}, weights)
    save_style_file(tmp_path / "f.safetensors", style)
    save_style_file(tmp_path / "q.safetensors", style, int8=True)
    full, quantized = (tmp_path / "f.safetensors").stat().st_size, (tmp_path / "q.safetensors").stat().st_size
    assert quantized < 0.3 * full
    loaded = load_style_file(tmp_path / "q.safetensors").float32_weights()
    assert set(loaded) == set(weights)  # the scales are not weights
    for k, v in weights.items():
        if v.ndim >= 2:  # conv kernels: int8 with one scale per output channel
            step = np.abs(v).reshape(v.shape[0], -1).max(axis=1) / 127
            assert np.all(np.abs(loaded[k] - v) <= 0.51 * step.reshape(-1, *[1] * (v.ndim - 1)) + 1e-3)
            assert len(np.unique(loaded[k][0])) > 2  # not collapsed to a few levels
        else:
            np.testing.assert_allclose(loaded[k], v, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("corrupt", ["empty", "truncated", "foreign", "garbage", "wrong_shapes"])
def test_bad_style_files_are_one_clear_error(tmp_path, random_style, corrupt):
    path = tmp_path / f"{corrupt}.safetensors"
    data = random_style.read_bytes()
    if corrupt == "empty":
        path.write_bytes(b"")
    elif corrupt == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif corrupt == "garbage":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    elif corrupt == "foreign":
        from safetensors.numpy import save_file

        save_file({"w": np.zeros(3, np.float32)}, str(path))
    else:
        save_style_file(path, StyleFile("johnson", {"width": 8, "blocks": 1}, random_style_weights()))
    with pytest.raises(RtstyleError) as info:
        load_style_file(path)
    assert "\n" not in str(info.value)


def test_find_style_by_name_and_path(tmp_path, random_style, monkeypatch):
    import os
    import shutil

    user_dir = tmp_path / "user"
    monkeypatch.setenv("RTSTYLE_STYLES_DIR", str(user_dir))
    user_dir.mkdir()
    shutil.copy(random_style, user_dir / "starry.safetensors")
    assert find_style("starry").path == user_dir / "starry.safetensors"
    assert find_style(str(random_style)).source == "path"
    assert "starry" in [e.name for e in list_styles()]
    with pytest.raises(RtstyleError, match="did you mean starry"):
        find_style("stary")
    with pytest.raises(RtstyleError, match=r"did you mean rain-princess, rain-princess-fast\?"):
        find_style("rain")  # a name's beginning
    with pytest.raises(RtstyleError, match="available: ") as refused:
        find_style("nosuch")  # nothing alike: the list, not a far-fetched guess ('mosaic' at difflib's 0.5)
    assert "did you mean" not in str(refused.value)
    with pytest.raises(RtstyleError, match="not found"):
        find_style(os.path.join(str(tmp_path), "missing.safetensors"))


def test_atomic_outputs_get_ordinary_permissions(tmp_path):
    import os
    import stat

    from rtstyle.io.atomic import atomic_write_bytes, current_umask

    atomic_write_bytes(tmp_path / "f.bin", b"x")
    mode = stat.S_IMODE(os.stat(tmp_path / "f.bin").st_mode)
    assert mode == 0o666 & ~current_umask()
    assert mode & 0o044  # readable by others under the usual umask, not 0600 like mkstemp's files


def test_near_misses_say_what_they_are(tmp_path, small_style, photo, capsys):
    """An exported model or a training checkpoint given where a style goes: what it is and what to do instead."""
    from safetensors.numpy import save_file

    from helpers import assert_one_line_error, run_cli

    model = tmp_path / "m.onnx"
    assert run_cli(["export", str(small_style), "-o", str(model)], capsys).exit_code == 0
    for command in (["export", str(model), "-o", str(tmp_path / "again.onnx")],
                    ["quantize", str(model), "-o", str(tmp_path / "q.onnx")]):
        assert_one_line_error(run_cli(command, capsys), "is an exported ONNX model, not a style")
    checkpoint = tmp_path / "checkpoint.safetensors"
    save_file({"step": np.zeros(1, np.int64)}, str(checkpoint), metadata={"rtstyle_checkpoint": "{}"})
    import cv2

    cv2.imwrite(str(tmp_path / "p.png"), photo[:16, :16])
    assert_one_line_error(run_cli(["image", str(tmp_path / "p.png"), "-s", str(checkpoint)], capsys),
                          "is a training checkpoint", "--resume")
