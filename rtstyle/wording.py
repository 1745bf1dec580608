"""How counts read in messages: "1 frame", "2 frames"."""

from __future__ import annotations


def counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
