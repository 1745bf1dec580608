"""Webcam window hotkeys: one table, used by the key handler, `rtstyle webcam --help` and the on-screen help."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Action(Enum):
    NEXT_STYLE = "next style"
    PREVIOUS_STYLE = "previous style"
    PICK_STYLE = "pick style 1..9"
    LESS_STYLE = "less style (strength -10%)"
    MORE_STYLE = "more style (strength +10%)"
    KEEP_COLORS = "keep the camera's colours (toggle)"
    FINER_STROKES = "finer strokes (stroke size down a step)"
    BOLDER_STROKES = "bolder strokes (stroke size up a step)"
    ORIGINAL = "show the original (toggle)"
    SIDE_BY_SIDE = "original and stylized side by side (toggle)"
    SNAPSHOT = "save a snapshot (PNG)"
    RECORD_CLIP = "record a clip (MP4; r again stops)"
    MIRROR = "mirror (toggle)"
    FULLSCREEN = "fullscreen (toggle)"
    OVERLAY = "fps / latency overlay (toggle)"
    HELP = "this help (toggle)"
    QUIT = "quit"


@dataclass(frozen=True)
class Hotkey:
    label: str  # as shown to the user
    action: Action
    codes: tuple[int, ...]  # what cv2.waitKeyEx returns


# Arrow keys differ per HighGUI backend: X11 keysyms (GTK/Qt on Linux), Windows virtual keys, macOS.
_LEFT = (65361, 2424832, 63234)
_RIGHT = (65363, 2555904, 63235)

HOTKEYS: tuple[Hotkey, ...] = (
    Hotkey("n, space, Right", Action.NEXT_STYLE, (ord("n"), ord(" "), *_RIGHT)),
    Hotkey("p, Left", Action.PREVIOUS_STYLE, (ord("p"), *_LEFT)),
    Hotkey("1..9", Action.PICK_STYLE, tuple(ord(str(d)) for d in range(1, 10))),
    Hotkey("-, [", Action.LESS_STYLE, (ord("-"), ord("["))),
    Hotkey("+, ]", Action.MORE_STYLE, (ord("+"), ord("="), ord("]"))),  # = is + without shift
    Hotkey("c", Action.KEEP_COLORS, (ord("c"),)),
    Hotkey("<", Action.FINER_STROKES, (ord("<"), ord(","))),  # , and . are < and > without shift
    Hotkey(">", Action.BOLDER_STROKES, (ord(">"), ord("."))),
    Hotkey("o", Action.ORIGINAL, (ord("o"),)),
    Hotkey("b", Action.SIDE_BY_SIDE, (ord("b"),)),
    Hotkey("s", Action.SNAPSHOT, (ord("s"),)),
    Hotkey("r", Action.RECORD_CLIP, (ord("r"),)),
    Hotkey("m", Action.MIRROR, (ord("m"),)),
    Hotkey("f", Action.FULLSCREEN, (ord("f"),)),
    Hotkey("i", Action.OVERLAY, (ord("i"),)),
    Hotkey("h", Action.HELP, (ord("h"), ord("?"))),
    Hotkey("q, Esc", Action.QUIT, (ord("q"), 27)),
)

_BY_CODE = {code: key.action for key in HOTKEYS for code in key.codes}


def action_for_key(code: int) -> tuple[Action, int] | None:
    """(action, argument) for a key code from cv2.waitKeyEx, or None; the argument is the style number for 1..9."""
    if code < 0:
        return None
    action = _BY_CODE.get(code)
    if action is None and code <= 0xFFFF and not _is_special_key(code):
        action = _BY_CODE.get(code & 0xFF)  # some backends set modifier bits above the ASCII code
        code &= 0xFF
    if action is None:
        return None
    return action, (code - ord("0") if action is Action.PICK_STYLE else 0)


def _is_special_key(code: int) -> bool:
    """X11 keysyms of function and editing keys (0xFF00..0xFFFF) and macOS function keys (0xF700..0xF8FF):
    their low byte is not a character (X11 Insert 0xFF63 would read as 'c')."""
    return code >= 0xFF00 or 0xF700 <= code <= 0xF8FF


def help_lines(separator: str | None = None) -> list[str]:
    """"key  description" lines; with a separator (e.g. a tab) instead of padding, for drawing in columns."""
    width = max(len(k.label) for k in HOTKEYS)
    if separator is not None:
        return [f"{k.label}{separator}{k.action.value}" for k in HOTKEYS]
    return [f"{k.label.ljust(width)}  {k.action.value}" for k in HOTKEYS]
