"""A training step's memory: estimated and checked before step 1, and running out of it said in one line.

Without this, a --batch-size x --crop-size beyond the machine's memory (within the 67 Mpx cap of hparams.py) was
killed by the kernel with no message ("Killed"), or stopped with a CUDA out-of-memory traceback.

The estimate is what autograd keeps for one step (activations of the style network and of VGG16, gradients,
Adam's state), fitted to the peak RSS growth of real CPU steps (bench/train_memory.py, docs/benchmarks.md): about
2,700 bytes per crop pixel for VGG16 to relu4_3, 21 bytes per pixel for each channel the style network holds at
that pixel's scale (johnson: 187 channel-pixels per input pixel, fast: 36), and 16 bytes per parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rtstyle.engine.memory import HEADROOM, available_memory_bytes
from rtstyle.errors import RtstyleError
from rtstyle.interrupts import uninterruptible
from rtstyle.models.spec import NetSpec
from rtstyle.train.hparams import HyperParams
from rtstyle.train.run_folder import remove_empty_dirs
from rtstyle.train.status import say
from rtstyle.train.trainer import Trainer, TrainConfig, TrainResult
from rtstyle.wording import file_size

# Measured on the CPU (float32), 2026-12-07: the fitted model is within 0.87-1.17x of the measured peaks.
VGG_BYTES_PER_PIXEL = 2700
NET_BYTES_PER_CHANNEL_PIXEL = 21
BYTES_PER_PARAMETER = 16  # its gradient and Adam's two moments, float32, and the allocator's slack
STEP_OVERHEAD = 40 * 2**20  # the loss terms, the batch itself, the allocator's arenas
# The per-pixel part under autocast (rtstyle.train.precision), by device. On the CPU (bf16, oneDNN) the steps' peak
# was 0.86-0.93x float32's, not half: the convolutions' outputs are bf16, but much of what autograd keeps (norms,
# activations, the losses' inputs) stays float32 (bench/train_memory.py --precision mixed, 2026-12-07). On CUDA not
# measured yet (no GPU session so far); half keeps the check from refusing a batch that would fit there.
AUTOCAST_SHARE = {"cpu": 0.9, "cuda": 0.5}
# Refuse only when the estimate exceeds what is available by more than its error (the estimate was at most 1.17x
# the measured peak); warn from this share of it on, when the run may still be killed.
REFUSE_ABOVE = 1.2
WARN_ABOVE = 0.8
CROP_ALIGN = 16  # a suggested --crop-size is a multiple of this


def channel_pixels(spec: NetSpec) -> float:
    """The channels the style network's layers output, each weighted by its resolution relative to the input's
    (its area): what autograd keeps per input pixel, in units of one float per channel."""
    scale = 1.0
    total = 0.0
    for conv in spec.convs():
        scale = scale * conv.upsample**2 / conv.stride**2
        total += conv.out_ch * scale
    return total


def step_bytes(spec: NetSpec, batch: int, crop: int, *, temporal: bool = False, vgg: bool = True,
               activation_share: float = 1.0, margin: int = 0) -> int:
    """Memory one training step adds to the trainer's own (networks loaded, style targets computed);
    `activation_share`: of float32's per-pixel bytes (AUTOCAST_SHARE under autocast); `margin`: --border-margin,
    which the style network sees around each crop and VGG16 does not."""
    # The temporal loss runs the style network a second time, on the shifted frame, with gradients.
    network = NET_BYTES_PER_CHANNEL_PIXEL * channel_pixels(spec) * (2 if temporal else 1) * (crop + 2 * margin) ** 2
    loss_network = VGG_BYTES_PER_PIXEL * crop * crop if vgg else 0
    return int(STEP_OVERHEAD + BYTES_PER_PARAMETER * spec.num_params()
               + activation_share * (network + loss_network) * batch)


@dataclass(frozen=True)
class StepMemory:
    """A run's step estimate against what was available when it started (None: the OS does not say)."""

    spec: NetSpec
    hparams: HyperParams
    vgg: bool
    autocast: bool
    device: str  # "cpu" or "cuda"
    available: int | None

    def need(self, batch: int | None = None, crop: int | None = None) -> int:
        return step_bytes(self.spec, batch or self.hparams.batch_size, crop or self.hparams.crop_size,
                          temporal=bool(self.hparams.temporal_weight), vgg=self.vgg,
                          activation_share=AUTOCAST_SHARE[self.device] if self.autocast else 1.0,
                          margin=self.hparams.border_margin)

    def largest_batch(self, budget: int) -> int:
        """The largest batch of this crop size within `budget` bytes (0: not even one crop)."""
        batch = 0
        while batch < self.hparams.batch_size and self.need(batch + 1) <= budget:
            batch += 1
        return batch

    def largest_crop(self, budget: int, at_most: int) -> int:
        """The largest crop side (a multiple of CROP_ALIGN, 0 if none, `at_most` at most) of which one crop fits in
        `budget` bytes."""
        per_pixel = (self.need(1, CROP_ALIGN) - self.need(1, 1)) / (CROP_ALIGN**2 - 1)
        side = math.isqrt(max(0, int((budget - self.need(1, 1)) / per_pixel))) if per_pixel > 0 else 0
        return min(side, at_most) // CROP_ALIGN * CROP_ALIGN

    def advice(self, budget: int, halve: bool = False) -> str:
        """What to change so that a step fits in `budget` bytes: a smaller batch, else smaller crops. `halve`: at
        most half the batch (or pixels), for a step that ran out of memory although the estimate said it fits."""
        hp = self.hparams
        batch = min(self.largest_batch(budget), hp.batch_size // 2 if halve else hp.batch_size - 1)
        if batch >= 1:
            return f"use --batch-size {batch} or less"
        crop = self.largest_crop(budget, int(hp.crop_size / math.sqrt(2)) if halve else hp.crop_size - 1)
        if crop >= CROP_ALIGN:
            return f"use --batch-size 1 and --crop-size {crop} or less" if hp.batch_size > 1 \
                else f"use --crop-size {crop} or less"
        where = "GPU" if self.device == "cuda" else "machine"
        return f"free memory on this {where} (close other programs)"

    def describe(self) -> str:
        hp = self.hparams
        extra = " with the temporal loss" if hp.temporal_weight else ""
        extra += f" and a {hp.border_margin} px border margin" if hp.border_margin else ""
        return f"--batch-size {hp.batch_size} at --crop-size {hp.crop_size}{extra} needs about {file_size(self.need())}"

    def where(self) -> str:
        return "this GPU has" if self.device == "cuda" else "this machine has"

    def verdict(self) -> str | None:
        """"refuse" when a step clearly needs more than is available, "warn" when it needs most of it, else None."""
        if self.available is None:
            return None
        need = self.need()
        if need > self.available * REFUSE_ABOVE:
            return "refuse"
        return "warn" if need > self.available * WARN_ABOVE else None


def available_for_training(device: torch.device) -> int | None:
    """Bytes a step can still allocate: on CUDA the GPU's free memory plus what PyTorch holds unused; on the CPU
    the memory the OS can give without swapping (rtstyle.engine.memory)."""
    if device.type != "cuda":
        return available_memory_bytes()
    free, _total = torch.cuda.mem_get_info(device)
    return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))


