"""Entry point of the `rtstyle` command.

Commands live in their own modules and are imported lazily, so `rtstyle --help` and the torch-free
commands start fast and never import torch. Errors the user can fix (RtstyleError, bad options) print
one line and exit with code 2; Ctrl-C exits with 130 and SIGTERM with 143, after the command has finalised
or removed its outputs (rtstyle.interrupts).
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import os
import sys
from typing import Any

import click
from click.shell_completion import CompletionItem

from rtstyle import __version__
from rtstyle.errors import RtstyleError
from rtstyle.interrupts import Terminated, deferred_stop, stop_on_signals
from rtstyle.torch_threads import prefer_short_spinning

# command name -> "module:attribute"; help text is read from the command itself.
COMMANDS: dict[str, str] = {
    "archs": "rtstyle.cli.archs_cmd:archs",
    "bench": "rtstyle.cli.bench_cmd:bench",
    "completion": "rtstyle.cli.completion_cmd:completion",
    "demo": "rtstyle.cli.demo_cmd:demo",
    "doctor": "rtstyle.cli.doctor_cmd:doctor",
    "eval": "rtstyle.cli.eval_cmd:eval_command",
    "export": "rtstyle.cli.export_cmd:export",
    "image": "rtstyle.cli.image_cmd:image",
    "quantize": "rtstyle.cli.quantize_cmd:quantize",
    "styles": "rtstyle.cli.styles_cmd:styles",
    "train": "rtstyle.cli.train_cmd:train",
    "video": "rtstyle.cli.video_cmd:video",
    "webcam": "rtstyle.cli.webcam_cmd:webcam",
}

# The variable click's shell completion protocol runs on (`rtstyle completion SHELL` prints the scripts that set it).
COMPLETE_VAR = "_RTSTYLE_COMPLETE"


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        with deferred_stop():  # native libraries (cv2, av, onnx) load here: Ctrl-C must not cut their start-up
            return getattr(importlib.import_module(module_name), attribute)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        """A misspelt command gets the likely one, as a misspelt option does (click suggests only options)."""
        name = args[0] if args else ""
        if name and name not in COMMANDS and not name.startswith("-") and not ctx.resilient_parsing:
            close = difflib.get_close_matches(name, COMMANDS, n=1)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Command names without their help: click's own would import every command module at each Tab."""
        names = [CompletionItem(name) for name in self.list_commands(ctx) if name.startswith(incomplete)]
        return names + click.Command.shell_complete(self, ctx, incomplete)  # the group's options (--version ...)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="rtstyle")
def cli() -> None:
    """Real-time video style transfer: webcam, video files, photos, training and export."""


def main(argv: list[str] | None = None) -> None:
    # RTSTYLE_DEBUG=0 (or false, no, off) is off, as one writes it to turn a setting off: it showed tracebacks.
    debug = os.environ.get("RTSTYLE_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")
    if not debug:
        # OpenCV's FFmpeg prints its own lines ("moov atom not found") for a source it cannot read, next to our
        # one-line error; it reads this once, at its first VideoCapture, so it is set before any command runs.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    prefer_short_spinning()  # torch's CPU threads spin only briefly while they wait: see rtstyle.torch_threads
    # Paths on stdout (results, one a line) are written as the bytes of their names: Python holds a name that is not
    # UTF-8 (caf\xe9.jpg from an old Latin-1 archive) with surrogates, which a UTF-8 locale's strict stdout refused
    # with a traceback after the first result, ending the batch.
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
    completing = COMPLETE_VAR in os.environ  # a Tab: the shell runs plain `rtstyle` with the words in the environment
    if not (sys.argv[1:] if argv is None else argv) and not completing:  # plain `rtstyle`: the help, not an error
        click.echo(cli.get_help(click.Context(cli, info_name="rtstyle")))
        sys.exit(0)
    try:
        with stop_on_signals():
            result: Any = cli.main(args=argv, prog_name="rtstyle", complete_var=COMPLETE_VAR, standalone_mode=False)
    except RtstyleError as exc:
        if debug:
            raise
        click.echo(f"rtstyle: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.UsageError as exc:  # a bad option or value: one line, like every other input error
        command = exc.ctx.command_path if exc.ctx else "rtstyle"
        message = " ".join(exc.format_message().split())
        named = _file_named_as_option(sys.argv[1:] if argv is None else argv, exc.option_name) \
            if isinstance(exc, click.NoSuchOption) else None
        if named is not None:  # `-clip.mp4` reads as options -c -l ...: say how to give the file
            message = message if message.endswith(".") else f"{message}."  # click 8.1's has no full stop
            click.echo(f"rtstyle: error: {message} For the file {named}, write ./{named} (or give it last, after "
                       "--)", err=True)
            sys.exit(exc.exit_code)
        click.echo(f"rtstyle: error: {message} (see `{command} --help`)", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.Abort) as exc:
        # click turns a KeyboardInterrupt inside a command into Abort: click 8.2 keeps it as the cause, 8.1 raises
        # `from None`, which still leaves it as the context.
        if any(isinstance(e, Terminated) for e in (exc, exc.__cause__, exc.__context__)):
            click.echo("rtstyle: terminated", err=True)
            sys.exit(143)
        click.echo("rtstyle: interrupted", err=True)
        sys.exit(130)
    except OSError as exc:
        # Disk full, permission denied and the like: the environment, not a bug.
        if debug:
            raise
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        click.echo(f"rtstyle: error: {exc.strerror or exc}{where}", err=True)
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)


def _file_named_as_option(args: list[str], refused: str) -> str | None:
    """The argument click refused as the option `refused` when it names a file or folder that is there
    (`-clip.mp4`, refused as -c or a later letter of it; `--clip.mp4` as itself); not a file that is merely there
    (`-o -out.jpg --stlye x` is a misspelt option, whatever -out.jpg is)."""
    for arg in args:
        if arg == "--":
            return None
        long_option = refused.startswith("--")
        refused_here = (arg.split("=", 1)[0] == refused) if long_option else (
            not arg.startswith("--") and refused[1:] in arg[1:])
        if arg.startswith("-") and len(arg) > 1 and refused_here and os.path.lexists(arg):
            return arg
    return None
