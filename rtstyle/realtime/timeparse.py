"""Times on the command line: seconds (`12.5`), with a unit (`90s`, `45m`, `1.5h`) or clock notation (`1:30`,
`0:01:30.5`)."""

from __future__ import annotations

import math
import re

import click


UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600}
WITH_UNIT = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(s|min|m|h)")


def parse_time(text: str) -> float:
    """Seconds from "SS[.f]", "N(s|m|min|h)", "MM:SS[.f]" or "HH:MM:SS[.f]"; ValueError when malformed or negative."""
    with_unit = WITH_UNIT.fullmatch(text.strip().lower())
    if with_unit:
        return float(with_unit.group(1)) * UNITS[with_unit.group(2)]
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or any(p.strip() == "" for p in parts):
        raise ValueError(text)
    seconds = 0.0
    for index, part in enumerate(parts):
        if part.strip().startswith(("-", "+")):  # float("-0") is -0.0, which passes `< 0`: "-0:05" read as 5 s
            raise ValueError(text)
        value = float(part)
        if not math.isfinite(value) or value < 0 or (index > 0 and value >= 60):  # nan, inf, 1:99
            raise ValueError(text)
        seconds = seconds * 60 + value
    return seconds


class TimeType(click.ParamType):
    name = "TIME"

    def __init__(self, positive: bool = False) -> None:
        self.positive = positive  # a duration: zero is refused too

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        try:
            seconds = parse_time(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a time: use seconds (12.5, 90s, 2m) or MM:SS / HH:MM:SS", param, ctx)
        if self.positive and seconds <= 0:
            self.fail(f"{value!r}: the duration must be more than zero", param, ctx)
        return seconds
