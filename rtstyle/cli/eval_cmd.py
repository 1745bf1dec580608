"""`rtstyle eval`: quality metrics of a style on a clip, as a table or JSON."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path

import click
import numpy as np
from tqdm import tqdm

from rtstyle.cli.completion import complete_style
from rtstyle.cli.options import FiniteFloatRange, UserPath, engine_options
from rtstyle.errors import RtstyleError
from rtstyle.flow_methods import FLOW_METHODS
from rtstyle.wording import counted


def _number(value: float | None, digits: str = ".5f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, digits)


def format_table(report: dict) -> str:
    header = ("output", "warping error", "x per-frame", "ghosting")
    rows = [(r["name"], _number(r["warping_error"]), _number(r["vs_per_frame"], ".2f"), _number(r["ghosting"], ".3f"))
            for r in report["rows"]]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_photo_losses(result: dict) -> str:
    # Like the clip's line ("clip.mp4: 36 frames, ..."); it read "photos: 5 (photos)" for a folder named photos.
    return (f"{result['photo_source']}: {counted(result['photos'], 'photo')}; content loss {result['content_loss']:.4g}, "
            f"style loss {result['style_loss']:.4g} (weighted as in training, painting at {result['style_size']} px, "
            f"VGG16 {result['vgg']})")


@click.command(name="eval", short_help="Measure how much a style flickers on a clip.")
@click.argument("clip", type=UserPath(path_type=Path), required=False)
@click.option("-s", "--style", shell_complete=complete_style,
              help="Style name (see `rtstyle styles`), a style file or an exported .onnx model. Default: mosaic, as "
                   "for `image`, `video` and `webcam`.")
@click.option("--stabilize", "strengths", type=FiniteFloatRange(0, 1, max_open=True), multiple=True,
              help="Also score the run-time stabiliser at this strength (repeat to compare several).")
@click.option("--max-frames", type=click.IntRange(min=2), help="Evaluate only the first N frames.")
@click.option("--max-size", type=click.IntRange(min=16), help="Downscale so the longer side is at most this.")
@click.option("--flow", "flow_method", type=click.Choice(FLOW_METHODS), default="dis", show_default=True,
              help="Optical flow on the input frames (DIS medium preset, or Farneback).")
@click.option("--photos", type=UserPath(path_type=Path),
              help="Also measure content and style loss on these photos (folder or file; needs torch and VGG16).")
@click.option("--style-image", type=UserPath(path_type=Path), help="The painting, for the style loss (with --photos).")
@click.option("--style-size", type=click.IntRange(min=16),
              help="Longest side of the painting for the style loss. Default: the size the style was trained with "
                   "(from its metadata), else the painting's own size (training's default).")
@click.option("--vgg-weights", type=UserPath(path_type=Path), help="VGG16 safetensors file (or RTSTYLE_VGG_WEIGHTS).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON instead of a table.")
@engine_options
def eval_command(clip: Path, style: str | None, strengths: tuple[float, ...], max_frames: int | None, max_size: int | None,
                 flow_method: str, photos: Path | None, style_image: Path | None, style_size: int | None,
                 vgg_weights: Path | None, as_json: bool, backend: str, device: str, precision: str) -> None:
    """Measure how much a style flickers on a clip (a video file or a folder of frames).

    Prints the warping error of Lai et al. 2018 (flow and occlusion mask from the input frames, images in
    [0, 1]) for the input itself (the floor), the per-frame output, and the output of the run-time
    stabiliser at each --stabilize strength, with its ghosting (0 = none; a blind blend of strength s
    scores about s). Lower is steadier. See docs/temporal.md.

    With --photos and --style-image it also measures the training objective on photos: content and style
    loss of the outputs, weighted as in training (the style loss against the painting).

    \b
    Examples:
      rtstyle eval clip.mp4 --style mosaic --stabilize 0.5
      rtstyle eval --style mosaic --photos eval_photos/ --style-image mosaic.jpg --vgg-weights vgg16.safetensors
      rtstyle eval frames/ --style candy --stabilize 0.3 --stabilize 0.6 --json
    """
    from rtstyle.engine import create_stylizer
    from rtstyle.realtime.playlist import default_style

    style = style or default_style()
    if clip is None and photos is None:
        raise RtstyleError("give a CLIP (video or folder of frames) and/or --photos")
    if (photos is None) != (style_image is None):
        raise RtstyleError("--photos and --style-image go together (the style loss compares with the painting)")
    frames = _open_clip(clip, max_frames, max_size) if clip is not None else None  # fails before the model loads
    stylizer = create_stylizer(style, backend=backend, device=device, precision=precision)
    click.echo(f"style {stylizer.style_name} on {stylizer.description}", err=True)
    result: dict = {"style": stylizer.style_name}
    if photos is not None and style_image is not None:  # given together (checked above)
        size = style_size if style_size is not None else _trained_painting_size(style)
        result.update(_photo_losses(stylizer, photos, style_image, size, max_size or 512, vgg_weights))
    if clip is not None and frames is not None:
        result.update(_clip_report(frames, clip, stylizer, strengths, max_frames, flow_method, as_json))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    if photos is not None:
        click.echo(format_photo_losses(result))
    if clip is not None:
        click.echo(f"{clip}: {result['frames']} frames, {result['width']}x{result['height']}; style {result['style']}; "
                   f"flow {result['flow']}, {result['mask_coverage']:.0%} of pixels valid")
        click.echo(format_table(result))


def _trained_painting_size(style: str) -> int | None:
    """The painting size of the style's own training objective; None (its own size) for an .onnx model."""
    from rtstyle.engine.onnx_backend import is_onnx_path
    from rtstyle.styles.catalog import find_style, trained_painting_size

    return None if is_onnx_path(style) else trained_painting_size(find_style(style).metadata())


