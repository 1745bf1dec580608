"""Temporal consistency for training: synthetic frame pairs with exact flow, and the temporal losses. Needs torch.

Frame pairs. Video datasets with ground-truth flow are not needed: the second frame of a pair is the first one
warped by a known random motion (a small affine motion about the centre plus a smooth elastic field), so the
flow is exact and the only invalid pixels are those whose source leaves the image. Any folder of stills
(`train256`) is enough, as in the synthetic-motion training of Gao et al. 2018 (ReCoNet) and the
"noise/motion stability" setups of Gupta et al. 2017.

Conventions, the same as `rtstyle.flow`: `flow` (Bx2xHxW, pixels, x then y) lives on the grid of the SECOND
frame and points into the first, so frame2 = warp(frame1, flow); `mask` (Bx1xHxW, 0/1) marks pixels whose
source is inside the first frame. Images are RGB NCHW floats in the network's range (0..255).

Losses, all in units of [0, 1] images (divided by 255^2) so their size compares with the warping error:
- `temporal_loss`: ReCoNet's output-level term (Gao et al. 2018, eq. 4): the output may change between the
  frames only as much as the input's luminance changed,
      L = sum M ||(O2 - warp(O1)) - Y(I2 - warp(I1))||^2 / (C sum M),
  with Y the relative luminance 0.2126 R + 0.7152 G + 0.0722 B (broadcast over channels).
- `feature_temporal_loss`: ReCoNet's feature-level term (eq. 3) on encoder features, flow and mask resized.
- `noise_stability_loss`: the simpler regulariser of Gupta et al. 2017 / Huang et al. 2017: a small input
  perturbation (Gaussian noise, sigma in 0..255 units) must not change the output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

# Relative luminance (ITU-R BT.709), the weights ReCoNet uses for its luminance correction.
LUMINANCE_RGB = (0.2126, 0.7152, 0.0722)


@dataclass(frozen=True)
class SyntheticMotion:
    """Ranges of the random motion between the two frames of a synthetic pair (uniform in +-range).

    Defaults model consecutive frames of hand-held video at 256 px: a few pixels of shift, a degree or two of
    rotation, a few percent of zoom, and a smooth non-rigid component of about a pixel.
    """

    max_translation: float = 6.0  # pixels
    max_rotation: float = 2.0  # degrees
    max_zoom: float = 0.03  # relative scale change
    elastic_amplitude: float = 1.5  # pixels, standard deviation of the elastic displacement's control points
    elastic_grid: int = 4  # control points per side of the elastic field (smoothness)
    max_brightness: float = 0.0  # relative global gain change of frame 2 (exercises the luminance correction)


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    return (torch.rand(shape, generator=generator, device=device) * 2 - 1) * bound


def random_flow(batch: int, height: int, width: int, motion: SyntheticMotion = SyntheticMotion(),
                generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """Bx2xHxW exact flow of a random affine + elastic motion (on frame 2's grid, pointing into frame 1)."""
    device = torch.device(device)
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float32, device=device),
                            torch.arange(width, dtype=torch.float32, device=device), indexing="ij")
    cx, cy = (width - 1) / 2, (height - 1) / 2
    angle = _uniform((batch, 1, 1), math.radians(motion.max_rotation), generator, device)
    zoom = 1 + _uniform((batch, 1, 1), motion.max_zoom, generator, device)
    shift = _uniform((batch, 2, 1, 1), motion.max_translation, generator, device)
    dx, dy = xs - cx, ys - cy
    # Source of each target pixel: zoom * R(angle) about the centre, then a shift.
    source_x = zoom * (torch.cos(angle) * dx - torch.sin(angle) * dy) + cx
    source_y = zoom * (torch.sin(angle) * dx + torch.cos(angle) * dy) + cy
    flow = torch.stack([source_x - xs, source_y - ys], dim=1) + shift
    if motion.elastic_amplitude > 0:
        grid = max(2, motion.elastic_grid)
        control = torch.randn((batch, 2, grid, grid), generator=generator, device=device) * motion.elastic_amplitude
        flow = flow + F.interpolate(control, size=(height, width), mode="bicubic", align_corners=True)
    return flow


