"""`rtstyle styles show / add / rename / remove`: the user's own styles as files, built-ins never touched."""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import assert_one_line_error, install_user_styles, run_cli
from rtstyle.styles.catalog import find_style
from rtstyle.styles.format import load_style_file, read_style_metadata


def cached_model(home: Path, style_file: Path) -> Path:
    """Build (and cache) the style's ONNX model the way every command does."""
    from rtstyle.engine.onnx_cache import onnx_for_style

    model = onnx_for_style(style_file)
    assert model.is_relative_to(home / "cache")
    return model


class TerminalInput(io.StringIO):
    """stdin as a person at a terminal answers a question."""

    def isatty(self) -> bool:
        return True


def test_add_installs_a_shared_file_under_its_name(tmp_path, random_style, isolated_dirs, capsys):
    shared = tmp_path / "Van Gogh.safetensors"
    shutil.copy(random_style, shared)
    before = shared.read_bytes()
    result = run_cli(["styles", "add", str(shared)], capsys)
    assert result.exit_code == 0, result.err
    installed = isolated_dirs / "styles" / "van-gogh.safetensors"
    assert result.out.strip() == str(installed) and "added style 'van-gogh'" in result.err
    assert shared.read_bytes() == before  # the file given stays as it was
    entry = find_style("van-gogh")
    assert entry.source == "user" and entry.metadata()["name"] == "van-gogh"
    assert entry.metadata()["title"] == "Noise"  # the rest of the record kept
    original, copy = load_style_file(random_style), load_style_file(installed)
    assert original.weights.keys() == copy.weights.keys()
    assert all(np.array_equal(original.weights[k], copy.weights[k]) for k in original.weights)


def test_add_refuses_a_name_taken_unless_overwrite(tmp_path, random_style, small_style, isolated_dirs, capsys):
    assert run_cli(["styles", "add", str(random_style), "--name", "ink"], capsys).exit_code == 0
    first_model = cached_model(isolated_dirs, find_style("ink").path)
    result = run_cli(["styles", "add", str(small_style), "--name", "ink"], capsys)
    assert_one_line_error(result, "already have a style 'ink'", "--overwrite")
    assert find_style("ink").metadata()["arch_kwargs"]["width"] == 32  # still the first
    assert run_cli(["styles", "add", str(small_style), "--name", "ink", "--overwrite"], capsys).exit_code == 0
    assert find_style("ink").metadata()["arch_kwargs"]["width"] == 8
    assert not first_model.exists()  # the replaced style's model went with it


def test_add_under_a_builtins_name_stands_in_for_it(random_style, capsys):
    result = run_cli(["styles", "add", str(random_style), "--name", "mosaic"], capsys)
    assert result.exit_code == 0 and "stands in for the built-in mosaic" in result.err
    assert find_style("mosaic").source == "user"
    shown = run_cli(["styles", "show", "mosaic"], capsys).out
    assert "stands in for" in shown and "styles remove mosaic" in shown
    assert "fast variant" not in shown  # the built-in mosaic-fast was distilled from the built-in, not from yours
    assert "full network" not in run_cli(["styles", "show", "mosaic-fast"], capsys).out


@pytest.mark.parametrize("case, fragments", [
    ("text", ("not a style file",)),
    ("onnx", ("exported ONNX model",)),
    ("folder", ("is a folder",)),
    ("missing", ("not found",)),
    ("bad stem", ("bad style name", "--name")),
    ("name for two", ("one file",)),
    ("reserved", ("reserved",)),
])
def test_add_refuses_bad_input_in_one_line(tmp_path, random_style, isolated_dirs, capsys, case, fragments):
    text = tmp_path / "notes.safetensors"
    text.write_text("hello")
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"\x08\x07")
    odd = tmp_path / "Ölbild!.safetensors"
    shutil.copy(random_style, odd)
    args = {"text": [str(text)], "onnx": [str(onnx)], "folder": [str(tmp_path)],
            "missing": [str(tmp_path / "gone.safetensors")], "bad stem": [str(odd)],
            "name for two": [str(random_style), str(random_style), "--name", "x"],
            "reserved": [str(random_style), "--name", "all"]}[case]
    assert_one_line_error(run_cli(["styles", "add", *args], capsys), *fragments)
    assert not (isolated_dirs / "styles").exists() or not list((isolated_dirs / "styles").iterdir())


def test_rename_moves_the_style_and_its_name(random_style, isolated_dirs, capsys):
    folder = install_user_styles(isolated_dirs, random_style, "mine", "mine-fast")
    old_model = cached_model(isolated_dirs, folder / "mine.safetensors")
    result = run_cli(["styles", "rename", "mine", "ink"], capsys)
    assert result.exit_code == 0, result.err
    assert not (folder / "mine.safetensors").exists() and not old_model.exists()
    assert read_style_metadata(folder / "ink.safetensors")["name"] == "ink"
    assert "styles rename mine-fast ink-fast" in result.err  # its fast variant is not silently orphaned