def _photo_losses(stylizer, photos: Path, style_image: Path, style_size: int | None, max_size: int,
                  vgg_weights: Path | None) -> dict:
    from rtstyle.errors import require_torch

    require_torch("content and style loss (--photos)")
    from rtstyle.metrics.perceptual import photo_losses, read_photos
    from rtstyle.train.data import read_style_image, refuse_painting_past_memory
    from rtstyle.train.vgg import load_loss_network

    images = read_photos(photos, max_size)
    style_rgb = read_style_image(style_image, style_size)
    refuse_painting_past_memory(style_rgb.shape)  # its VGG16 features are computed on the CPU
    network, vgg_source = load_loss_network(str(vgg_weights) if vgg_weights else None)
    losses = photo_losses(stylizer, images, style_rgb, network)
    return {**losses.as_dict(), "photo_source": str(photos), "vgg": vgg_source,
            "style_size": max(style_rgb.shape[:2])}


def _open_clip(clip: Path, max_frames: int | None, max_size: int | None) -> Iterator[np.ndarray]:
    """The clip's frames; an unreadable or empty clip fails here, on its first frame."""
    from rtstyle.metrics.clips import iter_clip

    frames = iter_clip(clip, max_frames=max_frames, max_size=max_size)
    first = next(frames, None)
    if first is None:
        raise RtstyleError(f"no frames in {clip}")
    return itertools.chain([first], frames)


def _clip_report(frames: Iterator[np.ndarray], clip: Path, stylizer, strengths: tuple[float, ...],
                 max_frames: int | None, flow_method: str, as_json: bool) -> dict:
    from rtstyle.flow import FlowEstimator
    from rtstyle.metrics.clip_eval import evaluate_clip

    estimator = FlowEstimator(flow_method, preset="medium")  # type: ignore[arg-type]
    click.echo(f"flow {estimator.description}", err=True)
    # None: only on a terminal (a log or a pipe gets no bar lines); never with --json
    with tqdm(unit="frame", total=max_frames, leave=False, disable=as_json or None) as bar:
        report = evaluate_clip(frames, stylizer, sorted(set(strengths)), estimator=estimator, on_frame=bar.update)
    if report.frames < 2:
        raise RtstyleError(f"{clip} has only one frame: the warping error needs at least two")
    return {"clip": str(clip), "style": stylizer.style_name, **report.as_dict()}
