"""`rtstyle export`: atomic, parity-checked, fp16 and TensorRT-safe graphs."""

import json
import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

from conftest import HAS_TORCH, random_style_weights, requires_torch
from helpers import assert_one_line_error, run_cli
from rtstyle.export import exporter
from rtstyle.export.onnx_graph import INSTANCE_NORM_EPS, build_onnx
from rtstyle.models.registry import create_spec
from rtstyle.models.weights import conv_prefixes

if HAS_TORCH:  # the core install has none: the tests that use it are marked requires_torch
    import torch

    from rtstyle.models.torch_net import StyleNet

FAST_SIZES = ((1, 1), (13, 21), (32, 32), (45, 31))


def ops(model):
    return {node.op_type for node in model.graph.node}


@requires_torch
def test_export_writes_a_dynamic_model_and_reports_parity(tmp_path, small_style, capsys):
    out = tmp_path / "s.onnx"
    result = run_cli(["export", str(small_style), "-o", str(out)], capsys)
    assert result.exit_code == 0, result
    assert "parity vs torch StyleNet fp32" in result.err and "77x101" in result.err
    assert "frame io, uint8 NHWC BGR 0..255 in and out" in result.out  # what to feed it, said where it was written
    model = onnx.load(out)
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "height", "width", 3]  # no baked dummy shape (onnx/models#189)
    assert model.opset_import[0].version == 17
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["rtstyle_style"] == "smallstyle" and meta["rtstyle_precision"] == "fp32"
    assert json.loads(meta["rtstyle_arch_kwargs"]) == {"blocks": 1, "width": 8}
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for shape in [(1, 7, 9, 3), (2, 33, 18, 3)]:
        assert session.run(None, {"frame": np.zeros(shape, np.uint8)})[0].shape == shape
    assert not list(tmp_path.glob(".*part*"))


@pytest.mark.parametrize("io", ["tensor", "frame"])
@pytest.mark.parametrize("fp16", [False, True])
def test_parity_within_documented_tolerances(tmp_path, small_style, io, fp16):
    report = exporter.export_style(str(small_style), tmp_path / "m.onnx", io=io, fp16=fp16, sizes=FAST_SIZES)
    by_onnxruntime = [c for c in report.cases if c.runtime == "onnxruntime"]
    assert len(by_onnxruntime) == 2 * len(FAST_SIZES)
    assert {c.source for c in report.cases} == {"random", "real"}
    assert report.max_diff <= report.tolerance
    in_fp16 = [c for c in report.cases if c.runtime == exporter.FP16_ARITHMETIC]
    assert len(in_fp16) == (2 * len(exporter.FP16_ARITHMETIC_SIZES) if fp16 else 0)
    if fp16:
        assert report.tolerance == exporter.FP16_TOLERANCE
        assert max(c.max_diff for c in in_fp16) > 0  # fp16 really ran in fp16
    elif io == "tensor":
        assert report.tolerance == 1e-3 and report.max_diff < 1e-4


@requires_torch
def test_failed_parity_keeps_the_users_file_and_is_one_line(tmp_path, small_style, capsys, monkeypatch):
    out = tmp_path / "keep.onnx"
    out.write_bytes(b"the user's earlier model")
    real_build = exporter.build_onnx

    def off_by_a_little(spec, weights, **kwargs):
        broken = dict(weights)
        last = list(conv_prefixes(spec))[-1][0] + ".conv.bias"  # the output layer: no norm after it
        broken[last] = broken[last] + 0.5  # half a level on 0..255: 2e-3 on the 0..1 scale
        return real_build(spec, broken, **kwargs)

    monkeypatch.setattr(exporter, "build_onnx", off_by_a_little)
    result = run_cli(["export", str(small_style), "-o", str(out), "--io", "tensor", "--overwrite"], capsys)
    assert_one_line_error(result, "parity check failed", "not written")
    assert out.read_bytes() == b"the user's earlier model"
    assert not list(tmp_path.glob(".*part*"))


