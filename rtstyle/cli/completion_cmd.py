"""`rtstyle completion SHELL`: the script that makes Tab complete rtstyle in bash, zsh or fish."""

from __future__ import annotations

import click
from click.shell_completion import FishComplete, ShellComplete, get_completion_class

SHELLS = ("bash", "zsh", "fish")

# click's fish script, but splitting each reply ("plain,candy,mosaic<TAB>Mosaic, fast network") at its first comma
# only: click's splits at every comma, so a style list (`--style candy,mo`) completed to nothing in fish and a
# description lost what followed its first comma.
_FISH_SCRIPT = """\
function %(complete_func)s;
    set -l response (env %(complete_var)s=fish_complete COMP_WORDS=(commandline -cp) COMP_CWORD=(commandline -t) \
%(prog_name)s);

    for completion in $response;
        set -l metadata (string split --max 1 "," -- $completion);

        if test $metadata[1] = "dir";
            __fish_complete_directories $metadata[2];
        else if test $metadata[1] = "file";
            __fish_complete_path $metadata[2];
        else if test $metadata[1] = "plain";
            echo $metadata[2];
        end;
    end;
end;

complete --no-files --command %(prog_name)s --arguments "(%(complete_func)s)";
"""


class FishScript(FishComplete):
    source_template = _FISH_SCRIPT


@click.command()
@click.argument("shell", metavar="SHELL", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    With it, Tab completes commands, options, paths, and the installed style names (built-in, their NAME-fast
    variants, your own) after --style, `export` and `quantize`.

    \b
    Add its line to your shell's start-up file, then open a new shell:
      bash (4.4 or later), in ~/.bashrc:
        eval "$(rtstyle completion bash)"
      zsh, in ~/.zshrc (after compinit):
        eval "$(rtstyle completion zsh)"
      fish, once:
        rtstyle completion fish > ~/.config/fish/completions/rtstyle.fish

    bash and zsh then run rtstyle at each start-up; to spare that, save the script once
    (`rtstyle completion bash > ~/.rtstyle-complete.bash`) and source that file instead.
    """
    from rtstyle.cli.main import COMPLETE_VAR, cli

    script_class: type[ShellComplete] | None = FishScript if shell == "fish" else get_completion_class(shell)
    assert script_class is not None  # click has all of SHELLS
    click.echo(script_class(cli, {}, "rtstyle", COMPLETE_VAR).source())
