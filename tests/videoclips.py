"""Short clips generated with PyAV for the video and webcam tests (odd sizes, no audio, variable frame rate)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

BUNNY = Path(__file__).resolve().parent.parent / "rtstyle" / "assets" / "cutBunny.mp4"


def make_clip(path: Path, *, width: int = 96, height: int = 64, pts: list[int] | None = None, frames: int = 10,
              rate: int = 24, time_base: Fraction | None = None, rotation: int = 0, gop: int | None = None,
              audio: bool = False, color: tuple[int, int, int, int] | None = None,
              sample_aspect: Fraction | None = None) -> Path:
    """A moving gradient; `pts` (in `time_base`, default 1/rate) gives variable frame rate timestamps or an offset
    start; `gop`: a keyframe every so many frames (None: x264's default, one for a short clip); `audio`: AAC
    audio as long as the video, from the video's first timestamp (the encoder adds its priming packet before);
    `color`: (primaries, trc, matrix, range) tags (FFmpeg's AVCOL_* codes), used for the RGB -> YUV conversion."""
    time_base = time_base or Fraction(1, rate)
    pts = pts if pts is not None else [round(i / (rate * time_base)) for i in range(frames)]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
        if gop:
            stream.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"}
        if rotation:
            stream.set_display_rotation(rotation)
        if sample_aspect:
            stream.codec_context.sample_aspect_ratio = sample_aspect
        if color:
            _tag(stream.codec_context, color)
        sound = container.add_stream("aac", rate=44100) if audio else None
        ys, xs = np.mgrid[0:stream.height, 0:stream.width]
        for i, t in enumerate(pts):
            image = np.stack([(xs * 3 + i * 10) % 256, (ys * 3) % 256, np.full_like(xs, (i * 25) % 256)], -1)
            frame = av.VideoFrame.from_ndarray(image.astype(np.uint8), format="bgr24")
            frame.pts, frame.time_base = t, time_base
            if color:
                _tag(frame, color)  # PyAV converts a tagged frame to YUV with that matrix and range
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if sound is not None:
            _add_tone(container, sound, float(pts[0] * time_base), float((pts[-1] - pts[0]) * time_base) + 1 / rate)
    if width % 2 or height % 2:
        return _crop_to(path, width, height)
    return path


def _tag(target: av.VideoFrame | av.video.codeccontext.VideoCodecContext, color: tuple[int, int, int, int]) -> None:
    target.color_primaries, target.color_trc, target.colorspace, target.color_range = color


def _add_tone(container: av.container.OutputContainer, stream: av.AudioStream, start: float, seconds: float) -> None:
    rate = 44100
    first, samples = round(start * rate), round(seconds * rate)
    for offset in range(0, samples, 1024):
        t = (np.arange(1024) + offset) / rate
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = rate, first + offset, Fraction(1, rate)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def _crop_to(path: Path, width: int, height: int) -> Path:
    """libx264 cannot encode odd sizes in yuv420p; odd-sized test input is made losslessly with ffv1 in .mkv."""
    odd = path.with_suffix(".mkv")
    with av.open(str(path)) as src, av.open(str(odd), mode="w") as dst:
        stream = dst.add_stream("ffv1", rate=src.streams.video[0].average_rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        for frame in src.decode(video=0):
            image = frame.to_ndarray(format="bgr24")[:height, :width]
            out = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
            out.pts, out.time_base = frame.pts, frame.time_base
            for packet in stream.encode(out):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)
    path.unlink()
    return odd


def video_summary(path: Path) -> dict[str, object]:
    """Frame count, size, rate, timestamps (s), rotation and audio of a file, decoded for real."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        times, rotation, size = [], 0, None
        for frame in container.decode(video):
            times.append(float(frame.pts * frame.time_base))
            rotation, size = frame.rotation, (frame.width, frame.height)
        audio = []
        for stream in container.streams.audio:
            audio.append({"codec": stream.codec_context.name, "time_base": stream.time_base})
        return {"frames": len(times), "size": size, "rate": video.average_rate, "times": times,
                "rotation": rotation, "audio": audio, "time_base": video.time_base}


def audio_packets(path: Path, start: float = float("-inf"), end: float | None = None) -> list[tuple[float, bytes]]:
    """(time, payload) of the audio packets of the first audio stream that start in [start, end)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        out = []
        for packet in container.demux(stream):
            if packet.size and packet.pts is not None:
                t = float(packet.pts * packet.time_base)
                if t >= start - 1e-6 and (end is None or t < end - 1e-6):
                    out.append((t, bytes(packet)))
        return out


def damage_packets(path: Path, packets: list[int]) -> Path:
    """Break the given video packets (in file order) of an MP4 in place, as a bad sector or a faulty copy would:
    each one's first NAL unit length becomes absurd, so the decoder refuses that packet and only that one."""
    with av.open(str(path)) as container:
        places = [(p.pos, p.size) for p in container.demux(video=0) if p.size]
    data = bytearray(path.read_bytes())
    for k in packets:
        pos, size = places[k]
        assert pos is not None and size > 4
        data[pos:pos + 4] = b"\x0d\x0d\x0d\x0d"
    path.write_bytes(bytes(data))
    return path
