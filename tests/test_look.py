"""Strength, keep-colours and stroke size (rtstyle.realtime.look), on their own, in the frame path and through the
commands."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from rtstyle.realtime.look import Look, apply_look
from rtstyle.realtime.processing import FrameProcessor


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray]:
    """A colourful photo-like frame and a grey "stylized" one with strong stripes of its own."""
    ys, xs = np.mgrid[0:64, 0:96]
    original = np.stack([60 + xs, 80 + ys, 180 - xs], -1).astype(np.uint8)  # smooth, saturated, in gamut
    stripes = np.where((xs // 4) % 2, 200, 40).astype(np.uint8)
    return original, np.repeat(stripes[..., None], 3, axis=2)


def ycrcb(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb).astype(float)


def test_plain_look_is_the_network_output_unchanged(pair):
    original, stylized = pair
    assert apply_look(original, stylized, Look()) is stylized


def test_strength_mixes_the_output_with_the_original(pair):
    original, stylized = pair
    assert np.array_equal(apply_look(original, stylized, Look(strength=0.0)), original)
    quarter = apply_look(original, stylized, Look(strength=0.25)).astype(float)
    assert np.abs(quarter - (0.25 * stylized + 0.75 * original)).max() <= 1


def test_keep_colors_takes_the_strokes_from_the_style_and_the_colours_from_the_photo(pair):
    original, stylized = pair
    kept = ycrcb(apply_look(original, stylized, Look(keep_colors=True)))
    want = ycrcb(original)
    assert np.abs(kept[..., 1:] - want[..., 1:]).mean() < 2  # the photo's chroma
    assert np.corrcoef(kept[..., 0].ravel(), ycrcb(stylized)[..., 0].ravel())[0, 1] > 0.99  # the style's strokes
    assert abs(kept[..., 0].mean() - want[..., 0].mean()) < 2  # at the photo's brightness
    assert abs(kept[..., 0].std() - want[..., 0].std()) < 2
    flat = np.full_like(stylized, 128)  # no strokes at all: nothing to stretch, the photo's brightness
    assert np.abs(ycrcb(apply_look(original, flat, Look(keep_colors=True)))[..., 0] - want[..., 0].mean()).max() < 2
    faint = flat.copy()
    faint[::2] += 1  # strokes of one level: their contrast is stretched at most 4x, not to the photo's spread
    assert ycrcb(apply_look(original, faint, Look(keep_colors=True)))[..., 0].std() < 3


def test_keep_colors_keeps_the_hue_of_saturated_colours_under_dark_and_bright_strokes():
    """An orange flower stroked dark by the style stays orange (it turned red: the channels were clipped one by one)."""
    hues = np.linspace(0, 170, 18).astype(np.uint8).repeat(10)  # OpenCV's 8-bit hue (0..179), in columns
    hsv = np.dstack([np.tile(hues, (40, 1)), np.full((40, 180), 230, np.uint8), np.full((40, 180), 220, np.uint8)])
    original = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)  # saturated colours
    levels = np.array([15, 60, 140, 250], np.uint8).repeat(10)  # dark and bright strokes, in rows, across them all
    stylized = np.repeat(np.tile(levels[:, None], (1, 180))[..., None], 3, axis=2)
    kept = apply_look(original, stylized, Look(keep_colors=True))
    hsv_kept = cv2.cvtColor(kept, cv2.COLOR_BGR2HSV_FULL).astype(int)
    hsv_photo = cv2.cvtColor(original, cv2.COLOR_BGR2HSV_FULL).astype(int)
    visible = (hsv_kept[..., 1] > 60) & (hsv_kept[..., 2] > 40)  # a hue that can be seen
    assert visible.mean() > 0.5
    hue_error = np.abs((hsv_kept[..., 0] - hsv_photo[..., 0] + 128) % 256 - 128)[visible] * 360 / 256
    assert hue_error.max() < 6  # degrees; clipping channel by channel gave 20
    luma = cv2.cvtColor(kept, cv2.COLOR_BGR2GRAY).astype(int)
    assert np.corrcoef(luma.ravel(), stylized[..., 0].ravel().astype(int))[0, 1] > 0.99  # the strokes' light and dark


def test_look_steps_are_clamped_and_described():
    assert Look().stepped(-3).strength == 0.7
    assert Look(0.95).stepped(+1).strength == 1.0 and Look(0.05).stepped(-1).strength == 0.0
    assert Look(0.7).toggled_colors().describe() == "strength 70%, original colours"
    assert Look().is_plain and not Look(keep_colors=True).is_plain and not Look(0.9).is_plain
    with pytest.raises(ValueError):
        Look(1.5)


def test_the_look_uses_the_full_size_original_when_the_model_runs_smaller(photo):
    process = FrameProcessor(lambda f: 255 - f, inference_scale=0.5, look=Look(strength=0.0))
    assert np.array_equal(process(photo), photo)  # not the downscaled-and-upscaled copy
    process.look = Look()
    assert np.abs(process(photo).astype(int) - photo).mean() > 50


def test_image_command_strength_and_colours(tmp_path, random_style, photo, capsys):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), photo)
    outputs = {}
    for name, extra in {"full": [], "none": ["--strength", "0"], "colours": ["--keep-colors"]}.items():
        out = tmp_path / f"{name}.png"
        assert run_cli(["image", str(src), "-s", str(random_style), "-o", str(out), *extra], capsys).exit_code == 0
        outputs[name] = cv2.imread(str(out))
    assert np.array_equal(outputs["none"], photo)
    want = ycrcb(photo)[..., 1:]
    assert np.abs(ycrcb(outputs["colours"])[..., 1:] - want).mean() < 3
    assert np.abs(ycrcb(outputs["full"])[..., 1:] - want).mean() > 3 * np.abs(ycrcb(outputs["colours"])[..., 1:] - want).mean()


@pytest.mark.parametrize("command", ["image", "video", "webcam"])
@pytest.mark.parametrize("option, value", [("--strength", "1.5"), ("--stroke-size", "5"), ("--stroke-size", "0")])
def test_look_out_of_range_is_one_line(tmp_path, random_style, command, option, value, capsys):
    result = run_cli([command, *(["x.png"] if command != "webcam" else []), "-s", str(random_style),
                      option, value], capsys)
    assert_one_line_error(result, option, value)


def network_sizes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The (height, width) of every frame the network is given from now on, by any FrameProcessor."""
    sizes: list[tuple[int, int]] = []
    init = FrameProcessor.__init__

    def spying(self, stylize, **options):
        def spied(frame: np.ndarray) -> np.ndarray:
            sizes.append(frame.shape[:2])
            return stylize(frame)

        init(self, spied, **options)

    monkeypatch.setattr(FrameProcessor, "__init__", spying)
    return sizes


