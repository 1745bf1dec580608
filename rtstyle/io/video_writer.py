"""Writing a video file through PyAV: H.264 yuv420p (or another encoder) from BGR frames, with the input's audio.

Frames are encoded with the timestamps they are given, in the input stream's time base, so variable frame rate
input keeps its timing; audio is muxed unchanged, or decoded and encoded again where the output cannot hold it
playably (rtstyle.io.formats decides which; rtstyle.io.audio_copy finds the tracks a container refuses).
The input's colour tags go to the output, and the conversion from BGR uses their matrix and range.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
from av.video.reformatter import Interpolation, VideoReformatter
import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.interrupts import deferred_stop
from rtstyle.io.audio_copy import AudioEncoding, audio_refusal
from rtstyle.io.av_errors import short_reason
from rtstyle.io.av_files import create_file
from rtstyle.io.quality import DEFAULT_PRESET, DEFAULT_QUALITY, QUALITY_CRF
from rtstyle.io.video_probe import ColorTags
from rtstyle.io.video_reader import AudioPacket


#: The containers written: they hold H.264 with the input's own time base (variable frame rates, exact
#: timestamps) and the usual audio codecs. AVI stores one frame rate, not timestamps; WebM refuses H.264.
OUTPUT_SUFFIXES = (".mp4", ".m4v", ".mkv", ".mov")


# BGR -> yuv420p as x264 gets it: swscale's default (fast) path truncates, which took every flat grey 128 to
# (123, 126, 124) and darkened real frames by 1-2 levels; accurate rounding gives the input back (to +-0.02 on average).
TO_YUV = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INP

#: The channels of audio whose file does not say which is where (PCM in Matroska: "2 channels"), as FFmpeg
#: assumes them.
USUAL_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}

WRITE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})  # what the disk says, not FFmpeg

SUFFIX_LIST = f"{', '.join(OUTPUT_SUFFIXES[:-1])} or {OUTPUT_SUFFIXES[-1]}"  # for messages


def check_output_suffix(target: Path, what: str = "output") -> None:
    if target.suffix.lower() not in OUTPUT_SUFFIXES:
        raise RtstyleError(f"unsupported {what} type {target.suffix or '(no extension)'}: {target} (H.264 video "
                           f"is written as {SUFFIX_LIST})")


def even_size(width: int, height: int) -> tuple[int, int]:
    """yuv420p stores chroma per 2x2 block, so H.264 needs even sizes: round odd ones up (see pad_to_even)."""
    return width + width % 2, height + height % 2


def pad_to_even(image: np.ndarray) -> np.ndarray:
    """Pad an odd-sized frame by one pixel on the right/bottom, repeating the edge (no content is lost)."""
    height, width = image.shape[:2]
    bottom, right = height % 2, width % 2
    if not (bottom or right):
        return image
    return cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_REPLICATE)


class VideoWriter:
    """H.264 yuv420p (libx264, constant quality) plus audio streams copied from templates; or another encoder
    (`codec`, `options`: VP9 for WebM, animated WebP); audio streams with an `audio_encodings` entry are decoded and
    encoded again (Opus for WebM, AAC for PCM in .mp4)."""

    def __init__(self, path: Path, *, width: int, height: int, rate: Fraction, time_base: Fraction | None = None,
                 crf: int = QUALITY_CRF[DEFAULT_QUALITY], preset: str = DEFAULT_PRESET, rotation: int = 0,
                 audio_templates: Sequence[av.stream.Stream] = (), shown_as: Path | None = None,
                 color: ColorTags | None = None, sample_aspect: Fraction | None = None, codec: str = "libx264",
                 options: dict[str, str] | None = None, audio_encodings: Sequence[AudioEncoding | None] = (),
                 muxer_options: dict[str, str] | None = None, pix_fmt: str = "yuv420p") -> None:
        """`shown_as`: the name to use in messages (the user's target, when `path` is a temporary file);
        `color`: the input's colour tags, for the header and the BGR -> yuv420p conversion (None: unspecified);
        `sample_aspect`: the input's pixel shape (None: square), so an anamorphic video keeps its picture's shape;
        `options`: the encoder's (default: x264's `crf` and `preset`); `audio_encodings`: per audio template, how
        its packets are decoded and encoded again (None, or no entry: the packets are copied);
        `muxer_options`: the container's (a WebP's loop count); `pix_fmt`: what the encoder takes (yuv420p, whose
        odd sizes are padded; or bgra for WebP, as the frames are)."""
        self.path = Path(path)
        self.color = color
        self.shown_as = Path(shown_as or path)
        self.width, self.height = even_size(width, height) if pix_fmt == "yuv420p" else (width, height)
        self.audio_encodings = [audio_encodings[k] if k < len(audio_encodings) else None
                                for k in range(len(audio_templates))]
        try:
            self.container = create_file(self.path, options=muxer_options or {})
        except (av.error.FFmpegError, ValueError) as exc:
            raise RtstyleError(f"cannot write video {self.shown_as}: {short_reason(exc)} (use {SUFFIX_LIST})") from None
        try:
            try:
                stream = self.container.add_stream(codec, rate=rate)
            except ValueError:
                raise RtstyleError(f"{codec} video cannot be stored in a {self.shown_as.suffix} file: "
                                   f"use {SUFFIX_LIST} ({self.shown_as})") from None
            assert isinstance(stream, av.VideoStream)  # a video encoder's
            self.stream = stream
            self.stream.width, self.stream.height = self.width, self.height
            self.stream.pix_fmt = pix_fmt
            self.stream.options = dict(options) if options is not None else {"crf": str(crf), "preset": preset}
            if color is not None:
                color.tag(self.stream.codec_context)
            if time_base is not None:
                # Encode in the input's time base, so timestamps (and variable frame rates) pass through exactly.
                self.stream.codec_context.time_base = time_base
                self.stream.time_base = time_base
            if sample_aspect is not None:
                self.stream.codec_context.sample_aspect_ratio = sample_aspect
            if rotation:
                self.stream.set_display_rotation(rotation)
            self.audio_streams = [self._add_audio(t, e) for t, e in zip(audio_templates, self.audio_encodings)]
            self._start(audio_templates)
        except BaseException:
            self.container.close()
            raise
        self.frames_written = 0
        self._to_yuv = VideoReformatter()

    def _start(self, audio_templates: Sequence[av.stream.Stream]) -> None:
        """Write the header now: a container that cannot hold a stream fails here, before any frame is converted,
        not at the first audio packet (FLAC or Opus audio in a .mov, for example)."""
        try:
            self.container.start_encoding()
        except (av.error.FFmpegError, ValueError) as exc:
            encoded = [t for t, e in zip(audio_templates, self.audio_encodings) if e is not None]
            if encoded:
                labels = " and ".join(sorted({e.label for e in self.audio_encodings if e is not None}))
                raise RtstyleError(f"cannot encode the input's audio as {labels} for {self.shown_as}: "
                                   f"{short_reason(exc)} (pass --no-audio)") from None
            if audio_templates:
                raise audio_refusal(audio_templates, self.shown_as) from None
            raise RtstyleError(f"cannot write video {self.shown_as}: {short_reason(exc)}") from None

    def _add_audio(self, template: av.stream.Stream, encoding: AudioEncoding | None) -> av.stream.Stream:
        if encoding is not None:
            stream = self._add_encoder(template, encoding)
        else:
            codec = template.codec_context.name
            supported = self.container.supported_codecs
            if supported and codec not in supported:
                raise audio_refusal([template], self.shown_as)
            stream = self.container.add_stream_from_template(template)
        # A track's language and title name it in players' audio menus (two languages were both 'und'), and its
        # disposition says which plays by default.
        stream.metadata.update({k: v for k, v in template.metadata.items() if k.lower() in ("language", "title")})
        stream.disposition = template.disposition
        return stream

    def _add_encoder(self, template: av.stream.Stream, encoding: AudioEncoding) -> av.stream.Stream:
        """An encoder for a copy of `template`, with its channels; PyAV resamples what is decoded to the encoder's
        sample format and rate."""
        context = template.codec_context
        layout = context.layout  # type: ignore[attr-defined]  # an audio stream's
        rate = encoding.rate or _encodable_rate(encoding.encoder, context.sample_rate)  # type: ignore[attr-defined]
        name = layout.name
        if any(channel.name == "NONE" for channel in layout.channels):  # "2 channels": encoders want their places
            name = USUAL_LAYOUTS.get(layout.nb_channels, name)
        try:
            stream = self.container.add_stream(encoding.encoder, rate=rate, layout=name)
        except (av.error.FFmpegError, ValueError) as exc:
            raise RtstyleError(f"cannot encode the input's audio as {encoding.label} for {self.shown_as}: "
                               f"{short_reason(exc)} (pass --no-audio)") from None
        assert isinstance(stream, av.AudioStream)  # an audio encoder's
        if encoding.bit_rate:
            stream.bit_rate = encoding.bit_rate * max(1, layout.nb_channels)
        return stream

    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        if self.stream.pix_fmt != "yuv420p":  # RGB for the encoder (WebP): the same colours
            frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format=self.stream.pix_fmt)
            self.write_picture(frame, pts)
            return
        frame = av.VideoFrame.from_ndarray(pad_to_even(image), format="bgr24")
        if self.color is not None:
            self.color.tag(frame)  # the matrix and range of the conversion below
        frame = self._to_yuv.reformat(frame, format="yuv420p", interpolation=TO_YUV)
        self.write_picture(frame, pts)

    def write_picture(self, frame: av.VideoFrame, pts: int | None = None) -> None:
        """A frame in the output's own format (yuv420p at its size): a resumed run's kept frames, encoded again
        without a round trip through BGR (which would blur their chroma once more)."""
        frame.pts = pts if pts is not None else self.frames_written
        if self.stream.codec_context.time_base is not None:
            frame.time_base = self.stream.codec_context.time_base
        with deferred_stop():  # a Ctrl-C between encoding and muxing lost the frame's packet from the part
            for packet in self.stream.encode(frame):
                self.container.mux(packet)
            self.frames_written += 1

    def write_encoded(self, packets: Sequence[av.Packet]) -> None:
        """One frame's place in the video: `packets` (zero or more, in decoding order) that an encoder with this
        one's settings made, copied as they are (a resumed run's kept part; rtstyle.realtime.resume)."""
        with deferred_stop():  # all of them or none
            for packet in packets:
                packet.stream = self.stream
                self.container.mux(packet)
            self.frames_written += 1

    def write_audio(self, item: AudioPacket) -> None:
        with deferred_stop():  # as for a frame: a stop between decoding, encoding and muxing lost sound
            if self.audio_encodings[item.stream_index] is not None:
                self._encode_audio(item)
                return
            item.packet.stream = self.audio_streams[item.stream_index]
            try:
                self.container.mux(item.packet)
            except av.error.FFmpegError as exc:  # a packet the output container refuses: one line, not a traceback
                if exc.errno in WRITE_FAILURES:  # the disk, not the container: the advice below would be wrong
                    raise OSError(exc.errno, os.strerror(exc.errno), str(self.path)) from None
                raise RtstyleError(f"cannot copy the audio into {self.shown_as}: {short_reason(exc)} (try .mkv, or "
                                   "--no-audio)") from None

    def _encode_audio(self, item: AudioPacket) -> None:
        """Decode a packet with its input stream's decoder and encode what it holds again."""
        try:
            decoded = item.packet.decode()
        except av.error.FFmpegError:  # a damaged audio packet: a moment of silence, as a player would give
            return
        stream = self.audio_streams[item.stream_index]
        assert isinstance(stream, av.AudioStream)  # an audio encoder's
        for frame in decoded:
            assert isinstance(frame, av.AudioFrame)  # an audio packet's
            for packet in stream.encode(frame):
                self.container.mux(packet)

    def close(self, progress: Callable[[int], None] | None = None) -> None:
        """Flush the encoders and write the trailer: the file is playable after this. (`progress`: for the GIF
        writer's second pass; nothing is left to count here.)"""
        try:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
            for stream, encoding in zip(self.audio_streams, self.audio_encodings):
                if encoding is not None:
                    assert isinstance(stream, av.AudioStream)  # an audio encoder's
                    for packet in stream.encode(None):
                        self.container.mux(packet)
        finally:
            self.container.close()

    def abandon(self) -> None:
        """Close without caring whether the file is complete (it is about to be deleted)."""
        with contextlib.suppress(Exception):
            self.container.close()


def _encodable_rate(encoder: str, rate: int) -> int:
    """The input's sample rate where the encoder takes it; else the nearest it takes at or above it (AAC stops at
    96 kHz, below a 192 kHz recording's)."""
    rates = av.Codec(encoder, "w").audio_rates
    if not rates or rate in rates:
        return rate
    above = [r for r in rates if r >= rate]
    return min(above) if above else max(rates)
