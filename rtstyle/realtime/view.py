"""What the webcam window shows: the view state, how hotkeys change it, and composing the frame (pure)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np

from rtstyle.realtime.hotkeys import Action, help_lines
from rtstyle.realtime.look import Look
from rtstyle.realtime.overlay import (draw_panel, draw_recording_badge, letterbox, panel_bottom, side_by_side,
                                     stats_lines)

HELP_SECONDS = 6.0  # the key list is shown this long at start (and any time with h)
MIN_SHOWN_SIZE = 640  # the window's smallest long side (see compose)


class ViewMode(Enum):
    STYLIZED = "stylized"
    ORIGINAL = "original"
    SIDE_BY_SIDE = "side by side"


@dataclass(frozen=True)
class ViewState:
    mode: ViewMode = ViewMode.STYLIZED
    style_index: int = 0
    mirror: bool = False
    overlay: bool = True
    help_until: float = HELP_SECONDS  # seconds since start; `help_pinned` keeps it up
    help_pinned: bool = False
    fullscreen: bool = False
    look: Look = Look()


def apply_action(state: ViewState, action: Action, argument: int, *, style_count: int, now: float) -> ViewState:
    """The state after a hotkey; snapshot and quit do not change the view (the loop performs them)."""
    replace = dataclasses.replace
    if action is Action.NEXT_STYLE:
        return replace(state, style_index=(state.style_index + 1) % style_count)
    if action is Action.PREVIOUS_STYLE:
        return replace(state, style_index=(state.style_index - 1) % style_count)
    if action is Action.PICK_STYLE:
        return replace(state, style_index=argument - 1) if 1 <= argument <= style_count else state
    if action is Action.LESS_STYLE:
        return replace(state, look=state.look.stepped(-1))
    if action is Action.MORE_STYLE:
        return replace(state, look=state.look.stepped(+1))
    if action is Action.FINER_STROKES:
        return replace(state, look=state.look.stroke_stepped(-1))
    if action is Action.BOLDER_STROKES:
        return replace(state, look=state.look.stroke_stepped(+1))
    if action is Action.KEEP_COLORS:
        return replace(state, look=state.look.toggled_colors())
    if action is Action.ORIGINAL:
        return replace(state, mode=ViewMode.STYLIZED if state.mode is ViewMode.ORIGINAL else ViewMode.ORIGINAL)
    if action is Action.SIDE_BY_SIDE:
        return replace(state, mode=ViewMode.STYLIZED if state.mode is ViewMode.SIDE_BY_SIDE else ViewMode.SIDE_BY_SIDE)
    if action is Action.MIRROR:
        return replace(state, mirror=not state.mirror)
    if action is Action.FULLSCREEN:
        return replace(state, fullscreen=not state.fullscreen)
    if action is Action.OVERLAY:
        return replace(state, overlay=not state.overlay)
    if action is Action.HELP:
        showing = state.help_pinned or now < state.help_until
        return replace(state, help_pinned=not showing, help_until=0.0)
    return state


def view_image(state: ViewState, original: np.ndarray, stylized: np.ndarray, *, fit: bool = False) -> np.ndarray:
    """The picture for the current view mode, without any text (a snapshot saves it with fit=False).

    `fit`: keep the frame size (side by side is letterboxed), so the window never changes shape.
    """
    if state.mode is ViewMode.ORIGINAL:
        return original
    if state.mode is ViewMode.SIDE_BY_SIDE:
        both = side_by_side(original, stylized)
        return letterbox(both, original.shape[1], original.shape[0]) if fit else both
    return stylized


def compose(state: ViewState, original: np.ndarray, stylized: np.ndarray, *, now: float, fps: float,
            latency_ms: float, style_names: list[str], status: str = "", engine: str = "",
            min_size: int = 0, recording_seconds: float | None = None) -> np.ndarray:
    """The window's frame: the view plus, as enabled, the stats overlay (`engine`: what runs the model, the
    stylizer's description) and the key list; and while a clip records (`recording_seconds`, its length so far),
    a REC badge, overlay or not.

    `min_size`: a frame whose long side is shorter (320x240) is enlarged to it first: a usable window, and room
    for the stats and the key list in legible text.
    """
    image = view_image(state, original, stylized, fit=True)
    if max(image.shape[:2]) < min_size:
        scale = min_size / max(image.shape[:2])
        image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                           interpolation=cv2.INTER_CUBIC)  # crisp strokes, as --inference-scale
    stats: list[str] = []
    if state.overlay:
        stats = stats_lines(fps, latency_ms, style_names[state.style_index], state.mode.value,
                            index=state.style_index, count=len(style_names), status=status,
                            look="" if state.look.is_plain else state.look.describe(), engine=engine)
    elif status:  # "saved ...", "loading ...": said with the overlay off too, or a key would seem to do nothing
        stats = [status]
    if stats:  # draw_panel copies the frame even with nothing to draw: overlay off is the fastest view
        image = draw_panel(image, stats)
    if state.help_pinned or now < state.help_until:  # below the stats, smaller text if it must
        image = draw_panel(image, ["Keys:", *help_lines("\t")], corner="bottom-left",
                           max_height=image.shape[0] - panel_bottom(image, stats))
    if recording_seconds is not None:  # a copy: `image` may be the stylized frame itself, which is recorded
        image = draw_recording_badge(image, recording_seconds)
    return image
