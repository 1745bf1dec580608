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


def make_camera_clip(path: Path, tracks: tuple[str, ...] = ("pcm_s16le",), *, frames: int = 12, rate: int = 24,
                     click: float = 0.25, noise: bool = False, languages: tuple[str, ...] = ("fra", "eng"),
                     fmt: str | None = None) -> Path:
    """A camera's recording: 64x48 H.264 and one audio track per codec in `tracks` (PCM as cameras record it in
    .MOV, pcm_bluray as AVCHD camcorders in .m2ts, or aac), 48 kHz stereo, silent but for a loud click at `click`
    seconds (to measure sync: the video's first frame is at 0), or white noise (`noise`, to compare bit rates).
    Track k is tagged `languages[k]`; the first is the default track."""
    samples = round(frames / rate * 48000)
    sound = np.random.default_rng(0).uniform(-0.5, 0.5, samples) if noise else np.zeros(samples)
    if not noise:
        start = round(click * 48000)
        sound[start:start + 480] = 0.8
    with av.open(str(path), mode="w", format=fmt) as container:
        video = container.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = []
        for k, codec in enumerate(tracks):
            stream = container.add_stream(codec, rate=48000)
            stream.layout = "stereo"
            stream.metadata["language"] = languages[k]
            stream.disposition = av.stream.Disposition.default if k == 0 else av.stream.Disposition(0)
            audio.append(stream)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20 % 256, np.uint8), "bgr24")
            frame.pts = i
            for packet in video.encode(frame):
                container.mux(packet)
        for stream in audio:
            _encode_sound(container, stream, sound)
        for packet in video.encode(None):
            container.mux(packet)
    return path


def _encode_sound(container: av.container.OutputContainer, stream: av.AudioStream, sound: np.ndarray) -> None:
    layout = stream.codec_context.format
    for offset in range(0, len(sound), 1024):
        chunk = sound[offset:offset + 1024]
        if layout.name.startswith("s16"):
            data = (chunk * 32767).astype(np.int16)
        elif layout.name.startswith("s32"):
            data = (chunk * 2 ** 31 * 0.999).astype(np.int32)
        else:
            data = chunk.astype(np.float32)
        both = np.stack([data, data])
        frame = av.AudioFrame.from_ndarray(both if layout.is_planar else np.ascontiguousarray(both.T).reshape(1, -1),
                                           format=layout.name, layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = 48000, offset, Fraction(1, 48000)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def click_time(path: Path, track: int = 0) -> float:
    """Seconds from the first video frame to the click of a make_camera_clip track, as a player plays the file."""
    with av.open(str(path)) as container:
        first = next(iter(container.decode(video=0))).time
        for frame in container.decode(audio=track):
            samples = frame.to_ndarray().astype(np.float64)
            samples = samples if frame.format.is_planar else samples.reshape(-1, len(frame.layout.channels)).T
            full = {"s16": 32767, "s32": 2 ** 31}.get(frame.format.name.rstrip("p"), 1)
            loud = np.nonzero(np.abs(samples).max(axis=0) > 0.3 * full)[0]
            if len(loud):
                return float(frame.time) + loud[0] / frame.sample_rate - float(first)
    raise AssertionError(f"no click in {path}")


def field_frame(i: int, width: int, height: int, top_first: bool = True) -> np.ndarray:
    """Frame i of an interlaced camera's view of a bright bar moving right: each field (the even lines, the odd
    lines) is taken at its own moment, 1/50 s apart, so the bar's edges are combed."""
    ys, xs = np.mgrid[0:height, 0:width]
    second_field = ys % 2 if top_first else 1 - ys % 2
    left = ((2 * i + second_field) * 6) % width
    bar = np.where((xs >= left) & (xs < left + width // 4), 230, 30).astype(np.uint8)
    return np.stack([bar, (ys * 2 % 256).astype(np.uint8), bar], -1)


def make_interlaced_clip(path: Path, *, frames: int = 10, rate: int = 25, width: int = 128, height: int = 96,
                         top_first: bool = True) -> Path:
    """Interlaced H.264 (x264's MBAFF), as 1080i camcorders and broadcasters write it: decoded frames are flagged
    interlaced, with the field order given."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"x264-params": f"interlaced=1:pic-struct=1:{'tff' if top_first else 'bff'}=1"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(field_frame(i, width, height, top_first), "bgr24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def combing(image: np.ndarray) -> float:
    """How far each line is from the mean of its neighbours, on average: high where fields disagree (combing)."""
    lines = image.astype(np.float32)
    return float(np.abs(lines[1:-1] - (lines[:-2] + lines[2:]) / 2).mean())


def write_frames(path: Path, images: list[np.ndarray], *, codec: str = "ffv1", pix_fmt: str = "bgr0", rate: int = 24,
                 options: dict[str, str] | None = None, rotation: int = 0) -> Path:
    """BGR `images` as a video, one frame each (FFV1 in bgr0, the default, stores them exactly)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = images[0].shape[:2]
        stream.pix_fmt, stream.options = pix_fmt, options or {}
        if rotation:
            stream.set_display_rotation(rotation)
        for image in images:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def write_hdr_clip(path: Path, signal: np.ndarray, trc: int, *, frames: int, codec: str = "libx264",
                   options: dict[str, str] | None = None) -> Path:
    """10-bit video tagged BT.2020 with the `trc` curve (BT.2020 matrix, limited range), every frame `signal`
    (16-bit RGB already in that curve); `options`: the encoder's (HDR10 metadata goes there)."""
    tags = (9, trc, 9, 1)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=24)
        stream.height, stream.width = signal.shape[:2]
        stream.pix_fmt = "yuv420p10le"
        stream.options = options or {"crf": "4"}
        _tag(stream.codec_context, tags)
        for _ in range(frames):
            frame = av.VideoFrame.from_ndarray(signal, format="rgb48le")
            _tag(frame, tags)
            for packet in stream.encode(frame.reformat(format="yuv420p10le")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
