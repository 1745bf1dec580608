"""The onnxruntime backend: runs the "frame" graph, so pre- and post-processing happen inside onnxruntime.

On a GPU provider the frame goes through I/O binding into a device buffer allocated once per frame size,
and the stylized frame comes back from another; nothing is allocated on the GPU per frame. Models with
the "tensor" convention (float NCHW RGB, e.g. exported with `--io tensor` or by another tool) also run,
with the conversion done in numpy.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from rtstyle.engine.base import RunCancelled, Stylizer
from rtstyle.engine.memory import MemoryGuard, out_of_memory_error
from rtstyle.engine.providers import ProviderList, ProviderPlan, check_active_provider
from rtstyle.engine.tiling import BORDER_MARGIN_METADATA
from rtstyle.errors import RtstyleError

ONNX_SUFFIX = ".onnx"


@dataclass(frozen=True)
class CpuSessionConfig:
    """CPU session settings, chosen with `bench/cpu_options.py` (numbers in docs/benchmarks.md).

    - intra_op_threads 0: onnxruntime's default, one thread per physical core. On the quiet 2-core
      machine 2 threads ran 1.7x faster than 1; under heavy load from other programs 1 thread was
      1.17x faster, which `rtstyle bench --threads 1` measures.
    - spinning off: idle workers sleep instead of spinning between ops. 1.08x faster with a busy
      machine (equal with one thread), and it leaves the CPU to capture, display and encoding threads.
    - sequential execution: the network is a chain; the parallel executor was 0.72x.
    - ENABLE_ALL graph optimisation (with the NCHWc layout transform for x86 convolutions): basic and
      extended were 0.85-0.98x, though within the run-to-run noise (+-10 %).
    """

    intra_op_threads: int = 0
    parallel: bool = False
    optimization: str = "all"  # "disabled", "basic", "extended" or "all"
    spinning: bool = False  # worker threads spin between ops instead of sleeping


_OPT_LEVELS = {
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def new_run_options() -> ort.RunOptions:
    """A stylizer's own run options: their terminate flag is how a run is ended from another thread."""
    options = ort.RunOptions()
    options.log_severity_level = 4  # a failure, or an ending by cancel(), is raised; onnxruntime's log says it again
    return options


# Every live stylizer, so that a stop (Ctrl-C) can end the runs in progress in all of them (`cancel_runs`). Plain
# weak references, changed and listed only under the lock (the webcam's preparer makes stylizers on its own thread
# while a stop lists them): a WeakSet drops an entry from whichever thread frees its object, without the lock, and a
# stop listing it meanwhile failed with "Set changed size during iteration" (every run on Python 3.10).
_live_stylizers: set[weakref.ref[OnnxStylizer]] = set()
_live_lock = threading.Lock()


def track_live(stylizer: OnnxStylizer) -> None:
    """Count `stylizer` among those `cancel_runs` ends (for as long as it is referenced)."""
    with _live_lock:
        _live_stylizers.difference_update([ref for ref in _live_stylizers if ref() is None])  # the freed ones
        _live_stylizers.add(weakref.ref(stylizer))


def cancel_runs() -> None:
    """End every onnxruntime run in progress now (each raises RunCancelled); a frame started after goes on as usual.

    For Ctrl-C: a full network on a large frame runs for seconds on a CPU, and the process must not exit while one
    runs (the thread is torn down inside onnxruntime: a C++ abort, exit 134), so a stop used to wait for it."""
    with _live_lock:
        live = [stylizer for stylizer in (ref() for ref in _live_stylizers) if stylizer is not None]
    for stylizer in live:
        stylizer.cancel()


def session_options(config: CpuSessionConfig | None = None) -> ort.SessionOptions:
    config = config or CpuSessionConfig()
    options = ort.SessionOptions()
    options.graph_optimization_level = _OPT_LEVELS[config.optimization]
    options.intra_op_num_threads = config.intra_op_threads
    options.execution_mode = ort.ExecutionMode.ORT_PARALLEL if config.parallel else ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: no provider chatter on the user's terminal
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if config.spinning else "0")
    return options


def check_onnx_file(model_path: Path) -> None:
    """Fail early and clearly on files that cannot be an ONNX model (before onnxruntime's long messages)."""
    model_path = Path(model_path)
    if not model_path.is_file():
        raise RtstyleError(f"ONNX model not found: {model_path}")
    if model_path.stat().st_size == 0:
        raise RtstyleError(f"cannot load ONNX model {model_path}: the file is empty")


def check_onnx_model(model_path: Path) -> None:
    """A quick look before any model runs (no session): the file parses as ONNX and has one image in and out."""
    import onnx

    check_onnx_file(model_path)
    try:
        graph = onnx.load(str(model_path), load_external_data=False).graph
    except Exception as exc:  # protobuf's DecodeError and friends
        raise RtstyleError(f"cannot load ONNX model {model_path} (corrupt, truncated or not ONNX): "
                           f"{(str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]}") from None
    weights = {init.name for init in graph.initializer}
    if len([i for i in graph.input if i.name not in weights]) != 1 or len(graph.output) != 1:
        raise RtstyleError(f"{model_path} is not a style model (expects one input and one output)")


