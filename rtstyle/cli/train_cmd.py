"""`rtstyle train`: train a style network from one painting (needs `rtstyle[train]`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from rtstyle.cli.completion import complete_arch, complete_style
from rtstyle.cli.options import FiniteFloatRange, THREADS, UserPath, output_path
from rtstyle.errors import RtstyleError, require_torch
from rtstyle.paths import VGG_WEIGHTS_ENV
from rtstyle.realtime.timeparse import parse_time
from rtstyle.wording import counted

# Defaults are shown from the HyperParams dataclass (the one place they live); options default to None so
# that only what the user gave overrides them.
_HP_DEFAULTS = {"crop_size": 256, "batch_size": 4, "lr": 1e-3, "tv_weight": 1e-6, "steps": 40_000, "seed": 42}
# Previews without --preview-every: by steps on a GPU, by time on a CPU (where 500 steps take an hour or more).
DEFAULT_PREVIEW_EVERY = 500
DEFAULT_PREVIEW_SECONDS = 120.0
_WEIGHT_NOTE = "[default: {} for torchvision's VGG (0..1 input), {} for a Caffe 0..255 file]"


def _default(name: str) -> str:
    return f"[default: {_HP_DEFAULTS[name]:g}]"


def parse_key_values(items: tuple[str, ...], option: str) -> dict[str, Any]:
    """KEY=VALUE pairs; VALUE is read as JSON when it parses (numbers, true/false), else as text."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RtstyleError(f"{option} expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def parse_duration(text: str | None) -> float | None:
    """--time-limit: seconds, with a unit (90s, 45m, 2h) or as HH:MM:SS (rtstyle.realtime.timeparse)."""
    if text is None:
        return None
    try:
        seconds = parse_time(text)
    except ValueError:
        raise RtstyleError(f"--time-limit {text!r} is not a duration (e.g. 90s, 45m, 2h or 1:30:00)") from None
    if not seconds > 0:
        raise RtstyleError(f"--time-limit {text!r} must be longer than zero")
    return seconds


@click.command(short_help="Train a style network from one painting.")
@click.option("--style-image", type=UserPath(path_type=Path), help="The painting to learn (required unless --resume).")
@click.option("--content", type=UserPath(path_type=Path),
              help="Training photos: a folder (searched recursively) or a video file (required unless --resume).")
@click.option("--name", required=True,
              help="Name of the new style (lower case, digits, '-', '_', '.'). A built-in's name (mosaic) makes "
                   "yours stand in for that built-in, for you only.")
@click.option("--steps", type=click.IntRange(min=1),
              help=f"Optimizer steps (the default is Johnson's 40,000 at batch 4). {_default('steps')}")
@click.option("--epochs", type=FiniteFloatRange(min=0, min_open=True),
              help="Passes over the content instead of --steps (steps = epochs * images / batch size).")
@click.option("--batch-size", type=click.IntRange(min=1), help=f"Content crops per step. {_default('batch_size')}")
@click.option("--crop-size", type=click.IntRange(min=16), help=f"Crop side in pixels. {_default('crop_size')}")
@click.option("--style-size", type=click.IntRange(min=16), help="Scale the style image's longest side to this. "
              "[default: its own size]")
@click.option("--content-weight", type=FiniteFloatRange(min=0), help=_WEIGHT_NOTE.format("1e5", "1"))
@click.option("--style-weight", type=FiniteFloatRange(min=0), help=_WEIGHT_NOTE.format("1e10", "5"))
@click.option("--tv-weight", type=FiniteFloatRange(min=0), help=f"Total variation (0 disables). {_default('tv_weight')}")
@click.option("--temporal", is_flag=True, help="Add the temporal loss (steadier video; weight 1e7, see --temporal-weight).")
@click.option("--temporal-weight", type=FiniteFloatRange(min=0),
              help="Weight of the temporal loss on synthetic frame pairs (ReCoNet output term). [default: 0, off]")
@click.option("--border-margin", type=click.IntRange(min=0), metavar="PX",
              help="Mirror this many px around each crop before the network, as rtstyle does around every picture "
                   "it stylizes (32), so training optimises what you get; at 32 a step takes about 1.3x the time and "
                   "memory (1.4x with --temporal). [default: 0, bare crops]")
