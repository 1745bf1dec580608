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
    """A frame that cannot be stylized in the memory available, even in tiles: a batch goes on without it."""


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

    Sizes are the caller's frame sizes; the network runs on them with up to `BORDER_MARGIN` px more on every side
    (`Stylizer.border_margin`), and that is what is estimated (and what tiles cut up).
    """

    def __init__(self, spec: NetSpec, available: int | None = None, min_tile: int | None = None) -> None:
        self.spec = spec
        self.available = available  # fixed value for tests; None: ask the OS (psutil)
        self.min_tile = max(min_tile or MIN_TILE, 2 * TILE_OVERLAP)  # a tile must be more than its overlaps
        self.checked: set[tuple[int, int]] = set()
        self.tiles: dict[tuple[int, int], int | None] = {}  # per frame size: None (whole) or the tile side
        # The most memory a frame (or tile) already let through needs: a size needing no more fits whatever the OS
        # says now, because the runtime keeps that memory for reuse (onnxruntime's arena) and is counted as using it.
        self.accepted = 0

    def _fits(self, need: int, budget: int | None) -> bool:
        return budget is None or need <= budget or need <= self.accepted

    def budget(self) -> int | None:
        available = self.available if self.available is not None else available_memory_bytes()
        return None if available is None else int(available * HEADROOM)

    def check(self, height: int, width: int) -> None:
        if (height, width) in self.checked:
            return
        budget = self.budget()
        need = estimate_frame_bytes(self.spec, height + 2 * BORDER_MARGIN, width + 2 * BORDER_MARGIN)
        if not self._fits(need, budget):
            assert budget is not None
            raise self._refusal(height, width, need, budget)
        self.accepted = max(self.accepted, need)
        self.checked.add((height, width))

    def tile_for(self, height: int, width: int) -> int | None:
        """None to stylize a frame of this size whole, else the side of the largest square tile that fits.

        Decided once per size, so that a video or a folder of photos never switches between whole and tiled
        frames as the free memory moves. Raises when even a `min_tile` tile would not fit.
        """
        size = (height, width)
        if size in self.tiles:
            return self.tiles[size]
        budget = self.budget()
        need = estimate_frame_bytes(self.spec, height + 2 * BORDER_MARGIN, width + 2 * BORDER_MARGIN)
        if self._fits(need, budget):
            self.checked.add(size)  # it fits now: `check` need not ask again
            self.accepted = max(self.accepted, need)
            self.tiles[size] = None
            return None
        assert budget is not None
        for_tiles = budget - TILING_BYTES_PER_PIXEL * (height + 2 * BORDER_MARGIN) * (width + 2 * BORDER_MARGIN)
        per_pixel = estimate_frame_bytes(self.spec, 1, 1)
        side = math.isqrt(max(0, for_tiles) // per_pixel) // TILE_ALIGN * TILE_ALIGN
        side = max(side, math.isqrt(self.accepted // per_pixel) // TILE_ALIGN * TILE_ALIGN)  # tiles as large as ran
        if side < self.min_tile:
            raise self._refusal(height, width, need, budget)
        self.tiles[size] = side
        return side

    def largest_side(self, height: int, width: int, budget: int) -> int:
        """The longest side a frame of this shape may be downscaled to and still fit in `budget` bytes."""
        per_pixel = estimate_frame_bytes(self.spec, 1, 1)
        return max(16, math.isqrt(budget // per_pixel * max(height, width) // min(height, width)) - 2 * BORDER_MARGIN)

    def _refusal(self, height: int, width: int, need: int, budget: int) -> TooLargeForMemory:
        return TooLargeForMemory(
            f"a {width}x{height} frame needs about {need / 2**30:.1f} GiB of memory with this style on the CPU "
            f"and {budget / HEADROOM / 2**30:.1f} GiB is available: use --max-size "
            f"{self.largest_side(height, width, budget)} or less to downscale")


def out_of_memory_error(exc: Exception, height: int, width: int, where: str) -> TooLargeForMemory | None:
    """An RtstyleError for a runtime's allocation failure, or None if `exc` is something else."""
    text = str(exc).lower()
    if any(s in text for s in ("failed to allocate", "out of memory", "bad_alloc", "cudaerrormemoryallocation")):
        return TooLargeForMemory(f"not enough memory to stylize a {width}x{height} frame on the {where}: "
                            "use --max-size to downscale")
    return None
