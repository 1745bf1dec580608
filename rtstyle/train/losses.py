"""Johnson et al.'s perceptual losses: content (feature MSE), style (Gram MSE) and total variation."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C), normalised by C*H*W as in pytorch/examples; computed in float32."""
    n, c, h, w = features.shape
    flat = features.float().reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def content_loss(output_features: torch.Tensor, content_features: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(output_features.float(), content_features.float())


def style_loss(output_features: list[torch.Tensor], target_grams: list[torch.Tensor]) -> torch.Tensor:
    """Sum over layers of the MSE between the output's Grams and the style's (one target, broadcast)."""
    total = output_features[0].new_zeros((), dtype=torch.float32)
    for features, target in zip(output_features, target_grams, strict=True):
        gram = gram_matrix(features)
        total = total + F.mse_loss(gram, target.expand_as(gram))
    return total


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Sum of squared differences between neighbouring pixels, averaged over the batch (Johnson's TV)."""
    image = image.float()
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return (dx.pow(2).sum() + dy.pow(2).sum()) / image.shape[0]
