"""Which file each input image of `rtstyle image` is written to, decided before any model loads.

The rules protect what the user has: an input is never overwritten (compared as files on disk, so a different
spelling or letter case of the same file counts); an existing output is kept unless --overwrite (one named photo:
an error; a folder, a pattern or several photos: skipped, so running the same command again finishes an
interrupted batch); results of earlier runs found among a folder's photos (x_mosaic.jpg or x_candy.jpg beside
x.jpg) are not stylized again; a folder tree written to an output folder keeps its subfolders; and two inputs that
would get the same result name (x.png and x.tif) get distinct ones.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import refuse_to_replace
from rtstyle.io.images import IMAGE_SUFFIXES, FoundImage, find_images, is_image_path


@dataclass(frozen=True)
class ImageJob:
    source: Path
    target: Path


@dataclass
class ImagePlan:
    many: bool  # a batch (a folder, a pattern or several photos): progress bar, summary line, skip what exists
    jobs: list[ImageJob] = field(default_factory=list)
    existing: int = 0  # outputs already there, kept (no --overwrite)
    earlier_results: int = 0  # photos in a folder that are this style's own earlier outputs, left alone


def result_name(source: Path, style: str, tag: str = "") -> str:
    """photo.jpg -> photo_STYLE.jpg; other formats -> photo_STYLE.png (lossless); `tag` tells clashes apart."""
    suffix = ".jpg" if source.suffix.lower() in {".jpg", ".jpeg"} else ".png"
    return f"{source.stem}{tag}_{Path(style).stem}{suffix}"


def plan_image_jobs(inputs: Sequence[str], output: Path | None, style: str, overwrite: bool,
                    other_styles: Sequence[str] = ()) -> ImagePlan:
    """`other_styles`: styles whose results in a folder are earlier results too (x_candy.jpg is not a photo to
    stylize with mosaic), normally every installed style."""
    found = find_images(inputs)
    if not found:
        raise RtstyleError("no images found in the given inputs")
    many = len(found) > 1 or not found[0].named
    if output is not None and many and output.suffix and is_image_path(output):
        raise RtstyleError(f"{len(found)} inputs need an output folder, not the file {output}")
    targets = _distinct_targets(found, output, style, many)
    if output is not None and not many and not is_image_path(targets[found[0].path]):
        raise RtstyleError(f"unsupported output image format {output.suffix!r}: use one of {sorted(IMAGE_SUFFIXES)}")
    planned = {_name_key(target) for target in targets.values()}
    for other in other_styles:
        planned |= {_name_key(target) for target in _distinct_targets(found, output, other, many).values()}
    # x_mosaic.jpg found in a folder is what x.jpg becomes: an earlier result, not a photo of its own. A file
    # named on the command line is always a photo (and so never overwritten).
    earlier = {image.path for image in found if not image.named and _name_key(image.path) in planned}
    protected = {_file_key(image.path) for image in found if image.path not in earlier}
    plan = ImagePlan(many=many, earlier_results=len(earlier))
    for image in found:
        if image.path in earlier:
            continue
        target = targets[image.path]
        if target.exists():
            if _file_key(target) in protected:
                raise RtstyleError(f"the output {target} would replace an input: choose another -o")
            if not overwrite:
                if not many:
                    refuse_to_replace(target, overwrite)
                plan.existing += 1
                continue
        plan.jobs.append(ImageJob(image.path, target))
    return plan


def _distinct_targets(found: list[FoundImage], output: Path | None, style: str, many: bool) -> dict[Path, Path]:
    """Each input's output; an input whose name is taken (x.tif after x.png) is tagged with its format."""
    targets: dict[Path, Path] = {}
    taken: set[str] = set()
    for image in found:
        target = _target(image, output, style, many, "")
        tags = iter([f"_{image.path.suffix.lstrip('.').lower()}", *(f"_{n}" for n in range(2, 10_000))])
        while _name_key(target) in taken:
            target = _target(image, output, style, many, next(tags))
        taken.add(_name_key(target))
        targets[image.path] = target
    return targets


def _target(image: FoundImage, output: Path | None, style: str, many: bool, tag: str) -> Path:
    name = result_name(image.path, style, tag)
    if output is None:
        return image.path.with_name(name)
    if many or output.is_dir() or not output.suffix:
        try:
            subfolder = image.path.parent.relative_to(image.root)
        except ValueError:  # not under its root (cannot happen for what find_images returns; kept flat to be safe)
            subfolder = Path()
        return output / subfolder / name
    return output


def _name_key(path: Path) -> str:
    """A path compared as a name, letter case ignored: two outputs that differ only in case would be one file
    on macOS and Windows."""
    return os.path.normcase(os.path.abspath(path)).casefold()


def _file_key(path: Path) -> tuple[int, int]:
    """The file itself (device, inode): the same for every spelling, letter case or link that reaches it."""
    stat = path.stat()
    return stat.st_dev, stat.st_ino
