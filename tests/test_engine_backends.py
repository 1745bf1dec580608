"""The onnx and torch backends: parity at odd sizes, I/O binding buffers, batches, bad models and frames."""

import numpy as np
import onnx
import pytest

from conftest import HAS_TORCH, requires_torch
from helpers import assert_one_line_error, run_cli
from rtstyle.engine import create_stylizer
from rtstyle.engine.base import MAX_FRAME_PIXELS
from rtstyle.engine.onnx_backend import OnnxStylizer
from rtstyle.engine.onnx_cache import onnx_for_style
from rtstyle.errors import RtstyleError

if HAS_TORCH:  # the core install has none: the tests that use it are marked requires_torch
    import torch


@requires_torch
@pytest.mark.parametrize("hw", [(1, 1), (3, 5), (31, 17), (66, 97)])
def test_onnx_and_torch_backends_agree_at_odd_sizes(small_style, photo, hw):
    frame = np.ascontiguousarray(photo[: hw[0], : hw[1]])
    a = create_stylizer(str(small_style), backend="onnx", device="cpu")(frame)
    b = create_stylizer(str(small_style), backend="torch", device="cpu")(frame)
    assert a.shape == b.shape == frame.shape and a.dtype == np.uint8
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    if frame.size > 100:
        assert a.std() > 3  # a real picture, not a constant


def test_io_binding_reuses_buffers_until_the_size_changes(small_style, photo):
    model = onnx_for_style(small_style)
    plain = OnnxStylizer(model, ["CPUExecutionProvider"], io_binding=False)
    bound = OnnxStylizer(model, ["CPUExecutionProvider"], io_binding=True)
    assert "io-binding" in bound.description and "io-binding" not in plain.description
    frames = [photo[:40, :60], photo[40:80, :60], photo[:21, :33]]
    outputs = [bound(np.ascontiguousarray(f)) for f in frames]
    assert bound.buffers.allocations == 2  # same size twice: one allocation; a new size: one more
    for frame, out in zip(frames, outputs):  # earlier results were not overwritten by later frames
        np.testing.assert_array_equal(out, plain(np.ascontiguousarray(frame)))


@requires_torch
def test_stylize_batch_matches_single_frames(small_style, photo):
    frames = np.stack([photo[:24, :40], photo[24:48, :40], photo[48:72, :40]])
    for backend in ("onnx", "torch"):
        stylizer = create_stylizer(str(small_style), backend=backend, device="cpu")
        batch = stylizer.stylize_batch(frames)
        assert batch.shape == frames.shape
        for i, frame in enumerate(frames):
            assert np.abs(batch[i].astype(int) - stylizer(frame).astype(int)).max() <= 1
    with pytest.raises(RtstyleError, match="same size"):
        stylizer.stylize_batch([photo[:8, :8], photo[:9, :9]])
    with pytest.raises(RtstyleError, match="empty batch"):  # one line, not numpy's ValueError from the margin
        stylizer.stylize_batch(np.zeros((0, 8, 8, 3), np.uint8))


def test_exported_onnx_runs_as_a_style(tmp_path, small_style, photo, capsys):
    import cv2

    from rtstyle.export.exporter import export_style

    frame = np.ascontiguousarray(photo[:50, :70])
    expected = create_stylizer(str(small_style), backend="onnx", device="cpu")(frame)
    for io in ("frame", "tensor"):
        path = tmp_path / f"{io}.onnx"
        export_style(str(small_style), path, io=io, sizes=((9, 13),))
        got = create_stylizer(str(path), device="cpu")(frame)
        assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1, io
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), frame)
    result = run_cli(["image", str(src), "-s", str(tmp_path / "frame.onnx"), "-o", str(tmp_path / "o.png")], capsys)
    assert result.exit_code == 0, result
    assert "onnxruntime CPUExecutionProvider" in result.err


