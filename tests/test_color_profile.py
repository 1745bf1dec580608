"""Colour profiles: read from photos, written into results (JPEG, PNG, WebP, TIFF), never a crash on bad ones."""

import io
import struct
import zlib

import cv2
import numpy as np
import pytest

from helpers import fake_icc
from rtstyle.io.color_profile import (
    JPEG_ICC_CHUNK,
    ColorProfile,
    embed_color_profile,
    profile_from_file,
    read_color_profile,
)


def pixels(alpha: bool = False) -> np.ndarray:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (24, 36, 4 if alpha else 3), np.uint8)
    if alpha:
        image[:, :18, 3] = 0
    return image


def encode(suffix: str, image: np.ndarray, params: list[int] | None = None) -> bytes:
    params = params if params is not None else \
        [cv2.IMWRITE_JPEG_QUALITY, 95] if suffix == ".jpg" else [cv2.IMWRITE_WEBP_QUALITY, 95] if suffix == ".webp" else []
    ok, data = cv2.imencode(suffix, image, params)
    assert ok
    return data.tobytes()


def profile_of(data: bytes) -> ColorProfile:
    return profile_from_file(io.BytesIO(data))


def decoded(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


# Every form OpenCV writes: lossy WebP is VP8, or VP8X + ALPH + VP8 with alpha; lossless is VP8L.
FORMS = [(".jpg", False, None), (".png", False, None), (".png", True, None), (".webp", False, None),
         (".webp", True, None), (".webp", False, [cv2.IMWRITE_WEBP_QUALITY, 101]),
         (".webp", True, [cv2.IMWRITE_WEBP_QUALITY, 101]), (".tiff", False, None), (".tiff", True, None)]


@pytest.mark.parametrize("suffix,alpha,params", FORMS)
def test_a_profile_written_into_each_format_reads_back_and_leaves_the_pixels(suffix, alpha, params):
    icc = fake_icc()
    plain = encode(suffix, pixels(alpha), params)
    tagged = embed_color_profile(plain, suffix, ColorProfile(icc=icc))
    assert tagged != plain
    assert profile_of(tagged).icc == icc
    assert profile_of(plain).icc is None
    assert np.array_equal(decoded(tagged), decoded(plain))  # OpenCV decodes it as before


@pytest.mark.parametrize("suffix,alpha,params", FORMS)
def test_pillow_reads_the_profiles_written(suffix, alpha, params):
    """An independent reader agrees (Pillow, where installed: it is no dependency of rtstyle)."""
    image_module = pytest.importorskip("PIL.Image")
    icc = fake_icc(900, seed=3)
    tagged = embed_color_profile(encode(suffix, pixels(alpha), params), suffix, ColorProfile(icc=icc))
    with image_module.open(io.BytesIO(tagged)) as img:
        assert img.info.get("icc_profile") == icc
        img.load()
        assert img.size == (36, 24)
        assert ("A" in img.mode) == alpha


def test_a_large_profile_is_split_over_numbered_jpeg_segments():
    icc = fake_icc(3 * JPEG_ICC_CHUNK + 1000, seed=2)
    tagged = embed_color_profile(encode(".jpg", pixels()), ".jpg", ColorProfile(icc=icc))
    assert tagged.count(b"\xff\xe2") >= 4 and tagged.count(b"ICC_PROFILE\x00") == 4
    segments = [tagged[i - 4:i + 14] for i in range(len(tagged)) if tagged.startswith(b"ICC_PROFILE\x00", i)]
    assert [(s[-2], s[-1]) for s in segments] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert all(struct.unpack(">H", s[2:4])[0] <= 65535 for s in segments)
    assert tagged[2:4] == b"\xff\xe0"  # JFIF's APP0 stays right after SOI
    assert profile_of(tagged).icc == icc
    assert np.array_equal(decoded(tagged), decoded(encode(".jpg", pixels())))


def jpeg_with_segments(payloads: list[bytes]) -> bytes:
    """A JPEG built by hand (not by the writer under test): APP2 segments with the given payloads after SOI."""
    plain = encode(".jpg", pixels())
    return plain[:2] + b"".join(b"\xff\xe2" + struct.pack(">H", 2 + len(p)) + p for p in payloads) + plain[2:]


def test_segments_in_any_order_are_joined_by_their_numbers():
    icc = fake_icc(1000)
    parts = [icc[:300], icc[300:700], icc[700:]]
    payloads = [b"ICC_PROFILE\x00" + bytes([n, 3]) + parts[n - 1] for n in (2, 3, 1)]
    assert profile_of(jpeg_with_segments(payloads)).icc == icc


def png_with_chunks(chunks: list[tuple[bytes, bytes]], crc_ok: bool = True) -> bytes:
    """A PNG built by hand: the given chunks after IHDR."""
    plain = encode(".png", pixels())
    made = b"".join(struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d) ^ (0 if crc_ok else 1))
                    for k, d in chunks)
    return plain[:33] + made + plain[33:]


