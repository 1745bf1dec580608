"""Pure drawing and state of the webcam window (no screen needed)."""

from __future__ import annotations

import numpy as np
import pytest

from rtstyle.realtime.hotkeys import HOTKEYS, Action, action_for_key, help_lines
from rtstyle.realtime.overlay import draw_panel, side_by_side
from rtstyle.realtime.view import HELP_SECONDS, MIN_SHOWN_SIZE, ViewMode, ViewState, apply_action, compose, view_image


@pytest.fixture
def frames():
    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (180, 320, 3), dtype=np.uint8)
    return original, 255 - original


def test_side_by_side_puts_both_frames_next_to_each_other(frames):
    original, stylized = frames
    both = side_by_side(original, stylized)
    assert both.shape == (180, 640, 3)
    assert np.array_equal(both[:, :320], original) and np.array_equal(both[:, 320:], stylized)
    assert side_by_side(original, stylized, max_width=320).shape == (90, 320, 3)


def test_panel_draws_in_its_corner_and_leaves_the_input_alone(frames):
    original, _ = frames
    before = original.copy()
    top = draw_panel(original, ["12.0 fps   latency 80 ms"])
    assert np.array_equal(original, before)
    changed = np.any(top != original, axis=2)
    assert changed[5:15, 5:100].mean() > 0.9  # darkened box with text at the top left
    assert not changed[90:, :].any() and not changed[:, 260:].any()
    bottom = np.any(draw_panel(original, ["x", "y"], corner="bottom-left") != original, axis=2)
    assert bottom[-30:, :40].any() and not bottom[:100].any()


def test_panel_darkens_as_float_maths_would_and_measures_each_text_once(frames):
    """The box is darkened through a table and text sizes are remembered (the overlay's per-frame cost); the
    pixels are those of the plain float product and of measuring every line afresh."""
    from rtstyle.io.text import text_size
    from rtstyle.realtime import overlay

    original, _ = frames
    overlay._text_size.cache_clear()
    shown = draw_panel(original, ["Keys:", *help_lines("\t")], corner="bottom-left", alpha=0.6)
    misses = overlay._text_size.cache_info().misses
    assert misses > 0
    assert np.array_equal(draw_panel(original, ["Keys:", *help_lines("\t")], corner="bottom-left", alpha=0.6), shown)
    assert overlay._text_size.cache_info().misses == misses  # the second frame measured nothing
    assert overlay._text_size("h: keys", 0.35, 1) == text_size("h: keys", 0.35, 1)
    blank = draw_panel(original, ["            "] * 4, alpha=0.6)  # spaces: a darkened box without letters
    box = blank != original
    assert box.sum() > 1000
    assert np.array_equal(blank[box], (original[box] * (1 - 0.6)).astype(np.uint8))


def test_compose_shows_overlay_and_help_as_toggled(frames):
    original, stylized = frames
    kw = dict(fps=10.0, latency_ms=50.0, style_names=["a", "b"])
    plain = compose(ViewState(overlay=False), original, stylized, now=HELP_SECONDS + 1, **kw)
    assert np.array_equal(plain, stylized)
    with_help = compose(ViewState(overlay=False), original, stylized, now=0.0, **kw)
    assert np.any(with_help[-20:] != stylized[-20:])  # the key list at the bottom at start
    overlay = compose(ViewState(), original, stylized, now=HELP_SECONDS + 1, **kw)
    assert np.any(overlay[:30] != stylized[:30]) and np.array_equal(overlay[-20:], stylized[-20:])
    assert np.array_equal(view_image(ViewState(mode=ViewMode.ORIGINAL), original, stylized), original)
    sbs = ViewState(mode=ViewMode.SIDE_BY_SIDE)
    assert view_image(sbs, original, stylized).shape == (180, 640, 3)  # snapshots: full size
    fitted = view_image(sbs, original, stylized, fit=True)  # window: same shape, letterboxed
    assert fitted.shape == (180, 320, 3) and not fitted[:44].any() and not fitted[-44:].any()


