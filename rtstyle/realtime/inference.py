"""The live loop's inference stage: newest captured frame in, newest stylized frame out, on its own thread.

Running the model off the main thread keeps the window responsive (hotkeys, repaint) however slow the model
is, and lets capture, inference and display overlap. A style switch takes the new style's stylizer at the next
frame when it was prepared in the background (`rtstyle.realtime.prepare`: the styles `n` and `p` pick); any other
is loaded here, so the window never freezes while a new style's ONNX model is built.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from rtstyle.engine.base import RunCancelled, cancel_model_runs, cancel_stamp, decided_at
from rtstyle.errors import RtstyleError
from rtstyle.realtime.capture import LatestFrameCapture
from rtstyle.realtime.look import Look
from rtstyle.realtime.prepare import BuildFiles, Preparer, StyleCache, close_stylizer, prepares_ahead
from rtstyle.realtime.processing import FrameProcessor, PostFilter, StylizeFn
from rtstyle.realtime.slot import LatestSlot


@dataclass
class LiveResult:
    original: np.ndarray  # the captured frame (mirrored when mirror is on)
    stylized: np.ndarray
    captured_at: float
    index: int
    style_index: int
    look: Look  # the strength and colours this frame was finished with (the overlay shows them)
    mirrored: bool = False  # made from the mirrored capture (the virtual camera turns it back)
    media_time: float | None = None  # a file's frame: seconds from its first frame, by its timestamps


class InferenceWorker:
    def __init__(self, capture: LatestFrameCapture, styles: list[str], make_stylizer: Callable[[str], StylizeFn], *,
                 inference_scale: float = 1.0, post_filter: PostFilter | None = None, look: Look = Look(),
                 lossless: bool = False, build_files: BuildFiles | None = None) -> None:
        """`build_files` (a style's model files, built before its session is made, at a lower priority) turns on
        preparing the neighbouring styles in the background, where the first style runs on onnxruntime's CPU."""
        self.capture = capture
        self.styles = styles
        self.make_stylizer = make_stylizer
        self.lossless = lossless
        first = make_stylizer(styles[0])  # the first fails loudly, up front
        self.cache = StyleCache(len(styles))
        self.cache.make_current(0, first)
        self.preparer = (Preparer(self.cache, styles, make_stylizer, build_files)
                         if build_files is not None and len(styles) > 1 and prepares_ahead(first) else None)
        self.processor = FrameProcessor(first, inference_scale=inference_scale, post_filter=post_filter,
                                        look=look)  # its look is set by the main thread (hotkeys)
        self.current_index = 0
        self.requested_index = 0  # set by the main thread (hotkeys)
        self.mirror = False  # set by the main thread
        self.status = ""  # e.g. "loading candy...": shown in the overlay
        self._loading: str | None = None  # the style being loaded on this thread now
        self.failure: str | None = None  # a style that could not be loaded, said once by the main thread
        self.results: LatestSlot[LiveResult] = LatestSlot()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtstyle-infer", daemon=True)

    def start(self) -> InferenceWorker:
        self._thread.start()
        if self.preparer is not None:
            self.preparer.start()
        return self

    def request_style(self, index: int) -> None:
        """Switch to style `index` at the next frame (the main thread, for a key). When that style is ready, the
        frame of the old style being stylized now, or about to start, is cancelled: the new style shows one frame
        sooner, instead of after that one (a full network's frame on a CPU: over a second). Never in a lossless run,
        where every frame is kept."""
        running = self.processor.stylize  # before the request: the inference thread may take it at once
        self.requested_index = index
        if index != self.current_index and not self.lossless and self.cache.get(index) is not None:
            cancel = getattr(running, "cancel", None)  # not processor.stylize now: it may run the new style already
            if cancel is not None:
                cancel()

    @property
    def loading(self) -> str | None:
        """The style being loaded or prepared now, if any: it cannot be interrupted."""
        if self._loading is not None:
            return self._loading
        busy = self.preparer.busy if self.preparer is not None else None  # said so: the user did not pick it
        return f"{self.styles[busy]} (prepared for n/p)" if busy is not None else None

    def stop(self, timeout: float = 10) -> None:
        """No new frame or style load from now on; the frame in the model is not wanted: its run is ended (an
        onnxruntime one: seconds for a full network on a CPU), then the thread is waited for up to `timeout`."""
        self._stop.set()
        if self.preparer is not None:
            self.preparer.stop()
        self.results.close()
        cancel_model_runs()
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=min(0.1, max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                return
            if self.loading is None:  # a run that started just after the cancel
                cancel_model_runs()
        if self.preparer is not None:
            self.preparer.join(timeout=max(0.0, deadline - time.monotonic()))

    def wait(self, timeout: float = 10) -> None:
        """Wait for the thread to end after stop(): through a style load in progress, however long (it cannot be
        interrupted, and a process that exits while onnxruntime runs aborts: a C++ exception, exit 134), then up to
        `timeout` seconds."""
        deadline: float | None = None
        while self._thread is not threading.current_thread() and (
                self._thread.is_alive() or (self.preparer is not None and self.preparer.alive)):
            if self.loading is None:
                deadline = deadline or time.monotonic() + timeout
                if time.monotonic() >= deadline:
                    return
            if self._thread.is_alive():
                self._thread.join(timeout=0.1)
            elif self.preparer is not None:
                self.preparer.join(timeout=0.1)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self.capture.slot.get(timeout=0.1)
                if frame is None:
                    if self.capture.slot.closed:
                        break
                    continue
                # Before the request is looked at: a key from now on that cancels this frame's style (request_style
                # sets the request, then cancels) ends the frame, also before it starts; a key before it is seen here.
                decided = cancel_stamp()
                self._switch_style()
                if self._stop.is_set():  # stopped while a style loaded: the frame is not wanted
                    break
                mirror = self.mirror  # read once, as the look: the main thread may change both while this frame runs
                image = cv2.flip(frame.image, 1) if mirror else frame.image
                look = self.processor.look
                try:
                    with decided_at(decided):
                        stylized = self.processor(image, look)
                except RunCancelled:  # request_style() stopped it (the new style takes the next frame), or stop()
                    continue
                self.results.put(LiveResult(image, stylized, frame.captured_at, frame.index, self.current_index, look,
                                            mirror, frame.media_time))
                if self.preparer is not None:
                    height, width = image.shape[:2]
                    w, h = self.processor.model_size(width, height, look)
                    self.preparer.frame_shown((h, w))
                if self.lossless:
                    while not self.results.wait_until_taken(timeout=0.1):
                        if self._stop.is_set() or self.results.closed:
                            return
        except BaseException as exc:  # noqa: BLE001 - re-raised by the main loop
            self.error = exc
        finally:
            self.results.close()

    def _switch_style(self) -> None:
        wanted = self.requested_index
        if wanted == self.current_index:
            return
        if self._stop.is_set():  # a frame left in the closed slot must not start a load the user quit before
            return
        stylizer = self.cache.get(wanted)
        if stylizer is None and self.preparer is not None:
            if self.preparer.busy == wanted:  # being prepared: wait for it, not load it a second time beside it
                self.status = f"loading {self.styles[wanted]}..."
                self.preparer.wait_while_preparing(wanted)
                if self._stop.is_set():
                    return
            stylizer = self.cache.get(wanted)  # also one whose preparation ended since the first look
        if stylizer is None:
            self.status = f"loading {self.styles[wanted]}..."
            self._loading = self.styles[wanted]
            try:
                stylizer = self.make_stylizer(self.styles[wanted])
            except RtstyleError as exc:
                self.status = ""
                self.failure = f"cannot use {self.styles[wanted]}: {exc}"
                self.requested_index = self.current_index
                return
            finally:
                self._loading = None
        retired = self.cache.make_current(wanted, stylizer)  # the styles no longer next to it
        if self.preparer is not None:
            self.preparer.switched(retired)
        else:
            for old in retired:
                close_stylizer(old)
        self.processor.stylize = stylizer
        reset = getattr(self.processor.post_filter, "reset", None)
        if reset is not None:  # a stabiliser must not blend the old style into the new one
            reset()
        self.current_index = wanted
        self.status = ""