def test_rename_refusals(random_style, isolated_dirs, capsys):
    install_user_styles(isolated_dirs, random_style, "mine", "ink")
    assert_one_line_error(run_cli(["styles", "rename", "mine", "ink"], capsys), "already have a style 'ink'")
    assert_one_line_error(run_cli(["styles", "rename", "candy", "sweets"], capsys), "built-in", "cannot be renamed")
    assert_one_line_error(run_cli(["styles", "rename", "mine", "Bad Name"], capsys), "bad style name")
    assert_one_line_error(run_cli(["styles", "rename", "mien", "x"], capsys), "did you mean mine")
    assert sorted(p.name for p in (isolated_dirs / "styles").iterdir()) == ["ink.safetensors", "mine.safetensors"]
    assert run_cli(["styles", "rename", "mine", "ink", "--overwrite"], capsys).exit_code == 0
    assert sorted(p.name for p in (isolated_dirs / "styles").iterdir()) == ["ink.safetensors"]


def test_remove_asks_first(random_style, isolated_dirs, capsys, monkeypatch):
    folder = install_user_styles(isolated_dirs, random_style, "mine")
    style = folder / "mine.safetensors"
    assert_one_line_error(run_cli(["styles", "remove", "mine"], capsys), "--yes")  # no terminal to ask at
    monkeypatch.setattr(sys, "stdin", TerminalInput("n\n"))
    result = run_cli(["styles", "remove", "mine"], capsys)
    assert result.exit_code == 0 and "nothing removed" in result.err and style.exists()
    monkeypatch.setattr(sys, "stdin", TerminalInput("y\n"))
    assert run_cli(["styles", "remove", "mine"], capsys).exit_code == 0
    assert not style.exists()


def test_remove_takes_the_styles_models_and_leaves_others(random_style, small_style, isolated_dirs, capsys):
    folder = install_user_styles(isolated_dirs, random_style, "mine")
    install_user_styles(isolated_dirs, small_style, "other")
    mine_model = cached_model(isolated_dirs, folder / "mine.safetensors")
    other_model = cached_model(isolated_dirs, folder / "other.safetensors")
    result = run_cli(["styles", "remove", "mine", "--yes"], capsys)
    assert result.exit_code == 0 and "and 1 ONNX model built from it" in result.err
    assert not (folder / "mine.safetensors").exists() and not mine_model.exists()
    assert (folder / "other.safetensors").exists() and other_model.exists()


def test_remove_refuses_builtins_and_unknown_names_before_removing_any(random_style, isolated_dirs, capsys):
    folder = install_user_styles(isolated_dirs, random_style, "mine")
    assert_one_line_error(run_cli(["styles", "remove", "mine", "candy", "--yes"], capsys), "built-in")
    assert_one_line_error(run_cli(["styles", "remove", "mine", "nosuch", "--yes"], capsys), "unknown style")
    assert_one_line_error(run_cli(["styles", "remove", str(folder / "mine.safetensors"), "--yes"], capsys), "name")
    assert (folder / "mine.safetensors").exists()


def test_removing_a_stand_in_brings_the_builtin_back(random_style, isolated_dirs, capsys):
    install_user_styles(isolated_dirs, random_style, "candy")
    result = run_cli(["styles", "remove", "candy", "-y"], capsys)
    assert result.exit_code == 0 and "the built-in candy again" in result.err
    assert find_style("candy").source == "built-in"


def test_show_a_builtin_in_full(capsys):
    result = run_cli(["styles", "show", "starry-night"], capsys)
    assert result.exit_code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "starry-night (built-in style)"
    rows = {m[1]: line for line in lines[1:] if (m := re.match(r"  (\S.*?)  ", line))}  # label -> its line
    assert "Vincent van Gogh" in rows["painting"] and "johnson (154k MAC/px)" in rows["network"]
    assert "starry-night-fast" in rows["fast variant"] and "jcjohnson" in rows["painting file"]
    for label in ("licence", "trained", "recipe", "settings", "final losses", "machine"):
        assert label in rows, label
    fast = run_cli(["styles", "show", "starry-night-fast"], capsys).out
    assert "distilled from" in fast and "teacher term" in fast and "full network" in fast
    assert "teacher term" not in result.out  # only a distilled network had one


def test_show_json_and_bad_names(random_style, capsys):
    record = json.loads(run_cli(["styles", "show", str(random_style), "--json"], capsys).out)
    assert record["source"] == "path" and record["title"] == "Noise" and record["path"] == str(random_style)
    assert_one_line_error(run_cli(["styles", "show", "starry-nite"], capsys), "did you mean starry-night")


def test_plain_styles_still_lists(capsys):
    result = run_cli(["styles"], capsys)
    assert result.exit_code == 0 and any(line.startswith("mosaic ") for line in result.out.splitlines())


def test_a_broken_style_of_yours_can_still_be_removed(isolated_dirs, capsys):
    folder = isolated_dirs / "styles"
    folder.mkdir(parents=True)
    (folder / "broken.safetensors").write_bytes(b"\x00" * 5)
    assert "unusable" in run_cli(["styles"], capsys).out
    assert run_cli(["styles", "remove", "broken", "--yes"], capsys).exit_code == 0
    assert not (folder / "broken.safetensors").exists()


def test_a_builtin_copied_under_another_name_keeps_its_int8_weights_exactly(tmp_path, capsys):
    builtin = find_style("candy").path
    assert run_cli(["styles", "add", str(builtin), "--name", "my-candy"], capsys).exit_code == 0
    copy = find_style("my-candy").path
    assert copy.stat().st_size - builtin.stat().st_size < 64  # the header's new name only
    original, installed = load_style_file(builtin), load_style_file(copy)
    assert all(np.array_equal(original.weights[k], installed.weights[k]) for k in original.weights)
    assert read_style_metadata(copy)["weight_storage"] == read_style_metadata(builtin)["weight_storage"]
