"""Shell completion: style names, subcommands and paths for Tab, the scripts `rtstyle completion SHELL` prints, and
that a Tab loads none of the heavy libraries (it runs the program at every key press)."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.shell_completion import CompletionItem, get_completion_class
from conftest import random_style_weights
from helpers import assert_one_line_error, run_cli

from rtstyle.cli.main import COMMANDS, COMPLETE_VAR, cli
from rtstyle.styles.format import StyleFile, save_style_file

REPO = Path(__file__).resolve().parent.parent


def complete(line: str) -> list[CompletionItem]:
    """What click offers for the last word of `line` (empty after a trailing space), as the shell would ask."""
    words = line.split()
    args, incomplete = (words, "") if not line or line.endswith(" ") else (words[:-1], words[-1])
    return get_completion_class("bash")(cli, {}, "rtstyle", COMPLETE_VAR).get_completions(args, incomplete)


def offered(line: str) -> list[str]:
    return [item.value for item in complete(line) if item.type == "plain"]


def gives_paths(line: str) -> bool:
    return any(item.type == "file" for item in complete(line))


def add_user_style(styles_dir: Path, name: str, title: str) -> None:
    styles_dir.mkdir(parents=True, exist_ok=True)
    save_style_file(styles_dir / f"{name}.safetensors",
                    StyleFile("johnson", {"width": 8, "blocks": 1}, random_style_weights(width=8, blocks=1),
                              {"name": name, "title": title}))


def test_style_option_offers_the_builtin_styles_and_their_fast_variants() -> None:
    assert offered("webcam --style mo") == ["mosaic", "mosaic-fast"]
    assert offered("webcam -s mo") == ["mosaic", "mosaic-fast"]
    assert offered("video x.mp4 --style starry") == ["starry-night", "starry-night-fast"]
    assert {"candy", "candy-fast", "wave", "wave-fast"} <= set(offered("webcam --style "))
    assert gives_paths("webcam --style mo")  # a style file or an .onnx model is a path
    titles = {item.value: item.help for item in complete("webcam --style mo")}
    assert titles == {"mo": None, "mosaic": "Mosaic", "mosaic-fast": "Mosaic, fast network"}  # zsh and fish show them


def test_commands_taking_a_style_offer_the_names(isolated_dirs: Path) -> None:
    add_user_style(isolated_dirs / "styles", "my-sketch", "My Sketch")
    for line in ("export my", "quantize my", "image a.jpg -s my", "bench --style my", "eval clip.mp4 -s my",
                 "train --init my", "train --teacher my", "demo --styles my"):
        assert offered(line) == ["my-sketch"], line
    assert offered("video a.mp4 -s candy,my") == ["candy,my-sketch"]  # a batch's list, as image takes it


def test_a_user_style_is_offered_with_its_title(isolated_dirs: Path) -> None:
    add_user_style(isolated_dirs / "styles", "mosaic-pencil", "Pencil")
    assert offered("webcam --style mo") == ["mosaic", "mosaic-fast", "mosaic-pencil"]
    assert {item.value: item.help for item in complete("webcam --style mosaic-p")}["mosaic-pencil"] == "Pencil"


def test_styles_subcommands_offer_what_each_takes(isolated_dirs: Path) -> None:
    add_user_style(isolated_dirs / "styles", "my-sketch", "My Sketch")
    add_user_style(isolated_dirs / "styles", "mosaic", "My mosaic")  # stands in for the built-in
    assert offered("styles ") == ["add", "remove", "rename", "show"]
    assert offered("styles show my") == ["my-sketch"] and "mosaic-fast" in offered("styles show mo")
    assert offered("styles remove ") == ["mosaic", "my-sketch"]  # only the user's own: built-ins cannot go
    assert offered("styles rename m") == ["mosaic", "my-sketch"]
    assert gives_paths("styles add ")


def test_names_are_matched_as_find_style_reads_them() -> None:
    assert offered("webcam --style Starry_N") == ["starry-night", "starry-night-fast"]
    assert offered("webcam --style ./mo") == [] and gives_paths("webcam --style ./mo")  # a path: the shell's part


def test_a_style_list_completes_its_last_name_and_offers_all() -> None:
    assert offered("image a.jpg -s mosaic,ca") == ["mosaic,candy", "mosaic,candy-fast"]
    assert offered("image a.jpg -s al") == ["all"]
    assert offered("demo --styles udnie,wa") == ["udnie,wave", "udnie,wave-fast"]


def test_subcommands_options_and_choices_complete() -> None:
    assert offered("") == sorted(COMMANDS)
    assert offered("ex") == ["export"]
    assert offered("co") == ["completion"]
    assert offered("webcam --sty") == ["--style"]
    assert offered("completion ") == ["bash", "zsh", "fish"]
    assert offered("train --arch f") == ["fast", "fast-tiny"]
    assert offered("video x.mp4 --preset veryf") == ["veryfast"]
    assert offered("eval clip.mp4 --flow ") == ["dis", "farneback"]


def test_files_keep_completing_paths() -> None:
    for line in ("image ", "video ", "video x.mp4 -o ", "webcam --record ", "webcam --source ", "eval ",
                 "export mosaic -o ", "train --style-image "):
        assert gives_paths(line), line
        assert offered(line) == [], line


# One process completes each line in turn (a value of every command: each command module loaded), then lists what
# it imported.
IMPORTS_PROBE = """
import os, sys
from rtstyle.cli.main import main
lines = sys.argv[1:]
for line in lines:
    words = line.split()
    os.environ.update(COMP_WORDS=line, COMP_CWORD=str(len(words) - (0 if line.endswith(" ") else 1)))
    try:
        main([])
    except SystemExit as exit:
        assert exit.code in (0, None), exit.code
    print(flush=True)
