"""The fast architecture family: sizes, ONNX parity with torch, cost numbers, and the CLI listings."""

import numpy as np
import onnxruntime as ort
import pytest

from rtstyle.errors import RtstyleError
from rtstyle.export.onnx_graph import build_onnx
from rtstyle.models.registry import available_models, create_model, create_spec
from rtstyle.models.weights import expected_weight_shapes

from conftest import HAS_TORCH, random_style_weights, requires_torch
from helpers import run_cli

if HAS_TORCH:  # the core install has none: the tests that use it are marked requires_torch
    import torch

    from rtstyle.engine.torch_backend import frames_to_tensor, tensor_to_frames
    from rtstyle.models.torch_net import StyleNet

FAST_ARCHS = ["fast", "fast-tiny"]


def torch_net(arch, weights):
    net = StyleNet(create_spec(arch))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    return net.eval()


def session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def test_fast_archs_are_registered_and_much_cheaper_than_johnson():
    johnson = create_spec("johnson").macs_per_pixel()
    for arch in FAST_ARCHS:
        assert arch in available_models()
        spec = create_spec(arch)
        assert spec.macs_per_pixel() < johnson / 25
        # capacity kept from Johnson: instance norm, nearest upsample + conv, >= 3 residual blocks
        assert sum(1 for c in spec.convs() if c.norm) >= 10
        assert [c.upsample for c in spec.convs()[-3:]] == [2, 2, 2]
        assert sum(1 for layer in spec.layers if hasattr(layer, "body")) >= 3


def test_bad_family_parameters_are_clear_errors():
    with pytest.raises(RtstyleError, match="width must be >= 1"):
        create_spec("fast", width=0)
    with pytest.raises(RtstyleError, match="bad parameters"):
        create_spec("fast-tiny", depth=3)
    assert create_spec("fast", width=24, blocks=2).kwargs == {"width": 24, "blocks": 2}


def test_fast_cost_matches_a_hand_count():
    spec = create_spec("fast")  # width 16, 5 blocks
    stem = 9 * 9 * 3 * 16 / 4  # 9x9 conv 3->16 at stride 2: a quarter of the input positions
    down = 3 * 3 * 16 * 32 / 4**2 + 3 * 3 * 32 * 64 / 8**2
    # separable block at 1/8 resolution: (depthwise 3x3 on 64 ch + pointwise 64x64) twice
    blocks = 5 * 2 * (3 * 3 * 64 + 64 * 64) / 8**2
    up = 3 * 3 * 64 * 32 / 4**2 + 3 * 3 * 32 * 16 / 2**2 + 3 * 3 * 16 * 3
    assert spec.macs_per_pixel() == stem + down + blocks + up == 5014
    # the stem's parameters: 9x9x3x16 weights + 16 biases + 2x16 instance-norm affine
    stem_only = type(spec)(name="stem", layers=spec.layers[:1])
    assert stem_only.num_params() == 9 * 9 * 3 * 16 + 16 + 32
    assert spec.num_params() == 100_163
    if HAS_TORCH:  # and the torch network has exactly those
        assert sum(p.numel() for p in create_model("fast").parameters()) == 100_163


@requires_torch
@pytest.mark.parametrize("arch", FAST_ARCHS)
def test_declared_cost_matches_the_macs_torch_actually_runs(arch):
    net = create_model(arch).eval()
    counted = []

    def count(module, inputs, output):
        counted.append(output.numel() * module.in_channels // module.groups * module.kernel_size[0] ** 2)

    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_hook(count)
    with torch.no_grad():
        net(torch.zeros(1, 3, 64, 96))  # a multiple of 8: no alignment padding
    assert sum(counted) == create_spec(arch).macs_per_pixel() * 64 * 96


@requires_torch
@pytest.mark.parametrize("arch", FAST_ARCHS)
def test_weights_names_match_torch(arch):
    model = create_model(arch)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == expected_weight_shapes(model.spec)


@requires_torch
@pytest.mark.parametrize("arch", FAST_ARCHS)
@pytest.mark.parametrize("size", [(1, 1), (7, 13), (33, 47), (120, 161)])
def test_tensor_graph_keeps_size_and_matches_torch(arch, size):
    weights = random_style_weights(arch)
    net = torch_net(arch, weights)
    x = torch.rand(2, 3, *size) * 255
    with torch.no_grad():
        expected = net(x).numpy()
    assert expected.shape == (2, 3, *size)
    got = session(build_onnx(net.spec, weights, io="tensor")).run(None, {"input": x.numpy()})[0]
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() / 255 < 1e-3
    assert expected.std() > 1  # the comparison is not between two constants


@requires_torch
@pytest.mark.parametrize("arch", FAST_ARCHS)
@pytest.mark.parametrize("fp16", [False, True])
def test_frame_graph_matches_torch_on_a_photo(arch, fp16, photo):
    weights = random_style_weights(arch)
    net = torch_net(arch, weights)
    frame = np.ascontiguousarray(photo[:101, :77])  # odd size
    with torch.no_grad():
        expected = tensor_to_frames(net(frames_to_tensor(frame[None], torch.device("cpu"))))
    got = session(build_onnx(net.spec, weights, io="frame", fp16=fp16)).run(None, {"frame": frame[None]})[0]
    assert got.shape == expected.shape == (1, 101, 77, 3)
    diff = np.abs(got.astype(int) - expected.astype(int))
    assert diff.max() <= (4 if fp16 else 1)
    assert diff.mean() < (0.5 if fp16 else 0.01)


def test_archs_command_lists_fast_archs_with_their_cost(capsys):
    result = run_cli(["archs"], capsys)
    assert result.exit_code == 0, result
    lines = {line.split()[0]: line for line in result.out.splitlines() if line.strip()}
    assert "5.0k" in lines["fast"] and "100,163" in lines["fast"]
    assert "1.5k" in lines["fast-tiny"] and "22,563" in lines["fast-tiny"]
    assert "153.8k" in lines["johnson"]
    # receptive fields: johnson 1 + 8 + 2 + 2*2 + 10*2*4 + 2*2 + 2 + 8 = 109; fast's blocks sit at 1/8
    assert "109px" in lines["johnson"] and "195px" in lines["fast"] and "131px" in lines["fast-tiny"]


def test_styles_command_shows_the_cost_of_a_fast_style(capsys, isolated_dirs):
    from rtstyle.styles.format import StyleFile, save_style_file

    save_style_file(isolated_dirs / "styles" / "quick.safetensors",
                    StyleFile("fast", {"width": 16, "blocks": 5}, random_style_weights("fast"), {"name": "quick"}))
    save_style_file(isolated_dirs / "styles" / "tiny.safetensors",
                    StyleFile("fast-tiny", {"width": 8, "blocks": 3}, random_style_weights("fast-tiny"), {"name": "tiny"}))
    result = run_cli(["styles"], capsys)
    assert result.exit_code == 0, result
    assert "fast (5.01k MAC/px)" in result.out
    assert "fast-tiny (1.54k MAC/px)" in result.out or "fast-tiny (1.55k MAC/px)" in result.out
