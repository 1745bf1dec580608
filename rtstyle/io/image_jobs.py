"""Which file each input image of `rtstyle image` is written to, decided before any model loads.

The rules protect what the user has:
- no input is ever overwritten, --overwrite or not (inputs are compared as files on disk, so another spelling,
  letter case or link to the same file counts); --overwrite replaces results that are not among the inputs;
- an existing result is kept unless --overwrite: for one named photo that is an error; in a batch (a folder, a
  pattern, several photos or several styles) it is skipped, so running the same command again finishes an
  interrupted batch;
- in a batch, a photo named like the result of another photo in its folder (x_candy.jpg beside x.jpg, for any
  installed or requested style) is taken for an earlier result: not stylized. It is replaced (with --overwrite)
  only when it is one: found in a folder or by a pattern, not named on the command line, and marked in its file as
  rtstyle's result (rtstyle.io.result_marker: results are marked as they are written). Without the mark it may be
  a real photo (beach_wave.jpg beside beach.jpg), or a result of an rtstyle from before the mark, or a BMP: an
  input, never replaced;
- results keep the photo's format (x.tif -> x_candy.tif; a HEIC -> .jpg; a GIF or AVIF -> .png), and under -o
  the photos' subfolders, so a result's name depends only on its photo and style;
- two results that would be one file (names differing only in letter case on macOS or Windows) are refused.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import file_key, probe_writable, refuse_to_replace, result_stem
from rtstyle.io.earlier_results import earlier_results
from rtstyle.io.found_files import below_output
from rtstyle.io.images import (
    FoundImage, find_images, how_to_read, is_image_name, is_image_path, result_suffix, unreadable_reason,
    unsupported_kind, unsupported_photos, unwritable_format,
)
from rtstyle.io.result_marker import is_rtstyle_result
from rtstyle.wording import counted

CASE_INSENSITIVE_FILES = sys.platform in ("darwin", "win32")  # their default file systems


@dataclass(frozen=True)
class ImageJob:
    source: Path
    target: Path


@dataclass
class ImagePlan:
    many: bool  # a batch (several photos, or several styles): existing outputs are skipped
    photos: int  # how many were found
    overwrite: bool = False
    jobs: list[ImageJob] = field(default_factory=list)
    # Every photo's result, to be written now or there already (earlier results aside), in the photos' order:
    # what --contact-sheet shows.
    results: list[ImageJob] = field(default_factory=list)
    input_keys: frozenset[tuple[int, int]] = frozenset()  # the photos found, as files on disk (atomic.file_key)
    existing: int = 0  # results already there, kept (no --overwrite)
    existing_inputs: int = 0  # results already there that are inputs too (beside their photos), unmarked: kept
    named_results: int = 0  # marked results already there, but named on the command line (inputs): kept
    earlier_results: int = 0  # other photos named like a result of a photo in their folder, left alone
    unwritable: int = 0  # photos whose results' folder cannot be written (read-only), left out of a batch
    unsupported: str = ""  # the folders' photos in formats that are not read (HEIC...), said

    def notes(self) -> list[str]:
        notes = [f"skipped {self.existing} already stylized (--overwrite to redo them)"] if self.existing else []
        if self.overwrite:  # said why they are kept, and how to redo them
            if self.existing_inputs:
                notes.append(f"skipped {self.existing_inputs} already stylized beside their photos (not marked as "
                             "rtstyle's results, as photos and an older rtstyle's results are not: inputs are never "
                             "replaced, delete them to redo them)")
            if self.named_results:
                notes.append(f"skipped {self.named_results} already stylized beside their photos (named on the "
                             "command line, and inputs are never replaced: give their folder or a quoted pattern "
                             "to redo them)")
        elif self.existing_inputs + self.named_results:
            notes.append(f"skipped {self.existing_inputs + self.named_results} already stylized beside their photos")
        if self.earlier_results:
            notes.append(f"left alone {counted(self.earlier_results, 'earlier result')} "
                         "(named PHOTO_STYLE beside its photo)")
        if self.unwritable:
            notes.append(f"skipped {self.unwritable} whose folder cannot be written (-o DIR puts results elsewhere)")
        if self.unsupported:
            notes.append(self.unsupported)
        return notes


def _unsupported_list(counts: dict[str, int]) -> str:
    """'3 HEIC photos and 1 camera raw photo'."""
    return " and ".join(counted(n, f"{kind} photo") for kind, n in sorted(counts.items()))


def _unsupported_note(counts: dict[str, int]) -> str:
    return f"skipped {_unsupported_list(counts)} (not supported here: {how_to_read(counts)})"


def result_name(source: Path, style: str) -> str:
    """photo.jpg -> photo_STYLE.jpg, in the photo's own format (photo.heic -> photo_STYLE.jpg, .png for a GIF)."""
    return f"{result_stem(source.stem, style)}{result_suffix(source)}"