def test_export_bad_inputs(tmp_path, small_style, capsys):
    assert_one_line_error(run_cli(["export", "no-such-style", "-o", str(tmp_path / "a.onnx")], capsys), "unknown style")
    assert_one_line_error(run_cli(["export", str(small_style), "-o", str(tmp_path / "a.txt")], capsys), ".onnx")
    corrupt = tmp_path / "c.safetensors"
    corrupt.write_bytes(small_style.read_bytes()[:500])
    assert_one_line_error(run_cli(["export", str(corrupt), "-o", str(tmp_path / "a.onnx")], capsys), "corrupt")


def test_export_replaces_an_existing_file_only_with_overwrite(tmp_path, small_style, capsys):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"\x00garbage from an interrupted copy")
    assert_one_line_error(run_cli(["export", str(small_style), "-o", str(out)], capsys), "exists", "--overwrite")
    assert out.read_bytes() == b"\x00garbage from an interrupted copy"
    assert run_cli(["export", str(small_style), "-o", str(out), "--overwrite"], capsys).exit_code == 0
    onnx.checker.check_model(onnx.load(out))


def test_fp16_graph_keeps_instance_norm_in_fp32():
    spec = create_spec("johnson", width=8, blocks=1)
    model = build_onnx(spec, random_style_weights(width=8, blocks=1), fp16=True)
    types = {init.name: init.data_type for init in model.graph.initializer}
    conv_weights = [n for n in types if n.endswith("conv.weight")]
    assert conv_weights and all(types[n] == onnx.TensorProto.FLOAT16 for n in conv_weights)
    producers = {out: node for node in model.graph.node for out in node.output}
    for node in model.graph.node:
        if node.op_type == "InstanceNormalization":
            cast = producers[node.input[0]]
            assert cast.op_type == "Cast" and cast.attribute[0].i == onnx.TensorProto.FLOAT
            assert types[node.input[1]] == onnx.TensorProto.FLOAT


@requires_torch
def test_fp16_instance_norm_survives_large_activations():
    # Activations of about 15000: they fit in float16 (max 65504), their squares do not, so a norm computed
    # in float16 returns inf/nan (onnxruntime#10079); ours is computed in float32. (x300 made the convolution's
    # own output overflow, 1.5e5, which no graph survives in fp16.)
    spec = create_spec("johnson", width=8, blocks=1)
    weights = random_style_weights(width=8, blocks=1)
    weights["layers.0.conv.weight"] = weights["layers.0.conv.weight"] * 30
    x = (np.random.default_rng(0).random((1, 3, 40, 40)) * 255).astype(np.float32)
    net = StyleNet(spec)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    with torch.no_grad():
        expected = net.eval()(torch.from_numpy(x)).numpy()
    # onnxruntime's CPU provider runs an fp16 graph in float32, where nothing overflows: onnx's reference
    # runtime computes in float16 as written.
    got = ReferenceEvaluator(build_onnx(spec, weights, fp16=True)).run(None, {"input": x})[0]
    assert np.isfinite(got).all()
    assert np.abs(got - expected).max() / 255 < exporter.FP16_TOLERANCE


def test_fp16_export_refuses_a_style_that_overflows_float16(tmp_path, capsys):
    """onnxruntime on the CPU computes an fp16 graph in float32, so only the float16-arithmetic case sees
    that this style's first convolution overflows float16 (max 65504) and gives a GPU inf and nan."""
    from rtstyle.styles.format import StyleFile, save_style_file

    weights = random_style_weights(width=8, blocks=1)
    weights["layers.0.conv.weight"] = weights["layers.0.conv.weight"] * 3000  # outputs of ~1e5; norm follows
    style = tmp_path / "loud.safetensors"
    save_style_file(style, StyleFile("johnson", {"width": 8, "blocks": 1}, weights, {"name": "loud"}))
    out = tmp_path / "loud.onnx"
    assert_one_line_error(run_cli(["export", str(style), "-o", str(out), "--fp16"], capsys),
                          "parity check failed", "float16 arithmetic", "not written", "without --fp16")
    assert not out.exists() and not list(tmp_path.glob(".*part*"))
    assert run_cli(["export", str(style), "-o", str(out)], capsys).exit_code == 0  # fp32 is fine


