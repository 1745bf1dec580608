"""Local files opened with PyAV (FFmpeg) as the files they are, whatever their names.

FFmpeg takes a name for a URL: in the current folder, `a:b.mp4` was refused ("Protocol not found"), `http:x.mp4`
went to the network, `pipe:0.mp4` read standard input and `file:x.mp4` opened x.mp4. An absolute path never starts
with a protocol. And a name with a frame-number pattern (`clip%03d.webp`) chose FFmpeg's image-sequence muxer,
which wrote its frames under other names and left the output empty: the muxer is named from the extension.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import av

#: FFmpeg's muxer for each extension rtstyle writes (what it guesses from a plain name: .m4v is "ipod").
MUXERS = {".mp4": "mp4", ".m4v": "ipod", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".gif": "gif",
          ".webp": "webp"}


def ffmpeg_name(path: Path | str) -> str:
    """The name to give FFmpeg for the local file `path`: absolute, so that no part of it reads as a protocol."""
    return os.path.abspath(path)


def open_file(path: Path | str, **options: Any) -> av.container.InputContainer:
    """av.open of a local file to read."""
    return av.open(ffmpeg_name(path), mode="r", **options)


def create_file(path: Path | str, format: str | None = None, **options: Any) -> av.container.OutputContainer:
    """av.open of a local file to write; the muxer is `format`, else the one for its extension."""
    muxer = format or MUXERS.get(Path(path).suffix.lower())
    return av.open(ffmpeg_name(path), mode="w", format=muxer, **options)
