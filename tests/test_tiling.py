"""Photos too large for memory are stylized in cross-faded tiles (rtstyle.engine.tiling) instead of refused."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import requires_torch
from helpers import run_cli
from rtstyle.errors import RtstyleError
from rtstyle.engine.tiling import TILE_START_ALIGN, stylize_tiled, tile_spans


@pytest.mark.parametrize("length, tile, overlap", [(100, 100, 10), (101, 100, 10), (1000, 256, 32), (2000, 1024, 128),
                                                   (4000, 3264, 128), (3300, 3264, 128), (37, 64, 8)])
def test_tiles_cover_the_frame_and_overlap_enough(length, tile, overlap):
    spans = tile_spans(length, tile, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == length
    assert all(end - start <= tile for start, end in spans)
    assert all(spans[i][1] - spans[i + 1][0] >= overlap for i in range(len(spans) - 1))
    assert [s for s, _ in spans] == sorted({s for s, _ in spans})
    assert all(start % TILE_START_ALIGN == 0 for start, _ in spans)  # on the networks' stride grid
    if length > tile:  # full-size tiles (their statistics are closest to the whole frame's), and no more of them
        assert all(end - start == tile for start, end in spans[:-1])
        assert tile - TILE_START_ALIGN < spans[-1][1] - spans[-1][0] <= tile  # the last ends at the frame's edge
        assert len(spans) <= 2 + -(-(length - tile) // (tile - overlap))  # at most one more for the grid


def test_tiles_start_on_the_networks_stride_grid():
    """A network lays its strokes out on its stride grid (fast: 8 px): tiles on other phases of it drew shifted
    patterns, which the cross-fade doubled. Here the "network" draws a line every 8 px from its input's origin."""
    frame = np.zeros((700, 1000, 3), np.uint8)

    def grid_strokes(tile: np.ndarray) -> np.ndarray:
        out = np.zeros_like(tile)
        out[::8] = 200
        out[:, ::8] = 200
        return out

    assert np.array_equal(stylize_tiled(grid_strokes, frame, 320, 64), grid_strokes(frame))


def test_a_tile_must_be_larger_than_its_overlap():
    with pytest.raises(ValueError):
        tile_spans(1000, 128, 128)


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


@pytest.mark.parametrize("backend", ["onnx", pytest.param("torch", marks=requires_torch)])
def test_a_photo_too_large_for_memory_is_tiled_and_said_once(small_style, monkeypatch, backend):
    from rtstyle.engine import create_stylizer
    from rtstyle.engine.memory import MemoryGuard

    stylizer = create_stylizer(str(small_style), backend=backend, device="cpu")
    frame = cv2.resize(cv2.imread("tests/data/chelsea.png"), (600, 400))
    whole = stylizer(frame)
    # 16 channels x 32 bytes a pixel: about 390x390 fits next to the cross-fade's sums; tiles of 384 at least 256
    guard = stylizer.memory_guard = MemoryGuard(stylizer.memory_guard.spec, available=300 * 300 * 512 * 2, min_tile=256)
    notes: list[str] = []
    stylizer.notify = notes.append
    runs: list[tuple[int, int]] = []
    run = stylizer._run
    monkeypatch.setattr(stylizer, "_run", lambda frames: (runs.append(frames.shape[1:3]), run(frames))[1])
    tiled = stylizer(frame)
    # 3 x 2 tiles: the frame with its mirrored border margin (BORDER_MARGIN on each side) is 664x464
    assert tiled.shape == frame.shape and len(runs) == 6 and max(max(r) for r in runs) <= 384
    assert np.abs(tiled.astype(int) - whole).mean() < 20  # the same picture, up to per-tile normalisation
    assert len(notes) == 1 and "600x400" in notes[0] and "6 overlapping tiles" in notes[0] and "--max-size" in notes[0]
    guard.available = 10 * 2**30  # memory freed later: the size is still tiled, a video never switches mid-way
    stylizer(frame)
    assert len(runs) == 12 and len(notes) == 1  # and it is said once per size, not per frame
    # Too little even for a 256 px tile, where nothing has run yet (what ran is held: see the next test): refused
    stylizer.memory_guard = MemoryGuard(guard.spec, available=200 * 200 * 512, min_tile=256)
    with pytest.raises(RtstyleError, match=r"--max-size \d+ or less"):
        stylizer(np.zeros((800, 1200, 3), np.uint8))


def test_tiles_no_larger_than_one_that_ran_go_on_when_the_process_holds_the_memory(small_style, monkeypatch):
    # onnxruntime keeps a tile's memory for reuse, so the OS reports that much less free afterwards: the next tiles
    # (the edge ones are other sizes) and the next photo were refused for memory the process itself held (a 20 Mpx
    # photo failed at its second tile on a 24 GiB machine with the full networks).
    from rtstyle.engine import create_stylizer
    from rtstyle.engine.memory import MemoryGuard

    stylizer = create_stylizer(str(small_style), backend="onnx", device="cpu")
    guard = stylizer.memory_guard = MemoryGuard(stylizer.memory_guard.spec, available=300 * 300 * 512 * 2, min_tile=256)
    run = stylizer._run
    sizes: list[tuple[int, int]] = []

    def run_and_hold(frames: np.ndarray) -> np.ndarray:
        sizes.append(frames.shape[1:3])
        out = run(frames)
        guard.available = 100 * 100 * 512  # what the OS says while the runtime holds the tile's memory
        return out

    monkeypatch.setattr(stylizer, "_run", run_and_hold)
    frame = cv2.resize(cv2.imread("tests/data/chelsea.png"), (610, 403))  # tiles of four sizes
    assert stylizer(frame).shape == frame.shape
    assert len(sizes) == 6 and len(set(sizes)) == 4
    assert stylizer(frame[:380, :590]).shape == (380, 590, 3)  # the next photo: tiles as large as those that ran
    assert max(max(s) for s in sizes) <= 384


