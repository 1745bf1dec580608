"""`rtstyle demo`: the first thing a new user runs. Offline, no camera, no torch: stylizes the bundled
clip and photo with a few built-in styles, writes the results and a contact sheet, and says how fast it ran."""

from __future__ import annotations

import time
from pathlib import Path

import click

from rtstyle.cli.completion import complete_style_list
from rtstyle.cli.options import FiniteFloatRange, UserPath, engine_options
from rtstyle.errors import RtstyleError
from rtstyle.paths import package_assets_dir

ASSETS = package_assets_dir()
DEMO_CLIP = ASSETS / "cutBunny.mp4"  # "Big Buck Bunny" (c) Blender Foundation, CC-BY-3.0
DEMO_PHOTO = ASSETS / "astronaut.png"  # NASA, public domain
# The boldest looks first (docs/styles.png); udnie, composition-vii and shipwreck, the subtler ones, follow.
PREFERRED = ("mosaic", "candy", "starry-night", "rain-princess", "the-scream", "wave")


def default_demo_styles(count: int) -> list[str]:
    from rtstyle.styles.catalog import list_styles, without_fast_variants

    builtin = without_fast_variants([e.name for e in list_styles() if e.source == "built-in"])
    if not builtin:
        raise RtstyleError("no built-in styles are installed: reinstall rtstyle, or pass --styles PATH.safetensors")
    ordered = [n for n in PREFERRED if n in builtin] + [n for n in builtin if n not in PREFERRED]
    return ordered[:count]


@click.command(short_help="Stylize the bundled clip and photo with built-in styles.")
@click.option("-o", "--output-dir", type=UserPath(file_okay=False, path_type=Path), default=Path("rtstyle-demo"),
              show_default=True, help="Where the results go. A later demo replaces the files an earlier one wrote "
                                      "there, and nothing else.")
@click.option("--styles", "styles_text", metavar="A,B,...", shell_complete=complete_style_list, help="Styles to show (default: up to --count built-ins).")
@click.option("--count", type=click.IntRange(1, 20), default=3, show_default=True, help="How many built-in styles.")
@click.option("--seconds", type=FiniteFloatRange(0.5, 10), default=3.0, show_default=True,
              help="How much of the bundled 10 s clip to convert.")
@click.option("--max-size", type=click.IntRange(min=64), default=360, show_default=True,
              help="Longer side of the demo video (the clip is 640x360).")
@engine_options
def demo(output_dir: Path, styles_text: str | None, count: int, seconds: float, max_size: int,
         backend: str, device: str, precision: str) -> None:
    """Stylize the bundled clip and photo with built-in styles; write videos, photos and a contact sheet.

    Runs offline and needs no camera. The clip is an excerpt of "Big Buck Bunny" (c) Blender Foundation,
    CC-BY-3.0; the photo is NASA's (public domain).
    """
    import cv2

    from rtstyle.engine import create_stylizer
    from rtstyle.cli.style_requests import requested_styles
    from rtstyle.io.contact_sheet import contact_sheet
    from rtstyle.io.images import read_image, write_image
    from rtstyle.io.owned_folder import OwnedFolder
    from rtstyle.realtime.convert import ConvertOptions, convert_video
    from rtstyle.realtime.processing import FrameProcessor

    if not DEMO_CLIP.is_file() or not DEMO_PHOTO.is_file():
        raise RtstyleError(f"the bundled demo media are missing from {ASSETS}: reinstall rtstyle")
    styles = requested_styles((styles_text or ",".join(default_demo_styles(count)),), backend)
    sheet_path = output_dir / "contact_sheet.jpg"
    # Every file the demo writes, checked before any work: the user's own files in the folder are never replaced.
    results = [name for style in styles for name in (f"astronaut_{style.name}.jpg", f"bunny_{style.name}.mp4")]
    OwnedFolder(output_dir, "rtstyle demo").claim([sheet_path.name, *results])
    photo = read_image(DEMO_PHOTO)
    photo = cv2.resize(photo, None, fx=384 / max(photo.shape[:2]), fy=384 / max(photo.shape[:2]),
                       interpolation=cv2.INTER_AREA)
    clip_frame = _frame_at(DEMO_CLIP, seconds / 2, max_size)
    rows: list[list] = [[photo], [clip_frame]]
    summary = []
    for style in styles:
        stylizer = create_stylizer(style.spec, backend=backend, device=device, precision=precision)
        try:
            click.echo(f"{style.name}: {stylizer.description}", err=True)
            start = time.perf_counter()
            stylized_photo = stylizer(photo)
            photo_ms = (time.perf_counter() - start) * 1000
            write_image(output_dir / f"astronaut_{style.name}.jpg", stylized_photo)
            result = convert_video(
                ConvertOptions(source=DEMO_CLIP, target=output_dir / f"bunny_{style.name}.mp4",
                               duration=seconds, max_size=max_size, overwrite=True),  # claimed above
                FrameProcessor(stylizer))
            rows[0].append(stylized_photo)
            rows[1].append(stylizer(clip_frame))
            summary.append((style.name, result.frames / result.seconds, photo_ms, result.path))
        finally:
            stylizer.close()
    write_image(sheet_path, contact_sheet(rows, col_labels=["original", *[s[0] for s in summary]]))
    click.echo(f"\n{'style':<16} {'video fps':>9} {'photo ms':>9}  output")
    for name, fps, photo_ms, path in summary:
        click.echo(f"{name:<16} {fps:>9.1f} {photo_ms:>9.0f}  {path}")
    click.echo(f"contact sheet: {sheet_path}")
    # CC-BY asks for the credit wherever the adapted clips go (the credits file is installed beside the clip).
    click.echo(f'the clips are adapted from "Big Buck Bunny" (c) Blender Foundation, CC-BY-3.0: credit it when you '
               f"share them ({ASSETS / 'CREDITS.md'})")
    click.echo("next: `rtstyle webcam --style mosaic`, `rtstyle video IN.mp4 -o OUT.mp4 --style candy`, "
               "`rtstyle styles`")


def _frame_at(path: Path, seconds: float, max_size: int):
    import cv2

    from rtstyle.io.av_files import open_file
    from rtstyle.io.frames import frame_to_bgr

    with open_file(path) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= seconds:
                image = frame_to_bgr(frame)
                break
        else:
            raise RtstyleError(f"cannot read a frame from {path}")
    scale = min(1.0, max_size / max(image.shape[:2]))
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
