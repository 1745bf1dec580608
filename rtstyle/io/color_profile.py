"""A photo's colour profile, read from its file and written into a result's encoded bytes.

OpenCV neither reads nor writes ICC profiles, so a Display-P3 phone photo would come out as an untagged file that
viewers show as sRGB (the colours shift). The stylized pixels keep the photo's encoding, so the result carries the
photo's profile:

  JPEG  APP2 "ICC_PROFILE" segments (split over several when large, with sequence numbers)
  PNG   the iCCP chunk, and the sRGB, gAMA and cHRM chunks (sRGB only without an ICC profile, as the PNG spec asks)
  WebP  the ICCP chunk, in a VP8X (extended) container
  TIFF  tag 34675 (InterColorProfile) in the first IFD
  HEIC  the primary image's colr box, through pillow-heif (read only: HEIC results are JPEG)
  AVIF  the primary image's colr box in the meta box, read here (OpenCV decodes AVIF, but drops its profile)

A profile is carried across formats where the result's format holds one (PNG -> JPEG keeps the ICC profile; gAMA
and cHRM have no JPEG or WebP equivalent and are left out). BMP results get none. Reading never raises: a
truncated, corrupt or implausible profile (not an RGB profile, sizes that disagree) is skipped, as if absent.
Only the file's headers are read (the segments and chunks before the image data), not the whole file.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rtstyle.io.heif import heif_icc, is_heif
from rtstyle.io.isobmff import is_avif, primary_properties

ICC_HEADER_BYTES = 128
JPEG_ICC_MARKER = b"ICC_PROFILE\x00"
JPEG_ICC_CHUNK = 65535 - 2 - len(JPEG_ICC_MARKER) - 2  # 65519: a segment's length field counts itself and the header
MAX_ICC_BYTES = 255 * JPEG_ICC_CHUNK  # the most a JPEG holds (255 numbered segments); every format holds this much
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_COLOR_CHUNKS = {b"sRGB": 1, b"gAMA": 4, b"cHRM": 32}  # the chunk types kept, with their fixed lengths
TIFF_ICC_TAG = 34675
TIFF_ASCII, TIFF_UNDEFINED = 2, 7
TIFF_BYTE_TYPES = frozenset({1, TIFF_ASCII, TIFF_UNDEFINED})  # the types whose count is their length in bytes
# Profiles an image can carry: input (camera, scanner), display, colour space and output; device links,
# abstract and named-colour profiles describe no image's colours.
IMAGE_PROFILE_CLASSES = frozenset({b"scnr", b"mntr", b"spac", b"prtr"})


class CorruptProfile(ValueError):
    """The file's colour information cannot be read; the caller treats it as absent."""


@dataclass(frozen=True)
class ColorProfile:
    """What says how a photo's stored values map to colours."""

    icc: bytes | None = None  # an ICC profile, checked to be a plausible RGB profile
    png_chunks: tuple[tuple[bytes, bytes], ...] = ()  # (type, data) of PNG sRGB / gAMA / cHRM chunks, in file order

    def __bool__(self) -> bool:
        return self.icc is not None or bool(self.png_chunks)


def read_color_profile(path: Path) -> ColorProfile | None:
    """The colour profile of an image file, or None when it has none (or none that can be read)."""
    try:
        with open(path, "rb") as fh:
            profile = profile_from_file(fh)
    except (OSError, ValueError, IndexError, struct.error, zlib.error, OverflowError, MemoryError):
        return None
    return profile or None


def profile_from_file(fh: BinaryIO) -> ColorProfile:
    """The colour profile in an open image file (found by content, not by name); empty when there is none.

    Raises CorruptProfile (or struct.error, zlib.error) on a damaged file; read_color_profile catches them.
    """
    head = fh.read(64)
    fh.seek(0)
    if head.startswith(b"\xff\xd8"):
        return ColorProfile(icc=_checked_icc(_jpeg_icc(fh)))
    if head.startswith(PNG_SIGNATURE):
        return _png_profile(fh)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ColorProfile(icc=_checked_icc(_webp_icc(fh)))
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return ColorProfile(icc=_checked_icc(_tiff_icc(fh)))
    if is_heif(head):
        return ColorProfile(icc=_checked_icc(heif_icc(fh)))
    if is_avif(head):
        return ColorProfile(icc=_checked_icc(_avif_icc(fh)))
    return ColorProfile()


