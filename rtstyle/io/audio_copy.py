"""The input's audio tracks in a video output: whether a file of the output's type holds them as they are (their
packets copied), the one-line refusal where it does not, and how a track is encoded again instead (AudioEncoding;
rtstyle.io.formats chooses, rtstyle.io.video_writer encodes).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av

from rtstyle.errors import RtstyleError
from rtstyle.io.av_files import create_file
from rtstyle.io.video_probe import open_input


@dataclass(frozen=True)
class AudioEncoding:
    """How a track that the output cannot hold (or its players cannot play) as it is gets encoded again."""
    label: str  # for messages: "AAC"
    encoder: str  # FFmpeg's name
    bit_rate: int | None  # bits a second per channel; None: lossless
    rate: int | None = None  # the one sample rate the encoder takes (Opus: 48 kHz); None: the input's, where it can


def audio_refusal(streams: Sequence[av.stream.Stream], target: Path) -> RtstyleError:
    codecs = ", ".join(sorted({s.codec_context.name for s in streams}))
    return RtstyleError(f"the {codecs} audio of the input cannot be stored in a {target.suffix} file: choose an "
                        "output extension that can hold it (e.g. .mkv), or pass --no-audio")


def refused_audio_copies(source: Path, target: Path, streams: Sequence[int],
                         muxer_options: dict[str, str] | None = None) -> list[int]:
    """Those of the input's audio `streams` (positions among its audio streams) that a file of the target's type
    cannot hold: the first packet of each is copied into a throwaway file of that type (written with
    `muxer_options`), which is then finished.

    Some containers accept a codec at the header and refuse it only when the file is finished: found here, before
    the conversion, the track is encoded again (or refused in one line) instead of a whole conversion lost at the end.
    """
    return [k for k in streams if not _copies_into(source, target, k, muxer_options or {})]


def _copies_into(source: Path, target: Path, index: int, muxer_options: dict[str, str]) -> bool:
    with open_input(source) as container:
        stream = container.streams.audio[index]
        fd, name = tempfile.mkstemp(suffix=target.suffix)
        os.close(fd)
        try:
            with create_file(name, options=muxer_options) as trial:
                copy = trial.add_stream_from_template(stream)
                for packet in container.demux(stream):
                    if packet.dts is not None and packet.size:
                        packet.stream = copy
                        trial.mux(packet)
                        break
        except (av.error.FFmpegError, ValueError, OSError):
            return False
        finally:
            os.unlink(name)
    return True