def test_corrupt_truncated_and_foreign_onnx_files_are_one_line_errors(tmp_path, small_style, photo, capsys):
    import cv2

    src = tmp_path / "in.png"
    cv2.imwrite(str(src), photo[:16, :16])
    good = onnx_for_style(small_style).read_bytes()
    (tmp_path / "truncated.onnx").write_bytes(good[: len(good) // 3])
    (tmp_path / "garbage.onnx").write_bytes(b"this is not a protobuf" * 10)
    (tmp_path / "empty.onnx").write_bytes(b"")
    # A valid ONNX model that is not a style network: one float input of rank 2.
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])
    foreign = onnx.helper.make_model(onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
                                     opset_imports=[onnx.helper.make_opsetid("", 17)])
    foreign.ir_version = 8
    onnx.save(foreign, tmp_path / "foreign.onnx")
    for name, fragment in [("truncated", "cannot load onnx model"), ("garbage", "cannot load onnx model"),
                           ("empty", "empty"), ("foreign", "not a style model"), ("missing", "not found")]:
        result = run_cli(["image", str(src), "-s", str(tmp_path / f"{name}.onnx"), "-o", str(tmp_path / "o.png")],
                         capsys)
        assert_one_line_error(result, fragment)
    assert not (tmp_path / "o.png").exists()


def test_unknown_backend_device_and_precision_are_errors(small_style):
    for kwargs, fragment in [({"backend": "tensorflow"}, "unknown backend"), ({"device": "tpu"}, "unknown device"),
                             ({"precision": "int4"}, "unknown precision")]:
        with pytest.raises(RtstyleError, match=fragment):
            create_stylizer(str(small_style), **kwargs)


def test_one_pixel_frame_and_too_large_frame(small_style):
    stylizer = create_stylizer(str(small_style), backend="onnx", device="cpu")
    assert stylizer(np.full((1, 1, 3), 200, np.uint8)).shape == (1, 1, 3)
    side = int(MAX_FRAME_PIXELS**0.5) + 1
    huge = np.zeros((side, side, 3), np.uint8)  # calloc'ed: no memory is touched
    with pytest.raises(RtstyleError, match="too large"):
        stylizer(huge)
    assert 7680 * 4320 <= MAX_FRAME_PIXELS  # 8K UHD is accepted


@requires_torch
def test_torch_fp16_plan_and_norms_stay_fp32(small_style, photo):
    from rtstyle.engine.torch_backend import (Fp32InstanceNorm, TorchPlan, TorchStylizer, half_with_fp32_norms,
                                              plan_torch, style_to_module)
    from rtstyle.styles.format import load_style_file

    assert plan_torch("cpu", "fp32") == TorchPlan("cpu", half=False, channels_last=False, compile_fixed_size=False)
    assert plan_torch("cuda", "fp16") == TorchPlan("cuda", half=True, channels_last=True, compile_fixed_size=True)
    assert plan_torch("cuda", "fp32", compile=False).describe() == "torch eager cuda fp32"
    with pytest.raises(RtstyleError, match="fp16 with the torch backend needs a CUDA GPU"):
        plan_torch("cpu", "fp16")

    style = load_style_file(small_style)
    net = half_with_fp32_norms(style_to_module(style))
    norms = [m for m in net.modules() if isinstance(m, Fp32InstanceNorm)]
    assert norms and all(m.norm.weight.dtype == torch.float32 for m in norms)
    # The GPU plan's arithmetic (fp16, fp32 norms, channels_last) runs on the CPU too: check it against fp32.
    frame = np.ascontiguousarray(photo[:45, :61])
    fp32 = TorchStylizer(style, "cpu")(frame)
    half = TorchStylizer(style, plan=TorchPlan("cpu", half=True, channels_last=True, compile_fixed_size=False))
    diff = np.abs(half(frame).astype(int) - fp32.astype(int))
    assert diff.max() <= 4 and diff.mean() < 0.5


