"""`rtstyle image --contact-sheet FILE`: one labelled overview of a batch, to compare styles without opening
every result.

A row per photo: the photo, then its result in each style, under column titles ("original", then the styles'
names); each row is named after its photo when there are several. The results are read back from disk after the
batch: those this run wrote, and those skipped as already there that are marked as rtstyle's (rtstyle.io.result_marker:
an earlier run's, when a batch is finished). A file there without the mark may be a photo (beach_wave.jpg beside
beach.jpg): it is kept, and shown as a tile that says "skipped, name taken", not in the style's column as if it were
its result (a BMP result from an earlier run holds no mark, so it is shown so too). A photo that cannot be read has
no row (the batch has said so); a result that is not there (too large for the memory available, a folder that
cannot be written) or cannot be read is a tile that says so.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import file_key, refuse_to_replace
from rtstyle.io.contact_sheet import contact_sheet, fit_text, fit_tile, label_band, marked_tile
from rtstyle.io.image_jobs import ImagePlan, name_key
from rtstyle.io.images import IMAGE_SUFFIXES, try_read_image, unwritable_format, write_image
from rtstyle.io.result_marker import is_rtstyle_result

TILE_SIDE = 320  # px on a tile's longer side: 10 styles x a few photos make a sheet of a few MB
MAX_COLUMNS = 41  # the photo and 40 styles: about 13,000 px wide, within every format's limit (WebP's 16,383)
MAX_TILES = 300  # about 23 Mpx of 320x240 tiles (70 MB while it is made): past that it is no overview


@dataclass(frozen=True)
class SheetRow:
    photo: Path
    results: tuple[Path | None, ...]  # in each style (the columns' order): its result file; None: none planned


def check_sheet_path(path: Path, overwrite: bool) -> None:
    """Before anything runs: a format rtstyle writes, no folder in the way, a place that can be written, and no
    existing file replaced without --overwrite."""
    if path.suffix.lower() not in IMAGE_SUFFIXES and not path.is_dir():  # a folder is said to be one, below
        raise RtstyleError(f"--contact-sheet {path}: {unwritable_format(path.suffix)}")
    refuse_to_replace(path, overwrite, what="contact sheet",
                      hint=", and existing results with it; or give the sheet another name")


def plan_sheet(path: Path, plans: Mapping[str, ImagePlan]) -> list[SheetRow]:
    """The sheet's rows (`plans`: each style's, by name, in the columns' order), with every refusal made before any
    style runs: the sheet as one of the photos or of the results, or too large to be an overview."""
    if path.exists() and any(file_key(path) in plan.input_keys for plan in plans.values()):
        raise RtstyleError(f"--contact-sheet {path} is one of the photos (an input is never replaced; a sheet written "
                           "into a folder being stylized is a photo to the next run): give the sheet another name, or "
                           "a place outside the photos' folders")
    sheet = name_key(path)
    photos: dict[Path, list[Path | None]] = {}
    for column, (style, plan) in enumerate(plans.items()):
        for job in plan.results:
            if name_key(job.target) == sheet:
                raise RtstyleError(f"--contact-sheet {path} is where {job.source}'s {style} result goes: "
                                   "give the sheet another name")
            photos.setdefault(job.source, [None] * len(plans))[column] = job.target
    columns = 1 + len(plans)
    if columns > MAX_COLUMNS:
        raise RtstyleError(f"--contact-sheet shows at most {MAX_COLUMNS - 1} styles side by side, not {len(plans)}: "
                           "pick some (-s a,b,c), or leave --contact-sheet out")
    if len(photos) * columns > MAX_TILES:
        raise RtstyleError(f"--contact-sheet: {len(photos)} photos in {columns - 1} styles make {len(photos) * columns}"
                           f" tiles, more than an overview holds ({MAX_TILES}): give fewer photos, or leave "
                           "--contact-sheet out")
    return [SheetRow(photo, tuple(results)) for photo, results in photos.items()]


def write_sheet(path: Path, rows: Sequence[SheetRow], styles: Sequence[str], overwrite: bool,
                written: Collection[Path]) -> None:
    """Read the photos and their results back, and write the sheet (atomically, as every result is); `written`: the
    results this run wrote."""
    shown: list[tuple[SheetRow, np.ndarray]] = []
    for row in rows:
        photo = try_read_image(row.photo)
        if photo is not None:  # one held at a time at full size: the sheet keeps only tiles
            shown.append((row, _shrunk(photo)))
    if not shown:
        raise RtstyleError(f"--contact-sheet: none of the photos could be read, so {path} was not written")
    tile_w, tile_h = tile_size([photo for _, photo in shown])
    grid = [[fit_tile(photo, tile_w, tile_h), *(_result_tile(result, result in written, tile_w, tile_h)
                                                for result in row.results)]
            for row, photo in shown]
    names = row_names([row.photo for row, _ in shown], tile_w, label_band(tile_h)) if len(shown) > 1 else None
    write_image(path, contact_sheet(grid, row_labels=names, col_labels=["original", *styles], tile_w=tile_w,
                                    tile_h=tile_h), overwrite=overwrite)


def tile_size(photos: Sequence[np.ndarray]) -> tuple[int, int]:
    """(width, height) of a tile: TILE_SIDE on the longer side, shaped like most of the photos (portrait ones get
    portrait tiles), within 3:4 and 2:1 so a panorama does not make a strip."""
    aspect = min(max(statistics.median(p.shape[1] / p.shape[0] for p in photos), 3 / 4), 2.0)
    return (TILE_SIDE, round(TILE_SIDE / aspect)) if aspect >= 1 else (round(TILE_SIDE * aspect), TILE_SIDE)


def row_names(photos: Sequence[Path], width: int, band: int) -> list[str]:
    """Each photo's file name (with its folder where two share a name), shortened to a tile's width."""
    names = [photo.name for photo in photos]
    shared = {name for name in names if names.count(name) > 1}
    return [fit_text(_with_folder(photo) if photo.name in shared else photo.name, width, band / 40,
                     max(1, round(band / 20))) for photo in photos]


def _with_folder(photo: Path) -> str:
    return f"{photo.parent.name}/{photo.name}" if photo.parent.name else str(photo)


def _shrunk(image: np.ndarray) -> np.ndarray:
    scale = TILE_SIDE / max(image.shape[:2])
    if scale >= 1:
        return image
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _result_tile(result: Path | None, written: bool, tile_w: int, tile_h: int) -> np.ndarray:
    if result is None or not result.is_file():
        return marked_tile(tile_w, tile_h, "not written")
    if not written and not is_rtstyle_result(result):  # kept as it may be a photo: not this style's result
        return marked_tile(tile_w, tile_h, "skipped\nname taken")
    image = try_read_image(result)
    if image is None:
        return marked_tile(tile_w, tile_h, "unreadable")
    return fit_tile(_shrunk(image), tile_w, tile_h)
