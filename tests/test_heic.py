"""HEIC / HEIF photos (an iPhone's default), read through the optional pillow-heif (`rtstyle[heic]`).

The test files are made here with pillow-heif's own encoder (x265): our pixels, written lossless where the test
compares them (4:4:4, quality -1), so a read is checked against the very pixels that went in.
"""

from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers import TURNS, assert_one_line_error, bgr, close, fake_icc, quadrants, run_cli

pillow_heif = pytest.importorskip("pillow_heif", reason='pillow-heif is not installed (pip install "rtstyle[heic]")')
needs_encoder = pytest.mark.skipif(not pillow_heif.libheif_info().get("HEIF"),
                                   reason="this pillow-heif wheel has no HEIF (x265) encoder to make test files")

EXIF_ORIENTATION = 0x0112


def save_heic(path: Path, rgb: np.ndarray, mode: str = "RGB", orientation: int | None = None,
              icc: bytes | None = None, more: tuple[np.ndarray, ...] = (), primary: int = 0, **options) -> None:
    """`rgb` (RGB, RGBA or 16-bit RGB) as a lossless HEIC; `orientation`: an EXIF orientation tag, which pillow-heif
    turns into the file's own irot / imir boxes (and keeps in the EXIF too, as an iPhone does)."""
    from PIL import Image

    heif = pillow_heif.from_bytes(mode, (rgb.shape[1], rgb.shape[0]), np.ascontiguousarray(rgb).tobytes())
    for other in more:
        heif.add_frombytes("RGB", (other.shape[1], other.shape[0]), np.ascontiguousarray(other).tobytes())
    if icc is not None:
        heif[0].info["icc_profile"] = icc
    extra = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = orientation
        extra["exif"] = exif.tobytes()
    heif.save(path, quality=-1, chroma=444, primary_index=primary, **extra, **options)


@needs_encoder
@pytest.mark.parametrize("orientation", sorted(TURNS))
def test_a_heic_is_read_upright_once_with_its_colours(tmp_path, orientation):
    from rtstyle.io.images import read_image, read_layout, try_read_image

    upright = quadrants()
    path = tmp_path / "IMG_0001.HEIC"
    save_heic(path, TURNS[orientation](upright), orientation=orientation)
    read = read_image(path)
    # libheif applies irot / imir; the EXIF tag saying the same turn is not applied again.
    assert read.dtype == np.uint8 and close(read, bgr(upright)), (read.shape, orientation)
    assert close(try_read_image(path), bgr(upright))
    layout = read_layout(path, shown=read)
    assert layout.alpha is None and layout.bits == 8


@needs_encoder
def test_a_heic_is_stylized_like_the_same_photo_as_png_into_a_jpeg_with_its_profile(tmp_path, small_style, capsys):
    from rtstyle.io.color_profile import read_color_profile

    upright = quadrants(72, 96)
    icc = fake_icc(600, seed=3)
    # As an iPhone stores it: a grid of tiles (512 px there) under a rotation, a Display-P3 profile (here: stand-in).
    save_heic(tmp_path / "IMG_0002.heic", TURNS[6](upright), orientation=6, icc=icc, tile_size=64)
    cv2.imwrite(str(tmp_path / "same.png"), bgr(upright))
    result = run_cli(["image", str(tmp_path / "IMG_0002.heic"), "-s", str(small_style)], capsys)
    assert result.exit_code == 0, result
    written = tmp_path / "IMG_0002_smallstyle.jpg"  # a JPEG: HEIC is read, never written
    assert result.out.strip() == str(written) and not (tmp_path / "IMG_0002_smallstyle.heic").exists()
    profile = read_color_profile(written)
    assert profile is not None and profile.icc == icc  # Display P3 stays P3
    run_cli(["image", str(tmp_path / "same.png"), "-s", str(small_style), "-o", str(tmp_path / "same.jpg")], capsys)
    assert close(cv2.imread(str(written)), cv2.imread(str(tmp_path / "same.jpg")), 3)


@needs_encoder
def test_a_10_bit_heic_is_read_at_8_bits_and_said(tmp_path, small_style, capsys):
    from rtstyle.io.images import read_image, read_layout

    deep = (quadrants().astype(np.uint16) * 257 + np.arange(48, dtype=np.uint16)[None, :, None])  # 16-bit, fine steps
    save_heic(tmp_path / "deep.heic", deep, mode="RGB;16")  # stored as 10 bits
    read = read_image(tmp_path / "deep.heic")
    assert read.dtype == np.uint8 and close(read, bgr((deep >> 8).astype(np.uint8)), 1)
    assert read_layout(tmp_path / "deep.heic", shown=read).bits == 10
    result = run_cli(["image", str(tmp_path / "deep.heic"), "-s", str(small_style)], capsys)
    assert result.exit_code == 0 and "1 photo had more than 8 bits per channel; its result has 8" in result.err


