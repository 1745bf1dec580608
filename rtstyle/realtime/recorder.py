"""`--record`: the live loop's stylized frames to H.264, timed by when they were captured (a file read headless at
full speed, every frame kept: by its frames' own timestamps).

Written to a temporary file beside the target and renamed when the loop ends, whether by q, Ctrl-C, the end
of a file or a lost camera: stopping is the normal way to end a recording, so it is always finalised.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

from rtstyle.io.atomic import discard_temp, move_into_place, refuse_to_replace, temp_path_beside
from rtstyle.io.leftovers import clear_leftovers
from rtstyle.io.quality import DEFAULT_PRESET
from rtstyle.io.video_probe import ColorTags
from rtstyle.io.video_writer import VideoWriter, check_output_suffix

TIME_BASE = Fraction(1, 1000)  # millisecond timestamps: live frames come when they come (variable rate)
# The frames are what the window shows: SDR RGB (a camera's, or a file decoded and tone-mapped to BT.709). Written
# as BT.709, limited range, and tagged so: untagged, swscale converted them with BT.601's matrix and players read
# untagged HD video as BT.709, so a 720p recording played a mean 8 levels off the window's colours.
RECORDING_COLOR = ColorTags(primaries=1, trc=1, space=1, range=1)


def nominal_rate(fps: float | None) -> Fraction:
    """A recording's frame rate as its header states it: the capture's (30 when it does not say), as a fraction
    (29.97 is 30000/1001); the frames keep their own times."""
    return Fraction(fps or 30).limit_denominator(1001)


class Recorder:
    def __init__(self, target: Path, *, fps: float | None, overwrite: bool = False, crf: int = 20,
                 preset: str = DEFAULT_PRESET, say: Callable[[str], None] = lambda _: None) -> None:
        """`say`: where the removal of files an interrupted recording left (rtstyle.io.leftovers) is said."""
        self.target = Path(target)
        refuse_to_replace(self.target, overwrite, "recording")  # also a folder in the way
        check_output_suffix(self.target, "--record")  # .avi would store one frame rate, not the live timing
        clear_leftovers([self.target], say)
        self.overwrite = overwrite
        self.rate = nominal_rate(fps)
        self.crf, self.preset = crf, preset
        self.tmp = temp_path_beside(self.target)  # checks the directory is writable before the loop starts
        try:  # an unusable extension fails now, not after the camera has started
            VideoWriter(self.tmp, width=16, height=16, rate=self.rate, shown_as=self.target).abandon()
        except BaseException:
            self.abandon()
            raise
        self.writer: VideoWriter | None = None
        self._last_pts = -1
        self._origin: float | None = None

    @property
    def frames(self) -> int:
        return self.writer.frames_written if self.writer else 0

    def write(self, image: np.ndarray, seconds: float) -> None:
        if self.writer is None:
            self.writer = VideoWriter(self.tmp, width=image.shape[1], height=image.shape[0], rate=self.rate,
                                      time_base=TIME_BASE, crf=self.crf, preset=self.preset,
                                      color=RECORDING_COLOR, shown_as=self.target)
        if self._origin is None:
            self._origin = seconds  # the recording starts at 0 with its first frame
        pts = max(round((seconds - self._origin) / TIME_BASE), self._last_pts + 1)
        self.writer.write(image, pts)
        self._last_pts = pts

    def finish(self) -> Path | None:
        """Finalise and rename; None (and no file) when no frame was recorded."""
        if self.writer is None:
            self.abandon()
            return None
        self.writer.close()
        return move_into_place(self.tmp, self.target, self.overwrite)  # another file there now: kept beside it

    def abandon(self) -> None:
        writer = getattr(self, "writer", None)  # also called from __init__, before it exists
        if writer is not None:
            writer.abandon()
        discard_temp(self.tmp)
