"""Run-time temporal stabilisation for any style, without retraining.

Each output frame is the current stylized frame blended with the previous OUTPUT warped along the motion of the
INPUT frames (so strokes follow the content instead of crawling), in the spirit of the temporal blending of
Ruder et al. 2016 and the recurrent output of Lai et al. 2018. Because the previous output already holds its own
history, this is an exponential moving average along motion trajectories: for frame-to-frame flicker with
independent noise, strength s scales the flicker in consecutive-frame differences by (1-s)^2/(1+s)
(0.17 at s = 0.5).

Blending is only allowed where the input's flow is reliable (Ruder's forward-backward check, motion boundaries,
out-of-frame pixels, and a photometric check that the warped previous input matches the current one); elsewhere
the fresh stylized frame is used as is, so moving objects and disoccluded background are not smeared. The
mask is feathered so the transition leaves no seam. Flow is computed on gray frames downscaled to at most
`flow_size` pixels on the longer side (DIS medium), which keeps the cost to about 4% of the CPU frame time of
a johnson network at 640x480 (bench/stabilize.py, docs/temporal.md).

`Stabilizer.light()` is for short network frame times (`--arch fast` on a CPU, anything on a GPU; see
`wants_light_stabilizer`), which the default would nearly double: one DIS ultrafast flow on 192 px frames instead of two medium ones on 480 px,
with the photometric check, motion boundaries and out-of-frame pixels deciding validity instead of the
forward-backward check (which needs the second flow).
"""

from __future__ import annotations

import cv2
import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.flow import FlowEstimator, motion_boundaries, occlusion_mask, out_of_frame, resize_flow, warp_backward

# What decides where the warped history is trusted (besides the photometric check, which always applies).
CHECKS = ("forward-backward", "single-flow")
# Networks below this cost get the light stabiliser: at 640x480 on a CPU the default (~50 ms) costs about what a
# 10k MAC/px network does, so it would take a third or more of their frame time (johnson: 154k, fast: 5k).
LIGHT_BELOW_MACS_PER_PIXEL = 20_000


def wants_light_stabilizer(macs_per_pixel: float | None, on_gpu: bool) -> bool:
    """The light stabiliser when the network's frame time is small next to the default's CPU flow: a cheap
    network, or any network on a GPU (a few ms a frame)."""
    return on_gpu or (macs_per_pixel is not None and macs_per_pixel < LIGHT_BELOW_MACS_PER_PIXEL)


class Stabilizer:
    """Post-filter `(content, stylized) -> frame` for a stream of frames; call `reset()` between clips.

    strength: weight of the warped history where it is valid (0 = off, per-frame output unchanged; 0.9 = very
        steady but slower to follow changes of the style's output).
    flow_size: longer side, in pixels, of the frames the flow is computed on.
    photometric_threshold: mean absolute difference (0..255 gray) between the current input and the warped
        previous input above which a pixel is treated as occluded; catches flow errors the flow checks miss.
    check: "forward-backward" (Ruder et al.'s check, two flows per frame) or "single-flow" (one flow: motion
        boundaries, out-of-frame and the photometric check only; half the flow cost).
    """

    def __init__(self, strength: float = 0.5, flow_size: int = 480, flow_preset: str = "medium",
                 photometric_threshold: float = 20.0, feather: float = 1.5, check: str = "forward-backward") -> None:
        if not 0.0 <= strength < 1.0:
            raise RtstyleError(f"stabilize strength must be in [0, 1), got {strength:g}")
        if flow_size < 16:
            raise RtstyleError(f"flow size must be at least 16 pixels, got {flow_size}")
        if check not in CHECKS:
            raise RtstyleError(f"unknown stabiliser check {check!r} (choose from {', '.join(CHECKS)})")
        self.check = check
        self.strength = float(strength)
        self.flow_size = int(flow_size)
        self.flow_preset = flow_preset
        self.photometric_threshold = float(photometric_threshold)
        self.feather = float(feather)
        self._estimator: FlowEstimator | None = None
        self.reset()

    @classmethod
    def light(cls, strength: float = 0.5) -> "Stabilizer":
        """The cheap configuration for fast networks (see the module docstring; measured in docs/temporal.md)."""
        return cls(strength, flow_size=192, flow_preset="ultrafast", check="single-flow")

    def reset(self) -> None:
        """Forget the history (call at a scene cut, a seek, or the start of another clip)."""
        self._previous_small: np.ndarray | None = None
        self._previous_output: np.ndarray | None = None
        self._shape: tuple[int, ...] | None = None
        #: Fraction of pixels that reused history in the last frame (for diagnostics and tests).
        self.last_valid_fraction = 0.0

    def _estimator_for(self, shape: tuple[int, ...]) -> FlowEstimator:
        scale = min(1.0, self.flow_size / max(shape[:2]))
        if self._estimator is None or self._estimator.scale != scale:
            self._estimator = FlowEstimator("dis", preset=self.flow_preset, scale=scale)
        return self._estimator

    def __call__(self, content: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        if content.shape != stylized.shape or content.ndim != 3 or content.shape[2] != 3:
            raise RtstyleError(f"stabilizer needs two HxWx3 frames of one size, got {content.shape} and {stylized.shape}")
        if content.dtype != np.uint8 or stylized.dtype != np.uint8:
            raise RtstyleError("stabilizer needs uint8 frames")
        if self._shape != content.shape:
            self.reset()
            self._shape = content.shape
        estimator = self._estimator_for(content.shape)
        small = estimator.prepare(content)
        previous_small, previous_output = self._previous_small, self._previous_output
        self._previous_small = small
        if self.strength == 0 or previous_small is None or previous_output is None:
            self._previous_output = stylized.copy()
            return stylized

        weight_small, flow_small = self._history_weight(estimator, small, previous_small)
        height, width = content.shape[:2]
        flow = resize_flow(flow_small, (height, width))
        weight = cv2.resize(weight_small, (width, height), interpolation=cv2.INTER_LINEAR)
        warped_previous = warp_backward(previous_output, flow)
        # cv2.blendLinear: (w1 * a + w2 * b) / (w1 + w2) per pixel, on uint8 without float copies of the frames.
        output = cv2.blendLinear(warped_previous, stylized, weight, 1.0 - weight)
        self._previous_output = output.copy()  # the caller may draw on the frame it gets (an FPS overlay)
        return output

    def _history_weight(self, estimator: FlowEstimator, small: np.ndarray,
                        previous_small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel weight of the warped history (strength where valid, 0 where not), at flow resolution."""
        to_previous = estimator.flow_prepared(small, previous_small)  # on the current grid
        if self.check == "forward-backward":
            occluded = occlusion_mask(to_previous, estimator.flow_prepared(previous_small, small))
        else:
            occluded = out_of_frame(to_previous) | motion_boundaries(to_previous)
        warped_input = warp_backward(previous_small, to_previous)
        occluded |= cv2.absdiff(warped_input, small) > self.photometric_threshold
        # Grow the occluded region by a pixel (flow edges are soft at reduced resolution), then feather it.
        occluded = cv2.dilate(occluded.astype(np.uint8), np.ones((3, 3), np.uint8))
        valid: np.ndarray = 1.0 - occluded.astype(np.float32)
        if self.feather > 0:
            valid = cv2.GaussianBlur(valid, (0, 0), self.feather)
            valid = np.minimum(valid, 1.0 - occluded)  # feather only inward: occluded pixels stay at zero
        self.last_valid_fraction = float((valid > 0.5).mean())
        return (self.strength * valid).astype(np.float32), to_previous
