"""The r key: clips of the live stylized stream, started and stopped in the window, each its own MP4 beside the
snapshots. A clip is written as `--record` writes (rtstyle.realtime.recorder: a temporary file renamed when it
stops), so quitting, Ctrl-C or a lost camera finalise the clip that is running; a clip that cannot be started or
written is said in the window and ends only that clip, never the session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.realtime.recorder import Recorder, nominal_rate
from rtstyle.wording import how_long

CLIP_SUFFIX = ".mp4"


class LiveClips:
    def __init__(self, directory: Path, fps: float | None, log: Callable[[str], None] = lambda _: None) -> None:
        """`fps`: the capture's frame rate (the clip's nominal rate; its frames keep their own times)."""
        self.directory = Path(directory)
        self.fps = fps
        self.log = log
        self.current: Recorder | None = None
        self.started_at = 0.0
        self.saved: list[Path] = []

    @property
    def rate(self) -> Fraction:
        """The clips' nominal frame rate (as the recorder rounds it)."""
        return nominal_rate(self.fps)

    @property
    def recording(self) -> bool:
        return self.current is not None

    def elapsed(self, now: float) -> float:
        return now - self.started_at if self.current is not None else 0.0

    def toggle(self, style: str, now: float) -> str:
        """Start a clip of `style` (as the title bar names it), or stop the one running; returns what the window
        says."""
        if self.current is not None:
            return self.stop(now)
        path = clip_name(style, self.directory)
        try:
            self.current = Recorder(path, fps=self.fps)
        except (RtstyleError, OSError) as exc:  # a folder that cannot be written: said, the session goes on
            return self._failed(f"cannot record a clip: {exc}")
        self.started_at = now
        return f"recording {path.name} (r stops)"

    def write(self, image: np.ndarray, seconds: float) -> str | None:
        """Add a frame to the running clip; a message when writing failed (the clip is then given up)."""
        if self.current is None:
            return None
        try:
            self.current.write(image, seconds)
        except Exception as exc:  # noqa: BLE001 - a full disk, the encoder's own errors: that clip, not the session
            self.current.abandon()
            self.current = None
            return self._failed(f"recording the clip failed: {exc}")
        return None

    def stop(self, now: float) -> str:
        """Finalise the running clip (renamed into place); returns what the window says."""
        clip, self.current = self.current, None
        if clip is None:
            return ""
        try:
            path = clip.finish()
        except Exception as exc:  # noqa: BLE001 - as in write: the session (and its --record) must still end well
            clip.abandon()
            return self._failed(f"saving the clip failed: {exc}")
        if path is None:  # stopped before a frame came
            return "no clip: no frame came while recording"
        self.saved.append(path)
        self.log(f"clip saved: {path.resolve()} ({how_long(now - self.started_at)})")
        return f"saved {path.name}"

    def abandon(self) -> None:
        if self.current is not None:
            self.current.abandon()
            self.current = None

    def _failed(self, message: str) -> str:
        self.log(message)
        return message


def clip_name(style: str, directory: Path, now: datetime | None = None) -> Path:
    """rtstyle-STYLE-YYYYmmdd-HHMMSS.mp4, never an earlier clip's name."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = directory / f"rtstyle-{style}-{stamp}{CLIP_SUFFIX}"
    n = 2
    while path.exists():
        path = directory / f"rtstyle-{style}-{stamp}-{n}{CLIP_SUFFIX}"
        n += 1
    return path
