"""Provider selection with injected provider lists: every branch runs on a CPU-only machine."""

import numpy as np
import pytest

from rtstyle.engine import create_stylizer
from rtstyle.engine.providers import CPU, CUDA, TENSORRT, plan_providers, tensorrt_options
from rtstyle.errors import RtstyleError

ALL = [TENSORRT, CUDA, CPU]


@pytest.mark.parametrize("available, expected", [
    (ALL, [TENSORRT, CUDA, CPU]),
    ([CUDA, CPU], [CUDA, CPU]),
    ([CPU], [CPU]),
    (["AzureExecutionProvider", CPU], [CPU]),
])
def test_auto_picks_tensorrt_then_cuda_then_cpu(available, expected):
    plan = plan_providers("auto", "fp32", available)
    assert [name for name, _ in plan.providers] == expected
    assert plan.device == ("cuda" if expected[0] != CPU else "cpu")
    # Only TensorRT needs the decomposed instance norm (it clamps the op's epsilon to 1e-4).
    assert plan.decompose_instance_norm == (expected[0] == TENSORRT)


def test_cpu_device_ignores_gpu_providers():
    assert [n for n, _ in plan_providers("cpu", "fp32", ALL).providers] == [CPU]


def test_cuda_without_gpu_provider_is_a_clear_error():
    # The plain wheel goes after the extra installed both (as README and `rtstyle doctor` say): they share a module.
    with pytest.raises(RtstyleError, match=r"no CUDA provider.*onnxruntime-gpu.*rtstyle\[gpu\]\" && pip uninstall -y "
                                           r"onnxruntime && pip install --force-reinstall --no-deps onnxruntime-gpu"):
        plan_providers("cuda", "fp32", [CPU])


def test_tensorrt_options_have_fp16_cache_and_profiles(isolated_dirs):
    opts = dict(plan_providers("auto", "fp16", ALL, frame_hw=(480, 640)).providers)[TENSORRT]
    assert opts["trt_fp16_enable"] == "True"
    assert opts["trt_engine_cache_enable"] == "True"
    assert opts["trt_engine_cache_path"] == str(isolated_dirs / "cache" / "trt")
    assert opts["trt_profile_min_shapes"] == "frame:1x16x16x3"
    # The network's input is the frame with BORDER_MARGIN (32) px of mirrored picture on every side: a 640x480
    # frame runs at 704x544, and a 4K UHD frame (3840x2160) must still be in the profile at 3904x2224.
    assert opts["trt_profile_opt_shapes"] == "frame:1x544x704x3"
    assert opts["trt_profile_max_shapes"] == "frame:1x2224x3904x3"
    assert tensorrt_options("fp32")["trt_fp16_enable"] == "False"
    # A frame larger than the default maximum widens the profile instead of failing at run time.
    assert tensorrt_options("fp32", frame_hw=(4320, 7680))["trt_profile_max_shapes"] == "frame:1x4384x7744x3"


def test_auto_reports_the_active_provider(small_style):
    stylizer = create_stylizer(str(small_style), backend="onnx", device="auto", available_providers=[CPU])
    assert stylizer.description.startswith("onnxruntime CPUExecutionProvider fp32")


def test_cuda_listed_but_not_loadable_is_an_error_not_a_cpu_fallback(small_style):
    # This onnxruntime has no CUDA provider: when asked for it, it silently runs on the CPU instead.
    with pytest.raises(RtstyleError, match="could not load it"):
        create_stylizer(str(small_style), backend="onnx", device="cuda", available_providers=[CUDA, CPU])


def test_auto_with_unloadable_cuda_runs_on_cpu_and_says_so(small_style):
    stylizer = create_stylizer(str(small_style), backend="onnx", device="auto", available_providers=[CUDA, CPU])
    assert "CPUExecutionProvider" in stylizer.description
    assert stylizer(np.zeros((8, 8, 3), np.uint8)).shape == (8, 8, 3)


def test_cuda_device_cli_error_is_one_line(tmp_path, small_style, photo, capsys):
    import cv2

    from helpers import assert_one_line_error, run_cli

    src = tmp_path / "in.png"
    cv2.imwrite(str(src), photo[:16, :16])
    result = run_cli(["image", str(src), "-s", str(small_style), "--backend", "onnx", "--device", "cuda"], capsys)
    assert_one_line_error(result, "--device cuda")


def test_shipped_tensor_model_skips_tensorrt_whose_profile_is_for_frames(tmp_path, small_style, monkeypatch):
    from rtstyle.engine import factory, providers
    from rtstyle.export.exporter import export_style

    real_plan = providers.plan_providers
    seen = []

    def spy(device, precision, available=None, **kwargs):
        seen.append(kwargs.get("use_tensorrt", True))
        plan = real_plan(device, precision, available, **kwargs)
        assert [n for n, _ in plan.providers][0] == (TENSORRT if seen[-1] else CUDA)
        return real_plan("cpu", precision)  # run it on this machine's CPU

    monkeypatch.setattr(providers, "plan_providers", spy)  # the factory imports it lazily: it gets the spy
    for io in ("frame", "tensor"):
        export_style(str(small_style), tmp_path / f"{io}.onnx", io=io, sizes=((8, 8),))
        factory.create_stylizer(str(tmp_path / f"{io}.onnx"), available_providers=ALL)
    assert seen == [True, False]