def test_png_profiles_made_by_hand_are_read():
    icc = fake_icc(700)
    profile = profile_of(png_with_chunks([(b"iCCP", b"Display P3\x00\x00" + zlib.compress(icc)),
                                          (b"gAMA", struct.pack(">I", 45455))]))
    assert profile.icc == icc and profile.png_chunks == ((b"gAMA", struct.pack(">I", 45455)),)


def test_png_srgb_gama_chrm_are_kept_and_srgb_gives_way_to_an_icc_profile():
    srgb, gama, chrm = (b"sRGB", b"\x00"), (b"gAMA", struct.pack(">I", 100000)), (b"cHRM", bytes(range(32)))
    source = png_with_chunks([srgb, gama, chrm])
    profile = profile_of(source)
    assert profile.icc is None and profile.png_chunks == (srgb, gama, chrm)
    result = embed_color_profile(encode(".png", pixels()), ".png", profile)
    assert profile_of(result) == profile
    both = embed_color_profile(encode(".png", pixels()), ".png", ColorProfile(fake_icc(), (srgb, gama)))
    assert profile_of(both) == ColorProfile(fake_icc(), (gama,))
    # Only an ICC profile crosses formats: JPEG has no gAMA.
    assert embed_color_profile(plain := encode(".jpg", pixels()), ".jpg", profile) == plain


def test_profiles_cross_formats():
    icc = fake_icc(2000, seed=5)
    for source in (".jpg", ".png", ".webp", ".tiff"):
        profile = profile_of(embed_color_profile(encode(source, pixels()), source, ColorProfile(icc=icc)))
        for target in (".jpg", ".png", ".webp", ".tiff"):
            assert profile_of(embed_color_profile(encode(target, pixels()), target, profile)).icc == icc
        plain_bmp = encode(".bmp", pixels())
        assert embed_color_profile(plain_bmp, ".bmp", profile) == plain_bmp


BAD_PROFILES = {
    "not RGB (a CMYK profile on what becomes an RGB result)": fake_icc(space=b"CMYK"),
    "a device link": fake_icc(kind=b"link"),
    "no acsp signature": fake_icc()[:36] + b"xxxx" + fake_icc()[40:],
    "a size larger than the data": struct.pack(">I", 5000) + fake_icc()[4:],
    "a size smaller than a header": struct.pack(">I", 20) + fake_icc()[4:],
    "too short": fake_icc()[:100],
}


@pytest.mark.parametrize("why", sorted(BAD_PROFILES))
def test_implausible_profiles_are_skipped(why):
    bad = BAD_PROFILES[why]
    segment = b"ICC_PROFILE\x00\x01\x01" + bad
    assert profile_of(jpeg_with_segments([segment])).icc is None
    assert profile_of(png_with_chunks([(b"iCCP", b"p\x00\x00" + zlib.compress(bad))])).icc is None


def test_a_padded_profile_is_cut_to_the_size_its_header_gives():
    icc = fake_icc(600)
    assert profile_of(jpeg_with_segments([b"ICC_PROFILE\x00\x01\x01" + icc + b"\x00\x00"])).icc == icc


def test_incomplete_or_damaged_profiles_are_skipped():
    icc = fake_icc(1000)
    head, tail = b"ICC_PROFILE\x00\x01\x02" + icc[:500], b"ICC_PROFILE\x00\x02\x02" + icc[500:]
    assert profile_of(jpeg_with_segments([head])).icc is None  # segment 2 of 2 missing
    assert profile_of(jpeg_with_segments([head, head, tail])).icc is None  # segment 1 twice
    assert profile_of(jpeg_with_segments([head, b"ICC_PROFILE\x00\x02\x03" + icc[500:]])).icc is None  # 2 or 3?
    assert profile_of(jpeg_with_segments([b"ICC_PROFILE\x00\x00\x00"])).icc is None
    iccp = (b"iCCP", b"p\x00\x00" + zlib.compress(icc))
    assert profile_of(png_with_chunks([iccp], crc_ok=False)).icc is None  # bad CRC
    assert profile_of(png_with_chunks([(b"iCCP", b"p\x00\x00" + b"not zlib")])).icc is None
    assert profile_of(png_with_chunks([(b"iCCP", b"p\x00\x00" + zlib.compress(icc)[:-5])])).icc is None
    assert profile_of(png_with_chunks([(b"iCCP", b"\x00\x00" + zlib.compress(icc))])).icc is None  # no name
    assert profile_of(png_with_chunks([(b"gAMA", b"\x00\x01")])).png_chunks == ()  # wrong length


