"""The interface every backend implements."""

from __future__ import annotations

import abc
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from rtstyle.engine.memory import MemoryGuard
from rtstyle.engine.tiling import BORDER_MARGIN, TILE_OVERLAP, stylize_tiled, tile_count
from rtstyle.errors import RtstyleError

# Frames larger than this are refused with a clear message rather than exhausting memory
# (8K UHD is 7680x4320 = 33 Mpx; allow it, refuse anything much bigger).
MAX_FRAME_PIXELS = 8192 * 8192


def cancel_model_runs() -> None:
    """End the model runs in progress, for a stop (Ctrl-C): onnxruntime's raise RunCancelled at once
    (`onnx_backend.cancel_runs`); PyTorch's cannot be ended and are waited for. onnxruntime is not imported for this
    when nothing loaded it."""
    onnx_backend = sys.modules.get("rtstyle.engine.onnx_backend")
    if onnx_backend is not None:
        onnx_backend.cancel_runs()


class RunCancelled(Exception):
    """A frame's run was stopped by `Stylizer.cancel()` (the webcam switching styles, a stop): it has no result."""


# Every cancel() is stamped with the next number of one count, under one lock with the look each frame takes as it
# starts (`Stylizer._begin_run`). A frame is ended by its stylizer's cancels stamped after the moment it was decided
# on: its start, or earlier where its caller says so (`decided_at`). The webcam decides on a frame's style, then
# starts the frame: a key pressed between the two was undone when the frame started and cleared the stop (that
# frame of the old style ran to its end), yet clearing is needed, or a cancel that came after a frame ended would
# end the next one, even the next time that style is picked.
_cancel_lock = threading.Lock()
_cancels_stamped = 0
_decided_at: ContextVar[int | None] = ContextVar("rtstyle_frames_decided_at", default=None)


def cancel_stamp() -> int:
    """Now, on the count cancels are stamped with: for `decided_at`."""
    with _cancel_lock:
        return _cancels_stamped


@contextmanager
def decided_at(stamp: int) -> Iterator[None]:
    """The frames stylized on this thread within were decided on at `stamp` (`cancel_stamp`): a cancel() of their
    stylizer stamped after it ends them, also one that came before the frame started (it is then not run)."""
    token = _decided_at.set(stamp)
    try:
        yield
    finally:
        _decided_at.reset(token)


