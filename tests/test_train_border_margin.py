"""Training with the mirrored margin rtstyle stylizes every picture with (`--border-margin`), so the objective is
what users get: the network's view of a crop must be exactly the engine's, the step must run with it, and the
style file must say it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import assert_one_line_error, run_cli  # noqa: E402
from train_utils import make_content_folder, random_loss_network, write_style_image  # noqa: E402

from rtstyle.engine.base import with_border_margin, without_border_margin  # noqa: E402
from rtstyle.errors import RtstyleError  # noqa: E402
from rtstyle.models.registry import create_model  # noqa: E402
from rtstyle.styles.format import load_style_file  # noqa: E402
from rtstyle.train.hparams import HyperParams  # noqa: E402
from rtstyle.train.trainer import Trainer, TrainConfig, with_mirrored_margin  # noqa: E402


def test_the_trained_view_of_a_crop_is_the_engines() -> None:
    torch.manual_seed(0)
    network = create_model("johnson", width=8, blocks=1).eval()
    frames = np.random.default_rng(1).integers(0, 256, (2, 40, 48, 3), dtype=np.uint8)
    padded = torch.from_numpy(with_border_margin(frames, 12)).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        engine = without_border_margin(network(padded).permute(0, 2, 3, 1).numpy(), 12)
        trained = with_mirrored_margin(network, 12)(torch.from_numpy(frames).permute(0, 3, 1, 2).float())
        bare = network(torch.from_numpy(frames).permute(0, 3, 1, 2).float())
    assert trained.shape == bare.shape
    np.testing.assert_allclose(trained.permute(0, 2, 3, 1).numpy(), engine, atol=1e-4)
    assert not torch.allclose(trained, bare, atol=1.0)  # the margin changes what the network gives
    assert with_mirrored_margin(network, 0) is network


def test_a_margin_must_be_smaller_than_the_crop() -> None:
    HyperParams(crop_size=64, border_margin=63)
    with pytest.raises(RtstyleError, match="border-margin must be from 0 to below the crop size"):
        HyperParams(crop_size=64, border_margin=64)


def test_a_run_with_a_margin_trains_and_records_it(tmp_path: Path) -> None:
    style, content = write_style_image(tmp_path / "painting.png"), make_content_folder(tmp_path / "photos")
    hparams = HyperParams(crop_size=32, batch_size=2, steps=2, style_size=48, seed=3, border_margin=8)
    trainer = Trainer(TrainConfig(name="tiny", style_image=style, content=content, hparams=hparams,
                                  arch_kwargs={"width": 8, "blocks": 1}, run_dir=tmp_path / "run",
                                  output=tmp_path / "tiny.safetensors", preview_every=0, checkpoint_every=0,
                                  progress=False), random_loss_network())
    batch = torch.from_numpy(trainer.content.batch(0, 2)).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        with_margin = trainer.losses(batch)["total"].item()
        trainer.model_forward = trainer.model
        bare = trainer.losses(batch)["total"].item()
    assert with_margin != pytest.approx(bare, rel=1e-4)  # the step's losses are of the margined output
    trainer.model_forward = with_mirrored_margin(trainer.model, 8)
    trainer.run()
    metadata = load_style_file(tmp_path / "tiny.safetensors").metadata
    assert "'border_margin': 8" in str(metadata["hyperparameters"])


def test_the_cli_refuses_a_margin_as_large_as_the_crop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    style, content = write_style_image(tmp_path / "painting.png"), make_content_folder(tmp_path / "photos")
    result = run_cli(["train", "--style-image", str(style), "--content", str(content), "--name", "x",
                      "--crop-size", "32", "--border-margin", "32", "--steps", "1"], capsys)
    assert_one_line_error(result, "border-margin must be from 0 to below the crop size (32 px)")
