"""--resume: a run continues from its checkpoint with the settings, painting and photos it started with.

Only CHANGEABLE_ON_RESUME may be given anew (from the checkpoint's step on, recorded in the style); other options
given to --resume are ignored with a note, and a painting that is not the run's own is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from rtstyle.errors import RtstyleError
from rtstyle.train.checkpoint import Checkpoint, load_checkpoint, restore_rng
from rtstyle.train.hparams import HyperParams
from rtstyle.train.status import say

# What --resume may change, as an explicit new setting from the checkpoint's step on (the way out of a NaN loss);
# everything else a run started with stays, so the style's record describes one recipe.
CHANGEABLE_ON_RESUME = ("lr", "content_weight", "style_weight", "tv_weight")


def read_resume_checkpoint(resume: bool, checkpoint_path: Path, run_dir: Path) -> Checkpoint | None:
    """The checkpoint to go on from (with --resume); without it, a run folder that holds one is refused."""
    if resume:
        return load_checkpoint(checkpoint_path)
    if checkpoint_path.exists():
        raise RtstyleError(f"{run_dir} already holds a checkpoint: pass --resume to continue that run, "
                           "or choose another --run-dir")
    return None


def resumed_hparams(record: dict[str, Any], step: int, given: dict[str, Any], resume_steps: int | None,
                    changes: list[dict[str, Any]]) -> HyperParams:
    """The checkpoint's hyperparameters, with a new --steps and the explicit changes of --lr and loss weights.

    `given`: the options given to --resume; the changes they make are appended to `changes` (the run's record).
    """
    recorded = HyperParams.from_dict(record["hparams"])
    changed = {k: given[k] for k in CHANGEABLE_ON_RESUME if k in given and given[k] != getattr(recorded, k)}
    if changed:
        changes.append({"step": step, **{k: [getattr(recorded, k), v] for k, v in changed.items()}})
        say(f"--resume: from step {step}, " + ", ".join(
            f"{option_name(k)} {v:g} (was {getattr(recorded, k):g})" for k, v in changed.items()))
    ignored = ignored_on_resume(given, record)
    if ignored:
        say(f"--resume continues the run with its own settings; ignored: {', '.join(ignored)}")
    updates: dict[str, Any] = {**changed, **({"steps": resume_steps} if resume_steps else {})}
    return replace(recorded, **updates)


def option_name(key: str) -> str:
    return "--" + key.replace("_", "-")


def ignored_on_resume(given: dict[str, Any], record: dict[str, Any]) -> list[str]:
    """The options given to --resume that differ from the run's own settings (which it keeps)."""
    recorded = record["hparams"]
    out = [f"{option_name(k)} {v} (the run's: {recorded.get(k)})" for k, v in given.items()
           if k in recorded and k not in CHANGEABLE_ON_RESUME and k != "steps" and v != recorded.get(k)]
    if "arch" in given and str(given["arch"]).replace("_", "-") != record["arch"]:
        out.append(f"--arch {given['arch']} (the run's: {record['arch']})")
    for key, value in given.get("arch_kwargs", {}).items():
        if record["arch_kwargs"].get(key) != value:
            option = option_name(key) if key in ("width", "blocks") else f"--arch-arg {key}"
            out.append(f"{option} {value} (the run's: {record['arch_kwargs'].get(key)})")
    for key, recorded_value in (("init", record.get("style_metadata", {}).get("init")),
                                ("teacher", record.get("teacher"))):
        if key in given and given[key] != recorded_value:
            out.append(f"{option_name(key)} {given[key]} (the run's: {recorded_value or 'none'})")
    return out


def run_input(given: Path | str | None, recorded: str | None, option: str) -> Path:
    """A resumed run keeps the painting and photos it started with; one given anew is used only if those
    are gone (moved), else it is ignored with a note (the style's metadata must name what it learnt from)."""
    if recorded is None:
        return Path(given or "")
    if given is not None and Path(recorded).exists() and Path(given).resolve() != Path(recorded):
        say(f"--resume: the run continues with its own {option} {recorded}; {given} is ignored")
    return Path(recorded) if Path(recorded).exists() or given is None else Path(given)


def painting_hash(style_image: Path, recorded: str | None) -> str:
    """The painting's sha256; a resumed run refuses a painting that is not the one it started with."""
    digest = hashlib.sha256(style_image.read_bytes()).hexdigest()
    if recorded is not None and digest != recorded:
        raise RtstyleError(f"--resume: the style image {style_image} is not the one the run started with "
                           "(its sha256 differs from the checkpoint's): put that one back, or start a new run "
                           "in another --run-dir")
    return digest


def restore_training_state(checkpoint: Checkpoint, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                           lr: float, device: torch.device, *, arch: str, checkpoint_path: Path) -> None:
    """The checkpoint's weights, Adam state and random state, with `lr` (the run's, maybe new) in place of the saved
    learning rate."""
    if set(checkpoint.model) != set(model.state_dict()):
        raise RtstyleError(f"checkpoint {checkpoint_path} does not match architecture {arch!r}")
    model.load_state_dict(checkpoint.model)
    optimizer.load_state_dict(checkpoint.optimizer)
    for group in optimizer.param_groups:
        group["lr"] = lr  # the saved state carries the old rate; a new --lr applies from here
    restore_rng(checkpoint.rng, device)