def test_actions_change_the_view_state():
    s = ViewState()
    step = lambda st, a, arg=0: apply_action(st, a, arg, style_count=3, now=100.0)  # noqa: E731
    assert step(s, Action.NEXT_STYLE).style_index == 1
    assert step(s, Action.PREVIOUS_STYLE).style_index == 2  # wraps around
    assert step(s, Action.PICK_STYLE, 3).style_index == 2
    assert step(s, Action.PICK_STYLE, 7) == s  # no 7th style: ignored
    assert step(s, Action.ORIGINAL).mode is ViewMode.ORIGINAL
    assert step(step(s, Action.ORIGINAL), Action.ORIGINAL).mode is ViewMode.STYLIZED
    assert step(step(s, Action.ORIGINAL), Action.SIDE_BY_SIDE).mode is ViewMode.SIDE_BY_SIDE
    assert step(s, Action.MIRROR).mirror and step(s, Action.FULLSCREEN).fullscreen
    assert not step(s, Action.OVERLAY).overlay
    assert step(s, Action.HELP).help_pinned  # help had timed out at t=100: h pins it
    assert not apply_action(s, Action.HELP, 0, style_count=3, now=1.0).help_pinned  # shown at start: h hides
    assert step(step(s, Action.LESS_STYLE), Action.LESS_STYLE).look.strength == 0.8
    assert step(s, Action.MORE_STYLE).look.strength == 1.0  # already full
    assert step(s, Action.KEEP_COLORS).look.keep_colors and not step(step(s, Action.KEEP_COLORS), Action.KEEP_COLORS).look.keep_colors
    assert step(step(s, Action.BOLDER_STROKES), Action.BOLDER_STROKES).look.stroke_size == 2.0
    assert step(s, Action.FINER_STROKES).look.stroke_size == 0.7
    assert step(s, Action.FINER_STROKES).look.strength == 1.0  # the rest of the look stays


def test_stroke_steps_land_on_the_ladder_and_stop_at_its_ends():
    from rtstyle.realtime.look import STROKE_STEPS, Look

    assert Look(stroke_size=1.2).stroke_stepped(+1).stroke_size == 1.4  # from --stroke-size 1.2: the next one up
    assert Look(stroke_size=1.2).stroke_stepped(-1).stroke_size == 1.0
    assert Look(stroke_size=4.0).stroke_stepped(+1).stroke_size == 4.0
    assert Look(stroke_size=0.25).stroke_stepped(-1).stroke_size == 0.25  # below the ladder: not sent up by "finer"
    assert Look().stroke_stepped(-10).stroke_size == STROKE_STEPS[0]
    assert Look().stroke_stepped(+2).stroke_stepped(-2) == Look()


def test_overlay_shows_the_look_only_when_it_is_not_plain(frames):
    from rtstyle.realtime.look import Look
    from rtstyle.realtime.overlay import stats_lines

    assert not any("strength" in line for line in stats_lines(9.0, 50.0, "a", "stylized", index=0, count=1))
    lines = stats_lines(9.0, 50.0, "a", "stylized", index=0, count=1, look=Look(0.6, True).describe())
    assert "strength 60%, original colours" in lines
    original, stylized = frames
    kw = dict(now=HELP_SECONDS + 1, fps=10.0, latency_ms=50.0, style_names=["a"])
    taller = np.any(compose(ViewState(look=Look(0.6)), original, stylized, **kw) != stylized, axis=2)
    plain = np.any(compose(ViewState(), original, stylized, **kw) != stylized, axis=2)
    assert taller.any(axis=1).sum() > plain.any(axis=1).sum()  # one more line in the panel


def test_overlay_says_what_runs_the_model_without_a_wider_panel(frames):
    from rtstyle.realtime.overlay import short_engine, stats_lines

    assert short_engine("onnxruntime CPUExecutionProvider fp32") == "onnxruntime CPU fp32"
    assert short_engine("onnxruntime TensorrtExecutionProvider fp16") == "onnxruntime TensorRT fp16"
    assert short_engine("torch eager cuda fp16") == "torch eager cuda fp16"
    lines = stats_lines(9.0, 50.0, "mosaic-fast", "stylized", index=0, count=9,
                        engine="onnxruntime CUDAExecutionProvider fp16")
    assert "on onnxruntime CUDA fp16   h: keys" in lines
    assert len(lines) == len(stats_lines(9.0, 50.0, "mosaic-fast", "stylized", index=0, count=9))
    original, stylized = frames
    kw = dict(now=HELP_SECONDS + 1, fps=10.0, latency_ms=50.0, style_names=["a"])
    with_engine = compose(ViewState(), original, stylized, engine="onnxruntime CPUExecutionProvider fp32", **kw)
    assert not np.array_equal(with_engine, compose(ViewState(), original, stylized, **kw))


