"""Running the CLI in-process the way a user runs it, exit code and all; waiting for a CLI run in a child process
to be writing; a fake ICC profile for the image tests; user styles installed by name."""

from __future__ import annotations

import shutil
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

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


def wait_until_writing(proc: subprocess.Popen[str], folder: Path, pattern: str, size: int) -> None:
    """Wait (60 s at most) until the run's file matching `pattern` in `folder` holds more than `size` bytes: frames
    are being written. Fails the test, killing the run, when it ends first or takes longer."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list(folder.glob(pattern))
        if found and found[0].stat().st_size > size:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.kill()
    pytest.fail("conversion did not start writing in time")


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


def quadrants(height: int = 32, width: int = 48) -> np.ndarray:
    """An RGB picture no turn or mirror leaves alike: four colours, with a gradient across."""
    image = np.zeros((height, width, 3), np.uint8)
    image[: height // 2, : width // 2] = (230, 30, 30)
    image[: height // 2, width // 2:] = (30, 200, 40)
    image[height // 2:, : width // 2] = (20, 40, 220)
    image[height // 2:, width // 2:] = (240, 220, 30)
    image[..., 1] += np.linspace(0, 20, width, dtype=np.uint8)[None, :]
    return image


def bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[..., 2::-1])


def close(a: np.ndarray, b: np.ndarray, tolerance: float = 2.0) -> bool:
    """Same shape, and a mean difference under `tolerance` (a lossy encoder's, not a turn's or a mirror's)."""
    return a.shape == b.shape and float(np.abs(a.astype(np.int16) - b).mean()) < tolerance


# Stored pixels, and the EXIF orientation that shows them upright: a portrait shot (the phone turned a quarter),
# upside down, a front camera's mirror image, and a turn and a mirror together.
TURNS = {6: lambda upright: np.rot90(upright, 1), 3: lambda upright: upright[::-1, ::-1],
         2: lambda upright: upright[:, ::-1], 7: lambda upright: np.rot90(upright, 1)[:, ::-1]}


def install_user_styles(home: Path, style: Path, *names: str) -> Path:
    """Copies of `style` installed as user styles under these names (in `home`, the isolated_dirs fixture's);
    returns the user styles folder."""
    folder = home / "styles"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(style, folder / f"{name}.safetensors")
    return folder
