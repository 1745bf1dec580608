"""What resuming an interrupted conversion costs: the generation loss of re-encoding the kept frames, the time of
that re-encode beside the network's, and writing the temporary MP4 in fragments (size, time, the remux).

cutBunny's frames at --size are stylized once with --style (mosaic-fast); then, side by side in one run:
  * generation loss: the stylized frames encoded at the default quality (x264 crf 18 veryfast) once, and that file
    decoded and encoded again as a resumed run does (yuv420p frames, no BGR round trip) or through BGR; PSNR of
    each against the stylized frames;
  * time a frame: the full network (--full, mosaic) and the fast one against decode + re-encode of a kept frame;
  * fragments: the same frames with the source's audio written plain and fragmented (FRAGMENTED_OPTIONS), the
    fragmented one remuxed into a plain MP4 (defragment), best of --repeat; whether the remuxed file holds the
    same packets (bytes and times) as the plain one.

    python bench/resume.py                  # 10 s of cutBunny at 480x270
    python bench/resume.py --seconds 3 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rtstyle.engine import create_stylizer  # noqa: E402
from rtstyle.io.fragments import FRAGMENTED_OPTIONS, defragment  # noqa: E402
from rtstyle.io.video_probe import open_input  # noqa: E402
from rtstyle.io.video_reader import AudioPacket, iter_media  # noqa: E402
from rtstyle.io.video_writer import VideoWriter  # noqa: E402

BUNNY = REPO / "rtstyle" / "assets" / "cutBunny.mp4"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255 ** 2 / max(mse, 1e-12))


def decode_bgr(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def encode(path: Path, frames: list[np.ndarray], rate: Fraction, audio: list[AudioPacket] | None = None,
           templates: list[av.stream.Stream] | None = None, muxer: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    height, width = frames[0].shape[:2]
    writer = VideoWriter(path, width=width, height=height, rate=rate, time_base=1 / rate,
                         audio_templates=templates or [], muxer_options=muxer)
    pending = list(audio or [])
    for i, frame in enumerate(frames):
        while pending and pending[0].packet.pts is not None and \
                float(pending[0].packet.pts * pending[0].packet.time_base) <= i / float(rate):
            writer.write_audio(_copy(pending.pop(0)))
        writer.write(frame, i)
    for item in pending:
        writer.write_audio(_copy(item))
    writer.close()
    return time.perf_counter() - start


def _copy(item: AudioPacket) -> AudioPacket:
    packet = av.Packet(bytes(item.packet))
    packet.pts, packet.dts, packet.time_base = item.packet.pts, item.packet.dts, item.packet.time_base
    packet.duration = item.packet.duration
    return AudioPacket(packet, item.stream_index)


def reencode(src: Path, dst: Path, rate: Fraction, via_bgr: bool) -> float:
    """As a resumed run does: the kept file's frames decoded and encoded again (yuv420p, or through BGR)."""
    start = time.perf_counter()
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        writer = VideoWriter(dst, width=stream.width, height=stream.height, rate=rate, time_base=1 / rate)
        for i, frame in enumerate(container.decode(stream)):
            if via_bgr:
                writer.write(frame.to_ndarray(format="bgr24"), i)
            else:
                frame.pict_type = av.video.frame.PictureType.NONE
                writer.write_picture(frame, i)
        writer.close()
    return time.perf_counter() - start


