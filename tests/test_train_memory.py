"""`rtstyle train`'s memory: a batch x crop size beyond the machine's memory is refused (or warned about) before step 1,
and running out of memory in a step is one line with the checkpoint kept, as Ctrl-C keeps it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from conftest import requires_vgg  # noqa: E402
from helpers import assert_one_line_error, run_cli  # noqa: E402
from test_train_cli import args_for  # noqa: E402
from train_utils import make_content_folder, write_style_image  # noqa: E402

from rtstyle.models.registry import create_spec  # noqa: E402
from rtstyle.styles.format import load_style_file  # noqa: E402
from rtstyle.train import step_memory  # noqa: E402
from rtstyle.train.hparams import TEMPORAL_WEIGHT, HyperParams  # noqa: E402
from rtstyle.train.step_memory import StepMemory, is_out_of_memory, step_bytes  # noqa: E402
from rtstyle.train.trainer import Trainer  # noqa: E402

GIB = 2**30


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    return {"style": write_style_image(tmp_path / "style.png"), "content": make_content_folder(tmp_path / "photos", 2),
            "run": tmp_path / "run", "tmp": tmp_path}


def memory_for(arch: str, batch: int, crop: int, available: float, device: str = "cpu",
               temporal: bool = False, autocast: bool | None = None) -> StepMemory:
    """autocast None: as the trainer runs on a GPU, float32 on the CPU."""
    hp = HyperParams(batch_size=batch, crop_size=crop, temporal_weight=TEMPORAL_WEIGHT if temporal else 0.0)
    return StepMemory(create_spec(arch), hp, vgg=True, autocast=device == "cuda" if autocast is None else autocast,
                      device=device, available=int(available))


@pytest.mark.parametrize("arch, batch, crop, temporal, measured_gib", [
    ("johnson", 8, 256, False, 3.18), ("johnson", 1, 256, False, 0.42), ("johnson", 2, 256, True, 1.23),
    ("fast", 4, 256, False, 0.86), ("fast", 1, 256, False, 0.29), ("fast", 1, 128, False, 0.08),
])
def test_the_estimate_follows_the_measured_steps(arch: str, batch: int, crop: int, temporal: bool,
                                                 measured_gib: float) -> None:
    """Peak RSS growth of real CPU steps (bench/train_memory.py, docs/benchmarks.md, 2026-12-07)."""
    estimate = step_bytes(create_spec(arch), batch, crop, temporal=temporal) / GIB
    assert 0.85 <= estimate / measured_gib <= 1.25, estimate


@pytest.mark.parametrize("arch, batch, crop, temporal, measured_gib", [
    ("johnson", 2, 256, False, 1.06), ("johnson", 4, 256, False, 2.04), ("johnson", 2, 256, True, 1.67),
    ("fast", 4, 256, False, 0.97),
])
def test_the_estimate_follows_the_measured_steps_with_a_border_margin(arch: str, batch: int, crop: int,
                                                                      temporal: bool, measured_gib: float) -> None:
    """--border-margin 32: the style network sees 320 px for each 256 px crop, VGG16 still 256 (bench/train_memory.py
    --border-margin 32 --precision float32, 2026-12-07): the johnson steps took 1.25-1.36x the bare crops' memory."""
    estimate = step_bytes(create_spec(arch), batch, crop, temporal=temporal, margin=32) / GIB
    assert 0.85 <= estimate / measured_gib <= 1.25, estimate
    assert estimate > 1.25 * step_bytes(create_spec(arch), batch, crop, temporal=temporal) / GIB or arch == "fast"


@pytest.mark.parametrize("arch, batch, crop, temporal, measured_gib", [
    ("johnson", 2, 256, False, 0.76), ("johnson", 4, 256, False, 1.36), ("johnson", 2, 256, True, 1.07),
    ("fast", 4, 256, False, 0.77),
])
def test_the_estimate_follows_the_measured_steps_in_bf16_on_the_cpu(arch: str, batch: int, crop: int, temporal: bool,
                                                                   measured_gib: float) -> None:
    """bf16 autocast on the CPU keeps 0.86-0.93x float32's peak, not half (bench/train_memory.py --precision mixed,
    2026-12-07): half would let through batches that the kernel kills."""
    memory = memory_for(arch, batch, crop, 8e9, temporal=temporal, autocast=True)
    assert 0.95 <= memory.need() / GIB / measured_gib <= 1.25, memory.need() / GIB


def test_normal_recipes_are_not_refused() -> None:
    # The defaults and the usual CPU batches on a 16 GB laptop with 8 GB free (batch 16 needs about 7 GB of them:
    # a warning, not a refusal).
    for batch in (4, 8):
        assert memory_for("johnson", batch, 256, 8e9).verdict() is None
    assert memory_for("johnson", 16, 256, 8e9).verdict() == "warn"
    # The GPU recipe (scripts/train_builtins_gpu.sh) on an H100, even with four styles trained side by side.
    assert memory_for("johnson", 16, 256, 79 * GIB / 4, device="cuda", temporal=True).verdict() is None
    # The quick CPU recipe on a small machine.
    assert memory_for("johnson", 4, 96, 1.5e9).verdict() is None


