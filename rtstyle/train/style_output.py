"""Where a run may write its style (-o), checked before any heavy work: a .safetensors file that replaces none of the
run's inputs, and no file of the user's unless --overwrite (a resumed run replaces the style it wrote itself).
"""

from __future__ import annotations

from pathlib import Path

from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import file_key, refuse_to_replace
from rtstyle.styles.format import STYLE_SUFFIX, read_style_metadata
from rtstyle.train.checkpoint import CHECKPOINT_NAME
from rtstyle.train.loss_log import LOG_NAME


def check_style_output(output: Path, *, overwrite: bool, resumed: bool, run_id: str) -> None:
    if output.suffix.lower() != STYLE_SUFFIX and not output.is_dir():  # a folder: said as one below
        # -o mine.onnx wrote a safetensors file under that name, which `--style mine.onnx` then read as a broken
        # ONNX model ("wire format was corrupt"); without a suffix, `rtstyle styles` never listed it.
        raise RtstyleError(f"a style is a {STYLE_SUFFIX} file, not {output}: -o "
                           f"{output.with_suffix(STYLE_SUFFIX)} (`rtstyle export` makes an .onnx from it)")
    # A resumed run replaces the style it wrote itself when it stopped (--time-limit), and nothing else.
    own = resumed and written_by_run(output, run_id)
    hint = "; this run did not write it" if resumed else ", or choose another --name"
    refuse_to_replace(output, overwrite or own, "style", hint=hint)  # and can it be written


def refuse_inputs_as_output(output: Path, *, style_image: Path, run_dir: Path, content_files: list[Path],
                            vgg_weights: str | None, init: str | None, teacher: str | None) -> None:
    """-o must not be anything the run reads: inputs are never replaced, not even with --overwrite."""
    if not output.is_file():
        return
    target = file_key(output)
    for what, path in _input_files(style_image, run_dir, content_files, vgg_weights, init, teacher):
        if path.is_file() and file_key(path) == target:
            raise RtstyleError(f"the output {output} is the run's {what} (inputs are never replaced): "
                               "choose another -o")


def _input_files(style_image: Path, run_dir: Path, content_files: list[Path], vgg_weights: str | None,
                 init: str | None, teacher: str | None) -> list[tuple[str, Path]]:
    from rtstyle.styles.catalog import find_style

    inputs = [("style image", style_image), ("checkpoint", run_dir / CHECKPOINT_NAME),
              ("loss log", run_dir / LOG_NAME)]
    inputs += [("content", path) for path in content_files]
    if vgg_weights:
        inputs.append(("--vgg-weights file", Path(vgg_weights)))
    for option, style in (("--init", init), ("--teacher", teacher)):
        try:
            inputs += [(f"{option} style", find_style(style).path)] if style else []
        except RtstyleError:
            pass  # a style that is gone is no input to protect (loading it says so, where it is needed)
    return inputs


def written_by_run(path: Path, run_id: str) -> bool:
    if not path.is_file():
        return False
    try:
        return read_style_metadata(path).get("run_id") == run_id
    except RtstyleError:  # not a style file at all
        return False
