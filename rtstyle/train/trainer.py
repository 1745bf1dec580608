"""The training loop: perceptual-loss training of a style network on content crops.

One `TrainConfig` describes a run; `train(config)` validates every input before any heavy work, then
trains with a progress bar, JSONL loss log, preview strips and atomic checkpoints, and finally writes
the style file. Ctrl-C saves a checkpoint; `resume=True` continues it exactly.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from rtstyle.errors import RtstyleError
from rtstyle.interrupts import uninterruptible
from rtstyle.io.atomic import ensure_writable_dir, probe_writable
from rtstyle.io.leftovers import clear_leftovers
from rtstyle.io.images import write_image
from rtstyle.models.registry import create_spec
from rtstyle.models.torch_net import StyleNet
from rtstyle.paths import user_styles_dir
from rtstyle.styles.catalog import check_style_name
from rtstyle.styles.format import STYLE_SUFFIX, TEACHER_CREDIT_KEYS, StyleFile, save_style_file
from rtstyle.train.checkpoint import CHECKPOINT_NAME, Checkpoint, capture_rng, save_checkpoint
from rtstyle.train.data import ContentSource, CropBox, read_style_image, refuse_painting_past_memory
from rtstyle.train.distill import TeacherTargets
from rtstyle.train.hparams import HyperParams, default_loss_weights
from rtstyle.train.loss_log import LOG_NAME, read_log_tail, truncate_log
from rtstyle.train.margin import as_users_get_it, with_mirrored_margin
from rtstyle.train.precision import amp_dtype, describe
from rtstyle.train.losses import content_loss, gram_matrix, style_loss, total_variation
from rtstyle.train.resume import (
    painting_hash, read_resume_checkpoint, restore_training_state, resumed_hparams, run_input,
)
from rtstyle.train.run_folder import missing_dirs, remove_empty_dirs
from rtstyle.train.status import say
from rtstyle.train.style_output import check_style_output, refuse_inputs_as_output
from rtstyle.train.temporal import make_synthetic_pair, temporal_loss
from rtstyle.train.vgg import LossNetwork, load_loss_network
from rtstyle.wording import counted, how_long

# The style file's final losses are averaged over this many last steps (one batch is noisy).
FINAL_LOSS_WINDOW = 50
# A painting used at its own size above this many pixels gets a notice: VGG16's features of a 6000x6000 image
# took minutes and 19.5 GB before step 1 (pytorch/examples uses the image's own size, Johnson's train.lua 256).
LARGE_STYLE_PIXELS = 2048 * 2048
# Previews are at least this many pixels square: a preview cut at the 96 px crop size of a CPU run is too small
# to judge, and photos to stylize are larger than the crops anyway.
PREVIEW_SIDE = 256
# On a CPU, the run says how long it will take once it has timed this many steps (after the first, which warms
# up), and when that is over LONG_CPU_RUN_SECONDS, how to get a style in minutes instead: the reduced recipe the
# stopgap built-ins were trained with (docs/train/README.md), measured in docs/training.md ("On a CPU").
ESTIMATE_AFTER_STEPS = 2
LONG_CPU_RUN_SECONDS = 30 * 60
QUICK_CPU_RECIPE = "--init mosaic --crop-size 96 --style-size 256 --steps 300"
# ... with the style weight at this fraction of the published default (2 instead of 5 with the Caffe VGG16 file):
# at the default, 96 px crops lost the photo in the texture (docs/training.md, "On a CPU").
QUICK_CPU_STYLE_FACTOR = 0.4
QUICK_CPU_CROP = 96


@dataclass
class TrainConfig:
    name: str
    style_image: Path | None
    content: Path | None
    hparams: HyperParams = field(default_factory=HyperParams)  # ignored on resume (the checkpoint's are used)
    resume_steps: int | None = None  # on resume: train on to this many steps instead of the checkpoint's
    arch: str | None = None  # None: johnson, or the --init style's architecture
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None  # default runs/NAME
    output: Path | None = None  # default: the user styles directory, NAME.safetensors
    overwrite: bool = False
    device: str = "auto"
    vgg_weights: str | None = None
    init: str | None = None
    teacher: str | None = None  # a trained style network whose outputs the new network learns to match
    resume: bool = False
    preview_every: int = 500
    # Also a preview after this many seconds since the last (None: by steps only): 500 steps take half a minute
    # on a GPU but over an hour on a CPU, far too late to see whether the style is working.
    preview_seconds: float | None = None
    checkpoint_every: int = 1000
    log_every: int = 10
    licence: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)  # extra style metadata (title, artist, ...)
    half: bool = False  # store the style's weights as float16
    progress: bool = True
    time_limit: float | None = None  # seconds of this launch; then stop early and write the style (resumable)
    compile: bool = False  # torch.compile the style and loss networks (fuses the elementwise work; slow to start)
    # Mixed precision (rtstyle.train.precision): None for the device's default (bf16 where native), True or False.
    amp: bool | None = None
    # On resume: the settings given anew (hparams names, "arch", "arch_kwargs", "init", "teacher"). Those in
    # rtstyle.train.resume.CHANGEABLE_ON_RESUME apply from the checkpoint's step; the others are ignored, with a
    # note when they differ.
    resume_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainResult:
    style_path: Path
    steps: int
    losses: dict[str, float]
    seconds: float


def resolve_device(device: str) -> torch.device:
    if device == "cuda" and not torch.cuda.is_available():
        raise RtstyleError("--device cuda: PyTorch cannot use a CUDA GPU on this machine")
    if device not in ("auto", "cpu", "cuda"):
        raise RtstyleError(f"unknown device {device!r} (choose from auto, cpu, cuda)")
    return torch.device("cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu")


def to_tensor(images_rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 NHWC RGB -> float NCHW 0..255."""
    return torch.from_numpy(np.ascontiguousarray(images_rgb)).to(device).permute(0, 3, 1, 2).float()


