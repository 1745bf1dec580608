"""`rtstyle doctor`: each check says what it found, and what to do about what is missing or broken."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from helpers import run_cli
from rtstyle import doctor
from rtstyle.paths import builtin_styles_dir
from rtstyle.realtime.virtual_camera import INSTALL


def findings(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, str | None]]]:
    result = run_cli(["doctor", "--json"], capsys)
    return result.exit_code, {f["topic"]: f for f in json.loads(result.out)["findings"]}


def test_every_check_reports_on_this_machine(capsys):
    code, found = findings(capsys)
    assert list(found) == ["machine", "inference", "torch", "video", "window", "virtual camera", "HEIC photos",
                           "styles", "VGG16 weights"]
    assert found["video"]["status"] == "ok"  # PyAV's wheel has every encoder the formats use
    assert found["styles"]["status"] == "ok" and found["styles"]["detail"].startswith("9 built-in (and 9 fast")
    assert all(f["fix"] for f in found.values() if f["status"] != "ok")
    assert code == (1 if any(f["status"] == "problem" for f in found.values()) else 0)


def test_a_gpu_provider_that_does_not_load_is_a_problem(monkeypatch):
    # onnxruntime-gpu without its CUDA libraries lists the provider, logs an error and runs on the CPU: the
    # check makes a real session asking for it (this machine's onnxruntime has no CUDA, so it falls back too).
    from rtstyle.engine import factory, providers

    monkeypatch.setattr(providers, "available_providers", lambda: [providers.CUDA, providers.CPU])
    monkeypatch.setattr(factory, "nvidia_gpu_present", lambda: True)
    finding = doctor.inference()
    assert finding.status == doctor.PROBLEM and "cannot load it" in finding.detail
    assert "onnxruntime.ai" in (finding.fix or "")


def test_the_provider_probe_loads_in_every_supported_onnxruntime():
    # The onnx package stamps its own IR on a model (14 for onnx 1.23), which an older onnxruntime refuses (1.23:
    # "max supported IR version: 11"): on a GPU the check then said the CUDA libraries did not load.
    import onnx

    from rtstyle.export.onnx_graph import IR_VERSION

    assert onnx.load_from_string(doctor.provider_probe()).ir_version == IR_VERSION == 8
    assert doctor._providers_that_load(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def test_onnxruntime_gpu_without_an_nvidia_driver_is_not_blamed_on_cuda_libraries(monkeypatch):
    # onnxruntime-gpu on a machine without an NVIDIA GPU (or its driver): installing CUDA and cuDNN would not help.
    from rtstyle.engine import factory, providers

    monkeypatch.setattr(providers, "available_providers", lambda: [providers.CUDA, providers.CPU])
    monkeypatch.setattr(factory, "nvidia_gpu_present", lambda: False)
    finding = doctor.inference()
    assert finding.status == doctor.PROBLEM and "no NVIDIA driver" in finding.detail
    assert "cuDNN" not in finding.detail and "onnxruntime.ai" not in (finding.fix or "")
    assert (finding.fix or "").endswith(
        "without an NVIDIA GPU: pip uninstall -y onnxruntime-gpu && pip install --force-reinstall --no-deps onnxruntime")


def test_an_nvidia_gpu_without_a_gpu_engine_says_how_to_get_one(monkeypatch):
    from rtstyle.engine import factory, providers

    monkeypatch.setattr(providers, "available_providers", lambda: [providers.CPU])
    monkeypatch.setattr(factory, "nvidia_gpu_present", lambda: True)
    finding = doctor.inference()
    assert finding.status == doctor.MISSING
    # Not the extra alone: it installs the plain onnxruntime too, whose build then holds the shared module.
    assert finding.fix == ('pip install "rtstyle[gpu]" && pip uninstall -y onnxruntime && '
                           'pip install --force-reinstall --no-deps onnxruntime-gpu')
    monkeypatch.setattr(factory, "nvidia_gpu_present", lambda: False)
    assert doctor.inference().status == doctor.OK


def test_styles_of_yours_are_counted_and_a_broken_one_is_a_problem(isolated_dirs, capsys):
    yours = isolated_dirs / "styles"
    yours.mkdir(parents=True)
    shutil.copy(builtin_styles_dir() / "candy.safetensors", yours / "candy.safetensors")
    finding = doctor.styles()
    assert finding.status == doctor.OK and "1 of yours (1 replacing a built-in of the same name)" in finding.detail
    (yours / "broken.safetensors").write_bytes(b"not a style")
    finding = doctor.styles()
    assert finding.status == doctor.PROBLEM and finding.detail.endswith("unusable: broken")
    assert "`rtstyle styles remove broken`" in finding.fix  # the command that mends it, as for every finding
    result = run_cli(["doctor"], capsys)
    assert result.exit_code == 1
    assert "  problem  styles" in result.out and "-> `rtstyle styles show broken` says why" in result.out


def test_the_training_weights_are_found_as_training_looks_for_them(tmp_path, monkeypatch):
    monkeypatch.setenv("RTSTYLE_VGG_WEIGHTS", str(tmp_path / "nowhere.safetensors"))
    assert doctor.training_weights().status == doctor.PROBLEM
    (tmp_path / "vgg.safetensors").write_bytes(b"x")
    monkeypatch.setenv("RTSTYLE_VGG_WEIGHTS", str(tmp_path / "vgg.safetensors"))
    assert doctor.training_weights().status == doctor.OK
    monkeypatch.delenv("RTSTYLE_VGG_WEIGHTS")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert doctor.training_weights().status == doctor.MISSING  # downloaded on first use: said, with the offline way
    cached = tmp_path / "torch" / "hub" / "checkpoints" / doctor.TORCHVISION_VGG16
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert doctor.training_weights() == doctor.Finding("VGG16 weights", doctor.OK, f"torchvision's, cached: {cached}")


def test_the_extras_say_how_to_install_them(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("pyvirtualcam", "torch")
                        else real(name, *a))
    assert doctor.virtual_camera() == doctor.Finding(
        "virtual camera", doctor.MISSING, "pyvirtualcam is not installed: webcam --virtual-camera needs it", INSTALL)
    assert doctor.torch_backend().fix == 'pip install "rtstyle[train]"'


def test_a_window_needs_a_display(monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert doctor.window().status == doctor.MISSING
    monkeypatch.setenv("DISPLAY", ":0")
    assert doctor.window().status == doctor.OK  # this OpenCV build has a GUI backend (opencv-python, not headless)


def test_a_check_that_fails_is_a_problem_and_the_others_still_run(tmp_path, monkeypatch, capsys):
    # A torch whose CUDA libraries are missing raises on import: the doctor printed one error line and nothing else.
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text('raise OSError("libcudnn.so.9: cannot open shared object file")')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    code, found = findings(capsys)
    assert code == 1
    assert found["torch"]["status"] == "problem" and "libcudnn.so.9" in found["torch"]["detail"]
    assert found["torch"]["fix"]
    assert found["machine"]["status"] == "ok"  # it does not need torch
    assert found["styles"]["status"] == "ok" and found["VGG16 weights"]["status"] in ("ok", "missing")