@requires_torch
@pytest.mark.parametrize("fp16", [False, True])
def test_decomposed_instance_norm_has_exact_eps_and_matches(fp16):
    """The TensorRT graph: no InstanceNormalization op (NVIDIA/TensorRT#260), epsilon exactly 1e-5."""
    spec = create_spec("johnson", width=8, blocks=1)
    weights = random_style_weights(width=8, blocks=1)
    plain = build_onnx(spec, weights, io="tensor", fp16=fp16)
    decomposed = build_onnx(spec, weights, io="tensor", fp16=fp16, decompose_instance_norm=True)
    assert "InstanceNormalization" in ops(plain)
    assert "InstanceNormalization" not in ops(decomposed)
    assert {"ReduceMean", "Sqrt", "Div"} <= ops(decomposed)
    eps = [onnx.numpy_helper.to_array(i) for i in decomposed.graph.initializer if i.name.startswith("in_eps")]
    assert len(eps) == sum(c.norm for c in spec.convs()) and all(e.dtype == np.float32 and e == np.float32(INSTANCE_NORM_EPS) for e in eps)
    # A nearly flat channel is where eps 1e-4 and 1e-5 differ: include a flat image.
    x = np.concatenate([np.full((1, 3, 24, 40), 90.0, np.float32),
                        (np.random.default_rng(1).random((1, 3, 24, 40)) * 255).astype(np.float32)])
    run = lambda m: ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]  # noqa: E731
    net = StyleNet(spec)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    with torch.no_grad():
        expected = net.eval()(torch.from_numpy(x)).numpy()
    tolerance = exporter.FP16_TOLERANCE if fp16 else 1e-3
    assert np.abs(run(decomposed) - expected).max() / 255 < tolerance
    assert np.abs(run(decomposed) - run(plain)).max() / 255 < tolerance


def test_parity_reference_without_torch_is_the_fp32_graph(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("blocked")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    spec = create_spec("johnson", width=8, blocks=1)
    name, fn = exporter.reference_fn(spec, random_style_weights(width=8, blocks=1))
    assert name.startswith("onnx fp32 graph")
    assert fn(np.zeros((1, 3, 5, 7), np.float32)).shape == (1, 3, 5, 7)


def test_frame_graph_folds_the_channel_swap_into_the_weights(photo):
    spec = create_spec("johnson", width=8, blocks=1)
    weights = random_style_weights(width=8, blocks=1)
    folded = build_onnx(spec, weights, io="frame")
    gathered = build_onnx(spec, weights, io="frame", fold_channel_order=False)
    assert "Gather" not in ops(folded) and "Gather" in ops(gathered)
    frame = np.ascontiguousarray(photo[None, :57, :83])
    run = lambda m: ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"frame": frame})[0]  # noqa: E731
    a, b = run(folded).astype(int), run(gathered).astype(int)
    assert np.abs(a - b).max() <= 1 and (a != b).mean() < 0.01
    assert weights["layers.0.conv.weight"][0, 0, 0, 0] == random_style_weights(width=8, blocks=1)["layers.0.conv.weight"][0, 0, 0, 0]  # caller's dict untouched


def run_as_the_model_describes_itself(path, bgr_photo):
    """What a user of another runtime can do with nothing but the file: read the standard ONNX image
    metadata (channel order, range) and dimension denotations (layout), prepare the photo, run, and undo."""
    model = onnx.load(path)
    meta = {p.key: p.value for p in model.metadata_props}
    value = model.graph.input[0]
    layout = [d.denotation for d in value.type.tensor_type.shape.dim]
    image = bgr_photo if meta["Image.BitmapPixelFormat"] == "Bgr8" else bgr_photo[:, :, ::-1]
    assert meta["Image.NominalPixelRange"] == "NominalRange_0_255"  # else the photo would be rescaled
    dtype = onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
    channels_first = layout.index("DATA_CHANNEL") == 1
    x = (image.transpose(2, 0, 1) if channels_first else image)[None].astype(dtype)
    y = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {value.name: x})[0][0]
    y = y.transpose(1, 2, 0) if channels_first else y
    y = np.clip(y, 0, 255).round().astype(np.uint8)
    return y if meta["Image.BitmapPixelFormat"] == "Bgr8" else y[:, :, ::-1]