def step_memory(trainer: Trainer, available: int | None = None) -> StepMemory:
    """The estimate for this trainer's run; `available` None: asked of the OS or the GPU now."""
    if available is None:
        available = available_for_training(trainer.device)
    return StepMemory(trainer.model.spec, trainer.hparams, trainer.vgg is not None, trainer.amp is not None,
                      trainer.device.type, available)


def check_step_memory(trainer: Trainer) -> StepMemory:
    """Refuse, in one line and before step 1, a run whose steps clearly need more memory than there is (the OS would
    kill it); warn when they need most of it. A refused new run leaves no empty run folder behind."""
    memory = step_memory(trainer)
    verdict = memory.verdict()
    if verdict is None:
        return memory
    assert memory.available is not None
    advice = memory.advice(int(memory.available * HEADROOM))
    if verdict == "refuse":
        remove_empty_dirs(trainer.new_dirs)
        if trainer.resumed and advice.startswith("use "):  # its sizes are the checkpoint's
            advice = f"--resume keeps the run's sizes: free memory, or start a new run (another --run-dir) with " \
                f"{advice.removeprefix('use ')}"
        raise RtstyleError(f"{memory.describe()}; {memory.where()} {file_size(memory.available)} available: {advice}")
    say(f"warning: {memory.describe()}, close to the {file_size(memory.available)} available; if the run is "
        f"killed, {advice}")
    return memory


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA's out-of-memory error, or the CPU allocator's refusal (when the OS does not overcommit)."""
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc))


def start_within_memory(config: TrainConfig) -> Trainer:
    """`Trainer(config)`; running out of memory while it loads the networks and computes the painting's style targets
    (on CUDA: the CPU's painting check does not apply there) is one line with the option that needs less."""
    try:
        return Trainer(config)  # a failed start removes the run folder it created
    except (torch.OutOfMemoryError, RuntimeError) as exc:
        if not is_out_of_memory(exc):
            raise
    raise RtstyleError("ran out of memory before step 1, loading the networks and the style image's targets (VGG16 "
                       "on the whole painting): a smaller --style-size needs less (Johnson's recipe uses 256)")


def run_within_memory(trainer: Trainer, memory: StepMemory) -> TrainResult:
    """`trainer.run()`; running out of memory in a step stops it like Ctrl-C (the checkpoint saved at the last
    finished step) and is said in one line with a batch or crop size that fits, instead of a traceback."""
    try:
        return trainer.run()
    except (torch.OutOfMemoryError, RuntimeError) as exc:
        if not is_out_of_memory(exc):
            raise
    # Outside the except block: its traceback, and the step's tensors it holds, are gone before saving.
    if trainer.device.type == "cuda":
        torch.cuda.empty_cache()
    where = "the GPU" if trainer.device.type == "cuda" else "the CPU"
    budget = int(memory.available * HEADROOM) if memory.available is not None else memory.need()
    when = f"at step {trainer.step + 1}" if trainer.step < trainer.hparams.steps else "after the last step"
    text = f"{where} ran out of memory {when} ({memory.describe()}): {memory.advice(budget, halve=True)}"
    saved = bool(trainer.step) and trainer.checkpoint_step != trainer.step
    if saved:
        with uninterruptible():  # as on Ctrl-C: a second signal must not cost the progress being saved
            trainer.save_checkpoint()
    if trainer.checkpoint_step is None:
        raise RtstyleError(f"{text}; nothing was saved (no step had finished)")
    raise RtstyleError(f"{text}; the checkpoint at step {trainer.checkpoint_step} is {'saved' if saved else 'kept'} in "
                       f"{trainer.checkpoint_path}: --resume continues it at the same sizes once more memory is free")
