"""A newly trained network replaces a built-in only if it is no worse where users look (scripts/quality_gate.py)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import SHARED, requires_shared, requires_torch, requires_vgg
from rtstyle.styles.catalog import find_style
from test_builtin_packing import load_script

gate = load_script("quality_gate")
collect = load_script("collect_gpu_styles")


def losses(content: float, style: float, photos: int = 46) -> SimpleNamespace:
    return SimpleNamespace(photos=photos, content=content, style=style)


# The CPU stages of 2026-12-07 on the 46 evaluation photos (docs/train/README.md), built-in then new, and what a
# person decided after also looking at them.
PAST_STAGES = {
    "wave margin stage (shipped)": (losses(1.32e5, 6.27e4), losses(1.31e5, 4.80e4), True),
    "shipwreck margin stage (shipped)": (losses(5.78e4, 2.54e4), losses(6.03e4, 2.28e4), True),
    "composition-vii-fast re-distilled (shipped)": (losses(2.12e5, 1.56e5), losses(2.20e5, 1.44e5), True),
    "udnie margin stage, style +15%": (losses(8.44e4, 4.08e4), losses(8.19e4, 4.70e4), False),
    "the-scream at style 5, style +7%": (losses(6.05e4, 4.66e4), losses(5.83e4, 4.98e4), False),
    "the-scream at style 10, banded faces": (losses(6.05e4, 4.66e4), losses(7.15e4, 3.54e4), False),
    "rain-princess at style 5, style +92%": (losses(2.49e5, 1.89e5), losses(2.35e5, 3.64e5), False),
    "wave-fast re-distilled, content +5%": (losses(1.40e5, 1.02e5), losses(1.47e5, 1.02e5), False),
    "wave-fast, teacher targets with the margin": (losses(1.40e5, 1.02e5), losses(1.48e5, 1.01e5), False),
    "wave-fast, student with the margin too, pale": (losses(1.40e5, 1.02e5), losses(1.27e5, 2.12e5), False),
}


@pytest.mark.parametrize("built_in, candidate, replaced", PAST_STAGES.values(), ids=PAST_STAGES.keys())
def test_the_gate_agrees_with_every_past_decision(built_in, candidate, replaced):
    assert gate.judge(built_in, candidate).replace is replaced


def test_the_reason_names_the_rise_that_kept_the_built_in():
    verdict = gate.judge(losses(2.49e5, 1.89e5), losses(2.35e5, 3.64e5))
    assert "style +92.6%" in verdict.reason and "style loss rose" in verdict.reason
    verdict = gate.judge(losses(6.05e4, 4.66e4), losses(7.15e4, 3.54e4))
    assert "content loss rose" in verdict.reason


def results_tar(tmp_path: Path, name: str) -> Path:
    """An archive as scripts/train_builtins_gpu.sh returns it: out/NAME.safetensors and its loss log."""
    archive = tmp_path / "results.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(find_style(name).path, f"out/{name}.safetensors")
        log = json.dumps({"step": 10, "total": 1.0}).encode() + b"\n"
        info = tarfile.TarInfo(f"runs/{name}/losses.jsonl")
        info.size = len(log)
        tar.addfile(info, io.BytesIO(log))
    return archive


def fake_shared(tmp_path: Path) -> Path:
    shared = tmp_path / "shared"
    (shared / "weights").mkdir(parents=True)
    (shared / "weights/vgg16_imagenet_caffe_conv1_1-conv4_3.safetensors").write_bytes(b"")
    (shared / "data/content/eval").mkdir(parents=True)
    return shared


@requires_torch
def test_a_worse_network_is_held_and_the_built_in_left_alone(tmp_path, monkeypatch, capsys):
    built_in = find_style("wave").path
    before = built_in.read_bytes()
    loss_log = collect.LOSS_LOGS / "wave_losses.jsonl"
    log_before = loss_log.read_bytes()
    monkeypatch.setattr(collect, "measure", lambda name, trained, shared: (losses(1e5, 5e4), losses(1e5, 6e4)))

    def no_packing(*args, **kwargs):  # were the gate to let it through, fail before the package is touched
        raise AssertionError(f"packed: {args}")
    monkeypatch.setattr(collect.subprocess, "run", no_packing)
    held = tmp_path / "held"
    assert collect.main([str(results_tar(tmp_path, "wave")), "--shared", str(fake_shared(tmp_path)),
                         "--held", str(held)]) == 0
    assert built_in.read_bytes() == before and loss_log.read_bytes() == log_before
    assert (held / "wave.safetensors").read_bytes() == before
    assert json.loads((held / "wave_losses.jsonl").read_text()) == {"step": 10, "total": 1.0}
    err = capsys.readouterr().err
    assert "not packed" in err and "--only wave --no-gate" in err


@requires_torch
def test_collecting_without_the_shared_folder_stops_with_one_line(tmp_path, capsys):
    assert collect.main([str(results_tar(tmp_path, "wave")), "--shared", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--no-gate" in err and "nowhere" in err


def test_the_gate_stops_on_a_missing_file_with_one_line(tmp_path, capsys):
    assert gate.main(["wave", str(tmp_path / "nosuch.safetensors")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nosuch.safetensors" in err


@requires_shared
@requires_vgg
@requires_torch
def test_a_built_in_measured_against_itself_may_replace_it():
    built_in, candidate = gate.measure("wave", find_style("wave").path, SHARED, photos=1)
    assert built_in.photos == candidate.photos == 1
    assert candidate.style == pytest.approx(built_in.style) and candidate.content == pytest.approx(built_in.content)
    assert built_in.style > 0 and built_in.content > 0
    assert gate.judge(built_in, candidate).replace
