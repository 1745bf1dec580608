"""Training checkpoints: model weights, Adam state, step count and RNG state in one safetensors file.

Tensors go in the safetensors body, everything else (step, hyperparameters, optimizer settings) in a
JSON record in its header, so resuming never unpickles anything. Written atomically (temp + rename):
a crash while saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import atomic_write_bytes
from rtstyle.styles.format import CHECKPOINT_KEY

CHECKPOINT_NAME = "checkpoint.safetensors"
RECORD_KEY = CHECKPOINT_KEY  # style lookups recognise a checkpoint by it (and say what it is)
CHECKPOINT_VERSION = 1


@dataclass
class Checkpoint:
    step: int  # number of optimizer steps completed
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]  # torch.optim.Optimizer.state_dict()
    rng: dict[str, torch.Tensor] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)  # JSON: hyperparameters, arch, sources, ...


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    tensors: dict[str, torch.Tensor] = {f"model.{k}": v.detach().cpu().contiguous() for k, v in checkpoint.model.items()}
    state = checkpoint.optimizer["state"]
    optim_layout: dict[str, dict[str, list[int]]] = {}
    for param_id, param_state in state.items():
        shapes = {}
        for key, value in param_state.items():
            value = torch.as_tensor(value).detach().cpu()
            shapes[key] = list(value.shape)  # 0-d tensors (Adam's step) are stored as 1-element tensors
            tensors[f"optim.{param_id}.{key}"] = value.reshape(-1).clone() if value.dim() == 0 else value.contiguous()
        optim_layout[str(param_id)] = shapes
    for key, value in checkpoint.rng.items():
        tensors[f"rng.{key}"] = value.detach().cpu().contiguous()
    record = {
        "version": CHECKPOINT_VERSION,
        "step": checkpoint.step,
        "param_groups": checkpoint.optimizer["param_groups"],
        "optim_layout": optim_layout,
        **checkpoint.record,
    }
    payload = save_safetensors_bytes(tensors, metadata={RECORD_KEY: json.dumps(record)})
    atomic_write_bytes(Path(path), payload)


def load_checkpoint(path: Path) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise RtstyleError(f"no checkpoint to resume from: {path}")
    try:
        data = path.read_bytes()
        tensors = load_safetensors_bytes(data)
        header_len = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8:8 + header_len]).get("__metadata__") or {}
        record = json.loads(metadata[RECORD_KEY])
    except OSError as exc:
        raise RtstyleError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    except Exception:  # safetensors, JSON and key errors all mean the same thing here
        raise RtstyleError(f"corrupt checkpoint (not an rtstyle training checkpoint): {path}") from None
    if record.get("version", 0) > CHECKPOINT_VERSION:
        raise RtstyleError(f"checkpoint {path} is from a newer rtstyle: upgrade rtstyle")
    model = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    rng = {k[len("rng."):]: v for k, v in tensors.items() if k.startswith("rng.")}
    state: dict[int, dict[str, torch.Tensor]] = {}
    for param_id, shapes in record.pop("optim_layout").items():
        state[int(param_id)] = {key: tensors[f"optim.{param_id}.{key}"].reshape(shape) for key, shape in shapes.items()}
    optimizer = {"state": state, "param_groups": record.pop("param_groups")}
    step = int(record.pop("step"))
    record.pop("version", None)
    return Checkpoint(step=step, model=model, optimizer=optimizer, rng=rng, record=record)


def capture_rng(device: torch.device) -> dict[str, torch.Tensor]:
    rng = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(device)
    return rng


def restore_rng(rng: dict[str, torch.Tensor], device: torch.device) -> None:
    if "torch" in rng:
        torch.set_rng_state(rng["torch"])
    if device.type == "cuda" and "cuda" in rng:
        torch.cuda.set_rng_state(rng["cuda"], device)
