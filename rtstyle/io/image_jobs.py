"""Which file each input image of `rtstyle image` is written to, decided before any model loads.

The rules protect what the user has: an input is never overwritten; an existing output is kept unless --overwrite
(one input: an error; many: skipped, so re-running an interrupted folder finishes it); results of an earlier run
lying among the inputs (x_mosaic.jpg beside x.jpg) are not stylized again; and a folder tree written to an output
folder keeps its subfolders, so that photos of the same name never overwrite each other's results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import refuse_to_replace
from rtstyle.io.images import IMAGE_SUFFIXES, expand_image_inputs_with_roots, is_image_path


@dataclass(frozen=True)
class ImageJob:
    source: Path
    target: Path


@dataclass
class ImagePlan:
    jobs: list[ImageJob] = field(default_factory=list)
    existing: int = 0  # outputs already there, kept (no --overwrite)
    earlier_results: int = 0  # inputs that are this style's own earlier outputs, left alone


def result_name(source: Path, style: str) -> str:
    """photo.jpg -> photo_STYLE.jpg; other formats -> photo_STYLE.png (lossless)."""
    suffix = ".jpg" if source.suffix.lower() in {".jpg", ".jpeg"} else ".png"
    return f"{source.stem}_{Path(style).stem}{suffix}"


def plan_image_jobs(inputs: Sequence[str], output: Path | None, style: str, overwrite: bool) -> ImagePlan:
    found = expand_image_inputs_with_roots(inputs)
    if not found:
        raise RtstyleError("no images found in the given inputs")
    many = len(found) > 1
    if output is not None and many and output.suffix and is_image_path(output):
        raise RtstyleError(f"{len(found)} inputs need an output folder, not the file {output}")
    targets = {source: _target(source, root, output, style, many) for source, root in found}
    if output is not None and not many and not is_image_path(targets[found[0][0]]):
        raise RtstyleError(f"unsupported output image format {output.suffix!r}: use one of {sorted(IMAGE_SUFFIXES)}")
    planned = {target.resolve() for target in targets.values()}
    # x_mosaic.jpg among many inputs is what x.jpg becomes: an earlier result, not an input of its own.
    earlier = {source for source in targets if many and source.resolve() in planned}
    sources = {source.resolve() for source in targets if source not in earlier}
    plan = ImagePlan(earlier_results=len(earlier))
    writers: dict[Path, Path] = {}
    for source, target in targets.items():
        if source in earlier:
            continue
        if target.resolve() in sources:
            raise RtstyleError(f"the output {target} would replace an input: choose another -o")
        if target.resolve() in writers:
            raise RtstyleError(f"{writers[target.resolve()]} and {source} would both be written to {target}")
        writers[target.resolve()] = source
        if target.exists() and not overwrite:
            if not many:
                refuse_to_replace(target, overwrite)
            plan.existing += 1
            continue
        plan.jobs.append(ImageJob(source, target))
    return plan


def _target(source: Path, root: Path, output: Path | None, style: str, many: bool) -> Path:
    if output is None:
        return source.with_name(result_name(source, style))
    if many or output.is_dir() or not output.suffix:
        try:
            subfolder = source.parent.relative_to(root)
        except ValueError:  # not under its root (cannot happen for what expand finds; kept flat to be safe)
            subfolder = Path()
        return output / subfolder / result_name(source, style)
    return output
