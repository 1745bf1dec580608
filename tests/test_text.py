"""Words on pictures in a font that has their letters (rtstyle.io.text): file names beyond ASCII on contact sheets."""

import cv2
import numpy as np
import pytest

from rtstyle.io import text
from rtstyle.io.text import font_for, has_letter, put_text, text_size

needs_truetype = pytest.mark.skipif(not text.truetype_available(),
                                    reason="OpenCV before 5 has no TrueType fonts: rtstyle draws ASCII only there")


def drawn(words: str, scale: float = 0.8) -> np.ndarray:
    canvas = np.zeros((60, 400, 3), np.uint8)
    put_text(canvas, words, (5, 40), scale, (255, 255, 255))
    return canvas


def right_edge(canvas: np.ndarray) -> int:
    return int(np.nonzero(canvas.any(axis=(0, 2)))[0].max())


@needs_truetype
def test_accents_and_cyrillic_are_drawn_where_hershey_drew_question_marks():
    assert has_letter("sans", "é") and has_letter("sans", "ж")
    assert not has_letter("sans", "東")  # what a system font is needed for (the next test)
    assert not np.array_equal(drawn("café.jpg"), drawn("caf?.jpg"))
    assert not np.array_equal(drawn("Москва.jpg"), drawn("??????.jpg"))
    assert font_for("café.jpg") == "sans"


@needs_truetype
def test_a_system_font_draws_the_letters_opencvs_own_lacks():
    lacking = [path for path in text.SYSTEM_FONTS if has_letter(path, "東")]
    if not lacking and (text._fontconfig_pick("東") is None or not has_letter(text._fontconfig_pick("東"), "東")):
        pytest.skip("no font with CJK letters on this machine (Debian: fonts-noto-cjk)")
    assert font_for("東京.jpg") != "sans"
    assert not np.array_equal(drawn("東京.jpg"), drawn("??.jpg"))


@needs_truetype
def test_the_measured_width_holds_what_is_drawn_so_labels_fit_their_column():
    for words in ("a_photo_0001.jpg", "café crème.png", "Москва.jpg", "東京タワー.jpg", "WWW"):
        width, height = text_size(words, 0.8)
        assert height == round(0.8 * text.PX_PER_SCALE)
        assert width > 0.7 * len(words) * 0.8 * 10
        assert right_edge(drawn(words)) <= 5 + width + 1, words


def test_without_truetype_hershey_draws_as_before(monkeypatch):
    monkeypatch.setattr(text, "truetype_available", lambda: False)
    expected = np.zeros((60, 400, 3), np.uint8)
    cv2.putText(expected, "x_candy.jpg", (5, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 1, cv2.LINE_AA)
    assert np.array_equal(drawn("x_candy.jpg"), expected)
    assert text_size("x_candy.jpg", 0.8) == cv2.getTextSize("x_candy.jpg", cv2.FONT_HERSHEY_SIMPLEX, 0.8, 1)[0]


def test_a_name_that_is_not_utf8_is_drawn_not_crashed_on():
    name = b"caf\xe9.jpg".decode("utf-8", "surrogateescape")  # a Latin-1 name, as Python holds it
    assert text_size(name, 0.8)[0] > 0
    assert drawn(name).any()
