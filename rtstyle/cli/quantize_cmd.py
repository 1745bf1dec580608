"""`rtstyle quantize`: export a style as a static int8 ONNX model, calibrated on photos."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
from tqdm import tqdm

from rtstyle.cli.completion import complete_style
from rtstyle.cli.export_cmd import border_margin_option, fixed_size, margin_words
from rtstyle.cli.options import UserPath, output_path
from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import refuse_to_replace
from rtstyle.io.leftovers import clear_leftovers
from rtstyle.wording import counted


@click.command(short_help="Export a style as an int8 ONNX model for CPUs.")
@click.argument("style", shell_complete=complete_style)
@click.option("-o", "--output", type=UserPath(path_type=Path), callback=output_path,
              help="Output .onnx file. Default: STYLE-int8.onnx in the current folder.")
@click.option("--calibration", multiple=True, type=UserPath(path_type=Path),
              help="Photo, or folder of photos, to calibrate on (repeatable). Default: the bundled photo and "
                   "frames of the bundled clip.")
@click.option("--size", metavar="WIDTHxHEIGHT",
              help="A model for this frame size only (default: any size), for OpenCV 4's DNN module; the "
                   "calibration photos are scaled and centre-cropped to it.")
@border_margin_option
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
def quantize(style: str, output: Path | None, calibration: tuple[Path, ...], size: str | None,
             border_margin: int, overwrite: bool) -> None:
    """Export STYLE as an int8 ONNX model for CPUs: uint8 BGR frames (NHWC) in and out.

    Only the convolutions are quantised (static QDQ, per-channel weights); instance norm and the
    pre/post-processing stay float, and so does the --border-margin the model mirrors around each
    frame. `--precision int8` does the same on the fly with the bundled calibration set (and no margin
    in the graph: rtstyle adds its own). On CPUs without VNNI, int8 pays off for `johnson` but not for
    the fast archs (docs/benchmarks.md).

    \b
    Examples:
      rtstyle quantize mosaic
      rtstyle quantize my-style.safetensors -o my-style-int8.onnx --calibration photos/
      rtstyle quantize mosaic --size 640x480 -o mosaic-int8-640x480.onnx   # for OpenCV 4's cv2.dnn
    """
    from rtstyle.engine.onnx_cache import onnx_for_style, style_onnx
    from rtstyle.export.exporter import refuse_size_beyond_memory
    from rtstyle.export.onnx_graph import IO_SUMMARY
    from rtstyle.models.registry import create_spec
    from rtstyle.export.quantize import (bundled_calibration_frames, calibration_frames_from, cover_and_crop,
                                         quantize_frame_model)
    from rtstyle.styles.catalog import find_style

    entry = find_style(style)
    loaded = entry.load()  # validate the style file before building anything from it
    fixed_hw = fixed_size(size)
    refuse_size_beyond_memory(create_spec(loaded.arch, **loaded.arch_kwargs), fixed_hw, border_margin)
    output = output if output is not None else Path(f"{entry.name}-int8.onnx")
    if output.suffix.lower() != ".onnx":
        raise RtstyleError(f"output must be an .onnx file, got {output}")
    refuse_to_replace(output, overwrite)
    clear_leftovers([output], lambda line: click.echo(line, err=True))
    frames = calibration_frames_from(calibration) if calibration else bundled_calibration_frames()
    if fixed_hw is not None:
        frames = [cover_and_crop(frame, fixed_hw) for frame in frames]
    start = time.perf_counter()
    click.echo(f"quantising {entry.name} on {counted(len(frames), 'calibration frame')} ...", err=True)
    with tempfile.TemporaryDirectory(prefix="rtstyle-quantize-") as scratch:
        if fixed_hw is None and border_margin == 0:
            float_model = onnx_for_style(entry.path, io="frame")
        else:  # not cached: the cached models have no margin (rtstyle adds its own), and a size is one user's choice
            float_model = Path(scratch) / "float.onnx"
            float_model.write_bytes(style_onnx(loaded, io="frame", fixed_hw=fixed_hw,
                                               border_margin=border_margin).SerializeToString())
        with tqdm(total=len(frames), unit="frame", desc="calibrating", leave=False,
                  disable=None) as bar:  # None: only on a terminal
            quantize_frame_model(float_model, output, frames, on_frame=bar.update)
    # the same closing line as export's: what the model takes, for a user of another runtime
    click.echo(f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB, int8) in {time.perf_counter() - start:.1f} s: "
               f"frame io, {IO_SUMMARY['frame']}{'' if fixed_hw is None else f', {size} only'}"
               f"{margin_words(border_margin)}")
