#!/usr/bin/env python3
"""Time one training step of `rtstyle train` in a few variants (memory format, temporal loss) and print a table.

Rows time `Trainer.train_step` itself, one after another in one process on the same trainer, so their ratios
compare. On CUDA the trainer uses bf16 autocast; it keeps the contiguous layout, the "channels_last" rows switch.
--compile adds rows from a second trainer with `rtstyle train --compile` (torch.compile; its compilation happens
in the warm-up steps, which are not timed). Usage:
    python bench/train_step.py --vgg-weights VGG.safetensors --content ../shared/data/train256 \
        --style-image ../shared/data/style/jcjohnson_fast_neural_style/wave.jpg [--compile] [--profile]
Defaults: batch 16 at 256 px on CUDA (the GPU recipe), batch 2 at 128 px on the CPU.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from rtstyle.train.hparams import TEMPORAL_WEIGHT, HyperParams
from rtstyle.train.trainer import Trainer, TrainConfig


def sync(trainer: Trainer) -> None:
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()


def time_variant(trainer: Trainer, channels_last: bool, temporal: bool, steps: int, warmup: int = 4) -> float:
    """Mean ms per step of the trainer's own `train_step` after the warm-up steps (cudnn.benchmark picks kernels
    during warm-up; torch.compile compiles)."""
    trainer.use_memory_format(torch.channels_last if channels_last else torch.contiguous_format)
    trainer.hparams.temporal_weight = TEMPORAL_WEIGHT if temporal else 0.0
    for _ in range(warmup):
        trainer.train_step()
    sync(trainer)
    started = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    sync(trainer)
    return (time.perf_counter() - started) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vgg-weights", required=True)
    parser.add_argument("--content", required=True, type=Path)
    parser.add_argument("--style-image", required=True, type=Path)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--crop-size", type=int)
    parser.add_argument("--steps", type=int, default=15, help="timed steps per row")
    parser.add_argument("--compile", action="store_true", help="also time the torch.compile'd trainer")
    parser.add_argument("--profile", action="store_true", help="also list the top kernels of the first row")
    args = parser.parse_args()
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    batch = args.batch_size or (16 if cuda else 2)
    crop = args.crop_size or (256 if cuda else 128)
    hp = HyperParams(batch_size=batch, crop_size=crop, steps=10**6, content_weight=1, style_weight=5, style_size=512)
    with tempfile.TemporaryDirectory() as tmp:
        def make_trainer(compile_networks: bool) -> Trainer:
            return Trainer(TrainConfig(name="bench", style_image=args.style_image, content=args.content, hparams=hp,
                                       run_dir=Path(tmp), output=Path(tmp) / "bench.safetensors", progress=False,
                                       device="cuda" if cuda else "cpu", vgg_weights=args.vgg_weights,
                                       compile=compile_networks))

        trainer = make_trainer(False)
        device_name = torch.cuda.get_device_name() if cuda else "CPU"
        print(f"train step, johnson, batch {batch} at {crop} px, {device_name}, torch {torch.__version__}"
              f"{', bf16 autocast' if trainer.amp == torch.bfloat16 else ''}")
        rows = [("contiguous (the trainer's)", False, True), ("channels_last", True, True),
                ("contiguous", False, False), ("channels_last", True, False)]
        times = [time_variant(trainer, cl, temporal, args.steps) for _, cl, temporal in rows]
        if args.compile:
            compiled = make_trainer(True)
            for temporal in (True, False):  # the trainer's own layout: switching it would recompile
                rows.append(("contiguous, compiled", False, temporal))
                times.append(time_variant(compiled, False, temporal, args.steps, warmup=6))
        print("| memory format | temporal loss | ms/step | vs first row |\n|---|---|---:|---:|")
        for (label, _, temporal), ms in zip(rows, times):
            print(f"| {label} | {'yes' if temporal else 'no'} | {ms:.1f} | {ms / times[0]:.2f}x |")
        if args.profile:
            activity = torch.profiler.ProfilerActivity.CUDA if cuda else torch.profiler.ProfilerActivity.CPU
            trainer.hparams.temporal_weight = TEMPORAL_WEIGHT
            trainer.use_memory_format(torch.contiguous_format)
            with torch.profiler.profile(activities=[activity]) as profile:
                for _ in range(3):
                    trainer.train_step()
                sync(trainer)
            print(profile.key_averages().table(sort_by="cuda_time_total" if cuda else "cpu_time_total", row_limit=20,
                                               max_name_column_width=70))


if __name__ == "__main__":
    main()
