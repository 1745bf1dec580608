"""The run-time stabiliser: keeps frames intact, removes flicker, does not ghost on fast motion."""

import numpy as np
import pytest

from rtstyle.engine import create_stylizer
from rtstyle.errors import RtstyleError
from rtstyle.metrics.clip_eval import evaluate_clip, stabilized_name
from rtstyle.metrics.temporal import Ghosting
from rtstyle.realtime.stabilize import Stabilizer
from temporal_clips import flicker, moving_square_clip, panning_clip


class BlindBlend:
    """What the stabiliser must not do: blend with the previous output without flow or occlusion mask."""

    def __init__(self, strength: float) -> None:
        self.strength = strength
        self.previous = None

    def __call__(self, content, stylized):
        if self.previous is None:
            self.previous = stylized
        else:
            mixed = (1 - self.strength) * stylized.astype(np.float32) + self.strength * self.previous
            self.previous = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
        return self.previous


def flickering_style(small_style, clip, sigma=8):
    """Per-frame outputs of a real (random-weight) style with injected frame-to-frame flicker."""
    stylizer = create_stylizer(str(small_style))
    outputs = flicker([stylizer(frame) for frame in clip], sigma)
    lookup = {id(frame): out for frame, out in zip(clip, outputs)}
    return lambda frame: lookup[id(frame)]


def test_stabilizer_keeps_size_dtype_and_the_first_frame(photo):
    stabilizer = Stabilizer(0.5)
    content = np.ascontiguousarray(photo[:75, :101])
    stylized = np.full_like(content, 90)
    first = stabilizer(content, stylized)
    assert np.array_equal(first, stylized)
    second = stabilizer(content, np.full_like(content, 30))
    assert second.shape == content.shape and second.dtype == np.uint8
    # A still scene reuses history everywhere: half of the old output is kept.
    assert abs(float(second[10:-10, 10:-10].mean()) - 60) < 2
    stabilizer.reset()
    assert np.array_equal(stabilizer(content, stylized), stylized)


def test_zero_strength_is_the_identity_and_bad_input_is_refused(photo):
    stabilizer = Stabilizer(0.0)
    content = np.ascontiguousarray(photo[:64, :64])
    for value in (10, 200):
        stylized = np.full_like(content, value)
        assert np.array_equal(stabilizer(content, stylized), stylized)
    with pytest.raises(RtstyleError, match="one size"):
        Stabilizer()(content, content[:32])
    with pytest.raises(RtstyleError, match="strength"):
        Stabilizer(1.0)


def test_a_new_frame_size_starts_over(photo):
    stabilizer = Stabilizer(0.5)
    stabilizer(np.ascontiguousarray(photo[:64, :64]), np.zeros((64, 64, 3), np.uint8))
    content = np.ascontiguousarray(photo[:48, :80])
    stylized = np.full_like(content, 77)
    assert np.array_equal(stabilizer(content, stylized), stylized)


@pytest.mark.parametrize("make", [Stabilizer, Stabilizer.light], ids=["default", "light"])
def test_stabilizer_halves_the_warping_error_of_a_flickering_clip(small_style, make):
    clip, _ = panning_clip(8, step=(2, 1))
    report = evaluate_clip(clip, flickering_style(small_style, clip), [0.5], make_stabilizer=make)
    per_frame = report.row("per-frame").warping.value
    stabilized = report.row(stabilized_name(0.5)).warping.value
    assert stabilized < 0.5 * per_frame, (stabilized, per_frame)


def ghosting_on(clip, disoccluded, outputs, stabilizer):
    """Ghosting measured on the exact disocclusions (independent of any flow estimate)."""
    ghosting = Ghosting()
    stabilized = [stabilizer(frame, output) for frame, output in zip(clip, outputs)]
    for t in range(1, len(clip)):
        ghosting.add(stabilized[t], outputs[t], outputs[t - 1], disoccluded[t - 1])
    return ghosting.value


def test_stabilizer_does_not_ghost_on_fast_motion(small_style):
    clip, disoccluded = moving_square_clip(6, speed=12)
    stylizer = create_stylizer(str(small_style))
    outputs = [stylizer(frame) for frame in clip]
    assert ghosting_on(clip, disoccluded, outputs, BlindBlend(0.5)) > 0.35  # the measure sees a blind blend's smear
    assert ghosting_on(clip, disoccluded, outputs, Stabilizer(0.5)) < 0.05  # the stabiliser leaves (almost) none
    assert ghosting_on(clip, disoccluded, outputs, Stabilizer(0.8)) < 0.08
    assert ghosting_on(clip, disoccluded, outputs, Stabilizer.light(0.5)) < 0.05  # one flow, same guarantee


def test_light_stabilizer_computes_one_flow_per_frame(photo, monkeypatch):
    from rtstyle.flow import FlowEstimator

    calls = []
    original = FlowEstimator.flow_prepared
    monkeypatch.setattr(FlowEstimator, "flow_prepared", lambda self, a, b: calls.append(1) or original(self, a, b))
    for make, flows_per_frame in ((Stabilizer, 2), (Stabilizer.light, 1)):
        calls.clear()
        stabilizer = make(0.5)
        for _ in range(4):
            stabilizer(photo, photo)
        assert len(calls) == 3 * flows_per_frame  # none on the first frame
    with pytest.raises(RtstyleError, match="unknown stabiliser check"):
        Stabilizer(0.5, check="psychic")


def test_evaluation_reports_ghosting_from_the_input_flow(small_style):
    clip, _ = moving_square_clip(6, speed=12)
    stylize = flickering_style(small_style, clip, sigma=0)
    blind = evaluate_clip(clip, stylize, [0.5], make_stabilizer=BlindBlend).row(stabilized_name(0.5))
    ours = evaluate_clip(clip, stylize, [0.5]).row(stabilized_name(0.5))
    assert blind.ghosting.value > 0.35 and ours.ghosting.value < 0.05
    assert ours.ghosting.pixels > 0.02 * 96 * 128 * 5  # flow-based region: the trail and leading edge of the square


def test_tiny_frames_and_drawing_on_the_output_are_safe(photo):
    stabilizer = Stabilizer(0.5)
    content = np.ascontiguousarray(photo[:6, :10])  # below DIS's minimum size: padded internally
    stabilizer(content, np.full_like(content, 100))
    shown = stabilizer(content, np.full_like(content, 100))
    assert shown.shape == content.shape
    shown[:] = 0  # e.g. an FPS overlay drawn by the caller must not leak into the history
    assert stabilizer(content, np.full_like(content, 100)).min() >= 99