@pytest.mark.parametrize("io", ["frame", "tensor"])
def test_the_model_file_says_what_its_input_and_output_are(tmp_path, small_style, photo, capsys, io):
    """Channel order, layout and value range are in the model itself (a float NCHW input reads as RGB
    0..1 to most users; the frame model's BGR is not something anyone guesses)."""
    from rtstyle.engine import create_stylizer

    out = tmp_path / f"{io}.onnx"
    assert run_cli(["export", str(small_style), "-o", str(out), "--io", io], capsys).exit_code == 0
    bgr = np.ascontiguousarray(photo[:45, :61])
    expected = create_stylizer(str(small_style), backend="onnx", device="cpu")(bgr)  # with rtstyle's margin
    got = run_as_the_model_describes_itself(out, bgr)
    assert np.abs(got.astype(int) - expected).max() <= 1
    assert np.abs(expected.astype(int)[:, :, ::-1] - expected).mean() > 5  # a swap of R and B would show
    model = onnx.load(out)
    assert model.producer_version  # which rtstyle wrote it
    session_meta = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).get_modelmeta()
    words = ("BGR", "NHWC", "uint8") if io == "frame" else ("RGB", "NCHW", "0..255", "not 0..1", "not clamped")
    assert all(word in session_meta.description for word in words), session_meta.description
    assert all(value.doc_string for value in [*model.graph.input, *model.graph.output])
    assert (model.graph.input[0].type.denotation == "IMAGE") == (io == "tensor")  # Windows ML: IMAGE is float NCHW


def test_quantize_after_an_upgrade_does_not_reuse_the_graph_an_older_version_cached(tmp_path, small_style, capsys,
                                                                                     monkeypatch):
    """The cached float model is what `rtstyle quantize` (and every stylizing command) runs: it is keyed by
    the graph builder's version, so a model built by older code is rebuilt, not quantised as it was."""
    from conftest import DATA
    from rtstyle.engine import onnx_cache
    from rtstyle.export import onnx_graph

    with monkeypatch.context() as older_version:
        older_version.setattr(onnx_cache, "GRAPH_VERSION", onnx_graph.GRAPH_VERSION - 1, raising=False)
        stale = onnx_cache.onnx_for_style(small_style, io="frame")  # what the older version left in the cache
    model = onnx.load(stale)
    model.doc_string = "built by an older rtstyle"
    onnx.save(model, stale)
    out = tmp_path / "q.onnx"
    # --border-margin 0: the cached model itself is quantised (with a margin, an uncached one is built)
    result = run_cli(["quantize", str(small_style), "-o", str(out), "--calibration", str(DATA / "chelsea.png"),
                      "--border-margin", "0"], capsys)
    assert result.exit_code == 0, result
    assert "BGR" in onnx.load(out).doc_string
    assert "int8) in " in result.out and "frame io, uint8 NHWC BGR 0..255 in and out" in result.out
    assert "on 1 calibration frame ..." in result.err


@pytest.mark.parametrize("fp16", [False, True])
def test_fixed_size_export_has_no_shape_arithmetic_and_matches_the_any_size_model(tmp_path, small_style, photo,
                                                                                   capsys, fp16):
    """--size: OpenCV 4's DNN importer stops at a Shape of a dynamic input (`!isDynamicShape`), which the
    any-size model needs for its alignment padding; the fixed-size model computes the padding at export."""
    fixed, free = tmp_path / "fixed.onnx", tmp_path / "free.onnx"
    flags = ["--fp16"] if fp16 else []
    result = run_cli(["export", str(small_style), "-o", str(fixed), "--size", "61x45", *flags], capsys)
    assert result.exit_code == 0, result
    assert "61x45 only" in result.out and "at 61x45" in result.err
    assert ("float16 arithmetic" in result.err) == fp16  # checked on the any-size twin at 53x37
    assert run_cli(["export", str(small_style), "-o", str(free), *flags], capsys).exit_code == 0
    model = onnx.load(fixed)
    assert "Shape" not in ops(model) and "Shape" in ops(onnx.load(free))
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 45, 61, 3]
    assert "height 45 and width 61 only" in model.doc_string
    frames = np.ascontiguousarray(np.stack([photo[:45, :61], photo[45:90, 61:122]]))
    run = lambda path: ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"frame": frames})[0]  # noqa: E731
    assert np.abs(run(fixed).astype(int) - run(free)).max() <= 1


