"""`rtstyle export`: a style as a standalone, parity-checked ONNX model."""

from __future__ import annotations

import time
from pathlib import Path

import click

from rtstyle.cli.completion import complete_style
from rtstyle.cli.options import UserPath, output_path, parse_frame_size
from rtstyle.engine.tiling import BORDER_MARGIN
from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import refuse_to_replace
from rtstyle.io.leftovers import clear_leftovers


# 48 px measured no better than 32 (docs/engine.md, "Borders"): more only costs work, and a huge one memory.
MAX_BORDER_MARGIN = 256


def border_margin_option(f: click.decorators.FC) -> click.decorators.FC:
    """--border-margin, the same on `export` and `quantize`."""
    return click.option(
        "--border-margin", type=click.IntRange(0, MAX_BORDER_MARGIN), default=BORDER_MARGIN, show_default=True, metavar="PX",
        help="Px of mirrored picture the model adds around each frame and crops off after, as rtstyle does when it "
             "runs a style: without it the outer ~16 px come out blurred and pale. 0: none (the model alone).")(f)


def margin_words(margin: int) -> str:
    """How the written model's line says what it does around the frame."""
    return f", {margin} px mirrored margin in the graph" if margin else ", no margin in the graph"


def fixed_size(text: str | None) -> tuple[int, int] | None:
    """--size WIDTHxHEIGHT as (height, width), the order of the graph's dimensions; None when not given."""
    size = parse_frame_size(text)
    return None if size is None else (size[1], size[0])


@click.command(short_help="Export a style to ONNX, for other runtimes.")
@click.argument("style", shell_complete=complete_style)
@click.option("-o", "--output", type=UserPath(path_type=Path), callback=output_path, required=True,
              help="The .onnx file to write.")
@click.option("--fp16", is_flag=True, help="float16 weights and activations (instance norm stays float32): for GPUs.")
@click.option("--io", "io", type=click.Choice(["frame", "tensor"]), default="frame", show_default=True,
              help="frame: uint8 NHWC BGR in and out (OpenCV frames, pre/post-processing in the graph); "
                   "tensor: float32 NCHW RGB 0..255 in and out (the network itself).")
@click.option("--decompose-instance-norm", is_flag=True,
              help="Write instance norm as elementary ops with the exact epsilon, for TensorRT "
                   "(whose InstanceNormalization clamps epsilon to 1e-4).")
@click.option("--size", metavar="WIDTHxHEIGHT",
              help="A model for this frame size only, batch still free (default: any size). For OpenCV 4's DNN "
                   "module, which cannot load the any-size model (its importer stops at a Shape of a dynamic input).")
@border_margin_option
@click.option("--overwrite", is_flag=True, help="Replace an existing OUTPUT.")
def export(style: str, output: Path, fp16: bool, io: str, decompose_instance_norm: bool, size: str | None,
           border_margin: int, overwrite: bool) -> None:
    """Export a style to ONNX (opset 17, dynamic batch; height and width too unless --size).

    The model is checked with onnxruntime against PyTorch (or, without torch, the fp32 graph) on random
    and real images at several sizes, odd ones included, before it replaces OUTPUT; an fp16 model also in
    float16 arithmetic (onnxruntime's CPU provider computes it in float32). The model mirrors
    --border-margin px of picture around each frame and crops them after, as rtstyle does, so that other
    runtimes get the same clean edges from the bare frame.

    \b
    Examples:
      rtstyle export starry-night -o starry-night.onnx
      rtstyle export starry-night -o starry-night_fp16.onnx --fp16
      rtstyle export my.safetensors -o my_trt.onnx --fp16 --decompose-instance-norm
      rtstyle export mosaic -o mosaic_640x480.onnx --size 640x480   # for OpenCV 4's cv2.dnn
    """
    import numpy as np

    from rtstyle.export.exporter import export_style  # onnx and onnxruntime: only when exporting, not on every Tab
    from rtstyle.export.onnx_graph import IO_SUMMARY

    if output.suffix.lower() != ".onnx":
        raise RtstyleError(f"output must be a .onnx file, got {output}")
    fixed_hw = fixed_size(size)
    refuse_to_replace(output, overwrite)  # before the export's work
    clear_leftovers([output], lambda line: click.echo(line, err=True))
    start = time.perf_counter()
    report = export_style(style, output, io=io, fp16=fp16,  # type: ignore[arg-type]
                          decompose_instance_norm=decompose_instance_norm, fixed_hw=fixed_hw,
                          border_margin=border_margin)
    for runtime in dict.fromkeys(c.runtime for c in report.cases):
        cases = [c for c in report.cases if c.runtime == runtime]
        sizes = sorted({f"{c.width}x{c.height}" for c in cases}, key=lambda s: [int(v) for v in s.split("x")])
        click.echo(f"parity vs {report.reference} ({runtime}): max abs diff {max(c.max_diff for c in cases):.2e} "
                   f"(tolerance {report.tolerance:.2e}), mean {np.mean([c.mean_diff for c in cases]):.2e} over "
                   f"{len(cases)} random and real images at {', '.join(sizes)}", err=True)
    mb = report.path.stat().st_size / 1e6
    click.echo(f"wrote {report.path} ({mb:.1f} MB, {'fp16' if fp16 else 'fp32'}"
               f"{', decomposed instance norm' if decompose_instance_norm else ''}) in {time.perf_counter() - start:.1f} s: "
               f"{io} io, {IO_SUMMARY[io]}{'' if fixed_hw is None else f', {size} only'}{margin_words(border_margin)}")