def exported_precision(model_path: Path) -> str:
    """What `stored_precision` says, read from the file without a session (checked first, like check_onnx_model)."""
    import onnx

    check_onnx_model(model_path)
    model = onnx.load(str(model_path), load_external_data=False)
    return {prop.key: prop.value for prop in model.metadata_props}.get("rtstyle_precision", "fp32")


def load_session(model_path: Path, providers: ProviderList | list[str],
                 config: CpuSessionConfig | None = None) -> ort.InferenceSession:
    check_onnx_file(model_path)
    names = [p[0] if isinstance(p, tuple) else p for p in providers]
    options = [p[1] if isinstance(p, tuple) else {} for p in providers]
    try:
        with warnings.catch_warnings():
            # "Specified provider is not in available provider names": the caller checks the active providers.
            warnings.simplefilter("ignore", UserWarning)
            return ort.InferenceSession(str(model_path), sess_options=session_options(config),
                                        providers=names, provider_options=options)
    except Exception as exc:  # onnxruntime raises Fail/InvalidGraph/InvalidProtobuf for bad files
        text = str(exc).strip()
        first_line = text.splitlines()[0] if text else type(exc).__name__
        raise RtstyleError(f"cannot load ONNX model {model_path} (corrupt, truncated or not ONNX): "
                           f"{first_line[:200]}") from None


class DeviceBuffers:
    """I/O binding with input and output buffers allocated on the device once per frame shape.

    Works for any onnxruntime device ("cuda", and "cpu", where the tests exercise it).
    """

    def __init__(self, session: ort.InferenceSession, device_type: str, input_name: str, output_name: str) -> None:
        self.session = session
        self.device_type = device_type
        self.input_name, self.output_name = input_name, output_name
        self.binding = session.io_binding()
        self.shape: tuple[int, ...] | None = None
        self.allocations = 0  # how many times buffers were (re)allocated: tests check it

    def _allocate(self, shape: tuple[int, ...]) -> None:
        self._input = ort.OrtValue.ortvalue_from_shape_and_type(list(shape), np.uint8, self.device_type, 0)
        self._output = ort.OrtValue.ortvalue_from_shape_and_type(list(shape), np.uint8, self.device_type, 0)
        self.binding.clear_binding_inputs()
        self.binding.clear_binding_outputs()
        self.binding.bind_ortvalue_input(self.input_name, self._input)
        self.binding.bind_ortvalue_output(self.output_name, self._output)
        self.shape = shape
        self.allocations += 1

    def run(self, frames: np.ndarray, run_options: ort.RunOptions | None = None) -> np.ndarray:
        if frames.shape != self.shape:
            self._allocate(frames.shape)
        self._input.update_inplace(frames)  # one host-to-device copy
        self.session.run_with_iobinding(self.binding, run_options)
        result = self._output.numpy()  # a device-to-host copy on a GPU, a view of the buffer on the CPU
        return result.copy() if self.device_type == "cpu" else result


