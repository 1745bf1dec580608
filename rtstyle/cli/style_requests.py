"""Which styles a command was asked for: `-s a -s b,c` or `-s all`, resolved and checked before any runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click

from rtstyle.errors import RtstyleError
from rtstyle.styles.catalog import find_style, style_names, style_specs, without_fast_variants


@dataclass(frozen=True)
class RequestedStyle:
    name: str  # what results are called after: the style's own name, or a file's stem
    spec: str  # what create_stylizer is given
    file: str  # the style or model file, resolved: two spellings of one style are one style


def requested_styles(values: tuple[str, ...], backend: str) -> list[RequestedStyle]:
    """`-s a -s b,c` or `-s all` as styles, each checked (exists, loads, runs on the backend) before any runs."""
    from rtstyle.engine.onnx_backend import check_onnx_model, is_onnx_path

    specs: list[tuple[str, bool]] = []  # (style, whether `all` brought it in)
    for item in style_specs(values):
        if item == "all":
            everything = without_fast_variants(style_names())
            if not everything:
                raise RtstyleError("--style all: no styles are installed (train one with `rtstyle train`)")
            specs += [(name, True) for name in everything]
        else:
            specs.append((item, False))
    if not specs:
        raise RtstyleError("no style given: --style NAME (see `rtstyle styles`)")
    styles: dict[str, RequestedStyle] = {}
    for spec, from_all in specs:
        if is_onnx_path(spec):
            spec = os.path.expanduser(spec)  # as find_style takes a style file's
            if not Path(spec).is_file():
                raise RtstyleError(f"ONNX model not found: {spec}")
            if backend == "torch":
                raise RtstyleError(f"{spec} is an ONNX model: run it with --backend onnx (or auto)")
            check_onnx_model(Path(spec))
            style = RequestedStyle(Path(spec).stem, spec, os.path.realpath(spec))
        else:
            entry = find_style(spec)  # an unknown name fails here, with suggestions
            try:
                entry.load()  # and a corrupt file here, not after the styles before it have run
            except RtstyleError as exc:
                if not from_all:
                    raise
                click.echo(f"skipping {spec}: {exc}", err=True)  # `all` means every usable style
                continue
            style = RequestedStyle(entry.name, str(entry.path) if entry.source == "path" else entry.name,
                                   os.path.realpath(entry.path))
        same = styles.get(style.name.casefold())
        if same is not None and same.file != style.file:
            raise RtstyleError(f"{same.spec} and {style.spec} would both name their results _{style.name}: "
                               "run them separately with different -o folders")
        styles.setdefault(style.name.casefold(), style)
    return list(styles.values())
