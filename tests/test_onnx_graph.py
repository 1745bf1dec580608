import numpy as np
import onnxruntime as ort
import pytest

from rtstyle.export.onnx_graph import build_onnx
from rtstyle.models.registry import create_spec

from conftest import HAS_TORCH, random_style_weights, requires_torch

if HAS_TORCH:  # the core install has none: the tests that use it are marked requires_torch
    import torch

    from rtstyle.engine.torch_backend import frames_to_tensor, tensor_to_frames
    from rtstyle.models.torch_net import StyleNet


def torch_net(weights, **kwargs):
    net = StyleNet(create_spec("johnson", **kwargs))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    return net.eval()


def session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@requires_torch
@pytest.mark.parametrize("size", [(1, 1), (5, 9), (33, 47), (64, 64), (120, 161)])
def test_tensor_graph_matches_torch(size):
    weights = random_style_weights(width=16, blocks=2)
    net = torch_net(weights, width=16, blocks=2)
    x = torch.rand(2, 3, *size) * 255
    with torch.no_grad():
        expected = net(x).numpy()
    got = session(build_onnx(net.spec, weights, io="tensor")).run(None, {"input": x.numpy()})[0]
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() / 255 < 1e-3
    assert expected.std() > 1  # the comparison is not between two constants


@requires_torch
@pytest.mark.parametrize("fp16", [False, True])
def test_frame_graph_matches_torch_pre_and_post_processing(photo, fp16):
    weights = random_style_weights(width=16, blocks=2)
    net = torch_net(weights, width=16, blocks=2)
    frame = np.ascontiguousarray(photo[:101, :77])
    with torch.no_grad():
        expected = tensor_to_frames(net(frames_to_tensor(frame[None], torch.device("cpu"))))
    got = session(build_onnx(net.spec, weights, io="frame", fp16=fp16)).run(None, {"frame": frame[None]})[0]
    assert got.dtype == np.uint8 and got.shape == expected.shape
    diff = np.abs(got.astype(int) - expected.astype(int))
    assert diff.max() <= (4 if fp16 else 1)
    assert diff.mean() < (0.5 if fp16 else 0.01)


def test_graph_has_symbolic_batch_height_width():
    weights = random_style_weights(width=8, blocks=1)
    model = build_onnx(create_spec("johnson", width=8, blocks=1), weights, io="frame")
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "height", "width", 3]
    s = session(model)
    for shape in [(1, 10, 10, 3), (3, 17, 29, 3)]:
        assert s.run(None, {"frame": np.zeros(shape, np.uint8)})[0].shape == shape


@pytest.mark.parametrize("fixed", [False, True])
@pytest.mark.parametrize("hw", [(1, 1), (2, 3), (3, 50), (17, 17), (1, 40), (33, 34), (45, 61)])
def test_border_margin_in_the_graph_is_cv2s_reflect_101(hw, fixed):
    """The graph's margin equals what rtstyle adds itself (cv2.BORDER_REFLECT_101, `with_border_margin`), also
    where the margin is wider than the frame: onnxruntime's reflect Pad alone refuses that."""
    from rtstyle.engine.base import with_border_margin, without_border_margin

    weights = random_style_weights(width=8, blocks=1)
    spec = create_spec("johnson", width=8, blocks=1)
    frames = np.random.default_rng(2).integers(0, 256, (2, *hw, 3), dtype=np.uint8)
    plain = session(build_onnx(spec, weights, io="frame"))
    expected = without_border_margin(plain.run(None, {"frame": with_border_margin(frames, 32)})[0], 32)
    model = build_onnx(spec, weights, io="frame", border_margin=32, fixed_hw=hw if fixed else None)
    assert ("Shape" in {n.op_type for n in model.graph.node}) != fixed
    got = session(model).run(None, {"frame": frames})[0]
    assert got.shape == frames.shape and np.abs(got.astype(int) - expected).max() <= 1


def test_reflect_steps():
    from rtstyle.export.onnx_graph import reflect_steps

    assert reflect_steps(100, 32) == [32]
    assert reflect_steps(17, 32) == [16, 16]
    assert reflect_steps(2, 32) == [1, 3, 9, 19]
    assert reflect_steps(1, 32) == [] and reflect_steps(50, 0) == []