def warp(images: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample `images` (BxCxhxw) at x + flow(x), bilinear; outside the image reads as zero (mask it out)."""
    _, _, height, width = flow.shape
    ys, xs = torch.meshgrid(torch.arange(height, dtype=flow.dtype, device=flow.device),
                            torch.arange(width, dtype=flow.dtype, device=flow.device), indexing="ij")
    grid_x = 2 * (xs + flow[:, 0]) / max(width - 1, 1) - 1
    grid_y = 2 * (ys + flow[:, 1]) / max(height - 1, 1) - 1
    grid = torch.stack([grid_x, grid_y], dim=-1)
    return F.grid_sample(images, grid.to(images.dtype), mode="bilinear", padding_mode="zeros", align_corners=True)


def inside_mask(flow: torch.Tensor) -> torch.Tensor:
    """Bx1xHxW: 1 where x + flow(x) is inside the source frame."""
    _, _, height, width = flow.shape
    ys, xs = torch.meshgrid(torch.arange(height, dtype=flow.dtype, device=flow.device),
                            torch.arange(width, dtype=flow.dtype, device=flow.device), indexing="ij")
    sx, sy = xs + flow[:, 0], ys + flow[:, 1]
    inside = (sx >= 0) & (sx <= width - 1) & (sy >= 0) & (sy <= height - 1)
    return inside.unsqueeze(1).to(flow.dtype)


def make_synthetic_pair(batch: torch.Tensor, generator: torch.Generator | None = None,
                        motion: SyntheticMotion = SyntheticMotion()
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(frame1, frame2, flow, mask) from a batch of stills (BxCxHxW, 0..255): frame1 is the batch itself.

    frame2 = warp(frame1, flow) exactly (times a global gain when `max_brightness` > 0) where mask is 1.
    """
    b, _, height, width = batch.shape
    flow = random_flow(b, height, width, motion, generator, batch.device).to(batch.dtype)
    mask = inside_mask(flow)
    frame2 = warp(batch, flow) * mask
    if motion.max_brightness > 0:
        gain = 1 + _uniform((b, 1, 1, 1), motion.max_brightness, generator, batch.device).to(batch.dtype)
        frame2 = (frame2 * gain).clamp(0, 255)
    return batch, frame2, flow, mask


def luminance(images: torch.Tensor) -> torch.Tensor:
    """Bx1xHxW relative luminance of RGB images."""
    weights = images.new_tensor(LUMINANCE_RGB).view(1, 3, 1, 1)
    return (images * weights).sum(dim=1, keepdim=True)


def masked_mse(difference: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """sum M ||d||^2 / (C sum M): the per-channel mean squared difference over valid pixels."""
    channels = difference.shape[1]
    return (difference.pow(2) * mask).sum() / (mask.sum() * channels).clamp_min(1.0)


def temporal_loss(out1: torch.Tensor, out2: torch.Tensor, in1: torch.Tensor, in2: torch.Tensor,
                  flow: torch.Tensor, mask: torch.Tensor, luminance_correction: bool = True,
                  value_range: float = 255.0) -> torch.Tensor:
    """ReCoNet output-level temporal loss between the outputs of two frames (see module docstring).

    out*/in*: BxCxHxW RGB in 0..value_range; flow/mask from `make_synthetic_pair` (or real flow: frame 2's grid
    into frame 1, with the occlusion mask). Gradients flow into both outputs.
    """
    change = out2 - warp(out1, flow)
    if luminance_correction:
        change = change - luminance(in2 - warp(in1, flow))
    return masked_mse(change / value_range, mask)


def feature_temporal_loss(features1: torch.Tensor, features2: torch.Tensor, flow: torch.Tensor,
                          mask: torch.Tensor) -> torch.Tensor:
    """ReCoNet feature-level temporal loss on encoder features (any resolution): flow and mask are resized."""
    _, _, height, width = flow.shape
    fh, fw = features1.shape[-2:]
    if (fh, fw) != (height, width):
        flow = F.interpolate(flow, size=(fh, fw), mode="bilinear", align_corners=True)
        flow = flow * flow.new_tensor([(fw - 1) / max(width - 1, 1), (fh - 1) / max(height - 1, 1)]).view(1, 2, 1, 1)
        # Keep only feature cells whose whole footprint was valid.
        mask = (F.interpolate(mask, size=(fh, fw), mode="area") > 0.999).to(mask.dtype)
    return masked_mse(features2 - warp(features1, flow), mask)


def noise_stability_loss(model: torch.nn.Module, inputs: torch.Tensor, outputs: torch.Tensor,
                         sigma: float = 4.0, generator: torch.Generator | None = None,
                         value_range: float = 255.0) -> torch.Tensor:
    """Output change caused by Gaussian input noise of `sigma` (0..255 units); `outputs` = model(inputs)."""
    noise = torch.randn(inputs.shape, generator=generator, device=inputs.device, dtype=inputs.dtype) * sigma
    noisy_outputs = model((inputs + noise).clamp(0, value_range))
    return F.mse_loss(noisy_outputs / value_range, outputs / value_range)
