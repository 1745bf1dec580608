import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import requires_torch
from helpers import TURNS, assert_one_line_error, bgr, close, fake_icc, install_user_styles, quadrants, run_cli


def test_image_writes_a_stylized_file(tmp_path, random_style, photo, capsys):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), photo)
    out = tmp_path / "out.png"
    result = run_cli(["image", str(src), "--style", str(random_style), "-o", str(out)], capsys)
    assert result.exit_code == 0, result
    stylized = cv2.imread(str(out))
    assert stylized.shape == photo.shape
    assert np.abs(stylized.astype(int) - photo.astype(int)).mean() > 5
    assert stylized.std() > 5
    assert not list(tmp_path.glob(".*part*"))  # no temporary left behind


@requires_torch
def test_image_backends_agree(tmp_path, random_style, photo, capsys):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), photo[:63, :95])
    for backend in ("onnx", "torch"):
        assert run_cli(["image", str(src), "-s", str(random_style), "--backend", backend,
                        "-o", str(tmp_path / f"{backend}.png")], capsys).exit_code == 0
    a, b = (cv2.imread(str(tmp_path / f"{n}.png")).astype(int) for n in ("onnx", "torch"))
    assert np.abs(a - b).max() <= 1


def test_image_folder_skips_unreadable_files(tmp_path, random_style, photo, capsys):
    folder = tmp_path / "photos" / "nested"
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "a.jpg"), photo[:40, :40])
    cv2.imwrite(str(tmp_path / "photos" / "b.png"), photo[:30, :50])
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    result = run_cli(["image", str(tmp_path / "photos"), "-s", str(random_style), "-o", str(out)], capsys)
    assert result.exit_code == 0, result
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["b_randomstyle.png", "nested/a_randomstyle.jpg"]  # the subfolder is kept
    assert "skipped 1 unreadable" in result.err
    # every result's path on stdout, one a line, as `rtstyle video` batches print theirs; the summary on stderr
    assert sorted(result.out.splitlines()) == [str(out / "b_randomstyle.png"),
                                               str(out / "nested" / "a_randomstyle.jpg")]


def test_image_never_overwrites_an_input_or_an_existing_output(tmp_path, random_style, photo, capsys):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), photo[:40, :60])
    original = src.read_bytes()
    assert_one_line_error(run_cli(["image", str(src), "-s", str(random_style), "-o", str(src)], capsys),
                          "would replace an input")
    assert src.read_bytes() == original
    out = tmp_path / "out.png"
    out.write_bytes(b"the user's file")
    assert_one_line_error(run_cli(["image", str(src), "-s", str(random_style), "-o", str(out)], capsys),
                          "exists", "--overwrite")
    assert out.read_bytes() == b"the user's file"
    assert run_cli(["image", str(src), "-s", str(random_style), "-o", str(out), "--overwrite"], capsys).exit_code == 0
    assert cv2.imread(str(out)).shape == (40, 60, 3)


def test_running_a_folder_again_finishes_it_without_restyling_results(tmp_path, random_style, photo, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.jpg", "c.png"):
        cv2.imwrite(str(folder / name), photo[:32, :48])
    (folder / "b_randomstyle.jpg").write_bytes(b"kept")  # as if an interrupted run had written it
    cv2.imwrite(str(folder / ".c_randomstyle.x1.part.png"), photo[:8, :8])  # what a killed run can leave
    result = run_cli(["image", str(folder), "-s", str(random_style)], capsys)
    assert result.exit_code == 0, result
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == \
        ["a.png", "a_randomstyle.png", "b.jpg", "b_randomstyle.jpg", "c.png", "c_randomstyle.png"]  # hidden: skipped
    assert (folder / "b_randomstyle.jpg").read_bytes() == b"kept"
    assert "wrote 2 images" in result.err and "skipped 1 already stylized" in result.err
    again = run_cli(["image", str(folder), "-s", str(random_style)], capsys)
    assert again.exit_code == 0 and "nothing to do" in again.err
    assert len(list(folder.iterdir())) == 7  # no a_randomstyle_randomstyle.png


def test_the_result_of_a_photo_named_without_an_extension_is_no_photo_in_the_next_batch(tmp_path, random_style,
                                                                                          photo, capsys):
    folder = tmp_path / "scans"
    folder.mkdir()
    cv2.imwrite(str(folder / "scan0001.png"), photo[:32, :48])
    (folder / "scan0001.png").rename(folder / "scan0001")  # a scanner's or a camera's name, no extension
    cv2.imwrite(str(folder / "b.png"), photo[:32, :48])
    cv2.imwrite(str(folder / "notes_randomstyle.png"), photo[:32, :48])  # a real photo, unmarked
    (folder / "notes").write_text("a file without an extension, and no photo")
    first = run_cli(["image", str(folder / "scan0001"), "-s", str(random_style)], capsys)
    assert first.exit_code == 0, first.err
    assert (folder / "scan0001_randomstyle.png").is_file()
    batch = run_cli(["image", str(folder), "-s", str(random_style), "--overwrite"], capsys)
    assert batch.exit_code == 0, batch.err
    # Neither a result of the result, nor the result replaced; the look-alike real photo is a photo as any other.
    assert not (folder / "scan0001_randomstyle_randomstyle.png").exists()
    assert (folder / "notes_randomstyle_randomstyle.png").is_file()
    assert "wrote 2 images" in batch.err and "left alone 1 earlier result" in batch.err


def test_same_names_in_different_subfolders_do_not_collide(tmp_path, random_style, photo, capsys):
    for sub in ("x", "y"):
        (tmp_path / "in" / sub).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "in" / sub / "p.png"), photo[:24, :24])
    out = tmp_path / "out"
    assert run_cli(["image", str(tmp_path / "in"), "-s", str(random_style), "-o", str(out)], capsys).exit_code == 0
    assert (out / "x" / "p_randomstyle.png").is_file() and (out / "y" / "p_randomstyle.png").is_file()
    glob_out = tmp_path / "g"
    assert run_cli(["image", str(tmp_path / "in" / "*" / "p.png"), "-s", str(random_style), "-o", str(glob_out)],
                   capsys).exit_code == 0
    assert (glob_out / "x" / "p_randomstyle.png").is_file() and (glob_out / "y" / "p_randomstyle.png").is_file()