@click.option("--lr", type=FiniteFloatRange(min=0, min_open=True), help=f"Adam learning rate. {_default('lr')}")
@click.option("--seed", type=int, help=f"Seeds the network init, image order and crops. {_default('seed')}")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto trains on a CUDA GPU when there is one (with mixed precision).")
@click.option("--vgg-weights", type=UserPath(path_type=Path),
              help=f"VGG16 safetensors file for the loss network (or set {VGG_WEIGHTS_ENV}). "
                   "[default: torchvision's IMAGENET1K_V1, downloaded once]")
@click.option("--init", "init_style", shell_complete=complete_style, help="Start from this style (name or path) instead of random weights.")
@click.option("--teacher", shell_complete=complete_style, help="Distil: also match this trained style's outputs (name or path), e.g. to train a "
              "fast network (--arch fast) from a johnson style.")
@click.option("--distill-weight", type=FiniteFloatRange(min=0), help="Weight of the teacher term. [default: 10]")
@click.option("--resume", is_flag=True, help="Continue the run in --run-dir from its last checkpoint, with its own "
              "settings; a new --lr or loss weight (content, style, tv) applies from there.")
@click.option("--arch", shell_complete=complete_arch, help="Network architecture from the registry. [default: johnson]")
@click.option("--width", type=click.IntRange(min=1), help="Architecture width (johnson: 32).")
@click.option("--blocks", type=click.IntRange(min=0), help="Residual blocks (johnson: 5).")
@click.option("--arch-arg", "arch_args", multiple=True, metavar="KEY=VALUE",
              help="Any other architecture parameter (repeatable).")
@click.option("--preview-every", type=click.IntRange(min=0),
              help="Write a preview (content | stylized) to RUN_DIR/previews every N steps (0: only at the end). "
                   "[default: every 500 steps, or 2 minutes of training when that comes first]")
