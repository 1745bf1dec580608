"""Refuse frames that would not fit in memory with a clear message, instead of being killed by the OS.

A style network's peak memory grows with the frame's area times the most channels it holds at full
resolution (for johnson: 2 x width, the upsampled input of the last 3x3 conv). Measured with onnxruntime
on the CPU (peak RSS growth, docs/benchmarks.md): johnson width 32 (64 channels) at 1280x720:
824 to 1420 bytes per pixel depending on how far the allocator's arena had grown, i.e. up to 5.5 float32
copies per channel; width 8 (16 channels) at 7680x4320: 8.3 GB, 250 bytes per pixel, 3.9 copies. The
estimate uses 8 copies.

A single frame (a photo) that does not fit is stylized in tiles instead (`rtstyle.engine.tiling`), as large as
fit, when that is at least `MIN_TILE` px; below that the tiles' own instance-norm statistics would show.
"""

from __future__ import annotations

import math
import threading

import psutil

from rtstyle.engine.tiling import BORDER_MARGIN, TILE_OVERLAP
from rtstyle.errors import RtstyleError
from rtstyle.models.spec import NetSpec

BYTES_PER_CHANNEL_FLOAT = 8 * 4  # 8 full-resolution float32 copies per channel
HEADROOM = 0.9  # leave 10 % of the available memory to everything else
MIN_TILE = 1024  # smaller tiles normalise too differently from the whole frame (docs/benchmarks.md)
TILE_ALIGN = 64  # tile sides are multiples of this (the networks downsample by 4)
TILING_BYTES_PER_PIXEL = 16  # the cross-fade's float32 sums (3 channels) and weights (1) over the whole frame


class TooLargeForMemory(RtstyleError):
    """A frame that cannot be stylized in the memory available, even in tiles: a batch goes on without it.

    The advice is --max-size (image, video, eval); `problem` and `largest_side` let a command without that option
    (the webcam) give its own."""

    def __init__(self, problem: str, largest_side: int | None = None) -> None:
        self.problem = problem
        self.largest_side = largest_side  # the longest side that would fit; None when not worked out
        super().__init__(f"{problem}: use --max-size {largest_side} or less to downscale" if largest_side
                         else f"{problem}: use --max-size to downscale")


def full_resolution_channels(spec: NetSpec) -> int:
    """The most channels any layer holds at the input's resolution (before downsampling / after upsampling)."""
    scale = 1.0
    widest = 3
    for conv in spec.convs():
        scale *= conv.upsample
        if scale >= 1:
            widest = max(widest, conv.in_ch)
        scale /= conv.stride
        if scale >= 1:
            widest = max(widest, conv.out_ch)
    return widest


def estimate_frame_bytes(spec: NetSpec, height: int, width: int) -> int:
    return int(height * width * full_resolution_channels(spec) * BYTES_PER_CHANNEL_FLOAT)


def available_memory_bytes() -> int | None:
    """Memory that can be used without swapping (psutil: MemAvailable on Linux, free + inactive on macOS, the
    available physical memory on Windows), or None when it cannot be read (then no check is made)."""
    try:
        return int(psutil.virtual_memory().available)
    except (OSError, RuntimeError, AttributeError):  # e.g. a sandbox without /proc
        return None


