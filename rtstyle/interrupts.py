"""Ctrl-C and SIGTERM stop every command the same way: outputs are finalised or removed, never left half-written.

Both arrive as a KeyboardInterrupt on the main thread, so one `except KeyboardInterrupt` (keep the partial
video, write the training checkpoint, finish the recording) covers a user's Ctrl-C, `kill PID`, `timeout` and
a scheduler's stop alike.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, TypeVar, Union

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
Handler = Union[Callable[[int, FrameType | None], Any], int, signal.Handlers, None]  # what signal.getsignal returns


class Terminated(KeyboardInterrupt):
    """SIGTERM: handled like Ctrl-C, but the command exits with 143 (128 + 15) as a killed process would."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()  # signal.signal() works only there


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """While a command runs, SIGINT raises KeyboardInterrupt and SIGTERM raises Terminated.

    SIGINT is re-armed because shells start background jobs (`cmd &` in a script) with it ignored, and a
    process that ignores it cannot be stopped cleanly by `kill -INT`. The previous handlers come back after.
    """
    if not _on_main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        _restore(previous)


_finalising: list[bool] = []  # uninterruptible() blocks open on the main thread


@contextlib.contextmanager
def uninterruptible(said: Callable[[], None] | None = None) -> Iterator[list[int]]:
    """Let a finalisation (encoder flush, trailer, rename) finish even if Ctrl-C or SIGTERM comes again.

    `said`: called once at the first such signal, to say why it does not stop at once (a long finalisation, such
    as a GIF's palette pass, would otherwise look hung), and the block gets the signals heard: a caller that goes
    on to more work (a batch's next video) acts on them afterwards (`stop_for`). Without `said` they are ignored."""
    heard: list[int] = []
    if not _on_main_thread():
        yield heard
        return

    def acknowledge(signum: int, frame: FrameType | None) -> None:
        if said is not None and not heard:
            said()
        heard.append(signum)

    previous = {sig: signal.signal(sig, acknowledge if said is not None else signal.SIG_IGN) for sig in STOP_SIGNALS}
    _finalising.append(True)
    try:
        yield heard
    finally:
        _finalising.pop()
        _restore(previous)


def stop_for(signals: list[int]) -> KeyboardInterrupt:
    """What a held stop raises: Terminated for SIGTERM (exit 143, as a killed process), else KeyboardInterrupt."""
    return Terminated() if signal.SIGTERM in signals else KeyboardInterrupt()


@contextlib.contextmanager
def deferred_stop() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while native libraries load (onnx, onnxruntime, torch, a model session) or a PyAV
    filter graph is pulled (rtstyle.io.filtergraph), then act on them: an interrupt inside their initialisation can
    abort the process (a C++ exception, exit 134), and one inside PyAV's error check is lost."""
    if not _on_main_thread():
        yield
        return
    if _finalising:  # inside uninterruptible(): the stop is held (and said) there, a finalisation is not cut short
        yield
        return
    caught: list[int] = []
    # A signal ignored now stays ignored (as the parent of a process may have set it).
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum)) for sig in STOP_SIGNALS
                if signal.getsignal(sig) is not signal.SIG_IGN}
    try:
        yield
    finally:
        _restore(previous)
    if caught:  # only when the block itself succeeded: its own exception would otherwise be replaced
        raise stop_for(caught)


@contextlib.contextmanager
def stops_kept() -> Iterator[Callable[[], None]]:
    """Keep what the Ctrl-C and SIGTERM handlers raise during the block, for a loop on the main thread to check.

    A handler raises wherever the main thread is when the signal is handled, and some places drop what it raises: a
    finaliser run there (an object's `__del__`, or a generator or file closed by the garbage collector: Python
    prints 'Exception ignored' or nothing), C code that clears errors. That stop was then never acted on (a
    conversion ran on to its end). The block's `check()` raises it again if it did not arrive; one that did arrive
    has left the loop before it is checked. The handlers themselves are kept (wrapped): one that does not raise
    (a caller's own, `uninterruptible`'s) still does not."""
    if not _on_main_thread():
        yield lambda: None
        return
    raised: list[BaseException] = []

    def check() -> None:
        if raised:  # SIGTERM's first, as in deferred_stop: the exit code says the process was killed
            exc = next((e for e in raised if isinstance(e, Terminated)), raised[0])
            raised.clear()
            raise exc.with_traceback(None)  # its traceback is where it was dropped

    previous: dict[signal.Signals, Handler] = {}
    try:
        for sig in STOP_SIGNALS:
            handler = signal.getsignal(sig)
            if callable(handler):
                previous[sig] = handler  # before it is replaced: a stop in between cannot leave the wrapper behind
                signal.signal(sig, _keeping(handler, raised))
        yield check
    finally:
        _restore(previous)


def _keeping(handler: Callable[[int, FrameType | None], Any], raised: list[BaseException]) -> Callable[
        [int, FrameType | None], Any]:
    def handle(signum: int, frame: FrameType | None) -> Any:
        try:
            return handler(signum, frame)
        except BaseException as exc:
            raised.append(exc)
            raise

    return handle


def _restore(previous: dict[signal.Signals, Handler]) -> None:
    for sig, handler in previous.items():
        if handler is not None:  # None: installed outside Python, cannot be put back from here
            signal.signal(sig, handler)


def answering_stops(work: Callable[[], T], cancel: Callable[[], None]) -> T:
    """`work()` on a thread of its own while the main thread waits in steps, so that Ctrl-C and SIGTERM are acted on
    at once: Python handles a signal between bytecodes only, and a model run holds the thread it runs on until it
    returns (`rtstyle image` on a 2560x1440 photo, a full network on the CPU: the first Ctrl-C did nothing for
    18 s). On a stop, `cancel` ends the work (rtstyle.engine.base.cancel_model_runs), which is waited for before the
    stop goes on: a process that exits while onnxruntime runs aborts (exit 134). Off the main thread: `work()`."""
    if not _on_main_thread():
        return work()
    outcome: list[tuple[bool, Any]] = []
    finished = threading.Event()  # not Thread.join: Python 3.11 takes a thread interrupted in join() for ended

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # noqa: BLE001 - raised again on the main thread
            outcome.append((False, exc))
        finally:
            finished.set()

    try:
        with deferred_stop():  # a stop inside start() (waiting for the thread to run) would leave it unwaited for
            threading.Thread(target=run, name="rtstyle-work", daemon=True).start()
        while not finished.wait(timeout=0.1):  # in steps: a signal that another thread took wakes no one
            pass
    except BaseException:
        with uninterruptible():
            cancel()
            while not finished.wait(timeout=0.1):
                cancel()  # again: the work may have started its run after the first (a run resets its flag)
        raise
    done, value = outcome[0]
    if not done:
        raise value  # its traceback points into the work
    return value  # type: ignore[no-any-return]
