"""Synthetic frame pairs with exact flow, and the temporal losses for training."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rtstyle.flow import FlowEstimator, warp_backward  # noqa: E402
from rtstyle.train.temporal import (SyntheticMotion, feature_temporal_loss, luminance,  # noqa: E402
                                    make_synthetic_pair, noise_stability_loss, temporal_loss, warp)


def photo_batch(photo, size=96):
    image = np.ascontiguousarray(photo[:size, :size, ::-1])  # BGR -> RGB
    return torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float()


def test_synthetic_pair_flow_is_exact_and_follows_the_numpy_convention(photo):
    frame1, frame2, flow, mask = make_synthetic_pair(photo_batch(photo), torch.Generator().manual_seed(1))
    assert frame2.shape == frame1.shape and flow.shape == (1, 2, 96, 96) and mask.shape == (1, 1, 96, 96)
    assert 0.6 < mask.mean() < 1.0  # some pixels come from outside the first frame
    assert flow.abs().max() > 1.0  # it really moves
    # rtstyle.flow.warp_backward (OpenCV) with the same flow rebuilds frame 2 from frame 1: one convention.
    flow_np = flow[0].permute(1, 2, 0).numpy()
    rebuilt = warp_backward(frame1[0].permute(1, 2, 0).numpy(), flow_np)
    valid = mask[0, 0].numpy() > 0
    inner = valid & np.pad(np.ones((92, 92), bool), 2)
    assert np.abs(rebuilt[inner] - frame2[0].permute(1, 2, 0).numpy()[inner]).max() < 0.5
    # And the optical flow of the pair agrees with the exact flow (frame 2's grid into frame 1).
    to_u8 = lambda t: np.ascontiguousarray(t[0].permute(1, 2, 0).numpy()[..., ::-1].round().astype(np.uint8))  # noqa: E731
    estimated = FlowEstimator("dis")(to_u8(frame2), to_u8(frame1))
    assert np.median(np.abs(estimated - flow_np)[inner]) < 0.5


def test_pairs_differ_with_the_generator_and_repeat_with_the_seed(photo):
    batch = photo_batch(photo).repeat(2, 1, 1, 1)
    _, a, flow_a, _ = make_synthetic_pair(batch, torch.Generator().manual_seed(3))
    _, b, flow_b, _ = make_synthetic_pair(batch, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and torch.equal(flow_a, flow_b)
    assert not torch.allclose(flow_a[0], flow_a[1])  # each item of the batch moves on its own


def test_temporal_loss_is_lower_for_a_stable_pair_than_a_flickering_one(photo):
    generator = torch.Generator().manual_seed(0)
    frame1, frame2, flow, mask = make_synthetic_pair(photo_batch(photo), generator)
    out1 = frame1.flip(1) * 0.7 + 40  # a stand-in "style" that follows the content
    stable_out2 = warp(out1, flow)
    flicker = torch.randn(out1.shape, generator=generator) * 12
    stable = temporal_loss(out1, stable_out2, frame1, frame2, flow, mask)
    flickering = temporal_loss(out1, stable_out2 + flicker, frame1, frame2, flow, mask)
    assert stable < 1e-6
    assert flickering > 100 * max(float(stable), 1e-8)
    assert flickering == pytest.approx((12 / 255) ** 2, rel=0.1)  # units of [0, 1] images


def test_luminance_correction_allows_the_output_to_follow_lighting(photo):
    generator = torch.Generator().manual_seed(0)
    motion = SyntheticMotion(max_brightness=0.0)
    frame1, frame2, flow, mask = make_synthetic_pair(photo_batch(photo), generator, motion)
    brighter = frame2 + 20.0  # the light came up between the frames
    out1 = frame1 * 0.5
    out2 = warp(out1, flow) + luminance(brighter - frame2)  # the output brightens by the same amount
    corrected = temporal_loss(out1, out2, frame1, brighter, flow, mask)
    uncorrected = temporal_loss(out1, out2, frame1, brighter, flow, mask, luminance_correction=False)
    assert corrected < 1e-6 < uncorrected


def test_feature_loss_resizes_flow_and_mask(photo):
    frame1, _, flow, mask = make_synthetic_pair(photo_batch(photo), torch.Generator().manual_seed(2))
    features1 = torch.nn.functional.avg_pool2d(frame1, 4)
    features2 = torch.nn.functional.avg_pool2d(warp(frame1, flow), 4)
    consistent = feature_temporal_loss(features1, features2, flow, mask)
    shuffled = feature_temporal_loss(features1, features2.flip(-1), flow, mask)
    assert consistent < 0.05 * shuffled


def test_noise_stability_loss_has_gradients_and_grows_with_noise(photo):
    from rtstyle.models.registry import create_model

    torch.manual_seed(0)
    model = create_model("johnson", width=8, blocks=1)
    inputs = photo_batch(photo, 64)
    outputs = model(inputs)
    small = noise_stability_loss(model, inputs, outputs, sigma=1.0, generator=torch.Generator().manual_seed(0))
    large = noise_stability_loss(model, inputs, outputs, sigma=20.0, generator=torch.Generator().manual_seed(0))
    assert 0 < small < large
    large.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
