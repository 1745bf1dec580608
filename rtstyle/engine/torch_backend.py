"""The PyTorch backend: eager execution of the StyleNet built from the style file."""

from __future__ import annotations

import numpy as np
import torch

from rtstyle.engine.base import Stylizer
from rtstyle.models.torch_net import StyleNet
from rtstyle.models.registry import create_spec
from rtstyle.styles.format import StyleFile


def style_to_module(style: StyleFile) -> StyleNet:
    net = StyleNet(create_spec(style.arch, **style.arch_kwargs))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in style.float32_weights().items()})
    return net.eval()


def frames_to_tensor(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 NHWC BGR -> float NCHW RGB 0..255 on the device (conversion done there)."""
    t = torch.from_numpy(np.ascontiguousarray(frames)).to(device, non_blocking=True)
    return t.flip(-1).permute(0, 3, 1, 2).float()


def tensor_to_frames(y: torch.Tensor) -> np.ndarray:
    """float NCHW RGB 0..255 -> uint8 NHWC BGR on the host (same rounding as the ONNX frame graph)."""
    return y.clamp(0, 255).round().to(torch.uint8).flip(1).permute(0, 2, 3, 1).contiguous().cpu().numpy()


class TorchStylizer(Stylizer):
    def __init__(self, style: StyleFile, device: str = "cpu") -> None:
        self.device = torch.device(device)
        self.net = style_to_module(style).to(self.device)
        self.style_name = style.name
        self.description = f"torch eager {self.device.type} fp32"

    @torch.inference_mode()
    def _stylize(self, frame: np.ndarray) -> np.ndarray:
        return tensor_to_frames(self.net(frames_to_tensor(frame[None], self.device)))[0]
