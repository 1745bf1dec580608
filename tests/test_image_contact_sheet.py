"""`rtstyle image --contact-sheet FILE`: one labelled overview of a batch (rtstyle.io.result_sheet)."""

import cv2
import numpy as np
import pytest

from helpers import assert_one_line_error, install_user_styles, run_cli
from rtstyle.io.images import write_image

GAP = 4  # contact_sheet's gap between tiles and around the sheet
BACKGROUND = 24


def tile_at(sheet, row, column, n_columns, tile_w, tile_h, band):
    """One tile, located from the right edge (a row-label column, when there is one, is on the left)."""
    right = sheet.shape[1] - GAP - (n_columns - 1 - column) * (tile_w + GAP)
    top = GAP + band + GAP + row * (tile_h + GAP)
    return sheet[top:top + tile_h, right - tile_w:right]


def drawn(region, by: int = 60) -> int:
    """How many pixels differ clearly from the sheet's background (words, pictures)."""
    return int((np.abs(region.astype(int) - BACKGROUND).max(axis=2) > by).sum())


@pytest.fixture
def styles(small_style, no_builtin_styles, isolated_dirs):
    install_user_styles(isolated_dirs, small_style, "aa", "bb")


def test_a_row_per_photo_with_its_results_in_every_style_labelled(tmp_path, photo, capsys, styles):
    folder = tmp_path / "photos"
    folder.mkdir()
    landscape = photo[:24, :32]  # 4:3, the tiles' shape: 320 x 240
    cv2.imwrite(str(folder / "x.png"), landscape)
    long_name = "a_photo_with_a_name_far_longer_than_any_tile_is_wide_0001.png"
    cv2.imwrite(str(folder / long_name), landscape[::-1])
    (folder / "broken.png").write_bytes(b"not a png")  # unreadable: the batch skips it, the sheet leaves it out
    magenta = np.full((24, 32, 3), (255, 0, 255), np.uint8)
    write_image(folder / "x_bb.png", magenta, result_of="bb")  # bb's result of x from an earlier run: skipped, shown
    sheet_path = tmp_path / "sheets" / "sheet.png"
    result = run_cli(["image", str(folder), "-s", "aa,bb", "--contact-sheet", str(sheet_path)], capsys)
    assert result.exit_code == 0, result
    assert "skipped 1 already stylized" in result.err
    assert result.out.splitlines()[-1] == str(sheet_path)
    sheet = cv2.imread(str(sheet_path))
    tile_w, tile_h, band = 320, 240, 30
    # Two rows (broken.png and the earlier result x_bb.png have none) of three tiles (original, aa, bb).
    assert sheet.shape[0] == GAP + band + GAP + 2 * tile_h + GAP + GAP
    label_w = sheet.shape[1] - (GAP + 3 * tile_w + 3 * GAP + GAP)  # the row names' column, and its gap
    assert 0 < label_w <= tile_w + 12  # the long name is shortened to a tile's width
    rows = {name: i for i, name in enumerate(sorted([long_name, "x.png"]))}  # the photos' order
    for name, row in rows.items():
        original = cv2.imread(str(folder / name))
        assert np.abs(tile_at(sheet, row, 0, 3, tile_w, tile_h, band).astype(int)
                      - cv2.resize(original, (tile_w, tile_h)).astype(int)).mean() < 3
        for column, style in enumerate(("aa", "bb"), start=1):
            stylized = cv2.imread(str(folder / f"{name[:-4]}_{style}.png"))
            tile = tile_at(sheet, row, column, 3, tile_w, tile_h, band)
            assert np.abs(tile.astype(int) - cv2.resize(stylized, (tile_w, tile_h)).astype(int)).mean() < 3
        top = GAP + band + GAP + row * (tile_h + GAP)
        assert drawn(sheet[top:top + tile_h, GAP:GAP + label_w - GAP]) > 50  # the photo's name
    assert (tile_at(sheet, rows["x.png"], 2, 3, tile_w, tile_h, band)[tile_h // 2, tile_w // 2] == (255, 0, 255)).all()
    for column in range(3):  # "original", "aa", "bb" written in the strip above each column
        right = sheet.shape[1] - GAP - (2 - column) * (tile_w + GAP)
        title = sheet[GAP:GAP + band, right - tile_w:right]
        assert drawn(title) > 30, column
        assert drawn(title[:, tile_w // 2:]) == 0  # short words, on the left


def test_one_photo_in_portrait_gets_portrait_tiles_and_no_row_names(tmp_path, photo, capsys, styles):
    src = tmp_path / "one.jpg"
    cv2.imwrite(str(src), photo[:32, :24])  # 3:4: tiles 240 x 320, titles drawn larger (band 40)
    sheet_path = tmp_path / "sheet.jpg"
    result = run_cli(["image", str(src), "-s", "aa", "-s", "bb", "--contact-sheet", str(sheet_path)], capsys)
    assert result.exit_code == 0, result
    assert result.out.split() == [str(tmp_path / "one_aa.jpg"), str(tmp_path / "one_bb.jpg"), str(sheet_path)]
    sheet = cv2.imread(str(sheet_path))
    assert sheet.shape == (GAP + 40 + GAP + 320 + GAP, GAP + 3 * 240 + 2 * GAP + GAP, 3)  # no row-name column
    assert not list(tmp_path.glob(".*part*"))  # written atomically: no temporary left behind


def test_a_result_that_is_not_there_is_a_marked_tile(tmp_path, photo, capsys, styles):
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "x.png"), photo[:24, :32])
    (folder / "x_aa.png").write_bytes(b"an earlier result, now damaged")  # skipped as already there
    sheet_path = tmp_path / "sheet.png"
    assert run_cli(["image", str(folder), "-s", "aa,bb", "--contact-sheet", str(sheet_path)], capsys).exit_code == 0
    sheet = cv2.imread(str(sheet_path))
    damaged = tile_at(sheet, 0, 1, 3, 320, 240, 30)
    assert 50 < drawn(damaged, by=40) < 320 * 240 // 20  # a few grey words ("unreadable")
    words = np.argwhere(np.abs(damaged.astype(int) - BACKGROUND).max(axis=2) > 40)
    assert 90 < words[:, 0].mean() < 150 and 120 < words[:, 1].mean() < 200  # in its middle
    assert drawn(tile_at(sheet, 0, 2, 3, 320, 240, 30)) > 320 * 240 // 2  # bb's result, a picture


def test_a_photo_named_like_a_result_is_not_shown_as_one(tmp_path, photo, capsys, styles):
    # beach_wave.jpg beside beach.jpg may be a photo: it is never replaced, and the sheet showed it in the style's
    # column as if it were the result. Only this run's results and those marked as rtstyle's are shown.
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "x.png"), photo[:24, :32])
    magenta = np.full((24, 32, 3), (255, 0, 255), np.uint8)
    cv2.imwrite(str(folder / "x_bb.png"), magenta)  # a photo, or a result from before the mark: not marked
    kept = (folder / "x_bb.png").read_bytes()
    cv2.imwrite(str(folder / "y.bmp"), photo[:24, :32])  # a BMP holds no mark: this run's results are shown anyway
    sheet_path = tmp_path / "sheet.png"
    # Again with --overwrite: x's aa result, marked, is redone; the BMP results from the first run are unmarked
    # files named like results beside their photos now, kept as x_bb.png is, and not shown either.
    for extra, pictures in (([], [(1, 1), (1, 2)]), (["--overwrite"], [])):
        result = run_cli(["image", str(folder), "-s", "aa,bb", "--contact-sheet", str(sheet_path), *extra], capsys)
        assert result.exit_code == 0, result
        assert "skipped 1 already stylized beside their photos" in result.err
        assert (folder / "x_bb.png").read_bytes() == kept
        sheet = cv2.imread(str(sheet_path))
        for row, column in [(0, 2), (1, 1), (1, 2)]:
            tile = tile_at(sheet, row, column, 3, 320, 240, 30)
            if (row, column) in pictures:
                assert drawn(tile) > 320 * 240 // 2, (extra, row, column)
                continue
            assert not (np.abs(tile.astype(int) - (255, 0, 255)).max(axis=2) < 60).any()  # none of the photo
            assert 50 < drawn(tile, by=40) < 320 * 240 // 20, (extra, row, column)  # "skipped", "name taken"
            words = np.argwhere(np.abs(tile.astype(int) - BACKGROUND).max(axis=2) > 40)
            assert words[:, 0].max() - words[:, 0].min() > 30  # on two lines
        assert drawn(tile_at(sheet, 0, 1, 3, 320, 240, 30)) > 320 * 240 // 2  # x's aa result, written both times


