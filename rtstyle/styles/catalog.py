"""Find styles by name (built-in or in the user styles directory) or by path, and list them."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtstyle.errors import RtstyleError
from rtstyle.paths import builtin_styles_dir, user_styles_dir
from rtstyle.styles.format import STYLE_SUFFIX, StyleFile, load_style_file, read_style_metadata


@dataclass(frozen=True)
class StyleEntry:
    name: str
    path: Path
    source: str  # "built-in", "user" or "path"

    def metadata(self) -> dict[str, Any]:
        return read_style_metadata(self.path)

    def load(self) -> StyleFile:
        return load_style_file(self.path)


# What a style may be called: a file name on every system, typed without quotes (`rtstyle train --name`,
# `rtstyle styles add/rename`).
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
RESERVED_NAMES = frozenset({"all"})  # `--style all` means every style


def check_style_name(name: str, option: str = "--name") -> None:
    """A one-line error for a name no style may have; `option` is where the user gave it."""
    if not NAME_PATTERN.match(name):
        raise RtstyleError(f"bad style name {name!r}: use lower-case letters, digits, '-', '_' or '.' (at most 64)")
    if name in RESERVED_NAMES:
        raise RtstyleError(f"{name!r} is reserved (`--style all` means every style): choose another {option}")


def _styles_in(directory: Path, source: str) -> dict[str, StyleEntry]:
    if not directory.is_dir():
        return {}
    return {p.name[: -len(STYLE_SUFFIX)]: StyleEntry(p.name[: -len(STYLE_SUFFIX)], p, source)
            for p in sorted(directory.glob(f"*{STYLE_SUFFIX}")) if not p.name.startswith(".")}


def list_styles() -> list[StyleEntry]:
    """Built-in styles, then user styles; a user style of the same name replaces the built-in one."""
    entries = _styles_in(builtin_styles_dir(), "built-in")
    entries.update(_styles_in(user_styles_dir(), "user"))
    return sorted(entries.values(), key=lambda e: (e.source != "built-in", e.name))


def builtin_names() -> set[str]:
    """Every built-in's name, those a user style of the same name stands in for included."""
    return set(_styles_in(builtin_styles_dir(), "built-in"))


def style_names() -> list[str]:
    return [e.name for e in list_styles()]


# `NAME-fast`: the distilled cheap network of style NAME (issue 6), chosen instead of NAME on a CPU.
FAST_SUFFIX = "-fast"


def without_fast_variants(names: list[str]) -> list[str]:
    """The names less each `NAME-fast` whose NAME is among them: a variant is an alternate, not another look."""
    present = set(names)
    return [n for n in names if not (n.endswith(FAST_SUFFIX) and n[: -len(FAST_SUFFIX)] in present)]


def style_specs(values: tuple[str, ...] | list[str]) -> list[str]:
    """-s a -s b,c as ['a', 'b', 'c'] (`all` kept as it is); a style file's own path is one style, commas or not."""
    return [item for value in values
            for item in ([value] if Path(value).is_file() else (part.strip() for part in value.split(","))) if item]


def find_style(name_or_path: str) -> StyleEntry:
    """A style by path (anything that exists or looks like a file) or by name."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix == STYLE_SUFFIX or candidate.exists() or "/" in name_or_path or "\\" in name_or_path:
        if candidate.is_dir():  # "not found" misled: it is there
            raise RtstyleError(f"style {candidate} is a folder, not a style file (a .safetensors style, or an "
                               "exported .onnx model)")
        if not candidate.is_file():
            raise RtstyleError(f"style file not found: {candidate}")
        return StyleEntry(candidate.stem, candidate, "path")
    entries = {e.name: e for e in list_styles()}
    key = name_or_path.strip().lower().replace("_", "-").replace(" ", "-")
    if key in entries:
        return entries[key]
    if name_or_path in entries:
        return entries[name_or_path]
    if key == "all" or "," in key:  # no style is called so: the image command's way to ask for several
        raise RtstyleError(f"unknown style {name_or_path!r}: here a style is one name or file (`all` and lists "
                           "such as a,b are for `rtstyle image`, `rtstyle video`, `rtstyle webcam` and "
                           "`rtstyle bench`)")
    close = close_names(key, sorted(entries))
    if close:
        hint = f"did you mean {', '.join(close)}?"
    elif entries:
        hint = f"available: {', '.join(sorted(entries))}"
    else:
        hint = "no styles are installed; train one with `rtstyle train`"
    raise RtstyleError(f"unknown style {name_or_path!r} ({hint})")


def close_names(key: str, names: list[str]) -> list[str]:
    """Up to three names a mistyped or shortened `key` may mean: those it begins ('rain' -> rain-princess), then
    those difflib finds alike (cutoff 0.6: at 0.5 'nosuch' was taken for 'mosaic')."""
    starting = [name for name in names if len(key) >= 3 and name.startswith(key)]
    alike = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
    return list(dict.fromkeys(starting + alike))[:3]


def trained_painting_size(metadata: dict[str, Any]) -> int | None:
    """The painting's longest side in the style's training run (None: its own size, training's default)."""
    size = metadata.get("hyperparameters", {}).get("style_size")
    return int(size) if isinstance(size, (int, float)) and size > 0 else None


def macs_per_pixel(metadata: dict[str, Any]) -> float | None:
    """Multiply-adds per output pixel of a style's network, from its metadata; None when unknown."""
    from rtstyle.models.registry import create_spec

    try:
        return float(create_spec(str(metadata.get("arch", "?")), **metadata.get("arch_kwargs", {})).macs_per_pixel())
    except (RtstyleError, TypeError):
        return None


def style_cost(name_or_path: str) -> float | None:
    """MAC/px of a style by name or path; None when it cannot be told (an .onnx file, a broken style)."""
    try:
        return macs_per_pixel(find_style(name_or_path).metadata())
    except RtstyleError:
        return None


def arch_summary(metadata: dict[str, Any]) -> str:
    """"fast (5k MAC/px)": a style's network and its cost, from the style file's metadata."""
    arch = str(metadata.get("arch", "?"))
    cost = macs_per_pixel(metadata)
    if cost is None:
        return f"{arch} (unknown architecture)"
    return f"{arch} ({cost / 1000:.3g}k MAC/px)"  # 3 digits: fast-tiny is 1.5k, not "2k"
