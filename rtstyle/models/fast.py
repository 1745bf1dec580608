"""A fast family of style networks for real time on a laptop CPU.

The `johnson` net spends ~154k multiply-adds per pixel, and most of its run time on a CPU goes to
full-resolution feature maps (32 channels at the input size: padding, instance norm, memory traffic).
Measured with onnxruntime on a 2-core CPU (docs/benchmarks.md), three changes buy the most:

1. **Stride-2 stem** (an extra downsampling stage): the 9x9 stem keeps Johnson's large first receptive
   field but runs at stride 2, so no wide feature map ever exists at full resolution; the decoder gets a
   third upsample + conv to come back up. This alone removes most of the time at 640x480.
2. **Depthwise-separable residual blocks** (MobileNet, Howard et al. 2017; Xception, Chollet 2017): each
   3x3 conv becomes a linear depthwise 3x3 followed by a pointwise 1x1 with instance norm (+ ReLU), like
   Xception's separable conv without an intermediate non-linearity. The blocks run at 1/8 resolution, so
   five of them (as in Johnson) cost little and give a larger receptive field (195 px vs 109).
3. **A 3x3 output conv** instead of 9x9: a conv with 3 output channels is the least efficient layer on
   a CPU (measured: a 5x5 one took a third of the frame time, a 9x9 one doubled it).

Kept from Johnson et al. / pytorch/examples, because they carry the look: instance norm (Ulyanov et al.
2016), reflection padding, nearest upsample + conv (no transposed convs), residual blocks with a linear
last layer. Far smaller Johnson-style nets are known to still stylize: Fritz AI's "Creating a 17 KB style
transfer model with layer pruning and quantization" (2018) pruned the 1.7M-weight net to 11,868 weights
(29 vs 18 fps on an iPhone X); `fast-tiny` (23k params) sits between that and `fast` (100k).
"""

from __future__ import annotations

from rtstyle.models.registry import register_model
from rtstyle.models.spec import Activation, Conv, NetSpec, Residual, check_width_blocks


def separable(channels: int, act: Activation = "relu") -> tuple[Conv, Conv]:
    """A linear depthwise 3x3 then a pointwise 1x1 with instance norm: a cheap stand-in for a 3x3 conv."""
    return (
        Conv(channels, channels, kernel=3, groups=channels, norm=False, act="none"),
        Conv(channels, channels, kernel=1, act=act),
    )


def separable_residual_block(channels: int) -> Residual:
    return Residual(body=(*separable(channels), *separable(channels, act="none")))


def fast_spec(name: str, width: int, blocks: int) -> NetSpec:
    check_width_blocks(name, width, blocks)
    w1, w2, w3 = width, 2 * width, 4 * width
    layers: tuple[Conv | Residual, ...] = (
        Conv(3, w1, kernel=9, stride=2),  # 1/2: Johnson's 9x9 stem, at stride 2
        Conv(w1, w2, kernel=3, stride=2),  # 1/4
        Conv(w2, w3, kernel=3, stride=2),  # 1/8: the extra downsampling stage
        *(separable_residual_block(w3) for _ in range(blocks)),
        Conv(w3, w2, kernel=3, upsample=2),  # 1/4
        Conv(w2, w1, kernel=3, upsample=2),  # 1/2
        Conv(w1, 3, kernel=3, upsample=2, norm=False, act="none"),  # full resolution, RGB 0..255
    )
    return NetSpec(name=name, layers=layers, kwargs={"width": width, "blocks": blocks})


@register_model
def fast(width: int = 16, blocks: int = 5) -> NetSpec:
    """Real time at 640x480 on a 2-core CPU: ~5.0k MAC/px (31x less than johnson), ~100k params.

    9x9 stride-2 stem of `width` (16), stride-2 convs to 2x and 4x width, `blocks` (5) depthwise-separable
    residual blocks at 1/8 resolution, three nearest-upsample + 3x3 convs back to full resolution.
    """
    return fast_spec("fast", width, blocks)


@register_model
def fast_tiny(width: int = 8, blocks: int = 3) -> NetSpec:
    """The `fast` layout at half width and 3 blocks: ~1.5k MAC/px, ~23k params, for slow or busy CPUs."""
    return fast_spec("fast-tiny", width, blocks)
