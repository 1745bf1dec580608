"""Labelled grids of images: the demo's summary and the README's style gallery."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from rtstyle.io.text import put_text, text_size

BACKGROUND = (24, 24, 24)
LABEL_COLOUR = (235, 235, 235)
MARK_COLOUR = (120, 120, 120)  # the words on a tile that stands for a missing image: quieter than a label


def label_band(tile_h: int) -> int:
    """The height of the title strip above a column (and the size its words are drawn at: band / 40)."""
    return max(18, tile_h // 8)


def fit_text(text: str, width: int, scale: float, thickness: int = 1) -> str:
    """`text`, its middle replaced by '..' until it is drawn at most `width` px wide: a long file name keeps its
    start and its end (IMG_20240501_0001.jpg and _0002 still differ), where cutting off the end lost that."""
    if text_size(text, scale, thickness)[0] <= width:
        return text
    for keep in range(len(text) - 1, 0, -1):
        short = f"{text[:(keep + 1) // 2]}..{text[len(text) - keep // 2:]}"
        if text_size(short, scale, thickness)[0] <= width:
            return short
    return text[:1]


def fit_tile(image: np.ndarray, tile_w: int, tile_h: int) -> np.ndarray:
    """Scale to fit inside the tile, keeping the aspect ratio, and centre on the background."""
    h, w = image.shape[:2]
    scale = min(tile_w / w, tile_h / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    tile = np.full((tile_h, tile_w, 3), BACKGROUND, np.uint8)
    y, x = (tile_h - new_h) // 2, (tile_w - new_w) // 2
    tile[y:y + new_h, x:x + new_w] = resized
    return tile


def labelled(tile: np.ndarray, label: str, band: int) -> np.ndarray:
    out = np.full((tile.shape[0] + band, tile.shape[1], 3), BACKGROUND, np.uint8)
    out[band:] = tile
    scale, thickness = band / 40, max(1, round(band / 20))
    put_text(out, fit_text(label, tile.shape[1] - 8, scale, thickness), (6, int(band * 0.72)), scale, LABEL_COLOUR,
             thickness)  # shortened to its column, not cut off at the next one's
    return out


def marked_tile(tile_w: int, tile_h: int, text: str) -> np.ndarray:
    """A tile that stands for an image that is not there ("not written"), its words centred, a line per "\n"."""
    tile = np.full((tile_h, tile_w, 3), BACKGROUND, np.uint8)
    scale = label_band(tile_h) / 40
    lines = [fit_text(line, tile_w - 8, scale) for line in text.split("\n")]
    text_h = text_size("Ag", scale)[1]
    step = round(text_h * 1.8)
    top = (tile_h + text_h) // 2 - step * (len(lines) - 1) // 2  # the first line's baseline: the block centred
    for number, line in enumerate(lines):
        text_w = text_size(line, scale)[0]
        put_text(tile, line, ((tile_w - text_w) // 2, top + number * step), scale, MARK_COLOUR)
    return tile


def contact_sheet(rows: Sequence[Sequence[np.ndarray]], *, row_labels: Sequence[str] | None = None,
                  col_labels: Sequence[str] | None = None, tile_w: int = 256, tile_h: int = 192,
                  gap: int = 4) -> np.ndarray:
    """A grid of `rows` (lists of BGR images), with optional column titles and a label per row."""
    band = label_band(tile_h)
    n_cols = max(len(r) for r in rows)
    label_w = 0
    if row_labels:
        label_w = max(text_size(t, band / 40, max(1, round(band / 20)))[0] for t in row_labels) + 12
    grid_rows = []
    if col_labels:
        header = [labelled(np.full((0, tile_w, 3), BACKGROUND, np.uint8), t, band) for t in col_labels]
        header += [np.full((band, tile_w, 3), BACKGROUND, np.uint8)] * (n_cols - len(header))
        grid_rows.append(_join(header, gap, label_w, "", band))
    for i, row in enumerate(rows):
        tiles = [fit_tile(img, tile_w, tile_h) for img in row]
        tiles += [np.full((tile_h, tile_w, 3), BACKGROUND, np.uint8)] * (n_cols - len(tiles))
        grid_rows.append(_join(tiles, gap, label_w, row_labels[i] if row_labels else "", band))
    sheet = grid_rows[0]
    for row_img in grid_rows[1:]:
        spacer = np.full((gap, sheet.shape[1], 3), BACKGROUND, np.uint8)
        sheet = np.vstack([sheet, spacer, row_img])
    return np.pad(sheet, ((gap, gap), (gap, gap), (0, 0)), constant_values=BACKGROUND[0])


def _join(tiles: list[np.ndarray], gap: int, label_w: int, label: str, band: int) -> np.ndarray:
    height = tiles[0].shape[0]
    parts: list[np.ndarray] = []
    if label_w:
        cell = np.full((height, label_w, 3), BACKGROUND, np.uint8)
        if label:
            put_text(cell, label, (6, height // 2), band / 40, LABEL_COLOUR, max(1, round(band / 20)))
        parts.append(cell)
    for tile in tiles:
        if parts:
            parts.append(np.full((height, gap, 3), BACKGROUND, np.uint8))
        parts.append(tile)
    return np.hstack(parts)