def test_fixed_size_export_larger_than_the_parity_photo_and_bad_sizes(tmp_path, small_style, capsys):
    out = tmp_path / "big.onnx"
    result = run_cli(["export", str(small_style), "-o", str(out), "--size", "700x530"], capsys)
    assert result.exit_code == 0 and "at 700x530" in result.err, result  # the 512 px photo is enlarged for it
    aligned = tmp_path / "aligned.onnx"  # a multiple of 4 already: nothing to pad, nothing to crop
    assert run_cli(["export", str(small_style), "-o", str(aligned), "--size", "64x48"], capsys).exit_code == 0
    assert not any(n.name.startswith(("align_pad", "crop")) for n in onnx.load(aligned).graph.node)
    assert_one_line_error(run_cli(["export", str(small_style), "-o", str(out), "--size", "640", "--overwrite"], capsys),
                          "WIDTHxHEIGHT")
    assert_one_line_error(run_cli(["export", str(small_style), "-o", str(out), "--size", "64x48,32x24",
                                   "--overwrite"], capsys), "WIDTHxHEIGHT")
    assert_one_line_error(run_cli(["export", str(small_style), "-o", str(out), "--size", "8x8",
                                   "--overwrite"], capsys), "--size 8x8 is too small", "at least 16 px")
    # refused before the parity check allocates a frame that size (it ran out of memory)
    assert_one_line_error(run_cli(["export", str(small_style), "-o", str(out), "--size", "30000x20000",
                                   "--overwrite"], capsys), "larger than rtstyle stylizes")


def test_rtstyle_refuses_other_frame_sizes_for_a_fixed_size_model_in_one_line(tmp_path, small_style, photo, capsys):
    import cv2

    model = tmp_path / "fixed.onnx"
    assert run_cli(["export", str(small_style), "-o", str(model), "--size", "40x30"], capsys).exit_code == 0
    for name, pixels in (("right.png", photo[:30, :40]), ("wrong.png", photo[:31, :40])):
        cv2.imwrite(str(tmp_path / name), pixels)
    assert run_cli(["image", str(tmp_path / "right.png"), "-s", str(model), "-o", str(tmp_path / "r.png")],
                   capsys).exit_code == 0
    assert_one_line_error(run_cli(["image", str(tmp_path / "wrong.png"), "-s", str(model), "-o",
                                   str(tmp_path / "w.png")], capsys), "40x30 frames only", "got 40x31")
    from videoclips import BUNNY  # the webcam can be given frames of the model's size: it says how

    assert_one_line_error(run_cli(["webcam", "--source", str(BUNNY), "-s", str(model), "--no-display", "--frames", "2"],
                                  capsys), "40x30 frames only", "(the webcam: --size 40x30)")
    assert run_cli(["webcam", "--source", str(BUNNY), "-s", str(model), "--no-display", "--frames", "2", "--size",
                    "40x30"], capsys).exit_code == 0


def test_quantize_fixed_size_for_opencv4(tmp_path, small_style, capsys, photo):
    from conftest import DATA
    from rtstyle.export.quantize import cover_and_crop

    out = tmp_path / "q.onnx"
    result = run_cli(["quantize", str(small_style), "-o", str(out), "--size", "40x30",
                      "--calibration", str(DATA / "chelsea.png")], capsys)
    assert result.exit_code == 0, result
    assert "40x30 only" in result.out
    assert re.search(r"wrote .*q\.onnx \([\d.]+ MB, int8\) in [\d.]+ s: frame io, uint8 NHWC BGR", result.out), result.out
    model = onnx.load(out)
    assert "Shape" not in ops(model) and "QuantizeLinear" in ops(model)
    assert [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == ["batch", 30, 40, 3]
    frames = np.stack([cover_and_crop(photo, (30, 40))] * 2)
    assert ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"frame": frames})[0].shape == frames.shape
    assert cover_and_crop(photo[:20, :100], (30, 40)).shape == (30, 40, 3)  # too short: scaled up, then cropped
    assert_one_line_error(run_cli(["quantize", str(small_style), "-o", str(out), "--size", "40", "--overwrite"], capsys),
                          "WIDTHxHEIGHT")


