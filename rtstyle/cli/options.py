"""Options shared by several commands, so that they are spelled and documented the same everywhere."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from rtstyle.engine.base import MAX_FRAME_PIXELS
from rtstyle.engine.factory import BACKENDS, DEVICES, PRECISIONS
from rtstyle.errors import RtstyleError
from rtstyle.io.unicode_names import user_path

F = Callable[..., Any]


class FiniteFloatRange(click.FloatRange):
    """click.FloatRange that also refuses nan and inf (nan passes every range comparison)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number is not None and not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class StabilizeStrength(FiniteFloatRange):
    """--stabilize's optional value: a word that is no number was most likely meant as the next argument."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a strength: --stabilize takes an optional number from 0 to below 1, "
                      "so give one (--stabilize 0.5 FILE) or put --stabilize after the file", param, ctx)
        return super().convert(value, param, ctx)


class UserPath(click.Path):
    """click.Path taking a path as every command does (rtstyle.io.unicode_names.user_path): `~` in quotes is the home
    folder (rtstyle made a folder named `~`), é typed finds e + accent on disk, and an empty name is refused."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            try:
                value = user_path(value, "", hint="give a file or folder")
            except RtstyleError as exc:
                self.fail(str(exc), param, ctx)
        return super().convert(value, param, ctx)


def output_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """An output path with `..` and `.` resolved by name (`new/../photo.jpg` is `photo.jpg`): otherwise a folder
    that does not exist yet would hide the existing file behind it from every "exists" and "is the input" check."""
    return None if value is None else Path(os.path.normpath(value))


# --threads: onnxruntime and torch start each thread they are given; 100,000 took GBs and crashed onnxruntime
# (a segfault), so past the largest machines' core counts it is refused.
MAX_THREADS = 1024
THREADS = click.IntRange(1, MAX_THREADS)

# --stroke-size: past these the network would run on 16x the frame's pixels, or on 1/16 of them.
MIN_STROKE_SIZE, MAX_STROKE_SIZE = 0.25, 4.0

MIN_FRAME_SIDE = 16  # --size below this is a typo, not a frame anyone wants stylized


def parse_frame_size(text: str | None) -> tuple[int, int] | None:
    """--size WIDTHxHEIGHT (webcam, export, quantize) as (width, height); None when not given."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*[xX*]\s*(\d+)\s*", text)
    if not match:
        raise RtstyleError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 1280x720")
    width, height = int(match[1]), int(match[2])
    if width < MIN_FRAME_SIDE or height < MIN_FRAME_SIDE:  # it was WIDTHxHEIGHT: 'expected WIDTHxHEIGHT' misled
        raise RtstyleError(f"--size {width}x{height} is too small: each side must be at least {MIN_FRAME_SIDE} px")
    if width * height > MAX_FRAME_PIXELS:  # frames are made or checked at this size: refuse before allocating them
        raise RtstyleError(f"--size {width}x{height} is larger than rtstyle stylizes "
                           f"({MAX_FRAME_PIXELS // 1_000_000} Mpx at most)")
    return width, height


def engine_options(func: F) -> F:
    """--backend / --device / --precision for every command that runs a style network."""
    func = click.option("--precision", type=click.Choice(PRECISIONS), default="fp32", show_default=True,
                        help="fp16 is for GPUs (on the CPU it gains nothing, measured); int8 (onnx) is quantised for CPUs.")(func)
    func = click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True,
                        help="auto uses a GPU when one can be used.")(func)
    func = click.option("--backend", type=click.Choice(BACKENDS), default="auto", show_default=True,
                        help="onnx needs no torch; torch needs `rtstyle[train]`.")(func)
    return func


def stabilize_option(func: F) -> F:
    """--stabilize [STRENGTH]: the run-time temporal stabiliser (rtstyle.realtime.stabilize)."""
    return click.option(
        "--stabilize", type=StabilizeStrength(0.0, 1.0, max_open=True), is_flag=False, flag_value=0.5, default=None,
        metavar="[STRENGTH]",
        help="Reduce flicker: blend with the previous output warped by optical flow where it is valid "
             "(strength from 0 to below 1, e.g. 0.8 for very steady; 0.5 when given without a value).")(func)


def look_options(func: F) -> F:
    """--strength / --keep-colors / --stroke-size: how the stylized frame looks (rtstyle.realtime.look)."""
    func = click.option("--stroke-size", type=FiniteFloatRange(MIN_STROKE_SIZE, MAX_STROKE_SIZE), default=1.0,
                        show_default=True, metavar="FACTOR",
                        help="Brush strokes this many times as large, at the same output size: 2 runs the network "
                             "on the picture at half size and scales its result back (bolder, softer, about 4x "
                             "faster), 0.5 on a copy twice as large (finer, about 4x slower). A network's strokes "
                             "have a fixed size in pixels: larger ones suit large photos and HD video.")(func)
    func = click.option("--keep-colors", is_flag=True,
                        help="Keep the original colours (the photo's, video's or camera's): only the style's light and dark (its strokes and texture) "
                             "are used (luminance-only transfer, Gatys et al. 2016).")(func)
    func = click.option("--strength", type=FiniteFloatRange(0.0, 1.0), default=1.0, show_default=True,
                        help="How much style: 1 is the network's output, 0.5 half-way back to the original.")(func)
    return func


def make_stabilizer(strength: float | None, light: bool = False) -> Any:
    """A Stabilizer (`light`: the cheap one for fast networks), or None when off.

    Imported lazily: only commands that use it pay for it.
    """
    if strength is None or strength == 0:
        return None
    from rtstyle.realtime.stabilize import Stabilizer

    return Stabilizer.light(strength) if light else Stabilizer(strength)
