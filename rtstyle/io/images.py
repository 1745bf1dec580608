"""Read and write images as uint8 HxWx3 BGR arrays (OpenCV's layout, which every backend takes).

cv2.imread applies the EXIF orientation, so portrait phone photos come out upright. HEIC / HEIF photos are read
through pillow-heif when it is installed (rtstyle/io/heif.py), and written as JPEG.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import atomic_write_bytes
from rtstyle.io.color_profile import ColorProfile, embed_color_profile
from rtstyle.io.found_files import FoundFile, files_below, find_files
from rtstyle.io.heif import (
    HEIF_SUFFIXES, INSTALL_HEIF, heif_bits, heif_has_alpha, heif_image_count, heif_reader_installed, is_heif,
    is_heif_file, read_heif,
)
from rtstyle.io.isobmff import is_avif, primary_pixels, primary_properties, upright
from rtstyle.io.result_marker import with_result_mark

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})  # read and written
# Read, never written: a GIF's first frame (its result is PNG); AVIF where OpenCV was built with a decoder for it.
READ_ONLY_SUFFIXES = frozenset({".gif"} | ({".avif"} if cv2.haveImageWriter("x.avif") else set()))


#: Photo formats people have that are not read (OpenCV has no decoder for them): named in the message, with what
#: to do, instead of "corrupt or unsupported format" (an iPhone's photos are HEIC by default: read when
#: pillow-heif is installed).
UNSUPPORTED_FORMATS = {".heic": "HEIC", ".heif": "HEIF", ".hif": "HEIF", ".avif": "AVIF", ".dng": "camera raw",
                       ".cr2": "camera raw", ".cr3": "camera raw", ".nef": "camera raw", ".arw": "camera raw",
                       ".orf": "camera raw", ".raf": "camera raw", ".rw2": "camera raw", ".psd": "Photoshop"}
CONVERT_FIRST = "convert to JPEG or PNG first"
#: Video files, by name: train --content takes them, and `rtstyle image` points them to `rtstyle video`.
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".mts",
                            ".m2ts", ".3gp", ".flv", ".wmv"})


def is_image_path(path: Path) -> bool:
    """A format rtstyle reads and writes."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def is_input_image(path: Path) -> bool:
    """A format rtstyle reads photos from (folders and patterns find these)."""
    suffix = path.suffix.lower()
    return is_image_path(path) or suffix in READ_ONLY_SUFFIXES or (suffix in HEIF_SUFFIXES and heif_reader_installed())


def is_image_name(path: Path) -> bool:
    """A name in an image format rtstyle reads or writes: `-o x.heic` names a file (refused), not a folder."""
    suffix = path.suffix.lower()
    return suffix in IMAGE_SUFFIXES or suffix in READ_ONLY_SUFFIXES or suffix in HEIF_SUFFIXES


def unsupported_kind(path: Path) -> str | None:
    """The name of a photo format that is not read here ("HEIC" without pillow-heif), by the file's name."""
    suffix = path.suffix.lower()
    if is_input_image(path):
        return None
    return UNSUPPORTED_FORMATS.get(suffix)


def how_to_read(kinds: Iterable[str]) -> str:
    """What to do about photos of these unsupported formats: HEIC ones need only pillow-heif."""
    heif = {"HEIC", "HEIF"}
    kinds = set(kinds)
    if kinds and kinds <= heif:
        return f"{INSTALL_HEIF} reads them, or {CONVERT_FIRST}"
    if kinds & heif:
        return f"{CONVERT_FIRST}; {INSTALL_HEIF} reads HEIC"
    return CONVERT_FIRST


def result_suffix(path: Path) -> str:
    """The format a photo's result is written in: its own; JPEG for a HEIC (photos, not written here); PNG for the
    other formats that are read but not written (a GIF, AVIF)."""
    suffix = path.suffix.lower()
    if is_image_path(path):
        return path.suffix
    return ".jpg" if suffix in HEIF_SUFFIXES else ".png"


def frame_count(path: Path) -> int:
    """How many images a file holds (an animated GIF: its frames; a HEIC: a burst's shots); 1 when it cannot tell."""
    if is_heif_file(path):
        return heif_image_count(path)
    try:
        with quiet_opencv():  # OpenCV without a GIF decoder logs an error and counts 0
            count = int(cv2.imcount(str(path)))
    except (cv2.error, AttributeError):  # imcount is OpenCV 4.6+
        count = 0
    if count < 1:
        from rtstyle.io import gif  # imports PyAV: only for the GIF that OpenCV could not count

        with contextlib.suppress(OSError), open(path, "rb") as file:
            if gif.is_gif(file.read(6)):
                return gif.count_frames(path)
    return max(1, count)