def plan_image_jobs(inputs: Sequence[str], output: Path | None, style: str, overwrite: bool, *,
                    batch: bool = False, known_styles: Sequence[str] = ()) -> ImagePlan:
    """`style`: the name results are given (a style's canonical name); `batch`: treat even one named photo as a
    batch (several styles); `known_styles`: the styles whose results count as earlier results."""
    found = find_images(inputs)
    if output is not None and output.is_dir():  # -o inside an input folder: its results are not photos
        found = [image for image in found if image.named or not below_output(image, output)]
    folders = [Path(item) for item in inputs if Path(item).is_dir()]
    unsupported = unsupported_photos(folders) if folders else {}
    if not found:
        raise RtstyleError("no images found in the given inputs" + (
            f" ({_unsupported_list(unsupported)}: not supported here, {how_to_read(unsupported)})" if unsupported
            else ""))
    many = batch or len(found) > 1 or not found[0].named
    if not many and unsupported_kind(found[0].path):  # said before the model loads, not after
        raise RtstyleError(unreadable_reason(found[0].path))
    if output is not None and many and is_image_name(output) and not output.is_dir():
        # Not "N inputs": N would count earlier results too, which are found here but never stylized.
        raise RtstyleError(f"a batch (a folder, a pattern or several photos) needs an output folder, not the file "
                           f"{output}")
    targets = {image.path: _target(image, output, style, many) for image in found}
    if output is not None and not many and not is_image_path(targets[found[0].path]):
        raise RtstyleError(unwritable_format(output.suffix))
    _refuse_clashes(targets)
    earlier = earlier_results(found, [style, *known_styles], name_key, is_rtstyle_result) if many else set()
    inputs_on_disk = {file_key(image.path) for image in found}
    plan = ImagePlan(many=many, photos=len(found), overwrite=overwrite, input_keys=frozenset(inputs_on_disk),
                     unsupported=_unsupported_note(unsupported) if unsupported else "")
    by_key: dict[tuple[int, int], list[FoundImage]] = {}
    for image in found:
        by_key.setdefault(file_key(image.path), []).append(image)
    counted_here: set[Path] = set()  # earlier results counted as existing, kept or replaced: not counted twice
    for image in found:
        if image.path in earlier:
            continue
        target = targets[image.path]
        plan.results.append(ImageJob(image.path, target))
        if target.is_symlink() and not target.exists() and not overwrite:  # a link to nothing: the user's
            if not many:
                refuse_to_replace(target, overwrite)
            plan.existing += 1
            continue
        if target.is_file():
            if (key := file_key(target)) in inputs_on_disk:
                if not many:
                    raise RtstyleError(f"the output {target} would replace an input: choose another -o")
                counted_here.add(Path(os.path.realpath(target)))
                if not is_rtstyle_result(target):  # maybe a photo: never replaced, --overwrite or not
                    plan.existing_inputs += 1
                    continue
                if any(item.named or item.path not in earlier for item in by_key[key]):  # an input as given
                    plan.named_results += 1
                    continue
                # else: a result of ours found with the photos, as any other result already there
            if not overwrite:
                if not many:
                    refuse_to_replace(target, overwrite)
                plan.existing += 1
                continue
        refuse_to_replace(target, overwrite=True, writable=False)  # a folder in the way: now, not after the model
        plan.jobs.append(ImageJob(image.path, target))
    plan.earlier_results = sum(Path(os.path.realpath(path)) not in counted_here for path in earlier)
    _leave_out_unwritable(plan)
    return plan


def _leave_out_unwritable(plan: ImagePlan) -> None:
    """Try each result folder once, before the model loads: one photo's is an error; in a batch, the photos whose
    results cannot be written there (a read-only folder) are left out and counted, and the rest go ahead."""
    unwritable: dict[Path, RtstyleError] = {}
    for folder, job in {job.target.parent: job for job in plan.jobs}.items():
        try:
            probe_writable(job.target, "the result")
        except RtstyleError as exc:
            unwritable[folder] = exc
    kept = [job for job in plan.jobs if job.target.parent not in unwritable]
    if unwritable and (not plan.many or not kept):  # nothing at all could be written: that is an error
        raise next(iter(unwritable.values()))
    plan.unwritable = len(plan.jobs) - len(kept)
    plan.jobs = kept


def _refuse_clashes(targets: dict[Path, Path]) -> None:
    writers: dict[str, Path] = {}
    for source, target in targets.items():
        key = name_key(target)
        if key in writers:
            raise RtstyleError(f"{writers[key]} and {source} would both be written to {target} "
                               "(rename one, or stylize them separately)")
        writers[key] = source


def _target(image: FoundImage, output: Path | None, style: str, many: bool) -> Path:
    name = result_name(image.path, style)
    if output is None:
        return image.path.with_name(name)
    if many or output.is_dir() or not output.suffix:
        relative = os.path.relpath(os.path.abspath(image.path.parent), os.path.abspath(image.root))
        subfolder = Path() if relative == "." or relative.startswith("..") else Path(relative)
        return output / subfolder / name
    return output


def name_key(path: Path) -> str:
    """A path as the file system compares names: letter case ignored where the file system ignores it."""
    key = os.path.normcase(os.path.abspath(path))
    return key.casefold() if CASE_INSENSITIVE_FILES else key
