"""The optical flow methods rtstyle.flow offers, named apart from it: `rtstyle eval --flow` lists them (in its
--help and its shell completion) without loading OpenCV."""

from __future__ import annotations

from typing import Literal

FlowMethod = Literal["dis", "farneback"]
FLOW_METHODS: tuple[str, ...] = ("dis", "farneback")
