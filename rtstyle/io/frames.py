"""Decoded video frames as the networks take them: 8-bit BGR, HDR tone-mapped to SDR."""
from __future__ import annotations

import av
import numpy as np

from rtstyle.io.hdr import is_hdr, tone_map

# swscale's default (fast) YUV -> BGR is kept: it reads frames about a level dark (-1.05 on average on a 1080p
# photo), and its accurate path (ACCURATE_RND | FULL_CHR_H_INT) gets the matrix's own colours but costs 8-16 ms a
# 1080p frame instead of 0.7-1 (bench/decode.py): the decoding thread would then hold back GPU conversions.


def frame_to_bgr(frame: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
    """A decoded frame as 8-bit BGR (scaled to `size` with area averaging): tone-mapped to SDR when it is HDR."""
    hdr = is_hdr(frame.color_trc)
    fmt = "rgb48le" if hdr else "bgr24"  # HDR's 10-bit steps kept in 16 bits until its curves are undone
    image = frame.to_ndarray(format=fmt, width=size[0], height=size[1], interpolation="AREA") if size else \
        frame.to_ndarray(format=fmt)
    return tone_map(image, frame.color_trc) if hdr else image


def upright_bgr(frame: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
    """frame_to_bgr, turned as the frame's display rotation says: a portrait phone video's frame as it is shown
    (`size` is the stored frame's). `rtstyle video` does not use it: it turns its frames back after the network."""
    return upright_frame(frame_to_bgr(frame, size), int(getattr(frame, "rotation", 0) or 0))


def upright_frame(image: np.ndarray, rotation: int) -> np.ndarray:
    """A decoded frame turned as its display rotation tag says (counter-clockwise degrees, as np.rot90 turns)."""
    turns = rotation // 90 % 4 if rotation % 90 == 0 else 0
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image
