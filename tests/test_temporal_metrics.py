"""Optical flow conventions, the occlusion check, and the warping error of Lai et al. 2018."""

import numpy as np
import pytest

from rtstyle.flow import (FlowEstimator, motion_boundaries, occlusion_mask, out_of_frame, pair_motion, resize_flow,
                          warp_backward)
from rtstyle.metrics.temporal import Ghosting, pair_warping_error, warping_error
from temporal_clips import flicker, moving_square_clip, panning_clip


def estimated_motion(clip):
    estimator = FlowEstimator("dis", preset="medium")
    motions = [pair_motion(a, b, estimator) for a, b in zip(clip, clip[1:])]
    return [m.forward for m in motions], [m.valid_forward for m in motions]


def test_warp_backward_lines_up_the_next_frame_with_the_exact_flow():
    clip, flow = panning_clip(2)
    warped = warp_backward(clip[1], flow)
    inside = ~out_of_frame(flow)
    assert np.array_equal(warped[inside], clip[0][inside])
    # The window moved right and down: the left columns and top rows of frame 0 are gone from frame 1.
    assert out_of_frame(flow)[:, :3].all() and out_of_frame(flow)[:2].all() and inside[2:, 3:].all()


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_estimated_flow_recovers_a_known_pan(method):
    clip, exact = panning_clip(2, step=(3, -2))
    flow = FlowEstimator(method)(clip[0], clip[1])
    interior = (slice(10, -10), slice(10, -10))
    assert np.median(np.abs(flow[interior] - exact[interior])) < 0.25


def test_reduced_resolution_flow_is_rescaled_to_full_size():
    clip, exact = panning_clip(2, shape=(192, 256), step=(4, 2))
    flow = FlowEstimator("dis", scale=0.5)(clip[0], clip[1])
    assert flow.shape == exact.shape
    assert np.median(np.abs(flow[20:-20, 20:-20] - exact[20:-20, 20:-20])) < 0.5
    doubled = resize_flow(np.ones((4, 5, 2), np.float32), (8, 10))
    assert doubled.shape == (8, 10, 2) and np.allclose(doubled, 2.0)


def test_occlusion_check_flags_inconsistent_flow_and_motion_boundaries():
    height, width = 40, 50
    forward = np.zeros((height, width, 2), np.float32)
    forward[..., 0] = 2.0
    backward = -forward
    assert not occlusion_mask(forward, backward)[:, :-3].any()  # consistent translation: nothing occluded
    bad_backward = backward.copy()
    bad_backward[10:20, 10:20] = 5.0  # the reverse flow does not bring these pixels back
    occluded = occlusion_mask(forward, bad_backward)
    assert occluded[10:20, 8:18].all()  # the pixels that land on the bad patch and not occluded[30:, :40].any()
    step = forward.copy()
    step[:, 25:, 0] = -3.0  # two regions moving apart: a motion boundary along x = 24
    assert motion_boundaries(step)[:, 24].all() and not motion_boundaries(step)[:, 30].any()


def test_motion_boundaries_match_the_formula_summed_over_the_flow_channels():
    """The per-channel version (the stabiliser's hot path) gives exactly the mask of the straightforward one."""
    clip, _ = moving_square_clip(2)
    flows = [FlowEstimator("dis", preset="ultrafast")(clip[0], clip[1]),
             np.random.default_rng(0).normal(0, 2, (37, 53, 2)).astype(np.float32)]
    for flow in flows:
        grad = np.zeros(flow.shape[:2], np.float32)
        grad[:, :-1] += ((flow[:, :-1] - flow[:, 1:]) ** 2).sum(axis=2)
        grad[:-1, :] += ((flow[:-1, :] - flow[1:, :]) ** 2).sum(axis=2)
        expected = grad > 0.01 * (flow[..., 0] ** 2 + flow[..., 1] ** 2) + 0.002
        assert expected.any() and not expected.all()
        assert np.array_equal(motion_boundaries(flow), expected)


def test_static_clip_has_zero_warping_error_and_flicker_raises_it():
    still = panning_clip(1)[0][0]
    static = [still] * 5
    flows, masks = estimated_motion(static)
    assert warping_error(static, flows, masks) < 1e-6
    errors = [warping_error(flicker(static, sigma), flows, masks) for sigma in (2, 6, 12)]
    assert errors[0] > 1e-5
    assert errors[0] < errors[1] < errors[2]


def test_warping_error_is_invariant_to_a_known_global_translation():
    static_clip = [panning_clip(1)[0][0]] * 5
    moving_clip, exact_flow = panning_clip(5, step=(3, 2))
    static_flicker, moving_flicker = flicker(static_clip, 6), flicker(moving_clip, 6)  # same noise, seed 0
    static_error = warping_error(static_flicker, *estimated_motion(static_clip))
    # Exact flow and exact validity (the pan brings in unseen content along two borders).
    exact_masks = [~out_of_frame(exact_flow)] * 4
    exact_error = warping_error(moving_flicker, [exact_flow] * 4, exact_masks)
    estimated_error = warping_error(moving_flicker, *estimated_motion(moving_clip))
    assert exact_error == pytest.approx(static_error, rel=0.05)
    assert estimated_error == pytest.approx(exact_error, rel=0.15)
    # The clean moving clip scores near zero with its flow, far below the flicker.
    assert warping_error(moving_clip, [exact_flow] * 4, exact_masks) < 1e-6
    assert warping_error(moving_clip, *estimated_motion(moving_clip)) < 0.1 * exact_error


def test_occluded_pixels_do_not_count():
    clip, _ = moving_square_clip(2)
    flows, masks = estimated_motion(clip)
    assert 0.5 < masks[0].mean() < 0.97  # the square's trail and leading edge are masked out
    unmasked = pair_warping_error(clip[0], clip[1], flows[0], np.ones_like(masks[0]))
    assert pair_warping_error(clip[0], clip[1], flows[0], masks[0]) < 0.2 * unmasked
    assert pair_warping_error(clip[0], clip[1], flows[0], np.zeros_like(masks[0])) is None


def test_ghosting_is_the_share_of_change_held_back():
    previous = np.zeros((4, 4, 3), np.uint8)
    current = np.full((4, 4, 3), 200, np.uint8)
    region = np.zeros((4, 4), bool)
    region[:2] = True
    ghosting = Ghosting()
    ghosting.add(current, current, previous, region)
    assert ghosting.value == 0.0
    blind = Ghosting()
    blind.add(np.full((4, 4, 3), 140, np.uint8), current, previous, region)  # 30% of the old frame blended in
    assert blind.value == pytest.approx(0.3)


def test_ghost_region_needs_both_a_changed_input_and_no_valid_history():
    from rtstyle.metrics.temporal import ghost_region

    before = np.full((8, 8, 3), 100, np.uint8)
    after = before.copy()
    after[:, 4:] = 160  # the right half changed
    valid = np.ones((8, 8), bool)
    valid[:4] = False  # the top half has no history
    region = ghost_region(before, after, valid)
    assert region[:4, 4:].all() and region.sum() == 16
