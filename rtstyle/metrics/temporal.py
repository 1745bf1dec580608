"""Temporal stability metrics: the warping error of Lai et al. 2018 and a ghosting measure for stabilisers.

Warping error (Lai et al. 2018, "Learning Blind Video Temporal Consistency", eq. 9; reference code
phoenix104104/fast_blind_video_consistency `evaluate_WarpError.py`):

    E = 1/(T-1) sum_t  sum_i M_t(i) ||V_t(i) - warp(V_t+1)(i)||^2 / sum_i M_t(i)

with frames in [0, 1], the flow t -> t+1 and the mask M_t computed on the INPUT frames (never on the
stylized ones, which would reward blurry outputs), M_t = 1 - occlusion (forward-backward check + motion
boundaries, see `rtstyle.flow`). Like the reference code, the squared error is averaged over colour
channels too (its mask is read back as a 3-channel image), so E is a per-channel mean squared error.
Unlike it, a pair with no valid pixel is skipped rather than counted as zero.

The input clip's own warping error is the floor: flow errors, lighting changes and interpolation make even
a perfectly consistent video score above zero, so a stylized clip is judged by how far above the floor it is.

Ghosting (ours). A run-time stabiliser blends the current stylized frame with history; where the input
shows content that was not visible in the previous frame (disocclusions, fast motion, motion boundaries,
content entering the frame) there is no valid history and any blending leaves a ghost: a faded copy of
what was there before. A ghost can only show where the content at that pixel actually changed, so R_t is
the set of pixels of frame t that (a) have no valid correspondence in frame t-1 according to the
evaluator's own full-resolution flow (computed independently of the stabiliser's reduced-resolution flow)
and (b) changed in the input (gray |I_t - I_t-1| > 12 of 255). Without (b), every patch of sky or wall where
two flow methods disagree about an unreliable, near-zero flow would count as ghosting, although blending
history there is harmless. On R_t:

    G = sum_t sum_{i in R_t} |S_t(i) - P_t(i)|  /  sum_t sum_{i in R_t} |P_t-1(i) - P_t(i)|

where P is the per-frame output and S the stabilised one. G is the fraction of the per-frame change that
the stabiliser held back where it must not: 0 = no ghost, and a blind blend S_t = (1-s) P_t + s S_t-1
(no flow, no mask) scores about s. It is a ratio of sums, so frames with a tiny region do not dominate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from rtstyle.flow import to_gray, warp_backward

# Gray-level change (0..255) above which an input pixel counts as changed for the ghosting region.
GHOST_CHANGE_THRESHOLD = 12


def ghost_region(previous_content: np.ndarray, content: np.ndarray, valid_backward: np.ndarray) -> np.ndarray:
    """Pixels of `content` without valid history (not `valid_backward`) whose input changed since the last frame."""
    changed = cv2.absdiff(to_gray(previous_content), to_gray(content)) > GHOST_CHANGE_THRESHOLD
    return changed & ~valid_backward


def to_unit(frame: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 0..1."""
    return frame.astype(np.float32) * np.float32(1 / 255)


def pair_warping_error(current: np.ndarray, following: np.ndarray, forward_flow: np.ndarray,
                       valid: np.ndarray) -> float | None:
    """Masked warping error of one pair (frames uint8 HxWx3); None when no pixel is valid."""
    count = int(valid.sum())
    if count == 0:
        return None
    warped = warp_backward(to_unit(following), forward_flow)
    squared = ((to_unit(current) - warped) ** 2).sum(axis=2)
    return float(squared[valid].sum() / (count * current.shape[2]))


@dataclass
class WarpingError:
    """Running mean of per-pair warping errors, fed one pair at a time so clips of any length fit in memory."""

    total: float = 0.0
    pairs: int = 0
    skipped: int = 0

    def add(self, current: np.ndarray, following: np.ndarray, forward_flow: np.ndarray, valid: np.ndarray) -> None:
        error = pair_warping_error(current, following, forward_flow, valid)
        if error is None:
            self.skipped += 1
        else:
            self.total += error
            self.pairs += 1

    @property
    def value(self) -> float:
        return self.total / self.pairs if self.pairs else float("nan")


def ghosting_terms(stabilized: np.ndarray, per_frame: np.ndarray, previous_per_frame: np.ndarray,
                   region: np.ndarray) -> tuple[float, float]:
    """(held-back change, total change) summed over `region` (HxW bool, pixels without valid history)."""
    if not region.any():
        return 0.0, 0.0
    current = per_frame[region].astype(np.float32)
    held_back = np.abs(stabilized[region].astype(np.float32) - current).sum()
    change = np.abs(previous_per_frame[region].astype(np.float32) - current).sum()
    return float(held_back), float(change)


@dataclass
class Ghosting:
    held_back: float = 0.0
    change: float = 0.0
    pixels: int = 0

    def add(self, stabilized: np.ndarray, per_frame: np.ndarray, previous_per_frame: np.ndarray,
            region: np.ndarray) -> None:
        held_back, change = ghosting_terms(stabilized, per_frame, previous_per_frame, region)
        self.held_back += held_back
        self.change += change
        self.pixels += int(region.sum())

    @property
    def value(self) -> float:
        return self.held_back / self.change if self.change > 0 else float("nan")


@dataclass
class MaskCoverage:
    """Fraction of pixels the occlusion mask keeps: a low value means the flow (or the clip) is unreliable."""

    valid: int = 0
    total: int = 0

    def add(self, valid: np.ndarray) -> None:
        self.valid += int(valid.sum())
        self.total += valid.size

    @property
    def value(self) -> float:
        return self.valid / self.total if self.total else float("nan")


def warping_error(frames: list[np.ndarray], forward_flows: list[np.ndarray], valid_masks: list[np.ndarray]) -> float:
    """Warping error of a whole clip held in memory, given the input's flows t -> t+1 and masks M_t."""
    if len(frames) < 2:
        raise ValueError("the warping error needs at least two frames")
    if not len(forward_flows) == len(valid_masks) == len(frames) - 1:
        raise ValueError("need one flow and one mask per consecutive pair of frames")
    accumulator = WarpingError()
    for t, (flow, valid) in enumerate(zip(forward_flows, valid_masks)):
        accumulator.add(frames[t], frames[t + 1], flow, valid)
    return accumulator.value


@dataclass
class VariantScores:
    """Scores of one output variant of a clip (per-frame, or stabilised at some strength)."""

    name: str
    strength: float | None = None
    warping: WarpingError = field(default_factory=WarpingError)
    ghosting: Ghosting | None = None