def test_a_named_photo_is_never_replaced_even_when_named_like_a_result(tmp_path, random_style, photo, capsys):
    a, b = tmp_path / "tile.png", tmp_path / "tile_randomstyle.png"  # two real photos, one named like a result
    cv2.imwrite(str(a), photo[:20, :20])
    cv2.imwrite(str(b), photo[20:40, :20])
    kept = b.read_bytes()
    result = run_cli(["image", str(a), str(b), "-s", str(random_style), "--overwrite"], capsys)
    assert result.exit_code == 0 and "inputs are never replaced" in result.err
    assert b.read_bytes() == kept
    folder = tmp_path / "f"  # the same in a folder: beach_wave.jpg beside beach.jpg may be a real photo
    folder.mkdir()
    cv2.imwrite(str(folder / "tile.png"), photo[:20, :20])
    cv2.imwrite(str(folder / "tile_randomstyle.png"), photo[20:40, :20])
    kept = (folder / "tile_randomstyle.png").read_bytes()
    assert run_cli(["image", str(folder), "-s", str(random_style), "--overwrite"], capsys).exit_code == 0
    assert (folder / "tile_randomstyle.png").read_bytes() == kept
    link = tmp_path / "link.png"  # another name for the same file
    link.symlink_to(a)
    assert_one_line_error(run_cli(["image", str(a), "-s", str(random_style), "-o", str(link), "--overwrite"], capsys),
                          "would replace an input")


def test_overwrite_redoes_a_folders_own_results_in_every_format(tmp_path, random_style, photo, capsys):
    """x_candy.jpg beside x.jpg: rtstyle's result (marked in the file) is redone with --overwrite, as a video
    batch's are; a photo named like one (unmarked) is not."""
    folder = tmp_path / "photos"
    folder.mkdir()
    names = ["a.jpg", "b.png", "c.webp", "d.tif"]
    for name in names:
        cv2.imwrite(str(folder / name), photo[:24, :32])
    cv2.imwrite(str(folder / "e.png"), photo[:24, :32])
    cv2.imwrite(str(folder / "e_randomstyle.png"), photo[24:48, :32])  # a real photo, or an older rtstyle's result
    unmarked = (folder / "e_randomstyle.png").read_bytes()
    first = run_cli(["image", str(folder), "-s", str(random_style)], capsys)
    assert first.exit_code == 0 and "wrote 4 images" in first.err, first
    results = [folder / f"{Path(name).stem}_randomstyle{Path(name).suffix}" for name in names]
    before = {path: cv2.imread(str(path)) for path in results}
    kept = run_cli(["image", str(folder), "-s", str(random_style)], capsys)  # without --overwrite: kept, and said how
    assert "nothing to do" in kept.err and "skipped 4 already stylized (--overwrite to redo them)" in kept.err
    again = run_cli(["image", str(folder), "-s", str(random_style), "--strength", "0.5", "--overwrite",
                     "--contact-sheet", str(tmp_path / "sheet.png")], capsys)
    assert again.exit_code == 0, again
    assert "wrote 5 images" not in again.err and "wrote 4 images" in again.err  # e_randomstyle.png is no result
    assert "skipped 1 already stylized beside their photos (not marked" in again.err
    assert sorted(again.out.splitlines()[:-1]) == sorted(str(path) for path in results)
    for path in results:
        redone = cv2.imread(str(path))
        assert np.abs(redone.astype(int) - before[path].astype(int)).mean() > 2, path  # the weaker look
    assert (folder / "e_randomstyle.png").read_bytes() == unmarked
    assert cv2.imread(str(tmp_path / "sheet.png")) is not None  # the contact sheet shows them as before
    everything = [*names, "e.png", "e_randomstyle.png", *(p.name for p in results)]  # no a_randomstyle_randomstyle
    assert sorted(p.name for p in folder.iterdir()) == sorted(everything)
    pattern = run_cli(["image", str(folder / "*.jpg"), "-s", str(random_style), "--overwrite"], capsys)
    assert "wrote 1 image" in pattern.err  # a quoted pattern finds them as a folder does
    named = run_cli(["image", str(folder / "a.jpg"), str(results[0]), "-s", str(random_style), "--overwrite"],
                    capsys)  # as a shell's * gives them: named photos are inputs, never replaced
    assert named.exit_code == 0 and "named on the command line, and inputs are never replaced" in named.err
    assert "give their folder or a quoted pattern" in named.err