def test_stroke_size_runs_the_network_on_a_scaled_copy_and_keeps_the_frame_size():
    seen: list[tuple[int, int]] = []

    def network(frame: np.ndarray) -> np.ndarray:
        seen.append(frame.shape[:2])
        return 255 - frame

    frame = np.full((240, 320, 3), 40, np.uint8)
    for look, inference_scale, want in [(Look(), 1.0, (240, 320)), (Look(stroke_size=2), 1.0, (120, 160)),
                                        (Look(stroke_size=0.5), 1.0, (480, 640)),
                                        (Look(stroke_size=2), 0.5, (60, 80))]:  # the webcam's two options multiply
        out = FrameProcessor(network, inference_scale=inference_scale, look=look)(frame)
        assert seen[-1] == want and out.shape == frame.shape
        assert np.abs(out.astype(int) - 215).max() <= 1
    assert Look(stroke_size=2).describe() == "strength 100%, strokes 2x"
    assert not Look(stroke_size=2).is_plain and Look(stroke_size=2).keeps_network_output
    with pytest.raises(ValueError):
        Look(stroke_size=0)


def test_image_command_stroke_size_is_the_network_at_that_scale(tmp_path, random_style, photo, capsys):
    """--stroke-size 2 is the network's result on the photo at half size, scaled back to the photo's size."""
    photo = photo[:300, :448]  # even sides: half size is exact both ways
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), photo)
    height, width = photo.shape[:2]
    results = {}
    runs = {"plain": [], "bold": ["--stroke-size", "2"], "half": ["--max-size", str(max(photo.shape) // 2)]}
    for name, extra in runs.items():
        out = tmp_path / f"{name}.png"
        assert run_cli(["image", str(src), "-s", str(random_style), "-o", str(out), *extra], capsys).exit_code == 0
        results[name] = cv2.imread(str(out)).astype(int)
    assert results["bold"].shape == photo.shape and results["half"].shape[1] == width // 2
    upscaled = cv2.resize(results["half"].astype(np.uint8), (width, height), interpolation=cv2.INTER_CUBIC)
    assert np.abs(results["bold"] - upscaled).mean() < 1
    assert np.abs(results["bold"] - results["plain"]).mean() > 10  # not the network at full size


def test_video_batch_and_webcam_commands_run_the_network_at_the_stroke_size(tmp_path, small_style, capsys,
                                                                             monkeypatch):
    from videoclips import make_clip

    src = make_clip(tmp_path / "in.mp4", width=96, height=64, frames=3)
    sizes = network_sizes(monkeypatch)
    args = ["video", str(src), "-s", str(small_style), "--stroke-size", "2"]
    assert run_cli([*args, "-o", str(tmp_path / "one.mp4")], capsys).exit_code == 0
    assert sizes and set(sizes) == {(32, 48)}
    sizes.clear()
    batch = tmp_path / "batch"
    assert run_cli([*args, "-s", str(small_style), "-o", str(batch)], capsys).exit_code == 0  # two styles: a batch
    assert sizes and set(sizes) == {(32, 48)} and len(list(batch.glob("*.mp4"))) == 1
    sizes.clear()
    webcam = ["webcam", "--source", str(src), "--no-display", "--frames", "2", "-s", str(small_style),
              "--inference-scale", "0.5", "--stroke-size", "2"]  # the two multiply
    assert run_cli(webcam, capsys).exit_code == 0
    assert sizes and set(sizes) == {(16, 24)}


def test_video_command_strength(tmp_path, small_style, capsys):
    import av

    from videoclips import make_clip

    src = make_clip(tmp_path / "in.mp4", width=96, height=64, frames=4)
    out = tmp_path / "out.mp4"
    assert run_cli(["video", str(src), "-o", str(out), "-s", str(small_style), "--strength", "0"], capsys).exit_code == 0
    with av.open(str(src)) as a, av.open(str(out)) as b:
        first_in = next(a.decode(video=0)).to_ndarray(format="bgr24").astype(int)
        first_out = next(b.decode(video=0)).to_ndarray(format="bgr24").astype(int)
    assert np.abs(first_in - first_out).mean() < 3  # only the encoder's loss: no style left


def test_a_result_made_at_a_lower_inference_scale_is_upscaled_crisply():
    """--inference-scale 0.5: the strokes the network drew at half size keep their edges when scaled back up."""
    rng = np.random.default_rng(1)
    strokes = np.full((120, 160, 3), 220, np.uint8)
    for _ in range(40):  # dark strokes like a painting's outlines, drawn at the model's resolution
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, 160, 4))
        cv2.line(strokes, (x0, y0 % 120), (x1, y1 % 120), (30, 40, 60), 2)
    process = FrameProcessor(lambda frame: strokes, inference_scale=0.5)
    out = process(np.zeros((240, 320, 3), np.uint8))

    def sharpness(image: np.ndarray) -> float:
        return float(np.abs(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_32F)).mean())

    bilinear = cv2.resize(strokes, (320, 240), interpolation=cv2.INTER_LINEAR)
    assert out.shape == (240, 320, 3)
    assert sharpness(out) > 1.2 * sharpness(bilinear)  # measured 1.3x on stylized photos (docs/engine.md)
