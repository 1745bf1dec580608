"""Build an ONNX graph for a style network directly from its NetSpec and numpy weights.

Building the graph ourselves instead of tracing a torch module means: no torch on the inference path,
no dummy input shape baked into the graph (onnx/models#189: height, width and batch are symbolic from
the start), the align-to-multiple padding done inside the graph so that odd sizes work (onnxruntime#1706),
and precise control over which ops run in float16.

Two input/output conventions:
- "tensor": float32 NCHW RGB 0..255 in and out (unclamped), the convention of the network itself,
  for other runtimes and tools;
- "frame": uint8 NHWC BGR in and out (OpenCV's layout), with the conversion, clamping and rounding done
  inside the graph, so that the runtime does pre- and post-processing on the same device as the network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rtstyle import __version__
from rtstyle.engine.tiling import BORDER_MARGIN_METADATA
from rtstyle.export.graph_version import GRAPH_VERSION  # noqa: F401 - the builder's version, kept apart from onnx
from rtstyle.models.spec import Conv, NetSpec, Residual, padded_size
from rtstyle.models.weights import conv_prefixes

# Opset 17: InstanceNormalization, Pad with tensor inputs (>= 11) and Resize with nearest_mode (>= 11) are
# all stable there, and it is supported by onnxruntime >= 1.12 and TensorRT >= 8.5.
OPSET = 17
# The newest IR that onnxruntime >= 1.14 reads; opset 17 needs >= 8. Set on every model written: the onnx package
# stamps its own, newer one (14 for onnx 1.23), which an older onnxruntime refuses to load.
IR_VERSION = 8
IO = Literal["tensor", "frame"]
INSTANCE_NORM_EPS = 1e-5  # torch.nn.InstanceNorm2d default


@dataclass
class _Graph:
    fp16: bool
    decompose_instance_norm: bool = False
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    counter: int = 0

    def name(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def weight(self, name: str, value: np.ndarray) -> str:
        dtype = np.float16 if self.fp16 else np.float32
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs: Any) -> str:
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def _conv_layer(g: _Graph, x: str, conv: Conv, prefix: str, weights: dict[str, np.ndarray]) -> str:
    if conv.upsample > 1:
        scales = g.const("scales", np.array([1, 1, conv.upsample, conv.upsample], dtype=np.float32))
        # asymmetric + floor is exactly torch's F.interpolate(mode="nearest").
        x = g.op("Resize", [x, "", scales], "upsample", mode="nearest",
                 coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    pad = conv.kernel // 2
    if pad:
        pads = g.const("pads", np.array([0, 0, pad, pad, 0, 0, pad, pad], dtype=np.int64))
        x = g.op("Pad", [x, pads], "reflect_pad", mode="reflect")
    x = g.op("Conv", [x, g.weight(f"{prefix}.conv.weight", weights[f"{prefix}.conv.weight"]),
                      g.weight(f"{prefix}.conv.bias", weights[f"{prefix}.conv.bias"])],
             "conv", kernel_shape=[conv.kernel, conv.kernel], strides=[conv.stride, conv.stride], group=conv.groups)
    if conv.norm:
        x = _instance_norm(g, x, prefix, weights)
    if conv.act == "relu":
        x = g.op("Relu", [x])
    return x


def _instance_norm(g: _Graph, x: str, prefix: str, weights: dict[str, np.ndarray]) -> str:
    scale = weights[f"{prefix}.norm.weight"].astype(np.float32)
    bias = weights[f"{prefix}.norm.bias"].astype(np.float32)
    if g.fp16:
        # Instance norm in float16 loses the variance of large feature maps (onnxruntime#10079,
        # torch2trt#776): normalise in float32 and convert back.
        x = g.op("Cast", [x], "to_fp32", to=TensorProto.FLOAT)
    if g.decompose_instance_norm:
        x = _decomposed_instance_norm(g, x, prefix, scale, bias)
    else:
        x = g.op("InstanceNormalization", [x, g.const(f"{prefix}.norm.weight", scale),
                                           g.const(f"{prefix}.norm.bias", bias)],
                 "instance_norm", epsilon=INSTANCE_NORM_EPS)
    if g.fp16:
        x = g.op("Cast", [x], "to_fp16", to=TensorProto.FLOAT16)
    return x


def _decomposed_instance_norm(g: _Graph, x: str, prefix: str, scale: np.ndarray, bias: np.ndarray) -> str:
    """Instance norm as elementary ops, so that the epsilon is exactly INSTANCE_NORM_EPS everywhere.

    TensorRT's InstanceNormalization importer clamped epsilon to at least 1e-4 (NVIDIA/TensorRT#260; removed
    in onnx-tensorrt#434, but older TensorRT builds still ship it), which changes the output of networks
    trained with torch's 1e-5 wherever a channel is nearly flat; the plugin is also a known source of fp16
    error (NVIDIA/TensorRT#2691). Elementary ops avoid both. The
    variance is the biased one, E[(x - mean)^2], as in torch; (x - mean) squared with Mul, not Pow,
    because it is exact and every runtime fuses it.
    """
    mean = g.op("ReduceMean", [x], "in_mean", axes=[2, 3], keepdims=1)
    centred = g.op("Sub", [x, mean], "in_centred")
    variance = g.op("ReduceMean", [g.op("Mul", [centred, centred], "in_square")], "in_var", axes=[2, 3], keepdims=1)
    eps = g.const("in_eps", np.array(INSTANCE_NORM_EPS, np.float32))
    std = g.op("Sqrt", [g.op("Add", [variance, eps], "in_var_eps")], "in_std")
    normalised = g.op("Div", [centred, std], "in_normalised")
    scaled = g.op("Mul", [normalised, g.const(f"{prefix}.norm.weight", scale.reshape(-1, 1, 1))], "in_scaled")
    return g.op("Add", [scaled, g.const(f"{prefix}.norm.bias", bias.reshape(-1, 1, 1))], "in_shifted")


def _align_pad(g: _Graph, x: str, spec: NetSpec, fixed_hw: tuple[int, int] | None) -> tuple[str, str | None]:
    """Edge-pad H and W up to the network's size multiple (and minimum); returns (padded, original shape),
    the shape None when a fixed size needs no padding (then there is nothing to crop either)."""
    if fixed_hw is not None:  # pads known now: no Shape arithmetic, which OpenCV 4's importer cannot take
        extra_hw = [padded_size(n, spec.size_multiple, spec.min_size) - n for n in fixed_hw]
        if not any(extra_hw):
            return x, None
        pads = g.const("pads", np.array([0, 0, 0, 0, 0, 0, *extra_hw], np.int64))
        return g.op("Pad", [x, pads], "align_pad", mode="edge"), g.const("hw", np.array(fixed_hw, np.int64))
    shape = g.op("Shape", [x], "input_shape")
    hw = g.op("Slice", [shape, g.const("i2", np.array([2], np.int64)), g.const("i4", np.array([4], np.int64))], "hw")
    multiple = g.const("multiple", np.array([spec.size_multiple], np.int64))
    # ceil(hw / m) * m computed in integers as -(-hw // m) * m, via (hw + m - 1) / m.
    rounded = g.op("Mul", [g.op("Div", [g.op("Add", [hw, g.const("m_minus_1", np.array([spec.size_multiple - 1], np.int64))]), multiple]), multiple])
    target = g.op("Max", [rounded, g.const("min_size", np.array([spec.min_size], np.int64))])
    extra = g.op("Sub", [target, hw], "pad_hw")
    zeros = g.const("zeros", np.zeros(4, np.int64))
    zeros2 = g.const("zeros2", np.zeros(2, np.int64))
    pads = g.op("Concat", [zeros, zeros2, extra], "pads", axis=0)  # [n0,c0,h0,w0, n1,c1,h1,w1]
    return g.op("Pad", [x, pads], "align_pad", mode="edge"), hw


def reflect_steps(length: int, margin: int) -> list[int]:
    """The successive reflect pads that put `margin` px of mirrored picture on each side of a `length`-px axis.

    ONNX's reflect Pad (like numpy's "reflect" and cv2.BORDER_REFLECT_101) needs pad < length; onnxruntime refuses
    more ("Pad reflect: pre-pad (32) exceeds maximum allowed (16)"). cv2 reflects again past the end: the picture
    repeats as a triangle wave. Each pad of at most length - 1 px mirrors about the current edge, which after
    full pads lies on a multiple of the original length - 1, an axis of that wave: so the steps together give
    exactly cv2's result. A 1-px axis takes none (nothing to mirror): a network's output on a picture constant
    along an axis is the same whatever its length there, so no margin is needed on it.
    """
    steps = []
    remaining = margin
    while remaining > 0 and length > 1:
        pad = min(remaining, length - 1)
        steps.append(pad)
        length += 2 * pad
        remaining -= pad
    return steps


def _border_margin(g: _Graph, x: str, margin: int,
                   fixed_hw: tuple[int, int] | None) -> tuple[str, tuple[str, str] | None, tuple[int, int] | None]:
    """`margin` px of mirrored picture on every side of the NCHW `x`, as rtstyle adds around frames it runs itself
    (`rtstyle.engine.base.with_border_margin`, against the faded edge: docs/engine.md, "Borders").

    Returns (padded, (crop starts, crop ends) of the original picture in it, the padded fixed size); the crop is
    None when `margin` is 0 (nothing added).
    """
    if margin == 0:
        return x, None, fixed_hw
    if fixed_hw is not None:  # pads known now: constants only, no Shape (OpenCV 4)
        per_axis = [reflect_steps(n, margin) for n in fixed_hw]
        for k in range(max(map(len, per_axis))):
            ph, pw = (steps[k] if k < len(steps) else 0 for steps in per_axis)
            pads = g.const("margin_pads", np.array([0, 0, ph, pw, 0, 0, ph, pw], np.int64))
            x = g.op("Pad", [x, pads], "margin_pad", mode="reflect")
        added = [sum(steps) for steps in per_axis]
        starts = g.const("margin_starts", np.array(added, np.int64))
        ends = g.const("margin_ends", np.array([a + n for a, n in zip(added, fixed_hw)], np.int64))
        return x, (starts, ends), (fixed_hw[0] + 2 * added[0], fixed_hw[1] + 2 * added[1])
    shape = g.op("Shape", [x], "frame_shape")
    hw = g.op("Slice", [shape, g.const("i2", np.array([2], np.int64)), g.const("i4", np.array([4], np.int64))],
              "frame_hw")
    one, two = g.const("one", np.array([1], np.int64)), g.const("two", np.array([2], np.int64))
    zeros2 = g.const("zeros2", np.zeros(2, np.int64))
    full = g.const("margin", np.array([margin, margin], np.int64))
    length, remaining = hw, full
    # As many steps as the worst case (a 2-px side) needs; on a frame larger than the margin all but the first pad 0.
    for _ in reflect_steps(2, margin):
        pad = g.op("Min", [remaining, g.op("Sub", [length, one], "room")], "margin_step")
        pads = g.op("Concat", [zeros2, pad, zeros2, pad], "margin_pads", axis=0)
        x = g.op("Pad", [x, pads], "margin_pad", mode="reflect")
        length = g.op("Add", [length, g.op("Mul", [pad, two])], "margin_length")
        remaining = g.op("Sub", [remaining, pad], "margin_left")
    applied = g.op("Sub", [full, remaining], "margin_added")  # the full margin, except on a 1-px side
    return x, (applied, g.op("Add", [applied, hw], "margin_ends")), None


def _fold_bgr_into_weights(spec: NetSpec, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """Weights whose first conv reads BGR and whose last conv writes BGR; None when the network does
    not start and end with a plain 3-channel conv (then the graph swaps channels with Gather ops)."""
    first, last = spec.layers[0], spec.layers[-1]
    if not (isinstance(first, Conv) and isinstance(last, Conv) and first.in_ch == 3 and last.out_ch == 3
            and first.groups == 1 and last.groups == 1):
        return None
    prefixes = [prefix for prefix, _ in conv_prefixes(spec)]
    out = dict(weights)
    key = f"{prefixes[0]}.conv.weight"
    out[key] = out[key][:, ::-1]  # input channels: B, G, R instead of R, G, B
    for name in ("conv.weight", "conv.bias", "norm.weight", "norm.bias"):
        key = f"{prefixes[-1]}.{name}"
        if key in out:
            out[key] = out[key][::-1]  # output channels (and their norm parameters)
    return out


# What the model's own file says about its input and output, for users of other runtimes who never read
# our docs: the ONNX image metadata (onnx/docs/MetadataProps.md, read by Windows ML), dimension denotations
# (onnx/docs/DimensionDenotation.md) and doc strings (shown by Netron, and by onnxruntime as the model's
# `description`). The IMAGE type denotation goes on the "tensor" graph only: consumers of IMAGE tensors
# (Windows ML) take them to be float NCHW, and treat anything else as a mislabelled tensor.
IMAGE_METADATA: dict[str, dict[str, str]] = {
    "frame": {"Image.BitmapPixelFormat": "Bgr8", "Image.ColorSpaceGamma": "SRGB",
              "Image.NominalPixelRange": "NominalRange_0_255"},
    "tensor": {"Image.BitmapPixelFormat": "Rgb8", "Image.ColorSpaceGamma": "SRGB",
               "Image.NominalPixelRange": "NominalRange_0_255"},
}
_DIM_DENOTATIONS = {"frame": ("DATA_BATCH", "DATA_FEATURE", "DATA_FEATURE", "DATA_CHANNEL"),
                    "tensor": ("DATA_BATCH", "DATA_CHANNEL", "DATA_FEATURE", "DATA_FEATURE")}
IO_SUMMARY = {"frame": "uint8 NHWC BGR 0..255 in and out", "tensor": "float32 NCHW RGB 0..255 in and out, unclamped"}
IO_DOCS: dict[str, tuple[str, str]] = {
    "frame": ("uint8 [batch, height, width, 3] (NHWC), BGR channel order, 0..255: OpenCV's frame layout "
              "(cv2.imread gives it; from an RGB image reverse the channels)",
              "uint8 [batch, height, width, 3] (NHWC), BGR, 0..255, the input's size"),
    "tensor": ("float32 [batch, 3, height, width] (NCHW), RGB channel order, 0..255 (not 0..1, no mean or "
               "std normalisation)",
               "float32 [batch, 3, height, width] (NCHW), RGB, 0..255 but not clamped: clip to 0..255 and "
               "round before converting to 8 bits"),
}


def margin_doc(margin: int) -> str:
    """What the model says about its in-graph border margin (none: nothing)."""
    return (f"; the model mirrors {margin} px of picture around it and crops them off after, against a faded edge: "
            "give it the picture as it is, with no padding of your own") if margin else ""


def _describe_io(model: onnx.ModelProto, io: IO, style: str, fixed_hw: tuple[int, int] | None,
                 border_margin: int) -> None:
    """Doc strings, dimension denotations and (tensor io) the IMAGE type denotation on input and output."""
    input_doc, output_doc = IO_DOCS[io]
    input_doc += ("; any height and width" if fixed_hw is None else
                  f"; height {fixed_hw[0]} and width {fixed_hw[1]} only (exported with a fixed size)")
    input_doc += margin_doc(border_margin)
    for value, doc in ((model.graph.input[0], input_doc), (model.graph.output[0], output_doc)):
        value.doc_string = doc
        if io == "tensor":
            value.type.denotation = "IMAGE"
        for dim, denotation in zip(value.type.tensor_type.shape.dim, _DIM_DENOTATIONS[io]):
            dim.denotation = denotation
    model.doc_string = (f"rtstyle style transfer network, style {style!r}. "
                        f"Input {model.graph.input[0].name!r}: {input_doc}. "
                        f"Output {model.graph.output[0].name!r}: {output_doc}.")


def _crop(g: _Graph, x: str, hw: str) -> str:
    starts = g.const("crop_starts", np.zeros(2, np.int64))
    axes = g.const("crop_axes", np.array([2, 3], np.int64))
    return g.op("Slice", [x, starts, hw, axes], "crop")


CREDIT_KEYS = ("title", "artist", "licence", "source_image")  # a style's credits, carried into its models


def style_model_metadata(name: str, arch: str, arch_kwargs: dict[str, Any], metadata: dict[str, Any]) -> dict[str, str]:
    """What every ONNX model of a style says about it (exported, cached, quantised): its name, network and credits.
    The network's settings are JSON, readable from any language (a Python repr was not)."""
    return {"rtstyle_style": name, "rtstyle_arch": arch, "rtstyle_arch_kwargs": json.dumps(arch_kwargs, sort_keys=True),
            "rtstyle_opset": str(OPSET),
            **{f"style_{k}": str(v) for k, v in metadata.items() if k in CREDIT_KEYS}}