class Trainer:
    def __init__(self, config: TrainConfig, loss_network: LossNetwork | None = None) -> None:
        """`loss_network` is for tests only; the CLI always loads real weights."""
        self.new_dirs: list[Path] = []  # the run folder and its parents, where this run creates them
        try:
            self._setup(config, loss_network)
        except BaseException:  # a failed start (or Ctrl-C while loading) leaves no empty runs/NAME behind
            remove_empty_dirs(self.new_dirs)
            raise

    def _setup(self, config: TrainConfig, loss_network: LossNetwork | None) -> None:
        self.config = config
        self._validate_name()
        self.run_dir = Path(config.run_dir) if config.run_dir else Path("runs") / config.name
        self.checkpoint_path = self.run_dir / CHECKPOINT_NAME
        self.output = Path(config.output) if config.output else user_styles_dir() / f"{config.name}{STYLE_SUFFIX}"
        self.device = resolve_device(config.device)

        resumed = read_resume_checkpoint(config.resume, self.checkpoint_path, self.run_dir)
        self.resumed = resumed is not None
        record = resumed.record if resumed else {}
        self.changes: list[dict[str, Any]] = list(record.get("changes_on_resume", []))
        if resumed:
            self.hparams = resumed_hparams(record, resumed.step, config.resume_options, config.resume_steps,
                                           self.changes)
        else:
            self.hparams = config.hparams
        self.style_image_path = run_input(config.style_image, record.get("style_image_path"), "--style-image")
        self.content_path = run_input(config.content, record.get("content_path"), "--content")
        self.vgg_weights = config.vgg_weights or record.get("vgg_weights")  # a resumed run keeps its loss network
        if not config.style_image and not resumed:
            raise RtstyleError("--style-image is required")
        if not config.content and not resumed:
            raise RtstyleError("--content is required")
        # Ties the style file to its run: --resume replaces only a style this very run wrote.
        self.run_id: str = record.get("run_id") or uuid.uuid4().hex
        # --licence, --meta, --init and --half given when the run started stay with it through --resume.
        self.style_metadata: dict[str, Any] = {**record.get("style_metadata", {}), **config.metadata}
        if config.licence:
            self.style_metadata["licence"] = config.licence
        if config.init:
            self.style_metadata["init"] = config.init
        self.half = config.half or bool(record.get("half"))  # like --licence: the file format chosen at the start

        # Cheap input checks first, so a typo fails before VGG is loaded or downloaded.
        self.style_rgb = read_style_image(self.style_image_path, self.hparams.style_size)
        if self.device.type == "cpu":
            refuse_painting_past_memory(self.style_rgb.shape)
        self._notice_large_painting()
        self.style_sha256 = painting_hash(self.style_image_path, record.get("style_image_sha256"))
        self.content = ContentSource(self.content_path, self.hparams.crop_size, self.hparams.seed)
        # Read now: the photos may be moved away later (the training crops are kept in memory).
        self.preview_content = self.content.preview_image(max(self.hparams.crop_size, PREVIEW_SIDE))
        refuse_inputs_as_output(self.output, style_image=self.style_image_path, run_dir=self.run_dir,
                                content_files=self.content.files, vgg_weights=self.vgg_weights,
                                init=self.style_metadata.get("init"), teacher=config.teacher or record.get("teacher"))
        check_style_output(self.output, overwrite=config.overwrite, resumed=resumed is not None, run_id=self.run_id)
        self.new_dirs = missing_dirs(self.run_dir)
        probe_writable(self.checkpoint_path, "the checkpoint")
        ensure_writable_dir(self.run_dir)  # removed again (when empty) if the start fails
        clear_leftovers([self.checkpoint_path, self.output], say)  # of a run killed while writing them

        torch.manual_seed(self.hparams.seed)
        self.arch, self.arch_kwargs, init_weights = self._architecture(record)
        self.model = build_network(self.arch, self.arch_kwargs)
        if init_weights is not None:
            self.model.load_state_dict(init_weights)
        self.model.to(self.device)
        self.teacher_name = config.teacher or record.get("teacher")
        self.teacher = self._load_teacher(self.teacher_name) if self.teacher_name else None
        if config.teacher and self.teacher is not None:
            # A student is the teacher's painting: it inherits the credits, unless given others.
            self.style_metadata = {**self.teacher_credits, **self.style_metadata, "teacher": config.teacher}
        # The student learns what users see of the teacher: its output with the inference margin.
        self.teacher_forward = as_users_get_it(self.teacher) if self.teacher else None
        self.teacher_targets = TeacherTargets(self.teacher_forward, self.content, self.device) \
            if self.teacher_forward else None
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.hparams.lr)
        self.step = 0
        self.checkpoint_step: int | None = None  # the step of the checkpoint on disk, if any
        self.train_seconds = 0.0
        self.recent: deque[dict[str, float]] = deque(maxlen=FINAL_LOSS_WINDOW)  # per-step losses, for the final ones
        if resumed:
            self._restore(resumed)

        # Pure distillation (content and style weights 0) needs no loss network: VGG would cost more than the
        # student itself, so it is not even loaded.
        self.vgg: LossNetwork | None = None
        self.vgg_source = "not used (content and style weights 0)"
        if not (self.hparams.content_weight == 0 and self.hparams.style_weight == 0):
            if loss_network is None:
                loss_network, self.vgg_source = load_loss_network(self.vgg_weights)
            else:
                self.vgg_source = "test network"
            self.vgg = loss_network.to(self.device)
            self.hparams = self.hparams.with_loss_weights_for(self.vgg.convention.scale)
        self.amp = amp_dtype(self.device, config.amp)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # every step has the same shapes: pick the fastest kernels once
        # Contiguous (NCHW) also on CUDA: channels_last measured 3-11% slower on an H100 (docs/benchmarks.md).
        self.use_memory_format(torch.contiguous_format)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp == torch.float16)
        self.style_grams = self._style_targets()
        # The training step's forward passes go through these; the modules themselves (and their state dicts,
        # which become the style file) stay the plain ones.
        network: Callable[[torch.Tensor], torch.Tensor] = self.model
        self.vgg_forward: Callable[..., dict[str, torch.Tensor]] | None = self.vgg
        if config.compile:
            network = torch.compile(self.model)
            self.vgg_forward = torch.compile(self.vgg) if self.vgg is not None else None
        self.model_forward = with_mirrored_margin(network, self.hparams.border_margin)

    # ----------------------------------------------------------------------------------------- setup
    def _validate_name(self) -> None:
        check_style_name(self.config.name)

    def _notice_large_painting(self) -> None:
        height, width = self.style_rgb.shape[:2]
        if self.hparams.style_size is None and height * width > LARGE_STYLE_PIXELS:
            say(f"the style image is {width}x{height} px, used at its own size: its style targets take minutes and "
                "many GB of memory before step 1; --style-size 512 is quicker (Johnson's recipe uses 256)")

    def _architecture(self, record: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, torch.Tensor] | None]:
        config = self.config
        if record:
            return record["arch"], record["arch_kwargs"], None  # weights come with the checkpoint
        if config.init:
            from rtstyle.styles.catalog import find_style

            style = find_style(config.init).load()
            if config.arch and config.arch.replace("_", "-") != style.arch:
                raise RtstyleError(f"--init style is a {style.arch!r} network, not {config.arch!r}")
            if config.arch_kwargs and {**style.arch_kwargs, **config.arch_kwargs} != style.arch_kwargs:
                raise RtstyleError(f"--init style has architecture parameters {style.arch_kwargs}; "
                                   "drop the conflicting options")
            weights = {k: torch.from_numpy(v) for k, v in style.float32_weights().items()}
            return style.arch, dict(style.arch_kwargs), weights
        arch = config.arch or "johnson"
        spec = create_spec(arch, **config.arch_kwargs)
        return spec.name, dict(spec.kwargs), None

    def _load_teacher(self, name: str) -> StyleNet:
        from rtstyle.engine.torch_backend import style_to_module
        from rtstyle.styles.catalog import find_style

        style = find_style(name).load()
        self.teacher_credits = {k: style.metadata[k] for k in TEACHER_CREDIT_KEYS if k in style.metadata}
        teacher = style_to_module(style).to(self.device)
        teacher.requires_grad_(False)
        return teacher

    def _restore(self, checkpoint: Checkpoint) -> None:
        restore_training_state(checkpoint, self.model, self.optimizer, self.hparams.lr, self.device, arch=self.arch,
                               checkpoint_path=self.checkpoint_path)
        self.checkpoint_step = checkpoint.step
        # The window the final losses average over, exactly as it was (the log holds only every --log-every-th step).
        self.recent.extend(checkpoint.record.get("recent_losses", []))
        self.step = checkpoint.step
        self.train_seconds = float(checkpoint.record.get("train_seconds", 0.0))
        if self.step > self.hparams.steps:
            raise RtstyleError(f"the checkpoint is already at step {self.step}, past --steps {self.hparams.steps}")

    @torch.no_grad()
    def _style_targets(self) -> list[torch.Tensor]:
        """The style image's Gram matrices, computed once (batch 1, broadcast against each batch)."""
        if self.vgg is None:
            return []
        style = to_tensor(self.style_rgb[None], self.device)
        with torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
            features = self.vgg(style, self.hparams.style_layers)
        return [gram_matrix(features[name]) for name in self.hparams.style_layers]

    # -------------------------------------------------------------------------------------- training
    def losses(self, content_batch: torch.Tensor, boxes: list[CropBox] | None = None) -> dict[str, torch.Tensor]:
        """The weighted loss terms and their sum for one batch (float NCHW RGB 0..255).

        `boxes` (where the crops were cut) lets the teacher's targets come from its cache; without them the
        teacher runs on the batch itself.
        """
        hp = self.hparams
        with torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
            output = self.model_forward(content_batch)
        zero = output.new_zeros((), dtype=torch.float32)
        terms = self._perceptual_terms(content_batch, output) if self.vgg is not None else {}
        terms["tv"] = hp.tv_weight * total_variation(output) if hp.tv_weight else zero
        if self.teacher is not None:
            terms["distill"] = hp.distill_weight * F.mse_loss(output.float(), self._teacher_batch(content_batch, boxes))
        if hp.temporal_weight:
            terms["temporal"] = hp.temporal_weight * self._temporal_term(content_batch, output)
        terms["total"] = sum(terms.values(), zero)
        return terms

    def _perceptual_terms(self, content_batch: torch.Tensor, output: torch.Tensor) -> dict[str, torch.Tensor]:
        assert self.vgg_forward is not None
        hp = self.hparams
        layers = tuple(dict.fromkeys((hp.content_layer, *hp.style_layers)))
        with torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
            out_features = self.vgg_forward(output, layers)
            with torch.no_grad():
                target = self.vgg_forward(content_batch, (hp.content_layer,))[hp.content_layer]
        content_weight, style_weight = hp.loss_weights()
        return {
            "content": content_weight * content_loss(out_features[hp.content_layer], target),
            "style": style_weight * style_loss([out_features[n] for n in hp.style_layers], self.style_grams),
        }

    @torch.no_grad()
    def _teacher_batch(self, content_batch: torch.Tensor, boxes: list[CropBox] | None) -> torch.Tensor:
        assert self.teacher_forward is not None and self.teacher_targets is not None
        if boxes is not None:
            return self.teacher_targets.batch(boxes)
        with torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
            return self.teacher_forward(content_batch).float()

    def _temporal_term(self, content_batch: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """ReCoNet's output temporal loss on a synthetic second frame with exact flow (rtstyle.train.temporal).

        The motion depends only on the seed and the step, so a resumed run draws the same pairs.
        """
        generator = torch.Generator(device=content_batch.device).manual_seed(self.hparams.seed * 1_000_003 + self.step)
        frame1, frame2, flow, mask = make_synthetic_pair(content_batch, generator)
        with torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
            output2 = self.model_forward(frame2)
        return temporal_loss(output.float(), output2.float(), frame1, frame2, flow, mask)

    def use_memory_format(self, memory_format: torch.memory_format) -> None:
        """Networks and batches in this layout (bench/train_step.py compares them)."""
        self.memory_format = memory_format
        self.model.to(memory_format=memory_format)
        if self.vgg is not None:
            self.vgg.to(memory_format=memory_format)

    def train_step(self) -> dict[str, float]:
        batch, boxes = self.content.batch_and_boxes(self.step, self.hparams.batch_size)
        x = to_tensor(batch, self.device).contiguous(memory_format=self.memory_format)
        self.optimizer.zero_grad(set_to_none=True)
        terms = self.losses(x, boxes)
        values = {k: float(v.detach()) for k, v in terms.items()}
        if not math.isfinite(values["total"]):
            # Stop before the update: the weights and the last checkpoint stay good.
            raise RtstyleError(f"the loss became {values['total']} at step {self.step + 1}; training stopped. "
                               + self._nan_advice())
        self.scaler.scale(terms["total"]).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.step += 1
        return values

    def _nan_advice(self) -> str:
        lower = f"a lower --lr (e.g. {self.hparams.lr / 10:g}) or --style-weight"
        if self.checkpoint_step is None:
            return f"No checkpoint yet: start again with {lower}"
        if self.checkpoint_step == self.step:
            # Resuming recomputes this very step from the same weights: any --lr gives the same loss.
            return (f"The last checkpoint ({self.checkpoint_path}, step {self.step}) gives this loss itself: "
                    f"start again in another --run-dir with {lower}")
        return (f"Last good checkpoint: {self.checkpoint_path} (step {self.checkpoint_step}); continue from it with "
                f"--resume and {lower}")

    def run(self) -> TrainResult:
        config, hp = self.config, self.hparams
        log_path = self.run_dir / LOG_NAME
        truncate_log(log_path, self.step)
        if self.step and not self.recent:  # a checkpoint from before recent_losses: the log is the best there is
            self.recent.extend(read_log_tail(log_path, FINAL_LOSS_WINDOW))
        bar = tqdm(total=hp.steps, initial=self.step, unit="step", dynamic_ncols=True, disable=not config.progress,
                   mininterval=1.0, desc=config.name)
        shape = ", ".join(f"{key} {value}" for key, value in sorted(self.arch_kwargs.items()))  # not a dict's repr
        say(f"training {config.name!r}: {self.arch}{f' ({shape})' if shape else ''} on {self.device.type}"
                   f"{' (' + describe(self.amp) + ')' if self.amp else ''}; "
                   f"{self.content.describe()} from {self.content_path}; VGG16 {self.vgg_source}; "
                   f"run dir {self.run_dir}, previews in {self.run_dir / 'previews'}"
                   + (f"; resuming at step {self.step}" if self.step else ""))
        started = time.perf_counter()
        last_preview = started
        base_seconds = self.train_seconds
        step_ends: list[float] = []  # when this launch's first steps ended, for the CPU estimate
        try:
            with open(log_path, "a", encoding="utf-8") as log:
                while self.step < hp.steps:
                    values = self.train_step()
                    self.train_seconds = base_seconds + time.perf_counter() - started
                    self.recent.append(values)
                    bar.update(1)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()}, refresh=False)
                    if self.device.type == "cpu" and len(step_ends) <= ESTIMATE_AFTER_STEPS:
                        step_ends.append(time.perf_counter())
                        if len(step_ends) > ESTIMATE_AFTER_STEPS and self.step < hp.steps:
                            say(self.cpu_estimate((step_ends[-1] - step_ends[0]) / ESTIMATE_AFTER_STEPS))
                    out_of_time = self._out_of_time(started)  # checked after a step, so every launch makes progress
                    if self.step % config.log_every == 0 or self.step == hp.steps or out_of_time:
                        log.write(json.dumps({"step": self.step, **values, "seconds": round(self.train_seconds, 2)}) + "\n")
                        log.flush()
                    if (config.preview_every and self.step % config.preview_every == 0) or (
                            config.preview_seconds is not None
                            and time.perf_counter() - last_preview >= config.preview_seconds):
                        self.write_preview()
                        last_preview = time.perf_counter()
                    if config.checkpoint_every and self.step % config.checkpoint_every == 0:
                        self.save_checkpoint()
                    if out_of_time:
                        break
        except KeyboardInterrupt:
            bar.close()
            if self._discard_unstarted_run():
                say("interrupted before the first step: nothing to save")
                raise
            with uninterruptible():  # a second Ctrl-C must not cost the progress being saved
                self.save_checkpoint()
            say(f"interrupted: checkpoint saved at step {self.step} in {self.checkpoint_path}; "
                       "continue with the same command and --resume")
            raise
        except BaseException:
            self._discard_unstarted_run()
            raise
        bar.close()
        if self.step < hp.steps:
            say(f"time limit reached at step {self.step} of {hp.steps}: writing the style; "
                "--resume continues the run to --steps")
        self.save_checkpoint()
        self.write_preview()
        return self.write_style()

    def cpu_estimate(self, step_seconds: float) -> str:
        """How long the rest of a CPU run takes at `step_seconds` a step, and when that is long, a quicker recipe."""
        steps_left = self.hparams.steps - self.step
        left = steps_left * step_seconds
        text = (f"on the CPU a step takes about {step_seconds:.1f} s here, so the rest of the run "
                f"({counted(steps_left, 'step')}) takes about {how_long(left)}")
        limit = self.config.time_limit
        if limit is not None and limit < left:
            text += f" (--time-limit stops the run after {how_long(limit)} and writes the style)"
        if left > LONG_CPU_RUN_SECONDS and self.hparams.crop_size > QUICK_CPU_CROP and not self.resumed:
            text += ("; for a style in minutes, fine-tune a built-in on small crops instead: "
                     f"{self.quick_cpu_recipe()} (docs/training.md, \"On a CPU\")")
        return text

    def quick_cpu_recipe(self) -> str:
        """QUICK_CPU_RECIPE with its style weight on this run's loss network's scale (the default's differs 1e9-fold
        between a Caffe 0..255 file and torchvision's 0..1 weights)."""
        if self.vgg is None:
            return QUICK_CPU_RECIPE
        style_weight = QUICK_CPU_STYLE_FACTOR * default_loss_weights(self.vgg.convention.scale)[1]
        return f"{QUICK_CPU_RECIPE} --style-weight {style_weight:g}"

    def _discard_unstarted_run(self) -> bool:
        """Stopped before its first step, a new run removes what it created (only the empty log) and says so."""
        if self.step or self.checkpoint_step is not None:
            return False
        log = self.run_dir / LOG_NAME
        if self.run_dir in self.new_dirs and log.is_file() and log.stat().st_size == 0:
            log.unlink()
        remove_empty_dirs(self.new_dirs)
        return True

    def _out_of_time(self, started: float) -> bool:
        limit = self.config.time_limit
        return limit is not None and time.perf_counter() - started >= limit

    # ---------------------------------------------------------------------------------------- output
    def save_checkpoint(self) -> None:
        record = {
            "hparams": self.hparams.to_dict(),
            "arch": self.arch,
            "arch_kwargs": self.arch_kwargs,
            "style_image_path": str(self.style_image_path.resolve()),
            "style_image_sha256": self.style_sha256,
            "content_path": str(self.content_path.resolve()),
            "teacher": self.teacher_name,
            "vgg_weights": str(Path(self.vgg_weights).resolve()) if self.vgg_weights else None,
            "train_seconds": self.train_seconds,
            "style_metadata": self.style_metadata,
            "run_id": self.run_id,
            "changes_on_resume": self.changes,
            "recent_losses": list(self.recent),
            "half": self.half,
        }
        save_checkpoint(self.checkpoint_path, Checkpoint(self.step, self.model.state_dict(),
                                                         self.optimizer.state_dict(), capture_rng(self.device), record))
        self.checkpoint_step = self.step

    @torch.no_grad()
    def write_preview(self) -> Path:
        """previews/step_NNNNNN.jpg: the fixed content crop | its stylization."""
        content = self.preview_content
        stylize = with_mirrored_margin(self.model, self.hparams.border_margin)  # not compiled: one odd shape
        stylized = stylize(to_tensor(content[None], self.device)).float().clamp(0, 255).round()
        stylized_rgb = stylized.to(torch.uint8)[0].permute(1, 2, 0).cpu().numpy()
        strip = np.concatenate([content, stylized_rgb], axis=1)[..., ::-1]
        path = self.run_dir / "previews" / f"step_{self.step:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, np.ascontiguousarray(strip), jpeg_quality=90)
        return path

    def final_losses(self) -> dict[str, float]:
        if not self.recent:
            return {}
        return {k: float(np.mean([r[k] for r in self.recent])) for k in self.recent[0]}

    def write_style(self) -> TrainResult:
        weights = {k: v.detach().float().cpu().numpy() for k, v in self.model.state_dict().items()}
        losses = self.final_losses()
        metadata: dict[str, Any] = {
            "name": self.config.name,
            "source_image": self.style_image_path.name,
            # The name alone is ambiguous (datasets ship different files called udnie.jpg); the hash finds the
            # exact painting again, e.g. for the quality report, without storing a local path.
            "source_image_sha256": self.style_sha256,
            "hyperparameters": self.hparams.to_dict(),
            "steps": self.step,
            "images_seen": self.step * self.hparams.batch_size,  # this run's; a packed built-in adds its parent's
            "losses": {**{k: round(v, 4) for k, v in losses.items()}, "averaged_over_last_steps": len(self.recent)},
            "vgg_convention": f"{self.vgg_source}: {self.vgg.convention.describe()}" if self.vgg else self.vgg_source,
            "content": f"{self.content_path.name} ({self.content.describe()})",
            "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "training_seconds": round(self.train_seconds, 1),
            "device": self.device.type,
            "precision": describe(self.amp),
            "run_id": self.run_id,
        }
        if self.changes:  # "hyperparameters" holds the last values; this says from which step they held
            metadata["changed_on_resume"] = self.changes
        if self.step < self.hparams.steps:  # not in style_metadata: a resumed run that finishes drops it
            metadata["stopped_early"] = f"--time-limit reached at step {self.step} of {self.hparams.steps}"
        metadata = {**self.style_metadata, **metadata}  # --meta adds credits; it cannot rewrite the run's record
        try:
            save_style_file(self.output, StyleFile(self.arch, self.arch_kwargs, weights, metadata), half=self.half)
        except OSError as exc:  # e.g. the disk filled up since the start: name the user's path, not the temp file
            raise RtstyleError(f"cannot write the style to {self.output}: {exc.strerror or exc} (the checkpoint is "
                               "kept: --resume with another -o writes it)") from None
        if self.content.skipped:
            say(f"skipped {len(self.content.skipped)} unreadable content file(s)")
        return TrainResult(self.output, self.step, losses, self.train_seconds)


def build_network(arch: str, arch_kwargs: dict[str, Any]) -> StyleNet:
    spec = create_spec(arch, **arch_kwargs)  # refuses more than MAX_PARAMETERS
    try:
        return StyleNet(spec)
    except (MemoryError, RuntimeError) as exc:  # under the limit, but more than this machine holds
        raise RtstyleError(f"the {arch} network with {arch_kwargs} would have {spec.num_params():,} parameters, "
                           f"too many to train here: lower --width or --blocks ({str(exc).splitlines()[0]})") from None


def train(config: TrainConfig, loss_network: LossNetwork | None = None) -> TrainResult:
    return Trainer(config, loss_network).run()
