"""Words drawn on pictures (contact sheets, the webcam's panel) in a font that has their letters.

OpenCV's Hershey fonts draw ASCII only: a photo named café.jpg or 東京.jpg was labelled caf?.jpg or ??.jpg.
OpenCV 5 draws TrueType fonts (cv2.FontFace) and bundles a sans-serif one with Latin and Cyrillic letters; for other
scripts (Greek, CJK, Hebrew, ...) a font of the system that has them is used, the first of a few well-known ones
that has every letter, else fontconfig's pick. Where OpenCV is older (4.x), the Hershey font draws as before.
Sizes are given as Hershey scales (`scale` 1 is 27 px tall), so layouts stay the same with either.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rtstyle.io.unicode_names import drawable

HERSHEY = cv2.FONT_HERSHEY_SIMPLEX
PX_PER_SCALE = 27  # OpenCV's sans at 27 px is as tall (27 px above the baseline) and wide as Hershey simplex at 1
REGULAR, BOLD = 400, 600  # FontFace weights for Hershey's thickness 1 and thicker

# Fonts that cover scripts OpenCV's own lacks, where the systems put them (first match wins, so the broadest first).
SYSTEM_FONTS = (
    # Linux: Noto CJK (Debian/Ubuntu, Fedora, Arch), Droid Sans Fallback, DejaVu Sans (Greek, Hebrew, Arabic)
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    # macOS
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/System/Library/Fonts/AppleSDGothicNeo.ttc",
    # Windows
    os.path.join(os.environ.get("WINDIR", r"C:\Windows"), "Fonts", "msyh.ttc"),
    os.path.join(os.environ.get("WINDIR", r"C:\Windows"), "Fonts", "meiryo.ttc"),
    os.path.join(os.environ.get("WINDIR", r"C:\Windows"), "Fonts", "malgun.ttf"),
    os.path.join(os.environ.get("WINDIR", r"C:\Windows"), "Fonts", "segoeui.ttf"),
)


def truetype_available() -> bool:
    """Whether this OpenCV draws TrueType fonts (5.0 and later)."""
    return hasattr(cv2, "FontFace")


@functools.cache
def _font(path: str) -> Any:
    """The cv2.FontFace of a font file ("sans": OpenCV's own), loaded once."""
    return cv2.FontFace(path)


@functools.cache
def _glyph(path: str, char: str) -> bytes:
    canvas = np.zeros((48, 64), np.uint8)
    cv2.putText(canvas, char, (8, 34), 255, _font(path), 24)
    return canvas.tobytes()


def has_letter(path: str, char: str) -> bool:
    """Whether the font draws `char` itself: OpenCV draws '?' for a letter the font lacks (and its own font for a
    file it cannot read, so such a file counts as that)."""
    if char == "?":
        return True
    return _glyph(path, char) != _glyph(path, "?") and any(_glyph(path, char))


@functools.cache
def _fontconfig_pick(char: str) -> str | None:
    """The font fontconfig (Linux, and macOS with Homebrew's) names for `char`, if there is such a tool."""
    tool = shutil.which("fc-match")
    if tool is None or sys.platform == "win32":
        return None
    try:
        found = subprocess.run([tool, "--format=%{file}", f":charset={ord(char):x}"], capture_output=True,
                               text=True, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return found or None


@functools.cache
def _size_factor(path: str) -> float:
    """How much larger to draw a font so that its letters are as large as OpenCV's sans's at the same size (Noto
    CJK draws Latin letters a quarter narrower at the same px size, and its own as small)."""
    width = lambda font: cv2.getTextSize((0, 0), "Hxa", (0, 0), _font(font), 100)[2]  # noqa: E731
    return float(np.clip(width("sans") / max(1, width(path)), 0.8, 1.5))


def _font_and_size(text: str, scale: float) -> tuple[Any, int]:
    path = font_for(text)
    return _font(path), max(1, round(scale * PX_PER_SCALE * _size_factor(path)))


@functools.lru_cache(maxsize=4096)  # bounded: the webcam's panel draws new numbers every frame
def font_for(text: str) -> str:
    """The font to draw `text` in: OpenCV's own where it has every letter, else the first system font that does,
    else the one that has the most (the rest are drawn as '?')."""
    if text.isascii():
        return "sans"
    letters = sorted({c for c in text if not c.isspace()})
    candidates = ["sans", *(p for p in SYSTEM_FONTS if Path(p).is_file())]
    best, best_count = "sans", -1
    for index, path in enumerate(candidates):
        count = sum(has_letter(path, c) for c in letters)
        if count == len(letters):
            return path
        if count > best_count:
            best, best_count = path, count
        if index == 0:  # fontconfig knows the fonts the well-known paths miss: ask it about the first letter lacking
            lacking = next(c for c in letters if not has_letter(path, c))
            picked = _fontconfig_pick(lacking)
            if picked and picked not in candidates and Path(picked).is_file():
                candidates.insert(1, picked)
    return best


def text_size(text: str, scale: float, thickness: int = 1) -> tuple[int, int]:
    """(width, height above the baseline) in px of `text` drawn by `put_text` at this scale."""
    text = drawable(text)
    if not truetype_available():
        (width, height), _ = cv2.getTextSize(text, HERSHEY, scale, thickness)
        return width, height
    font, size = _font_and_size(text, scale)
    x, _, width, _ = cv2.getTextSize((0, 0), text, (0, 0), font, size, BOLD if thickness > 1 else REGULAR)
    # The height is the size OpenCV's sans is drawn at, whatever the letters and font, as Hershey's is: lines of
    # a panel stay evenly spaced when one of them needs another font.
    return x + width, max(1, round(scale * PX_PER_SCALE))


def put_text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float, colour: tuple[int, int, int],
             thickness: int = 1) -> None:
    """Draw `text` on `image` in place, its baseline starting at `origin`, antialiased."""
    text = drawable(text)
    if not truetype_available():
        cv2.putText(image, text, origin, HERSHEY, scale, colour, thickness, cv2.LINE_AA)
        return
    font, size = _font_and_size(text, scale)
    cv2.putText(image, text, origin, colour, font, size, BOLD if thickness > 1 else REGULAR)
