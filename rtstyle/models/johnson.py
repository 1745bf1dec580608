"""The image transformation network of Johnson, Alahi & Fei-Fei (2016), "Perceptual Losses for Real-Time
Style Transfer and Super-Resolution", as refined in pytorch/examples `fast_neural_style`:
instance norm instead of batch norm (Ulyanov et al. 2016), reflection padding, and nearest upsample +
conv instead of fractionally strided convolutions.
"""

from __future__ import annotations

from rtstyle.models.registry import register_model
from rtstyle.models.spec import Conv, NetSpec, Residual, check_width_blocks


def residual_block(channels: int) -> Residual:
    return Residual(
        body=(
            Conv(channels, channels, kernel=3),
            Conv(channels, channels, kernel=3, act="none"),
        )
    )


@register_model
def johnson(width: int = 32, blocks: int = 5) -> NetSpec:
    """9x9 conv 32, two stride-2 convs 64/128, five residual blocks of 128, upsample + conv back up.

    `width` scales every layer (32 in the paper); `blocks` is the number of residual blocks (5).
    """
    check_width_blocks("johnson", width, blocks)
    w1, w2, w3 = width, 2 * width, 4 * width
    layers: tuple[Conv | Residual, ...] = (
        Conv(3, w1, kernel=9),
        Conv(w1, w2, kernel=3, stride=2),
        Conv(w2, w3, kernel=3, stride=2),
        *(residual_block(w3) for _ in range(blocks)),
        Conv(w3, w2, kernel=3, upsample=2),
        Conv(w2, w1, kernel=3, upsample=2),
        Conv(w1, 3, kernel=9, norm=False, act="none"),
    )
    return NetSpec(name="johnson", layers=layers, kwargs={"width": width, "blocks": blocks})
