"""The status lines of a training run."""

from __future__ import annotations

import sys

from tqdm import tqdm


def say(message: str) -> None:
    """Status lines go to stderr (stdout carries only the style path), without breaking the bar."""
    tqdm.write(message, file=sys.stderr)
