"""Options shared by several commands, so that they are spelled and documented the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from rtstyle.engine.factory import BACKENDS, DEVICES, PRECISIONS

F = Callable[..., Any]


def engine_options(func: F) -> F:
    """--backend / --device / --precision for every command that runs a style network."""
    func = click.option("--precision", type=click.Choice(PRECISIONS), default="fp32", show_default=True,
                        help="fp16 is for GPUs (on the CPU it gains nothing, measured); int8 (onnx) is quantised for CPUs.")(func)
    func = click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True,
                        help="auto uses a GPU when one can be used.")(func)
    func = click.option("--backend", type=click.Choice(BACKENDS), default="auto", show_default=True,
                        help="onnx needs no torch; torch needs `rtstyle[train]`.")(func)
    return func
