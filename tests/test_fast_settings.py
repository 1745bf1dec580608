"""The onnxruntime CPU settings chosen by measurement (docs/benchmarks.md) are the ones sessions get."""

import onnx

from rtstyle.engine.onnx_backend import load_session
from rtstyle.export.onnx_graph import build_onnx
from rtstyle.models.registry import create_spec

from conftest import random_style_weights


def test_sessions_use_full_optimisation_and_do_not_spin(tmp_path):
    path = tmp_path / "tiny.onnx"
    onnx.save(build_onnx(create_spec("fast-tiny"), random_style_weights("fast-tiny"), io="frame"), path)
    options = load_session(path, ["CPUExecutionProvider"]).get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.graph_optimization_level.name == "ORT_ENABLE_ALL"  # NCHWc layout: fastest for fast archs
