#!/usr/bin/env python3
"""Peak memory of `rtstyle train`'s steps per architecture, batch and crop size, next to the trainer's estimate.

Each row is its own process (peak memory cannot be reset between rows otherwise): it builds the real Trainer
(real VGG16 weights, real photos, a 128 px painting), then resets the kernel's peak-RSS counter (VmHWM, Linux
`clear_refs`) and runs two steps (the first creates Adam's state). "measured" is that peak over the RSS before
the steps: the activations autograd keeps for the style network and VGG16, their gradients, Adam's state and the
allocator's slack. On CUDA it is torch.cuda.max_memory_allocated over memory_allocated before the steps
(bf16 autocast, as the trainer runs). "estimate" is rtstyle.train.step_memory.step_bytes, what the check before
training compares with the memory available. Usage:
    python bench/train_memory.py --vgg-weights VGG.safetensors --content ../shared/data/train256 \
        --style-image ../shared/data/style/jcjohnson_fast_neural_style/wave.jpg [--device cuda] [--rows ...] \
        [--border-margin 32]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

# (arch, batch, crop, temporal) measured by default on a CPU: small enough for a 2-core machine in minutes.
CPU_ROWS = [("johnson", 1, 128, False), ("johnson", 2, 128, False), ("johnson", 4, 128, False),
            ("johnson", 1, 256, False), ("johnson", 2, 256, False), ("johnson", 4, 256, False),
            ("johnson", 8, 256, False), ("johnson", 2, 256, True),
            ("fast", 1, 128, False), ("fast", 4, 128, False), ("fast", 1, 256, False), ("fast", 4, 256, False)]
CUDA_ROWS = [("johnson", 4, 256, False), ("johnson", 16, 256, False), ("johnson", 16, 256, True),
             ("johnson", 8, 512, False), ("fast", 16, 256, False), ("fast", 8, 512, False)]
GIB = 2**30
PRECISIONS = {"auto": None, "float32": False, "mixed": True}  # TrainConfig.amp


def peak_rss_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux 4.0+)


def status_bytes(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def measure_one(args: argparse.Namespace, arch: str, batch: int, crop: int, temporal: bool) -> dict[str, float]:
    """One row, in this process: the steps' peak growth and the estimate."""
    import torch

    from rtstyle.train.hparams import TEMPORAL_WEIGHT, HyperParams
    from rtstyle.train.step_memory import step_memory
    from rtstyle.train.trainer import Trainer, TrainConfig

    hp = HyperParams(batch_size=batch, crop_size=crop, steps=10**6, style_size=128,
                     temporal_weight=TEMPORAL_WEIGHT if temporal else 0.0, border_margin=args.border_margin)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(TrainConfig(name="bench", style_image=args.style_image, content=args.content, hparams=hp,
                                      arch=arch, run_dir=Path(tmp), output=Path(tmp) / "bench.safetensors",
                                      progress=False, device=args.device, vgg_weights=args.vgg_weights,
                                      amp=PRECISIONS[args.precision]))
        cuda = trainer.device.type == "cuda"
        trainer.content.batch_and_boxes(0, batch)  # the crops' cache is the photos', not the step's
        if cuda:
            torch.cuda.synchronize()
            before = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
        else:
            before = status_bytes("VmRSS")
            peak_rss_reset()
        for _ in range(2):
            trainer.train_step()
        if cuda:
            torch.cuda.synchronize()
            measured = torch.cuda.max_memory_allocated() - before
        else:
            measured = status_bytes("VmHWM") - before
        estimate = step_memory(trainer, available=1).need()
    return {"measured": measured, "estimate": estimate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vgg-weights", required=True)
    parser.add_argument("--content", required=True, type=Path)
    parser.add_argument("--style-image", required=True, type=Path)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", choices=list(PRECISIONS), default="auto",
                        help="the trainer's own choice (rtstyle.train.precision), float32, or mixed (bf16 on a CPU)")
    parser.add_argument("--border-margin", type=int, default=0, help="the trainer's --border-margin (px)")
    parser.add_argument("--rows", nargs="*", metavar="ARCH:BATCH:CROP[:t]",
                        help="rows to measure instead of the defaults (t: with the temporal loss)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process's row, as JSON
    args = parser.parse_args()
    if args.one:
        import torch

        torch.set_num_threads(args.threads)
        print(json.dumps(measure_one(args, *json.loads(args.one))))
        return
    rows = [(a, int(b), int(c), t == ["t"]) for a, b, c, *t in (r.split(":") for r in args.rows)] if args.rows \
        else (CUDA_ROWS if args.device == "cuda" else CPU_ROWS)
    print(f"train step memory on {args.device}, {args.threads} threads, precision {args.precision}, border margin "
          f"{args.border_margin} px; measured: peak over the steps' start")
    print("| arch | batch | crop | temporal | Mpx/step | measured GiB | estimate GiB | estimate / measured |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for arch, batch, crop, temporal in rows:
        child = [sys.executable, __file__, "--one", json.dumps([arch, batch, crop, temporal]),
                 "--vgg-weights", args.vgg_weights, "--content", str(args.content), "--style-image",
                 str(args.style_image), "--device", args.device, "--threads", str(args.threads),
                 "--precision", args.precision, "--border-margin", str(args.border_margin)]
        result = json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        measured, estimate = result["measured"], result["estimate"]
        print(f"| {arch} | {batch} | {crop} | {'yes' if temporal else 'no'} | {batch * crop * crop / 1e6:.2f} | "
              f"{measured / GIB:.2f} | {estimate / GIB:.2f} | {estimate / measured:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
