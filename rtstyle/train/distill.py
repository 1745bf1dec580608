"""Teacher targets for distillation (`rtstyle train --teacher`), computed once per content image.

A `johnson` teacher costs ~154k multiply-adds per pixel, about 30 times a `fast` student's forward and
backward pass. Run per batch, it would dominate a distillation run that visits each photo many times, so the
teacher stylizes each whole content image once (as resized for training) and every batch cuts its targets
from those with the student's own crop boxes. Seeing the whole image, with the mirrored border margin around it
(`rtstyle.train.margin.as_users_get_it`), is also how the teacher runs at inference, so its instance-norm
statistics and its edges are the ones users get.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from rtstyle.train.data import ContentSource, CropBox


class TeacherTargets:
    """The teacher's output (uint8 RGB, what users see) for each content image, cached as it is first needed."""

    def __init__(self, teacher: Callable[[torch.Tensor], torch.Tensor], content: ContentSource,
                 device: torch.device) -> None:
        self.teacher = teacher
        self.content = content
        self.device = device
        self._outputs: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._outputs)

    def batch(self, boxes: list[CropBox]) -> torch.Tensor:
        """Float NCHW RGB 0..255 targets for the crops `boxes` (from `ContentSource.batch_and_boxes`)."""
        crops = np.stack([box.cut(self.output(box.index)) for box in boxes])
        return torch.from_numpy(crops).to(self.device).permute(0, 3, 1, 2).float()

    @torch.no_grad()
    def output(self, index: int) -> np.ndarray:
        if index not in self._outputs:
            image = torch.from_numpy(self.content.image_rgb(index)).to(self.device).permute(2, 0, 1)[None].float()
            stylized = self.teacher(image).clamp(0, 255).round().to(torch.uint8)
            self._outputs[index] = stylized[0].permute(1, 2, 0).cpu().numpy()
        return self._outputs[index]
