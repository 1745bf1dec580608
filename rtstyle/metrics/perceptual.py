"""Content and style loss of a style's outputs on photos: the training objective, measured at inference.

Used by `rtstyle eval --photos` to compare styles, architectures (johnson vs fast), precisions (int8) and
temporal training on equal terms. Needs torch (the VGG16 loss network).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from rtstyle.errors import RtstyleError
from rtstyle.io.images import expand_image_inputs, try_read_image
from rtstyle.train.data import MIN_LOSS_IMAGE_SIDE
from rtstyle.train.hparams import HyperParams
from rtstyle.train.losses import content_loss, gram_matrix, style_loss
from rtstyle.train.vgg import LossNetwork


@dataclass(frozen=True)
class PhotoLosses:
    photos: int
    content: float  # weighted as in training (the loss network's default weights), mean over photos
    style: float

    def as_dict(self) -> dict[str, float]:
        return {"photos": self.photos, "content_loss": self.content, "style_loss": self.style}


def read_photos(photos: Path, max_size: int) -> list[np.ndarray]:
    """The readable photos in a folder (or one file), BGR, downscaled so the longer side is at most `max_size`."""
    images = []
    for path in expand_image_inputs([str(photos)]):
        image = try_read_image(path)
        if image is not None and min(image.shape[:2]) >= MIN_LOSS_IMAGE_SIDE:  # smaller vanish in VGG16's pools
            scale = min(1.0, max_size / max(image.shape[:2]))
            images.append(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image)
    if not images:
        raise RtstyleError(f"no readable photos in {photos}")
    return images


def _rgb_tensor(image_bgr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image_bgr[..., ::-1])).permute(2, 0, 1)[None].float()


@torch.no_grad()
def photo_losses(stylize: Callable[[np.ndarray], np.ndarray], photos_bgr: Sequence[np.ndarray],
                 style_rgb: np.ndarray, network: LossNetwork) -> PhotoLosses:
    """Mean weighted content and style loss of `stylize(photo)` over the photos (training definitions)."""
    hp = HyperParams().with_loss_weights_for(network.convention.scale)
    assert hp.content_weight is not None and hp.style_weight is not None
    style_features = network(torch.from_numpy(style_rgb).permute(2, 0, 1)[None].float(), hp.style_layers)
    targets = [gram_matrix(style_features[name]) for name in hp.style_layers]
    layers = tuple(dict.fromkeys((hp.content_layer, *hp.style_layers)))
    contents, styles = [], []
    for photo in photos_bgr:
        out = network(_rgb_tensor(stylize(photo)), layers)
        source = network(_rgb_tensor(photo), (hp.content_layer,))
        contents.append(hp.content_weight * float(content_loss(out[hp.content_layer], source[hp.content_layer])))
        styles.append(hp.style_weight * float(style_loss([out[n] for n in hp.style_layers], targets)))
    return PhotoLosses(len(contents), float(np.mean(contents)), float(np.mean(styles)))
