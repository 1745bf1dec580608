#!/usr/bin/env python3
"""Time one training step of `rtstyle train` in a few variants (memory format, temporal loss, precision) and print
a table.

Rows time `Trainer.train_step` itself in one process on the same trainer, in ROUNDS turns (each row a share of its
steps per turn), so that a machine's load drifting during the run weighs on every row alike and their ratios
compare. The trainer computes in its own precision (rtstyle.train.precision: bf16 autocast on CUDA and on CPUs with
native bf16, else float32) and keeps the contiguous layout; the "channels_last" rows switch the layout, the last
row the precision (float32 where the trainer uses bf16, else bf16 autocast).
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
from dataclasses import dataclass
from pathlib import Path

from rtstyle.torch_threads import prefer_short_spinning

prefer_short_spinning()  # as the rtstyle command runs torch: before it loads

import torch  # noqa: E402

from rtstyle.train.hparams import TEMPORAL_WEIGHT, HyperParams
from rtstyle.train.precision import describe
from rtstyle.train.trainer import Trainer, TrainConfig


def sync(trainer: Trainer) -> None:
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()


ROUNDS = 3


@dataclass(frozen=True)
class Variant:
    label: str
    channels_last: bool
    temporal: bool
    amp: torch.dtype | None


def time_variant(trainer: Trainer, variant: Variant, steps: int, warmup: int) -> tuple[float, float]:
    """Wall and process CPU seconds of `steps` calls of the trainer's own `train_step` after `warmup` untimed ones
    (cudnn.benchmark picks kernels during warm-up; torch.compile compiles; oneDNN prepares its bf16 kernels). The
    CPU seconds are what a load beside the run changes least, with rtstyle's short spin (libgomp's default spin
    counts the waiting as CPU time too: docs/benchmarks.md)."""
    trainer.use_memory_format(torch.channels_last if variant.channels_last else torch.contiguous_format)
    trainer.hparams.temporal_weight = TEMPORAL_WEIGHT if variant.temporal else 0.0
    trainer.amp = variant.amp
    for _ in range(warmup):
        trainer.train_step()
    sync(trainer)
    started, started_cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        trainer.train_step()
    sync(trainer)
    return time.perf_counter() - started, time.process_time() - started_cpu


def time_in_rounds(trainer: Trainer, variants: list[Variant], steps: int,
                   warmup: int = 4) -> list[tuple[float, float]]:
    """Mean wall and CPU ms per step of each variant, its steps spread over ROUNDS turns (the warm-up in each
    turn's first)."""
    per_round = max(1, steps // ROUNDS)
    seconds = [(0.0, 0.0)] * len(variants)
    for turn in range(ROUNDS):
        for i, variant in enumerate(variants):
            wall, cpu = time_variant(trainer, variant, per_round, warmup if turn == 0 else 1)
            seconds[i] = (seconds[i][0] + wall, seconds[i][1] + cpu)
    return [(wall / (per_round * ROUNDS) * 1000, cpu / (per_round * ROUNDS) * 1000) for wall, cpu in seconds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vgg-weights", required=True)
    parser.add_argument("--content", required=True, type=Path)
    parser.add_argument("--style-image", required=True, type=Path)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--crop-size", type=int)
    parser.add_argument("--steps", type=int, default=15, help="timed steps per row")
    parser.add_argument("--warmup", type=int, default=4, help="untimed steps before each row's first turn")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                        help="the trainer's precision, as `rtstyle train --amp/--no-amp`")
    parser.add_argument("--first-row-only", action="store_true",
                        help="only the trainer's own row: with --amp and --no-amp in separate processes, one after "
                             "the other, each precision gets a fresh process (oneDNN's caches, the allocator's)")
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
                                       compile=compile_networks, amp=args.amp))

        trainer = make_trainer(False)
        own, other = trainer.amp, (None if trainer.amp else torch.bfloat16)
        device_name = torch.cuda.get_device_name() if cuda else "CPU"
        print(f"train step, johnson, batch {batch} at {crop} px, {device_name}, torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads; the trainer's precision: {describe(own)}")
        rows = [Variant("contiguous (the trainer's)", False, True, own), Variant("channels_last", True, True, own),
                Variant("contiguous", False, False, own), Variant("channels_last", True, False, own),
                Variant("contiguous", False, True, other)]
        if args.first_row_only:
            rows = rows[:1]
        times = time_in_rounds(trainer, rows, args.steps, args.warmup)
        if args.compile:
            compiled = make_trainer(True)
            compiled_rows = [Variant("contiguous, compiled", False, temporal, own) for temporal in (True, False)]
            rows += compiled_rows  # the trainer's own layout: switching it would recompile
            times += time_in_rounds(compiled, compiled_rows, args.steps, warmup=6)
        print("| memory format | temporal loss | precision | ms/step | vs first row | CPU ms/step |\n"
              "|---|---|---|---:|---:|---:|")
        for row, (ms, cpu_ms) in zip(rows, times):
            print(f"| {row.label} | {'yes' if row.temporal else 'no'} | {describe(row.amp)} | {ms:.1f} | "
                  f"{ms / times[0][0]:.2f}x | {cpu_ms:.0f} |")
        if args.profile:
            activity = torch.profiler.ProfilerActivity.CUDA if cuda else torch.profiler.ProfilerActivity.CPU
            trainer.hparams.temporal_weight = TEMPORAL_WEIGHT
            trainer.use_memory_format(torch.contiguous_format)
            trainer.amp = own
            with torch.profiler.profile(activities=[activity]) as profile:
                for _ in range(3):
                    trainer.train_step()
                sync(trainer)
            print(profile.key_averages().table(sort_by="cuda_time_total" if cuda else "cpu_time_total", row_limit=20,
                                               max_name_column_width=70))


if __name__ == "__main__":
    main()
