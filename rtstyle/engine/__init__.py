"""Inference engines: one `Stylizer` interface, backends for onnxruntime and PyTorch."""

from rtstyle.engine.base import Stylizer
from rtstyle.engine.factory import BACKENDS, DEVICES, PRECISIONS, create_stylizer

__all__ = ["BACKENDS", "DEVICES", "PRECISIONS", "Stylizer", "create_stylizer"]