def test_sheets_are_refused_before_anything_is_stylized(tmp_path, photo, capsys, styles, monkeypatch):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("x.png", "y.png", "z.png"):
        cv2.imwrite(str(folder / name), photo[:24, :32])
    existing = tmp_path / "sheet.png"
    existing.write_bytes(b"the user's sheet")
    run = ["image", str(folder), "-s", "aa,bb", "-o", str(tmp_path / "out")]
    cases = [
        ([str(existing)], ("contact sheet exists", "--overwrite")),
        ([str(tmp_path / "sheet")], ("--contact-sheet", "unsupported output image format")),
        ([str(tmp_path / "sheet.gif")], ("--contact-sheet", "'.gif'")),
        ([str(folder)], ("is a folder",)),
        ([str(folder / "y.png"), "--overwrite"], ("is one of the photos",)),
        ([str(tmp_path / "out" / "y_bb.png")], ("is where", "y.png's bb result goes")),
    ]
    for extra, fragments in cases:
        assert_one_line_error(run_cli([*run, "--contact-sheet", *extra], capsys), *fragments)
    with monkeypatch.context() as patched:
        patched.setattr("rtstyle.io.result_sheet.MAX_TILES", 8)  # 3 photos x 3 tiles
        assert_one_line_error(run_cli([*run, "--contact-sheet", str(tmp_path / "big.png")], capsys),
                              "3 photos in 2 styles make 9 tiles", "more than an overview holds (8)")
        patched.setattr("rtstyle.io.result_sheet.MAX_COLUMNS", 2)
        assert_one_line_error(run_cli([*run, "--contact-sheet", str(tmp_path / "big.png")], capsys),
                              "at most 1 styles side by side, not 2")
    assert not (tmp_path / "out").exists() and not (tmp_path / "big.png").exists()
    assert existing.read_bytes() == b"the user's sheet"
    assert sorted(p.name for p in folder.iterdir()) == ["x.png", "y.png", "z.png"]
    assert run_cli([*run, "--contact-sheet", str(existing), "--overwrite"], capsys).exit_code == 0
    assert cv2.imread(str(existing)).shape[0] == GAP + 30 + GAP + 3 * 240 + 2 * GAP + GAP