@needs_encoder
def test_a_heics_transparency_is_kept_where_the_result_holds_it(tmp_path, small_style, capsys):
    from rtstyle.io.images import read_image, read_layout

    rgba = np.dstack([quadrants(), np.tile(np.linspace(0, 255, 48).astype(np.uint8), (32, 1))])
    save_heic(tmp_path / "cut.heic", rgba, mode="RGBA")
    read = read_image(tmp_path / "cut.heic")
    alpha = read_layout(tmp_path / "cut.heic", shown=read).alpha
    assert alpha is not None and np.abs(alpha.astype(np.int16) - rgba[..., 3]).max() <= 2
    assert close(read[rgba[..., 3] > 0], bgr(rgba[..., :3])[rgba[..., 3] > 0])
    result = run_cli(["image", str(tmp_path / "cut.heic"), "-s", str(small_style), "-o", str(tmp_path / "cut.png")],
                     capsys)
    assert result.exit_code == 0, result
    written = cv2.imread(str(tmp_path / "cut.png"), cv2.IMREAD_UNCHANGED)
    assert written.shape == (32, 48, 4) and np.abs(written[..., 3].astype(np.int16) - rgba[..., 3]).max() <= 2


@needs_encoder
def test_only_the_primary_image_of_a_burst_is_stylized_and_said(tmp_path, small_style, capsys):
    from rtstyle.io.images import read_image

    shots = (quadrants(), np.full((32, 48, 3), 90, np.uint8), np.full((16, 16, 3), 200, np.uint8))
    save_heic(tmp_path / "burst.heic", shots[0], more=shots[1:], primary=1)
    assert close(read_image(tmp_path / "burst.heic"), bgr(shots[1]))
    result = run_cli(["image", str(tmp_path / "burst.heic"), "-s", str(small_style)], capsys)
    assert result.exit_code == 0 and "burst.heic holds 3 images: only its primary one is stylized" in result.err
    assert cv2.imread(str(tmp_path / "burst_smallstyle.jpg")).shape == (32, 48, 3)


@needs_encoder
def test_folders_pick_up_heic_and_avif_photos(tmp_path, small_style, capsys):
    from rtstyle.io.images import expand_image_inputs

    phone = tmp_path / "phone"
    (phone / "sub").mkdir(parents=True)
    save_heic(phone / "IMG_0001.HEIC", quadrants())
    save_heic(phone / "sub" / "IMG_0002.heif", quadrants(24, 24))
    cv2.imwrite(str(phone / "a.png"), bgr(quadrants(16, 16)))
    avif = cv2.haveImageWriter("x.avif")  # where OpenCV decodes AVIF: a single .avif was read, a folder's was not
    if avif:
        assert cv2.imwrite(str(phone / "web.avif"), bgr(quadrants(16, 24)))
    assert {p.name for p in expand_image_inputs([str(phone)])} == \
        {"IMG_0001.HEIC", "IMG_0002.heif", "a.png", *(["web.avif"] if avif else [])}
    result = run_cli(["image", str(phone), "-s", str(small_style), "-o", str(tmp_path / "out")], capsys)
    assert result.exit_code == 0 and f"wrote {4 if avif else 3} images" in result.err, result
    assert cv2.imread(str(tmp_path / "out" / "IMG_0001_smallstyle.jpg")).shape == (32, 48, 3)
    assert cv2.imread(str(tmp_path / "out" / "sub" / "IMG_0002_smallstyle.jpg")).shape == (24, 24, 3)
    assert not avif or (tmp_path / "out" / "web_smallstyle.png").is_file()
    assert "not supported" not in result.err + result.out


def test_heic_is_never_written_and_a_broken_one_is_one_line(tmp_path, small_style, photo, capsys):
    cv2.imwrite(str(tmp_path / "a.png"), photo[:24, :24])
    assert_one_line_error(run_cli(["image", str(tmp_path / "a.png"), "-s", str(small_style), "-o",
                                   str(tmp_path / "x.heic")], capsys),
                          "unsupported output image format '.heic' (read, never written): use one of .bmp, .jpeg, "
                          ".jpg, .png, .tif, .tiff, .webp")
    cv2.imwrite(str(tmp_path / "b.png"), photo[:24, :24])
    assert_one_line_error(run_cli(["image", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-s", str(small_style),
                                   "-o", str(tmp_path / "x.heic")], capsys),
                          f"a batch (a folder, a pattern or several photos) needs an output folder, not the file "
                          f"{tmp_path / 'x.heic'}")  # it made a folder named x.heic
    (tmp_path / "broken.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40)
    assert_one_line_error(run_cli(["image", str(tmp_path / "broken.heic"), "-s", str(small_style)], capsys),
                          "cannot read image (corrupt or unsupported format)")
