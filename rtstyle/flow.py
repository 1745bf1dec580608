"""Optical flow on input frames, backward warping and the occlusion check used by every temporal feature.

Conventions (the same as OpenCV's): `compute_flow(a, b)` returns an HxWx2 float32 field on the grid of `a`
with a(x) ~ b(x + flow(x)); `warp_backward(b, flow)` samples b at x + flow(x), so it lines b up with a.

The occlusion test is the one of Ruder et al. 2016 ("Artistic style transfer for videos") as used by Lai et al.
2018 (fast_blind_video_consistency, `utils.detect_occlusion`), which defines the warping-error metric:
a pixel has no reliable correspondence when the forward and backward flows disagree,
    |w + w'|^2 > 0.01 (|w|^2 + |w'|^2) + 0.5          (w' = reverse flow sampled at x + w(x)),
or when it sits on a motion boundary,
    |grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002      (forward differences of w = (u, v)).
We also treat pixels whose correspondence falls outside the other frame as invalid: their content is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.flow_methods import FLOW_METHODS, FlowMethod

# Thresholds of the forward-backward check and the motion-boundary test (Ruder et al. 2016, eq. 6-7;
# identical constants in Lai et al. 2018's detect_occlusion).
FB_RELATIVE = 0.01
FB_ABSOLUTE = 0.5
BOUNDARY_RELATIVE = 0.01
BOUNDARY_ABSOLUTE = 0.002

# Smallest side the flow is computed on (DIS needs at least 12 px); smaller frames are edge-padded.
MIN_FLOW_SIZE = 16

_DIS_PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}  # cv2.DISOPTICAL_FLOW_PRESET_*


def dis_available() -> bool:
    return hasattr(cv2, "DISOpticalFlow_create")


def to_gray(frame: np.ndarray) -> np.ndarray:
    """uint8 single-channel view of a BGR (or already gray) frame; flow is computed on luminance."""
    if frame.ndim == 2:
        return frame if frame.dtype == np.uint8 else np.clip(frame, 0, 255).astype(np.uint8)
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


class FlowEstimator:
    """Dense optical flow between two frames, optionally at reduced resolution for speed.

    DIS (Kroeger et al. 2016) is the default: fast and accurate enough for warping. Farneback is the fallback
    for OpenCV builds without DIS. `scale` < 1 computes the flow on downscaled frames and returns it
    upsampled to full resolution with the vectors rescaled, which is what the run-time stabiliser uses.
    """

    def __init__(self, method: FlowMethod = "dis", preset: str = "medium", scale: float = 1.0) -> None:
        if method not in FLOW_METHODS:
            raise RtstyleError(f"unknown flow method {method!r} (choose from {', '.join(FLOW_METHODS)})")
        if not 0 < scale <= 1:
            raise RtstyleError(f"flow scale must be in (0, 1], got {scale}")
        if method == "dis" and not dis_available():
            method = "farneback"  # e.g. a stripped-down OpenCV build
        self.method: FlowMethod = method
        self.scale = scale
        self._dis = None
        if method == "dis":
            if preset not in _DIS_PRESETS:
                raise RtstyleError(f"unknown DIS preset {preset!r} (choose from {', '.join(_DIS_PRESETS)})")
            self._dis = cv2.DISOpticalFlow.create(_DIS_PRESETS[preset])
        self.preset = preset

    @property
    def description(self) -> str:
        name = f"DIS {self.preset}" if self.method == "dis" else "Farneback"
        return name if self.scale == 1 else f"{name} at {self.scale:g}x"

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        """The gray, downscaled frame the flow is computed on (cache it to reuse it for the next pair)."""
        gray = to_gray(frame)
        if self.scale != 1:
            h, w = gray.shape
            size = (max(8, round(w * self.scale)), max(8, round(h * self.scale)))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        return gray

    def flow_prepared(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow between two `prepare`d frames, at their (reduced) resolution."""
        height, width = a.shape[:2]
        pad_y, pad_x = max(0, MIN_FLOW_SIZE - height), max(0, MIN_FLOW_SIZE - width)
        if pad_y or pad_x:  # DIS refuses tiny images: pad with edge pixels and crop the flow back
            a = cv2.copyMakeBorder(a, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
            b = cv2.copyMakeBorder(b, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
        if self._dis is not None:
            flow = self._dis.calc(a, b, None)  # type: ignore[call-overload]  # None: allocate
        else:
            # Parameters of OpenCV's own Farneback sample (pyr 0.5, 3 levels, window 15, 3 iterations, poly 5/1.2).
            flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)  # type: ignore[call-overload]  # None: allocate
        return flow[:height, :width] if pad_y or pad_x else flow

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow on a's grid with a(x) ~ b(x + flow(x)), at full resolution."""
        if a.shape[:2] != b.shape[:2]:
            raise RtstyleError(f"cannot compute flow between frames of different sizes {a.shape[:2]} and {b.shape[:2]}")
        flow = self.flow_prepared(self.prepare(a), self.prepare(b))
        return resize_flow(flow, a.shape[:2]) if self.scale != 1 else flow


def compute_flow(a: np.ndarray, b: np.ndarray, method: FlowMethod = "dis") -> np.ndarray:
    """One-off full-resolution flow from a to b (see FlowEstimator to reuse the estimator)."""
    return FlowEstimator(method)(a, b)


def resize_flow(flow: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resample a flow field to `shape` (height, width), scaling the vectors by the same factors."""
    height, width = shape
    fh, fw = flow.shape[:2]
    if (fh, fw) == (height, width):
        return flow
    out = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= width / fw
    out[..., 1] *= height / fh
    return out


def sampling_maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute sampling coordinates x + flow(x) as the two float32 maps cv2.remap takes."""
    height, width = flow.shape[:2]
    xs = np.arange(width, dtype=np.float32)[None, :] + flow[..., 0]
    ys = np.arange(height, dtype=np.float32)[:, None] + flow[..., 1]
    return xs.astype(np.float32, copy=False), ys.astype(np.float32, copy=False)


def warp_backward(image: np.ndarray, flow: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Sample `image` at x + flow(x) (bilinear, border pixels repeated): lines `image` up with flow's grid."""
    if image.shape[:2] != flow.shape[:2]:
        raise RtstyleError(f"image {image.shape[:2]} and flow {flow.shape[:2]} differ in size")
    xs, ys = sampling_maps(flow)
    return cv2.remap(image, xs, ys, interpolation, borderMode=cv2.BORDER_REPLICATE)


def out_of_frame(flow: np.ndarray) -> np.ndarray:
    """True where x + flow(x) leaves the frame (the content there was not visible in the other frame)."""
    height, width = flow.shape[:2]
    xs, ys = sampling_maps(flow)
    return (xs < 0) | (xs > width - 1) | (ys < 0) | (ys > height - 1)


def squared_norm(flow: np.ndarray) -> np.ndarray:
    return flow[..., 0] ** 2 + flow[..., 1] ** 2


def motion_boundaries(flow: np.ndarray) -> np.ndarray:
    """|grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002, with forward differences (zero on the last row/column)."""
    # Per channel rather than `(d**2).sum(axis=2)`: numpy reduces a length-2 last axis about 10x slower than
    # it adds two planes, and the same float32 sums come out (the light stabiliser runs this every frame).
    u, v = flow[..., 0], flow[..., 1]
    grad = np.zeros(flow.shape[:2], np.float32)
    du, dv = u[:, :-1] - u[:, 1:], v[:, :-1] - v[:, 1:]
    grad[:, :-1] = du * du + dv * dv
    du, dv = u[:-1, :] - u[1:, :], v[:-1, :] - v[1:, :]
    grad[:-1, :] += du * du + dv * dv
    return grad > BOUNDARY_RELATIVE * squared_norm(flow) + BOUNDARY_ABSOLUTE


def fb_inconsistent(flow: np.ndarray, reverse: np.ndarray) -> np.ndarray:
    """Forward-backward check: `reverse` (the other frame's flow back) must cancel `flow` at x + flow(x)."""
    reverse_at_target = warp_backward(reverse, flow)
    disagreement = squared_norm(flow + reverse_at_target)
    return disagreement > FB_RELATIVE * (squared_norm(flow) + squared_norm(reverse_at_target)) + FB_ABSOLUTE


def occlusion_mask(flow: np.ndarray, reverse: np.ndarray, boundaries: bool = True) -> np.ndarray:
    """True where pixels of flow's grid have no reliable correspondence in the other frame.

    `flow` is on the grid of interest (pointing into the other frame), `reverse` is the other frame's flow back.
    Occluded = forward-backward disagreement, or motion boundary (if `boundaries`), or out of frame.
    """
    mask = fb_inconsistent(flow, reverse) | out_of_frame(flow)
    if boundaries:
        mask |= motion_boundaries(flow)
    return mask


@dataclass(frozen=True)
class PairMotion:
    """Motion between consecutive input frames t and t+1, computed once and reused for every output variant.

    forward: on t's grid, into t+1. backward: on t+1's grid, into t.
    valid_forward: pixels of t with a reliable match in t+1 (the warping-error mask M_t).
    valid_backward: pixels of t+1 with a reliable match in t (where a stabiliser may reuse history).
    """

    forward: np.ndarray
    backward: np.ndarray
    valid_forward: np.ndarray
    valid_backward: np.ndarray


def pair_motion(a: np.ndarray, b: np.ndarray, estimator: FlowEstimator | None = None) -> PairMotion:
    """Flows both ways between input frames a (time t) and b (t+1) with their validity masks."""
    estimator = estimator or FlowEstimator()
    forward = estimator(a, b)
    backward = estimator(b, a)
    return PairMotion(forward, backward, ~occlusion_mask(forward, backward), ~occlusion_mask(backward, forward))
