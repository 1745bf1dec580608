"""Output formats side by side: H.264 (.mp4), VP9 + Opus (.webm), GIF and WebP, on cutBunny's stylized frames.

The frames are stylized once (mosaic-fast, or --style) into a near-lossless H.264 file (--crf 0) with the audio;
each format is then written from it by `convert_video` with no network (identity), so the times are the format's
own cost: decode + encode (+ the GIF's palette pass). Each conversion runs in its own process, interleaved
`--repeat` times (background load hits all alike); best time, file size and peak memory (RSS) are reported,
with the ratio to .mp4 at the same size. Also: libvpx speed settings at the default CRF, and the error of the
GIF's palette against FFmpeg's default GIF encoding (a fixed 3-3-2 colour cube).

    python bench/formats.py                 # 10 s of cutBunny, 640x360 (GIF and WebP: their 480 px default)
    python bench/formats.py --seconds 3 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BUNNY = REPO / "rtstyle" / "assets" / "cutBunny.mp4"

# One conversion, run in a child process so that its peak memory is its own.
CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from rtstyle.realtime.convert import ConvertOptions, convert_video
args = json.loads(sys.argv[1])
start = time.perf_counter()
result = convert_video(ConvertOptions(Path(args["source"]), Path(args["target"]), overwrite=True, **args["options"]),
                       lambda image: image, progress=False)
print(json.dumps({{"seconds": time.perf_counter() - start, "frames": result.frames,
                   "size": [result.width, result.height]}}))
"""

CASES = [  # name, suffix, ConvertOptions fields
    ("mp4 (H.264 veryfast, crf 18)", ".mp4", {}),
    ("mp4 at 480x270", ".mp4", {"max_size": 480}),
    ("webm (VP9 realtime cpu-used 6, crf 32, Opus)", ".webm", {}),
    ("gif (palette, 480 px default)", ".gif", {}),
    ("webp (quality 90, 480 px default)", ".webp", {}),
]


def run_child(source: Path, target: Path, options: dict) -> dict:
    code = CHILD.format(repo=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", code, json.dumps({"source": str(source), "target": str(target),
                                                                      "options": options})],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"conversion to {target} failed ({proc.returncode})")
    result = json.loads(out)
    result["peak_mb"] = usage.ru_maxrss / 1024
    return result


def stylized_source(directory: Path, style: str, seconds: float) -> Path:
    """Run as a child too: a parent grown by onnxruntime would lend its size to every child's peak RSS (fork)."""
    path = directory / "stylized.mp4"
    subprocess.run([sys.executable, "-m", "rtstyle", "video", str(BUNNY), "-o", str(path), "--style", style, "--crf",
                    "0", "--duration", f"{seconds:g}", "--overwrite"], cwd=REPO, check=True, capture_output=True,
                   env=dict(os.environ, PYTHONPATH=str(REPO)))
    return path


def vp9_speeds(source: Path, directory: Path) -> list[tuple[str, float, int, float]]:
    """ms a frame, bytes and PSNR (dB, against the source frames) for x264 veryfast and libvpx speed settings."""
    import time

    import av
    import numpy as np
    from encoding import encode_all

    with av.open(str(source)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)][:96]
    height, width = frames[0].shape[:2]
    settings = [("libx264 veryfast crf 18", "libx264", {"crf": "18", "preset": "veryfast"})]
    for deadline, cpu in (("realtime", "8"), ("realtime", "6"), ("good", "5"), ("good", "4")):
        settings.append((f"libvpx-vp9 {deadline} cpu-used {cpu} crf 32", "libvpx-vp9",
                         {"crf": "32", "b": "0", "deadline": deadline, "cpu-used": cpu, "row-mt": "1"}))
    rows = []
    for name, codec, options in settings:
        path = directory / f"speed{'.webm' if 'vpx' in codec else '.mp4'}"
        start = time.perf_counter()
        with av.open(str(path), "w") as container:
            stream = container.add_stream(codec, rate=24)
            assert isinstance(stream, av.VideoStream)  # a video encoder's
            stream.width, stream.height, stream.pix_fmt, stream.options = width, height, "yuv420p", options
            encode_all(container, stream, (av.VideoFrame.from_ndarray(image, format="bgr24") for image in frames))
        ms = (time.perf_counter() - start) * 1000 / len(frames)
        with av.open(str(path)) as container:
            back = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
        mse = np.mean([((a.astype(float) - b) ** 2).mean() for a, b in zip(frames, back, strict=True)])
        rows.append((name, ms, path.stat().st_size, 10 * np.log10(255 ** 2 / mse)))
    return rows


def gif_error(source: Path, gif: Path) -> tuple[float, float]:
    """Mean absolute error a channel of the GIF's frames, and of FFmpeg's default 3-3-2 cube, vs the frames."""
    import av
    import numpy as np

    with av.open(str(gif)) as container:
        got = [f.to_ndarray(format="bgr24").astype(int) for f in container.decode(video=0)]
    height, width = got[0].shape[:2]
    with av.open(str(source)) as container:
        frames = [f.to_ndarray(format="bgr24", width=width, height=height, interpolation="AREA").astype(int)
                  for f in container.decode(video=0)][:len(got)]
    ours = np.mean([np.abs(a - b).mean() for a, b in zip(got, frames, strict=True)])
    cube = np.mean([np.abs(av.VideoFrame.from_ndarray(b.astype(np.uint8), format="bgr24").reformat(format="bgr8")
                           .to_ndarray(format="bgr24").astype(int) - b).mean() for b in frames])
    return float(ours), float(cube)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="mosaic-fast")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with tempfile.TemporaryDirectory(prefix="rtstyle-formats-") as tmp:
        directory = Path(tmp)
        source = stylized_source(directory, args.style, args.seconds)
        best: dict[str, dict] = {}
        for _ in range(args.repeat):
            for name, suffix, options in CASES:
                target = directory / f"out{suffix}"
                result = run_child(source, target, options)
                result["bytes"] = target.stat().st_size
                if name not in best or result["seconds"] < best[name]["seconds"]:
                    best[name] = result
        mp4 = best[CASES[0][0]]["seconds"] / best[CASES[0][0]]["frames"]
        print(f"\n{args.seconds:g} s of cutBunny stylized with {args.style}, written from a --crf 0 file "
              f"(decode + encode only), best of {args.repeat}")
        print("| format | frames | size | ms/frame | vs mp4 640x360 | file | MB/s of video | peak RSS |")
        print("|---|---|---|---|---|---|---|---|")
        for name, _, _ in CASES:
            r = best[name]
            per_frame = r["seconds"] / r["frames"]
            print(f"| {name} | {r['frames']} | {r['size'][0]}x{r['size'][1]} | {per_frame * 1000:.1f} | "
                  f"{per_frame / mp4:.2f}x | {r['bytes'] / 1e6:.2f} MB | {r['bytes'] / 1e6 / args.seconds:.2f} | "
                  f"{r['peak_mb']:.0f} MB |")
        gif = directory / "palette.gif"
        run_child(source, gif, {})
        ours, cube = gif_error(source, gif)
        print(f"\nGIF mean error a channel vs the stylized frames: palette {ours:.1f}, FFmpeg's default (3-3-2 cube) "
              f"{cube:.1f}")
        print("\n| encoder (96 frames, 640x360 stylized) | ms/frame | size | PSNR |")
        print("|---|---|---|---|")
        for name, ms, size, psnr in vp9_speeds(source, directory):
            print(f"| {name} | {ms:.1f} | {size / 1e3:.0f} kB | {psnr:.2f} dB |")


if __name__ == "__main__":
    main()