def test_a_size_that_ran_whole_is_refused_cleanly_when_memory_runs_short(small_style):
    from rtstyle.engine import create_stylizer

    stylizer = create_stylizer(str(small_style), backend="onnx", device="cpu")
    frame = np.zeros((300, 400, 3), np.uint8)
    stylizer(frame)  # fits: whole
    stylizer.memory_guard.available = 64 * 2**10
    assert stylizer(frame).shape == frame.shape  # decided once for this size: still whole, no crash
    with pytest.raises(RtstyleError, match="--max-size"):
        stylizer(np.zeros((301, 400, 3), np.uint8))  # a new size is decided anew: refused, not a traceback


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


def test_the_memory_guard_counts_each_frames_own_margin():
    """Estimates are for what the network runs: every frame of a batch with its margin, the stylizer's margin
    (the webcam's 16 px, a fixed-size model's none), and a suggested --max-size that fits with it."""
    from rtstyle.engine.memory import MemoryGuard, estimate_frame_bytes
    from rtstyle.models.registry import create_spec

    guard = MemoryGuard(create_spec("johnson", width=8), available=10**12)
    one = estimate_frame_bytes(guard.spec, 480 + 64, 640 + 64)
    assert guard.need(480, 640, 32, count=4) == 4 * one  # (4h + 64)(w + 64) undercounted a batch by 9 %
    assert guard.need(480, 640, 16) == estimate_frame_bytes(guard.spec, 512, 672)
    assert guard.need(480, 640, 0) == estimate_frame_bytes(guard.spec, 480, 640)
    budget = guard.need(1080, 1920, 32)
    for margin in (0, 16, 32):
        for height, width in ((1080, 1920), (1920, 1080), (3000, 1000), (1000, 1000)):
            side = guard.largest_side(height, width, budget, margin)
            short = side * min(height, width) // max(height, width)
            assert guard.need(short, side, margin) <= budget  # the suggestion fits, margin included
            assert guard.need(short + 2, side + 4, margin) > budget * 0.97  # and is not far below what fits


def test_a_batch_goes_on_without_a_photo_too_large_for_memory(tmp_path, small_style, photo, capsys, monkeypatch):
    # Refused even in tiles, one photo stopped the whole batch (exit 2) and left the photos after it undone.
    import rtstyle.engine.memory as memory

    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 40 * 2**20)  # a 64x64 photo fits, 900x600 not
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "a_big.png"), cv2.resize(photo, (900, 600)))
    cv2.imwrite(str(folder / "b_small.png"), cv2.resize(photo, (64, 64)))
    result = run_cli(["image", str(folder), "-s", str(small_style), "-o", str(tmp_path / "out")], capsys)
    assert result.exit_code == 0, result
    assert f"skipped {folder / 'a_big.png'}: a 900x600 frame needs about" in result.err
    assert "wrote 1 image" in result.err and "skipped 1 too large for the memory available" in result.err
    assert [p.name for p in (tmp_path / "out").iterdir()] == [f"b_small_{small_style.stem}.png"]
    (folder / "b_small.png").unlink()
    cv2.imwrite(str(folder / "c_big.png"), cv2.resize(photo, (600, 900)))
    result = run_cli(["image", str(folder), "-s", str(small_style)], capsys)
    assert result.exit_code == 2 and "none of the photos fits in the memory available" in result.err


def test_webcam_frames_too_large_for_memory_are_advised_with_webcam_options(small_style, capsys, monkeypatch):
    # The guard's advice is --max-size, which the webcam does not have (click would refuse it).
    import rtstyle.engine.memory as memory
    from helpers import assert_one_line_error
    from videoclips import BUNNY

    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 40 * 2**20)  # 64x64 fits, 900x600 not
    result = run_cli(["webcam", "--source", str(BUNNY), "--style", str(small_style), "--no-display",
                      "--frames", "2", "--size", "900x600"], capsys)
    assert_one_line_error(result, "a 900x600 frame needs about", "use a smaller --size or an --inference-scale",
                          "px on their longer side fit")
    assert "--max-size" not in result.err


def test_bench_sizes_too_large_for_memory_are_advised_with_bench_options(small_style, capsys, monkeypatch):
    import rtstyle.engine.memory as memory
    from helpers import assert_one_line_error

    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 40 * 2**20)
    result = run_cli(["bench", "-s", str(small_style), "--backends", "onnx", "--sizes", "900x600", "--frames", "1",
                      "--warmup", "0"], capsys)
    assert_one_line_error(result, "a 900x600 frame needs about", "time smaller --sizes", "px on the longer side fit")
    assert "--max-size" not in result.err