def embed_color_profile(encoded: bytes, suffix: str, profile: ColorProfile | None) -> bytes:
    """`encoded` (as OpenCV wrote it, by extension) with the profile inserted, for the formats that hold one.

    Bytes this cannot place a profile in (not what OpenCV writes) are returned unchanged: a result without its
    profile rather than no result.
    """
    if not profile:
        return encoded
    suffix = suffix.lower()
    try:
        if suffix in {".jpg", ".jpeg"} and profile.icc:
            return jpeg_with_icc(encoded, profile.icc)
        if suffix == ".png":
            return png_with_profile(encoded, profile)
        if suffix == ".webp" and profile.icc:
            return webp_with_icc(encoded, profile.icc)
        if suffix in {".tif", ".tiff"} and profile.icc:
            return tiff_with_icc(encoded, profile.icc)
    except (ValueError, IndexError, struct.error):
        pass
    return encoded  # BMP holds none; nor do JPEG, WebP and TIFF hold PNG's gAMA / cHRM


# -- checks --------------------------------------------------------------------------------------------------------


def _checked_icc(icc: bytes | None) -> bytes | None:
    """The profile when it looks like an ICC profile for RGB pixels (the results are RGB); else None."""
    if icc is None or not ICC_HEADER_BYTES + 4 <= len(icc) <= MAX_ICC_BYTES:
        return None
    size = struct.unpack(">I", icc[:4])[0]
    if not ICC_HEADER_BYTES + 4 <= size <= len(icc):  # some writers pad the last segment: the header's size counts
        return None
    if icc[36:40] != b"acsp" or icc[16:20] != b"RGB " or icc[12:16] not in IMAGE_PROFILE_CLASSES:
        return None
    return icc[:size]


def _read(fh: BinaryIO, n: int) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise CorruptProfile("truncated file")
    return data


# -- JPEG ----------------------------------------------------------------------------------------------------------


def jpeg_segments(fh: BinaryIO) -> list[tuple[int, int, int]]:
    """(marker, payload offset, payload length) of the segments before the image data (SOS)."""
    _read(fh, 2)  # SOI
    segments: list[tuple[int, int, int]] = []
    while True:
        byte = _read(fh, 1)
        if byte != b"\xff":
            raise CorruptProfile("no JPEG marker where one belongs")
        marker = _read(fh, 1)[0]
        while marker == 0xFF:  # fill bytes
            marker = _read(fh, 1)[0]
        if marker in (0xDA, 0xD9):  # start of scan, end of image
            return segments
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            continue
        length = struct.unpack(">H", _read(fh, 2))[0]
        if length < 2:
            raise CorruptProfile("JPEG segment length below 2")
        segments.append((marker, fh.tell(), length - 2))
        fh.seek(length - 2, 1)


def _jpeg_icc(fh: BinaryIO) -> bytes | None:
    chunks: dict[int, bytes] = {}
    counts: set[int] = set()
    for marker, offset, length in jpeg_segments(fh):
        if marker != 0xE2 or length < len(JPEG_ICC_MARKER) + 2:
            continue
        fh.seek(offset)
        payload = _read(fh, length)
        if not payload.startswith(JPEG_ICC_MARKER):
            continue
        sequence, count = payload[len(JPEG_ICC_MARKER)], payload[len(JPEG_ICC_MARKER) + 1]
        if sequence in chunks:
            return None
        chunks[sequence] = payload[len(JPEG_ICC_MARKER) + 2:]
        counts.add(count)
    if not chunks:
        return None
    if len(counts) != 1 or sorted(chunks) != list(range(1, counts.pop() + 1)):
        return None  # a part is missing, or the parts disagree on how many there are
    return b"".join(chunks[i] for i in sorted(chunks))


def jpeg_with_icc(encoded: bytes, icc: bytes) -> bytes:
    """The JPEG with the profile in APP2 segments after SOI and the APP0 (JFIF) / APP1 (Exif) segments."""
    if len(icc) > MAX_ICC_BYTES or not icc:
        raise ValueError("a profile no JPEG can hold")
    parts = [icc[i:i + JPEG_ICC_CHUNK] for i in range(0, len(icc), JPEG_ICC_CHUNK)]
    segments = b"".join(
        b"\xff\xe2" + struct.pack(">H", 2 + len(JPEG_ICC_MARKER) + 2 + len(part)) + JPEG_ICC_MARKER
        + bytes([number, len(parts)]) + part
        for number, part in enumerate(parts, start=1))
    return jpeg_with_segments(encoded, segments, after=frozenset({0xE0, 0xE1}))


def jpeg_with_segments(encoded: bytes, segments: bytes, after: frozenset[int]) -> bytes:
    """The JPEG with `segments` (whole, markers included) inserted after SOI and the leading segments whose markers
    are in `after` (APP0, JFIF's, must stay first)."""
    if not encoded.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    at = 2
    while encoded[at:at + 1] == b"\xff" and encoded[at + 1] in after:
        at += 2 + struct.unpack(">H", encoded[at + 2:at + 4])[0]
    return encoded[:at] + segments + encoded[at:]


# -- PNG -----------------------------------------------------------------------------------------------------------