print("IMPORTED", sorted(m for m in ("torch", "onnxruntime", "onnx", "cv2", "av") if m in sys.modules))
print("COMMANDS", sorted(m for m in sys.modules if m.startswith("rtstyle.cli.") and m.endswith("_cmd")))
"""


def run_probe(lines: list[str]) -> list[str]:
    """The probe's output: each line's completions (bash's format), then IMPORTED [...] and COMMANDS [...]."""
    env = {**os.environ, COMPLETE_VAR: "bash_complete", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", IMPORTS_PROBE, *lines], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout.strip().splitlines()


def test_completion_imports_no_torch_onnxruntime_opencv_or_pyav() -> None:
    lines = ["rtstyle webcam --style mo", "rtstyle ", *(f"rtstyle {name} --" for name in COMMANDS),
             "rtstyle export mo", "rtstyle quantize mo", "rtstyle image a.jpg -s mo", "rtstyle video x.mp4 -s mo",
             "rtstyle eval x.mp4 -s mo", "rtstyle bench -s mo", "rtstyle styles show mo", "rtstyle styles remove "]
    output = run_probe(lines)
    assert output.count("plain,mosaic-fast") == 8  # every line was completed, not just run
    assert "plain,--help" in output
    assert output[-2] == "IMPORTED []"


def test_completing_a_command_name_loads_no_command() -> None:
    output = run_probe(["rtstyle e"])
    assert output == ["plain,eval", "plain,export", "", "IMPORTED []", "COMMANDS []"]


def shell_and_script(shell: str, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """The shell's path (the test is skipped where it is not installed) and `rtstyle completion SHELL`'s script."""
    path = shutil.which(shell)
    if path is None:
        pytest.skip(f"no {shell} here")
    result = run_cli(["completion", shell], capsys)
    assert result.exit_code == 0
    return path, result.out


def checkout_rtstyle(program: Path) -> Path:
    """The command a completion script runs at each Tab, as this checkout's rtstyle."""
    program.parent.mkdir(parents=True, exist_ok=True)
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m rtstyle "$@"\n')
    program.chmod(0o755)
    return program


def test_the_bash_script_completes_style_names_in_bash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bash, text = shell_and_script("bash", capsys)
    script = tmp_path / "rtstyle-complete.bash"
    script.write_text(text)
    program = checkout_rtstyle(tmp_path / "rtstyle")
    words = "rtstyle webcam --style mo"
    session = (f'source "{script}"; COMP_WORDS=({words}); COMP_CWORD=3; '
               f'_rtstyle_completion "{program}" 2>/dev/null; printf "%s\\n" "${{COMPREPLY[@]}}"; complete -p rtstyle')
    shell = subprocess.run([bash, "--norc", "-c", session], env={**os.environ, "PYTHONPATH": str(REPO)},
                           capture_output=True, text=True, timeout=120)
    assert shell.stdout.splitlines() == ["mosaic", "mosaic-fast", "complete -o nosort -F _rtstyle_completion rtstyle"]


def test_the_fish_script_completes_a_style_list_in_fish(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fish, text = shell_and_script("fish", capsys)
    completions = tmp_path / "home" / ".config" / "fish" / "completions"
    completions.mkdir(parents=True)
    (completions / "rtstyle.fish").write_text(text)  # as its --help says
    program = checkout_rtstyle(tmp_path / "bin" / "rtstyle")
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"), "PATH": f"{program.parent}:{os.environ['PATH']}"}
    session = 'complete -C "rtstyle image x.jpg --style candy,mo"; complete -C "rtstyle image x.jpg --style mosaic-f"'
    shell = subprocess.run([fish, "--no-config", "-c", f"source {completions / 'rtstyle.fish'}; {session}"],
                           env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    # click's own script split at every comma: nothing for a list, and descriptions cut at their first comma
    assert shell.stdout.splitlines() == ["candy,mosaic\tMosaic", "candy,mosaic-fast\tMosaic, fast network",
                                         "mosaic-fast\tMosaic, fast network"], shell.stderr


# Loaded in an interactive zsh after the script: each match a completion function offers is written to $OFFERED
# (a compadd that only gathers matches, -O/-A/-D, is passed on as it is), and "<done>" when rtstyle's has run.
ZSH_RECORDER = r"""
compadd() {
    if [[ ${@[1,(i)(-|--)]} != *-(O|A|D)\ * ]]; then
        local -a matches
        builtin compadd -A matches "$@"
        print -rl -- $matches >> $OFFERED
    fi
    builtin compadd "$@"
}
functions[_rtstyle_offering]=$functions[_rtstyle_completion]
_rtstyle_completion() {
    _rtstyle_offering "$@"
    local ret=$?
    print -r -- "<done>" >> $OFFERED
    return ret
}
"""


def zsh_offers(zsh: str, script: str, line: str, home: Path) -> list[str]:
    """What Tab at the end of `line` offers in a real interactive zsh (in a terminal, where completion runs), with
    compinit and the script loaded as its --help says."""
    import pty
    import select

    home.mkdir(parents=True, exist_ok=True)
    (home / "rtstyle.zsh").write_text(script)
    (home / "recorder.zsh").write_text(ZSH_RECORDER)
    offered_file = home / "offered.txt"
    program = checkout_rtstyle(home / "bin" / "rtstyle")
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(home), "PS1": "<ready> ",
           "OFFERED": str(offered_file), "PATH": f"{program.parent}:{os.environ['PATH']}"}
    pid, terminal = pty.fork()
    if pid == 0:  # the child: zsh without start-up files, in the terminal
        try:
            os.chdir(home)
            os.execve(zsh, [zsh, "-f", "-i"], env)
        finally:
            os._exit(127)
    screen = bytearray()

    def wait_for(done: object, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not done() and time.monotonic() < deadline:  # type: ignore[operator]
            if select.select([terminal], [], [], 0.1)[0]:
                try:
                    screen.extend(os.read(terminal, 4096))
                except OSError:  # the shell has gone
                    return
        assert done(), bytes(screen)  # type: ignore[operator]

    try:
        # Typed only at a prompt: zsh drops what was typed before its line editor starts.
        wait_for(lambda: screen.count(b"<ready> ") >= 1)
        os.write(terminal, b"autoload -U compinit && compinit -u; source rtstyle.zsh; source recorder.zsh\n")
        wait_for(lambda: screen.count(b"<ready> ") >= 2)
        os.write(terminal, line.encode() + b"\t")
        wait_for(lambda: offered_file.exists() and "<done>" in offered_file.read_text())
        os.write(terminal, b"\x15exit\n")  # Ctrl-U empties the line
    finally:
        deadline = time.monotonic() + 10
        while not os.waitpid(pid, os.WNOHANG)[0]:  # the shell exits on its own; else it is stopped here
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)
        os.close(terminal)
    return [line for line in offered_file.read_text().splitlines() if line != "<done>"]


def test_the_zsh_script_completes_style_names_in_zsh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Checked only as text before; here a real zsh's completion system runs it, Tab and all.
    zsh, text = shell_and_script("zsh", capsys)
    assert zsh_offers(zsh, text, "rtstyle webcam --style mo", tmp_path / "home") == ["mosaic", "mosaic-fast"]


@pytest.mark.parametrize(("shell", "registers"), [
    ("bash", "complete -o nosort -F _rtstyle_completion rtstyle"),
    ("zsh", "compdef _rtstyle_completion rtstyle"),
    ("fish", 'complete --no-files --command rtstyle --arguments "(_rtstyle_completion)"'),
])
def test_completion_prints_each_shells_script(shell: str, registers: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(["completion", shell], capsys)
    assert result.exit_code == 0
    assert f"{COMPLETE_VAR}={shell}_complete" in result.out and registers in result.out
    help_text = run_cli(["completion", "--help"], capsys).out
    assert f'eval "$(rtstyle completion {shell})"' in help_text or f"rtstyle completion {shell} >" in help_text


def test_an_unknown_shell_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line_error(run_cli(["completion", "tcsh"], capsys), "'tcsh' is not one of 'bash', 'zsh', 'fish'")


def test_plain_rtstyle_still_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli([], capsys)
    assert result.exit_code == 0 and "Commands:" in result.out and "completion" in result.out
