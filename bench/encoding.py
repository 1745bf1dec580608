"""Encoding the benches' generated clips: every frame given its index as pts, muxed, and the encoder flushed."""

from __future__ import annotations

from collections.abc import Iterable

import av


def encode_all(container: av.container.OutputContainer, stream: av.VideoStream,
               frames: Iterable[av.VideoFrame]) -> None:
    for index, frame in enumerate(frames):
        frame.pts = index
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
