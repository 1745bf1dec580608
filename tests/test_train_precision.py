"""Mixed precision in training: float32 on the CPU, bf16 autocast there on request (--amp), recorded in the style."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from train_utils import make_content_folder, random_loss_network, write_style_image  # noqa: E402

from rtstyle.styles.format import load_style_file  # noqa: E402
from rtstyle.train.hparams import HyperParams  # noqa: E402
from rtstyle.train.precision import amp_dtype, describe  # noqa: E402
from rtstyle.train.trainer import Trainer, TrainConfig  # noqa: E402

CPU = torch.device("cpu")


def test_the_cpu_trains_in_float32_unless_asked_for_bf16() -> None:
    assert amp_dtype(CPU) is None and amp_dtype(CPU, False) is None
    assert amp_dtype(CPU, True) == torch.bfloat16  # --amp
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
