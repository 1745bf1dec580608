"""The loss network: conventions parsed from the weights file and applied to the input, bad files refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import VGG_FILE, requires_vgg  # noqa: E402
from helpers import assert_one_line_error, run_cli  # noqa: E402
from train_utils import make_content_folder, random_vgg_state, write_style_image  # noqa: E402

from rtstyle.errors import RtstyleError  # noqa: E402
from rtstyle.train import vgg as vgg_module  # noqa: E402
from rtstyle.train.vgg import LossNetwork, load_loss_network, load_vgg_file, parse_convention  # noqa: E402

SHARED_CONVENTION = "BGR, 0..255, minus mean [103.939,116.779,123.68]"


def test_parse_caffe_convention() -> None:
    convention = parse_convention(SHARED_CONVENTION)
    assert convention.channels == "BGR"
    assert convention.scale == 255.0
    assert convention.mean == (103.939, 116.779, 123.68)
    assert convention.std == (1.0, 1.0, 1.0)


def test_parse_torchvision_style_convention() -> None:
    convention = parse_convention("RGB, 0..1, mean [0.485,0.456,0.406], std [0.229,0.224,0.225]")
    assert (convention.channels, convention.scale, convention.std) == ("RGB", 1.0, (0.229, 0.224, 0.225))


@pytest.mark.parametrize("text", ["", "caffe", "BGR minus mean", "YUV, 0..255, minus mean [1,2,3]", "RGB, 0..1"])
def test_unknown_conventions_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_convention(text)


def test_convention_is_applied_to_the_input() -> None:
    rgb = torch.rand(1, 3, 8, 8) * 255
    bgr_file = LossNetwork(random_vgg_state(), parse_convention(SHARED_CONVENTION))
    expected = rgb.flip(1) - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    assert torch.allclose(bgr_file.convention.apply(rgb), expected, atol=1e-4)
    rgb_file = LossNetwork(random_vgg_state(), parse_convention("RGB, 0..1, mean [0.5,0.5,0.5], std [0.25,0.25,0.25]"))
    assert torch.allclose(rgb_file.convention.apply(rgb), (rgb / 255 - 0.5) / 0.25, atol=1e-5)


@requires_vgg
def test_shared_file_features_follow_its_bgr_convention(photo: np.ndarray) -> None:
    net = load_vgg_file(VGG_FILE)
    assert net.convention.channels == "BGR" and net.convention.scale == 255.0
    rgb = torch.from_numpy(np.ascontiguousarray(photo[:64, :64, ::-1])).permute(2, 0, 1)[None].float()
    features = net(rgb, ("relu1_2", "relu2_2"))

    # The same computation by hand from the raw tensors: BGR, minus the Caffe mean, conv-relu-conv-relu.
    from safetensors.torch import load_file

    raw = load_file(str(VGG_FILE))
    x = rgb.flip(1) - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    x = torch.relu(torch.nn.functional.conv2d(x, raw["features.0.weight"], raw["features.0.bias"], padding=1))
    manual = torch.relu(torch.nn.functional.conv2d(x, raw["features.2.weight"], raw["features.2.bias"], padding=1))
    assert torch.allclose(features["relu1_2"], manual, atol=1e-3, rtol=1e-4)

    # Fed RGB (the wrong convention for this file) the features differ clearly.
    rgb_fed = LossNetwork({f"features.{k}": v for k, v in net.features.state_dict().items()},
                          parse_convention("RGB, 0..255, minus mean [123.68,116.779,103.939]"))
    wrong = rgb_fed(rgb, ("relu2_2",))["relu2_2"]
    relative = (wrong - features["relu2_2"]).abs().mean() / features["relu2_2"].abs().mean()
    assert relative > 0.05


@requires_vgg
def test_env_variable_selects_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTSTYLE_VGG_WEIGHTS", str(VGG_FILE))
    net, source = load_loss_network(None)
    assert net.convention.channels == "BGR"
    assert source == VGG_FILE.name
    assert not any(p.requires_grad for p in net.parameters())
    assert not net.training


def test_offline_torchvision_download_fails_with_both_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RTSTYLE_VGG_WEIGHTS", raising=False)

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(RtstyleError) as info:
        load_loss_network(None)
    message = str(info.value)
    assert "--vgg-weights" in message and "RTSTYLE_VGG_WEIGHTS" in message and "\n" not in message


def _save_vgg(path: Path, state: dict, metadata: dict | None) -> Path:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, str(path), metadata=metadata)
    return path


@pytest.fixture
def train_inputs(tmp_path: Path) -> list[str]:
    content = make_content_folder(tmp_path / "content", count=2)
    style = write_style_image(tmp_path / "style.png")
    return ["train", "--style-image", str(style), "--content", str(content), "--name", "t", "--steps", "1",
            "--crop-size", "32", "--width", "8", "--blocks", "1", "--run-dir", str(tmp_path / "run")]


@pytest.mark.parametrize("case", ["garbage", "no_convention", "unknown_convention", "wrong_shapes", "missing"])
def test_bad_vgg_files_give_one_line(case: str, tmp_path: Path, train_inputs: list[str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "vgg.safetensors"
    state = random_vgg_state()
    if case == "garbage":
        path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    elif case == "no_convention":
        _save_vgg(path, state, None)
    elif case == "unknown_convention":
        _save_vgg(path, state, {"input": "whatever the model likes"})
    elif case == "wrong_shapes":
        state["features.0.weight"] = torch.zeros(64, 3, 5, 5)
        _save_vgg(path, state, {"input": SHARED_CONVENTION})
    result = run_cli([*train_inputs, "--vgg-weights", str(path)], capsys)
    assert_one_line_error(result, "vgg")
    assert not (tmp_path / "run" / "checkpoint.safetensors").exists()


def test_torchvision_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RTSTYLE_VGG_WEIGHTS", raising=False)
    seen = {}

    def fake_download(url: str, **kwargs: object) -> dict:
        seen["url"] = url
        return {**random_vgg_state(), "classifier.0.weight": torch.zeros(1)}

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    net, source = load_loss_network(None)
    assert "vgg16-397923af" in seen["url"]  # torchvision's IMAGENET1K_V1 file
    assert net.convention == vgg_module.TORCHVISION_CONVENTION
    assert "IMAGENET1K_V1" in source