# OpenCV refuses to decode an image whose header claims more pixels than this (CV_IO_MAX_IMAGE_PIXELS, its guard
# against decompression bombs); unreadable_reason says so rather than "corrupt".
OPENCV_MAX_PIXELS = 1 << 30

JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOF0..SOF15: the frame's size


def stored_pixels(path: Path) -> int | None:
    """Width x height from a JPEG's, PNG's, HEIC's or AVIF's header, without decoding it; None for other formats or a
    bad header.

    A batch's progress goes by pixels: a folder's 20-megapixel photo takes 100 times a 0.2-megapixel one's time."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(24)
            if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
                width, height = struct.unpack(">II", head[16:24])
                return width * height
            if head[4:8] == b"ftyp":  # HEIC, AVIF: the primary image's ispe
                fh.seek(0)
                return primary_pixels(fh)
            if not head.startswith(b"\xff\xd8"):
                return None
            fh.seek(2)
            while (marker := fh.read(2)) and marker[0] == 0xFF:
                length = struct.unpack(">H", fh.read(2))[0]
                if marker[1] in JPEG_FRAME_MARKERS:
                    height, width = struct.unpack(">xHH", fh.read(5))
                    return width * height
                fh.seek(length - 2, 1)
    except (OSError, ValueError, IndexError, struct.error):
        pass
    return None


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """OpenCV prints multi-line warnings to stderr (a camera index that does not exist, a TIFF it cannot decode);
    we say it in one line."""
    # OpenCV 5 keeps the log level in cv2.utils.logging, OpenCV 4 (from 4.10 on, as pyproject.toml allows) in cv2.
    logging = getattr(cv2.utils, "logging", cv2)
    get_level, set_level = getattr(logging, "getLogLevel"), getattr(logging, "setLogLevel")
    previous = get_level()
    set_level(getattr(logging, "LOG_LEVEL_SILENT", 0))  # OpenCV 4's silent level has no name in Python
    try:
        yield
    finally:
        set_level(previous)


def try_read_image(path: Path) -> np.ndarray | None:
    """The image as uint8 BGR, or None when the file is missing, unreadable or not an image."""
    try:
        # np.fromfile + imdecode handles non-ASCII paths that cv2.imread cannot open on Windows.
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    if is_heif(data[:64].tobytes()):  # by content: OpenCV has no HEIC decoder
        photo = read_heif(path)
        return photo.colours if photo is not None else None
    try:
        with quiet_opencv():
            image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error:  # a header over OPENCV_MAX_PIXELS (a decompression bomb) raises instead of giving None
        return None
    if image is None or image.size == 0:
        from rtstyle.io import gif  # imports PyAV: only for a file that OpenCV could not decode

        return gif.read_first_frame(path) if gif.is_gif(data[:6].tobytes()) else None
    if is_avif(data[:64].tobytes()):  # OpenCV decodes AVIF without its rotation and mirroring
        image = _avif_upright(path, image)
    return image


def _avif_upright(path: Path, image: np.ndarray) -> np.ndarray:
    """An AVIF's pixels turned as its irot / imir boxes say; as decoded when they cannot be read."""
    try:
        with open(path, "rb") as fh:
            return upright(image, primary_properties(fh))
    except (OSError, ValueError, IndexError, struct.error):
        return image


ALPHA_SUFFIXES = frozenset({".png", ".webp", ".tif", ".tiff", ".avif"})  # formats that keep transparency


@dataclass(frozen=True)
class StoredLayout:
    """What a photo file holds beyond its 8-bit colours: transparency, and how many bits each channel has."""

    alpha: np.ndarray | None = None  # uint8 HxW (8-bit scaled), None when the photo has none
    bits: int = 8  # 16 for a 16-bit PNG or TIFF, 32 for a float TIFF; the colours are read (and stylized) at 8