def test_a_message_shows_with_the_overlay_off(frames):
    # With the stats off (i), a snapshot's "saved ..." and a style's "loading ..." were not shown at all.
    original, stylized = frames
    kw = dict(now=HELP_SECONDS + 1, fps=10.0, latency_ms=50.0, style_names=["a"])
    off = ViewState(overlay=False)
    assert np.array_equal(compose(off, original, stylized, **kw), stylized)
    with_note = np.any(compose(off, original, stylized, status="saved x.png", **kw) != stylized, axis=2)
    assert with_note[:40].any() and not with_note[60:].any()  # one line, at the top


@pytest.mark.parametrize("code, expected", [
    (ord("n"), (Action.NEXT_STYLE, 0)), (ord(" "), (Action.NEXT_STYLE, 0)), (65363, (Action.NEXT_STYLE, 0)),
    (65361, (Action.PREVIOUS_STYLE, 0)), (ord("4"), (Action.PICK_STYLE, 4)), (27, (Action.QUIT, 0)),
    (ord("q"), (Action.QUIT, 0)), (ord("s"), (Action.SNAPSHOT, 0)), (-1, None), (ord("z"), None),
    (ord("-"), (Action.LESS_STYLE, 0)), (ord("]"), (Action.MORE_STYLE, 0)), (ord("="), (Action.MORE_STYLE, 0)),
    (ord("c"), (Action.KEEP_COLORS, 0)), (0x100 | ord("c"), (Action.KEEP_COLORS, 0)),
    (ord(","), (Action.FINER_STROKES, 0)), (ord("<"), (Action.FINER_STROKES, 0)),
    (ord("."), (Action.BOLDER_STROKES, 0)), (ord(">"), (Action.BOLDER_STROKES, 0)),
    (0xFF63, None), (0xF72D, None),  # X11 Insert and macOS PageDown: not 'c' and '-' by their low byte
])
def test_key_codes_map_to_actions(code, expected):
    assert action_for_key(code) == expected


def test_every_action_has_a_key_and_a_help_line():
    assert {k.action for k in HOTKEYS} == set(Action)
    assert len(help_lines()) == len(HOTKEYS)


def test_style_playlist_starts_with_the_requested_style(small_style, no_builtin_styles):
    import os
    import shutil
    from pathlib import Path

    from rtstyle.errors import RtstyleError
    from rtstyle.realtime.playlist import cpu_variant, style_playlist, with_fast_variants

    styles_dir = Path(os.environ["RTSTYLE_STYLES_DIR"])
    styles_dir.mkdir(parents=True, exist_ok=True)
    for name in ("alpha", "beta"):
        shutil.copy(small_style, styles_dir / f"{name}.safetensors")
    assert style_playlist("beta") == ["beta", "alpha"]
    assert style_playlist(str(small_style)) == [str(small_style), "alpha", "beta"]
    assert style_playlist(None)[0] == "alpha"  # no mosaic installed: the first available style
    shutil.copy(small_style, styles_dir / "mosaic.safetensors")
    assert style_playlist(None) == ["mosaic", "alpha", "beta"]
    shutil.copy(small_style, styles_dir / "alpha-fast.safetensors")  # an alternate of alpha, not another style
    shutil.copy(small_style, styles_dir / "gamma-fast.safetensors")  # no gamma: a style of its own
    assert style_playlist(None) == ["mosaic", "alpha", "beta", "gamma-fast"]
    assert style_playlist("alpha-fast") == ["alpha-fast", "alpha", "beta", "gamma-fast", "mosaic"]
    # Asked for by another spelling, the style is listed by its own name: `Alpha` got no alpha-fast on a CPU.
    assert style_playlist("Alpha") == ["alpha", "beta", "gamma-fast", "mosaic"]
    assert with_fast_variants(style_playlist("Alpha"), on_gpu=False)[0][0] == "alpha-fast"
    assert cpu_variant("Alpha") == cpu_variant("alpha") == "alpha-fast"  # what `video` offers as faster
    assert cpu_variant("beta") == "beta" and cpu_variant(str(small_style)) == str(small_style)
    with pytest.raises(RtstyleError, match="unknown style"):
        style_playlist("nosuchstyle")


