"""Static int8 quantisation (QDQ) of a style network's ONNX graph, calibrated on photos.

Only the convolutions are quantised, and not all of them: onnxruntime fuses each DequantizeLinear -> Conv ->
QuantizeLinear into a QLinearConv, while instance norm, reflection padding, upsampling and the in-graph pre- and
post-processing of the "frame" graph stay float32 (instance norm needs the float variance, and the pre/post ops
are exact in float). Weights are quantised per output channel (one scale per filter), which depthwise convs
need: their filters differ widely in range.

Which convs stay float (recipe 2): the first three (the one that reads the image and the two downsampling
convs, which read full- and half-resolution maps) and the last two (the one that writes the image and the
upsampling conv before it, at full resolution). int8 error there shows as grain in smooth areas (sky, skin);
measured one conv at a time, these convs carried most of it, while the low-resolution residual blocks, where
the int8 speed gain is, added little (bench/int8_grain.py, docs/benchmarks.md).

Calibration: the 99.99th percentile of each activation's absolute values (onnxruntime's Percentile) rather
than MinMax, so a few outlier pixels do not stretch the 8-bit steps. Together the two changes took the
extra neighbour step in flat areas from 1.0-1.3 levels to 0.4-0.5 and cut the mean error by 35-40%, for
the fast networks' speed (johnson keeps 60-75% of its int8 gain; docs/benchmarks.md, "int8 grain").
Calibration runs one frame at a time (histograms merged between frames): onnxruntime otherwise keeps every
frame's activations at once, which took 15 GB for johnson at 1280x720.

Data types: uint8 activations with int8 weights (U8S8, onnxruntime's fast path on x86) and `reduce_range`
(7-bit weights), because on AVX2 CPUs without VNNI the U8S8 kernel (VPMADDUBSW) can saturate its 16-bit
intermediate sums; reduce_range is onnxruntime's documented remedy.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx

from rtstyle.errors import RtstyleError
from rtstyle.io.atomic import atomic_output
from rtstyle.io.av_files import ffmpeg_name
from rtstyle.io.images import is_input_image, read_image
from rtstyle.paths import package_assets_dir

PACKAGE_ASSETS = package_assets_dir()
# Calibration frames are downscaled so their long side is at most this: activation ranges of these
# networks depend on content, not on frame size, and calibration time grows with pixels.
CALIBRATION_MAX_SIDE = 480
VIDEO_FRAMES = 6  # frames sampled evenly from the bundled clip
# Bump when the recipe (settings, calibration set) changes, so that cached int8 models are rebuilt.
RECIPE_VERSION = 2


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
    capture = cv2.VideoCapture(ffmpeg_name(path))  # absolute: a name like a:b.mp4 is not a protocol
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
            files.extend(sorted(p for p in path.iterdir() if is_input_image(p)))
        elif path.is_file():
            files.append(path)
        else:
            raise RtstyleError(f"calibration path {path} does not exist")
    frames = []
    for file in files:
        # read_image, as every photo is read: it says why one cannot be (empty, a video, too large to decode) where
        # cv2.imread said only "cannot read", or raised on a decompression bomb's header; and it reads HEIC.
        frames.append(_downscale(read_image(file, "calibration image")))
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

    # onnxruntime's "CalibStridedMinMax" calibrates `stride` frames at a time through these, merging the ranges
    # (or histograms) between strides: its activations for all frames at once took 15 GB for johnson at 720p.
    def __len__(self) -> int:
        return len(self._all)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._frames = iter(self._all[start_index:end_index])


@dataclass(frozen=True)
class QuantSettings:
    """The onnxruntime.quantization choices (defaults: see the module docstring and docs/benchmarks.md)."""

    activations_uint8: bool = True  # U8S8; False gives S8S8
    activations_symmetric: bool = False
    reduce_range: bool = True
    per_channel: bool = True
    # Convs kept float at each end of the graph (graph order; these networks are chains). 1 and 1 keep only
    # the convs that read and write the image (recipe 1), 0 and 0 quantise every conv.
    float_first: int = 3
    float_last: int = 2
    calibration: str = "Percentile"  # an onnxruntime CalibrationMethod name: MinMax, Percentile, Entropy
    percentile: float = 99.99  # for Percentile


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
        # and its histogram calibrators print progress on stdout, where `rtstyle image -o -` writes the image
        with atomic_output(Path(target)) as tmp, contextlib.redirect_stdout(io.StringIO()):
            _quantize(Path(float_model), tmp, _FrameReader(frames, on_frame), settings)
    finally:
        root.setLevel(level)
    return Path(target)


def float_conv_names(model: onnx.ModelProto, first: int, last: int) -> list[str]:
    """The first `first` and last `last` Conv nodes in graph order: the ones kept float."""
    convs = [node.name for node in model.graph.node if node.op_type == "Conv"]
    return convs[:first] + convs[max(first, len(convs) - last):]


def _quantize(float_model: Path, out: Path, reader: _FrameReader, settings: QuantSettings) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    excluded = float_conv_names(onnx.load(str(float_model)), settings.float_first, settings.float_last)

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
        calibrate_method=CalibrationMethod[settings.calibration],
        nodes_to_exclude=excluded,
        extra_options={"ActivationSymmetric": settings.activations_symmetric,
                       "CalibPercentile": settings.percentile, "CalibStridedMinMax": 1},
    )
    model = onnx.load(str(out))  # say what it is: the float model's "rtstyle_precision: fp32" came along
    for entry in model.metadata_props:
        if entry.key == "rtstyle_precision":
            entry.value = "int8"
    onnx.save(model, str(out))