@requires_torch
def test_fixed_size_compiler_compiles_once_a_size_repeats():
    from rtstyle.engine.torch_backend import FixedSizeCompiler

    compiled_for = []

    def fake_compile(fn):
        compiled_for.append(True)
        return lambda x: fn(x) + 1000

    runner = FixedSizeCompiler(lambda x: x * 2, fake_compile, repeat=2)
    a, b = torch.ones(1, 4, 4, 3), torch.ones(1, 5, 5, 3)
    assert runner(a).max() == 2  # first frame of a size: eager
    assert runner(b).max() == 2  # a new size: eager again
    assert runner(b).max() == 1002 and len(compiled_for) == 1  # the size repeated: compiled
    assert runner(b).max() == 1002 and len(compiled_for) == 1  # and reused
    assert runner(a).max() == 2  # another size: eager, the compiled one is kept

    def broken(fn):
        raise RuntimeError("no triton")

    failing = FixedSizeCompiler(lambda x: x * 2, broken, repeat=1)
    with pytest.warns(UserWarning, match="running eager"):
        assert failing(a).max() == 2
    assert failing(a).max() == 2 and failing.failed


def test_cpu_session_options_are_the_measured_defaults():
    from rtstyle.engine.onnx_backend import CpuSessionConfig, session_options

    options = session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.intra_op_num_threads == 0 and options.execution_mode.name == "ORT_SEQUENTIAL"
    assert options.graph_optimization_level.name == "ORT_ENABLE_ALL"
    one = session_options(CpuSessionConfig(intra_op_threads=1, spinning=True))
    assert one.intra_op_num_threads == 1 and one.get_session_config_entry("session.intra_op.allow_spinning") == "1"


def test_frames_too_large_for_memory_are_refused_before_running(small_style):
    from rtstyle.engine.memory import MemoryGuard, estimate_frame_bytes, full_resolution_channels
    from rtstyle.models.registry import create_spec

    spec = create_spec("johnson", width=32)
    assert full_resolution_channels(spec) == 64  # the upsampled input of the last 3x3 conv
    # 8K with the paper's network: ~42 GiB by the estimate (about 27 GiB measured-per-pixel): refused on 24 GiB.
    assert estimate_frame_bytes(spec, 4320, 7680) > 24 * 2**30
    assert estimate_frame_bytes(spec, 1080, 1920) < 4 * 2**30

    stylizer = create_stylizer(str(small_style), backend="onnx", device="cpu")
    assert stylizer.memory_guard is not None
    stylizer.memory_guard.available = 64 * 2**20  # pretend only 64 MiB are free
    assert stylizer(np.zeros((40, 60, 3), np.uint8)).shape == (40, 60, 3)  # small frames still run
    with pytest.raises(RtstyleError, match=r"4320x2160 frame needs about .* GiB.*--max-size"):
        stylizer(np.zeros((2160, 4320, 3), np.uint8))
    import types

    import psutil

    real = MemoryGuard(spec, available=None)  # the real check asks the OS, through psutil
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(psutil, "virtual_memory", lambda: types.SimpleNamespace(available=10 * 2**30))
        assert real.budget() == int(9 * 2**30)


def test_runtime_allocation_failure_is_a_clear_error(small_style, monkeypatch):
    stylizer = create_stylizer(str(small_style), backend="onnx", device="cpu")

    def fail(*args, **kwargs):
        raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Failed to allocate memory for requested buffer")

    monkeypatch.setattr(stylizer, "_run_unchecked", fail)
    with pytest.raises(RtstyleError, match="not enough memory to stylize a 9x8 frame on the CPU"):
        stylizer(np.zeros((8, 9, 3), np.uint8))


def test_a_style_with_its_model_cached_runs_without_importing_onnx(small_style):
    """The onnx package is for building models (its import took 1.3-2.3 s of each command's start on 2 cores);
    a style whose model is cached, as at every run after the first, needs onnxruntime only."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    onnx_for_style(small_style)  # the first run: built and cached (RTSTYLE_CACHE_DIR, set by conftest)
    code = ("import sys, numpy as np; from rtstyle.engine import create_stylizer; "
            f"s = create_stylizer({str(small_style)!r}, backend='onnx', device='cpu'); "
            "s(np.zeros((8, 8, 3), np.uint8)); print('onnx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ),
                         cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == "False", out.stderr