class Stylizer(abc.ABC):
    """Stylizes uint8 HxWx3 BGR frames (OpenCV layout) into frames of the same size and layout."""

    #: A short human description of what runs, e.g. "onnxruntime CPUExecutionProvider fp32".
    description: str = ""
    style_name: str = ""
    #: Set by backends running on the CPU: frames too large for memory are stylized in tiles, or refused.
    memory_guard: MemoryGuard | None = None
    #: Where the stylizer tells the user about a choice it made (tiling a large photo); commands set it.
    notify: Callable[[str], None] = staticmethod(lambda line: None)
    #: Mirrored picture around each frame, against the faded edge (`BORDER_MARGIN`); the webcam sets less.
    border_margin: int = BORDER_MARGIN
    #: The stamp of its last cancel() (0: none yet): see `decided_at`.
    _cancelled_at: int = 0

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        check_frame(frame)
        self._begin_run()
        height, width = frame.shape[:2]
        margin = self.border_margin
        padded = with_border_margin(frame, margin)
        guard = self.memory_guard
        tile = None
        if guard is not None:
            first_of_its_size = not guard.decided(height, width, margin)
            tile = guard.tile_for(height, width, margin)  # tiles of the frame with its margin
            if tile is not None and first_of_its_size:  # said once per size, not once per frame of a video
                whole = guard.largest_side(height, width, guard.budget() or 0, margin)
                count = tile_count(padded.shape[0], padded.shape[1], tile, TILE_OVERLAP)
                self.notify(f"{width}x{height} does not fit in memory at once: stylizing it in {count} overlapping "
                            f"tiles of up to {tile} px (--max-size {whole} would stylize it whole)")
        out = self._stylize(padded) if tile is None else stylize_tiled(self._stylize, padded, tile, TILE_OVERLAP)
        return without_border_margin(out, margin)

    @abc.abstractmethod
    def _stylize(self, frame: np.ndarray) -> np.ndarray:
        """Stylize one validated frame."""

    def stylize_batch(self, frames: np.ndarray) -> np.ndarray:
        """N frames of one size (N x H x W x 3); backends that can run a batch at once override this."""
        return np.stack([self(frame) for frame in frames])

    def _stylize_batch_at_once(self, frames: np.ndarray, run: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """`stylize_batch` for a backend whose `run` takes N network inputs of one size at once."""
        frames = check_batch(frames)
        self._begin_run()
        margin = self.border_margin
        if self.memory_guard is not None:  # a batch is never tiled: it fits whole or is refused
            self.memory_guard.check(frames.shape[1], frames.shape[2], margin, count=len(frames))
        return without_border_margin(run(with_border_margin(frames, margin)), margin)

    def cancel(self) -> None:
        """Stop the frame being stylized now, from another thread (it raises RunCancelled), and one decided on before
        this that has not started yet (`decided_at`); a backend that cannot end a run leaves it to finish."""
        global _cancels_stamped
        with _cancel_lock:
            _cancels_stamped += 1
            self._cancelled_at = _cancels_stamped
            self._end_run()

    def _begin_run(self) -> None:
        """As a frame or batch starts: RunCancelled if its stylizer was cancelled since it was decided on, else an
        earlier cancel() is not this frame's and its stop is cleared."""
        with _cancel_lock:
            decided = _decided_at.get()
            if decided is not None and self._cancelled_at > decided:
                raise RunCancelled(f"{self.style_name}: the frame was cancelled before it started")
            self._clear_end()

    def _end_run(self) -> None:  # noqa: B027 - optional hook
        """End the run in progress (called by cancel(), under the stamps' lock: at once, no waiting)."""

    def _clear_end(self) -> None:  # noqa: B027 - optional hook
        """Let the next run go on after an `_end_run` (called as a frame starts, under the stamps' lock)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release device resources."""

    def __enter__(self) -> Stylizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def with_border_margin(frames: np.ndarray, m: int) -> np.ndarray:
    """A frame (HxWx3) or a batch (NxHxWx3) with `m` px of mirrored picture on every side."""
    if m == 0:
        return frames
    import cv2  # here, not at the top: the CLI's option lists import this module, and a Tab must not load OpenCV

    if frames.ndim == 3:
        return cv2.copyMakeBorder(frames, m, m, m, m, cv2.BORDER_REFLECT_101)
    return np.stack([cv2.copyMakeBorder(frame, m, m, m, m, cv2.BORDER_REFLECT_101) for frame in frames])


def without_border_margin(frames: np.ndarray, m: int) -> np.ndarray:
    """What `with_border_margin` added, cropped off again (a contiguous array, as the callers write it out)."""
    if m == 0:
        return frames
    return np.ascontiguousarray(frames[..., m:-m, m:-m, :])


def check_frame(frame: np.ndarray) -> None:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        raise RtstyleError(f"expected a uint8 HxWx3 BGR frame, got {dtype} with shape {shape}")
    height, width = frame.shape[:2]
    if height == 0 or width == 0:
        raise RtstyleError("cannot stylize an empty frame")
    if height * width > MAX_FRAME_PIXELS:
        raise RtstyleError(
            f"frame of {width}x{height} is too large (limit {MAX_FRAME_PIXELS // 1_000_000} Mpx): use --max-size to downscale"
        )


def check_batch(frames: np.ndarray) -> np.ndarray:
    if isinstance(frames, (list, tuple)):
        if not frames:
            raise RtstyleError("cannot stylize an empty batch")
        if len({f.shape for f in frames}) != 1:
            raise RtstyleError("all frames of a batch must have the same size")
        frames = np.stack(frames)
    if not isinstance(frames, np.ndarray) or frames.ndim != 4:
        raise RtstyleError("expected a batch of frames: a uint8 N x H x W x 3 array")
    if len(frames) == 0:  # an empty list is refused above; an empty array reached the margin's np.stack
        raise RtstyleError("cannot stylize an empty batch")
    for frame in frames[:1]:
        check_frame(frame)
    return frames
