"""Running the CLI in-process the way a user runs it, exit code and all."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass
class CliResult:
    exit_code: int
    out: str
    err: str


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> CliResult:
    from rtstyle.cli.main import main

    capsys.readouterr()
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def assert_one_line_error(result: CliResult, *fragments: str) -> None:
    assert result.exit_code == 2, result
    assert "Traceback" not in result.err
    # Progress and status lines may precede it; the error itself is one line, and the last.
    errors = [line for line in result.err.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, f"expected one error line, got: {result.err!r}"
    assert result.err.strip().splitlines()[-1] == errors[0]
    for fragment in fragments:
        assert fragment.lower() in errors[0].lower(), (fragment, errors[0])
