"""`rtstyle image`: stylize photos, folders and globs."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rtstyle.cli.completion import complete_path, complete_style_list
from rtstyle.cli.options import UserPath, engine_options, look_options, output_path
from rtstyle.errors import RtstyleError
from rtstyle.wording import counted, how_long

if TYPE_CHECKING:  # the rest is imported where it runs: listing the options (--help, a Tab) loads no OpenCV
    from rtstyle.cli.style_requests import RequestedStyle
    from rtstyle.io.image_jobs import ImagePlan
    from rtstyle.realtime.look import Look


@click.command()
@click.argument("inputs", nargs=-1, required=True, shell_complete=complete_path)
@click.option("-s", "--style", "style_args", multiple=True, shell_complete=complete_style_list,
              help="Style name (see `rtstyle styles`), a style file or an exported .onnx model. Several: repeat it, "
                   "or separate them with commas; `all` for every usable installed style (fast variants aside). "
                   "Default: mosaic, as for `video` and `webcam`.")
@click.option("-o", "--output", type=UserPath(path_type=Path), callback=output_path,
              help="Output file (one input and one style) or folder. Default: beside each input, named "
                   "INPUT_STYLE.EXT.")
@click.option("--max-size", type=click.IntRange(min=16), help="Downscale so the longer side is at most this.")
@click.option("--contact-sheet", "sheet", type=UserPath(path_type=Path), callback=output_path, metavar="FILE",
              help="Also write one overview image (.jpg, .png...): a row per photo, the photo and then its result in "
                   "each style, labelled; results already there are shown too when marked as rtstyle's.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (without it, one input's existing output is "
                                                "an error, and many inputs' are skipped).")
@look_options
@engine_options
def image(inputs: tuple[str, ...], style_args: tuple[str, ...], output: Path | None, max_size: int | None,
          sheet: Path | None, overwrite: bool, strength: float, keep_colors: bool, stroke_size: float, backend: str,
          device: str, precision: str) -> None:
    """Stylize images: files, folders (recursive) and glob patterns.

    Results keep the photo's format, transparency and colour (ICC) profile, not its EXIF. HEIC photos (an
    iPhone's) are read with `pip install "rtstyle[heic]"`; their results are JPEG. Nothing is overwritten:
    an input never, an existing output only with --overwrite. In a batch (a folder, a pattern, several photos or
    several styles), existing outputs are skipped (so running the same command again finishes an interrupted
    batch), earlier results (x_mosaic.jpg beside x.jpg) are left alone (with --overwrite, redone when rtstyle
    marked them as its results), and a folder's subfolders are kept under -o. A photo too large for the memory
    available is stylized in tiles (--max-size: a downscaled copy, whole); a batch goes on without a photo too
    large even for tiles, and says which.

    \b
    Examples:
      rtstyle image photo.jpg --style mosaic
      rtstyle image photo.jpg --style all          # one result per style
      rtstyle image a.jpg b.jpg -s all --contact-sheet styles.jpg   # and every result on one page
      rtstyle image photos/ --style candy,udnie -o stylized/
      rtstyle image "shots/*.png" --style starry-night --max-size 1280
      rtstyle image portrait.jpg --style candy --strength 0.6 --keep-colors
      rtstyle image big_photo.jpg --style wave --stroke-size 2   # bolder strokes on a large photo
      rtstyle image IMG_0001.HEIC --style candy    # IMG_0001_candy.jpg (needs rtstyle[heic])
    """
    from rtstyle.cli.style_requests import requested_styles
    from rtstyle.io.image_jobs import plan_image_jobs
    from rtstyle.io.images import is_image_name
    from rtstyle.io.result_sheet import check_sheet_path, plan_sheet, write_sheet
    from rtstyle.realtime.look import Look
    from rtstyle.realtime.playlist import default_style
    from rtstyle.styles.catalog import style_names

    if sheet is not None:
        check_sheet_path(sheet, overwrite)
    styles = requested_styles(style_args or (default_style(),), backend)
    if len(styles) > 1 and output is not None and is_image_name(output) and not output.is_dir():
        raise RtstyleError(f"{len(styles)} styles need an output folder, not the file {output}")
    installed = style_names()
    # Every refusal before the first (slow) model load.
    known = [*installed, *(style.name for style in styles)]
    plans = {style: plan_image_jobs(inputs, output, style.name, overwrite, batch=len(styles) > 1,
                                    known_styles=known) for style in styles}
    refuse_shared_targets(plans)
    sheet_rows = plan_sheet(sheet, {style.name: plan for style, plan in plans.items()}) if sheet is not None else []
    look = Look(strength, keep_colors, stroke_size)
    written: set[Path] = set()  # the results of this run: the sheet shows these, and earlier ones only when marked
    failed = [style for style, plan in plans.items()
              if not stylize_images(plan, style, look, max_size, backend=backend, device=device, precision=precision,
                                    results_written=written)]
    if failed:
        raise RtstyleError("none of the inputs could be read as an image")
    if sheet is not None:
        write_sheet(sheet, sheet_rows, [style.name for style in styles], overwrite, written)
        click.echo(str(sheet))


def stylize_images(plan: ImagePlan, style: RequestedStyle, look: Look, max_size: int | None, *, backend: str,
                   device: str, precision: str, results_written: set[Path] | None = None) -> bool:
    """Run one style's plan, adding each result written to `results_written`; False when none of its inputs could
    be read (nor had been done before)."""
    from functools import partial

    import cv2
    import numpy as np
    from tqdm import tqdm

    from rtstyle.engine import create_stylizer
    from rtstyle.engine.base import cancel_model_runs
    from rtstyle.interrupts import answering_stops
    from rtstyle.engine.memory import TooLargeForMemory
    from rtstyle.io.color_profile import read_color_profile
    from rtstyle.io.heif import is_heif_file
    from rtstyle.io.images import (
        ALPHA_SUFFIXES, fill_transparent, frame_count, read_image, read_layout, try_read_image, write_image,
    )
    from rtstyle.io.leftovers import clear_leftovers
    from rtstyle.realtime.processing import FrameProcessor

    notes = plan.notes()
    if not plan.jobs:
        click.echo(f"{style.name}: nothing to do: " + "; ".join(notes), err=True)
        return True
    stylizer = create_stylizer(style.spec, backend=backend, device=device, precision=precision)
    click.echo(f"style {stylizer.style_name} on {stylizer.description}", err=True)
    stylizer.notify = lambda line: tqdm.write(line, file=sys.stderr)  # e.g. a large photo stylized in tiles
    process = FrameProcessor(stylizer, look=look)
    unreadable = written = deep = too_large = 0
    start = time.perf_counter()
    clear_leftovers([job.target for job in plan.jobs], lambda line: click.echo(line, err=True))
    weights = progress_weights([job.source for job in plan.jobs])
    # By pixels, so the time left is right when the sizes differ (by photos it said 20 min with 1 min to go);
    # the photo count in front.
    bar = tqdm(total=sum(weights), unit="px", unit_scale=True, disable=True if plan.photos == 1 else None,
               leave=False, bar_format="{l_bar}{bar}| [{elapsed}<{remaining}, {rate_fmt}]")
    try:
        previous = 0  # the photo before's pixels: counted done when the next one starts, or at the end
        for number, (job, weight) in enumerate(zip(plan.jobs, weights, strict=True), start=1):
            bar.update(previous)
            previous = weight
            bar.set_description_str(f"photo {number} of {len(plan.jobs)}")
            frame = try_read_image(job.source) if plan.photos > 1 else read_image(job.source)
            if frame is None:
                unreadable += 1
                tqdm.write(f"skipped unreadable image: {job.source}", file=sys.stderr)
                continue
            if is_heif_file(job.source) and (shots := frame_count(job.source)) > 1:  # a burst, an edit's original
                tqdm.write(f"{job.source} holds {shots} images: only its primary one is stylized", file=sys.stderr)
            elif job.source.suffix.lower() == ".gif" and (frames := frame_count(job.source)) > 1:
                tqdm.write(f"{job.source} has {frames} frames: only the first is stylized (`rtstyle video "
                           f"{job.source} -o OUT.mp4` stylizes them all)", file=sys.stderr)
            layout = read_layout(job.source, shown=frame)  # its alpha turned as an orientation tag turned the colours
            if layout.bits > 8:
                deep += 1
            alpha = layout.alpha
            if max_size and max(frame.shape[:2]) > max_size:
                scale = max_size / max(frame.shape[:2])
                frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                alpha = cv2.resize(alpha, frame.shape[1::-1], interpolation=cv2.INTER_AREA) if alpha is not None else None
            try:
                if alpha is not None and job.target.suffix.lower() in ALPHA_SUFFIXES:  # transparent stays so
                    filled = fill_transparent(frame, alpha)
                    result = np.dstack([answering_stops(partial(process, filled), cancel_model_runs), alpha])
                else:  # a result without alpha shows what the file holds under its transparency: stylized as it is
                    result = answering_stops(partial(process, frame), cancel_model_runs)
                    if alpha is not None and int(alpha.min()) < 255:  # lost without a word before
                        tqdm.write(f"{job.source}'s transparency is not kept in {job.target.suffix} "
                                   f"(.png, .webp and .tiff keep it)", file=sys.stderr)
            except TooLargeForMemory as exc:
                if plan.photos == 1:
                    raise
                too_large += 1  # one photo too large is no reason to leave the rest of a batch undone
                tqdm.write(f"skipped {job.source}: {exc}", file=sys.stderr)
                continue
            # The pixels keep the photo's encoding, so the result keeps its colour profile (Display P3 stays P3).
            write_image(job.target, result, profile=read_color_profile(job.source), overwrite=plan.overwrite,
                        result_of=style.name)
            if results_written is not None:
                results_written.add(job.target)
            written += 1
            tqdm.write(str(job.target), file=sys.stdout)  # every result's path on stdout, as video batches say theirs
        bar.update(previous)
    except KeyboardInterrupt:
        if plan.photos > 1:  # every result written so far is whole (atomic writes): say how far it got
            tqdm.write(f"{style.name}: stopped after {written} of {counted(len(plan.jobs), 'image')}; the same command "
                       "finishes the rest", file=sys.stderr)
        raise
    finally:
        bar.close()
        stylizer.close()
    done = len(plan.jobs) - unreadable - too_large
    if deep:  # said, not hidden: the networks and the result files work at 8 bits per channel
        click.echo(f"{style.name}: {counted(deep, 'photo')} had more than 8 bits per channel; {'its result has' if deep == 1 else 'their results have'} 8",
                   err=True)
    if plan.photos == 1 and plan.unsupported:  # a folder of one photo and a few HEICs: the batch line is not shown
        click.echo(f"{style.name}: {plan.unsupported}", err=True)
    if plan.photos > 1:
        notes += [f"skipped {unreadable} unreadable"] if unreadable else []
        notes += [f"skipped {too_large} too large for the memory available (see above)"] if too_large else []
        click.echo(f"{style.name}: wrote {counted(done, 'image')} in {how_long(time.perf_counter() - start)}"
                   + "".join(f"; {n}" for n in notes), err=True)
    if too_large and not done:
        raise RtstyleError(f"{style.name}: none of the photos fits in the memory available (see above): use --max-size")
    return done > 0 or plan.existing + plan.existing_inputs + plan.named_results + plan.earlier_results > 0


def progress_weights(paths: list[Path]) -> list[int]:
    """Each photo's share of a batch's work: its pixels, read from the header (JPEG, PNG); the mean of those for
    the others (or 1 each when none could be read)."""
    from rtstyle.io.images import stored_pixels

    pixels = [stored_pixels(path) for path in paths]
    known = [p for p in pixels if p]
    fill = sum(known) // len(known) if known else 1
    return [p or fill for p in pixels]


def refuse_shared_targets(plans: dict[RequestedStyle, ImagePlan]) -> None:
    """Two styles writing one file (style `my_style` on x.jpg, style `style` on x_my.jpg) would lose a result."""
    from rtstyle.io.image_jobs import name_key

    writers: dict[str, str] = {}
    for style, plan in plans.items():
        for job in plan.jobs:
            key = name_key(job.target)
            if key in writers:
                raise RtstyleError(f"{job.target} would be written by both {writers[key]} and {style.name}: "
                                   "run them separately")
            writers[key] = style.name
