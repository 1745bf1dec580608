"""`rtstyle bench`: time the backends on this machine, side by side."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import click
from click.core import ParameterSource
from tqdm import tqdm

from rtstyle.cli.completion import complete_arch, complete_style
from rtstyle.cli.options import THREADS
from rtstyle.engine.bench import (DEFAULT_SIZES, BenchReport, default_factory, format_table, machine_info,
                                  parse_sizes, plan_style_configs, resolve_devices, run_bench, style_for_bench)
from rtstyle.engine.factory import DEVICES, PRECISIONS, torch_available
from rtstyle.engine.memory import TooLargeForMemory
from rtstyle.errors import RtstyleError
from rtstyle.styles.catalog import arch_summary, find_style, style_specs
from rtstyle.wording import counted


@contextlib.contextmanager
def torch_threads_restored() -> Iterator[None]:
    """--threads sets torch's process-wide thread count; put it back afterwards (matters in-process)."""
    if not torch_available():
        yield
        return
    import torch

    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def parse_arch_args(items: tuple[str, ...]) -> dict[str, int | float]:
    out: dict[str, int | float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            out[key.strip()] = float(value) if "." in value else int(value)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            raise RtstyleError(f"bad --arch-arg {item!r}: use KEY=NUMBER, e.g. width=16")
    return out


def style_label(style: str) -> str:
    """"mosaic-fast: fast (5k MAC/px)", or the file name of an exported .onnx model."""
    if style.lower().endswith(".onnx"):
        return Path(style).name
    entry = find_style(style)
    return f"{entry.name}: {arch_summary(entry.metadata())}"


def split_list(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    for item in items:
        if item not in allowed:
            raise RtstyleError(f"unknown {what} {item!r} (choose from {', '.join(allowed)})")
    if not items:
        raise RtstyleError(f"no {what} given")
    return items


def refuse_arch_with_styles(styles: tuple[str, ...], arch_args: tuple[str, ...]) -> None:
    """A style brings its own architecture: --arch or --arch-arg beside --style would be silently ignored."""
    arch_given = click.get_current_context().get_parameter_source("arch") is not ParameterSource.DEFAULT
    if styles and (arch_given or arch_args):
        option = "--arch" if arch_given else "--arch-arg"
        raise RtstyleError(f"{option} times random weights and cannot be combined with --style (a style has its own "
                           "architecture): give one or the other")


def exported_precisions(styles: tuple[str, ...], asked: list[str] | None) -> dict[str, str]:
    """The precision each exported .onnx model runs at (its own); one outside --precisions, when given, is an error,
    as `--precision` is for one model (an int8 model was silently timed for --precisions fp32,fp16)."""
    from rtstyle.engine.onnx_backend import exported_precision, is_onnx_path

    found = {style: exported_precision(Path(style)) for style in styles if is_onnx_path(style)}
    for style, precision in found.items():
        if asked is not None and precision not in asked:
            raise RtstyleError(f"{style} was exported as {precision}: an exported model runs as it is, --precisions "
                               f"{','.join(asked)} cannot change it (add {precision}, or export the style again)")
    return found


@click.command(short_help="Time the backends and precisions at several frame sizes.")
@click.option("-s", "--style", "styles", multiple=True, shell_complete=complete_style,
              help="Style name or file, or an exported .onnx model. Several, to compare them in one run: repeat it, "
                   "or separate them with commas (the first "
                   "one's torch eager fp32 is the baseline). Default: random weights of --arch (timing does not "
                   "depend on the weights).")
@click.option("--arch", default="johnson", show_default=True, shell_complete=complete_arch, help="Architecture to time without --style.")
@click.option("--arch-arg", "arch_args", multiple=True, metavar="KEY=VALUE",
              help="Architecture hyperparameter without --style, e.g. --arch-arg width=16 (repeatable).")
@click.option("--sizes", default=DEFAULT_SIZES, show_default=True, help="Frame sizes WIDTHxHEIGHT, comma-separated.")
@click.option("--backends", default=None,
              help="Comma-separated: onnx, torch. Default: onnx, and torch when it is installed. Torch eager fp32 is "
                   "always timed as the baseline when installed.")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True,
              help="auto: the GPU when one can be used, else the CPU.")
@click.option("--precisions", default=None,
              help="Comma-separated fp32, fp16, int8 (int8: static QDQ, onnx only). Default: fp32 on the CPU, "
                   "fp32 and fp16 on a GPU.")
@click.option("--frames", type=click.IntRange(min=1), default=20, show_default=True, help="Timed frames per row.")
@click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True, help="Untimed frames first.")
@click.option("--threads", type=THREADS, default=None,
              help="CPU threads for onnxruntime and torch alike (default: each library's own default).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (machine info and one record per row).")