class MemoryGuard:
    """Checks each new frame size once against the memory available at that moment.

    Sizes are the caller's frame sizes; the network runs on them with `margin` px more on every side (the
    stylizer's `border_margin`), and that is what is estimated (and what tiles cut up).
    """

    def __init__(self, spec: NetSpec, available: int | None = None, min_tile: int | None = None) -> None:
        self.spec = spec
        self.available = available  # fixed value for tests; None: ask the OS (psutil)
        self.min_tile = max(min_tile or MIN_TILE, 2 * TILE_OVERLAP)  # a tile must be more than its overlaps
        self.checked: set[tuple[int, int, int, int]] = set()  # (height, width, margin, frames at once)
        self.tiles: dict[tuple[int, int, int], int | None] = {}  # per frame size and margin: None (whole) or a side
        # The most memory a frame (or tile) already let through needs: a size needing no more fits whatever the OS
        # says now, because the runtime keeps that memory for reuse (onnxruntime's arena) and is counted as using it.
        self.accepted = 0
        self._lock = threading.Lock()  # a frame-parallel conversion's workers ask at the same time

    def _fits(self, need: int, budget: int | None) -> bool:
        return budget is None or need <= budget or need <= self.accepted

    def budget(self) -> int | None:
        available = self.available if self.available is not None else available_memory_bytes()
        return None if available is None else int(available * HEADROOM)

    def need(self, height: int, width: int, margin: int, count: int = 1) -> int:
        """Bytes to run `count` frames of height x width at once, each with `margin` px around it."""
        return count * estimate_frame_bytes(self.spec, height + 2 * margin, width + 2 * margin)

    def check(self, height: int, width: int, margin: int = BORDER_MARGIN, count: int = 1) -> None:
        """Refuse, in one line, `count` frames at once (a batch, never tiled) that would not fit."""
        with self._lock:
            self._check(height, width, margin, count)

    def _check(self, height: int, width: int, margin: int, count: int) -> None:
        key = (height, width, margin, count)
        if key in self.checked:
            return
        budget = self.budget()
        need = self.need(height, width, margin, count)
        if not self._fits(need, budget):
            assert budget is not None
            raise self._refusal(height, width, margin, need, budget)
        self.accepted = max(self.accepted, need)
        self.checked.add(key)

    def decided(self, height: int, width: int, margin: int = BORDER_MARGIN) -> bool:
        """Whether `tile_for` has decided this size already (its choice is said once per size)."""
        return (height, width, margin) in self.tiles

    def tile_for(self, height: int, width: int, margin: int = BORDER_MARGIN) -> int | None:
        """None to stylize a frame of this size whole, else the side of the largest square tile that fits.

        Decided once per size, so that a video or a folder of photos never switches between whole and tiled
        frames as the free memory moves. Raises when even a `min_tile` tile would not fit.
        """
        with self._lock:
            return self._tile_for(height, width, margin)

    def fits_at_once(self, height: int, width: int, margin: int, count: int) -> bool:
        """Whether `count` frames of this size fit whole at the same time (a frame-parallel conversion runs that
        many at once, each with its own activations); if so, frames of this size are let through from now on."""
        with self._lock:
            need = self.need(height, width, margin, count)
            if not self._fits(need, self.budget()):
                return False
            self.accepted = max(self.accepted, need)
            return True

    def _tile_for(self, height: int, width: int, margin: int) -> int | None:
        key = (height, width, margin)
        if key in self.tiles:
            return self.tiles[key]
        budget = self.budget()
        need = self.need(height, width, margin)
        if self._fits(need, budget):
            self.checked.add((height, width, margin, 1))  # it fits now: `check` need not ask again
            self.accepted = max(self.accepted, need)
            self.tiles[key] = None
            return None
        assert budget is not None
        for_tiles = budget - TILING_BYTES_PER_PIXEL * (height + 2 * margin) * (width + 2 * margin)
        per_pixel = estimate_frame_bytes(self.spec, 1, 1)
        side = math.isqrt(max(0, for_tiles) // per_pixel) // TILE_ALIGN * TILE_ALIGN
        side = max(side, math.isqrt(self.accepted // per_pixel) // TILE_ALIGN * TILE_ALIGN)  # tiles as large as ran
        if side < self.min_tile:
            raise self._refusal(height, width, margin, need, budget)
        self.accepted = max(self.accepted, side * side * per_pixel)  # its tiles are let through
        self.tiles[key] = side
        return side

    def largest_side(self, height: int, width: int, budget: int, margin: int = BORDER_MARGIN) -> int:
        """The longest side a frame of this shape may be downscaled to and still fit in `budget` bytes with its
        margin: the largest L with (L + 2m)(rL + 2m) <= budget / bytes a pixel, r the short side over the long."""
        pixels = budget / estimate_frame_bytes(self.spec, 1, 1)
        r = min(height, width) / max(height, width)
        m2 = 2 * margin
        # r L^2 + m2 (1 + r) L + m2^2 - pixels <= 0
        root = (-m2 * (1 + r) + math.sqrt((m2 * (1 + r)) ** 2 - 4 * r * (m2 * m2 - pixels))) / (2 * r) \
            if pixels > m2 * m2 else 0.0
        return max(16, int(root))

    def _refusal(self, height: int, width: int, margin: int, need: int, budget: int) -> TooLargeForMemory:
        return TooLargeForMemory(
            f"a {width}x{height} frame needs about {need / 2**30:.1f} GiB of memory with this style on the CPU "
            f"and {budget / HEADROOM / 2**30:.1f} GiB is available", self.largest_side(height, width, budget, margin))


def out_of_memory_error(exc: Exception, height: int, width: int, where: str) -> TooLargeForMemory | None:
    """An RtstyleError for a runtime's allocation failure, or None if `exc` is something else."""
    text = str(exc).lower()
    if any(s in text for s in ("failed to allocate", "out of memory", "bad_alloc", "cudaerrormemoryallocation")):
        return TooLargeForMemory(f"not enough memory to stylize a {width}x{height} frame on the {where}")
    return None
