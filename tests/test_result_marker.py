"""The mark `rtstyle image` puts in its results (rtstyle.io.result_marker): written into every format it writes,
read back from the headers, invisible to the pixels, the colour profile and the transparency."""

import io
import struct
import zlib

import cv2
import numpy as np
import pytest

from helpers import fake_icc
from rtstyle.io.color_profile import ColorProfile, embed_color_profile, profile_from_file
from rtstyle.io.images import write_image
from rtstyle.io.result_marker import mark_text, read_result_mark, with_result_mark

# Every form OpenCV writes: lossy WebP is VP8, or VP8X + ALPH + VP8 with alpha; lossless is VP8L.
FORMS = [(".jpg", False, None), (".png", False, None), (".png", True, None), (".webp", False, None),
         (".webp", True, None), (".webp", False, [cv2.IMWRITE_WEBP_QUALITY, 101]),
         (".webp", True, [cv2.IMWRITE_WEBP_QUALITY, 101]), (".tiff", False, None), (".tiff", True, None)]


def pixels(alpha: bool = False) -> np.ndarray:
    image = np.random.default_rng(2).integers(0, 256, (24, 36, 4 if alpha else 3), np.uint8)
    if alpha:
        image[:, :18, 3] = 0
    return image


def encode(suffix: str, image: np.ndarray, params: list[int] | None) -> bytes:
    ok, data = cv2.imencode(suffix, image, params or [])
    assert ok
    return data.tobytes()


def decoded(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def stored(tmp_path, data: bytes, suffix: str):
    path = tmp_path / f"r{suffix}"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("with_profile", [False, True])
@pytest.mark.parametrize("suffix,alpha,params", FORMS)
def test_the_mark_reads_back_from_each_format_and_changes_nothing_else(tmp_path, suffix, alpha, params,
                                                                       with_profile):
    icc = fake_icc()
    plain = embed_color_profile(encode(suffix, pixels(alpha), params), suffix,
                                ColorProfile(icc=icc) if with_profile else None)
    marked = with_result_mark(plain, suffix, "candy")
    assert marked != plain
    assert read_result_mark(stored(tmp_path, marked, suffix)) == "rtstyle result, style candy"
    assert read_result_mark(stored(tmp_path, plain, suffix)) is None
    assert np.array_equal(decoded(marked), decoded(plain))  # OpenCV decodes the same pixels, alpha included
    assert profile_from_file(io.BytesIO(marked)).icc == (icc if with_profile else None)


@pytest.mark.parametrize("suffix,alpha,params", FORMS)
def test_pillow_reads_marked_results_with_their_profile_and_transparency(suffix, alpha, params):
    """An independent reader: the file stays valid, and shows the mark where viewers look for such text."""
    image_module = pytest.importorskip("PIL.Image")
    icc = fake_icc(900, seed=3)
    plain = embed_color_profile(encode(suffix, pixels(alpha), params), suffix, ColorProfile(icc=icc))
    marked = with_result_mark(plain, suffix, "candy")
    with image_module.open(io.BytesIO(marked)) as img:
        img.load()
        assert img.size == (36, 24) and ("A" in img.mode) == alpha
        assert img.info.get("icc_profile") == icc
        text = {".jpg": lambda: img.info.get("comment"), ".png": lambda: img.info.get("Software"),
                ".webp": lambda: img.info.get("xmp"), ".tiff": lambda: img.getexif().get(305)}[suffix]()
        assert mark_text("candy") in (text.decode() if isinstance(text, bytes) else text)


def test_write_image_marks_only_results(tmp_path):
    image = pixels()
    for suffix in (".jpg", ".png", ".webp", ".tif"):
        write_image(tmp_path / f"result{suffix}", image, result_of="candy")
        write_image(tmp_path / f"other{suffix}", image)  # a contact sheet, a webcam snapshot: not a result
        assert read_result_mark(tmp_path / f"result{suffix}") == "rtstyle result, style candy"
        assert read_result_mark(tmp_path / f"other{suffix}") is None
    write_image(tmp_path / "result.bmp", image, result_of="candy")  # BMP holds no text: unmarked, still written
    assert read_result_mark(tmp_path / "result.bmp") is None
    assert cv2.imread(str(tmp_path / "result.bmp")) is not None


def test_a_style_name_is_kept_to_plain_text():
    assert mark_text('my "odd" <style> é') == "rtstyle result, style my ?odd? ?style? ?"


def png_with_text(data: bytes, crc_ok: bool = True) -> bytes:
    plain = encode(".png", pixels(), None)
    crc = zlib.crc32(b"tEXt" + data) ^ (0 if crc_ok else 1)
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", crc)
    return plain[:33] + chunk + plain[33:]


def test_other_software_and_damaged_files_are_not_marked(tmp_path):
    assert read_result_mark(stored(tmp_path, png_with_text(b"Software\x00GIMP 2.10"), ".png")) is None
    assert read_result_mark(stored(tmp_path, png_with_text(b"Comment\x00rtstyle result"), ".png")) is None
    damaged = png_with_text(b"Software\x00rtstyle result", crc_ok=False)
    assert read_result_mark(stored(tmp_path, damaged, ".png")) is None
    assert read_result_mark(stored(tmp_path, png_with_text(b"Software\x00rtstyle result"), ".png")) == "rtstyle result"
    for suffix in (".jpg", ".png", ".webp", ".tiff"):
        marked = with_result_mark(encode(suffix, pixels(), None), suffix, "candy")
        for cut in (3, 20, 40, len(marked) // 2):
            assert read_result_mark(stored(tmp_path, marked[:cut], suffix)) in (None, "rtstyle result, style candy")
    assert read_result_mark(tmp_path / "missing.png") is None
    assert read_result_mark(stored(tmp_path, b"", ".jpg")) is None
    assert with_result_mark(b"not an image", ".png", "candy") == b"not an image"  # unmarked, never an error
