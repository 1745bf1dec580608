"""The user's own styles as files: add one from elsewhere, rename one, remove one. Built-ins are part of the package
and never touched. Every file is validated before it is installed and written atomically, and a rename writes the
new file before it removes the old, so an interruption leaves both, never neither."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import atomic_write_bytes
from rtstyle.paths import user_styles_dir
from rtstyle.styles.catalog import StyleEntry, builtin_names, check_style_name, find_style
from rtstyle.styles.format import METADATA_KEY, STYLE_SUFFIX, load_style_file


@dataclass(frozen=True)
class StyleChange:
    """What `add` or `rename` made: the style's name and file, and the built-in it now stands in for (if any)."""

    name: str
    path: Path
    stands_in_for_builtin: bool


def with_name(data: bytes, name: str, path: Path) -> bytes:
    """A style file's bytes with `name` in its metadata record; the tensors byte for byte as they were."""
    return with_record(data, {"name": name}, path)


def with_record(data: bytes, changes: dict[str, Any], path: Path) -> bytes:
    """A style file's bytes with `changes` made to its metadata record; the tensors byte for byte as they were.

    safetensors is an 8-byte header length, a JSON header (the tensors' offsets count from its end) and the data, so
    only the header is written anew, padded to 8 bytes as the format aligns its data.
    """
    try:
        (length,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + length])
        metadata = header["__metadata__"]
        record = json.loads(metadata[METADATA_KEY])
    except (struct.error, ValueError, KeyError, TypeError):
        raise RtstyleError(f"not an rtstyle style file: {path}") from None
    record.update(changes)
    metadata[METADATA_KEY] = json.dumps(record, sort_keys=True)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data[8 + length :]


def name_from_file(path: Path) -> str:
    """The name a style file is installed under when none is given: its file name's stem, as `--style FILE` shows
    it, in the names' lower case with '-' for spaces."""
    name = path.name[: -len(path.suffix)] if path.suffix else path.name
    return "-".join(name.lower().split())


def add_style(source: Path, name: str | None = None, *, overwrite: bool = False) -> StyleChange:
    """Install the style file `source` (kept where it is) as the user style `name`."""
    source = Path(source).expanduser()
    if source.is_dir():
        raise RtstyleError(f"{source} is a folder: give the style's .safetensors file")
    load_style_file(source)  # the whole file, tensors against the architecture: a broken one is refused here
    chosen = name if name is not None else name_from_file(source)
    try:
        check_style_name(chosen)
    except RtstyleError as exc:
        if name is None:
            raise RtstyleError(f"{exc}; the name comes from the file {source.name}: give one with --name") from None
        raise
    target = user_styles_dir() / f"{chosen}{STYLE_SUFFIX}"
    if target.exists() and target.resolve() == source.resolve():
        raise RtstyleError(f"{source} is already your style {chosen!r}")
    if target.exists() and not overwrite:
        raise RtstyleError(f"you already have a style {chosen!r} ({target}): pass --overwrite to replace it, or "
                           "--name to add this one under another name")
    _write(target, with_name(source.read_bytes(), chosen, source), overwrite)
    return StyleChange(chosen, target, chosen in builtin_names())


def user_style(name: str, doing: str) -> StyleEntry:
    """The user style called `name`; a built-in, a path or an unknown name is a one-line error."""
    if "/" in name or "\\" in name or name.endswith(STYLE_SUFFIX):
        raise RtstyleError(f"give the style's name (`rtstyle styles` lists yours), not a file: {name}")
    entry = find_style(name)
    if entry.source != "user":
        raise RtstyleError(f"{entry.name!r} is a built-in style, part of the rtstyle package: it cannot be {doing} "
                           "(`rtstyle styles` marks your own as user)")
    return entry


def rename_style(entry: StyleEntry, new: str, *, overwrite: bool = False) -> StyleChange:
    """Give the user style `entry` the name `new` (in its file name and its metadata)."""
    check_style_name(new, "new name")
    if new == entry.name:
        raise RtstyleError(f"the style is already called {new!r}")
    target = entry.path.with_name(f"{new}{STYLE_SUFFIX}")
    if target.exists() and not overwrite:
        raise RtstyleError(f"you already have a style {new!r} ({target}): pass --overwrite to replace it")
    _write(target, with_name(entry.path.read_bytes(), new, entry.path), overwrite)
    remove_style(entry)  # its models too: the new name's file differs (its metadata), so they would not be used
    return StyleChange(new, target, new in builtin_names())


def remove_style(entry: StyleEntry) -> list[Path]:
    """Delete the user style `entry` and the ONNX models rtstyle built from it (they can be built again); returns
    the models removed. A built-in of the same name that shares them (a user's copy of it) keeps them."""
    from rtstyle.engine.onnx_cache import cached_models

    models = cached_models(entry.path)
    entry.path.unlink()
    if models and entry.name in builtin_names() and cached_models(find_style(entry.name).path) == models:
        return []
    for model in models:
        model.unlink(missing_ok=True)
    return models


def _write(target: Path, data: bytes, overwrite: bool) -> None:
    """Write a user style's file; the models built from a style it replaces go with it (nothing would use them)."""
    from rtstyle.engine.onnx_cache import cached_models

    replaced = cached_models(target) if target.is_file() else []
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, data, overwrite=overwrite)
    for model in replaced:
        model.unlink(missing_ok=True)
