"""Mixed precision in training: bf16 autocast where the CPU computes bf16 natively, float32 elsewhere or on request."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from train_utils import make_content_folder, random_loss_network, write_style_image  # noqa: E402

from rtstyle.styles.format import load_style_file  # noqa: E402
from rtstyle.train.hparams import HyperParams  # noqa: E402
from rtstyle.train.precision import amp_dtype, cpu_has_native_bf16, describe  # noqa: E402
from rtstyle.train.trainer import Trainer, TrainConfig  # noqa: E402

CPU = torch.device("cpu")
# Shortened from the 2-core VM's /proc/cpuinfo (2026-12-07: its first processor), and CPUs with and without bf16.
VM_CPUINFO = """processor\t: 0
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu sse2 avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni avx512_bf16 avx_vnni
"""
AVX512_WITHOUT_BF16 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512dq avx512bw avx512vl\n"
SAPPHIRE_RAPIDS_AMX = "flags\t\t: avx512f amx_bf16 amx_tile amx_int8\n"


@pytest.mark.parametrize("cpuinfo, native", [(VM_CPUINFO, True), (SAPPHIRE_RAPIDS_AMX, True),
                                             (AVX512_WITHOUT_BF16, False), ("", False),
                                             ("model name\t: avx512_bf16 in a name, not a flag\n", False)])
def test_native_bf16_is_read_from_the_cpu_flags(cpuinfo: str, native: bool) -> None:
    assert cpu_has_native_bf16(cpuinfo) is native


def test_torchs_detection_agrees_with_the_flags_where_linux_lists_them() -> None:
    """Outside Linux only torch's detection answers; where both do, they must agree (or torch has none)."""
    from rtstyle.train import precision

    try:
        flags = precision.CPUINFO.read_text(encoding="utf-8")
    except OSError:
        pytest.skip("no /proc/cpuinfo here to compare torch's answer with")
    assert precision.torch_says_native_bf16() in (cpu_has_native_bf16(flags), None)
    assert cpu_has_native_bf16() is cpu_has_native_bf16(flags)


def test_without_torchs_detection_the_flags_decide(monkeypatch: pytest.MonkeyPatch) -> None:
    from rtstyle.train import precision

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", None, raising=False)
    assert precision.torch_says_native_bf16() is None
    monkeypatch.setattr(precision, "CPUINFO", Path("/nonexistent/cpuinfo"))
    assert cpu_has_native_bf16() is False  # nothing to tell by: float32


def test_the_cpu_trains_in_bf16_where_it_is_native_unless_told_otherwise() -> None:
    assert amp_dtype(CPU, None, native_cpu_bf16=True) == torch.bfloat16
    assert amp_dtype(CPU, None, native_cpu_bf16=False) is None  # emulated bf16 is slower than float32
    assert amp_dtype(CPU, False, native_cpu_bf16=True) is None  # --no-amp
    assert amp_dtype(CPU, True, native_cpu_bf16=False) == torch.bfloat16  # --amp
    assert describe(torch.bfloat16) == "bfloat16 autocast" and describe(None) == "float32"


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    return write_style_image(tmp_path / "painting.png"), make_content_folder(tmp_path / "photos")


def trainer_for(inputs: tuple[Path, Path], folder: Path, amp: bool) -> Trainer:
    style, content = inputs
    hparams = HyperParams(crop_size=32, batch_size=2, steps=2, style_size=48, seed=3)
    return Trainer(TrainConfig(name="tiny", style_image=style, content=content, hparams=hparams, amp=amp,
                               arch_kwargs={"width": 8, "blocks": 1}, run_dir=folder / "run",
                               output=folder / "tiny.safetensors", preview_every=0, checkpoint_every=0,
                               progress=False), random_loss_network())


def test_a_bf16_step_computes_the_float32_losses(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    """The same weights and batch: bf16's 8-bit mantissa moves each loss term by well under a percent, so the
    trained style follows the same objective (the GPU trained the built-ins under bf16 autocast too)."""
    trainers = {amp: trainer_for(inputs, tmp_path / str(amp), amp) for amp in (False, True)}
    assert trainers[True].amp == torch.bfloat16 and trainers[False].amp is None
    batch = torch.from_numpy(trainers[False].content.batch(0, 2)).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        losses = {amp: trainer.losses(batch) for amp, trainer in trainers.items()}
        float32_output = trainers[False].model(batch)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16_output = trainers[True].model(batch)
    assert bf16_output.dtype == torch.bfloat16  # it really ran in bf16
    assert not torch.equal(bf16_output.float(), float32_output)
    for term in ("content", "style", "total"):
        assert losses[True][term].dtype == torch.float32
        assert losses[True][term].item() == pytest.approx(losses[False][term].item(), rel=0.02), term


def test_the_style_file_says_which_precision_trained_it(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    for amp in (False, True):
        trainer = trainer_for(inputs, tmp_path / str(amp), amp)
        trainer.run()
        metadata = load_style_file(tmp_path / str(amp) / "tiny.safetensors").metadata
        assert metadata["precision"] == ("bfloat16 autocast" if amp else "float32")
