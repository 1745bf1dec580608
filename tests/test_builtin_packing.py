"""The maintainer scripts that pack GPU-trained styles into the package keep each style's history honest."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from rtstyle.styles.catalog import find_style
from rtstyle.styles.format import StyleFile

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pack = load_script("pack_builtin_style")
collect = load_script("collect_gpu_styles")


def run_metadata(steps: int, batch_size: int, **extra) -> dict:
    return {"steps": steps, "hyperparameters": {"batch_size": batch_size}, "recipe": "a stage", **extra}


def test_a_style_short_of_the_full_recipe_is_a_stopgap_with_its_reason():
    meta = run_metadata(steps=2000, batch_size=16)
    pack.mark_recipe(meta)
    assert meta["images_seen"] == 32_000
    assert meta["stopgap"] is True
    assert "32,000" in meta["stopgap_reason"] and "80,000" in meta["stopgap_reason"]


def test_a_style_with_the_full_recipe_is_no_longer_a_stopgap():
    meta = run_metadata(steps=500, batch_size=16, images_seen=80_000, stopgap=True, stopgap_reason="old")
    pack.mark_recipe(meta)
    assert meta["stopgap"] is False
    assert "stopgap_reason" not in meta


def test_a_distilled_network_is_a_stopgap_only_when_its_teacher_is():
    student = run_metadata(steps=400, batch_size=4, teacher="candy", stopgap=True)
    pack.mark_recipe(student)
    assert student["stopgap"] is True and "candy" in student["stopgap_reason"]
    student = run_metadata(steps=400, batch_size=4, teacher="candy")
    pack.mark_recipe(student)
    assert not student.get("stopgap")


def test_continuing_a_built_in_adds_its_steps_and_crops_to_the_parents():
    parent = find_style("udnie").metadata()
    style = StyleFile("johnson", {}, {"w": np.zeros((1, 1), np.float32)}, run_metadata(steps=100, batch_size=16))
    pack.add_parent_history(style, "udnie")
    pack.mark_recipe(style.metadata)
    assert style.metadata["steps"] == parent["steps"] + 100
    assert style.metadata["images_seen"] == parent["images_seen"] + 1_600
    assert style.metadata["recipe"].startswith(parent["recipe"].rstrip(".") + ". Then fine-tuned: ")
    assert style.metadata["title"] == parent["title"]


def test_a_new_stage_of_losses_is_appended_after_the_last(tmp_path):
    target = tmp_path / "udnie_losses.jsonl"
    target.write_text("".join(json.dumps({"stage": s, "step": 10, "total": 1.0}) + "\n" for s in (1, 2)))
    run_log = tmp_path / "losses.jsonl"
    run_log.write_text(json.dumps({"step": 10, "total": 0.5}) + "\n" + json.dumps({"step": 20, "total": 0.4}) + "\n")
    assert collect.append_stage(run_log, target) == 3
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["stage"] for r in records] == [1, 2, 3, 3]
    assert records[-1] == {"stage": 3, "step": 20, "total": 0.4}


@pytest.mark.parametrize("style, message", [("no-such-style", "no-such-style"), ("wave", "painting is missing")])
def test_the_distillation_script_stops_on_bad_input_with_one_line(tmp_path, style, message):
    """An unknown teacher, or a shared folder without its painting: one error line, exit 2, nothing trained."""
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "vgg16_imagenet_caffe_conv1_1-conv4_3.safetensors").write_bytes(b"")
    run = subprocess.run(["bash", str(SCRIPTS / "distill_fast_variant.sh"), style, str(tmp_path)],
                         env={**os.environ, "PYTHON": sys.executable, "RUN": str(tmp_path / "runs")},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert message in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_the_distillation_script_refuses_a_stage_it_cannot_start_from(tmp_path):
    run = subprocess.run(["bash", str(SCRIPTS / "distill_fast_variant.sh"), "wave", str(tmp_path)],
                         env={**os.environ, "PYTHON": sys.executable, "RUN": str(tmp_path / "runs"), "FROM_STAGE": "2"},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.strip() == "distill_fast_variant: error: FROM_STAGE is 1 or 3, not 2"
    assert not (tmp_path / "runs").exists()


def test_continuing_a_gpu_built_in_on_the_cpu_records_both_devices_in_order():
    """udnie was trained on a lent GPU, then continued on the CPU: the record and docs/styles.md say both."""
    doc = load_script("make_styles_doc")
    parent = find_style("udnie").metadata()
    style = StyleFile("johnson", {}, {"w": np.zeros((1, 1), np.float32)},
                      run_metadata(steps=10, batch_size=4, device="cpu", machine="a 2-core VM"))
    pack.add_parent_history(style, "udnie")
    assert style.metadata["device"].startswith(parent["device"].split(", then ")[0])
    assert style.metadata["device"].endswith("cpu") and style.metadata["machine"].endswith("; then a 2-core VM")
    assert doc.trained_on({"device": "cuda, then cpu"}) == "GPU, then CPU"
    assert doc.trained_on({"device": "cuda"}) == "GPU"


def test_a_stage_on_the_same_device_does_not_repeat_it():
    assert pack.stage_history("cuda, then cpu", "cpu", ", then ") == "cuda, then cpu"
    assert pack.stage_history("cuda", "cpu", ", then ") == "cuda, then cpu"
    assert pack.stage_history(None, "cpu", ", then ") == "cpu"
