"""The training loop: it learns, resumes exactly, stops on NaN, and writes a complete style file."""

from __future__ import annotations

import hashlib
import shutil
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from train_utils import DATA, make_content_folder, random_loss_network, write_style_image  # noqa: E402

from rtstyle.errors import RtstyleError  # noqa: E402
from rtstyle.styles.format import StyleFile, load_style_file, save_style_file  # noqa: E402
from rtstyle.train.checkpoint import load_checkpoint  # noqa: E402
from rtstyle.train.hparams import HyperParams  # noqa: E402
from rtstyle.train.trainer import Trainer, TrainConfig  # noqa: E402

DATA_PHOTO = DATA / "chelsea.png"


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    return write_style_image(tmp_path / "painting.png"), make_content_folder(tmp_path / "photos")


def config_for(inputs: tuple[Path, Path], tmp_path: Path, steps: int, **overrides: object) -> TrainConfig:
    style, content = inputs
    hparams = HyperParams(crop_size=32, batch_size=2, steps=steps, lr=overrides.pop("lr", 1e-3),  # type: ignore[arg-type]
                          style_size=overrides.pop("style_size", 48), seed=3)  # type: ignore[arg-type]
    defaults: dict[str, object] = dict(name="tiny", style_image=style, content=content, hparams=hparams,
                                       arch_kwargs={"width": 8, "blocks": 1}, run_dir=tmp_path / "run",
                                       preview_every=0, checkpoint_every=0, log_every=1, progress=False)
    defaults.update(overrides)
    return TrainConfig(**defaults)  # type: ignore[arg-type]