@click.option("--checkpoint-every", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Checkpoint every N steps (0: only at the end and on Ctrl-C).")
@click.option("--log-every", type=click.IntRange(min=1), default=10, show_default=True,
              help="Append the losses to the run's losses.jsonl every N steps.")
@click.option("--run-dir", type=UserPath(path_type=Path), help="Checkpoints, previews and the loss log. "
              "[default: runs/NAME]")
@click.option("-o", "--output", type=UserPath(path_type=Path), callback=output_path,
              help="Where to write the style, a .safetensors file. [default: the user styles folder, NAME.safetensors]")
@click.option("--overwrite", is_flag=True, help="Replace an existing style of that name.")
@click.option("--licence", help="Licence note of the style image, stored with the style.")
@click.option("--meta", multiple=True, metavar="KEY=VALUE", help="Extra metadata for the style (e.g. title=, artist=).")
@click.option("--half", is_flag=True, help="Store the weights as float16 (half the file size).")
@click.option("--threads", type=THREADS, help="CPU threads for torch. [default: torch's choice]")
@click.option("--time-limit", metavar="DURATION", callback=lambda ctx, param, value: parse_duration(value),
              help="Stop after this long (e.g. 90s, 45m, 2h), write the style and keep the checkpoint, so that "
                   "--resume can continue. [default: none]")
@click.option("--compile", "compile_networks", is_flag=True,
              help="torch.compile the networks: fuses the elementwise work on a GPU; the first steps are slow.")
@click.option("--amp/--no-amp", default=None,
              help="Mixed precision (bf16 autocast). [default: on a CUDA GPU, and on CPUs that compute bf16 "
                   "natively (AVX512-BF16, AMX), where a step takes about half as long; float32 on other CPUs]")
def train(style_image: Path | None, content: Path | None, name: str, steps: int | None, epochs: float | None,
          batch_size: int | None, crop_size: int | None, style_size: int | None, content_weight: float | None,
          style_weight: float | None, tv_weight: float | None, temporal: bool, temporal_weight: float | None,
          border_margin: int | None, lr: float | None, seed: int | None, device: str,
          vgg_weights: Path | None, init_style: str | None, teacher: str | None, distill_weight: float | None,
          resume: bool, arch: str | None, width: int | None,
          blocks: int | None, arch_args: tuple[str, ...], preview_every: int | None, checkpoint_every: int,
          log_every: int,
          run_dir: Path | None, output: Path | None, overwrite: bool, licence: str | None, meta: tuple[str, ...],
          half: bool, threads: int | None, time_limit: float | None, compile_networks: bool, amp: bool | None) -> None:
    """Train a feed-forward style network from one painting (Johnson et al. 2016 perceptual losses).

    \b
    Example:
      rtstyle train --style-image starry_night.jpg --content photos/ --name starry --steps 2000
      rtstyle image photo.jpg --style starry

    Ctrl-C (or `kill PID`) saves a checkpoint; run the same command with --resume to continue.

    On a CPU a step takes seconds, so the example takes hours (a few steps in, the run says how long). For a style
    in minutes, fine-tune a built-in on small crops, with 0.4x the default style weight (2 with a Caffe VGG16 file,
    4e9 with torchvision's weights; docs/training.md, "On a CPU"):

    \b
      rtstyle train --style-image painting.jpg --content photos/ --name mine \\
          --init mosaic --crop-size 96 --style-size 256 --steps 300 --style-weight 2
    """
    require_torch("rtstyle train")
    if steps and epochs:
        raise RtstyleError("give --steps or --epochs, not both")
    if resume and epochs:
        raise RtstyleError("--resume continues to --steps (or the checkpoint's step count); --epochs is not used")
    import torch

    from rtstyle.train.hparams import TEMPORAL_WEIGHT, HyperParams
    from rtstyle.train.step_memory import check_step_memory, run_within_memory, start_within_memory
    from rtstyle.train.trainer import TrainConfig

    if threads:
        torch.set_num_threads(threads)
    if temporal_weight is None and temporal:
        temporal_weight = TEMPORAL_WEIGHT
    given: dict[str, Any] = {"crop_size": crop_size, "batch_size": batch_size, "lr": lr, "content_weight": content_weight,
                             "style_weight": style_weight, "tv_weight": tv_weight, "style_size": style_size,
                             "steps": steps, "seed": seed, "distill_weight": distill_weight,
                             "border_margin": border_margin, "temporal_weight": temporal_weight}
    hparams = HyperParams(**{k: v for k, v in given.items() if v is not None})
    arch_kwargs = parse_key_values(arch_args, "--arch-arg")
    arch_kwargs.update({k: v for k, v in (("width", width), ("blocks", blocks)) if v is not None})
    config = TrainConfig(
        name=name, style_image=style_image, content=content, hparams=hparams, resume_steps=steps, arch=arch,
        arch_kwargs=arch_kwargs, run_dir=run_dir, output=output, overwrite=overwrite, device=device,
        vgg_weights=str(vgg_weights) if vgg_weights else None, init=init_style, teacher=teacher, resume=resume,
        preview_every=DEFAULT_PREVIEW_EVERY if preview_every is None else preview_every,
        preview_seconds=DEFAULT_PREVIEW_SECONDS if preview_every is None else None,
        checkpoint_every=checkpoint_every, log_every=log_every, licence=licence,
        metadata=parse_key_values(meta, "--meta"), half=half, time_limit=time_limit, compile=compile_networks, amp=amp,
        resume_options=resume_options(click.get_current_context(), given, arch, arch_kwargs, init_style, teacher)
        if resume else {},
    )
    trainer = start_within_memory(config)  # Ctrl-C and SIGTERM stop it with a checkpoint (rtstyle.interrupts)
    if epochs:
        trainer.hparams.steps = max(1, math.ceil(epochs * len(trainer.content) / trainer.hparams.batch_size))
    memory = check_step_memory(trainer)  # a batch x crop size the OS would kill, refused before step 1
    result = run_within_memory(trainer, memory)  # running out of memory anyway: one line, the checkpoint kept
    losses = ", ".join(f"{k} {v:.4g}" for k, v in result.losses.items())
    click.echo(f"wrote style {name!r} to {result.style_path} after {counted(result.steps, 'step')} "
               f"({result.seconds / 60:.1f} min; final losses: {losses})", err=True)
    click.echo(str(result.style_path))


def resume_options(ctx: click.Context, hparams: dict[str, Any], arch: str | None, arch_kwargs: dict[str, Any],
                   init_style: str | None, teacher: str | None) -> dict[str, Any]:
    """The run's settings given on this command line: the trainer applies --lr and the loss weights from the
    checkpoint's step and names the others it ignores (those that differ from the run's own)."""
    def given(*names: str) -> bool:
        return any(ctx.get_parameter_source(n) is ParameterSource.COMMANDLINE for n in names)

    options = {k: v for k, v in hparams.items() if v is not None and k != "steps"}
    options.update({k: v for k, v in (("arch", arch), ("init", init_style), ("teacher", teacher)) if v is not None})
    if given("width", "blocks", "arch_args"):
        options["arch_kwargs"] = arch_kwargs
    if not given("temporal", "temporal_weight"):
        options.pop("temporal_weight", None)
    return options
