"""Which file each input image of `rtstyle image` is written to, decided before any model loads.

The rules protect what the user has:
- an input is never overwritten (inputs are compared as files on disk, so another spelling, letter case or link
  to the same file counts);
- an existing output is kept unless --overwrite: for one named photo that is an error; in a batch (a folder, a
  pattern, several photos or several styles) it is skipped, so running the same command again finishes an
  interrupted batch;
- in a batch, a photo named like the result of another (x_candy.jpg beside x.jpg, for any installed style) is an
  earlier result and is not stylized again; found in a folder, --overwrite may replace it; named on the command
  line, never;
- a folder tree written to an output folder keeps its subfolders;
- a result keeps its photo's format (x.tif -> x_candy.tif), so the name depends only on the photo and the style.
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
    many: bool  # a batch (several photos, or several styles): existing outputs are skipped
    photos: int  # how many were found
    jobs: list[ImageJob] = field(default_factory=list)
    existing: int = 0  # outputs already there, kept (no --overwrite)
    earlier_results: int = 0  # photos named like a result of another photo, left alone
    kept_inputs: int = 0  # photos whose result name is a file named as an input: not replaced

    def notes(self) -> list[str]:
        return ([f"skipped {self.existing} already stylized (--overwrite to redo them)"] if self.existing else []) + \
            ([f"left alone {self.earlier_results} earlier result(s)"] if self.earlier_results else []) + \
            ([f"skipped {self.kept_inputs} whose result would replace a file you named"] if self.kept_inputs else [])


def result_name(source: Path, style: str, tag: str = "") -> str:
    """photo.jpg -> photo_STYLE.jpg, in the photo's own format; `tag` tells apart names that clash anyway."""
    return f"{source.stem}{tag}_{style}{source.suffix}"


def plan_image_jobs(inputs: Sequence[str], output: Path | None, style: str, overwrite: bool, *,
                    batch: bool = False, known_styles: Sequence[str] = ()) -> ImagePlan:
    """`style`: the name results are given (a style's canonical name); `batch`: treat even one named photo as a
    batch (several styles); `known_styles`: the styles whose results count as earlier results (all installed)."""
    found = find_images(inputs)
    if not found:
        raise RtstyleError("no images found in the given inputs")
    many = batch or len(found) > 1 or not found[0].named
    if output is not None and many and output.suffix and is_image_path(output):
        raise RtstyleError(f"{len(found)} inputs need an output folder, not the file {output}")
    targets = _distinct_targets(found, output, style, many)
    if output is not None and not many and not is_image_path(targets[found[0].path]):
        raise RtstyleError(f"unsupported output image format {output.suffix!r}: use one of {sorted(IMAGE_SUFFIXES)}")
    earlier = _earlier_results(found, [style, *known_styles]) if many else set()
    protected = {_file_key(image.path) for image in found if image.named or image.path not in earlier}
    plan = ImagePlan(many=many, photos=len(found), earlier_results=len(earlier))
    for image in found:
        if image.path in earlier:
            continue
        target = targets[image.path]
        if target.exists():
            if _file_key(target) in protected:
                if not many:
                    raise RtstyleError(f"the output {target} would replace an input: choose another -o")
                plan.kept_inputs += 1
                continue
            if not overwrite:
                if not many:
                    refuse_to_replace(target, overwrite)
                plan.existing += 1
                continue
        plan.jobs.append(ImageJob(image.path, target))
    return plan


def _earlier_results(found: list[FoundImage], styles: Sequence[str]) -> set[Path]:
    """Inputs named STEM_STYLE where another input is named STEM (letter case ignored), wherever they lie."""
    stems = {image.path.stem.casefold() for image in found}
    endings = {f"_{Path(style).stem}".casefold() for style in styles}
    earlier = set()
    for image in found:
        stem = image.path.stem.casefold()
        if any(stem.endswith(ending) and stem[: -len(ending)] in stems for ending in endings):
            earlier.add(image.path)
    return earlier


def _distinct_targets(found: list[FoundImage], output: Path | None, style: str, many: bool) -> dict[Path, Path]:
    """Each input's output; should two still clash (names differing only in letter case), the later one is
    numbered."""
    targets: dict[Path, Path] = {}
    taken: set[str] = set()
    for image in found:
        target = _target(image, output, style, many, "")
        number = 2
        while _name_key(target) in taken:
            target = _target(image, output, style, many, f"_{number}")
            number += 1
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
