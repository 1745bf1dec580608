"""Training speed of a style network: steps/s and the share of the step spent in the VGG16 loss network.

Prints one table row per device (CPU, and CUDA when present). The VGG share is measured by timing the
loss network's part of a step (content-target forward, output forward and backward) on its own, next to
the full step, in the same run. Weights are random: speed does not depend on their values.

    python bench/train_speed.py                      # johnson, 256 px crops, batch 4 (the recipe)
    python bench/train_speed.py --steps 3 --warmup 1 --threads 2
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

from rtstyle.torch_threads import prefer_short_spinning

prefer_short_spinning()  # as the rtstyle command runs torch: before it loads

import torch  # noqa: E402

from rtstyle.models.registry import create_spec
from rtstyle.models.torch_net import StyleNet
from rtstyle.train.hparams import VGG_LAYERS
from rtstyle.train.losses import content_loss, gram_matrix, style_loss, total_variation
from rtstyle.train.vgg import EXPECTED_SHAPES, LossNetwork, parse_convention


def random_loss_network() -> LossNetwork:
    state = {k: torch.randn(shape) * 0.01 for k, shape in EXPECTED_SHAPES.items()}
    return LossNetwork(state, parse_convention("BGR, 0..255, minus mean [103.939,116.779,123.68]"))


def timed(fn: Callable[[], None], device: torch.device, steps: int, warmup: int) -> float:
    """Mean seconds per call after `warmup` calls."""
    for _ in range(warmup):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def bench_device(device: torch.device, arch: str, crop: int, batch: int, steps: int, warmup: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = StyleNet(create_spec(arch)).to(device)
    vgg = random_loss_network().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    amp = None
    x = torch.rand(batch, 3, crop, crop, device=device) * 255
    if device.type == "cuda":  # as the trainer does: channels_last and bf16/fp16 autocast
        amp = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        model.to(memory_format=torch.channels_last)
        vgg.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    autocast = lambda: torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None)  # noqa: E731
    with torch.no_grad(), autocast():
        style_grams = [gram_matrix(f) for f in vgg(x[:1], VGG_LAYERS).values()]
    scaler = torch.amp.GradScaler("cuda", enabled=amp == torch.float16)

    def vgg_losses(y: torch.Tensor) -> torch.Tensor:
        features = vgg(y, VGG_LAYERS)
        with torch.no_grad():
            target = vgg(x, ("relu2_2",))["relu2_2"]
        return (content_loss(features["relu2_2"], target) + 5.0 * style_loss(list(features.values()), style_grams)
                + 1e-6 * total_variation(y))

    def full_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            loss = vgg_losses(model(x))
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    y_leaf = (torch.rand_like(x) * 255).requires_grad_(True)

    def vgg_part() -> None:
        y_leaf.grad = None
        with autocast():
            loss = vgg_losses(y_leaf)
        loss.backward()

    full = timed(full_step, device, steps, warmup)
    vgg_time = timed(vgg_part, device, steps, warmup)
    return {"step_s": full, "steps_per_s": 1 / full, "images_per_s": batch / full, "vgg_s": vgg_time,
            "vgg_share": vgg_time / full}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="johnson")
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--devices", default="cpu,cuda", help="comma-separated; cuda is skipped when absent")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [d for d in args.devices.split(",") if d == "cpu" or (d == "cuda" and torch.cuda.is_available())]
    print(f"# {args.arch}, {args.crop} px crops, batch {args.batch}; {args.steps} timed steps after {args.warmup} warm-up; "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {platform.processor() or platform.machine()}")
    print(f"{'device':<28} {'s/step':>8} {'steps/s':>8} {'img/s':>8} {'VGG s':>8} {'VGG share':>10}")
    for name in devices:
        device = torch.device(name)
        label = torch.cuda.get_device_name(device) + " (AMP)" if name == "cuda" else "cpu fp32"
        r = bench_device(device, args.arch, args.crop, args.batch, args.steps, args.warmup)
        print(f"{label:<28} {r['step_s']:>8.3f} {r['steps_per_s']:>8.3f} {r['images_per_s']:>8.2f} "
              f"{r['vgg_s']:>8.3f} {r['vgg_share']:>9.0%}")


if __name__ == "__main__":
    main()