# --- the mirrored border margin inside exported models -----------------------------------------------------------
def run_onnxruntime(path, frame):
    """A bare frame through the model as a user's own script runs it: no padding of its own."""
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"frame": frame[None]})[0][0]


def test_an_export_in_plain_onnxruntime_gives_rtstyle_images_result(tmp_path, small_style, photo, capsys):
    """Other runtimes get rtstyle's clean edges from the bare photo: the margin is in the graph."""
    import cv2

    model, picture = tmp_path / "m.onnx", tmp_path / "photo.png"
    result = run_cli(["export", str(small_style), "-o", str(model)], capsys)
    assert result.exit_code == 0, result
    assert "32 px mirrored margin in the graph" in result.out
    bgr = np.ascontiguousarray(photo[40:137, 60:183])
    cv2.imwrite(str(picture), bgr)
    result = run_cli(["image", str(picture), "-s", str(small_style), "-o", str(tmp_path / "r.png")], capsys)
    assert result.exit_code == 0, result
    expected = cv2.imread(str(tmp_path / "r.png")).astype(int)
    assert np.abs(run_onnxruntime(model, bgr).astype(int) - expected).max() <= 1
    meta = {p.key: p.value for p in onnx.load(model).metadata_props}
    assert meta["rtstyle_border_margin"] == "32"
    description = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).get_modelmeta().description
    assert "mirrors 32 px" in description and "no padding of your own" in description
    # what the margin is for: the bare model on the same photo differs from rtstyle's result at the edges
    bare = tmp_path / "bare.onnx"
    result = run_cli(["export", str(small_style), "-o", str(bare), "--border-margin", "0"], capsys)
    assert result.exit_code == 0 and "no margin in the graph" in result.out, result
    assert "rtstyle_border_margin" not in {p.key for p in onnx.load(bare).metadata_props}
    assert not any(n.name.startswith("margin") for n in onnx.load(bare).graph.node)
    assert np.abs(run_onnxruntime(bare, bgr).astype(int) - expected)[:2].mean() > 5


def test_rtstyle_does_not_add_a_second_margin_around_an_export_that_has_one(tmp_path, small_style, photo, capsys):
    import cv2

    from rtstyle.engine import create_stylizer

    with_margin, bare = tmp_path / "m.onnx", tmp_path / "bare.onnx"
    assert run_cli(["export", str(small_style), "-o", str(with_margin)], capsys).exit_code == 0
    assert run_cli(["export", str(small_style), "-o", str(bare), "--border-margin", "0"], capsys).exit_code == 0
    assert create_stylizer(str(with_margin), backend="onnx", device="cpu").border_margin == 0
    assert create_stylizer(str(bare), backend="onnx", device="cpu").border_margin == 32  # rtstyle adds it
    picture = tmp_path / "photo.png"
    cv2.imwrite(str(picture), np.ascontiguousarray(photo[:90, :130]))
    results = {}
    for name, style in (("name", small_style), ("export", with_margin), ("bare", bare)):
        out = tmp_path / f"{name}.png"
        assert run_cli(["image", str(picture), "-s", str(style), "-o", str(out)], capsys).exit_code == 0
        results[name] = cv2.imread(str(out)).astype(int)
    assert np.abs(results["export"] - results["name"]).max() <= 1
    assert np.abs(results["bare"] - results["name"]).max() <= 1


@pytest.mark.parametrize("hw", [(1, 1), (3, 500), (17, 17), (2, 3), (1, 40)])
def test_tiny_frames_get_the_same_mirrored_margin_as_rtstyle_gives_them(tmp_path, small_style, hw):
    """onnxruntime refuses a reflect pad as large as the side ("Pad reflect: pre-pad (32) exceeds maximum allowed
    (16)"); cv2's BORDER_REFLECT_101 reflects again. The graph pads in steps that together give cv2's result."""
    from rtstyle.engine import create_stylizer

    model = tmp_path / "m.onnx"
    exporter.export_style(str(small_style), model, sizes=((1, 1),))
    frame = np.random.default_rng(1).integers(0, 256, (*hw, 3), dtype=np.uint8)
    expected = create_stylizer(str(small_style), backend="onnx", device="cpu")(frame)
    got = run_onnxruntime(model, frame)
    assert got.shape == frame.shape and np.abs(got.astype(int) - expected).max() <= 1


