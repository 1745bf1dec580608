"""The boxes of the HEIF container (ISO base media file format) that rtstyle reads itself, for AVIF photos: OpenCV
decodes their pixels but neither applies their rotation and mirroring (irot, imir) nor keeps their colour profile
(colr). Only the meta box is read (item and property descriptions, before or after the pixel data), not the pixels.
Damaged files raise CorruptBox (a ValueError), struct.error or IndexError; callers treat them as having neither.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np

from rtstyle.io.heif import AV1_BRANDS

MAX_META_BYTES = 64 * 1024 * 1024  # a meta box holds item and property descriptions, not pixels


class CorruptBox(ValueError):
    """The container's boxes do not add up."""


def is_avif(head: bytes) -> bool:
    """Whether a file's first bytes are an ftyp box naming AVIF (AV1 in the HEIF container)."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    end = min(int.from_bytes(head[:4], "big"), len(head))
    return bool({head[8:12], *(head[i:i + 4] for i in range(16, end - 3, 4))} & AV1_BRANDS)


def primary_properties(fh: BinaryIO) -> list[tuple[bytes, bytes]]:
    """(type, payload) of the primary item's properties (ipco entries associated with it in ipma), in the order
    they are listed: transformations apply in that order."""
    meta = _meta_box(fh)
    children = {kind: (start, end) for kind, start, end in _boxes(meta, 4)}  # after version and flags
    if not {b"pitm", b"iprp"} <= children.keys():
        return []
    start, _ = children[b"pitm"]
    primary = struct.unpack(">H", meta[start + 4:start + 6])[0] if meta[start] == 0 else \
        struct.unpack(">I", meta[start + 4:start + 8])[0]
    iprp = {kind: (begin, end) for kind, begin, end in _boxes(meta, *children[b"iprp"])}
    if not {b"ipco", b"ipma"} <= iprp.keys():
        return []
    properties = _boxes(meta, *iprp[b"ipco"])
    found: list[tuple[bytes, bytes]] = []
    for index in _associations(meta, *iprp[b"ipma"]).get(primary, []):
        if index == 0:  # no property
            continue
        if index > len(properties):
            raise CorruptBox("property index out of range")
        kind, begin, end = properties[index - 1]
        found.append((kind, meta[begin:end]))
    return found


def primary_pixels(fh: BinaryIO) -> int | None:
    """Width x height of the primary image, from its ispe property (a grid's whole size); None without one."""
    for kind, payload in primary_properties(fh):
        if kind == b"ispe" and len(payload) >= 12:
            width, height = struct.unpack(">II", payload[4:12])  # after version and flags
            return width * height
    return None


def upright(image: np.ndarray, properties: Sequence[tuple[bytes, bytes]]) -> np.ndarray:
    """The decoded pixels turned and mirrored as the irot and imir properties say (as libheif and libavif read
    them: irot turns by quarters anticlockwise; imir axis 1 mirrors left-right, axis 0 top-bottom)."""
    for kind, payload in properties:
        if kind == b"irot" and payload:
            image = np.rot90(image, payload[0] & 3)
        elif kind == b"imir" and payload:
            image = image[:, ::-1] if payload[0] & 1 else image[::-1]
    return np.ascontiguousarray(image)


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    boxes: list[tuple[bytes, int, int]] = []
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[at + 8:at + 16])[0], 16
        elif size == 0:  # to the end
            size = end - at
        if size < header or at + size > end:
            raise CorruptBox("box out of range")
        boxes.append((kind, at + header, at + size))
        at += size
    return boxes


def _read(fh: BinaryIO, n: int) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise CorruptBox("truncated file")
    return data


def _meta_box(fh: BinaryIO) -> bytes:
    """The top-level meta box's payload (its version and flags, then its boxes), found by seeking past the others."""
    while True:
        size, kind = struct.unpack(">I4s", _read(fh, 8))
        length = 8
        if size == 1:
            size, length = struct.unpack(">Q", _read(fh, 8))[0], 16
        if size == 0 or size < length:
            raise CorruptBox("no meta box")
        if kind == b"meta":
            if size > MAX_META_BYTES:
                raise CorruptBox("absurd meta box")
            return _read(fh, size - length)
        fh.seek(size - length, 1)


def _associations(meta: bytes, start: int, end: int) -> dict[int, list[int]]:
    """ipma: each item's property indices (1-based into ipco), in order."""
    version, flags = meta[start], int.from_bytes(meta[start + 1:start + 4], "big")
    (count,) = struct.unpack(">I", meta[start + 4:start + 8])
    at = start + 8
    items: dict[int, list[int]] = {}
    for _ in range(count):
        if version < 1:
            (item,), at = struct.unpack(">H", meta[at:at + 2]), at + 2
        else:
            (item,), at = struct.unpack(">I", meta[at:at + 4]), at + 4
        if at >= end:
            raise CorruptBox("truncated ipma")
        n, at = meta[at], at + 1
        indices = []
        for _ in range(n):
            if flags & 1:
                (value,), at = struct.unpack(">H", meta[at:at + 2]), at + 2
                indices.append(value & 0x7FFF)
            else:
                if at >= end:
                    raise CorruptBox("truncated ipma")
                indices.append(meta[at] & 0x7F)
                at += 1
        items[item] = indices
    return items