def packets(path: Path) -> list[tuple[str, int | None, int | None, bytes]]:
    with av.open(str(path)) as container:
        return [(p.stream.type, p.pts, p.dts, bytes(p)) for p in container.demux() if p.size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", type=int, nargs=2, default=(480, 270))
    parser.add_argument("--style", default="mosaic-fast")
    parser.add_argument("--full", default="mosaic", help="the full network timed beside the re-encode")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    size = tuple(args.size)

    with open_input(BUNNY) as container:
        rate = Fraction(container.streams.video[0].average_rate)
        templates = list(container.streams.audio)
        items = list(iter_media(container, duration=args.seconds, size=size))
        images = [i.image for i in items if not isinstance(i, AudioPacket)]
        audio = [i for i in items if isinstance(i, AudioPacket)]
        fast = create_stylizer(args.style, backend="onnx")
        stylized = [fast(image) for image in images]
        fast_time = _per_frame(fast, images[0])
        fast.close()
        full = create_stylizer(args.full, backend="onnx")
        full_time = _per_frame(full, images[0], most=3)
        full.close()

        with tempfile.TemporaryDirectory(prefix="rtstyle-bench-resume-") as folder:
            tmp = Path(folder)
            once, again, via_bgr = tmp / "once.mp4", tmp / "again.mp4", tmp / "bgr.mp4"
            encode(once, stylized, rate)
            seconds = min(reencode(once, again, rate, via_bgr=False) for _ in range(args.repeat))
            reencode(once, via_bgr, rate, via_bgr=True)
            loss = {name: np.mean([psnr(a, b) for a, b in zip(decode_bgr(path), stylized)])
                    for name, path in (("once", once), ("again", again), ("bgr", via_bgr))}

            plain, fragmented, remuxed = tmp / "plain.mp4", tmp / "frag.mp4", tmp / "remuxed.mp4"
            plain_times, frag_times, remux_times = [], [], []
            for _ in range(args.repeat):  # interleaved: background load hits both alike
                plain_times.append(encode(plain, stylized, rate, audio, templates))
                frag_times.append(encode(fragmented, stylized, rate, audio, templates, dict(FRAGMENTED_OPTIONS)))
                start = time.perf_counter()
                defragment(fragmented, remuxed, 0.0, shown_as=remuxed)
                remux_times.append(time.perf_counter() - start)
            same = packets(plain) == packets(remuxed)
            sizes = {name: path.stat().st_size for name, path in
                     (("plain", plain), ("frag", fragmented), ("remuxed", remuxed))}

    frames = len(stylized)
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {frames} frames of cutBunny at {size[0]}x{size[1]}, "
          f"{args.style}")
    print()
    print("| frames encoded | PSNR against the stylized frames (dB) |")
    print("|---|---|")
    print(f"| once (crf 18 veryfast, an uninterrupted run) | {loss['once']:.2f} |")
    print(f"| again from that file, yuv420p (a resumed run's kept frames) | {loss['again']:.2f} |")
    print(f"| again through BGR (not used) | {loss['bgr']:.2f} |")
    print()
    print("| work a frame | ms | vs re-encode |")
    print("|---|---|---|")
    reencode_ms = 1000 * seconds / frames
    print(f"| decode + re-encode a kept frame | {reencode_ms:.2f} | 1 |")
    print(f"| {args.style} | {1000 * fast_time:.1f} | {1000 * fast_time / reencode_ms:.0f}x |")
    print(f"| {args.full} | {1000 * full_time:.0f} | {1000 * full_time / reencode_ms:.0f}x |")
    print()
    print("| MP4 written | size (bytes) | encode + mux (s, best) | ratio |")
    print("|---|---|---|---|")
    base = min(plain_times)
    print(f"| plain (as before) | {sizes['plain']} | {base:.3f} | 1 |")
    print(f"| fragmented (the temporary file) | {sizes['frag']} | {min(frag_times):.3f} | "
          f"{min(frag_times) / base:.2f} |")
    print(f"| remux into a plain MP4 at the end | {sizes['remuxed']} | {min(remux_times):.3f} | "
          f"{min(remux_times) / base:.2f} |")
    print()
    print(f"remuxed file holds the plain file's packets (bytes, pts, dts): {same}")


def _per_frame(stylizer: object, image: np.ndarray, most: int = 5) -> float:
    stylizer(image)  # type: ignore[operator]  # warm-up
    spent = []
    for _ in range(most):
        start = time.perf_counter()
        stylizer(image)  # type: ignore[operator]
        spent.append(time.perf_counter() - start)
    return min(spent)


if __name__ == "__main__":
    main()
