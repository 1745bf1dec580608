"""HDR video (HLG from phones, PQ / HDR10) is tone-mapped to SDR BT.709 as it is decoded (rtstyle.io.hdr): the
networks learnt from SDR photos, and an HDR frame read as SDR is pale and washed out. The HDR test signals are made here
from an SDR photo with BT.2100's formulas written out independently of the module's tables."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from helpers import run_cli
from videoclips import write_frames, write_hdr_clip
from rtstyle.io import hdr
from rtstyle.metrics.clips import iter_clip
from rtstyle.train.data import read_video_frames

ASTRONAUT = Path(__file__).resolve().parent.parent / "rtstyle" / "assets" / "astronaut.png"
BT709_TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]])
HLG_A, HLG_B, HLG_C = 0.17883277, 0.28466892, 0.55991073


def hdr_signal(bgr: np.ndarray, trc: int) -> np.ndarray:
    """An SDR BGR photo as an HDR camera would record it (uint16 RGB, BT.2020): SDR white at 203 cd/m2."""
    display = (bgr[..., ::-1].astype(np.float64) / 255) ** 2.4 @ BT709_TO_BT2020.T  # relative to SDR white
    if trc == hdr.PQ:
        y = (display * 203 / 10000) ** 0.1593017578125
        signal = ((0.8359375 + 18.8515625 * y) / (1 + 18.6875 * y)) ** 78.84375
    else:  # undo the OOTF of a 1000 cd/m2 display (system gamma 1.2), then the HLG OETF
        alpha = 1000 / 203
        scene_luma = (display @ np.array([0.2627, 0.6780, 0.0593]) / alpha) ** (1 / 1.2)
        scene = display / (alpha * np.maximum(scene_luma, 1e-12) ** 0.2)[..., None]
        signal = np.where(scene <= 1 / 12, np.sqrt(3 * scene),
                          HLG_A * np.log(np.maximum(12 * scene - HLG_B, 1e-12)) + HLG_C)
    return np.rint(np.clip(signal, 0, 1) * 65535).astype(np.uint16)


def photo(width: int = 128, height: int = 96) -> np.ndarray:
    """The astronaut, its whites below the knee, where the mapping is exact; softened, so that yuv420p's halved
    colour resolution costs little."""
    image = cv2.resize(cv2.imread(str(ASTRONAUT)), (width, height), interpolation=cv2.INTER_AREA)
    return np.minimum(cv2.GaussianBlur(image, (0, 0), 1.5), 225)


def make_hdr_clip(path: Path, image: np.ndarray, trc: int, frames: int = 3) -> Path:
    """10-bit H.264 tagged BT.2020 with the `trc` curve, every frame `image` as that camera would record it."""
    return write_hdr_clip(path, hdr_signal(image, trc), trc, frames=frames)


def mean_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


@pytest.mark.parametrize("trc", [hdr.HLG, hdr.PQ])
def test_an_hdr_signal_comes_back_as_the_sdr_photo(trc):
    image = photo()
    signal = hdr_signal(image, trc)
    assert mean_error(hdr.tone_map(signal, trc), image) < 0.2
    # what the networks were given before: the signal read as if it were SDR, pale and washed out
    assert mean_error(cv2.cvtColor((signal >> 8).astype(np.uint8), cv2.COLOR_RGB2BGR), image) > 10


def test_highlights_roll_off_keeping_their_hue_and_order():
    # A grey ramp from black to the HLG peak (1000 cd/m2, 5x SDR white) and an orange at 3x SDR white.
    ramp = np.repeat(np.linspace(0, 65535, 256).astype(np.uint16)[None, :, None], 3, axis=2)
    grey = hdr.tone_map(ramp, hdr.HLG)[0, :, 1].astype(int)
    assert np.all(np.diff(grey) >= 0) and grey[-1] >= 250  # brighter stays brighter, up to near white
    assert np.diff(grey)[-20:].sum() > 0  # the brightest highlights still differ (not clipped flat)
    orange_bt2020 = np.linalg.solve(np.array([[1.6605, -0.5876, -0.0728], [-0.1246, 1.1329, -0.0083],
                                              [-0.0182, -0.1006, 1.1187]]), np.array([3.0, 1.5, 0.3]))
    y = (orange_bt2020 * 203 / 10000) ** 0.1593017578125
    pq = np.rint(((0.8359375 + 18.8515625 * y) / (1 + 18.6875 * y)) ** 78.84375 * 65535).astype(np.uint16)
    b, g, r = hdr.tone_map(pq[None, None], hdr.PQ)[0, 0] / 255.0
    assert 0.9 < r < 1.0  # rolled off below white, not clipped
    assert (g / r) ** 2.4 == pytest.approx(0.5, abs=0.02) and (b / r) ** 2.4 == pytest.approx(0.1, abs=0.02)


def converted(src: Path, out: Path, style: Path, capsys: pytest.CaptureFixture[str]) -> tuple[np.ndarray, str]:
    """`rtstyle video` at --strength 0 (the frames as the network was given them): the first frame, and stderr."""
    result = run_cli(["video", str(src), "-o", str(out), "--style", str(style), "--strength", "0"], capsys)
    assert result.exit_code == 0, result
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0))
        assert (frame.color_primaries, frame.color_trc, frame.colorspace) == ((1, 1, 1) if "HDR" in result.err
                                                                              else (2, 2, 2))  # not HDR's tags
        return frame.to_ndarray(format="bgr24"), result.err


def test_an_hlg_phone_video_is_converted_as_sdr_and_said(tmp_path, small_style, capsys):
    image = photo()
    hlg, said = converted(make_hdr_clip(tmp_path / "IMG_0001.mov", image, hdr.HLG), tmp_path / "hlg.mp4",
                          small_style, capsys)
    assert "IMG_0001.mov is HDR video (HLG, 10-bit): tone-mapped to SDR (BT.709, 8-bit)" in said
    # as close to the photo as the same photo filmed in SDR: only the two yuv420p encodings differ from it
    sdr, said = converted(write_frames(tmp_path / "sdr.mp4", [image] * 3, codec="libx264", pix_fmt="yuv420p",
                                       options={"crf": "4"}), tmp_path / "sdr_out.mp4", small_style, capsys)
    assert "HDR" not in said
    assert mean_error(hlg, image) < mean_error(sdr, image) + 0.5


def test_evaluation_and_training_frames_are_tone_mapped_too(tmp_path):
    image = photo()
    clip = make_hdr_clip(tmp_path / "pq.mkv", image, hdr.PQ, frames=2)
    frames = list(iter_clip(clip))  # `rtstyle eval`'s
    assert len(frames) == 2 and mean_error(frames[0], image) < 3
    _, first = read_video_frames(clip, crop_size=64, max_frames=2)  # `rtstyle train --content VIDEO`'s
    assert mean_error(first, image) < 3
