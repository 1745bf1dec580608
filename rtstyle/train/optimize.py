"""Style transfer by optimisation (Gatys, Ecker & Bethge 2016): how low the losses can go on one photo.

Johnson et al. (2016, Sec. 4.1 and Fig. 5) judge their feed-forward networks against this optimisation of
the same objective; `scripts/style_quality_report.py` does the same for each built-in style. As in Gatys'
and Johnson's code (neural_style.lua), the pixels are optimised with L-BFGS; they start from the content
photo rather than noise, which reaches a low objective in far fewer iterations on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rtstyle.train.hparams import HyperParams
from rtstyle.train.losses import content_loss, gram_matrix, style_loss, total_variation
from rtstyle.train.vgg import LossNetwork


@dataclass(frozen=True)
class OptimizedImage:
    image_rgb: np.ndarray  # uint8 (H, W, 3)
    content: float  # weighted as in training, measured on the uint8 image
    style: float
    iterations: int


def _tensor(image_rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image_rgb)).permute(2, 0, 1)[None].float()


def optimize_image(content_rgb: np.ndarray, style_rgb: np.ndarray, network: LossNetwork, iterations: int = 200,
                   hparams: HyperParams | None = None) -> OptimizedImage:
    """Minimise the training objective (content + style + TV) over the pixels of one image."""
    hp = (hparams or HyperParams()).with_loss_weights_for(network.convention.scale)
    assert hp.content_weight is not None and hp.style_weight is not None
    network.requires_grad_(False)
    layers = tuple(dict.fromkeys((hp.content_layer, *hp.style_layers)))
    with torch.no_grad():
        content = _tensor(content_rgb)
        target = network(content, (hp.content_layer,))[hp.content_layer]
        style_features = network(_tensor(style_rgb), hp.style_layers)
        grams = [gram_matrix(style_features[name]) for name in hp.style_layers]

    content_weight, style_weight = hp.loss_weights()

    def weighted_terms(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = network(image, layers)
        return (content_weight * content_loss(features[hp.content_layer], target),
                style_weight * style_loss([features[n] for n in hp.style_layers], grams))

    pixels = content.clone(memory_format=torch.contiguous_format).requires_grad_(True)  # L-BFGS flattens it
    optimizer = torch.optim.LBFGS([pixels], max_iter=iterations, history_size=50, tolerance_grad=0,
                                  tolerance_change=0, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        c, s = weighted_terms(pixels)
        loss = c + s + hp.tv_weight * total_variation(pixels)
        loss.backward()
        return loss

    optimizer.step(closure)
    image = pixels.detach().clamp(0, 255).round()
    with torch.no_grad():
        c, s = weighted_terms(image)  # the result is an 8-bit image: measure that, as for the networks
    rgb = image[0].permute(1, 2, 0).to(torch.uint8).numpy()
    return OptimizedImage(rgb, float(c), float(s), iterations)