def test_a_shell_expanded_batch_can_be_run_again(tmp_path, random_style, photo, capsys):
    for name in ("a.jpg", "b.jpg"):
        cv2.imwrite(str(tmp_path / name), photo[:20, :20])
    photos = [str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")]
    assert run_cli(["image", *photos, "-s", str(random_style)], capsys).exit_code == 0
    everything = sorted(str(p) for p in tmp_path.glob("*.jpg"))  # what `*.jpg` expands to the second time
    again = run_cli(["image", *everything, "-s", str(random_style)], capsys)
    assert again.exit_code == 0 and "nothing to do" in again.err
    assert sorted(p.name for p in tmp_path.glob("*.jpg")) == ["a.jpg", "a_randomstyle.jpg", "b.jpg", "b_randomstyle.jpg"]


def test_batches_of_one_clashing_names_and_rereads(tmp_path, random_style, photo, capsys):
    folder = tmp_path / "r"
    (folder / "sub").mkdir(parents=True)
    cv2.imwrite(str(folder / "x.png"), photo[:20, :20])
    cv2.imwrite(str(folder / "x.tif"), photo[:20, :20])  # the same result name as x.png
    (folder / "sub" / "bad.png").write_bytes(b"not a png")
    first = run_cli(["image", str(folder / "sub"), str(folder), "-s", str(random_style), "-o", str(tmp_path / "o")],
                    capsys)
    assert first.exit_code == 0, first
    assert sorted(p.relative_to(tmp_path / "o").as_posix() for p in (tmp_path / "o").rglob("x*")) == \
        ["x_randomstyle.png", "x_randomstyle.tif"]  # each in its photo's format; the outermost folder is the root
    beside = run_cli(["image", str(folder), "-s", str(random_style)], capsys)
    assert beside.exit_code == 0 and (folder / "x_randomstyle.tif").is_file()
    again = run_cli(["image", str(folder), "-s", str(random_style)], capsys)  # done, apart from the broken file
    assert again.exit_code == 0, again
    assert not list(folder.glob("*_randomstyle_randomstyle*"))
    one = tmp_path / "one"
    one.mkdir()
    cv2.imwrite(str(one / "p.png"), photo[:20, :20])
    for _ in range(2):  # a folder of one photo is a batch too: the second run skips, it does not fail
        assert run_cli(["image", str(one), "-s", str(random_style)], capsys).exit_code == 0


def test_image_keeps_exif_orientation(tmp_path, random_style, capsys):
    Image = pytest.importorskip("PIL.Image")

    # A 40x20 landscape pixel array tagged "rotate 90" is a 20x40 portrait photo.
    pixels = np.zeros((20, 40, 3), np.uint8)
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(tmp_path / "portrait.jpg", exif=exif)
    assert run_cli(["image", str(tmp_path / "portrait.jpg"), "-s", str(random_style),
                    "-o", str(tmp_path / "o.png")], capsys).exit_code == 0
    assert cv2.imread(str(tmp_path / "o.png")).shape[:2] == (40, 20)


def test_bad_inputs_are_one_line_and_exit_2(tmp_path, random_style, photo, capsys):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), photo[:20, :20])
    assert_one_line_error(run_cli(["image", str(tmp_path / "nope.jpg"), "-s", str(random_style)], capsys), "not found")
    assert_one_line_error(run_cli(["image", str(src), "-s", "no-such-style"], capsys), "unknown style")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8garbage")
    assert_one_line_error(run_cli(["image", str(tmp_path / "bad.jpg"), "-s", str(random_style)], capsys), "cannot read image")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(random_style.read_bytes()[:1000])
    assert_one_line_error(run_cli(["image", str(src), "-s", str(corrupt)], capsys), "corrupt")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert_one_line_error(run_cli(["image", str(src), "-s", str(random_style), "-o", str(blocker / "sub" / "o.png")],
                                  capsys), "cannot write", "Not a directory")
    assert_one_line_error(run_cli(["image", str(src), "-s", str(random_style), "-o", str(tmp_path / "o.xyz")],
                                  capsys), "unsupported output")


def test_styles_lists_user_styles(tmp_path, random_style, capsys, monkeypatch):
    user = tmp_path / "u"
    user.mkdir()
    shutil.copy(random_style, user / "noise.safetensors")
    monkeypatch.setenv("RTSTYLE_STYLES_DIR", str(user))
    result = run_cli(["styles"], capsys)
    assert result.exit_code == 0
    line = next(l for l in result.out.splitlines() if l.startswith("noise"))
    assert "user" in line and "johnson" in line and "Noise by numpy" in line


def test_several_styles_in_one_run(tmp_path, small_style, photo, capsys, monkeypatch, no_builtin_styles, isolated_dirs):
    install_user_styles(isolated_dirs, small_style, "aa", "bb")
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "x.png"), photo[:24, :32])
    cv2.imwrite(str(folder / "x_bb.png"), photo[:24, :32])  # a result of another style from an earlier run
    result = run_cli(["image", str(folder), "-s", "all"], capsys)
    assert result.exit_code == 0, result
    assert sorted(p.name for p in folder.iterdir()) == ["x.png", "x_aa.png", "x_bb.png"]  # bb's result was there
    single = tmp_path / "one.png"
    cv2.imwrite(str(single), photo[:24, :32])
    result = run_cli(["image", str(single), "-s", "aa,bb"], capsys)
    assert result.exit_code == 0 and result.out.split() == [str(tmp_path / "one_aa.png"), str(tmp_path / "one_bb.png")]
    assert_one_line_error(run_cli(["image", str(single), "-s", "aa", "-s", "bb", "-o", str(tmp_path / "o.png")], capsys),
                          "2 styles need an output folder")
    assert_one_line_error(run_cli(["image", str(folder), "-s", "aa", "-o", str(tmp_path / "o.png")], capsys),
                          "a batch", "needs an output folder, not the file")
    assert_one_line_error(run_cli(["image", str(tmp_path / "one.png"), "-s", "aa,nosuch", "--overwrite"], capsys),
                          "nosuch")


def test_styles_are_checked_and_told_apart_before_any_runs(tmp_path, small_style, photo, capsys, no_builtin_styles,
                                                           isolated_dirs):
    styles = install_user_styles(isolated_dirs, small_style, "aa")
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(small_style, other / "aa.safetensors")  # another style with the same name
    src = tmp_path / "p.png"
    cv2.imwrite(str(src), photo[:24, :32])
    assert_one_line_error(run_cli(["image", str(src), "-s", "aa", "-s", str(other / "aa.safetensors")], capsys),
                          "would both name their results _aa")
    (styles / "broken.safetensors").write_bytes(b"not a style")
    assert_one_line_error(run_cli(["image", str(src), "-s", "aa,broken"], capsys), "broken")
    assert not (tmp_path / "p_aa.png").exists()  # nothing ran before the broken style was found
    result = run_cli(["image", str(src), "-s", "aa", "-s", str(styles / "aa.safetensors")], capsys)  # one style
    assert result.exit_code == 0 and result.out.split() == [str(tmp_path / "p_aa.png")]
    every = run_cli(["image", str(src), "-s", "all", "-o", str(tmp_path / "all")], capsys)  # every *usable* style
    assert every.exit_code == 0 and "skipping broken" in every.err and (tmp_path / "all" / "p_aa.png").is_file()


