"""Times on the command line: seconds (`12.5`) or clock notation (`1:30`, `0:01:30.5`)."""

from __future__ import annotations

import click


def parse_time(text: str) -> float:
    """Seconds from "SS[.f]", "MM:SS[.f]" or "HH:MM:SS[.f]"; ValueError when malformed or negative."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or any(p.strip() == "" for p in parts):
        raise ValueError(text)
    seconds = 0.0
    for part in parts:
        value = float(part)
        if value < 0:
            raise ValueError(text)
        seconds = seconds * 60 + value
    return seconds


class TimeType(click.ParamType):
    name = "TIME"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return parse_time(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a time: use seconds (12.5) or MM:SS / HH:MM:SS", param, ctx)
