"""The hyperparameters of a training run, in one typed object.

Each default says where it comes from. "pytorch/examples" is
https://github.com/pytorch/examples/tree/main/fast_neural_style (neural_style/neural_style.py);
"Johnson" is Johnson, Alahi & Fei-Fei (2016), "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", and its reference code jcjohnson/fast-neural-style (train.lua).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from rtstyle.engine.base import MAX_FRAME_PIXELS
from rtstyle.errors import RtstyleError

# `rtstyle train --temporal`: see HyperParams.temporal_weight.
TEMPORAL_WEIGHT = 1e7

# The built-in styles' recipe (issue 5): 20,000 steps at batch 4, or as many training images at a larger batch;
# half of Johnson's 40,000 iterations at batch 4 (the --steps default: about two epochs of COCO's 80k images). scripts/pack_builtin_style.py marks a built-in with fewer a stopgap; the GPU script trains up to it.
BUILTIN_RECIPE_IMAGES = 80_000

# VGG16 ReLU outputs the losses read (names as in Johnson's paper).
VGG_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


@dataclass
class HyperParams:
    # pytorch/examples --image-size 256 (Johnson: 256x256 COCO crops).
    crop_size: int = 256
    # pytorch/examples --batch-size 4 (Johnson: 4).
    batch_size: int = 4
    # pytorch/examples --lr 1e-3 with Adam (Johnson: Adam, 1e-3).
    lr: float = 1e-3
    # Content = MSE of relu2_2 features; style = sum over layers of the MSE of Gram / (C*H*W). Their weights
    # depend on the VGG weights' input range (features of 0..255 inputs are far larger), so None means
    # "the published value for this convention", see `default_loss_weights`.
    content_weight: float | None = None
    style_weight: float | None = None
    # Johnson train.lua -tv_strength 1e-6 (sum of squared neighbour differences on 0..255 pixels, per image);
    # pytorch/examples has no TV term (0 disables it).
    tv_weight: float = 1e-6
    # pytorch/examples --style-size None: the style image at its own size. Here: longest side, pixels.
    style_size: int | None = None
    # pytorch/examples: 2 epochs of COCO 2014 train (82,783 images) at batch 4 = 41,392 steps
    # (Johnson et al. 2016: batch 4 for 40,000 iterations, "roughly two epochs" over COCO's 80k images).
    steps: int = 40_000
    # Weight of the ReCoNet output-level temporal loss (Gao et al. 2018) on synthetic frame pairs; 0 disables it.
    # `--temporal` uses TEMPORAL_WEIGHT, chosen so the term is of the order of the weighted content loss (about 4e5
    # for the stopgap mosaic) when the loss is about 0.04, which we measured for that style on train256 pairs.
    # Checked: 300 steps at this weight from the stopgap mosaic gave 0.31-0.50x its warping error on real clips with
    # a style loss 8% lower (docs/temporal.md); not yet tuned by a full GPU run.
    temporal_weight: float = 0.0
    # Weight of the distillation term: the mean squared difference (0..255 pixels) between the network's output
    # and a teacher style network's (`rtstyle train --teacher`), as in knowledge distillation for style transfer
    # (Wang et al. 2020, "Collaborative Distillation"). Ours, measured: a fresh `fast` student of the stopgap
    # mosaic starts at an MSE of about 3e4, so 10 puts the term at the content term's size (about 3e5).
    distill_weight: float = 10.0
    # Ours: px of mirrored picture around each crop before the network, cropped off after, as rtstyle stylizes
    # every picture (rtstyle.engine.base.BORDER_MARGIN, 32), so that training optimises what users get. Without it
    # the crops' edges come out pale, which lowers the Gram style loss of the whole crop (by up to 58% on the eval
    # photos against the same picture stylized inside its real surroundings; 32 px mirrored: within 12%,
    # docs/engine.md "Borders"): the objective rewards an interior that overshoots the painting's texture.
    # Costs (1 + 2m/crop)^2 the style network's work: 1.3x a CPU step's time and memory at 32 px around 256 px
    # crops, 1.4x with the temporal loss's second forward (docs/benchmarks.md). 0: pytorch/examples' and
    # Johnson's bare crops.
    border_margin: int = 0
    # pytorch/examples --seed 42.
    seed: int = 42
    # Johnson / pytorch/examples: content at relu2_2, style at relu1_2, relu2_2, relu3_3, relu4_3.
    content_layer: str = "relu2_2"
    style_layers: tuple[str, ...] = field(default_factory=lambda: VGG_LAYERS)

    def __post_init__(self) -> None:
        self.style_layers = tuple(self.style_layers)
        for name in ("crop_size", "batch_size", "steps"):
            if getattr(self, name) < 1:
                raise RtstyleError(f"{name.replace('_', '-')} must be at least 1")
        if self.crop_size < 16:
            raise RtstyleError("crop-size must be at least 16 pixels")
        if self.lr <= 0:
            raise RtstyleError("lr must be positive")
        for name in ("content_weight", "style_weight", "tv_weight", "temporal_weight", "distill_weight"):
            if (getattr(self, name) or 0) < 0:
                raise RtstyleError(f"{name.replace('_', '-')} must not be negative")
        if not 0 <= self.border_margin < self.crop_size:
            raise RtstyleError(f"border-margin must be from 0 to below the crop size ({self.crop_size} px)")
        if self.style_size is not None and self.style_size < 16:
            raise RtstyleError("style-size must be at least 16 pixels")
        # Absurd sizes are refused before any photo is read: --crop-size 100000 stopped with OpenCV's out-of-memory
        # traceback; --batch-size 100000 swapped for minutes until the OS killed the run. (--style-size: data.py.)
        step_pixels = self.batch_size * self.crop_size**2
        if step_pixels > MAX_FRAME_PIXELS:
            raise RtstyleError(f"--batch-size {self.batch_size} crops of --crop-size {self.crop_size} are "
                               f"{step_pixels / 1e6:,.0f} Mpx a step, more than rtstyle trains on "
                               f"({MAX_FRAME_PIXELS // 1_000_000} Mpx at most)")
        unknown = [n for n in (self.content_layer, *self.style_layers) if n not in VGG_LAYERS]
        if unknown:
            raise RtstyleError(f"unknown VGG layer(s) {', '.join(unknown)} (choose from {', '.join(VGG_LAYERS)})")

    def with_loss_weights_for(self, input_scale: float) -> "HyperParams":
        """A copy with unset content/style weights filled in for a loss network fed 0..`input_scale`."""
        content, style = default_loss_weights(input_scale)
        return replace(self, content_weight=content if self.content_weight is None else self.content_weight,
                       style_weight=style if self.style_weight is None else self.style_weight)

    def loss_weights(self) -> tuple[float, float]:
        """(content, style) weights; set, or filled in by `with_loss_weights_for`, before training uses them."""
        if self.content_weight is None or self.style_weight is None:
            raise RuntimeError("loss weights are unset: call with_loss_weights_for(input_scale) first")
        return self.content_weight, self.style_weight

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["style_layers"] = list(self.style_layers)
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> "HyperParams":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in known})


def default_loss_weights(input_scale: float) -> tuple[float, float]:
    """(content weight, style weight) published for VGG16 fed 0..1 or 0..255 inputs.

    0..1 (torchvision IMAGENET1K_V1, mean/std normalised): pytorch/examples --content-weight 1e5,
    --style-weight 1e10. 0..255 (Caffe VGG16, BGR minus mean): Johnson train.lua -content_weights 1.0,
    -style_weights 5.0, with the same loss definitions (MSE of features; Gram / (C*H*W), MSE).
    """
    return (1e5, 1e10) if input_scale <= 1.0 else (1.0, 5.0)