def test_a_decompression_bomb_is_not_inflated():
    bomb = zlib.compress(b"\x00" * (64 * 1024 * 1024), 9)  # 64 MiB of zeros in about 64 KiB
    assert profile_of(png_with_chunks([(b"iCCP", b"p\x00\x00" + bomb)])).icc is None


def test_damaged_files_never_raise(tmp_path):
    """Every truncation and many byte flips of tagged files: read_color_profile answers, it never raises."""
    rng = np.random.default_rng(7)
    icc = fake_icc(1500)
    for suffix in (".jpg", ".png", ".webp", ".tiff"):
        tagged = embed_color_profile(encode(suffix, pixels()), suffix, ColorProfile(icc=icc))
        damaged = [tagged[:n] for n in range(0, len(tagged), 7)]
        for _ in range(300):
            flipped = bytearray(tagged)
            for at in rng.integers(0, min(len(tagged), 2000), 3):
                flipped[at] = int(rng.integers(0, 256))
            damaged.append(bytes(flipped))
        for i, data in enumerate(damaged):
            path = tmp_path / f"d{i}{suffix}"
            path.write_bytes(data)
            profile = read_color_profile(path)
            assert profile is None or isinstance(profile, ColorProfile)
            path.unlink()
    assert read_color_profile(tmp_path / "missing.jpg") is None
    assert read_color_profile(tmp_path) is None  # a folder


def test_files_without_profiles_read_as_none(tmp_path):
    for suffix in (".jpg", ".png", ".webp", ".tiff", ".bmp"):
        (tmp_path / f"p{suffix}").write_bytes(encode(suffix, pixels()))
        assert read_color_profile(tmp_path / f"p{suffix}") is None
    (tmp_path / "empty.png").write_bytes(b"")
    assert read_color_profile(tmp_path / "empty.png") is None


def test_profiles_in_files_pillow_wrote_are_read(tmp_path):
    """Files from an independent writer: Pillow's JPEG (a large profile over several segments), PNG, WebP, TIFF."""
    image_module = pytest.importorskip("PIL.Image")
    img = image_module.fromarray(pixels()[..., ::-1].copy())
    for size in (588, 150_000):
        icc = fake_icc(size, seed=size)
        for suffix in (".jpg", ".png", ".webp", ".tiff"):
            path = tmp_path / f"pil{size}{suffix}"
            img.save(path, icc_profile=icc)
            profile = read_color_profile(path)
            assert profile is not None and profile.icc == icc, (size, suffix)


def test_an_avifs_profile_is_read_and_a_damaged_avif_never_raises(tmp_path):
    """OpenCV decodes AVIF but drops its profile: a Display-P3 AVIF's result came out untagged."""
    image_module = pytest.importorskip("PIL.Image")
    features = pytest.importorskip("PIL.features")
    if not features.check("avif"):
        pytest.skip("this Pillow writes no AVIF (the test's independent writer)")
    img = image_module.fromarray(pixels()[..., ::-1].copy())
    icc = fake_icc(900, seed=11)
    img.save(tmp_path / "p.avif", icc_profile=icc)
    img.save(tmp_path / "plain.avif")
    assert read_color_profile(tmp_path / "p.avif") == ColorProfile(icc=icc)
    assert read_color_profile(tmp_path / "plain.avif") is None
    tagged = (tmp_path / "p.avif").read_bytes()
    rng = np.random.default_rng(5)
    damaged = [tagged[:n] for n in range(0, min(len(tagged), 1500), 3)]
    for _ in range(300):
        flipped = bytearray(tagged)
        for at in rng.integers(0, min(len(tagged), 600), 3):
            flipped[at] = int(rng.integers(0, 256))
        damaged.append(bytes(flipped))
    for data in damaged:
        (tmp_path / "d.avif").write_bytes(data)
        profile = read_color_profile(tmp_path / "d.avif")
        assert profile is None or isinstance(profile, ColorProfile)