def test_earlier_results_are_recognised_wherever_the_new_results_go(tmp_path, small_style, photo, capsys,
                                                                    no_builtin_styles, isolated_dirs):
    install_user_styles(isolated_dirs, small_style, "aa", "bb")
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "x.jpg"), photo[:24, :32])
    assert run_cli(["image", str(folder), "-s", "aa"], capsys).exit_code == 0  # x_aa.jpg beside x.jpg
    again = run_cli(["image", str(folder), str(tmp_path / ".." / tmp_path.name / "photos"), "-s", "bb", "-o",
                     str(tmp_path / "out")], capsys)  # the same folder spelled twice
    assert again.exit_code == 0
    assert "left alone 1 earlier result (named PHOTO_STYLE beside its photo)" in again.err  # not 'result(s)'
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x_bb.jpg"]  # not x_aa_bb.jpg, nor twice
    model = tmp_path / "m.onnx"
    model.write_bytes(b"an exported model")
    result = run_cli(["image", str(folder), "-s", "all", "-s", str(model), "--backend", "torch"], capsys)
    assert_one_line_error(result, "is an ONNX model", "--backend onnx")  # refused before aa and bb run
    assert "wrote" not in result.err and not result.out


def test_all_with_no_styles_installed_says_so(tmp_path, photo, capsys, no_builtin_styles):
    src = tmp_path / "p.png"
    cv2.imwrite(str(src), photo[:24, :32])
    assert_one_line_error(run_cli(["image", str(src), "-s", "all"], capsys), "no styles are installed")


def test_named_photos_keep_their_folders_and_file_styles_know_their_results(tmp_path, small_style, photo, capsys):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        cv2.imwrite(str(tmp_path / sub / "p.jpg"), photo[:20, :20])
    out = tmp_path / "out"
    named = [str(tmp_path / "a" / "p.jpg"), str(tmp_path / "b" / "p.jpg")]
    assert run_cli(["image", *named, "-s", str(small_style), "-o", str(out)], capsys).exit_code == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg")) == \
        ["a/p_smallstyle.jpg", "b/p_smallstyle.jpg"]  # not p and p_2: names that do not depend on the others
    v12 = tmp_path / "v1.2.safetensors"
    shutil.copy(small_style, v12)
    folder = tmp_path / "a"
    for _ in range(2):  # two styles given as files, twice: neither stylizes the other's results
        result = run_cli(["image", str(folder), "-s", f"{small_style},{v12}"], capsys)
        assert result.exit_code == 0, result
    assert sorted(p.name for p in folder.iterdir()) == ["p.jpg", "p_smallstyle.jpg", "p_v1.2.jpg"]
    (folder / "broken.jpg").write_bytes(b"not a jpeg")  # a shell-expanded batch with an unreadable photo, again
    again = run_cli(["image", *sorted(str(p) for p in folder.glob("*.jpg")), "-s", str(small_style)], capsys)
    assert again.exit_code == 0, again
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x01garbage")
    result = run_cli(["image", str(tmp_path / "b" / "p.jpg"), "-s", f"{small_style},{bad}", "--overwrite"], capsys)
    assert_one_line_error(result, "bad.onnx")
    assert not (tmp_path / "b" / "p_smallstyle.jpg").exists()  # refused before the first style ran


def test_two_styles_writing_one_file_are_refused(tmp_path, small_style, photo, capsys):
    for name in ("my_style", "style"):
        shutil.copy(small_style, tmp_path / f"{name}.safetensors")
    folder = tmp_path / "f"
    folder.mkdir()
    cv2.imwrite(str(folder / "x.png"), photo[:20, :20])
    cv2.imwrite(str(folder / "x_my.png"), photo[:20, :20])  # style `style` makes x_my_style.png of it
    result = run_cli(["image", str(folder), "-s", f"{tmp_path / 'my_style.safetensors'},{tmp_path / 'style.safetensors'}"],
                     capsys)
    assert_one_line_error(result, "x_my_style.png", "both")
    assert sorted(p.name for p in folder.iterdir()) == ["x.png", "x_my.png"]


def test_output_folder_inside_the_input_and_several_folders(tmp_path, small_style, photo, capsys):
    for sub in ("d1", "d2"):
        (tmp_path / "p" / sub).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "p" / sub / "a.png"), photo[:20, :20])
    out = tmp_path / "p" / "out"
    for _ in range(2):  # the results in p/out are not read back as photos on the second run
        assert run_cli(["image", str(tmp_path / "p"), "-s", str(small_style), "-o", str(out)], capsys).exit_code == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == \
        ["d1/a_smallstyle.png", "d2/a_smallstyle.png"]
    both = tmp_path / "both"  # two folders given: each keeps its name under -o
    assert run_cli(["image", str(tmp_path / "p" / "d1"), str(tmp_path / "p" / "d2"), "-s", str(small_style),
                    "-o", str(both)], capsys).exit_code == 0
    assert sorted(p.relative_to(both).as_posix() for p in both.rglob("*.png")) == \
        ["d1/a_smallstyle.png", "d2/a_smallstyle.png"]


def test_output_folder_that_is_the_input_folder_gets_the_results_beside_the_photos(tmp_path, small_style, photo,
                                                                                   capsys):
    # `-o photos/` for `photos/` found no photos at all: everything in the searched folder was taken for results.
    (tmp_path / "photos" / "trip").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "photos" / "a.png"), photo[:20, :20])
    cv2.imwrite(str(tmp_path / "photos" / "trip" / "b.png"), photo[:20, :20])
    folder = str(tmp_path / "photos")
    result = run_cli(["image", folder, "-s", str(small_style), "-o", folder + "/"], capsys)
    assert result.exit_code == 0, result
    assert sorted(p.relative_to(tmp_path / "photos").as_posix() for p in (tmp_path / "photos").rglob("*.png")) == \
        ["a.png", "a_smallstyle.png", "trip/b.png", "trip/b_smallstyle.png"]