class OnnxStylizer(Stylizer):
    def __init__(self, model_path: Path, providers: ProviderPlan | ProviderList | list[str], style_name: str = "",
                 requested_device: str = "auto", io_binding: bool | None = None,
                 cpu_config: CpuSessionConfig | None = None, memory_guard: MemoryGuard | None = None,
                 precision: str | None = None) -> None:
        plan = providers if isinstance(providers, ProviderPlan) else None
        provider_list = providers.providers if isinstance(providers, ProviderPlan) else providers
        self.session = load_session(Path(model_path), provider_list, cpu_config)
        self.run_options = new_run_options()  # its terminate flag is how cancel() stops a run from another thread
        track_live(self)
        active = self.session.get_providers()
        if plan is not None:
            check_active_provider(plan, active, requested_device)
        self.model_path = Path(model_path)
        self.style_name = style_name or Path(model_path).stem
        self.provider = active[0]
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise RtstyleError(f"{model_path} is not a style model (expects one input and one output)")
        self.input_name, self.output_name = inputs[0].name, outputs[0].name
        if inputs[0].type == "tensor(uint8)" and _rank(inputs[0]) == 4:
            self.io = "frame"
        elif inputs[0].type == "tensor(float)" and _rank(inputs[0]) == 4:
            self.io = "tensor"
        else:
            raise RtstyleError(f"{model_path} is not a style model: expects a uint8 NHWC frame or a float NCHW "
                               f"image input, got {inputs[0].type} with shape {inputs[0].shape}")
        # A model exported with `--size` takes that frame size only; onnxruntime's own refusal is a traceback.
        hw = inputs[0].shape[1:3] if self.io == "frame" else inputs[0].shape[2:4]
        self.fixed_hw = (hw[0], hw[1]) if all(isinstance(d, int) for d in hw) else None
        if self.fixed_hw is not None:  # it takes its one size as it is: no mirrored margin around it
            self.border_margin = 0
        # An export that adds the margin itself (`rtstyle export --border-margin`): a second one would be wasted work.
        if graph_border_margin(self.session):
            self.border_margin = 0
        on_gpu = self.provider != "CPUExecutionProvider"
        use_binding = on_gpu if io_binding is None else io_binding
        self.buffers = (DeviceBuffers(self.session, "cuda" if on_gpu else "cpu", self.input_name, self.output_name)
                        if use_binding and self.io == "frame" else None)
        # The CPU check: a frame too large for RAM is refused before onnxruntime allocates (and the OS kills us).
        self.memory_guard = memory_guard if not on_gpu else None
        # int8 graphs compute in float between their QDQ pairs, so the caller names that precision.
        precision = precision or stored_precision(self.session)
        self.description = f"onnxruntime {self.provider} {precision}" + (" io-binding" if self.buffers else "")

    def _run(self, frames: np.ndarray) -> np.ndarray:
        """Network inputs (frames with their border margin, or tiles of one); the caller checked the memory."""
        if self.fixed_hw is not None and frames.shape[1:3] != self.fixed_hw:  # such a model has no margin
            height, width = frames.shape[1:3]
            size = f"{self.fixed_hw[1]}x{self.fixed_hw[0]}"
            raise RtstyleError(f"{self.style_name} takes {size} frames only (a model exported with --size), got "
                               f"{width}x{height}: use a model exported without --size (the webcam: --size {size})")
        try:
            out = self._run_unchecked(frames)
        except Exception as exc:  # onnxruntime's allocation failures become one clear line
            if self.run_options.terminate:  # cancel(): onnxruntime's "Exiting due to terminate flag"
                raise RunCancelled(f"{self.style_name}: the frame was cancelled") from None
            height, width = (side - 2 * self.border_margin for side in frames.shape[1:3])  # about the user's frame
            error = out_of_memory_error(exc, height, width, "GPU" if self.provider != "CPUExecutionProvider" else "CPU")
            if error is None:
                raise
            raise error from None
        if out.shape != frames.shape:  # a model from elsewhere (an upscaler, a classifier): the crop and resize after
            raise RtstyleError(f"{self.model_path} is not a style model: it does not return a frame of the size it "
                               f"is given (its output's shape: {tuple(out.shape)})")  # was OpenCV's traceback
        return out

    def _run_unchecked(self, frames: np.ndarray) -> np.ndarray:
        if self.io == "tensor":
            x = np.ascontiguousarray(frames[..., ::-1].transpose(0, 3, 1, 2), dtype=np.float32)
            y = self.session.run([self.output_name], {self.input_name: x}, self.run_options)[0]
            y = np.clip(y, 0, 255).round().astype(np.uint8)
            return np.ascontiguousarray(y[:, ::-1].transpose(0, 2, 3, 1))
        frames = np.ascontiguousarray(frames)
        if self.buffers is not None:
            return self.buffers.run(frames, self.run_options)
        return self.session.run([self.output_name], {self.input_name: frames}, self.run_options)[0]

    def _end_run(self) -> None:
        """onnxruntime checks the flag between the graph's nodes: the run raises RunCancelled, on the CPU within a
        node's time."""
        self.run_options.terminate = True

    def _clear_end(self) -> None:
        self.run_options.terminate = False

    def _stylize(self, frame: np.ndarray) -> np.ndarray:
        return self._run(frame[None])[0]

    def stylize_batch(self, frames: np.ndarray) -> np.ndarray:
        """N frames of one size (N x H x W x 3 uint8 BGR) in one run."""
        return self._stylize_batch_at_once(frames, self._run)

    def close(self) -> None:
        self.buffers = None
        self.session = None  # type: ignore[assignment]


def _rank(arg: Any) -> int:
    return len(arg.shape) if arg.shape is not None else -1


def stored_precision(session: ort.InferenceSession) -> str:
    """The precision an rtstyle export recorded in the model ("fp32" for a model from elsewhere)."""
    return session.get_modelmeta().custom_metadata_map.get("rtstyle_precision", "fp32")


def graph_border_margin(session: ort.InferenceSession) -> int:
    """The px of mirrored margin an rtstyle export's graph adds around each frame itself (0: none, or not said)."""
    value = session.get_modelmeta().custom_metadata_map.get(BORDER_MARGIN_METADATA, "0")
    return int(value) if value.isdigit() else 0


def is_onnx_path(name: str) -> bool:
    """`--style x.onnx` runs an exported model directly (no style file, no torch)."""
    return name.lower().endswith(ONNX_SUFFIX)