def bench(styles: tuple[str, ...], arch: str, arch_args: tuple[str, ...], sizes: str, backends: str | None, device: str,
          precisions: str | None, frames: int, warmup: int, threads: int | None, as_json: bool) -> None:
    """Time backends x devices x precisions x frame sizes: median and p95 ms/frame, fps, memory growth.

    Rows of one size are timed in the same run, one frame each in turn, and compared with torch eager
    fp32 on the same device (the "vs torch eager" column: higher is faster). "mem growth MB" is what
    creating and warming up each stylizer added to the process's peak memory (JSON: peak_mem_mb).

    \b
    Examples:
      rtstyle bench
      rtstyle bench --style starry-night --sizes 320x240,640x480,1280x720,1920x1080
      rtstyle bench --backends onnx --sizes 640x480 --frames 50 --json
      rtstyle bench -s mosaic,mosaic-fast --precisions fp32,int8 --sizes 320x240,640x480
    """
    styles = tuple(style_specs(styles))  # `-s a,b` as image and video take it
    refuse_arch_with_styles(styles, arch_args)
    size_list = parse_sizes(sizes)
    # The core install has no torch: plain `rtstyle bench` times onnxruntime alone there instead of refusing.
    backend_list = split_list(backends or ("onnx,torch" if torch_available() else "onnx"), ("onnx", "torch"), "backend")
    devices = resolve_devices(device)
    default_precisions = "fp32,fp16" if devices == ["cuda"] else "fp32"
    precision_list = split_list(precisions or default_precisions, PRECISIONS, "precision")
    with style_for_bench(styles[0] if styles else None, arch, parse_arch_args(arch_args)) as default_style, \
            torch_threads_restored():
        style_refs = list(styles) or [default_style]
        labels = {ref: style_label(ref) for ref in styles} or {default_style: f"random {arch}"}
        exported = exported_precisions(styles, precision_list if precisions else None)
        configs = plan_style_configs(style_refs, backend_list, devices, precision_list, torch_available(), exported)
        if not configs:
            raise RtstyleError("nothing to time: an exported .onnx model runs on onnxruntime only (--backends onnx)"
                               if exported and (torch_available() or set(exported) == set(style_refs)) else
                               "nothing to time: choose --backends onnx, or install torch for the torch backend")
        total = len(size_list) * len(configs) * (frames + warmup)
        with tqdm(total=total, unit="frame", leave=False, disable=as_json or None) as bar:
            try:
                results = run_bench(default_factory(default_style, threads), size_list, configs, frames=frames,
                                    warmup=warmup, progress=bar.update)
            except TooLargeForMemory as exc:  # its advice, --max-size, is not a bench option
                fits = f" (up to {exc.largest_side} px on the longer side fit)" if exc.largest_side else ""
                raise RtstyleError(f"{exc.problem}: time smaller --sizes{fits}") from exc
    for result in results:
        result.style = labels[result.style]
    report = BenchReport({**machine_info(), "threads": str(threads or "default")}, results)
    if as_json:
        click.echo(report.to_json())
        return
    info = report.machine
    click.echo(f"{info['cpu']} ({info['cpu_cores']} cores){', ' + info['gpu'] if 'gpu' in info else ''}; "
               f"onnxruntime {info['onnxruntime']}"
               + (f", torch {info['torch']} ({info['torch_threads']} threads)" if "torch" in info else "")
               + f"; {info['date']}; {counted(frames, 'frame')} after {warmup} warm-up"
               + (f"; {threads} CPU thread(s) each" if threads else ""))
    click.echo(format_table(results))
