"""A tiny declarative language for feed-forward style networks.

Networks of the Johnson et al. (2016) family are a chain of padded convolutions, instance norms, ReLUs,
residual blocks and nearest-neighbour upsampling. Describing them as data lets one description drive
both the PyTorch module and the ONNX graph builder, and lets cost be computed without building anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

from rtstyle.errors import RtstyleError

Activation = Literal["relu", "none"]

# Far above any real-time network (johnson: 1.7M parameters; width 128: 27M), far below what exhausts memory:
# an absurd --width must be one line, not an allocator's traceback.
MAX_PARAMETERS = 200_000_000
# Residual blocks (5 in every registered net): a count past this is a typo, and its spec alone would fill memory.
MAX_BLOCKS = 1000


def check_width_blocks(name: str, width: int, blocks: int) -> None:
    """The shared hyperparameters of the registered nets, checked before a spec is built from them."""
    if width < 1 or not 0 <= blocks <= MAX_BLOCKS:
        raise RtstyleError(f"{name}: width must be >= 1 and blocks from 0 to {MAX_BLOCKS} "
                           f"(got width={width}, blocks={blocks})")


@dataclass(frozen=True)
class Conv:
    """[nearest upsample] -> reflection pad (kernel // 2) -> conv -> [instance norm] -> [activation].

    Upsample-then-convolve instead of a transposed convolution avoids checkerboard artefacts
    (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts"), as in pytorch/examples.
    """

    in_ch: int
    out_ch: int
    kernel: int
    stride: int = 1
    groups: int = 1
    upsample: int = 1
    norm: bool = True
    act: Activation = "relu"


@dataclass(frozen=True)
class Residual:
    """x + body(x); the body's last layer has no activation (He et al. 2016 as used by Johnson et al.)."""

    body: tuple[Conv, ...]


Layer = Union[Conv, Residual]


@dataclass(frozen=True)
class NetSpec:
    """A whole network: its layers and the input convention shared by every architecture.

    Input and output are float32 NCHW RGB in 0..255 (the pytorch/examples convention); the output is not
    clamped by the network. Inputs are edge-padded to a multiple of `size_multiple` (and at least
    `min_size`) before the layers and cropped back after, so any frame size works, odd sizes included.
    """

    name: str
    layers: tuple[Layer, ...]
    kwargs: dict[str, float | int] = field(default_factory=dict, compare=False)

    @property
    def size_multiple(self) -> int:
        total = 1
        for conv in self.convs():
            total *= conv.stride
        return total

    @property
    def min_size(self) -> int:
        # Reflection padding needs pad < size at every level: the deepest level must keep 2 pixels
        # and the first (widest) kernel needs more than kernel // 2.
        largest_pad = max(conv.kernel // 2 for conv in self.convs())
        deepest = 2 * self.size_multiple
        return max(deepest, largest_pad + 1)

    def convs(self) -> list[Conv]:
        out: list[Conv] = []
        for layer in self.layers:
            out.extend(layer.body if isinstance(layer, Residual) else (layer,))
        return out

    def macs_per_pixel(self) -> float:
        """Multiply-accumulates of the convolutions per input pixel (what dominates run time)."""
        scale = 1.0  # spatial size of the current level relative to the input, as an area ratio
        macs = 0.0
        for conv in self.convs():
            scale *= conv.upsample**2
            scale /= conv.stride**2
            macs += scale * conv.kernel**2 * conv.in_ch * conv.out_ch / conv.groups
        return macs

    def num_params(self) -> int:
        total = 0
        for conv in self.convs():
            total += conv.kernel**2 * conv.in_ch * conv.out_ch // conv.groups + conv.out_ch
            if conv.norm:
                total += 2 * conv.out_ch
        return total


def padded_size(size: int, multiple: int, min_size: int) -> int:
    """The size a side is edge-padded to before the network runs."""
    return max(-(-size // multiple) * multiple, min_size)
