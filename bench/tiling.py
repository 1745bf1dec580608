"""What tiling a large photo costs: the tiled result against the whole-frame one, and the time, per tile size.

    python bench/tiling.py [--size 2048] [--tiles 1024,1536] [--styles mosaic,candy,udnie,starry-night]

A photo that does not fit in memory is stylized in cross-faded tiles (`rtstyle.engine.tiling`); each tile is
normalised by its own instance-norm statistics, so the result differs from the whole-frame one. This prints, per
style and tile size, the mean and 99th-percentile absolute difference (0..255) over the photos, and the time
against the whole frame in the same run. Photos: the first two of ../shared/data/content/eval/detectron_usgov when
present, else the committed public-domain ones (upscaled), at --size px on the longer side.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rtstyle.engine import create_stylizer  # noqa: E402
from rtstyle.engine.tiling import TILE_OVERLAP, stylize_tiled  # noqa: E402

SHARED = REPO.parent / "shared/data/content/eval/detectron_usgov"
COMMITTED = [REPO / "tests/data/grace_hopper.jpg", REPO / "rtstyle/assets/astronaut.png"]


def photos(size: int) -> list[np.ndarray]:
    paths = sorted(SHARED.glob("*.jpg"))[:2] if SHARED.is_dir() else COMMITTED
    images = [cv2.imread(str(p)) for p in paths]
    return [cv2.resize(im, None, fx=size / max(im.shape[:2]), fy=size / max(im.shape[:2]),
                       interpolation=cv2.INTER_AREA) for im in images]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--tiles", default="1024,1536")
    parser.add_argument("--styles", default="mosaic,candy,udnie,starry-night")
    args = parser.parse_args()
    tiles = [int(t) for t in args.tiles.split(",")]
    images = photos(args.size)
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {len(images)} photos "
          f"({', '.join(f'{im.shape[1]}x{im.shape[0]}' for im in images)}), overlap {TILE_OVERLAP} px")
    print("| style | tile | mean abs diff | p99 abs diff | time vs whole |")
    print("|---|---:|---:|---:|---:|")
    for name in args.styles.split(","):
        stylizer = create_stylizer(name, backend="onnx", device="cpu")
        stylizer(images[0][:256, :256])  # warm-up
        diffs: dict[int, list[np.ndarray]] = {t: [] for t in tiles}
        seconds: dict[int | str, float] = {t: 0.0 for t in tiles}
        seconds["whole"] = 0.0
        for image in images:
            start = time.perf_counter()
            whole = stylizer(image).astype(np.int16)
            seconds["whole"] += time.perf_counter() - start
            for tile in tiles:
                start = time.perf_counter()
                tiled = stylize_tiled(stylizer, image, tile, TILE_OVERLAP)
                seconds[tile] += time.perf_counter() - start
                diffs[tile].append(np.abs(tiled.astype(np.int16) - whole).max(axis=2).ravel())
        for tile in tiles:
            d = np.concatenate(diffs[tile])
            print(f"| {name} | {tile} | {d.mean():.1f} | {np.percentile(d, 99):.0f} | "
                  f"{seconds[tile] / seconds['whole']:.2f}x |")
        stylizer.close()


if __name__ == "__main__":
    main()
