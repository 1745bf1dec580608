"""Photos too large for memory are stylized in cross-faded tiles (rtstyle.engine.tiling) instead of refused."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers import run_cli
from rtstyle.engine.tiling import stylize_tiled, tile_starts


@pytest.mark.parametrize("length, tile, overlap", [(100, 100, 10), (101, 100, 10), (1000, 256, 32), (2000, 1024, 128),
                                                   (4000, 3264, 128), (37, 64, 8)])
def test_tiles_cover_the_frame_and_overlap_enough(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0 and min(length, starts[-1] + tile) == length
    ends = [min(length, s + tile) for s in starts]
    assert all(ends[i] - starts[i + 1] >= overlap for i in range(len(starts) - 1))
    assert starts == sorted(set(starts))


def test_a_pointwise_network_gives_exactly_the_whole_frame_result():
    frame = np.random.default_rng(0).integers(0, 256, (700, 500, 3), dtype=np.uint8)
    assert np.array_equal(stylize_tiled(lambda t: 255 - t, frame, 256, 32), 255 - frame)


def test_tiles_that_disagree_are_cross_faded_without_a_seam():
    frame = np.zeros((600, 900, 3), np.uint8)
    seen: list[tuple[int, int]] = []

    def one_colour_per_tile(tile: np.ndarray) -> np.ndarray:  # the worst case of per-tile normalisation
        seen.append(tile.shape[:2])
        return np.full_like(tile, 40 * len(seen) % 256)

    out = stylize_tiled(one_colour_per_tile, frame, 400, 64).astype(int)
    assert len(seen) == 6 and max(max(s) for s in seen) <= 400
    steps = max(np.abs(np.diff(out, axis=0)).max(), np.abs(np.diff(out, axis=1)).max())
    assert steps <= 240 / 64 + 1  # the largest jump between tiles, spread over the overlap
    assert len(np.unique(out)) > 6  # blended, not six flat tiles


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_a_photo_too_large_for_memory_is_tiled_and_said_once(small_style, monkeypatch, backend):
    from rtstyle.engine import create_stylizer

    stylizer = create_stylizer(str(small_style), backend=backend, device="cpu")
    frame = cv2.resize(cv2.imread("tests/data/chelsea.png"), (600, 400))
    whole = stylizer(frame)
    stylizer.memory_guard.available = 200 * 200 * 512 * 2  # 16 channels x 32 bytes a pixel: about 280x280 fits
    stylizer.memory_guard.min_tile = 128
    notes: list[str] = []
    stylizer.notify = notes.append
    runs: list[tuple[int, int]] = []
    run = stylizer._run
    monkeypatch.setattr(stylizer, "_run", lambda frames: (runs.append(frames.shape[1:3]), run(frames))[1])
    tiled = stylizer(frame)
    assert tiled.shape == frame.shape and max(max(r) for r in runs) <= 256 and len(runs) == 12  # 4 x 3, 128 px overlaps
    assert np.abs(tiled.astype(int) - whole).mean() < 20  # the same picture, up to per-tile normalisation
    assert len(notes) == 1 and "600x400" in notes[0] and "12 overlapping tiles" in notes[0] and "--max-size" in notes[0]
    stylizer(frame)
    assert len(notes) == 1  # once per size, not per frame
    stylizer.memory_guard.min_tile = 1024
    with pytest.raises(Exception, match=r"--max-size \d+ or less"):
        stylizer(np.zeros((800, 1200, 3), np.uint8))  # tiles this small would show: refused as before


def test_image_command_tiles_a_large_photo(tmp_path, small_style, photo, capsys, monkeypatch):
    import rtstyle.engine.memory as memory

    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 300 * 300 * 512 * 2)
    monkeypatch.setattr(memory, "MIN_TILE", 128)
    src = tmp_path / "big.png"
    cv2.imwrite(str(src), cv2.resize(photo, (900, 600)))
    out = tmp_path / "out.png"
    result = run_cli(["image", str(src), "-s", str(small_style), "-o", str(out)], capsys)
    assert result.exit_code == 0, result
    assert "900x600 does not fit in memory at once" in result.err
    assert cv2.imread(str(out)).shape == (600, 900, 3)
