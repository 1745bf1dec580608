"""Animated GIF with one 256-colour palette made for the clip's own (stylized) colours.

GIF stores at most 256 colours a frame. FFmpeg's GIF encoder, given BGR frames, maps them to a fixed 3-3-2 colour
cube with error diffusion: grainy, with a mean error of about 17 levels a channel on stylized frames. Here FFmpeg's
palettegen filter counts the colours of every frame as it is written (in a colour table, which grows with the distinct
colours, not the frames), and at close paletteuse maps each frame to that palette (about 5 levels:
docs/benchmarks.md). Mapping needs the palette,
so it needs every frame again; the stylized frames cannot be made twice (seconds a frame on a CPU), and holding them
would take a 1080p minute's 9 GB, so they are spooled raw to a hidden file beside the output (0.4 MB a frame at
480x270; lossless FFV1 would be 2.4x smaller for 25 ms a frame more) and deleted when the GIF is written.

Timestamps become the GIF's 1/100 s delays (the last frame's: its frame time); FFmpeg's GIF muxer loops forever.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import av.filter
import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import discard_temp, temp_path_beside
from rtstyle.io.av_files import create_file
from rtstyle.io.filtergraph import ready_frames

GIF_TIME_BASE = Fraction(1, 100)
#: Error diffusion (FFmpeg's default, sierra2_4a) looks closest to the stylized frame (Bayer patterns band in
#: smooth areas, see docs/benchmarks.md); diff_mode=rectangle re-dithers only the part of a frame that changed, so
#: a still background does not crawl (and compresses).
PALETTE_USE = "dither=sierra2_4a:diff_mode=rectangle"
BGR = av.VideoFormat("bgr24")
PALETTE_GEN = "stats_mode=full"  # the colours of every frame, all counted alike


class GifWriter:
    """Same use as rtstyle.io.video_writer.VideoWriter (write, close, abandon); no audio, no rotation tag."""

    def __init__(self, path: Path, *, width: int, height: int, time_base: Fraction, frame_time: float,
                 shown_as: Path | None = None) -> None:
        """`frame_time`: how long each frame shows, in seconds (the last one's delay; the others' is the time to
        the next)."""
        self.path = Path(path)
        self.last_delay = max(1, round(frame_time * 100))
        self.shown_as = Path(shown_as or path)
        self.width, self.height = width, height
        self.time_base = time_base
        self.audio_streams: list[av.stream.Stream] = []
        self.frames_written = 0
        self._times: list[int] = []  # each frame's time in 1/100 s
        self._stats = av.filter.Graph()
        self._stride = 2 if min(width, height) >= 64 else 1
        self._stats_in = self._stats.add_buffer(width=-(-width // self._stride), height=-(-height // self._stride),
                                                format=BGR, time_base=GIF_TIME_BASE)
        generator = self._stats.add("palettegen", PALETTE_GEN)
        self._stats_out = self._stats.add("buffersink")
        self._stats_in.link_to(generator)
        generator.link_to(self._stats_out)
        self._stats.configure()
        self._spool_path = temp_path_beside(self.shown_as, suffix=f"{self.shown_as.suffix}.frames")  # .OUT.*.part.gif.frames
        self._spool: BinaryIO | None = open(self._spool_path, "wb")  # noqa: SIM115 - closed by close/abandon

    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        assert self._spool is not None, "written after close"
        centis = round(float((pts if pts is not None else self.frames_written) * self.time_base) * 100)
        if self._times and centis <= self._times[-1]:  # two frames in one 1/100 s: GIF cannot show them apart
            centis = self._times[-1] + 1
        # Every 2nd pixel of every 2nd row: the same colours in the same proportions (the error on cutBunny is the
        # same to 0.01 level), for 2.3x less palettegen time.
        sample = np.ascontiguousarray(image[::self._stride, ::self._stride])
        frame = av.VideoFrame.from_ndarray(sample, format="bgr24")
        frame.pts, frame.time_base = centis, GIF_TIME_BASE
        self._stats_in.push(frame)
        for _ in ready_frames(self._stats_out):  # nothing comes before the end: the palette is made then
            pass
        try:
            self._spool.write(np.ascontiguousarray(image).tobytes())
        except OSError as exc:  # a full disk: named as the output, which is what the user knows
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None
        self._times.append(centis)
        self.frames_written += 1

    def write_audio(self, item: object) -> None:
        raise AssertionError("a GIF has no sound: convert_video gives it no audio")

    def close(self, progress: Callable[[int], None] | None = None) -> None:
        """Make the palette, map every spooled frame to it and write the GIF; `progress(1)` after each frame."""
        try:
            if self._spool is None:
                return
            self._spool.close()
            self._spool = None
            if not self.frames_written:
                return
            self._stats_in.push(None)
            palette = next(ready_frames(self._stats_out))
            self._write_gif(palette, progress)
        finally:
            self._discard_spool()

    def _write_gif(self, palette: av.VideoFrame, progress: Callable[[int], None] | None) -> None:
        graph = av.filter.Graph()
        frames_in = graph.add_buffer(width=self.width, height=self.height, format=BGR, time_base=GIF_TIME_BASE)
        palette_in = graph.add_buffer(width=palette.width, height=palette.height, format=palette.format,
                                      time_base=GIF_TIME_BASE)
        mapper = graph.add("paletteuse", PALETTE_USE)
        sink = graph.add("buffersink")
        frames_in.link_to(mapper, 0, 0)
        palette_in.link_to(mapper, 0, 1)
        mapper.link_to(sink)
        graph.configure()
        palette.pts, palette.time_base = 0, GIF_TIME_BASE
        palette_in.push(palette)
        palette_in.push(None)  # one palette for every frame
        try:
            # The muxer's delays are the times between frames; the last frame's it would take from the frame rate.
            container = create_file(self.path, format="gif",
                                options={"final_delay": str(self.last_delay)})
        except (av.error.FFmpegError, ValueError) as exc:
            raise RtstyleError(f"cannot write {self.shown_as}: {exc}") from None
        with container:
            stream = container.add_stream("gif", rate=25)
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "pal8"
            stream.codec_context.time_base = GIF_TIME_BASE

            def encode(frames: Iterator[av.VideoFrame]) -> None:
                for frame in frames:
                    frame.time_base = GIF_TIME_BASE
                    for packet in stream.encode(frame):
                        container.mux(packet)
                    if progress is not None:
                        progress(1)

            size = self.width * self.height * 3
            with open(self._spool_path, "rb") as spool:
                for centis in self._times:
                    image = np.frombuffer(spool.read(size), np.uint8).reshape(self.height, self.width, 3)
                    frame = av.VideoFrame.from_ndarray(image, format="bgr24")
                    frame.pts, frame.time_base = centis, GIF_TIME_BASE
                    frames_in.push(frame)
                    encode(ready_frames(sink))
            frames_in.push(None)
            encode(ready_frames(sink))
            for packet in stream.encode(None):
                container.mux(packet)

    def abandon(self) -> None:
        """Stop without writing the GIF (its temporary file is about to be deleted)."""
        if self._spool is not None:
            with contextlib.suppress(OSError):
                self._spool.close()
            self._spool = None
        self._discard_spool()

    def _discard_spool(self) -> None:
        discard_temp(self._spool_path)
