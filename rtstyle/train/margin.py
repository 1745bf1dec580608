"""The mirrored border margin in training: a network run on a batch as rtstyle runs it on every picture."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from rtstyle.engine.tiling import BORDER_MARGIN

Network = Callable[[torch.Tensor], torch.Tensor]


def with_mirrored_margin(network: Network, margin: int) -> Network:
    """`network` run on the batch with `margin` px of mirrored picture on every side, cropped off after: what
    rtstyle.engine.base.with_border_margin does at inference (torch's "reflect" is cv2.BORDER_REFLECT_101)."""
    if not margin:
        return network

    def forward(batch: torch.Tensor) -> torch.Tensor:
        output = network(F.pad(batch, (margin,) * 4, mode="reflect"))
        return output[..., margin:-margin, margin:-margin]

    return forward


def as_users_get_it(network: Network) -> Network:
    """`network` with the margin rtstyle image and video add (BORDER_MARGIN): a distillation teacher's outputs are
    what users see of it, not the pale edges it gives a bare picture (docs/engine.md, "Borders"). A side shorter
    than the margin gets what torch can mirror (side - 1 px); cv2 at inference reflects on, a rare tiny picture."""

    def forward(batch: torch.Tensor) -> torch.Tensor:
        return with_mirrored_margin(network, min(BORDER_MARGIN, min(batch.shape[-2:]) - 1))(batch)

    return forward
