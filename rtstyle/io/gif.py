"""GIF photos through PyAV (FFmpeg) where OpenCV has no GIF decoder: opencv-python's wheels decode GIF from 4.12 on,
which needs numpy 2, and pyproject allows OpenCV 4.10 with numpy 1.26."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from rtstyle.io.av_files import open_file

GIF_SIGNATURES = (b"GIF87a", b"GIF89a")


def is_gif(head: bytes) -> bool:
    """By content, as a file's first bytes: a GIF under any name."""
    return head[:6] in GIF_SIGNATURES


def read_first_frame(path: Path) -> np.ndarray | None:
    """A GIF's first frame as uint8 BGR (what OpenCV's decoder gives), or None when FFmpeg cannot decode it."""
    try:
        with open_file(path) as container:  # a name like a:b.gif is not a protocol
            for frame in container.decode(video=0):
                return np.ascontiguousarray(frame.to_ndarray(format="bgr24"))
    except (av.FFmpegError, OSError, IndexError, ValueError):  # IndexError: no video stream in it
        return None
    return None


def count_frames(path: Path) -> int:
    """How many frames a GIF holds, counted from its packets (nothing decoded); 1 when it cannot tell."""
    try:
        with open_file(path) as container:  # a name like a:b.gif is not a protocol
            return max(1, sum(1 for packet in container.demux(video=0) if packet.size))
    except (av.FFmpegError, OSError, IndexError, ValueError):
        return 1