def test_a_style_list_is_the_playlist_in_its_order():
    from rtstyle.errors import RtstyleError
    from rtstyle.realtime.playlist import style_playlist, with_fast_variants

    assert style_playlist("udnie,candy") == ["udnie", "candy"]
    assert style_playlist("Candy, candy,udnie,") == ["candy", "udnie"]  # own names, once each
    assert with_fast_variants(style_playlist("udnie,candy"), on_gpu=False)[0] == ["udnie-fast", "candy-fast"]
    everything = style_playlist("all")
    assert len(everything) == 9 and not any(name.endswith("-fast") for name in everything)
    assert style_playlist("wave,all")[:2] == ["wave", everything[0]] and len(style_playlist("wave,all")) == 9
    with pytest.raises(RtstyleError, match="did you mean candy"):
        style_playlist("udnie,cnady")


@pytest.mark.parametrize("width, height, shown_size", [(640, 360, (640, 360)), (320, 180, (640, 360)),
                                                      (320, 240, (640, 480))])
def test_the_key_list_fits_below_the_stats_at_start(width, height, shown_size):
    # A frame smaller than 640 px is enlarged on screen: at 320x180 the key list covered the stats and the picture.
    import cv2

    from rtstyle.realtime.look import Look

    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    shown = compose(ViewState(look=Look(0.7, True)), frame, frame, now=0.0, fps=10.0, latency_ms=50.0,
                    style_names=["a"], min_size=MIN_SHOWN_SIZE)
    assert (shown.shape[1], shown.shape[0]) == shown_size
    frame = cv2.resize(frame, shown_size, interpolation=cv2.INTER_CUBIC)
    rows = np.any(shown[:, :60] != frame[:, :60], axis=(1, 2))  # the left edge, where both panels are
    first, last = np.flatnonzero(rows)[[0, -1]]
    assert first < 20 and last > shown.shape[0] - 20  # the stats at the top, the keys down to the bottom
    assert not rows[first:last].all()  # with untouched rows between them: the panels do not overlap


@pytest.mark.parametrize("fullscreen", [True, False])
def test_fullscreen_is_set_once_the_window_is_on_screen(monkeypatch, fullscreen):
    # --fullscreen set before the first frame was undone by it (Qt sizes the window to the frame when it first
    # appears), so the window opened small and the first f "left" fullscreen. The suite has no screen: this
    # records the HighGUI calls in order.
    import cv2

    from rtstyle.realtime import display

    calls: list[tuple[str, object]] = []
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(display.cv2, "namedWindow", lambda *a: calls.append(("namedWindow", None)))
    monkeypatch.setattr(display.cv2, "resizeWindow", lambda *a: calls.append(("resizeWindow", a[1:])))
    monkeypatch.setattr(display.cv2, "imshow", lambda *a: calls.append(("imshow", None)))
    monkeypatch.setattr(display.cv2, "setWindowProperty", lambda name, prop, value: calls.append(
        ("fullscreen", value == cv2.WINDOW_FULLSCREEN)))
    window = display.Window("t", fullscreen=fullscreen)
    window.show(np.zeros((90, 160, 3), np.uint8))
    window.show(np.zeros((90, 160, 3), np.uint8))
    expected = [("namedWindow", None), ("resizeWindow", (160, 90)), ("imshow", None)]
    assert calls == expected + [("fullscreen", True)] * fullscreen + [("imshow", None)]
    window.set_fullscreen(not fullscreen)
    assert calls[-1] == ("fullscreen", not fullscreen)


@pytest.mark.parametrize(("style", "shown"), [("my.v2", "my.v2"), ("mosaic-fast", "mosaic-fast"),
                                              ("/styles/my.v2.safetensors", "my.v2"), ("m640.onnx", "m640")])
def test_a_style_keeps_its_whole_name_in_the_title_and_snapshot_names(tmp_path, style, shown):
    from datetime import datetime

    from rtstyle.realtime.webcam import snapshot_path, style_title

    assert style_title(style) == shown  # 'my.v2' is a valid style name: Path.stem cut it to 'my'
    assert snapshot_path(tmp_path, style, datetime(2026, 1, 2, 3, 4, 5)).name.startswith(f"rtstyle-{shown}-2026")
