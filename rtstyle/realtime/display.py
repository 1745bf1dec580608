"""The OpenCV HighGUI window (main thread only: GUI toolkits require it)."""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.io.unicode_names import drawable


WEBCAM_ADVICE = "use --no-display with --frames N or --seconds S, and --record out.mp4 to keep the result"


def load_opencv_before_pyav() -> None:
    """Call before anything imports PyAV where a window may open. PyAV's wheels bundle their own libxcb: loaded
    first, OpenCV's Qt window plugin links against it and livelocks at its first window, unkillable at 100% CPU
    (PyAV-Org/PyAV#978 and #1050; reproduced here under Xvfb with `import av, cv2; cv2.namedWindow("x")`)."""
    import cv2  # noqa: F401


def check_display_available(advice: str = WEBCAM_ADVICE) -> None:
    """Qt aborts the whole process when there is no display; say so in one line instead (with `advice`)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                                 or os.environ.get("QT_QPA_PLATFORM")):
        raise RtstyleError(f"no display to open a window on ($DISPLAY is not set): {advice}")


class Window:
    def __init__(self, title: str = "rtstyle", fullscreen: bool = False) -> None:
        check_display_available()
        self.title = title
        # GUI_NORMAL: no Qt toolbar (its zoom/pan buttons would compete with our hotkeys).
        cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        self._shown = False
        self._fullscreen = fullscreen  # set once the window is on screen: before that, the first show undoes it

    def show(self, image: np.ndarray) -> None:
        first = not self._shown
        if first:
            # A resizable window opens small: fit it to the first frame, then leave its size to the user
            # (other views are letterboxed into it; resizing later would fight fullscreen and manual sizes).
            # This is also the size that leaving fullscreen returns to.
            cv2.resizeWindow(self.title, image.shape[1], image.shape[0])
        cv2.imshow(self.title, image)
        self._shown = True
        if first and self._fullscreen:
            self.set_fullscreen(True)

    def set_title(self, text: str) -> None:
        """The title bar's text (the window keeps its name for HighGUI)."""
        cv2.setWindowTitle(self.title, drawable(text))  # a style file's name that is not UTF-8 crashed OpenCV

    def poll_key(self, delay_ms: int = 1) -> int:
        """Process window events (this is also what paints the frame); the key pressed or -1."""
        return cv2.waitKeyEx(delay_ms)

    def closed(self) -> bool:
        """True once the user closed the window with its close button."""
        if not self._shown:
            return False
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def set_fullscreen(self, on: bool) -> None:
        self._fullscreen = on
        if self._shown:
            cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN,
                                  cv2.WINDOW_FULLSCREEN if on else cv2.WINDOW_NORMAL)

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass
