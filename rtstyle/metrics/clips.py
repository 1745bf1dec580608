"""Read the frames of a clip for evaluation: a video file (PyAV) or a folder of numbered images.

Frames come out one at a time as uint8 HxWx3 BGR, optionally downscaled, so a long clip never has to fit in
memory. (The video pipeline owns conversion with audio; this is only a reader for metrics.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.io.images import is_image_path, read_image


def clip_frame_paths(folder: Path) -> list[Path]:
    """Image files directly in `folder`, in natural order (frame_2 before frame_10)."""
    import re

    def natural_key(path: Path) -> list[object]:
        return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]

    return sorted((p for p in folder.iterdir() if p.is_file() and is_image_path(p)), key=natural_key)


def downscale(frame: np.ndarray, max_size: int | None) -> np.ndarray:
    if max_size and max(frame.shape[:2]) > max_size:
        scale = max_size / max(frame.shape[:2])
        return cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return frame


def iter_clip(path: Path, max_frames: int | None = None, max_size: int | None = None) -> Iterator[np.ndarray]:
    """Frames of a video file or an image folder; raises RtstyleError for anything unreadable."""
    path = Path(path)
    if not path.exists():
        raise RtstyleError(f"clip not found: {path}")
    frames = _iter_folder(path) if path.is_dir() else _iter_video(path)
    shape = None
    for index, frame in enumerate(frames):
        if max_frames is not None and index >= max_frames:
            return
        frame = downscale(frame, max_size)
        if shape is not None and frame.shape != shape:
            raise RtstyleError(f"frame {index} of {path} is {frame.shape[1]}x{frame.shape[0]}, "
                               f"the first was {shape[1]}x{shape[0]}: all frames of a clip must have one size")
        shape = frame.shape
        yield frame


def _iter_folder(folder: Path) -> Iterator[np.ndarray]:
    paths = clip_frame_paths(folder)
    if not paths:
        raise RtstyleError(f"no image frames in folder {folder}")
    for p in paths:
        yield read_image(p, "frame")  # says why one cannot be read: empty, too large to decode, corrupt


def _iter_video(path: Path) -> Iterator[np.ndarray]:
    import av

    from rtstyle.io.deinterlace import progressive
    from rtstyle.io.frames import StreamFrames
    from rtstyle.io.video_probe import frames_past_damage, open_input

    with open_input(path) as container:  # says why one cannot be read, as `rtstyle video` does
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames = StreamFrames()  # HDR10's peak read once for the clip
        try:
            # a damaged packet costs its frames, not the clip; interlaced frames are deinterlaced, as by `rtstyle video`
            for frame in progressive(frames_past_damage(container, stream), stream):
                # upright, as shown and as `rtstyle video` stylizes it: a portrait phone video is stored sideways
                yield frames.upright(frame)
        except av.FFmpegError as exc:
            raise RtstyleError(f"cannot decode video {path}: {getattr(exc, 'strerror', None) or exc}") from None

