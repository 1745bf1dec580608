"""`rtstyle export`: a style as a standalone ONNX model, written atomically and parity-checked.

The model is written to a temporary file beside the target, loaded back with onnxruntime and compared
with a reference on random and real images at several sizes, odd ones included; only when every case
is within tolerance is it renamed to the target, so a failed export never replaces a file the user had.

Reference: the PyTorch StyleNet when torch is installed, otherwise the fp32 ONNX "tensor" graph built
by the same code (then an fp32 export checks that the file round-trips, and an fp16 or decomposed one
is checked against the plain fp32 graph), run as rtstyle runs it: on the image with its mirrored border
margin (`with_border_margin`, cv2's BORDER_REFLECT_101), cropped after; the exported graph adds the same
margin itself (`--border-margin`, default BORDER_MARGIN).

Tolerances, on the 0..1 scale (0..255 / 255): max and mean abs difference per parity case.
- fp32 "tensor" model: max 1e-3 (measured: < 1e-5).
- fp32 "frame" model: its output is uint8, rounded, and a value within a hair of .5 may round either way,
  so max 1 level (1/255) and mean 1e-4 (measured: 1 level, mean < 2e-6).
- fp16 (either io): max FP16_TOLERANCE = 0.01 and mean FP16_MEAN_TOLERANCE = 1e-3. fp16 has an 11-bit
  significand; the per-layer rounding adds up through the convolutions and residual sums (instance norm
  runs in fp32). Measured with random-weight johnson networks (width 16 and 32, two seeds each, harsher
  than trained weights): max 0.0022, mean 0.00015 for "tensor"; 1 level, mean 0.00015 for "frame" (see
  docs/benchmarks.md). The tolerances keep 4-7x margin. Those are onnxruntime CPU numbers, which computes
  an fp16 graph in float32: fp16 models are also checked in float16 arithmetic (FP16_ARITHMETIC, below).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import onnx
import onnxruntime as ort

from rtstyle.engine.base import with_border_margin
from rtstyle.engine.tiling import BORDER_MARGIN
from rtstyle.errors import RtstyleError
from rtstyle.export.onnx_graph import IO, build_onnx, style_model_metadata
from rtstyle.io.atomic import atomic_output
from rtstyle.models.registry import create_spec
from rtstyle.models.spec import NetSpec
from rtstyle.paths import package_assets_dir
from rtstyle.styles.catalog import find_style
from rtstyle.styles.format import StyleFile

FP32_TOLERANCE = 1e-3
FP32_FRAME_TOLERANCE = 1.5 / 255  # one uint8 level passes, two fail (no float-equality edge)
FP32_FRAME_MEAN_TOLERANCE = 1e-4
FP16_TOLERANCE = 0.01
FP16_MEAN_TOLERANCE = 1e-3


def tolerances(io: IO, fp16: bool) -> tuple[float, float]:
    """(max, mean) abs difference allowed on the 0..1 scale."""
    if fp16:
        return FP16_TOLERANCE, FP16_MEAN_TOLERANCE
    if io == "frame":
        return FP32_FRAME_TOLERANCE, FP32_FRAME_MEAN_TOLERANCE
    return FP32_TOLERANCE, FP32_TOLERANCE


# fp16 models are also run in real float16 arithmetic (onnx's numpy reference runtime), at this size only:
# it takes about a second a case for the paper's network on a busy 2-core machine.
FP16_ARITHMETIC = "float16 arithmetic, onnx reference runtime"
FP16_ARITHMETIC_SIZES = ((37, 53),)
# (height, width): tiny, odd, not a multiple of 4, a multiple of 4, and landscape/portrait.
PARITY_SIZES = ((1, 1), (37, 53), (64, 64), (101, 77), (150, 243))


@dataclass
class ParityCase:
    source: str  # "random" or "real"
    height: int
    width: int
    max_diff: float
    mean_diff: float
    runtime: str = "onnxruntime"  # or FP16_ARITHMETIC


@dataclass
class ExportReport:
    path: Path
    io: IO
    fp16: bool
    decompose_instance_norm: bool
    reference: str
    tolerance: float
    mean_tolerance: float
    border_margin: int = BORDER_MARGIN
    cases: list[ParityCase] = field(default_factory=list)

    @property
    def max_diff(self) -> float:
        return max(c.max_diff for c in self.cases)

    @property
    def mean_diff(self) -> float:
        return float(np.mean([c.mean_diff for c in self.cases]))


def parity_images(sizes: tuple[tuple[int, int], ...] = PARITY_SIZES, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """(source, uint8 HxWx3 BGR) pairs: uniform noise and crops of a real photo at every size."""
    rng = np.random.default_rng(seed)
    photo = _real_photo()
    images = []
    for h, w in sizes:
        images.append(("random", rng.integers(0, 256, (h, w, 3), dtype=np.uint8)))
        if h > photo.shape[0] or w > photo.shape[1]:  # a fixed-size export larger than the photo: enlarge it
            import cv2

            scale = max(h / photo.shape[0], w / photo.shape[1])
            photo = cv2.resize(photo, (max(w, round(photo.shape[1] * scale)), max(h, round(photo.shape[0] * scale))))
        top = int(rng.integers(0, photo.shape[0] - h + 1))
        left = int(rng.integers(0, photo.shape[1] - w + 1))
        images.append(("real", np.ascontiguousarray(photo[top:top + h, left:left + w])))
    return images


def _real_photo() -> np.ndarray:
    import cv2

    path = package_assets_dir() / "astronaut.png"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
    if image is None:  # a stripped install: a smooth synthetic picture still has real-image statistics
        yy, xx = np.mgrid[0:512, 0:512].astype(np.float32)
        image = np.stack([128 + 100 * np.sin(xx / 40), 128 + 100 * np.cos(yy / 55), (xx + yy) / 4], -1)
        image = image.clip(0, 255).astype(np.uint8)
    return image


def reference_fn(spec: NetSpec, weights: dict[str, np.ndarray]) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """(name, float NCHW RGB 0..255 -> float NCHW) for the reference network."""
    try:
        import torch
    except ImportError:
        session = _session(build_onnx(spec, weights, io="tensor"))
        return "onnx fp32 graph (torch not installed)", lambda x: session.run(None, {"input": x})[0]
    from rtstyle.models.torch_net import StyleNet

    net = StyleNet(spec)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    net.eval()

    def run(x: np.ndarray) -> np.ndarray:
        # One thread: the parity images are small, and on a busy machine torch's spinning OpenMP threads
        # made each of these calls 50x slower (0.5 s instead of 0.01 s) than a single thread.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                return net(torch.from_numpy(x)).numpy()
        finally:
            torch.set_num_threads(threads)

    return "torch StyleNet fp32", run


def _session(model: onnx.ModelProto | Path) -> ort.InferenceSession:
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def check_parity(model_path: Path, spec: NetSpec, weights: dict[str, np.ndarray], *, io: IO, fp16: bool,
                 report: ExportReport, sizes: tuple[tuple[int, int], ...] = PARITY_SIZES,
                 arithmetic_model: onnx.ModelProto | None = None) -> None:
    """Fill report.cases; raise RtstyleError at the first case over tolerance.

    `arithmetic_model`: the model to check in float16 arithmetic instead of the written one (for a
    fixed-size export: its any-size twin, since the reference runtime is too slow at full frame sizes).
    """
    report.reference, reference = reference_fn(spec, weights)
    session = _session(model_path)
    runs: list[tuple[str, Callable[[dict[str, np.ndarray]], np.ndarray], tuple[tuple[int, int], ...]]] = [
        ("onnxruntime", lambda feed: session.run(None, feed)[0], sizes)]
    if fp16:
        # onnxruntime's CPU provider has no float16 kernels for these ops: it runs an fp16 graph in float32
        # (its "precision free" casts replace the graph's), so the weights' rounding is all that an fp16
        # parity check on it measures, and an overflow or precision loss a GPU would meet never shows.
        # onnx's numpy reference runtime computes in float16 as written; it is slow, so one small size.
        from onnx.reference import ReferenceEvaluator

        evaluator = ReferenceEvaluator(str(model_path) if arithmetic_model is None else arithmetic_model)

        def in_float16(feed: dict[str, np.ndarray]) -> np.ndarray:
            with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported as a failed case
                return cast(list[np.ndarray], evaluator.run(None, feed))[0]

        runs.append((FP16_ARITHMETIC, in_float16, FP16_ARITHMETIC_SIZES))
    m = report.border_margin
    for runtime, run, run_sizes in runs:
        for source, image in parity_images(run_sizes):
            padded = with_border_margin(image, m)  # as rtstyle runs the network: the model adds it itself
            x = np.ascontiguousarray(padded[None, :, :, ::-1].transpose(0, 3, 1, 2), dtype=np.float32)
            expected = reference(x)[:, :, m:m + image.shape[0], m:m + image.shape[1]]
            x = np.ascontiguousarray(image[None, :, :, ::-1].transpose(0, 3, 1, 2), dtype=np.float32)
            if io == "frame":
                got = run({"frame": image[None]}).astype(np.float32)
                expected = np.clip(expected, 0, 255).round()[:, ::-1].transpose(0, 2, 3, 1)
            else:
                got = run({"input": x})
            if got.shape != expected.shape:
                raise RtstyleError(f"parity check failed: output shape {got.shape} != {expected.shape} at "
                                   f"{image.shape[1]}x{image.shape[0]}; the model was not written")
            diff = np.abs(got - expected) / 255
            finite = bool(np.isfinite(diff).all())
            case = ParityCase(source, image.shape[0], image.shape[1], float(diff.max()) if finite else float("inf"),
                              float(diff.mean()) if finite else float("inf"), runtime)
            report.cases.append(case)
            if case.max_diff > report.tolerance or case.mean_diff > report.mean_tolerance:
                raise RtstyleError(
                    f"parity check failed at {case.width}x{case.height} ({source} image, {runtime}): abs diff on the "
                    f"0..1 scale max {case.max_diff:.4g} / mean {case.mean_diff:.3g}, {'fp16' if fp16 else 'fp32'} "
                    f"tolerance {report.tolerance:.4g} / {report.mean_tolerance:.3g}; the model was not written"
                    + ("; this style's activations overflow or lose precision in float16: export it without --fp16"
                       if runtime == FP16_ARITHMETIC else ""))


def refuse_size_beyond_memory(spec: NetSpec, fixed_hw: tuple[int, int] | None, border_margin: int) -> None:
    """A `--size` model is checked (export) or calibrated (quantize) at that size: one that cannot run in the memory
    available is refused in one line before the work, naming the sizes that fit (an 8K size with the full networks
    needs tens of GiB, and the OS would kill the process)."""
    if fixed_hw is None:
        return
    from rtstyle.engine.memory import MemoryGuard, TooLargeForMemory

    try:
        MemoryGuard(spec).check(*fixed_hw, border_margin)
    except TooLargeForMemory as exc:
        fits = f" (up to {exc.largest_side} px on the longer side fit)" if exc.largest_side else ""
        raise RtstyleError(f"{exc.problem}: give a smaller --size{fits}") from None


def export_style(style: str | StyleFile, output: Path, *, io: IO = "frame", fp16: bool = False,
                 decompose_instance_norm: bool = False,
                 sizes: tuple[tuple[int, int], ...] = PARITY_SIZES,
                 fixed_hw: tuple[int, int] | None = None, border_margin: int = BORDER_MARGIN) -> ExportReport:
    """Write `style` as an ONNX model at `output` (atomically), after its parity check passed.

    `fixed_hw` (height, width): a model for that frame size only (for OpenCV 4's DNN module), checked at it.
    `border_margin`: px of mirrored picture the graph adds around each frame and crops after, as rtstyle does
    around the models it runs (against a faded edge; docs/engine.md, "Borders"); 0: none.
    """
    if border_margin < 0:
        raise RtstyleError(f"the border margin must be 0 or more px, got {border_margin}")
    output = Path(output)
    if output.suffix.lower() != ".onnx":
        raise RtstyleError(f"the output must be a .onnx file, got {output}")
    if output.is_dir():
        raise RtstyleError(f"the output is a directory: {output}")
    if isinstance(style, StyleFile):
        loaded = style
    else:
        loaded = find_style(style).load()
    spec = create_spec(loaded.arch, **loaded.arch_kwargs)
    refuse_size_beyond_memory(spec, fixed_hw, border_margin)
    weights = loaded.float32_weights()
    metadata = style_model_metadata(loaded.name, loaded.arch, loaded.arch_kwargs, loaded.metadata)
    model = build_onnx(spec, weights, io=io, fp16=fp16, decompose_instance_norm=decompose_instance_norm,
                       metadata=metadata, fixed_hw=fixed_hw, border_margin=border_margin)
    any_size = None
    if fixed_hw is not None:
        sizes = (fixed_hw,)
        if fp16:
            any_size = build_onnx(spec, weights, io=io, fp16=fp16, decompose_instance_norm=decompose_instance_norm,
                                  metadata=metadata, border_margin=border_margin)
    report = ExportReport(output, io, fp16, decompose_instance_norm, "", *tolerances(io, fp16), border_margin)
    with atomic_output(output) as tmp:
        tmp.write_bytes(model.SerializeToString())
        check_parity(tmp, spec, weights, io=io, fp16=fp16, report=report, sizes=sizes, arithmetic_model=any_size)
    return report
