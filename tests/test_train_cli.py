"""`rtstyle train` from the command line: every bad input is one line and exit 2; a real run works."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from conftest import VGG_FILE, requires_vgg  # noqa: E402
from helpers import assert_one_line_error, run_cli  # noqa: E402
from train_utils import make_content_folder, write_style_image  # noqa: E402

from rtstyle.styles.format import load_style_file  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    return {"style": write_style_image(tmp_path / "style.png"), "content": make_content_folder(tmp_path / "photos", 2),
            "run": tmp_path / "run", "tmp": tmp_path}


def args_for(paths: dict[str, Path], **changes: str | None) -> list[str]:
    options = {"--style-image": str(paths["style"]), "--content": str(paths["content"]), "--name": "tiny",
               "--steps": "2", "--crop-size": "32", "--batch-size": "2", "--width": "8", "--blocks": "1",
               "--run-dir": str(paths["run"]), "--vgg-weights": str(VGG_FILE), "--preview-every": "1",
               "--log-every": "1"}
    options.update(changes)
    out = ["train"]
    for key, value in options.items():
        if value is not None:
            out += [key] if value == "" else [key, value]
    return out


@pytest.mark.parametrize("case, fragments", [
    ("missing_style", ("style image not found",)),
    ("corrupt_style", ("cannot read style image",)),
    ("missing_content", ("content not found",)),
    ("empty_content", ("no images",)),
    ("unreadable_content", ("none of the 2 images",)),
    ("not_a_video", ("folder of images or a video",)),
    ("bad_name", ("bad style name",)),
    ("steps_and_epochs", ("--steps or --epochs",)),
    ("unknown_arch", ("unknown architecture",)),
    ("bad_arch_arg", ("--arch-arg expects KEY=VALUE",)),
    ("text_arch_arg", ("width must be an integer",)),
    ("huge_width", ("parameters, too many to train", "--width")),
    ("missing_vgg", ("vgg weights file not found",)),
    ("resume_without_checkpoint", ("no checkpoint to resume from",)),
    ("unknown_init", ("unknown style",)),
    ("bad_time_limit", ("--time-limit", "not a duration")),
])
def test_bad_input_is_one_line(case: str, fragments: tuple[str, ...], paths: dict[str, Path],
                               capsys: pytest.CaptureFixture[str]) -> None:
    tmp = paths["tmp"]
    changes: dict[str, str | None] = {}
    if case == "missing_style":
        changes["--style-image"] = str(tmp / "nope.jpg")
    elif case == "corrupt_style":
        (tmp / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
        changes["--style-image"] = str(tmp / "broken.jpg")
    elif case == "missing_content":
        changes["--content"] = str(tmp / "nowhere")
    elif case == "empty_content":
        (tmp / "empty").mkdir()
        (tmp / "empty" / "notes.txt").write_text("no images here")
        changes["--content"] = str(tmp / "empty")
    elif case == "unreadable_content":
        (tmp / "bad").mkdir()
        (tmp / "bad" / "a.jpg").write_bytes(b"not a jpeg")
        (tmp / "bad" / "b.png").write_bytes(b"")
        changes["--content"] = str(tmp / "bad")
    elif case == "not_a_video":
        (tmp / "list.txt").write_text("x")
        changes["--content"] = str(tmp / "list.txt")
    elif case == "bad_name":
        changes["--name"] = "My Style!"
    elif case == "steps_and_epochs":
        changes["--epochs"] = "1"
    elif case == "unknown_arch":
        changes["--arch"] = "jonson"
    elif case == "bad_arch_arg":
        changes["--arch-arg"] = "width"
    elif case == "text_arch_arg":
        changes["--width"] = None
        changes["--arch-arg"] = "width=abc"
    elif case == "huge_width":
        changes["--width"] = "3000000"
    elif case == "missing_vgg":
        changes["--vgg-weights"] = str(tmp / "vgg.safetensors")
    elif case == "resume_without_checkpoint":
        changes["--resume"] = ""
    elif case == "unknown_init":
        changes["--init"] = "no-such-style"
    elif case == "bad_time_limit":
        changes["--time-limit"] = "5 parsecs"
    result = run_cli(args_for(paths, **changes), capsys)
    assert_one_line_error(result, *fragments)
    assert not paths["run"].exists()  # a failed start leaves no empty run folder


def test_time_limit_reads_units() -> None:
    from rtstyle.cli.train_cmd import parse_duration

    assert [parse_duration(t) for t in ("90", "90s", "45m", "1.5h", "1:30:00")] == [90, 90, 2700, 5400, 5400]
    assert parse_duration(None) is None


def test_existing_output_is_not_replaced(paths: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    target = paths["tmp"] / "mine.safetensors"
    target.write_bytes(b"precious")
    result = run_cli(args_for(paths, **{"--output": str(target)}), capsys)
    assert_one_line_error(result, "exists", "--overwrite", "--name")
    assert target.read_bytes() == b"precious"


@requires_vgg
def test_train_then_use_the_style(paths: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's user story, tiny: train with the real VGG file, then `rtstyle image` and `rtstyle styles`."""
    result = run_cli(args_for(paths, **{"--licence": "test licence", "--meta": "title=Stripes", "--no-amp": ""}),
                     capsys)
    assert result.exit_code == 0, result.err
    style_path = Path(result.out.strip().splitlines()[-1])
    assert style_path.name == "tiny.safetensors" and style_path.is_file()
    style = load_style_file(style_path)
    assert style.metadata["steps"] == 2 and style.metadata["title"] == "Stripes"
    assert style.metadata["hyperparameters"]["content_weight"] == 1.0  # Caffe-convention default
    assert style.metadata["precision"] == "float32" and "autocast" not in result.err  # --no-amp
    assert (paths["run"] / "losses.jsonl").read_text().count("\n") == 2
    assert sorted(p.name for p in (paths["run"] / "previews").iterdir()) == ["step_000001.jpg", "step_000002.jpg"]

    out_image = paths["tmp"] / "out.png"
    result = run_cli(["image", str(REPO / "tests" / "data" / "chelsea.png"), "--style", "tiny", "-o", str(out_image)],
                     capsys)
    assert result.exit_code == 0, result.err
    assert out_image.is_file()
    listed = next(line for line in run_cli(["styles"], capsys).out.splitlines() if line.startswith("tiny "))
    assert listed.endswith("Stripes; 2 steps")  # --meta title= names it

    stopped = args_for(paths, **{"--steps": "5", "--time-limit": "0.001s", "--name": "cut", "--meta": None,
                                 "--run-dir": str(paths["tmp"] / "run2"), "--amp": "", "--temporal": "",
                                 "--border-margin": "4"})
    cut = run_cli(stopped, capsys)
    assert cut.exit_code == 0 and "after 1 step (" in cut.err  # not "1 steps"
    assert "on cpu (bfloat16 autocast)" in cut.err  # --amp: bf16 on any CPU
    cut_meta = load_style_file(Path(cut.out.strip().splitlines()[-1])).metadata
    assert cut_meta["precision"] == "bfloat16 autocast"
    # --temporal alone means the default temporal weight; --border-margin reaches the run's recorded settings
    assert cut_meta["hyperparameters"]["temporal_weight"] == 1e7 and cut_meta["hyperparameters"]["border_margin"] == 4
    listed = next(line for line in run_cli(["styles"], capsys).out.splitlines() if line.startswith("cut "))
    # untitled: the painting's file name; cut short: not mistaken for a finished style
    assert listed.endswith("from style.png; 1 of 5 steps (stopped by --time-limit; --resume continues)")


