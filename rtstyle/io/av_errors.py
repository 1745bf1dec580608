"""PyAV's (FFmpeg's) errors, cut down to the short reason that ends a one-line message."""

from __future__ import annotations


def short_reason(exc: BaseException) -> str:
    """The error's first line (its type's name when it has no text), at most 200 characters, without the file's
    name that FFmpeg ends it with (absolute, as rtstyle.io.av_files gives it: the message names the user's path)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    filename = getattr(exc, "filename", None)
    if isinstance(filename, str) and text.endswith(f": {filename!r}"):
        text = text[: -len(f": {filename!r}")]
    return text[:200]
