"""How counts and times read in messages: "1 frame", "2 frames", "2 h 40 min"."""

from __future__ import annotations


def counted(number: int, noun: str) -> str:
    """'1 frame', '2 frames', '2,000 steps'."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def how_long(seconds: float) -> str:
    """A time span as people say it: '45 s', '12 min', '2 h 5 min' (rounded to what matters at that length)."""
    if seconds < 59.5:
        return f"{seconds:.0f} s" if seconds >= 9.5 else f"{seconds:.1f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def file_size(size: int) -> str:
    """A size in bytes as a file manager shows it: '870 bytes', '12 kB', '230 MB', '1.4 GB' (powers of 1000)."""
    if size < 1000:
        return counted(size, "byte")
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12)):
        if size < scale * 999.5 or unit == "TB":
            value = size / scale
            return f"{value:.1f} {unit}" if value < 9.95 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")
