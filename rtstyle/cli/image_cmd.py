"""`rtstyle image`: stylize photos, folders and globs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from tqdm import tqdm

from rtstyle.cli.options import engine_options, look_options
from rtstyle.engine import create_stylizer
from rtstyle.errors import RtstyleError
from rtstyle.io.images import expand_image_inputs, is_image_path, read_image, try_read_image, write_image
from rtstyle.realtime.look import Look
from rtstyle.realtime.processing import FrameProcessor


def output_path_for(source: Path, output: Path | None, style: str, many: bool) -> Path:
    """Where one input's result goes: next to it by default, into OUTPUT when that is a folder."""
    default_name = f"{source.stem}_{Path(style).stem}.jpg" if source.suffix.lower() in {".jpg", ".jpeg"} \
        else f"{source.stem}_{Path(style).stem}.png"
    if output is None:
        return source.with_name(default_name)
    if many or output.is_dir() or not output.suffix:
        return output / default_name
    return output


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-s", "--style", required=True, help="Style name (see `rtstyle styles`), a style file or an exported .onnx model.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Output file (one input) or folder. Default: beside each input, named INPUT_STYLE.")
@click.option("--max-size", type=click.IntRange(min=16), help="Downscale so the longer side is at most this.")
@look_options
@engine_options
def image(inputs: tuple[str, ...], style: str, output: Path | None, max_size: int | None, strength: float,
          keep_colors: bool, backend: str, device: str, precision: str) -> None:
    """Stylize images: files, folders (recursive) and glob patterns.

    \b
    Examples:
      rtstyle image photo.jpg --style mosaic
      rtstyle image photos/ --style candy -o stylized/
      rtstyle image "shots/*.png" --style starry-night --max-size 1280
      rtstyle image portrait.jpg --style candy --strength 0.6 --keep-colors
    """
    import cv2

    paths = expand_image_inputs(inputs)
    if not paths:
        raise RtstyleError("no images found in the given inputs")
    many = len(paths) > 1
    if output is not None and many and output.suffix and is_image_path(output):
        raise RtstyleError(f"{len(paths)} inputs need an output folder, not the file {output}")
    stylizer = create_stylizer(style, backend=backend, device=device, precision=precision)
    click.echo(f"style {stylizer.style_name} on {stylizer.description}", err=True)
    stylizer.notify = lambda line: tqdm.write(line, file=sys.stderr)  # e.g. a large photo stylized in tiles
    process = FrameProcessor(stylizer, look=Look(strength, keep_colors))
    skipped = 0
    start = time.perf_counter()
    for path in tqdm(paths, unit="img", disable=not many, leave=False):
        frame = try_read_image(path) if many else read_image(path)
        if frame is None:
            skipped += 1
            tqdm.write(f"skipped unreadable image: {path}")
            continue
        if max_size and max(frame.shape[:2]) > max_size:
            scale = max_size / max(frame.shape[:2])
            frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        target = output_path_for(path, output, style, many)
        write_image(target, process(frame))
        if not many:
            click.echo(str(target))
    done = len(paths) - skipped
    if many:
        click.echo(f"wrote {done} image(s) in {time.perf_counter() - start:.1f} s"
                   + (f"; skipped {skipped} unreadable" if skipped else ""))
    if done == 0:
        raise RtstyleError("none of the inputs could be read as an image")
