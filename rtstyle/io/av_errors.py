"""PyAV's (FFmpeg's) errors, cut down to the short reason that ends a one-line message."""

from __future__ import annotations


def short_reason(exc: BaseException) -> str:
    """The error's first line (its type's name when it has no text), at most 200 characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
