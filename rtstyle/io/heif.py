"""HEIC / HEIF photos (an iPhone's default), read through the optional pillow-heif: `pip install "rtstyle[heic]"`.

libheif turns the pixels upright itself, by the file's own rotation and mirroring (its irot and imir boxes); the
EXIF orientation an iPhone also writes describes that same turn, so it is never applied on top (a portrait photo
came out lying on its side). Only the primary image is read: a burst's other shots, depth and gain maps are not.
Photos with more than 8 bits per channel (10-bit HEIC from newer iPhones) are read at 8, as 16-bit PNGs are.
pillow_heif is imported only when a HEIF file is read, so start-up without one costs nothing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

HEIF_SUFFIXES = frozenset({".heic", ".heif", ".hif"})  # .hif: Canon's and Fujifilm's HEIF
INSTALL_HEIF = 'pip install "rtstyle[heic]"'
# ftyp brands of HEVC-coded HEIF files (mif1 / msf1 alone are any HEIF, AVIF included: an avif brand rules it out).
HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
ANY_HEIF_BRANDS = HEVC_BRANDS | {b"mif1", b"msf1"}
AV1_BRANDS = frozenset({b"avif", b"avis"})
# What pillow-heif raises on a file libheif cannot read (its documented list).
HEIF_ERRORS = (ValueError, EOFError, SyntaxError, RuntimeError, OSError)


def is_heif(head: bytes) -> bool:
    """Whether a file's first bytes are a HEIF (HEVC) container's ftyp box; AVIF (AV1 in the same container) is not:
    OpenCV reads that."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    end = min(int.from_bytes(head[:4], "big"), len(head))
    brands = {head[8:12], *(head[i:i + 4] for i in range(16, end - 3, 4))}  # the major and the compatible ones
    return bool(brands & ANY_HEIF_BRANDS) and not brands & AV1_BRANDS


def is_heif_file(path: Path) -> bool:
    """A HEIF file by its content (a .jpg that is a HEIC counts), or by its name when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return is_heif(fh.read(64))
    except OSError:
        return Path(path).suffix.lower() in HEIF_SUFFIXES


@functools.cache
def heif_reader_installed() -> bool:
    """pillow-heif can be imported (asked only when a HEIF file is met: the import takes a moment)."""
    try:
        import pillow_heif  # noqa: F401
    except ImportError:  # not installed, or a wheel whose libraries do not load here: as if not installed
        return False
    return True


@dataclass(frozen=True)
class HeifPhoto:
    colours: np.ndarray  # uint8 HxWx3 BGR, upright
    alpha: np.ndarray | None  # uint8 HxW, upright like the colours; None without an alpha channel


def _open(source: Path | IO[bytes]) -> Any | None:
    """The file's HeifFile (its container parsed, nothing decoded yet), or None: no pillow-heif, or not readable."""
    if not heif_reader_installed():
        return None
    import pillow_heif

    try:
        return pillow_heif.open_heif(source, convert_hdr_to_8bit=True)
    except HEIF_ERRORS:
        return None


def read_heif(path: Path, with_alpha: bool = False) -> HeifPhoto | None:
    """The primary image, decoded at 8 bits per channel; None when it cannot be read (or pillow-heif is missing).
    `with_alpha`: keep the alpha channel (None when it has none)."""
    heif = _open(path)
    if heif is None:
        return None
    try:
        # Pillow undoes premultiplied alpha ("RGBa") and spreads grey ("L") over three channels.
        image = heif.to_pillow()
        has_alpha = bool(heif.has_alpha)
        rgb = np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    except (*HEIF_ERRORS, MemoryError):
        return None
    colours = np.ascontiguousarray(rgb[..., 2::-1])  # RGB(A) -> BGR
    return HeifPhoto(colours, np.ascontiguousarray(rgb[..., 3]) if has_alpha and with_alpha else None)


def heif_bits(path: Path) -> int:
    """Bits per channel as stored (10 for a newer iPhone's HEIC); 8 when it cannot be read."""
    heif = _open(path)
    return int(heif.info.get("bit_depth", 8)) if heif is not None else 8


def heif_has_alpha(path: Path) -> bool:
    heif = _open(path)
    return heif is not None and bool(heif.has_alpha)


def heif_image_count(path: Path) -> int:
    """How many top-level images the file holds (a burst's shots); depth and gain maps are not counted."""
    heif = _open(path)
    return max(1, len(heif)) if heif is not None else 1


def heif_icc(fh: IO[bytes]) -> bytes | None:
    """The primary image's ICC profile (Display P3 on an iPhone); None without one or without pillow-heif.
    A profile given only as colour primaries (nclx) is not turned into ICC: such a result is untagged."""
    heif = _open(fh)
    if heif is None:
        return None
    icc = heif.info.get("icc_profile")
    return bytes(icc) if icc and heif.info.get("icc_profile_type", "prof") in ("prof", "rICC") else None