@requires_vgg
def test_previews_come_by_time_unless_preview_every_is_given(paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import rtstyle.cli.train_cmd as train_cmd

    monkeypatch.setattr(train_cmd, "DEFAULT_PREVIEW_SECONDS", 0.0)  # every step stands for 2 minutes on a CPU
    result = run_cli(args_for(paths, **{"--preview-every": None, "--steps": "3"}), capsys)
    assert result.exit_code == 0, result.err
    previews = paths["run"] / "previews"
    assert sorted(p.name for p in previews.iterdir()) == [f"step_00000{i}.jpg" for i in (1, 2, 3)]
    assert f"previews in {previews}" in result.err  # the user is told where to look

    given = args_for(paths, **{"--preview-every": "2", "--steps": "3", "--run-dir": str(paths["tmp"] / "run2"),
                               "-o": str(paths["tmp"] / "b.safetensors")})
    assert run_cli(given, capsys).exit_code == 0
    assert sorted(p.name for p in (paths["tmp"] / "run2" / "previews").iterdir()) == ["step_000002.jpg",
                                                                                       "step_000003.jpg"]


@requires_vgg
def test_resume_continues_to_more_steps(paths: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    first = args_for(paths, **{"--steps": "1", "-o": str(paths["tmp"] / "a.safetensors"), "--licence": "CC0"})
    assert run_cli(first, capsys).exit_code == 0
    result = run_cli(["train", "--name", "tiny", "--resume", "--steps", "2", "--run-dir", str(paths["run"]),
                      "--vgg-weights", str(VGG_FILE), "-o", str(paths["tmp"] / "b.safetensors")], capsys)
    assert result.exit_code == 0, result.err
    assert "resuming at step 1" in result.err
    metadata = load_style_file(paths["tmp"] / "b.safetensors").metadata
    assert metadata["steps"] == 2
    assert metadata["licence"] == "CC0"  # given when the run started, kept through --resume
    assert metadata["losses"]["averaged_over_last_steps"] == 2  # the killed run's logged step counts too


@requires_vgg
def test_resume_names_only_the_options_it_does_not_apply(paths: dict[str, Path],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """"The same command with --resume" (what the error messages advise) warns about nothing."""
    first = args_for(paths, **{"--steps": "1", "--arch": "fast", "-o": str(paths["tmp"] / "a.safetensors")})
    assert run_cli(first, capsys).exit_code == 0
    again = run_cli(args_for(paths, **{"--steps": "2", "--arch": "fast", "-o": str(paths["tmp"] / "a.safetensors"),
                                       "--resume": ""}), capsys)
    assert again.exit_code == 0, again.err
    assert "ignored" not in again.err and "--resume: from step" not in again.err
    changed = run_cli(args_for(paths, **{"--steps": "3", "--arch": "johnson", "--batch-size": "3", "--lr": "0.0005",
                                         "-o": str(paths["tmp"] / "a.safetensors"), "--resume": ""}), capsys)
    assert changed.exit_code == 0, changed.err
    ignored = changed.err.split("ignored: ")[1].splitlines()[0]
    assert "--batch-size 3 (the run's: 2)" in ignored and "--arch johnson (the run's: fast)" in ignored
    assert "--crop-size" not in ignored and "--width" not in ignored and "--lr" not in ignored
    assert "--resume: from step 2, --lr 0.0005 (was 0.001)" in changed.err


def test_styles_lists_a_one_step_style_as_one_step() -> None:
    from rtstyle.cli.styles_cmd import describe

    assert describe({"source_image": "p.jpg", "steps": 1}) == "from p.jpg; 1 step"
    assert describe({"source_image": "p.jpg", "steps": 2000}) == "from p.jpg; 2,000 steps"


def test_styles_says_what_a_user_style_started_from() -> None:
    from rtstyle.cli.styles_cmd import describe

    assert describe({"source_image": "p.jpg", "steps": 300, "init": "mosaic"}) == \
        "from p.jpg, fine-tuned from mosaic; 300 steps"
    assert describe({"source_image": "p.jpg", "steps": 3, "teacher": "mine"}) == "from p.jpg, distilled from mine; 3 steps"


def test_the_help_that_doctor_points_to_gives_the_quick_cpu_recipe(capsys: pytest.CaptureFixture[str]) -> None:
    # `rtstyle doctor` on a machine without a GPU says "training takes seconds a step, see `rtstyle train --help`"
    from rtstyle.train.trainer import QUICK_CPU_RECIPE, QUICK_CPU_STYLE_FACTOR

    help_text = " ".join(run_cli(["train", "--help"], capsys).out.replace("\\\n", " ").split())
    assert "On a CPU" in help_text and f"{QUICK_CPU_RECIPE} --style-weight {5 * QUICK_CPU_STYLE_FACTOR:g}" in help_text
