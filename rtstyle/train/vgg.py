"""The loss network: VGG16 conv1_1..conv4_3 (torchvision `vgg16().features[:23]`), frozen.

The input convention belongs to the weights, not to the code: Caffe-trained weights want BGR pixels in
0..255 minus the ImageNet mean, torchvision's want RGB in 0..1 normalised by mean and std. The network
takes our RGB 0..255 tensors and applies the convention of the weights it was built with.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from rtstyle.errors import RtstyleError
from rtstyle.paths import VGG_WEIGHTS_ENV

# torchvision vgg16().features indices: conv layers, and the ReLU after which each loss layer is read.
CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21)
POOL_INDICES = (4, 9, 16)
LAYER_INDEX = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}
CONV_CHANNELS = ((3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
                 (256, 512), (512, 512), (512, 512))
EXPECTED_SHAPES = {
    **{f"features.{i}.weight": (out_ch, in_ch, 3, 3) for i, (in_ch, out_ch) in zip(CONV_INDICES, CONV_CHANNELS)},
    **{f"features.{i}.bias": (out_ch,) for i, (_, out_ch) in zip(CONV_INDICES, CONV_CHANNELS)},
}
WEIGHTS_HINT = f"pass --vgg-weights PATH (a VGG16 safetensors file) or set {VGG_WEIGHTS_ENV}"


@dataclass(frozen=True)
class InputConvention:
    """How pixels must be presented to a set of VGG weights: channel order, range, mean and std."""

    channels: str  # "RGB" or "BGR"
    scale: float  # 255.0 for 0..255 inputs, 1.0 for 0..1
    mean: tuple[float, float, float]  # in the weights' channel order and range
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def describe(self) -> str:
        rng = "0..255" if self.scale == 255.0 else "0..1"
        text = f"{self.channels}, {rng}, minus mean [{','.join(f'{m:g}' for m in self.mean)}]"
        if self.std != (1.0, 1.0, 1.0):
            text += f", divided by std [{','.join(f'{s:g}' for s in self.std)}]"
        return text

    def apply(self, rgb255: torch.Tensor) -> torch.Tensor:
        """float NCHW RGB 0..255 -> what the weights expect."""
        x = rgb255.flip(1) if self.channels == "BGR" else rgb255
        if self.scale != 255.0:
            x = x * (self.scale / 255.0)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std


# torchvision IMAGENET1K_V1: RGB in 0..1, normalised with the ImageNet mean and std.
TORCHVISION_CONVENTION = InputConvention("RGB", 1.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))

_NUMBERS = r"\[\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*\]"


def parse_convention(text: str) -> InputConvention:
    """Parse a metadata `input` string such as "BGR, 0..255, minus mean [103.939,116.779,123.68]".

    Accepted: channel order RGB or BGR; range 0..255 or 0..1; "mean [a,b,c]"; optional "std [a,b,c]".
    Anything else is refused rather than guessed.
    """
    channels = re.search(r"\b(RGB|BGR)\b", text, re.IGNORECASE)
    value_range = re.search(r"0\s*\.\.\s*(255|1)\b", text)
    mean = re.search(r"mean\s*" + _NUMBERS, text, re.IGNORECASE)
    std = re.search(r"std\s*" + _NUMBERS, text, re.IGNORECASE)
    if not (channels and value_range and mean):
        raise ValueError(f"unrecognised input convention {text!r}")
    return InputConvention(
        channels=channels.group(1).upper(),
        scale=float(value_range.group(1)),
        mean=tuple(float(v) for v in mean.groups()),  # type: ignore[arg-type]
        std=tuple(float(v) for v in std.groups()) if std else (1.0, 1.0, 1.0),  # type: ignore[arg-type]
    )


class LossNetwork(nn.Module):
    """Frozen VGG16 up to relu4_3; forward returns {layer name: features} for the requested layers."""

    def __init__(self, state: dict[str, torch.Tensor], convention: InputConvention) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = iter(CONV_CHANNELS)
        for index in range(LAYER_INDEX["relu4_3"] + 1):
            if index in CONV_INDICES:
                in_ch, out_ch = next(channels)
                layers.append(nn.Conv2d(in_ch, out_ch, 3, padding=1))
            elif index in POOL_INDICES:
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers.append(nn.ReLU(inplace=False))
        self.features = nn.Sequential(*layers)
        self.features.load_state_dict({k[len("features."):]: v for k, v in state.items()})
        self.convention = convention
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "LossNetwork":
        return super().train(False)  # always eval: the loss network is never trained

    def forward(self, rgb255: torch.Tensor, layers: tuple[str, ...]) -> dict[str, torch.Tensor]:
        x = self.convention.apply(rgb255)
        wanted = {LAYER_INDEX[name]: name for name in layers}
        last = max(wanted)
        out: dict[str, torch.Tensor] = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in wanted:
                out[wanted[index]] = x
            if index == last:
                break
        return out


def check_vgg_state(state: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """Keep the conv1_1..conv4_3 tensors; refuse anything missing, misshapen or non-finite."""
    picked = {}
    for key, shape in EXPECTED_SHAPES.items():
        tensor = state.get(key)
        if tensor is None:
            raise RtstyleError(f"{source} is not a VGG16 weights file (missing {key})")
        if tuple(tensor.shape) != shape:
            raise RtstyleError(f"{source} is not a VGG16 weights file ({key} has shape {tuple(tensor.shape)}, "
                               f"expected {shape})")
        tensor = tensor.float()
        if not torch.isfinite(tensor).all():
            raise RtstyleError(f"{source} has non-finite values in {key}")
        picked[key] = tensor
    return picked


def load_vgg_file(path: Path) -> LossNetwork:
    """A safetensors file whose metadata `input` states its input convention (see parse_convention)."""
    from safetensors import SafetensorError, safe_open

    path = Path(path).expanduser()
    if path.is_dir():  # "not found" misled: it is there, as the folder the file was put in
        inside = sorted(p.name for p in path.glob("*.safetensors"))
        hint = f"give the file in it: {path / inside[0]}" if len(inside) == 1 else WEIGHTS_HINT
        raise RtstyleError(f"VGG weights {path} is a folder, not a safetensors file ({hint})")
    if not path.is_file():
        raise RtstyleError(f"VGG weights file not found: {path} ({WEIGHTS_HINT})")
    try:
        with safe_open(str(path), framework="pt") as fh:
            metadata = fh.metadata() or {}
            state = {key: fh.get_tensor(key) for key in fh.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RtstyleError(f"cannot read VGG weights {path}: not a valid safetensors file ({first})") from None
    convention_text = metadata.get("input")
    if not convention_text:
        raise RtstyleError(f"VGG weights {path} do not state their input convention (metadata 'input', "
                           "e.g. \"BGR, 0..255, minus mean [103.939,116.779,123.68]\")")
    try:
        convention = parse_convention(convention_text)
    except ValueError:
        raise RtstyleError(f"VGG weights {path}: unknown input convention {convention_text!r}") from None
    return LossNetwork(check_vgg_state(state, str(path)), convention)


def load_torchvision_vgg() -> LossNetwork:
    """torchvision's VGG16 IMAGENET1K_V1, downloaded and cached by torch.hub the usual way."""
    try:
        from torchvision.models import VGG16_Weights
    except ImportError:
        raise RtstyleError(f"torchvision is not installed, so its VGG16 weights cannot be used: {WEIGHTS_HINT}") from None
    url = VGG16_Weights.IMAGENET1K_V1.url
    try:
        state = torch.hub.load_state_dict_from_url(url, progress=True, check_hash=True, weights_only=True)
    except Exception as exc:  # no network, proxy, disk: urllib, OSError, hash mismatch, ...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RtstyleError(f"cannot get torchvision's VGG16 weights ({reason}): {WEIGHTS_HINT}") from None
    return LossNetwork(check_vgg_state(state, url), TORCHVISION_CONVENTION)


def load_loss_network(vgg_weights: str | Path | None) -> tuple[LossNetwork, str]:
    """(network, description): from the path, else $RTSTYLE_VGG_WEIGHTS, else torchvision's weights."""
    source = vgg_weights or os.environ.get(VGG_WEIGHTS_ENV) or None
    if source:
        try:
            return load_vgg_file(Path(source)), str(Path(source).name)
        except RtstyleError as exc:
            if vgg_weights:
                raise
            # A variable set long ago is easily forgotten: say where the path came from.
            raise RtstyleError(f"{VGG_WEIGHTS_ENV}={source}: {exc}") from None
    return load_torchvision_vgg(), "torchvision VGG16_Weights.IMAGENET1K_V1"