def build_onnx(spec: NetSpec, weights: dict[str, np.ndarray], *, io: IO = "tensor", fp16: bool = False,
               decompose_instance_norm: bool = False, metadata: dict[str, str] | None = None,
               fold_channel_order: bool = True, fixed_hw: tuple[int, int] | None = None,
               border_margin: int = 0) -> onnx.ModelProto:
    """An ONNX model with symbolic batch, height and width (or, given `fixed_hw`, that height and width only).

    `border_margin`: px of mirrored picture added on every side before the network and cropped off after, as
    rtstyle does around the models it runs itself (`Stylizer.border_margin`), for exports that other runtimes
    run; recorded as the metadata `rtstyle_border_margin`. 0 (the models rtstyle runs): no such ops, no key.

    `fixed_hw` (height, width) computes the alignment padding at export time, leaving no Shape arithmetic in
    the graph: OpenCV 4's DNN importer refuses a Shape of a dynamic input (`!isDynamicShape`).

    `decompose_instance_norm` writes instance norm as ReduceMean/Sub/Mul/Sqrt/Div ops with the exact
    epsilon, for TensorRT (see `_decomposed_instance_norm`); onnxruntime's CPU and CUDA providers run
    the single InstanceNormalization op faster.
    """
    g = _Graph(fp16=fp16, decompose_instance_norm=decompose_instance_norm)
    # In the frame graph the BGR <-> RGB swaps are folded into the first and last convolutions' weights
    # when the network starts and ends with a plain conv: two full-frame copies fewer per frame.
    folded = _fold_bgr_into_weights(spec, weights) if io == "frame" and fold_channel_order else None
    if folded is not None:
        weights = folded
    hw_dims: list[str | int] = ["height", "width"] if fixed_hw is None else list(fixed_hw)
    if io == "frame":
        graph_input = helper.make_tensor_value_info("frame", TensorProto.UINT8, ["batch", *hw_dims, 3])
        x = g.op("Cast", ["frame"], "frame_float", to=TensorProto.FLOAT)
        x = g.op("Transpose", [x], "nchw", perm=[0, 3, 1, 2])
        if folded is None:
            bgr_to_rgb = g.const("bgr_to_rgb", np.array([2, 1, 0], np.int64))
            x = g.op("Gather", [x, bgr_to_rgb], "rgb", axis=1)
    else:
        graph_input = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, *hw_dims])
        x = "input"
    x, margin_crop, padded_hw = _border_margin(g, x, border_margin, fixed_hw)
    x, hw = _align_pad(g, x, spec, padded_hw)
    if fp16:
        x = g.op("Cast", [x], "input_fp16", to=TensorProto.FLOAT16)

    prefixes = dict(conv_prefixes(spec))  # prefix -> conv, in order
    ordered = iter(prefixes.items())
    for layer in spec.layers:
        if isinstance(layer, Residual):
            skip = x
            for _ in layer.body:
                prefix, conv = next(ordered)
                x = _conv_layer(g, x, conv, prefix, weights)
            x = g.op("Add", [skip, x], "residual")
        else:
            prefix, conv = next(ordered)
            x = _conv_layer(g, x, conv, prefix, weights)

    if fp16:
        x = g.op("Cast", [x], "output_fp32", to=TensorProto.FLOAT)
    if margin_crop is not None:  # one Slice cuts off the margin and the alignment padding
        x = g.op("Slice", [x, *margin_crop, g.const("crop_axes", np.array([2, 3], np.int64))], "margin_crop")
    elif hw is not None:
        x = _crop(g, x, hw)
    if io == "frame":
        lo = g.const("lo", np.array(0.0, np.float32))
        hi = g.const("hi", np.array(255.0, np.float32))
        x = g.op("Clip", [x, lo, hi], "clip")
        x = g.op("Round", [x], "round")  # round-half-even, as cv2/numpy rounding
        if folded is None:
            x = g.op("Gather", [x, g.const("rgb_to_bgr", np.array([2, 1, 0], np.int64))], "bgr", axis=1)
        x = g.op("Transpose", [x], "nhwc", perm=[0, 2, 3, 1])
        g.nodes.append(helper.make_node("Cast", [x], ["stylized"], name="stylized", to=TensorProto.UINT8))
        graph_output = helper.make_tensor_value_info("stylized", TensorProto.UINT8, ["batch", *hw_dims, 3])
    else:
        g.nodes.append(helper.make_node("Identity", [x], ["output"], name="output"))
        graph_output = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 3, *hw_dims])

    used = {name for node in g.nodes for name in node.input}  # (a fixed size's align crop, cut by the margin's)
    initializers = [init for init in g.initializers if init.name in used]
    graph = helper.make_graph(g.nodes, f"rtstyle_{spec.name}", [graph_input], [graph_output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="rtstyle",
                              producer_version=__version__)
    model.ir_version = IR_VERSION
    record = {"rtstyle_io": io, "rtstyle_precision": "fp16" if fp16 else "fp32",
              "rtstyle_instance_norm": "decomposed" if decompose_instance_norm else "op", **(metadata or {}),
              **({BORDER_MARGIN_METADATA: str(border_margin)} if border_margin else {}), **IMAGE_METADATA[io]}
    _describe_io(model, io, (metadata or {}).get("rtstyle_style", spec.name), fixed_hw, border_margin)
    for key, value in record.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return model
