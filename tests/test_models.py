import pytest

from conftest import HAS_TORCH, requires_torch
from rtstyle.errors import RtstyleError
from rtstyle.models.registry import available_models, create_model, create_spec
from rtstyle.models.weights import expected_weight_shapes

if HAS_TORCH:  # the core install has none: the tests that use it are marked requires_torch
    import torch


def test_johnson_matches_the_published_architecture():
    spec = create_spec("johnson")
    convs = spec.convs()
    assert [(c.in_ch, c.out_ch, c.kernel, c.stride) for c in convs[:3]] == [(3, 32, 9, 1), (32, 64, 3, 2), (64, 128, 3, 2)]
    assert sum(1 for c in convs if c.in_ch == c.out_ch == 128) == 10  # five residual blocks of two convs
    assert [c.upsample for c in convs[-3:]] == [2, 2, 1]
    assert spec.size_multiple == 4
    # about 154k multiply-adds per pixel and 1.68M parameters (pytorch/examples TransformerNet)
    assert 150_000 < spec.macs_per_pixel() < 158_000
    assert spec.num_params() == 1_679_235
    if HAS_TORCH:  # and the torch network has exactly those
        assert sum(p.numel() for p in create_model("johnson").parameters()) == 1_679_235


@requires_torch
def test_state_dict_names_match_the_shared_weight_table():
    model = create_model("johnson", width=8, blocks=2)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes == expected_weight_shapes(model.spec)


@requires_torch
@pytest.mark.parametrize("size", [(1, 1), (3, 5), (7, 13), (31, 33), (64, 48), (101, 67)])
def test_output_keeps_any_input_size(size):
    model = create_model("johnson", width=8, blocks=1).eval()
    with torch.no_grad():
        y = model(torch.rand(2, 3, *size) * 255)
    assert y.shape == (2, 3, *size)
    assert torch.isfinite(y).all()


@requires_torch
def test_no_checkerboard_upsampling_is_nearest_then_conv():
    model = create_model("johnson")
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in model.modules())


def test_unknown_architecture_suggests_close_names():
    assert "johnson" in available_models()
    with pytest.raises(RtstyleError, match="did you mean johnson"):
        create_spec("jonson")
    with pytest.raises(RtstyleError, match="bad parameters"):
        create_spec("johnson", depth=3)


@requires_torch
@pytest.mark.parametrize("arch", ["johnson", "fast"])
def test_a_fresh_network_starts_near_mid_grey_not_black(arch):
    torch.manual_seed(0)
    model = create_model(arch)
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 48) * 255)
    assert abs(out.mean().item() - 127.5) < 30  # a zero output bias would put it near 0