def _png_profile(fh: BinaryIO) -> ColorProfile:
    _read(fh, len(PNG_SIGNATURE))
    icc = None
    chunks: list[tuple[bytes, bytes]] = []
    while True:
        length, kind = struct.unpack(">I4s", _read(fh, 8))
        if length > 0x7FFFFFFF:
            raise CorruptProfile("PNG chunk length out of range")
        if kind in (b"IDAT", b"IEND", b"PLTE"):  # colour chunks come before these
            break
        if kind != b"iCCP" and kind not in PNG_COLOR_CHUNKS:
            fh.seek(length + 4, 1)
            continue
        if kind == b"iCCP" and length > MAX_ICC_BYTES + 100:  # a compressed profile is never much larger
            raise CorruptProfile("absurd iCCP chunk")
        data = _read(fh, length)
        crc = struct.unpack(">I", _read(fh, 4))[0]
        if zlib.crc32(kind + data) != crc:
            continue  # a damaged chunk: as if absent
        if kind == b"iCCP":
            icc = _checked_icc(_iccp_profile(data))
        elif length == PNG_COLOR_CHUNKS[kind] and all(k != kind for k, _ in chunks):
            chunks.append((kind, data))
    return ColorProfile(icc=icc, png_chunks=tuple(chunks))


def _iccp_profile(data: bytes) -> bytes | None:
    name_end = data.find(b"\x00", 0, 80)
    if name_end < 1 or data[name_end + 1:name_end + 2] != b"\x00":  # a 1-79 byte name, then method 0 (zlib)
        return None
    inflate = zlib.decompressobj()
    try:
        icc = inflate.decompress(data[name_end + 2:], MAX_ICC_BYTES + 1)  # bounded: a small chunk can inflate hugely
    except zlib.error:
        return None  # only the profile is lost: the other colour chunks still count
    if not inflate.eof or len(icc) > MAX_ICC_BYTES:
        return None
    return icc


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_profile(encoded: bytes, profile: ColorProfile) -> bytes:
    """The PNG with iCCP (and sRGB / gAMA / cHRM) right after IHDR, where they belong (before PLTE and IDAT)."""
    if not encoded.startswith(PNG_SIGNATURE + b"\x00\x00\x00\x0dIHDR"):
        raise ValueError("not a PNG")
    at = len(PNG_SIGNATURE) + 8 + 13 + 4
    chunks: list[bytes] = []
    if profile.icc:
        chunks.append(png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(profile.icc, 9)))
    for kind, data in profile.png_chunks:
        if kind == b"sRGB" and profile.icc:
            continue  # the PNG spec: not both (an iCCP takes precedence)
        chunks.append(png_chunk(kind, data))
    return encoded[:at] + b"".join(chunks) + encoded[at:]


# -- WebP ----------------------------------------------------------------------------------------------------------

WEBP_ICC_FLAG = 0x20
WEBP_ALPHA_FLAG = 0x10


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks: list[tuple[bytes, bytes]] = []
    at = 12
    while at + 8 <= len(data):
        kind, size = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        if at + 8 + size > len(data):
            raise ValueError("truncated WebP chunk")
        chunks.append((kind, data[at + 8:at + 8 + size]))
        at += 8 + size + (size & 1)
    return chunks


