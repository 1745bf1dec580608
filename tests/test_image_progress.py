"""A batch's progress goes by pixels, read from the photos' headers, so its time left holds for mixed sizes."""

from __future__ import annotations

import cv2
import numpy as np

from rtstyle.cli.image_cmd import progress_weights
from rtstyle.io.images import stored_pixels


def test_pixels_come_from_jpeg_and_png_headers_and_nothing_is_guessed_for_others(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (37, 53, 3), np.uint8)
    cases = {"a.jpg": [], "progressive.jpg": [cv2.IMWRITE_JPEG_PROGRESSIVE, 1], "a.png": [], "a.webp": []}
    for name, params in cases.items():
        assert cv2.imwrite(str(tmp_path / name), image, params)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00")
    (tmp_path / "text.png").write_text("not a photo")
    assert [stored_pixels(tmp_path / n) for n in cases] == [37 * 53, 37 * 53, 37 * 53, None]
    assert stored_pixels(tmp_path / "broken.jpg") is None and stored_pixels(tmp_path / "text.png") is None
    assert stored_pixels(tmp_path / "missing.jpg") is None


def test_pixels_come_from_heic_and_avif_headers(tmp_path):
    """A folder of phone photos mixes 12- and 48-megapixel HEICs: their sizes are in the meta box (ispe)."""
    import pytest

    written = 0
    image = np.random.default_rng(0).integers(0, 255, (40, 72, 3), np.uint8)
    try:
        import pillow_heif

        # a grid of tiles, as an iPhone writes it: the primary (grid) item's size, not a tile's
        pillow_heif.from_bytes("RGB", (72, 40), image.tobytes()).save(tmp_path / "a.heic", tile_size=64)
        assert stored_pixels(tmp_path / "a.heic") == 40 * 72
        written += 1
    except (ImportError, RuntimeError):  # no pillow-heif, or a wheel without an encoder
        pass
    if cv2.haveImageWriter("x.avif"):
        assert cv2.imwrite(str(tmp_path / "a.avif"), image)
        assert stored_pixels(tmp_path / "a.avif") == 40 * 72
        written += 1
    (tmp_path / "broken.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x00\x30meta")
    assert stored_pixels(tmp_path / "broken.heic") is None
    if not written:
        pytest.skip("neither pillow-heif nor OpenCV writes a HEIF-family file here")


def test_a_photo_of_unknown_size_counts_as_the_mean_of_the_others(tmp_path):
    small, large = np.zeros((10, 10, 3), np.uint8), np.zeros((100, 300, 3), np.uint8)
    paths = [tmp_path / "small.png", tmp_path / "large.jpg", tmp_path / "other.webp"]
    for path, image in zip(paths, (small, large, small), strict=True):
        cv2.imwrite(str(path), image)
    assert progress_weights(paths) == [100, 30000, 15050]
    assert progress_weights([paths[2]]) == [1]