def test_clearly_too_large_is_refused_with_a_batch_that_fits() -> None:
    memory = memory_for("johnson", 64, 512, 21 * GIB)
    assert memory.verdict() == "refuse"
    advice = memory.advice(int(21 * GIB * 0.9))
    batch = int(advice.split("--batch-size ")[1].split()[0])
    assert 1 <= batch < 64 and memory.need(batch) <= 21 * GIB * 0.9 < memory.need(batch + 1)
    one_crop_too_large = memory_for("johnson", 1, 4096, 21 * GIB)
    assert one_crop_too_large.verdict() == "refuse"
    crop = int(one_crop_too_large.advice(int(21 * GIB * 0.9)).split("--crop-size ")[1].split()[0])
    assert crop % 16 == 0 and one_crop_too_large.need(1, crop) <= 21 * GIB * 0.9 < one_crop_too_large.need(1, crop + 16)
    need = memory_for("johnson", 8, 256, 1).need()
    assert memory_for("johnson", 8, 256, need).verdict() == "warn"  # all of it: may fit (estimates: 0.87-1.17x)
    assert memory_for("johnson", 8, 256, need / 1.25).verdict() == "refuse"
    assert memory_for("johnson", 8, 256, need / 0.75).verdict() is None


def test_out_of_memory_is_told_from_other_errors() -> None:
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_out_of_memory(RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate "
                                         "memory: you tried to allocate 70368744177664 bytes"))
    assert not is_out_of_memory(RuntimeError("Given groups=1, weight of size [32, 3, 9, 9], expected input"))


def available(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """This machine, as if it had `size` bytes available."""
    monkeypatch.setattr(step_memory, "available_for_training", lambda device: size)


@requires_vgg
def test_a_step_beyond_memory_is_refused_before_step_1(paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    available(monkeypatch, 10**9)
    result = run_cli(args_for(paths, **{"--crop-size": "256", "--batch-size": "8"}), capsys)
    assert_one_line_error(result, "--batch-size 8 at --crop-size 256 needs about", "1.0 GB available",
                          "use --batch-size")
    assert not paths["run"].exists()  # no empty run folder left behind


@requires_vgg
def test_a_step_close_to_the_memory_is_warned_about(paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    need = step_bytes(create_spec("johnson", width=8, blocks=1), 2, 32)
    available(monkeypatch, need)  # needs all of it: may be killed, but may also fit
    result = run_cli(args_for(paths), capsys)
    assert result.exit_code == 0, result.err
    assert "warning: --batch-size 2 at --crop-size 32 needs about" in result.err
    assert "if the run is killed, use --batch-size 1" in result.err


def fail_at_step(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    """The step after `step` finished steps runs out of GPU memory in its forward pass (the real exception class)."""
    real_losses = Trainer.losses

    def losses(self: Trainer, content_batch: Any, boxes: Any = None) -> Any:
        if self.step == step:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_losses(self, content_batch, boxes)

    monkeypatch.setattr(Trainer, "losses", losses)


@requires_vgg
def test_out_of_memory_in_a_step_keeps_the_progress(paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with monkeypatch.context() as patched:  # the injected failure only: the test's isolated folders stay
        fail_at_step(patched, 2)
        result = run_cli(args_for(paths, **{"--steps": "4", "--batch-size": "6"}), capsys)
    assert_one_line_error(result, "the CPU ran out of memory at step 3", "--batch-size 6 at --crop-size 32",
                          "use --batch-size 3 or less", "checkpoint at step 2 is saved", "--resume")
    resumed = run_cli(args_for(paths, **{"--steps": "4", "--batch-size": "6", "--resume": ""}), capsys)
    assert resumed.exit_code == 0, resumed.err
    assert "resuming at step 2" in resumed.err
    assert load_style_file(Path(resumed.out.strip().splitlines()[-1])).metadata["steps"] == 4


@requires_vgg
def test_out_of_memory_in_the_first_step_leaves_nothing(paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    fail_at_step(monkeypatch, 0)
    result = run_cli(args_for(paths, **{"--batch-size": "1"}), capsys)
    assert_one_line_error(result, "ran out of memory at step 1", "use --crop-size 16 or less",
                          "nothing was saved")
    assert not paths["run"].exists()


@requires_vgg
def test_a_resumed_run_beyond_memory_is_told_its_sizes_stay(paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(args_for(paths, **{"--steps": "1", "--crop-size": "64", "--batch-size": "4"}), capsys).exit_code == 0
    available(monkeypatch, 60 * 10**6)
    result = run_cli(args_for(paths, **{"--steps": "2", "--resume": "", "--overwrite": ""}), capsys)
    assert_one_line_error(result, "--batch-size 4 at --crop-size 64", "60 MB available",
                          "--resume keeps the run's sizes", "another --run-dir) with --batch-size")
    assert (paths["run"] / "checkpoint.safetensors").is_file()  # the run's own folder and checkpoint stay


@requires_vgg
def test_out_of_memory_before_step_1_names_the_style_size(paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """VGG16 on a large painting on a small GPU (the CPU's painting check does not apply there)."""
    def style_targets(self: Trainer) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")

    monkeypatch.setattr(Trainer, "_style_targets", style_targets)
    result = run_cli(args_for(paths), capsys)
    assert_one_line_error(result, "ran out of memory before step 1", "--style-size")
    assert not paths["run"].exists()
