"""`rtstyle completion SHELL`: the script that makes Tab complete rtstyle in bash, zsh or fish."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

SHELLS = ("bash", "zsh", "fish")


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

    script_class = get_completion_class(shell)
    assert script_class is not None  # click has all of SHELLS
    click.echo(script_class(cli, {}, "rtstyle", COMPLETE_VAR).source())
