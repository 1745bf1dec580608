"""Stylize a frame too large for memory in overlapping tiles, blended so that no seam shows.

A style network's memory grows with the frame's area (`rtstyle.engine.memory`): a 12-megapixel phone photo needs
about 23 GiB with johnson on the CPU. Tiles bound that. Each tile is stylized with a margin of `overlap` pixels
of real context shared with its neighbours, and neighbours are cross-faded over it with linear weights, so the
result has no hard edges.

What tiling cannot keep exactly: instance norm normalises each tile with its own statistics, so a tile of sky
and a tile of faces are normalised differently, which shifts the tone of some regions (never a seam). Large tiles
(the most that fits in memory, at least 1024 px) keep that small; `docs/benchmarks.md` measures it against the
whole-frame result.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

StylizeFn = Callable[[np.ndarray], np.ndarray]
TILE_OVERLAP = 128  # px of shared context; 256 measured no better at 1024 px tiles (docs/benchmarks.md)
# Pixels of mirrored picture added around every frame before the network and cropped after. Without them the
# outer ~16 px come out blurred and pale, a faded frame around every result (the networks' own per-layer
# reflection padding gives them no real context): measured on five photos, the outer 2 px had half the colour and
# a third of the detail of the interior; with 32 px they match a crop stylized with its real surroundings, and
# more gains nothing (docs/engine.md, "Borders"). Costs (w + 64)(h + 64) / wh more work: 25 % at 640x480, 9 % at
# 1920x1080.
BORDER_MARGIN = 32
# The live webcam's margin: 16 px gives back most of the edge's detail and part of its colour (mosaic-fast, outer
# 2 px against the interior, four photos at 320x240: detail 0.67-0.9, colour 0.45-0.56; 32 px: 0.82-1.09 and
# 0.6-0.68; none: 0.13-0.16 and 0.24-0.28) for half the extra work (12 % at 640x480 and 25 % at 320x240, against
# 25 % and 52 %), the better trade where a frame's time is the frame rate. Files (image, video) keep 32.
LIVE_BORDER_MARGIN = 16
# The metadata key in which an exported model says how many px of margin its graph adds itself (rtstyle export
# --border-margin): rtstyle runs such a model without adding its own.
BORDER_MARGIN_METADATA = "rtstyle_border_margin"
# Tiles start on multiples of this, a multiple of every network's total stride (johnson 4, fast 8): a network's
# strokes are laid out on its stride grid, and a tile on another phase of it drew a shifted pattern, which the
# cross-fade doubled into a band of busier, double-exposed texture (1.6x the edge density of the whole frame).
TILE_START_ALIGN = 8


def tile_spans(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) of the fewest `tile`-px tiles covering `length`, neighbours sharing at least `overlap` px.

    Every tile is full size even when that overlaps more than needed (a 3300 px side in 3264 px tiles: two
    that share 3228 px): a larger tile's instance-norm statistics are closer to the whole frame's, and that is
    worth the extra work (`docs/benchmarks.md`, "Large photos in tiles"). Each tile starts on a multiple of
    `TILE_START_ALIGN`, so the last one ends at `length` up to `TILE_START_ALIGN - 1` px short of full size.
    """
    if tile <= overlap + 2 * TILE_START_ALIGN:
        raise ValueError(f"a tile ({tile} px) must be larger than its overlap ({overlap} px) "
                         f"and twice {TILE_START_ALIGN} px")
    if tile >= length:
        return [(0, length)]
    count = math.ceil((length - overlap) / (tile - overlap))
    while True:  # snapping the starts to the grid can take up to 2 * TILE_START_ALIGN px from an overlap
        step = (length - tile) / (count - 1)
        starts = [int(i * step) // TILE_START_ALIGN * TILE_START_ALIGN for i in range(count - 1)]
        starts.append(-(-(length - tile) // TILE_START_ALIGN) * TILE_START_ALIGN)
        if all(start + tile - following >= overlap for start, following in zip(starts, starts[1:])):
            return [(start, min(start + tile, length)) for start in starts]
        count += 1


def _edge_weights(start: int, end: int, total: int, overlap: int) -> np.ndarray:
    """Weights along one axis for a tile covering [start, end): rising from the tile's inner edges over `overlap`
    px, 1 at the frame's own border (nothing to blend with there)."""
    position = np.arange(start, end, dtype=np.float32)
    weights = np.ones(end - start, np.float32)
    if start > 0:
        weights = np.minimum(weights, (position - start + 0.5) / overlap)
    if end < total:
        weights = np.minimum(weights, (end - position - 0.5) / overlap)
    return weights


def stylize_tiled(stylize: StylizeFn, frame: np.ndarray, tile: int, overlap: int) -> np.ndarray:
    """`stylize` applied to `frame` (uint8 HxWx3) in tiles of at most `tile` x `tile` px, cross-faded over `overlap`.

    Each pixel is the weighted mean of the tiles that cover it, so any number of overlapping tiles blends evenly.
    """
    if overlap <= 0:
        raise ValueError(f"overlap must be positive, got {overlap}")
    height, width = frame.shape[:2]
    total = np.zeros((height, width, 3), np.float32)
    weight_sum = np.zeros((height, width, 1), np.float32)
    for y, y_end in tile_spans(height, tile, overlap):
        wy = _edge_weights(y, y_end, height, overlap)
        for x, x_end in tile_spans(width, tile, overlap):
            weights = (wy[:, None] * _edge_weights(x, x_end, width, overlap)[None, :])[..., None]
            out = stylize(np.ascontiguousarray(frame[y:y_end, x:x_end]))
            total[y:y_end, x:x_end] += out.astype(np.float32) * weights
            weight_sum[y:y_end, x:x_end] += weights
    np.divide(total, weight_sum, out=total)  # in place: no more full-frame float arrays than the budget allows
    np.rint(total, out=total)
    np.clip(total, 0, 255, out=total)
    return total.astype(np.uint8)


def tile_count(height: int, width: int, tile: int, overlap: int) -> int:
    return len(tile_spans(height, tile, overlap)) * len(tile_spans(width, tile, overlap))
