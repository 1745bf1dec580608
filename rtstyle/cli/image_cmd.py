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
from rtstyle.io.image_jobs import plan_image_jobs
from rtstyle.io.images import read_image, try_read_image, write_image
from rtstyle.realtime.look import Look
from rtstyle.realtime.processing import FrameProcessor


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-s", "--style", required=True, help="Style name (see `rtstyle styles`), a style file or an exported .onnx model.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Output file (one input) or folder. Default: beside each input, named INPUT_STYLE.")
@click.option("--max-size", type=click.IntRange(min=16), help="Downscale so the longer side is at most this.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (without it, one input's existing output is "
                                                "an error, and many inputs' are skipped).")
@look_options
@engine_options
def image(inputs: tuple[str, ...], style: str, output: Path | None, max_size: int | None, overwrite: bool,
          strength: float, keep_colors: bool, backend: str, device: str, precision: str) -> None:
    """Stylize images: files, folders (recursive) and glob patterns.

    \b
    Nothing is overwritten: an input never, an existing output only with
    --overwrite. For a folder, a pattern or several photos, existing outputs
    are skipped (so running the same command again finishes an interrupted
    batch), earlier results in a folder (x_mosaic.jpg beside x.jpg) are left
    alone, and the folder's subfolders are kept under -o.

    \b
    Examples:
      rtstyle image photo.jpg --style mosaic
      rtstyle image photos/ --style candy -o stylized/
      rtstyle image "shots/*.png" --style starry-night --max-size 1280
      rtstyle image portrait.jpg --style candy --strength 0.6 --keep-colors
    """
    import cv2

    plan = plan_image_jobs(inputs, output, style, overwrite)  # every refusal before the (slow) model load
    many = plan.many
    notes = ([f"skipped {plan.existing} already stylized (--overwrite to redo them)"] if plan.existing else []) + \
        ([f"left alone {plan.earlier_results} earlier result(s) of this style"] if plan.earlier_results else [])
    if not plan.jobs:
        click.echo("nothing to do: " + "; ".join(notes))
        return
    stylizer = create_stylizer(style, backend=backend, device=device, precision=precision)
    click.echo(f"style {stylizer.style_name} on {stylizer.description}", err=True)
    stylizer.notify = lambda line: tqdm.write(line, file=sys.stderr)  # e.g. a large photo stylized in tiles
    process = FrameProcessor(stylizer, look=Look(strength, keep_colors))
    unreadable = 0
    start = time.perf_counter()
    for job in tqdm(plan.jobs, unit="img", disable=not many, leave=False):
        frame = try_read_image(job.source) if many else read_image(job.source)
        if frame is None:
            unreadable += 1
            tqdm.write(f"skipped unreadable image: {job.source}")
            continue
        if max_size and max(frame.shape[:2]) > max_size:
            scale = max_size / max(frame.shape[:2])
            frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        write_image(job.target, process(frame))
        if not many:
            click.echo(str(job.target))
    done = len(plan.jobs) - unreadable
    if many:
        notes += [f"skipped {unreadable} unreadable"] if unreadable else []
        click.echo(f"wrote {done} image(s) in {time.perf_counter() - start:.1f} s" + "".join(f"; {n}" for n in notes))
    if done == 0 and not plan.existing:
        raise RtstyleError("none of the inputs could be read as an image")
