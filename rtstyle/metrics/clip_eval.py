"""Evaluate the temporal stability of a style on a clip: input floor, per-frame output, stabilised outputs.

Streams the clip once: each input frame is stylized once, every stabiliser strength post-filters the same
per-frame output, and the input's flow (both ways, full resolution) is computed once per pair and shared by
all variants, so the numbers in one table are directly comparable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rtstyle.flow import FlowEstimator, pair_motion
from rtstyle.metrics.temporal import Ghosting, MaskCoverage, VariantScores, ghost_region
from rtstyle.realtime.stabilize import Stabilizer

Frame = np.ndarray


@dataclass
class ClipReport:
    frames: int
    width: int
    height: int
    flow: str
    mask_coverage: float
    variants: list[VariantScores]

    def row(self, name: str) -> VariantScores:
        return next(v for v in self.variants if v.name == name)

    def as_dict(self) -> dict[str, Any]:
        per_frame = _finite(self.row("per-frame").warping.value)
        rows = []
        for v in self.variants:
            rows.append({
                "name": v.name,
                "stabilize": v.strength,
                "warping_error": _finite(v.warping.value),
                "vs_per_frame": _finite(v.warping.value / per_frame) if per_frame else None,
                "ghosting": _finite(v.ghosting.value) if v.ghosting is not None else None,
                "pairs": v.warping.pairs,
            })
        return {"frames": self.frames, "width": self.width, "height": self.height, "flow": self.flow,
                "mask_coverage": _finite(self.mask_coverage), "rows": rows}


def _finite(value: float | None) -> float | None:
    """NaN (nothing to measure) becomes None, which JSON can represent."""
    return None if value is None or math.isnan(value) else value


def stabilized_name(strength: float) -> str:
    return f"stabilized {strength:g}"


def evaluate_clip(frames: Iterable[Frame], stylize: Callable[[Frame], Frame], strengths: Sequence[float] = (),
                  estimator: FlowEstimator | None = None,
                  make_stabilizer: Callable[[float], Callable[[Frame, Frame], Frame]] = Stabilizer,
                  on_frame: Callable[[], None] | None = None) -> ClipReport:
    """Warping errors (input floor, per-frame, each stabiliser strength) and ghosting of the stabilised outputs."""
    estimator = estimator or FlowEstimator("dis", preset="medium")
    floor = VariantScores("input (floor)")
    per_frame = VariantScores("per-frame")
    stabilized = [VariantScores(stabilized_name(s), strength=s, ghosting=Ghosting()) for s in strengths]
    stabilizers = [make_stabilizer(s) for s in strengths]
    coverage = MaskCoverage()

    previous: tuple[Frame, Frame, list[Frame]] | None = None
    count = 0
    shape: tuple[int, ...] = (0, 0)
    for content in frames:
        output = stylize(content)
        outputs = [stabilize(content, output) for stabilize in stabilizers]
        if previous is not None:
            previous_content, previous_output, previous_outputs = previous
            motion = pair_motion(previous_content, content, estimator)
            coverage.add(motion.valid_forward)
            args = (motion.forward, motion.valid_forward)
            floor.warping.add(previous_content, content, *args)
            per_frame.warping.add(previous_output, output, *args)
            no_history = ghost_region(previous_content, content, motion.valid_backward)
            for scores, before, now in zip(stabilized, previous_outputs, outputs):
                scores.warping.add(before, now, *args)
                assert scores.ghosting is not None
                scores.ghosting.add(now, output, previous_output, no_history)
        previous = (content, output, outputs)
        shape = content.shape
        count += 1
        if on_frame is not None:
            on_frame()
    return ClipReport(count, shape[1], shape[0], estimator.description, coverage.value,
                      [floor, per_frame, *stabilized])
