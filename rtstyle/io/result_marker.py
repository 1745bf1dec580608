"""A mark in the files `rtstyle image` writes that says they are its results, so a later run can tell them from
photos.

A folder's x_candy.jpg beside x.jpg may be an earlier result or a real photo (beach_wave.jpg beside beach.jpg):
the names alone cannot tell, so such a file was never replaced, and --overwrite could not redo a folder's results.
Results now carry a short text, "rtstyle result, style candy", in the metadata each format has for it (what
viewers show as the software or a comment, and otherwise ignore):

  JPEG  a COM (comment) segment, after the APPn segments (JFIF first, as it must be)
  PNG   a tEXt chunk with the keyword "Software", right after IHDR
  WebP  an XMP chunk (xmp:CreatorTool), at the end as the spec orders it, in a VP8X (extended) container
  TIFF  tag 305 (Software) in the first IFD

BMP holds none: a BMP result stays unmarked, as results from before the mark. Reading looks only at the headers
(the segments and chunks before the image data; a WebP's chunk headers), never raises, and takes a damaged or
foreign file for unmarked.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

from rtstyle.io.color_profile import (
    PNG_SIGNATURE, TIFF_ASCII, jpeg_segments, jpeg_with_segments, png_chunk, tiff_tag, tiff_with_tag, webp_with_chunk,
)

MARK = "rtstyle result"  # what a marked file's text starts with
MAX_MARK_BYTES = 1024  # a longer text is no mark of ours: not read
MAX_XMP_BYTES = 65536
PNG_KEYWORD = b"Software\x00"
TIFF_SOFTWARE_TAG = 305
WEBP_XMP_FLAG = 0x04
XMP_TOOL = re.compile(rb'xmp:CreatorTool="([^"<>]*)"')


def mark_text(style: str) -> str:
    """"rtstyle result, style candy": in 7-bit ASCII (what every format's field holds), without quotes or markup."""
    name = re.sub(r"[^A-Za-z0-9 ._+-]", "?", style)[:200]
    return f"{MARK}, style {name}"


def with_result_mark(encoded: bytes, suffix: str, style: str) -> bytes:
    """`encoded` (as OpenCV wrote it, by extension, a profile embedded or not) with the mark inserted. Bytes this
    cannot place it in (BMP, not what OpenCV writes) are returned unchanged: an unmarked result rather than none."""
    text = mark_text(style).encode("ascii")
    suffix = suffix.lower()
    try:
        if suffix in {".jpg", ".jpeg"}:
            segment = b"\xff\xfe" + struct.pack(">H", 2 + len(text)) + text
            return jpeg_with_segments(encoded, segment, after=frozenset(range(0xE0, 0xF0)))
        if suffix == ".png":
            if not encoded.startswith(PNG_SIGNATURE + b"\x00\x00\x00\x0dIHDR"):
                return encoded
            at = len(PNG_SIGNATURE) + 8 + 13 + 4
            return encoded[:at] + png_chunk(b"tEXt", PNG_KEYWORD + text) + encoded[at:]
        if suffix == ".webp":
            return webp_with_chunk(encoded, b"XMP ", _xmp(text), WEBP_XMP_FLAG)
        if suffix in {".tif", ".tiff"}:
            return tiff_with_tag(encoded, TIFF_SOFTWARE_TAG, TIFF_ASCII, text + b"\x00")
    except (ValueError, IndexError, struct.error):
        pass
    return encoded


def _xmp(text: bytes) -> bytes:
    return (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="' + text
            + b'"/></rdf:RDF></x:xmpmeta><?xpacket end="r"?>')


def read_result_mark(path: Path) -> str | None:
    """The mark's text ("rtstyle result, style candy") when the file is a marked rtstyle result; else None."""
    try:
        with open(path, "rb") as fh:
            text = _stored_text(fh)
    except (OSError, ValueError, IndexError, struct.error, OverflowError):
        return None
    if text is None:
        return None
    decoded = text.rstrip(b"\x00").decode("ascii", "replace")
    return decoded if decoded.startswith(MARK) else None


def is_rtstyle_result(path: Path) -> bool:
    return read_result_mark(path) is not None


def _stored_text(fh: BinaryIO) -> bytes | None:
    """Where each format keeps the mark, by content (not by name): the text found there, ours or not."""
    head = fh.read(16)
    fh.seek(0)
    if head.startswith(b"\xff\xd8"):
        return _jpeg_comment(fh)
    if head.startswith(PNG_SIGNATURE):
        return _png_software(fh)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp_tool(fh)
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return tiff_tag(fh, TIFF_SOFTWARE_TAG, frozenset({TIFF_ASCII}), MAX_MARK_BYTES)
    return None


def _jpeg_comment(fh: BinaryIO) -> bytes | None:
    for marker, offset, length in jpeg_segments(fh):
        if marker == 0xFE and length <= MAX_MARK_BYTES:
            fh.seek(offset)
            text = fh.read(length)
            if text.startswith(MARK.encode()):
                return text
    return None


def _png_software(fh: BinaryIO) -> bytes | None:
    fh.seek(len(PNG_SIGNATURE))
    while len(header := fh.read(8)) == 8:
        length, kind = struct.unpack(">I4s", header)
        if kind in (b"IDAT", b"IEND") or length > 0x7FFFFFFF:  # the header chunks are over
            return None
        if kind != b"tEXt" or length > MAX_MARK_BYTES:
            fh.seek(length + 4, 1)
            continue
        data, crc = fh.read(length), fh.read(4)
        if len(crc) == 4 and zlib.crc32(kind + data) == struct.unpack(">I", crc)[0] and data.startswith(PNG_KEYWORD):
            return data[len(PNG_KEYWORD):]
    return None


def _webp_tool(fh: BinaryIO) -> bytes | None:
    """The XMP chunk's CreatorTool: only the chunks' headers are read on the way (the XMP comes last)."""
    fh.seek(12)
    while len(header := fh.read(8)) == 8:
        kind, size = header[:4], struct.unpack("<I", header[4:])[0]
        if kind == b"XMP " and size <= MAX_XMP_BYTES:
            found = XMP_TOOL.search(fh.read(size))
            return found.group(1) if found else None
        fh.seek(size + (size & 1), 1)
    return None