def test_transparency_is_kept(tmp_path, small_style, photo, capsys):
    rgba = cv2.cvtColor(photo[:40, :60], cv2.COLOR_BGR2BGRA)
    rgba[:, :30, 3] = 0  # the left half transparent
    cv2.imwrite(str(tmp_path / "logo.png"), rgba)
    assert run_cli(["image", str(tmp_path / "logo.png"), "-s", str(small_style), "--max-size", "30"],
                   capsys).exit_code == 0
    result = cv2.imread(str(tmp_path / "logo_smallstyle.png"), cv2.IMREAD_UNCHANGED)
    assert result.shape == (20, 30, 4)
    assert result[:, :13, 3].max() == 0 and result[:, 17:, 3].min() == 255  # the same alpha, downscaled
    flat = run_cli(["image", str(tmp_path / "logo.png"), "-s", str(small_style), "-o", str(tmp_path / "flat.jpg")],
                   capsys)
    assert flat.exit_code == 0  # a format without alpha: just the colours, and said so
    assert "logo.png's transparency is not kept in .jpg (.png, .webp and .tiff keep it)" in flat.err
    opaque = cv2.cvtColor(photo[:40, :60], cv2.COLOR_BGR2BGRA)  # an alpha channel, all of it opaque: nothing lost
    cv2.imwrite(str(tmp_path / "opaque.png"), opaque)
    result_err = run_cli(["image", str(tmp_path / "opaque.png"), "-s", str(small_style), "-o",
                          str(tmp_path / "opaque.jpg")], capsys).err
    assert "transparency" not in result_err
    assert cv2.imread(str(tmp_path / "flat.jpg"), cv2.IMREAD_UNCHANGED).shape == (40, 60, 3)


def test_what_a_transparent_png_hides_does_not_change_its_result(tmp_path, small_style, photo, capsys):
    """A cut-out's hidden background (black in one file, white in another) left a dark outline or a pale wash at
    its edge and shifted its tone: the hidden pixels are filled from the visible ones before stylizing."""
    yy, xx = np.mgrid[:80, :100]
    alpha = np.where(np.hypot(yy - 40, xx - 50) < 30, 255, 0).astype(np.uint8)
    alpha[40, 5] = 1  # a nearly invisible speck keeps its own colour
    results = []
    for hidden in (0, 255):
        rgba = cv2.cvtColor(cv2.resize(photo, (100, 80)), cv2.COLOR_BGR2BGRA)
        rgba[..., 3] = alpha
        rgba[alpha == 0, :3] = hidden
        cv2.imwrite(str(tmp_path / f"cutout{hidden}.png"), rgba)
        assert run_cli(["image", str(tmp_path / f"cutout{hidden}.png"), "-s", str(small_style)], capsys).exit_code == 0
        results.append(cv2.imread(str(tmp_path / f"cutout{hidden}_smallstyle.png"), cv2.IMREAD_UNCHANGED))
    assert np.array_equal(results[0][..., 3], alpha)
    assert np.array_equal(results[0][alpha > 0], results[1][alpha > 0])


def test_fill_transparent_extends_the_visible_colours():
    from rtstyle.io.images import fill_transparent

    frame = np.zeros((30, 40, 3), np.uint8)
    frame[:, :20] = (10, 120, 230)  # the visible half
    alpha = np.zeros((30, 40), np.uint8)
    alpha[:, :20] = 255
    filled = fill_transparent(frame, alpha)
    assert np.array_equal(filled[:, :20], frame[:, :20])  # what is seen is untouched
    assert np.abs(filled[:, 20:].astype(int) - (10, 120, 230)).max() <= 1  # the hidden half continues it
    for alpha in (np.full((30, 40), 255, np.uint8), np.zeros((30, 40), np.uint8)):  # nothing hidden, or nothing seen
        assert np.array_equal(fill_transparent(frame, alpha), frame)
    one = np.zeros((1, 3, 3), np.uint8)
    one[0, 0] = 200
    assert fill_transparent(one, np.array([[255, 0, 0]], np.uint8)).tolist() == [[[200] * 3] * 3]