def test_a_few_steps_lower_the_loss(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    trainer = Trainer(config_for(inputs, tmp_path, steps=25, lr=1e-2), random_loss_network())
    fixed = torch.from_numpy(trainer.content.batch(0, 4)).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        before = trainer.losses(fixed)["total"].item()
    trainer.run()
    with torch.no_grad():
        after = trainer.losses(fixed)["total"].item()
    assert after < 0.7 * before, (before, after)


def test_killed_run_resumes_exactly(inputs: tuple[Path, Path], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    straight = Trainer(config_for(inputs, tmp_path / "a", steps=4, output=tmp_path / "a.safetensors"),
                       random_loss_network())
    straight.run()

    killed = Trainer(config_for(inputs, tmp_path / "b", steps=4, output=tmp_path / "b.safetensors",
                                checkpoint_every=100), random_loss_network())
    original_step = Trainer.train_step

    def crash_after_two(self: Trainer) -> dict[str, float]:
        if self.step == 2:
            raise KeyboardInterrupt  # Ctrl-C (or SIGTERM) in the middle of the run
        return original_step(self)

    monkeypatch.setattr(Trainer, "train_step", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        killed.run()
    monkeypatch.setattr(Trainer, "train_step", original_step)
    assert not (tmp_path / "b.safetensors").exists()

    saved = load_checkpoint(tmp_path / "b" / "run" / "checkpoint.safetensors")
    assert saved.step == 2
    live_state = killed.optimizer.state_dict()["state"]
    for param_id, state in live_state.items():
        for key, value in state.items():
            assert torch.equal(saved.optimizer["state"][param_id][key], value), (param_id, key)

    resumed = Trainer(config_for(inputs, tmp_path / "b", steps=4, output=tmp_path / "b.safetensors", resume=True),
                      random_loss_network())
    assert resumed.step == 2
    for param_id, state in resumed.optimizer.state_dict()["state"].items():
        for key, value in state.items():
            assert torch.equal(live_state[param_id][key], value)
    resumed.run()
    for key, value in straight.model.state_dict().items():
        assert torch.allclose(resumed.model.state_dict()[key], value, atol=1e-6), key
    steps_logged = [json.loads(line)["step"] for line in (tmp_path / "b" / "run" / "losses.jsonl").read_text().splitlines()]
    assert steps_logged == [1, 2, 3, 4]


def test_time_limit_writes_the_style_and_resume_continues(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    output = tmp_path / "timed.safetensors"
    stopped = Trainer(config_for(inputs, tmp_path, steps=5, output=output, time_limit=1e-9), random_loss_network())
    result = stopped.run()
    assert result.steps == 1  # one step per launch, however short the limit
    style = load_style_file(output)
    assert style.metadata["steps"] == 1
    assert style.metadata["stopped_early"] == "--time-limit reached at step 1 of 5"
    resumed = Trainer(config_for(inputs, tmp_path, steps=5, output=output, resume=True),  # the same command
                      random_loss_network())
    assert resumed.step == 1
    assert resumed.run().steps == 5
    assert "stopped_early" not in load_style_file(output).metadata


def test_a_run_stopped_by_its_time_limit_logs_its_last_step(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    """A short CPU run stops between --log-every steps: its loss log must still end where the style was written."""
    Trainer(config_for(inputs, tmp_path, steps=50, log_every=10, time_limit=1e-9), random_loss_network()).run()
    rows = [json.loads(line) for line in (tmp_path / "run" / "losses.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1]


def test_a_cpu_run_says_how_long_it_will_take(inputs: tuple[Path, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    Trainer(config_for(inputs, tmp_path, steps=4), random_loss_network()).run()
    err = capsys.readouterr().err
    start = next(line for line in err.splitlines() if line.startswith("training "))
    assert "johnson (blocks 1, width 8) on cpu" in start  # the network's shape in words, not a dict's repr
    estimates = [line for line in err.splitlines() if line.startswith("on the CPU")]
    assert len(estimates) == 1 and "so the rest of the run (1 step) takes about" in estimates[0]  # once, timed over steps 2-3


def test_a_long_cpu_run_names_the_quick_recipe(inputs: tuple[Path, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """README's `--steps 2000` at 256 px takes hours on a CPU: the user hears it, and what takes minutes."""
    import rtstyle.train.trainer as trainer_module

    monkeypatch.setattr(trainer_module, "QUICK_CPU_CROP", 16)  # the 32 px test crops stand for 256 px ones
    long = Trainer(config_for(inputs, tmp_path / "a", steps=2000, time_limit=600), random_loss_network())
    text = long.cpu_estimate(8.0)
    assert text.startswith("on the CPU a step takes about 8.0 s here, so the rest of the run (2,000 steps) takes about 4 h 27 min")
    assert "--time-limit stops the run after 10 min" in text
    assert "--init mosaic --crop-size 96 --style-size 256 --steps 300 --style-weight 2 " in text  # Caffe scale
    from rtstyle.train.vgg import LossNetwork, parse_convention
    from train_utils import random_vgg_state

    torchvision_scale = LossNetwork(random_vgg_state(), parse_convention(
        "RGB, 0..1, mean [0.485,0.456,0.406], std [0.229,0.224,0.225]"))
    long = Trainer(config_for(inputs, tmp_path / "c", steps=2000), torchvision_scale)
    assert long.quick_cpu_recipe().endswith("--steps 300 --style-weight 4e+09")  # 0.4 x 1e10, not 2
    short = Trainer(config_for(inputs, tmp_path / "b", steps=300), random_loss_network())
    assert short.cpu_estimate(1.0) == ("on the CPU a step takes about 1.0 s here, so the rest of the run "
                                       "(300 steps) takes about 5 min")  # no recipe for a short run


def test_existing_checkpoint_needs_resume(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    Trainer(config_for(inputs, tmp_path, steps=1), random_loss_network()).run()
    with pytest.raises(RtstyleError, match="--resume"):
        Trainer(config_for(inputs, tmp_path, steps=2, overwrite=True), random_loss_network())


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(inputs: tuple[Path, Path], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = Trainer(config_for(inputs, tmp_path, steps=5, checkpoint_every=1), random_loss_network())
    original = Trainer.losses

    def poisoned(self: Trainer, batch: torch.Tensor, boxes: object = None) -> dict[str, torch.Tensor]:
        terms = original(self, batch, boxes)  # type: ignore[arg-type]
        if self.step == 3:
            terms["total"] = terms["total"] * float("nan")
        return terms

    monkeypatch.setattr(Trainer, "losses", poisoned)
    with pytest.raises(RtstyleError, match="loss became nan at step 4"):
        trainer.run()
    saved = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert saved.step == 3
    assert all(torch.isfinite(v).all() for v in saved.model.values())
    for key, value in trainer.model.state_dict().items():  # the bad step was not applied
        assert torch.equal(saved.model[key], value)


def test_style_file_loads_with_its_metadata(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "tiny.safetensors"
    config = config_for(inputs, tmp_path, steps=3, output=out, licence="public domain", preview_every=2,
                        metadata={"title": "Stripes"})
    result = Trainer(config, random_loss_network()).run()
    assert result.style_path == out
    style = load_style_file(out)
    assert (style.arch, style.arch_kwargs) == ("johnson", {"width": 8, "blocks": 1})
    meta = style.metadata
    assert meta["name"] == "tiny" and meta["title"] == "Stripes" and meta["licence"] == "public domain"
    assert meta["steps"] == 3 and meta["source_image"] == "painting.png"
    assert meta["images_seen"] == 3 * 2  # steps x batch size
    assert meta["source_image_sha256"] == hashlib.sha256(inputs[0].read_bytes()).hexdigest()  # the exact painting
    assert meta["hyperparameters"]["crop_size"] == 32 and meta["hyperparameters"]["style_weight"] == 5.0
    assert set(meta["losses"]) >= {"content", "style", "tv", "total"}
    assert "BGR, 0..255" in meta["vgg_convention"]
    assert meta["created"].endswith("Z") and meta["rtstyle_version"]
    previews = sorted(p.name for p in (tmp_path / "run" / "previews").iterdir())
    assert previews == ["step_000002.jpg", "step_000003.jpg"]
    strip = __import__("cv2").imread(str(tmp_path / "run" / "previews" / "step_000003.jpg"))
    assert strip.shape == (256, 512, 3)  # content | stylized, at 256 px even though the crops are 32 px


def test_slow_steps_get_previews_by_time(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    """On a CPU 500 steps take an hour: without --preview-every a preview also comes every 2 minutes."""
    def previews(run: str, preview_seconds: float | None) -> list[str]:
        Trainer(config_for(inputs, tmp_path, steps=3, run_dir=tmp_path / run, output=tmp_path / f"{run}.safetensors",
                           preview_every=500, preview_seconds=preview_seconds), random_loss_network()).run()
        return sorted(p.name for p in (tmp_path / run / "previews").iterdir())

    assert previews("by-steps", None) == ["step_000003.jpg"]  # only the final one
    assert previews("by-time", 0.0) == ["step_000001.jpg", "step_000002.jpg", "step_000003.jpg"]


def test_previews_survive_the_photos_being_moved(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    trainer = Trainer(config_for(inputs, tmp_path, steps=2, output=tmp_path / "s.safetensors"), random_loss_network())
    first = trainer.write_preview()
    shutil.rmtree(inputs[1])  # the crops are in memory, and so is the preview's photo
    trainer.run()
    assert first.is_file() and (tmp_path / "run" / "previews" / "step_000002.jpg").is_file()


def test_init_starts_from_an_existing_style(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    from conftest import random_style_weights

    base = tmp_path / "base.safetensors"
    weights = random_style_weights(width=8, blocks=1)
    save_style_file(base, StyleFile("johnson", {"width": 8, "blocks": 1}, weights, {"name": "base"}))
    trainer = Trainer(config_for(inputs, tmp_path, steps=1, init=str(base), arch_kwargs={}), random_loss_network())
    assert trainer.arch_kwargs == {"width": 8, "blocks": 1}
    for key, value in trainer.model.state_dict().items():
        assert np.array_equal(value.numpy(), weights[key]), key


def test_temporal_term_is_logged_and_trained(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    from rtstyle.train.temporal import make_synthetic_pair, temporal_loss

    trainer = Trainer(config_for(inputs, tmp_path, steps=12, lr=1e-2, hparams=HyperParams(
        crop_size=32, batch_size=2, steps=12, lr=1e-2, style_size=48, seed=3, content_weight=0, style_weight=0,
        tv_weight=0, temporal_weight=1e3)), random_loss_network())
    fixed = torch.from_numpy(trainer.content.batch(0, 4)).permute(0, 3, 1, 2).float()
    pair = make_synthetic_pair(fixed, torch.Generator().manual_seed(0))

    def measured() -> float:
        with torch.no_grad():
            return temporal_loss(trainer.model(pair[0]), trainer.model(pair[1]), *pair).item()

    before = measured()
    trainer.run()
    rows = [json.loads(line) for line in (tmp_path / "run" / "losses.jsonl").read_text().splitlines()]
    assert all("temporal" in row and row["temporal"] >= 0 for row in rows)
    assert measured() < 0.5 * before  # trained on the temporal term alone, the output becomes steady


def test_distillation_pulls_the_student_towards_the_teacher(inputs: tuple[Path, Path], tmp_path: Path,
                                                            small_style: Path) -> None:
    credited = load_style_file(small_style)
    credited.metadata.update(title="Stripes", licence="public domain")
    save_style_file(small_style, credited)
    trainer = Trainer(config_for(inputs, tmp_path, steps=12, teacher=str(small_style), arch="fast",
                                 arch_kwargs={"width": 8, "blocks": 1}, hparams=HyperParams(
        crop_size=32, batch_size=2, steps=12, lr=3e-2, style_size=48, seed=3, content_weight=0, style_weight=0,
        tv_weight=0)))  # no loss network given: pure distillation must not need (or load) VGG
    assert trainer.vgg is None
    fixed = torch.from_numpy(trainer.content.batch(0, 4)).permute(0, 3, 1, 2).float()

    def gap() -> float:
        with torch.no_grad():
            return torch.nn.functional.mse_loss(trainer.model(fixed), trainer.teacher(fixed)).item()

    before = gap()
    result = trainer.run()
    # Every other loss weight is 0, so any approach to the teacher comes from the distillation term alone
    # (the random teacher's outputs are far off, a few steps only close part of the gap).
    assert gap() < 0.9 * before, (before, gap())
    style = load_style_file(result.style_path)
    assert style.arch == "fast" and style.metadata["teacher"] == str(small_style)
    assert (style.metadata["title"], style.metadata["licence"]) == ("Stripes", "public domain")  # as its teacher


def test_teacher_targets_are_what_users_see_of_the_teacher_cut_like_the_crops(
        inputs: tuple[Path, Path], tmp_path: Path, small_style: Path) -> None:
    """The targets are the teacher as `rtstyle image` runs it on the whole photo (with its mirrored border margin),
    not the pale edges it gives a bare picture, cut with the crops' boxes."""
    from rtstyle.engine import create_stylizer

    trainer = Trainer(config_for(inputs, tmp_path, steps=1, teacher=str(small_style), hparams=HyperParams(
        crop_size=40, batch_size=3, steps=1, style_size=48, content_weight=0, style_weight=0)))
    assert trainer.teacher is not None and trainer.teacher_targets is not None
    batch, boxes = trainer.content.batch_and_boxes(5, 3)
    assert np.array_equal(batch, trainer.content.batch(5, 3))  # the same crops as plain training
    for crop, box in zip(batch, boxes, strict=True):
        assert np.array_equal(crop, box.cut(trainer.content.image_rgb(box.index)))
    targets = trainer.teacher_targets.batch(boxes)
    whole = trainer.content.image_rgb(boxes[0].index)
    assert min(whole.shape[:2]) > 32  # the whole inference margin fits: torch mirrors as cv2 does
    users_see = create_stylizer(str(small_style), backend="torch", device="cpu")(np.ascontiguousarray(whole[..., ::-1]))
    b = boxes[0]
    expected = torch.from_numpy(np.ascontiguousarray(users_see[..., ::-1])).permute(2, 0, 1).float()
    expected = expected[:, b.top:b.top + b.size, b.left:b.left + b.size]
    assert (targets[0] - expected).abs().max() <= 1  # rounding apart
    with torch.no_grad():
        bare = trainer.teacher(torch.from_numpy(whole).permute(2, 0, 1)[None].float()).clamp(0, 255).round()[0]
    assert (bare - torch.from_numpy(users_see[..., ::-1].copy()).permute(2, 0, 1)).abs().max() > 8  # the edges
    cached = len(trainer.teacher_targets)
    trainer.teacher_targets.batch(boxes)
    assert len(trainer.teacher_targets) == cached == len({box.index for box in boxes})  # each image stylized once


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                    reason="torch.compile on the CPU needs a C compiler")
def test_compiled_training_matches_the_plain_one(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    losses = {}
    for compiled in (False, True):
        trainer = Trainer(config_for(inputs, tmp_path / str(compiled), steps=2, compile=compiled,
                                     output=tmp_path / f"{compiled}.safetensors"), random_loss_network())
        assert hasattr(trainer.model_forward, "_orig_mod") == compiled  # the step really runs the compiled one
        losses[compiled] = [trainer.train_step() for _ in range(2)]
        weights = load_style_file(trainer.write_style().style_path).weights
        assert not any("_orig_mod" in key for key in weights)  # the style file holds the plain network's names
    # The second step's losses also show that the first update was the same.
    for step in range(2):
        for term in ("content", "style", "total"):
            assert losses[True][step][term] == pytest.approx(losses[False][step][term], rel=1e-3), (step, term)


def test_resume_keeps_the_runs_own_painting_and_loss_network(inputs: tuple[Path, Path], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "r.safetensors"
    weights = tmp_path / "vgg.safetensors"
    weights.write_bytes(b"stands for the weights file; the test's loss network is given directly")
    Trainer(config_for(inputs, tmp_path, steps=3, output=output, time_limit=1e-9, vgg_weights=str(weights)),
            random_loss_network()).run()
    other = tmp_path / "other.png"
    shutil.copy(inputs[0], other)
    resumed = Trainer(config_for(inputs, tmp_path, steps=3, output=output, resume=True, style_image=other),
                      random_loss_network())
    assert resumed.style_image_path == inputs[0].resolve() and "is ignored" in capsys.readouterr().err
    assert resumed.vgg_weights == str(weights.resolve())  # not torchvision's download, which --resume used to try


def test_resume_replaces_only_the_style_its_own_run_wrote(inputs: tuple[Path, Path], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A resumed run may replace the style it wrote when it stopped, never a photo or another run's style."""
    photo = tmp_path / "victim.jpg"
    photo.write_bytes(b"a photo")
    other = tmp_path / "other.safetensors"
    Trainer(config_for(inputs, tmp_path / "b", steps=2, output=other), random_loss_network()).run()
    other_bytes = other.read_bytes()

    original_step = Trainer.train_step

    def interrupted(self: Trainer) -> dict[str, float]:
        if self.step == 1:
            raise KeyboardInterrupt
        return original_step(self)

    monkeypatch.setattr(Trainer, "train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Trainer(config_for(inputs, tmp_path, steps=2, output=tmp_path / "mine.safetensors"), random_loss_network()).run()
    monkeypatch.setattr(Trainer, "train_step", original_step)
    for target, refusal in ((photo, "a style is a .safetensors file"),  # not even with --overwrite
                            (other, "exists.*--overwrite.*this run did not write it")):
        with pytest.raises(RtstyleError, match=refusal):
            Trainer(config_for(inputs, tmp_path, steps=2, output=target, resume=True), random_loss_network())
    assert photo.read_bytes() == b"a photo" and other.read_bytes() == other_bytes
    resumed = Trainer(config_for(inputs, tmp_path, steps=2, output=other, resume=True, overwrite=True),
                      random_loss_network())
    assert resumed.run().steps == 2  # --overwrite does replace it


@pytest.mark.parametrize("which", ["style image", "content", "vgg weights", "init style"])
def test_output_never_replaces_an_input(which: str, inputs: tuple[Path, Path], tmp_path: Path) -> None:
    """Not even with --overwrite, and before any training."""
    init = tmp_path / "init.safetensors"
    Trainer(config_for(inputs, tmp_path / "first", steps=1, output=init), random_loss_network()).run()
    weights = tmp_path / "vgg.safetensors"
    weights.write_bytes(b"stands for the weights file")
    target = {"style image": inputs[0], "content": next(inputs[1].rglob("*.jpg")), "vgg weights": weights,
              "init style": init}[which]
    before = target.read_bytes()
    with pytest.raises(RtstyleError, match="is the run's .* choose another -o"):
        Trainer(config_for(inputs, tmp_path, steps=1, output=target, overwrite=True, vgg_weights=str(weights),
                           init=str(init)), random_loss_network())
    assert target.read_bytes() == before
    assert not (tmp_path / "run").exists()  # refused before the run started


def _poison_step(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    """The loss of the step after `step` completed ones is NaN while the learning rate is the default."""
    original = Trainer.losses

    def poisoned(self: Trainer, batch: torch.Tensor, boxes: object = None) -> dict[str, torch.Tensor]:
        terms = original(self, batch, boxes)  # type: ignore[arg-type]
        if self.step == step and self.optimizer.param_groups[0]["lr"] == 1e-3:
            terms["total"] = terms["total"] * float("nan")
        return terms

    monkeypatch.setattr(Trainer, "losses", poisoned)


def test_after_a_nan_loss_resume_takes_a_lower_lr(inputs: tuple[Path, Path], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The advice after a NaN loss works: --resume --lr applies from the checkpoint and is recorded."""
    output = tmp_path / "s.safetensors"
    _poison_step(monkeypatch, 3)
    with pytest.raises(RtstyleError, match=r"step 2\); continue from it with --resume and a lower --lr \(e.g. 0.0001\)"):
        Trainer(config_for(inputs, tmp_path, steps=5, output=output, checkpoint_every=2), random_loss_network()).run()
    resumed = Trainer(config_for(inputs, tmp_path, steps=5, output=output, resume=True,
                                 resume_options={"lr": 1e-4, "batch_size": 2}), random_loss_network())
    assert resumed.hparams.lr == 1e-4 and resumed.optimizer.param_groups[0]["lr"] == 1e-4
    assert resumed.run().steps == 5
    metadata = load_style_file(output).metadata
    assert metadata["hyperparameters"]["lr"] == 1e-4
    assert metadata["changed_on_resume"] == [{"step": 2, "lr": [1e-3, 1e-4]}]


def test_nan_right_after_the_checkpoint_says_resuming_cannot_help(inputs: tuple[Path, Path], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _poison_step(monkeypatch, 2)
    with pytest.raises(RtstyleError, match="gives this loss itself: start again in another --run-dir"):
        Trainer(config_for(inputs, tmp_path, steps=5, checkpoint_every=2), random_loss_network()).run()


def test_resume_notes_only_options_that_differ(inputs: tuple[Path, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "s.safetensors"
    Trainer(config_for(inputs, tmp_path, steps=1, output=output), random_loss_network()).run()
    same = {"batch_size": 2, "crop_size": 32, "seed": 3, "arch": "johnson", "arch_kwargs": {"width": 8}}
    capsys.readouterr()
    Trainer(config_for(inputs, tmp_path, steps=1, output=output, resume=True, resume_options=same),
            random_loss_network())
    assert "ignored" not in capsys.readouterr().err
    Trainer(config_for(inputs, tmp_path, steps=1, output=output, resume=True,
                       resume_options={**same, "arch_kwargs": {"width": 16}, "seed": 4}), random_loss_network())
    assert "ignored: --seed 4 (the run's: 3), --width 16 (the run's: 8)" in capsys.readouterr().err


def test_resume_refuses_a_changed_painting(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    output = tmp_path / "s.safetensors"
    Trainer(config_for(inputs, tmp_path, steps=2, output=output, time_limit=1e-9), random_loss_network()).run()
    shutil.copy(DATA_PHOTO, inputs[0])  # another image under the painting's name
    with pytest.raises(RtstyleError, match="not the one the run started with"):
        Trainer(config_for(inputs, tmp_path, steps=2, output=output, resume=True), random_loss_network())


def test_final_losses_are_the_same_with_and_without_a_resume(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    """The window of per-step losses survives a resume; the log holds only every --log-every-th step."""
    straight = tmp_path / "straight.safetensors"
    Trainer(config_for(inputs, tmp_path / "a", steps=8, output=straight, log_every=3), random_loss_network()).run()
    resumed = tmp_path / "resumed.safetensors"
    Trainer(config_for(inputs, tmp_path / "b", steps=5, output=resumed, log_every=3), random_loss_network()).run()
    Trainer(config_for(inputs, tmp_path / "b", steps=8, output=resumed, log_every=3, resume=True, resume_steps=8),
            random_loss_network()).run()
    expected = load_style_file(straight).metadata["losses"]
    assert expected["averaged_over_last_steps"] == 8
    assert load_style_file(resumed).metadata["losses"] == pytest.approx(expected, rel=1e-6)


def test_half_is_kept_through_a_resume(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    output = tmp_path / "h.safetensors"
    Trainer(config_for(inputs, tmp_path, steps=2, output=output, half=True, time_limit=1e-9), random_loss_network()).run()
    Trainer(config_for(inputs, tmp_path, steps=2, output=output, resume=True), random_loss_network()).run()
    assert {v.dtype for v in load_style_file(output).weights.values()} == {np.dtype(np.float16)}


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc (unwritable even for root)")
def test_an_unwritable_output_is_refused_before_training(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(RtstyleError, match=r"^cannot write the style to /proc/x.safetensors: "):
        Trainer(config_for(inputs, tmp_path, steps=1, output=Path("/proc/x.safetensors")), random_loss_network())
    assert not (tmp_path / "run").exists()


def test_a_huge_painting_at_its_own_size_gets_a_notice(inputs: tuple[Path, Path], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import rtstyle.train.trainer as trainer_module

    monkeypatch.setattr(trainer_module, "LARGE_STYLE_PIXELS", 40 * 40)  # the 64x64 test painting stands for 6000x6000
    Trainer(config_for(inputs, tmp_path / "a", steps=1, style_size=None), random_loss_network())
    assert "64x64 px, used at its own size" in capsys.readouterr().err
    Trainer(config_for(inputs, tmp_path / "b", steps=1), random_loss_network())  # --style-size 48 given
    assert "--style-size" not in capsys.readouterr().err


def test_unreadable_content_files_are_not_counted_as_images(inputs: tuple[Path, Path], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    (inputs[1] / "broken.jpg").write_bytes(b"not a jpeg")
    (inputs[1] / "empty.png").write_bytes(b"")
    output = tmp_path / "s.safetensors"
    Trainer(config_for(inputs, tmp_path, steps=5, output=output), random_loss_network()).run()  # 10 crops: all seen
    assert "8 image files" in capsys.readouterr().err  # the header, before the files were tried
    assert load_style_file(output).metadata["content"] == "photos (6 images; 2 unreadable files skipped)"


def test_ctrl_c_before_the_first_step_leaves_no_run_folder(inputs: tuple[Path, Path], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(self: Trainer) -> dict[str, float]:
        raise KeyboardInterrupt

    trainer = Trainer(config_for(inputs, tmp_path, steps=2, run_dir=tmp_path / "runs" / "tiny"), random_loss_network())
    monkeypatch.setattr(Trainer, "train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    assert not (tmp_path / "runs").exists()
    assert "nothing to save" in capsys.readouterr().err
