"""The onnxruntime backend: runs the "frame" graph, so pre- and post-processing happen inside onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from rtstyle.engine.base import Stylizer
from rtstyle.errors import RtstyleError


def load_session(model_path: Path, providers: list[str]) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: no provider chatter on the user's terminal
    # Idle threads sleep instead of spinning: measured 1.1-2.5x faster per frame and 2-5x less CPU on a busy
    # 2-core machine, where a spinning thread steals the core its peer (or the capture loop) needs
    # (bench/fast_arch.py --settings, docs/benchmarks-fast.md).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(model_path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises Fail/InvalidGraph/InvalidProtobuf for bad files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RtstyleError(f"cannot load ONNX model {model_path}: {first_line}") from None


class OnnxStylizer(Stylizer):
    def __init__(self, model_path: Path, providers: list[str], style_name: str = "") -> None:
        self.session = load_session(model_path, providers)
        self.style_name = style_name
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or inputs[0].name != "frame" or inputs[0].type != "tensor(uint8)":
            raise RtstyleError(f"{model_path} is not an rtstyle frame model (expects one uint8 input named 'frame')")
        active = self.session.get_providers()[0]
        self.description = f"onnxruntime {active}"

    def _stylize(self, frame: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(frame)[None]
        return self.session.run(None, {"frame": batch})[0][0]
