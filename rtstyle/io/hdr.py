"""HDR video (HLG, as phones record it, and PQ / HDR10) tone-mapped to SDR BT.709 for the networks.

The networks learnt from SDR photos. An HDR frame read as if it were SDR is flat and pale (HLG puts diffuse white
at 75% of the signal, PQ at about 58%, and BT.2020's primaries desaturate every colour read as BT.709), so it is
stylized as a flat, washed-out picture. Each frame is made display light instead (BT.2100's inverse OETF and
OOTF for HLG, its EOTF for PQ), scaled so that HDR reference white (203 cd/m2, ITU-R BT.2408) is SDR white,
converted to BT.709 primaries (ITU-R BT.2087), its highlights rolled off above a knee, and encoded for a BT.1886
display: an HDR phone video as an SDR screen should show it, its colours as shot and its highlights kept apart.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

# FFmpeg's AVCOL_TRC codes of the two HDR transfer functions.
PQ = 16  # SMPTE ST 2084
HLG = 18  # ARIB STD-B67
HDR_NAMES = {PQ: "PQ (HDR10)", HLG: "HLG"}

REFERENCE_WHITE_NITS = 203.0  # ITU-R BT.2408: HDR graphics/diffuse white, shown as SDR's 100%
PEAK_NITS = 1000.0  # BT.2100's nominal HLG display (system gamma 1.2), and PQ's peak where its metadata says none
HLG_GAMMA = 1.2
KNEE = 0.8  # SDR light below this passes unchanged; above, highlights up to the peak are rolled off to 1.0
TONE_MAP = f"BT.2408 white, knee {KNEE}, BT.1886"  # recorded with a resumable part: another mapping is not mixed in

# BT.2020 -> BT.709 for linear light (ITU-R BT.2087), rows reordered to give B, G, R (OpenCV's order) directly.
BT2020_TO_BT709_BGR = np.array([[-0.0182, -0.1006, 1.1187],
                                [-0.1246, 1.1329, -0.0083],
                                [1.6605, -0.5876, -0.0728]], np.float32)
BT2020_LUMA = np.array([[0.2627, 0.6780, 0.0593]], np.float32)  # Y of linear BT.2020 RGB


def is_hdr(trc: int) -> bool:
    """Whether FFmpeg's transfer-characteristic code is an HDR curve that needs tone mapping."""
    return trc in HDR_NAMES


def tone_map_setting(trc: int, peak_nits: float = PEAK_NITS) -> str:
    """The mapping as a resumable part's record names it: a part mapped to another peak is not mixed in. At the
    1000 cd/m2 of HLG and of PQ without metadata, TONE_MAP as before, so earlier parts still match."""
    return TONE_MAP if trc != PQ or peak_nits == PEAK_NITS else f"{TONE_MAP}, PQ peak {peak_nits:g} cd/m2"


def tone_map(rgb48: np.ndarray, trc: int, peak_nits: float = PEAK_NITS) -> np.ndarray:
    """HxWx3 uint16 RGB, BT.2020 primaries and the `trc` HDR curve -> HxWx3 uint8 BGR, BT.709 SDR. `peak_nits`:
    the PQ light rolled off to SDR white (the video's MaxCLL or mastering peak, rtstyle.io.hdr_metadata); HLG
    always maps for its nominal 1000 cd/m2 display, as it is scene light whatever it was graded on."""
    light = _signal_to_light(trc)[rgb48]  # PQ: display light, 1.0 the reference white; HLG: scene light, 0..1
    if trc == HLG:  # its OOTF makes that display light (growing with the scene's luminance to the power 0.2)
        gain = cv2.pow(cv2.transform(light, BT2020_LUMA), HLG_GAMMA - 1) * (PEAK_NITS / REFERENCE_WHITE_NITS)
        light *= gain[..., None]
    bgr = cv2.transform(light, BT2020_TO_BT709_BGR)
    np.maximum(bgr, 0, out=bgr)  # colours outside BT.709 clipped to its gamut's edge
    # The roll-off acts on each pixel's brightest channel and scales all three alike: hues and saturation are
    # kept, and no channel clips on its own (which would turn a bright orange sky yellow).
    brightest = cv2.max(cv2.max(bgr[..., 0], bgr[..., 1]), bgr[..., 2])
    peak = (PEAK_NITS if trc == HLG else peak_nits) / REFERENCE_WHITE_NITS
    bgr *= (_roll_off_gain(brightest, peak) * 65535)[..., None]  # 16-bit codes
    return _light_to_sdr()[bgr.astype(np.uint16)]


def _roll_off_gain(light: np.ndarray, peak: float) -> np.ndarray:
    """The factor taking `light` onto the curve: identity up to KNEE, then extended Reinhard (slope 1 at the knee,
    `peak` onto 1.0 exactly, what is brighter clipped). Computed at max(light, KNEE), where the factor is 1."""
    span = 1.0 - KNEE
    above = np.minimum(np.maximum(light, KNEE), peak)
    over = (above - KNEE) * (1 / span)  # the highlight, in units of the room left above the knee
    white = (peak - KNEE) / span
    curve = KNEE + span * over * (1 + over * (1 / white ** 2)) / (1 + over)
    return curve / np.maximum(light, KNEE)


@functools.cache
def _signal_to_light(trc: int) -> np.ndarray:
    """16-bit signal code -> linear light: PQ's display light / 203 cd/m2, HLG's scene light (0..1, before the
    OOTF scales it)."""
    signal = np.arange(65536, dtype=np.float64) / 65535
    if trc == PQ:  # SMPTE ST 2084's EOTF, in cd/m2
        m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
        p = signal ** (1 / m2)
        nits = 10000 * (np.maximum(p - c1, 0) / (c2 - c3 * p)) ** (1 / m1)
        return (nits / REFERENCE_WHITE_NITS).astype(np.float32)
    a, b, c = 0.17883277, 0.28466892, 0.55991073  # BT.2100's inverse HLG OETF
    low = signal ** 2 / 3
    high = (np.exp((np.maximum(signal, 0.5) - c) / a) + b) / 12
    return np.where(signal <= 0.5, low, high).astype(np.float32)


@functools.cache
def _light_to_sdr() -> np.ndarray:
    """16-bit linear light (0..1) -> 8-bit code for a BT.1886 display (gamma 2.4), the SDR the output is tagged."""
    return np.rint(255 * (np.arange(65536) / 65535) ** (1 / 2.4)).astype(np.uint8)
