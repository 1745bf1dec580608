"""Static int8 quantisation (QDQ) of a style network's ONNX graph, calibrated on photos.

Only the convolutions are quantised (except the two that read and write the 3-channel image):
onnxruntime fuses each DequantizeLinear -> Conv -> QuantizeLinear into a QLinearConv, while instance norm,
reflection padding, upsampling and the in-graph pre- and post-processing of the "frame" graph stay float32
(instance norm needs the float variance, and the pre/post ops are exact in float). Weights are quantised
per output channel (one scale per filter), which depthwise convs need: their filters differ widely in range.

Data types: uint8 activations with int8 weights (U8S8, onnxruntime's fast path on x86) and `reduce_range`
(7-bit weights), because on AVX2 CPUs without VNNI the U8S8 kernel (VPMADDUBSW) can saturate its 16-bit
intermediate sums; reduce_range is onnxruntime's documented remedy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx

from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import atomic_output

PACKAGE_ASSETS = Path(__file__).resolve().parent.parent / "assets"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
# Calibration frames are downscaled so their long side is at most this: activation ranges of these
# networks depend on content, not on frame size, and calibration time grows with pixels.
CALIBRATION_MAX_SIDE = 480
VIDEO_FRAMES = 6  # frames sampled evenly from the bundled clip
# Bump when the recipe (settings, calibration set) changes, so that cached int8 models are rebuilt.
RECIPE_VERSION = 1


def _downscale(frame: np.ndarray, max_side: int = CALIBRATION_MAX_SIDE) -> np.ndarray:
    height, width = frame.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return frame
    return cv2.resize(frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)


def cover_and_crop(frame: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """`frame` scaled to cover (height, width) and centre-cropped to it: calibration for a fixed-size model."""
    height, width = hw
    scale = max(height / frame.shape[0], width / frame.shape[1])
    size = (max(width, round(frame.shape[1] * scale)), max(height, round(frame.shape[0] * scale)))
    scaled = cv2.resize(frame, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top, left = (scaled.shape[0] - height) // 2, (scaled.shape[1] - width) // 2
    return np.ascontiguousarray(scaled[top:top + height, left:left + width])


def _video_frames(path: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        frames = []
        for index in np.linspace(0, max(total - 1, 0), count + 2)[1:-1].astype(int):
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
            ok, frame = capture.read()
            if ok:
                frames.append(frame)
        return frames
    finally:
        capture.release()


def bundled_calibration_frames() -> list[np.ndarray]:
    """The default calibration set: the bundled photo and frames of the bundled clip (BGR uint8)."""
    read = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in sorted(PACKAGE_ASSETS.glob("*.png"))]
    for clip in sorted(PACKAGE_ASSETS.glob("*.mp4")):
        read.extend(_video_frames(clip, VIDEO_FRAMES))
    frames = [_downscale(f) for f in read if f is not None]
    if not frames:
        raise RtstyleError(f"no calibration images found in {PACKAGE_ASSETS}")
    return frames


def calibration_frames_from(paths: Iterable[Path]) -> list[np.ndarray]:
    """Photos from files and folders (folders: their images, not recursive), downscaled, BGR uint8."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            raise RtstyleError(f"calibration path {path} does not exist")
    frames = []
    for file in files:
        frame = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if frame is None:
            raise RtstyleError(f"cannot read calibration image {file}")
        frames.append(_downscale(frame))
    if not frames:
        raise RtstyleError("no calibration images found in " + ", ".join(map(str, paths)))
    return frames


class _FrameReader:
    """onnxruntime CalibrationDataReader over uint8 BGR frames for the "frame" graph."""

    def __init__(self, frames: list[np.ndarray], on_frame: Callable[[], None] = lambda: None) -> None:
        self._all = frames
        self._frames: Iterator[np.ndarray] = iter(frames)
        self._on_frame = on_frame  # called as each frame is handed over: calibration's progress

    def get_next(self) -> dict[str, np.ndarray] | None:
        frame = next(self._frames, None)
        if frame is None:
            return None
        self._on_frame()
        return {"frame": np.ascontiguousarray(frame)[None]}

    def rewind(self) -> None:  # some calibration methods read the data twice
        self._frames = iter(self._all)


@dataclass(frozen=True)
class QuantSettings:
    """The onnxruntime.quantization choices (defaults: see the module docstring and docs/benchmarks.md)."""

    activations_uint8: bool = True  # U8S8; False gives S8S8
    reduce_range: bool = True
    per_channel: bool = True
    # The convs that read or write the 3-channel image stay float: int8 made them slower (3-channel
    # QLinearConv is inefficient) and they carry the most visible error (measured: johnson 1.16x -> 1.28x
    # faster than fp32 and mean error 7.6 -> 6.6 when they stay float; docs/benchmarks.md).
    float_image_convs: bool = True


def quantize_frame_model(float_model: Path, target: Path, frames: list[np.ndarray] | None = None,
                         settings: QuantSettings = QuantSettings(),
                         on_frame: Callable[[], None] = lambda: None) -> Path:
    """Write a static int8 QDQ version of a float32 "frame" ONNX model to `target` (atomically).

    `frames`: calibration frames (uint8 HxWx3 BGR); the bundled photo and clip frames by default.
    `on_frame`: called once per calibration frame run (for a progress bar).
    """
    frames = bundled_calibration_frames() if frames is None else frames
    # onnxruntime.quantization warns on the root logger ("consider pre-processing"): not the user's concern.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with atomic_output(Path(target)) as tmp:
            _quantize(Path(float_model), tmp, _FrameReader(frames, on_frame), settings)
    finally:
        root.setLevel(level)
    return Path(target)


def image_conv_names(model: onnx.ModelProto) -> list[str]:
    """Conv nodes with at most 3 input or output channels: the ones that read or write the image."""
    weights = {init.name: tuple(init.dims) for init in model.graph.initializer}
    names = []
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        out_ch, in_per_group = weights[node.input[1]][:2]
        if out_ch <= 3 or in_per_group * group <= 3:
            names.append(node.name)
    return names


def _quantize(float_model: Path, out: Path, reader: _FrameReader, settings: QuantSettings) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    excluded = image_conv_names(onnx.load(str(float_model))) if settings.float_image_convs else []

    quantize_static(
        str(float_model),
        str(out),  # onnxruntime keeps its augmented calibration model in its own temp directory
        reader,
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["Conv"],
        per_channel=settings.per_channel,
        reduce_range=settings.reduce_range,
        activation_type=QuantType.QUInt8 if settings.activations_uint8 else QuantType.QInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        nodes_to_exclude=excluded,
    )
    model = onnx.load(str(out))  # say what it is: the float model's "rtstyle_precision: fp32" came along
    for entry in model.metadata_props:
        if entry.key == "rtstyle_precision":
            entry.value = "int8"
    onnx.save(model, str(out))