def test_a_16_bit_photo_is_said_to_give_an_8_bit_result(tmp_path, small_style, photo, capsys):
    deep = photo[:20, :30].astype(np.uint16) * 257
    cv2.imwrite(str(tmp_path / "scan.png"), deep)
    cv2.imwrite(str(tmp_path / "plain.png"), photo[:20, :30])
    result = run_cli(["image", str(tmp_path / "scan.png"), "-s", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert "1 photo had more than 8 bits per channel; its result has 8" in result.err
    assert cv2.imread(str(tmp_path / "scan_smallstyle.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint8
    result = run_cli(["image", str(tmp_path / "plain.png"), "-s", str(small_style)], capsys)
    assert result.exit_code == 0 and "bits per channel" not in result.err


def test_ctrl_c_in_a_batch_says_how_far_it_got(tmp_path, small_style, photo, capsys, monkeypatch):
    import rtstyle.io.images as images

    for name in ("a.png", "b.png", "c.png"):
        cv2.imwrite(str(tmp_path / name), photo[:16, :16])
    real_write, calls = images.write_image, []

    def write_then_ctrl_c(path, image, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_write(path, image, **kwargs)

    monkeypatch.setattr(images, "write_image", write_then_ctrl_c)
    result = run_cli(["image", str(tmp_path), "-s", str(small_style)], capsys)
    assert result.exit_code == 130 and "stopped after 1 of 3 images" in result.err
    monkeypatch.setattr(images, "write_image", real_write)
    again = run_cli(["image", str(tmp_path), "-s", str(small_style)], capsys)
    assert again.exit_code == 0 and "wrote 2 images" in again.err and "skipped 1 already stylized" in again.err
    assert "img/s" not in again.err and "\r" not in again.err  # no progress bar where stderr is not a terminal


def test_results_keep_the_photos_colour_profile_in_every_format(tmp_path, small_style, photo, capsys):
    """A Display-P3 phone photo must not come out untagged (viewers would show it as sRGB: the colours shift)."""
    import struct
    import zlib

    from rtstyle.io.color_profile import read_color_profile

    icc = fake_icc(588)
    plain = cv2.imencode(".jpg", photo[:40, :60])[1].tobytes()
    # The profile put in by hand (an APP2 segment after SOI), not by the writer under test.
    (tmp_path / "icc.jpg").write_bytes(plain[:2] + b"\xff\xe2" + struct.pack(">H", 2 + 14 + len(icc))
                                       + b"ICC_PROFILE\x00\x01\x01" + icc + plain[2:])
    (tmp_path / "plain.jpg").write_bytes(plain)
    for args in (["icc.jpg"], ["icc.jpg", "-o", "as.png"], ["icc.jpg", "-o", "as.webp"], ["icc.jpg", "-o", "as.tiff"],
                 ["plain.jpg"]):
        result = run_cli(["image", str(tmp_path / args[0]), "-s", str(small_style),
                          *([args[1], str(tmp_path / args[2])] if len(args) > 1 else [])], capsys)
        assert result.exit_code == 0, result
    for name in ("icc_smallstyle.jpg", "as.png", "as.webp", "as.tiff"):
        profile = read_color_profile(tmp_path / name)
        assert profile is not None and profile.icc == icc, name
    assert read_color_profile(tmp_path / "plain_smallstyle.jpg") is None
    # The profile changes nothing else: the same pixels as the untagged photo's result.
    assert np.array_equal(cv2.imread(str(tmp_path / "icc_smallstyle.jpg")),
                          cv2.imread(str(tmp_path / "plain_smallstyle.jpg")))

    # A transparent PNG keeps its alpha and its profile, also as WebP; a damaged profile is skipped, not an error.
    rgba = cv2.cvtColor(photo[:40, :60], cv2.COLOR_BGR2BGRA)
    rgba[:, :30, 3] = 0
    png = cv2.imencode(".png", rgba)[1].tobytes()
    iccp = b"p\x00\x00" + zlib.compress(icc)
    chunk = struct.pack(">I", len(iccp)) + b"iCCP" + iccp + struct.pack(">I", zlib.crc32(b"iCCP" + iccp))
    (tmp_path / "logo.png").write_bytes(png[:33] + chunk + png[33:])
    (tmp_path / "bad.png").write_bytes(png[:33] + chunk[:-4] + b"\x00\x00\x00\x00" + png[33:])
    for source, target in (("logo.png", "logo.webp"), ("logo.png", "logo.png"), ("bad.png", "bad.png")):
        result = run_cli(["image", str(tmp_path / source), "-s", str(small_style), "-o", str(tmp_path / "out" / target)],
                         capsys)
        assert result.exit_code == 0, result
        stylized = cv2.imread(str(tmp_path / "out" / target), cv2.IMREAD_UNCHANGED)
        assert stylized.shape == (40, 60, 4) and stylized[:, :30, 3].max() == 0 and stylized[:, 30:, 3].min() == 255
    assert read_color_profile(tmp_path / "out" / "logo.webp").icc == icc
    assert read_color_profile(tmp_path / "out" / "logo.png").icc == icc
    assert read_color_profile(tmp_path / "out" / "bad.png") is None


def test_exif_is_not_copied_so_no_orientation_turns_the_upright_result(tmp_path, small_style, capsys):
    """OpenCV applied the EXIF orientation when reading; the result is upright and carries no EXIF (nor GPS)."""
    image_module = pytest.importorskip("PIL.Image")

    img = image_module.fromarray(np.zeros((20, 40, 3), np.uint8))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90
    exif[0x010F] = "PhoneMaker"
    img.save(tmp_path / "icc.jpg", exif=exif, icc_profile=fake_icc(588))
    assert run_cli(["image", str(tmp_path / "icc.jpg"), "-s", str(small_style)], capsys).exit_code == 0
    with image_module.open(tmp_path / "icc_smallstyle.jpg") as result:
        assert result.size == (20, 40)  # upright: a portrait
        assert result.info.get("icc_profile") == fake_icc(588)
        assert "exif" not in result.info and not result.getexif()


def test_gifs_are_photos_and_an_animated_one_says_only_its_first_frame_is_used(tmp_path, small_style, photo, capsys):
    import av

    with av.open(str(tmp_path / "anim.gif"), "w") as gif:  # five frames of different greys
        stream = gif.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "rgb8"
        for level in range(0, 250, 50):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.full((24, 32, 3), level, np.uint8), "rgb24")):
                gif.mux(packet)
        for packet in stream.encode():
            gif.mux(packet)
    cv2.imwrite(str(tmp_path / "x.png"), photo[:24, :32])
    result = run_cli(["image", str(tmp_path), "-s", str(small_style)], capsys)
    assert result.exit_code == 0, result
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".png") == [
        "anim_smallstyle.png", "x.png", "x_smallstyle.png"]  # a GIF's result is a PNG (rtstyle writes no GIFs)
    assert "anim.gif has 5 frames: only the first is stylized" in result.err and "rtstyle video" in result.err


def test_a_gif_reads_through_pyav_as_opencv_reads_it(tmp_path):
    # OpenCV before 4.12 (pyproject allows 4.10) has no GIF decoder: rtstyle.io.gif reads the first frame instead.
    import av

    from rtstyle.io import gif

    path = tmp_path / "anim.gif"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "rgb8"
        for green in (0, 128, 255):  # three frames: blue | red, some green ("rgb8" keeps them within 4)
            pixels = np.zeros((24, 32, 3), np.uint8)
            pixels[:, :16, 0], pixels[:, 16:, 2], pixels[..., 1] = 255, 255, green
            frame = av.VideoFrame.from_ndarray(pixels, "bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    first = gif.read_first_frame(path)
    assert first is not None and first.shape == (24, 32, 3) and first.dtype == np.uint8
    blue, red = first[:, :16].astype(int), first[:, 16:].astype(int)
    assert np.abs(blue - (255, 0, 0)).max() <= 4 and np.abs(red - (0, 0, 255)).max() <= 4  # BGR, as OpenCV gives
    assert gif.count_frames(path) == 3
    assert gif.read_first_frame(tmp_path / "missing.gif") is None and gif.count_frames(tmp_path / "missing.gif") == 1
    if cv2.haveImageReader(str(path)):  # the same frame as OpenCV's own decoder gives
        assert np.abs(first.astype(int) - cv2.imread(str(path)).astype(int)).max() <= 1


def test_a_gif_named_like_a_url_reads_through_pyav(tmp_path, monkeypatch):
    # FFmpeg takes a:b.gif in the current folder for a URL ("Protocol not found"): the GIF read as unreadable.
    import av

    from rtstyle.io import gif

    with av.open(str(tmp_path / "plain.gif"), "w") as container:
        stream = container.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = 8, 8, "rgb8"
        for value in (0, 255):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.full((8, 8, 3), value, np.uint8), "bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    shutil.copy(tmp_path / "plain.gif", tmp_path / "a:b.gif")
    monkeypatch.chdir(tmp_path)
    assert gif.read_first_frame(Path("a:b.gif")) is not None
    assert gif.count_frames(Path("a:b.gif")) == 2


def test_linked_folders_are_followed_and_named_by_their_real_folder(tmp_path, small_style, photo, capsys):
    photos, outside = tmp_path / "photos", tmp_path / "elsewhere"
    (photos / "real").mkdir(parents=True)
    outside.mkdir()
    for path in (photos / "top.png", photos / "real" / "a.png", outside / "b.png"):
        cv2.imwrite(str(path), photo[:16, :16])
    (photos / "linked").symlink_to(photos / "real")  # the same folder under a second name
    (photos / "ext").symlink_to(outside)  # a folder kept somewhere else: it used to be skipped without a word
    for args in ([str(photos / "**" / "*.png")], [str(photos)]):  # a pattern and a folder agree
        if args == [str(photos)]:
            (photos / "real" / "loop").symlink_to(photos)  # a folder walk must not loop (glob's ** would)
        out = tmp_path / f"out{len(args[0])}"
        result = run_cli(["image", *args, "-s", str(small_style), "-o", str(out)], capsys)
        assert result.exit_code == 0, result
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
            "ext/b_smallstyle.png", "real/a_smallstyle.png", "top_smallstyle.png"], args


def test_a_batch_goes_ahead_without_a_folder_it_cannot_write(tmp_path, small_style, photo, capsys, monkeypatch):
    import rtstyle.io.image_jobs as image_jobs
    from rtstyle.errors import RtstyleError

    (tmp_path / "ro").mkdir()
    for path in (tmp_path / "a.png", tmp_path / "ro" / "b.png"):
        cv2.imwrite(str(path), photo[:16, :16])
    real_probe = image_jobs.probe_writable

    def read_only(target, what="the output"):  # a read-only mount (root ignores a folder's mode bits)
        if target.parent.name == "ro":
            raise RtstyleError(f"cannot write {target}: Read-only file system")
        real_probe(target, what)

    monkeypatch.setattr(image_jobs, "probe_writable", read_only)
    result = run_cli(["image", str(tmp_path), "-s", str(small_style)], capsys)
    assert result.exit_code == 0, result  # it stopped the whole batch, before any photo
    assert "skipped 1 whose folder cannot be written" in result.err and (tmp_path / "a_smallstyle.png").is_file()
    assert_one_line_error(run_cli(["image", str(tmp_path / "ro"), "-s", str(small_style)], capsys),
                          "Read-only file system")  # nothing at all can be written: an error


def test_photos_in_formats_that_are_not_read_and_videos_say_so(tmp_path, small_style, photo, capsys, monkeypatch):
    # An iPhone's photos are HEIC: one was 'corrupt or unsupported format', a folder of them 'no images found'.
    # Without pillow-heif (the heic extra) they are named, with the extra that reads them.
    import rtstyle.io.heif
    import rtstyle.io.images

    for module in (rtstyle.io.heif, rtstyle.io.images):
        monkeypatch.setattr(module, "heif_reader_installed", lambda: False)
    phone = tmp_path / "phone"
    phone.mkdir()
    (phone / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic")
    (phone / "IMG_0002.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")
    result = run_cli(["image", str(phone / "IMG_0001.HEIC"), "-s", str(small_style)], capsys)
    assert_one_line_error(result, 'IMG_0001.HEIC: HEIC photos are not supported here (pip install "rtstyle[heic]" '
                                  'reads them, or convert to JPEG or PNG first)')
    assert "style smallstyle on" not in result.err  # said before the model loads
    assert_one_line_error(run_cli(["image", str(phone), "-s", str(small_style)], capsys),
                          'no images found in the given inputs (2 HEIC photos: not supported here, pip install '
                          '"rtstyle[heic]" reads them, or convert to JPEG or PNG first)')
    assert_one_line_error(run_cli(["image", str(phone / "*.HEIC"), "-s", str(small_style)], capsys),
                          f"no images match {str(phone / '*.HEIC')!r} (HEIC photos: not supported here, pip install "
                          '"rtstyle[heic]" reads them, or convert to JPEG or PNG first)')
    (phone / "IMG_0003.DNG").write_bytes(b"II*\x00")
    assert_one_line_error(run_cli(["image", str(phone), "-s", str(small_style)], capsys),
                          "no images found in the given inputs (2 HEIC photos and 1 camera raw photo: not supported "
                          'here, convert to JPEG or PNG first; pip install "rtstyle[heic]" reads HEIC)')
    cv2.imwrite(str(phone / "a.png"), photo[:24, :24])
    result = run_cli(["image", str(phone), "-s", str(small_style), "-o", str(tmp_path / "out")], capsys)
    assert result.exit_code == 0 and (tmp_path / "out" / "a_smallstyle.png").is_file(), result
    assert ("smallstyle: skipped 2 HEIC photos and 1 camera raw photo (not supported here: convert to JPEG or PNG "
            'first; pip install "rtstyle[heic]" reads HEIC)') in result.err
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypisom")
    assert_one_line_error(run_cli(["image", str(clip), "-s", str(small_style)], capsys),
                          f"cannot read image {clip}: it is a video (`rtstyle video {clip} -o OUT.mp4` stylizes it)")
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert_one_line_error(run_cli(["image", str(tmp_path / "empty.jpg"), "-s", str(small_style)], capsys),
                          "image is an empty file (0 bytes)")


def test_a_photo_opencv_cannot_decode_is_one_line_without_its_warnings(tmp_path, small_style, photo, capfd):
    # OpenCV printed '[ WARN:0@1.172] global grfmt_tiff.cpp:811 readData OpenCV TIFF: ...' above the error.
    deep = tmp_path / "float.tif"
    cv2.imwrite(str(deep), photo[:24, :24].astype(np.float32) / 255)
    if cv2.imread(str(deep), cv2.IMREAD_COLOR) is not None:  # as rtstyle reads photos
        pytest.skip(f"OpenCV {cv2.__version__} decodes float TIFF (OpenCV 5 does not)")
    result = run_cli(["image", str(deep), "-s", str(small_style)], capfd)
    assert_one_line_error(result, "cannot read image")
    assert "WARN" not in result.err, result.err


@pytest.mark.parametrize("orientation", [3, 6, 2])
def test_an_orientation_tag_turns_the_transparency_with_the_colours(tmp_path, small_style, orientation, capsys):
    # A 180-degree tag (3) turned the colours but not the alpha read as stored: a cut-out's visible half came out
    # transparent and its hidden half visible. A 90-degree one (6) dropped the transparency without a word.
    Image, ImageOps = pytest.importorskip("PIL.Image"), pytest.importorskip("PIL.ImageOps")

    ys, xs = np.mgrid[0:24, 0:40]
    colours = np.stack([xs * 6, ys * 10, np.full_like(xs, 90)], -1).astype(np.uint8)
    alpha = np.where(xs < 15, 0, np.where(ys < 8, 128, 255)).astype(np.uint8)
    image = Image.fromarray(np.dstack([colours, alpha]), "RGBA")
    exif = image.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "cutout.png"
    image.save(path, exif=exif)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    out = tmp_path / "out.png"
    assert run_cli(["image", str(path), "-s", str(small_style), "-o", str(out)], capsys).exit_code == 0
    result = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert result.shape == (*upright.shape[:2], 4) and np.array_equal(result[..., 3], upright[..., 3])


def test_avif_photos_are_read_in_folders_too_and_keep_their_profile(tmp_path, small_style, photo, capsys):
    # A single .avif was read (OpenCV decodes it) but a folder's were not found, and the result lost its profile.
    from rtstyle.io.color_profile import read_color_profile

    if not cv2.haveImageWriter("x.avif"):  # its AVIF decoder comes with the encoder
        pytest.skip("this OpenCV decodes no AVIF")
    image_module = pytest.importorskip("PIL.Image")
    if not pytest.importorskip("PIL.features").check("avif"):
        pytest.skip("this Pillow writes no AVIF (the test's writer of a tagged one)")
    icc = fake_icc(700, seed=9)
    (tmp_path / "web").mkdir()
    image_module.fromarray(photo[:24, :32, ::-1].copy()).save(tmp_path / "web" / "p.avif", icc_profile=icc, quality=95)
    result = run_cli(["image", str(tmp_path / "web"), "-s", str(small_style), "-o", str(tmp_path / "out")], capsys)
    written = tmp_path / "out" / "p_smallstyle.png"
    assert result.exit_code == 0 and result.out.strip() == str(written), result
    assert cv2.imread(str(written)).shape == (24, 32, 3)
    profile = read_color_profile(written)
    assert profile is not None and profile.icc == icc


def avif_writer():
    """Pillow, where it writes AVIF (libavif turns an EXIF orientation into the file's irot / imir boxes)."""
    if not cv2.haveImageWriter("x.avif"):  # its AVIF decoder comes with the encoder
        pytest.skip("this OpenCV decodes no AVIF")
    image_module = pytest.importorskip("PIL.Image")
    if not pytest.importorskip("PIL.features").check("avif"):
        pytest.skip("this Pillow writes no AVIF")
    return image_module


@pytest.mark.parametrize("orientation", sorted(TURNS))
def test_an_avif_is_read_upright_with_its_transparency(tmp_path, orientation):
    # OpenCV decodes an AVIF as stored, without its irot / imir: a portrait one came out on its side.
    from rtstyle.io.images import read_image, read_layout

    image_module = avif_writer()
    upright = quadrants()
    alpha = np.tile(np.linspace(0, 255, 48).astype(np.uint8), (32, 1))
    stored = np.ascontiguousarray(TURNS[orientation](np.dstack([upright, alpha])))
    exif = image_module.Exif()
    exif[0x0112] = orientation
    image_module.fromarray(stored).save(tmp_path / "p.avif", exif=exif.tobytes(), quality=100, subsampling="4:4:4")
    read = read_image(tmp_path / "p.avif")
    seen = alpha > 64  # what the encoder keeps under near-transparency is its own choice
    assert read.shape == upright.shape and close(read[seen], bgr(upright)[seen], 4), (orientation, read.shape)
    layout = read_layout(tmp_path / "p.avif", shown=read)
    assert layout.alpha is not None and close(layout.alpha, alpha, 4)


def test_a_batch_removes_what_a_killed_run_left_for_the_results_it_writes(tmp_path, random_style, photo, capsys):
    # kill -9 while a result was being written leaves its hidden temporary file (rtstyle.io.leftovers).
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(folder / name), photo[:32, :48])
    (folder / "b_randomstyle.png").write_bytes(b"kept")  # done before: not written now
    left = folder / ".a_randomstyle.abcd1234.part.png"
    left.write_bytes(b"\0" * 1500)
    other = folder / ".b_randomstyle.abcd1234.part.png"  # of a result not written now: not looked at
    other.write_bytes(b"\0" * 10)
    result = run_cli(["image", str(folder), "-s", str(random_style)], capsys)
    assert result.exit_code == 0, result
    assert f"removed 1 file (1.5 kB) left by an interrupted run of {folder / 'a_randomstyle.png'}" in result.err
    assert not left.exists() and other.exists() and (folder / "a_randomstyle.png").exists()


def test_without_a_style_image_uses_the_default_like_video(tmp_path, small_style, photo, capsys, no_builtin_styles,
                                                           isolated_dirs):
    install_user_styles(isolated_dirs, small_style, "aa", "mosaic")
    src = tmp_path / "p.png"
    cv2.imwrite(str(src), photo[:24, :32])
    result = run_cli(["image", str(src)], capsys)
    assert result.exit_code == 0, result
    assert result.out.split() == [str(tmp_path / "p_mosaic.png")]
