"""Running the CLI in-process the way a user runs it, exit code and all; a fake ICC profile for the image tests."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

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


def fake_icc(size: int = 588, seed: int = 0, space: bytes = b"RGB ", kind: bytes = b"mntr") -> bytes:
    """A profile-shaped byte string: a plausible 128-byte ICC header, no tags, then noise up to `size`."""
    header = bytearray(128)
    header[0:4] = struct.pack(">I", size)
    header[8:12] = b"\x04\x30\x00\x00"  # version 4.3
    header[12:16], header[16:20], header[20:24], header[36:40] = kind, space, b"XYZ ", b"acsp"
    body = struct.pack(">I", 0) + np.random.default_rng(seed).integers(0, 256, size - 132, np.uint8).tobytes()
    return bytes(header) + body