def _webp_icc(fh: BinaryIO) -> bytes | None:
    _read(fh, 12)
    while True:
        header = fh.read(8)
        if len(header) < 8:
            return None
        kind, size = header[:4], struct.unpack("<I", header[4:])[0]
        if kind == b"ICCP":
            return _read(fh, size) if size <= MAX_ICC_BYTES else None
        if kind in (b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF"):  # ICCP comes before the image data
            return None
        fh.seek(size + (size & 1), 1)


def _webp_canvas(kind: bytes, data: bytes) -> tuple[int, int, bool]:
    """Width, height and whether it uses alpha, from a simple-format WebP's VP8 or VP8L bitstream."""
    if kind == b"VP8 " and len(data) >= 10 and data[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    if kind == b"VP8L" and len(data) >= 5 and data[0] == 0x2F:
        bits = struct.unpack("<I", data[1:5])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool(bits >> 28 & 1)
    raise ValueError("not a VP8 / VP8L bitstream")


def webp_with_icc(encoded: bytes, icc: bytes) -> bytes:
    """The WebP with an ICCP chunk after VP8X (a simple-format file gets a VP8X header first)."""
    return webp_with_chunk(encoded, b"ICCP", icc, WEBP_ICC_FLAG)


def webp_with_chunk(encoded: bytes, kind: bytes, data: bytes, flag: int) -> bytes:
    """The WebP with a metadata chunk (replacing one of its kind) and its `flag` set in VP8X, where the spec orders
    it: ICCP right after VP8X, the others (EXIF, XMP) after the image data. A simple-format file (VP8 or VP8L
    alone) gets a VP8X header first."""
    if encoded[:4] != b"RIFF" or encoded[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    chunks = [(k, d) for k, d in riff_chunks(encoded) if k != kind]
    if not chunks:
        raise ValueError("an empty WebP")
    if chunks[0][0] == b"VP8X":
        vp8x = bytearray(chunks[0][1])
        vp8x[0] |= flag
        rest = chunks[1:]
    else:
        width, height, alpha = _webp_canvas(*chunks[0])
        flags = flag | (WEBP_ALPHA_FLAG if alpha else 0)
        vp8x = bytearray(bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little"))
        rest = chunks
    ordered = [(kind, data), *rest] if kind == b"ICCP" else [*rest, (kind, data)]
    body = b"".join(k + struct.pack("<I", len(d)) + d + b"\x00" * (len(d) & 1)
                    for k, d in [(b"VP8X", bytes(vp8x)), *ordered])
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


# -- TIFF ----------------------------------------------------------------------------------------------------------


def _tiff_icc(fh: BinaryIO) -> bytes | None:
    return tiff_tag(fh, TIFF_ICC_TAG, frozenset({1, TIFF_UNDEFINED}), MAX_ICC_BYTES)  # BYTE or UNDEFINED


def tiff_tag(fh: BinaryIO, wanted: int, kinds: frozenset[int], most: int) -> bytes | None:
    """A byte-sized tag's value in the first IFD of an open TIFF (at its start); None when it is absent, of another
    type or longer than `most` bytes."""
    order = "<" if _read(fh, 2) == b"II" else ">"
    _read(fh, 2)
    fh.seek(struct.unpack(order + "I", _read(fh, 4))[0])
    (count,) = struct.unpack(order + "H", _read(fh, 2))
    for _ in range(count):
        tag, kind, n, value = struct.unpack(order + "HHI4s", _read(fh, 12))
        if tag == wanted and kind in kinds:
            if n > most:
                return None
            if n <= 4:
                return value[:n]
            fh.seek(struct.unpack(order + "I", value)[0])
            return _read(fh, n)
    return None


def tiff_with_icc(encoded: bytes, icc: bytes) -> bytes:
    """The TIFF with the profile in tag 34675 (UNDEFINED bytes)."""
    return tiff_with_tag(encoded, TIFF_ICC_TAG, TIFF_UNDEFINED, icc)


def tiff_with_tag(encoded: bytes, tag: int, kind: int, value: bytes) -> bytes:
    """The TIFF with `value` (of a byte-sized TIFF type: BYTE, ASCII with its NUL, UNDEFINED) appended and a copy of
    its first IFD, with the tag set (replacing one already there), after it.

    Only appended: the old IFD's offsets stay valid; the header then points at the new IFD.
    """
    if encoded[:4] not in (b"II*\x00", b"MM\x00*"):
        raise ValueError("not a classic TIFF")
    if kind not in TIFF_BYTE_TYPES or not value:
        raise ValueError("not a byte-sized TIFF value")
    order = "<" if encoded[:2] == b"II" else ">"
    ifd = struct.unpack(order + "I", encoded[4:8])[0]
    (count,) = struct.unpack(order + "H", encoded[ifd:ifd + 2])
    entries = [encoded[ifd + 2 + 12 * i:ifd + 14 + 12 * i] for i in range(count)]
    next_ifd = encoded[ifd + 2 + 12 * count:ifd + 6 + 12 * count]
    if len(next_ifd) != 4:
        raise ValueError("truncated TIFF IFD")
    out = bytearray(encoded)
    if len(value) <= 4:  # held in the entry itself
        field = value.ljust(4, b"\x00")
    else:
        out += b"\x00" * (len(out) & 1)  # TIFF offsets are word aligned
        field = struct.pack(order + "I", len(out))
        out += value + b"\x00" * (len(value) & 1)
    entries = [e for e in entries if struct.unpack(order + "H", e[:2])[0] != tag]
    entries.append(struct.pack(order + "HHI", tag, kind, len(value)) + field)
    entries.sort(key=lambda e: struct.unpack(order + "H", e[:2])[0])  # the spec: ascending tags
    new_ifd = len(out)
    out += struct.pack(order + "H", len(entries)) + b"".join(entries) + next_ifd
    if len(out) > 0xFFFFFFFF:
        raise ValueError("too large for a classic TIFF")
    out[4:8] = struct.pack(order + "I", new_ifd)
    return bytes(out)


# -- AVIF ----------------------------------------------------------------------------------------------------------


def _avif_icc(fh: BinaryIO) -> bytes | None:
    """The ICC profile (a colr box of type prof or rICC) among the primary item's properties."""
    for kind, payload in primary_properties(fh):
        if kind == b"colr" and payload[:4] in (b"prof", b"rICC"):
            return payload[4:]
    return None