def read_layout(path: Path, shown: np.ndarray | None = None) -> StoredLayout:
    """The transparency and bit depth of a photo; plain 8-bit for formats that hold neither (JPEG, BMP).

    `shown`: the photo's colours as read (read_image), turned upright by its EXIF orientation; the alpha is turned
    the same way (it is read as stored), or left out when no turn makes the two agree. A HEIC's alpha comes upright
    with its colours."""
    if is_heif_file(path):
        photo = read_heif(path, with_alpha=True) if heif_has_alpha(path) else None
        return StoredLayout(photo.alpha if photo is not None else None, heif_bits(path))
    if Path(path).suffix.lower() not in ALPHA_SUFFIXES:
        return StoredLayout()
    try:
        with quiet_opencv():
            image = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except (OSError, cv2.error):
        return StoredLayout()
    if image is None:
        return StoredLayout()
    bits = 8 * image.dtype.itemsize
    if image.ndim != 3 or image.shape[2] != 4:
        return StoredLayout(None, bits)
    alpha = np.asarray(image[..., 3])
    if alpha.dtype == np.uint16:
        alpha = (alpha // 257).astype(np.uint8)
    elif alpha.dtype != np.uint8:
        return StoredLayout(None, bits)  # float alpha (rare TIFFs): left out
    return StoredLayout(alpha if shown is None else _turned_like(alpha, image[..., :3], shown), bits)


def _turned_like(alpha: np.ndarray, stored: np.ndarray, shown: np.ndarray) -> np.ndarray | None:
    """`alpha` turned and mirrored as the EXIF orientation turned the `stored` colours into the `shown` ones (one
    of the 8 turns a tag can ask for); None when none matches. A 180-degree tag kept the size, and the stored alpha
    made the visible half of a cut-out transparent and the hidden half visible."""
    small = (stored >> 8).astype(np.uint8) if stored.dtype == np.uint16 else stored
    best: tuple[float, np.ndarray] | None = None
    for mirrored in (False, True):
        for turns in range(4):
            colours = np.rot90(small[:, ::-1] if mirrored else small, turns)
            if colours.shape != shown.shape:
                continue
            difference = float(np.abs(colours.astype(np.int16) - shown).mean())
            if best is None or difference < best[0]:
                best = (difference, np.rot90(alpha[:, ::-1] if mirrored else alpha, turns))
            if difference == 0:
                break
        if best is not None and best[0] == 0:
            break
    return np.ascontiguousarray(best[1]) if best is not None and best[0] < 2 else None


def fill_transparent(frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """`frame` with its fully transparent pixels recoloured as a smooth extension of the visible ones (push-pull:
    the visible colours averaged down an image pyramid, and brought back up only where nothing is visible).

    What a file stores under transparency is arbitrary (black, white, leftovers), and the network sees it: a
    cut-out's edge against hidden black got a dark outline, against hidden white a pale wash, and the instance
    norm's statistics shifted the whole object's tone. Filled, the result depends only on what can be seen.
    """
    visible = (alpha > 0).astype(np.float32)
    if visible.all() or not visible.any():
        return frame
    sums: list[np.ndarray] = [frame.astype(np.float32) * visible[..., None]]
    weights: list[np.ndarray] = [visible]
    while max(weights[-1].shape) > 1:
        height, width = weights[-1].shape
        half = (max(1, width // 2), max(1, height // 2))
        sums.append(cv2.resize(sums[-1], half, interpolation=cv2.INTER_AREA).reshape(half[1], half[0], 3))
        weights.append(cv2.resize(weights[-1], half, interpolation=cv2.INTER_AREA).reshape(half[1], half[0]))
    filled = sums[-1] / np.maximum(weights[-1], 1e-6)[..., None]  # 1x1: the mean visible colour
    for level_sum, level_weight in zip(reversed(sums[:-1]), reversed(weights[:-1])):
        up = cv2.resize(filled, level_weight.shape[::-1], interpolation=cv2.INTER_LINEAR).reshape(level_sum.shape)
        seen = level_weight[..., None] > 0
        filled = np.where(seen, level_sum / np.maximum(level_weight, 1e-6)[..., None], up)
    out = frame.copy()
    hidden = alpha == 0
    out[hidden] = np.clip(np.rint(filled[hidden]), 0, 255).astype(np.uint8)
    return out


def read_image(path: Path, what: str = "image") -> np.ndarray:
    """The image as uint8 BGR; `what` names it in the error ("style image", ...)."""
    path = Path(path)
    if not path.exists():
        raise RtstyleError(f"{what} not found: {path}")
    if path.is_dir():
        raise RtstyleError(f"{what} is a directory, not an image: {path}")
    image = try_read_image(path)
    if image is None:
        raise RtstyleError(unreadable_reason(path, what))
    return image


def unreadable_reason(path: Path, what: str = "image") -> str:
    """Why a photo could not be read, as far as can be told without a decoder: empty, a format not supported, or
    neither (corrupt, or a format nothing here knows)."""
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            return f"{what} is an empty file (0 bytes): {path}"
    if path.suffix.lower() in VIDEO_SUFFIXES:
        hint = f" (`rtstyle video {path} -o OUT.mp4` stylizes it)" if what == "image" else ""  # not a painting's
        return f"cannot read {what} {path}: it is a video{hint}"
    pixels = stored_pixels(path)
    if pixels is not None and pixels > OPENCV_MAX_PIXELS:
        return (f"cannot read {what} {path}: its header says {pixels / 1e6:,.0f} Mpx, more than images are read at "
                f"({OPENCV_MAX_PIXELS / 1e6:,.0f} Mpx at most)")
    kind = unsupported_kind(path)
    if kind:
        return f"cannot read {what} {path}: {kind} photos are not supported here ({how_to_read([kind])})"
    return f"cannot read {what} (corrupt or unsupported format): {path}"


def unsupported_photos(folders: Iterable[Path]) -> dict[str, int]:
    """How many photos of each unsupported format the folders hold (as find_images walks folders), for a batch's
    closing line: a folder of iPhone photos said only 'no images found'."""
    counts: dict[str, int] = {}
    for folder in folders:
        for path in files_below(folder, lambda p: unsupported_kind(p) is not None):
            kind = UNSUPPORTED_FORMATS[path.suffix.lower()]
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def write_image(path: Path, image: np.ndarray, jpeg_quality: int = 95, profile: ColorProfile | None = None,
                overwrite: bool = True, result_of: str | None = None) -> None:
    """Encode by extension and write atomically (temp file + rename), with `profile` where the format holds one;
    `overwrite=False`: a file that appeared at `path` while the image was made is not replaced (an error);
    `result_of`: the style whose result this is, marked in the file (rtstyle.io.result_marker) so a later run
    knows it from a photo."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise RtstyleError(unwritable_format(suffix))
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if suffix in {".jpg", ".jpeg"} else \
        [cv2.IMWRITE_WEBP_QUALITY, jpeg_quality] if suffix == ".webp" else []  # OpenCV's WebP default is lossless
    ok, encoded = cv2.imencode(suffix, image, params)
    if not ok:
        raise RtstyleError(f"cannot encode image as {suffix}: {path}")
    data = embed_color_profile(encoded.tobytes(), suffix, profile)
    if result_of is not None:
        data = with_result_mark(data, suffix, result_of)
    atomic_write_bytes(path, data, overwrite)


def unwritable_format(suffix: str) -> str:
    """The error for an output name in a format rtstyle does not write (-o x.heic)."""
    read_only = " (read, never written)" if suffix.lower() in READ_ONLY_SUFFIXES | HEIF_SUFFIXES else ""
    return (f"unsupported output image format {suffix or '(none)'!r}{read_only}: use one of "
            f"{', '.join(sorted(IMAGE_SUFFIXES))}")


#: Where a photo was found (rtstyle.io.found_files).
FoundImage = FoundFile


def expand_image_inputs(inputs: Iterable[str]) -> list[Path]:
    """Files, folders (searched recursively) and glob patterns, in a stable order, without duplicates."""
    return [found.path for found in find_images(inputs)]


def find_images(inputs: Iterable[str]) -> list[FoundImage]:
    """Like `expand_image_inputs`, with where each image was found (so outputs can mirror the subfolders).
    Hidden files and folders are skipped (rtstyle.io.found_files.files_below)."""
    return find_files(inputs, is_input_image, _no_image_matches)


def _no_image_matches(pattern: str, files: list[Path]) -> RtstyleError:
    """A pattern that matched no photo; "*.HEIC" without pillow-heif: said why."""
    kinds = sorted({kind for p in files if (kind := unsupported_kind(p))})
    return RtstyleError(f"no images match {pattern!r}" + (
        f" ({' and '.join(kinds)} photos: not supported here, {how_to_read(kinds)})" if kinds else ""))
