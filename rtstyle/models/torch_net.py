"""Build a torch module from a NetSpec (training and the torch inference backend)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rtstyle.models.spec import Conv, NetSpec, Residual, padded_size


# Mid-grey on the 0..255 output scale: a fresh network's output bias.
OUTPUT_MIDPOINT = 127.5


class ConvLayer(nn.Module):
    def __init__(self, conv: Conv) -> None:
        super().__init__()
        self.upsample = conv.upsample
        self.pad = conv.kernel // 2
        self.conv = nn.Conv2d(conv.in_ch, conv.out_ch, conv.kernel, stride=conv.stride, groups=conv.groups)
        self.norm: nn.Module | None = nn.InstanceNorm2d(conv.out_ch, affine=True) if conv.norm else None
        self.act = conv.act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample > 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        if self.pad:
            x = F.pad(x, (self.pad,) * 4, mode="reflect")
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.act == "relu":
            x = F.relu(x)
        return x


class ResidualLayer(nn.Module):
    def __init__(self, residual: Residual) -> None:
        super().__init__()
        self.body = nn.Sequential(*(ConvLayer(c) for c in residual.body))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class StyleNet(nn.Module):
    """Float NCHW RGB 0..255 in, same size out (unclamped). Any H and W, odd included."""

    def __init__(self, spec: NetSpec) -> None:
        super().__init__()
        self.spec = spec
        self.layers = nn.Sequential(
            *(ResidualLayer(layer) if isinstance(layer, Residual) else ConvLayer(layer) for layer in spec.layers)
        )
        last = self.layers[-1]
        if isinstance(last, ConvLayer) and last.norm is None and last.conv.bias is not None:
            # A fresh network starts at mid-grey, not black: Adam (lr 1e-3) would otherwise raise the 0..255
            # output by ~0.1 per step and spend the first ~1000 steps on brightness alone (measured with a
            # `fast` student: its distillation error fell 5% in 30 steps). Trained weights overwrite this.
            nn.init.constant_(last.conv.bias, OUTPUT_MIDPOINT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        multiple, min_size = self.spec.size_multiple, self.spec.min_size
        pad_h = padded_size(height, multiple, min_size) - height
        pad_w = padded_size(width, multiple, min_size) - width
        if pad_h or pad_w:
            # Edge padding works for any size (reflection needs pad < size); the pad is cropped away below.
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        y = self.layers(x)
        if pad_h or pad_w:
            y = y[..., :height, :width]
        return y