def test_fixed_size_export_smaller_than_its_margin(tmp_path, small_style, photo, capsys):
    """--size 17x16 with a 32 px margin: the reflect steps are constants, still no Shape op (OpenCV 4)."""
    from rtstyle.engine import create_stylizer

    model = tmp_path / "m.onnx"
    assert run_cli(["export", str(small_style), "-o", str(model), "--size", "17x16"], capsys).exit_code == 0
    graph = onnx.load(model)
    assert "Shape" not in ops(graph) and sum(n.name.startswith("margin_pad") for n in graph.graph.node) == 2
    frame = np.ascontiguousarray(photo[100:116, 200:217])
    expected = create_stylizer(str(small_style), backend="onnx", device="cpu")(frame)
    assert np.abs(run_onnxruntime(model, frame).astype(int) - expected).max() <= 1


@pytest.mark.parametrize("size", [None, "61x45"])
def test_opencv_dnn_runs_an_export_with_its_margin(tmp_path, small_style, photo, capsys, size):
    import cv2

    if size is None and int(cv2.__version__.split(".")[0]) < 5:
        pytest.skip(f"OpenCV {cv2.__version__}'s DNN cannot load the any-size model (docs/engine.md): --size is for it")
    model = tmp_path / "m.onnx"
    assert run_cli(["export", str(small_style), "-o", str(model), *(["--size", size] if size else [])],
                   capsys).exit_code == 0
    frame = np.ascontiguousarray(photo[:45, :61])
    net = cv2.dnn.readNetFromONNX(str(model))
    net.setInput(frame[None])
    assert np.abs(net.forward()[0].astype(int) - run_onnxruntime(model, frame)).max() <= 1


def test_quantize_builds_the_margin_into_the_int8_model(tmp_path, small_style, photo, capsys):
    from conftest import DATA
    from rtstyle.engine import create_stylizer

    out = tmp_path / "q.onnx"
    result = run_cli(["quantize", str(small_style), "-o", str(out), "--calibration", str(DATA / "chelsea.png"),
                      "--border-margin", "24"], capsys)
    assert result.exit_code == 0 and "24 px mirrored margin in the graph" in result.out, result
    model = onnx.load(out)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["rtstyle_border_margin"] == "24" and meta["rtstyle_precision"] == "int8"
    assert "QuantizeLinear" in ops(model) and any(n.name.startswith("margin_pad") for n in model.graph.node)
    stylizer = create_stylizer(str(out), backend="onnx", device="cpu")
    assert stylizer.border_margin == 0
    frame = np.ascontiguousarray(photo[:50, :70])
    assert np.array_equal(stylizer(frame), run_onnxruntime(out, frame))
    for bad in ("-1", "100000"):  # a huge one would run the parity frames out of memory
        assert_one_line_error(run_cli(["quantize", str(small_style), "-o", str(out), "--border-margin", bad,
                                       "--overwrite"], capsys), "--border-margin")
        assert_one_line_error(run_cli(["export", str(small_style), "-o", str(out), "--border-margin", bad,
                                       "--overwrite"], capsys), "--border-margin")


@pytest.mark.parametrize("command", ["export", "quantize"])
def test_a_fixed_size_beyond_the_memory_available_is_refused_before_the_work(tmp_path, small_style, capsys,
                                                                             monkeypatch, command):
    # The parity check (export) and the calibration (quantize) run the model at that size: with too little memory
    # they went ahead and could be killed by the OS (an 8K size with the full networks needs tens of GiB).
    import rtstyle.engine.memory as memory

    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 20 * 2**20)
    out = tmp_path / "m.onnx"
    assert_one_line_error(run_cli([command, str(small_style), "-o", str(out), "--size", "1920x1080"], capsys),
                          "1920x1080 frame needs about", "give a smaller --size (up to")
    assert not out.exists()
    assert run_cli([command, str(small_style), "-o", str(out), "--size", "64x48"], capsys).exit_code == 0
