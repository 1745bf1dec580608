"""A video file read for `rtstyle webcam --source FILE` as `rtstyle video` reads it (PyAV), not through OpenCV.

OpenCV's reader gives each frame as its 8-bit BGR values and nothing more: an HDR phone clip showed pale and washed
out, and a 1080i camcorder clip combed, in the window and in `--record`, although `rtstyle video` converted the
same file right. Here the frames come from the same decoding as a conversion's: past damaged packets,
deinterlaced, HDR tone-mapped, upright.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from rtstyle.io.deinterlace import progressive
from rtstyle.io.frames import StreamFrames
from rtstyle.io.video_probe import frames_past_damage, open_input, probe_video
from rtstyle.realtime.pacing import MAX_STEP_DISCONTINUOUS


class VideoFileSource:
    """A FrameSource (rtstyle.realtime.capture) over a video file; `read` gives (False, None) from its end on."""

    def __init__(self, path: Path, size: tuple[int, int] | None = None) -> None:
        """`size`: (width, height) upright, as --size gives it: frames are decoded at it (area averaging), not decoded
        whole and resized after: an HDR phone clip's 4K frame took 200 ms to tone-map, 4 ms at 640x360."""
        info = probe_video(path)  # a file that is not video fails here, in one line
        self.fps: float | None = float(info.rate) or None
        turned = info.rotation % 180 == 90
        self.size = size or ((info.height, info.width) if turned else (info.width, info.height))  # as shown: upright
        self._decoded_size = None if size is None else (size[1], size[0]) if turned else size  # as stored
        self._container = open_input(path)
        # Timestamps that may jump (MPEG-TS) are not waited through (rtstyle.realtime.pacing.Timeline).
        jumps = av.format.Flags.ts_discont in av.format.Flags(self._container.format.flags)
        self.max_step = MAX_STEP_DISCONTINUOUS if jumps else None
        self.position: float | None = None  # the last frame's timestamp in seconds (None: it has none)
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._frames: Iterator[av.VideoFrame] = progressive(frames_past_damage(self._container, stream), stream)
        self._to_bgr = StreamFrames()  # HDR10's peak read once for the clip

    def read(self) -> tuple[bool, np.ndarray | None]:
        try:
            frame = next(self._frames, None)
        except av.error.FFmpegError:  # undecodable from here on: the clip ends there, as a conversion ends it
            frame = None
        if frame is None:
            self._frames = iter(())
            return False, None
        self.position = frame.time
        return True, self._to_bgr.upright(frame, self._decoded_size)

    def release(self) -> None:
        self._container.close()
