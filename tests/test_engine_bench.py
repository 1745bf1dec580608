"""`rtstyle bench`: JSON columns and sane numbers on tiny sizes; configuration planning."""

import json

import pytest

from conftest import requires_torch
from helpers import assert_one_line_error, run_cli
from rtstyle.engine.bench import (BenchConfig, format_table, parse_sizes, plan_configs, plan_style_configs,
                                  resolve_devices)
from rtstyle.errors import RtstyleError

COLUMNS = {"backend", "engine", "device", "precision", "size", "width", "height", "frames", "median_ms", "p95_ms",
           "fps", "peak_mem_mb", "mem_kind", "speedup", "baseline", "style"}


@requires_torch
def test_bench_json_has_the_columns_and_sane_numbers(capsys):
    # No --style: random weights of the architecture, so it works on a fresh install.
    result = run_cli(["bench", "--arch-arg", "width=8", "--arch-arg", "blocks=1", "--sizes", "32x24,17x9",
                      "--frames", "3", "--warmup", "1", "--threads", "1", "--json"], capsys)
    assert result.exit_code == 0, result
    report = json.loads(result.out)
    assert {"cpu", "onnxruntime", "date", "threads"} <= set(report["machine"])
    rows = report["results"]
    assert [(r["size"], r["backend"]) for r in rows] == [("32x24", "torch"), ("32x24", "onnx"),
                                                         ("17x9", "torch"), ("17x9", "onnx")]
    for row in rows:
        assert set(row) == COLUMNS
        assert row["device"] == "cpu" and row["precision"] == "fp32" and row["frames"] == 3
        assert 0 < row["median_ms"] <= row["p95_ms"] < 60_000
        assert row["fps"] == pytest.approx(1000 / row["median_ms"], rel=0.01)
        assert row["peak_mem_mb"] is None or 0 <= row["peak_mem_mb"] < 4096
    baseline = [r for r in rows if r["baseline"]]
    assert len(baseline) == 2 and all(r["engine"] == "torch eager cpu fp32" and r["speedup"] == 1 for r in baseline)
    onnx = [r for r in rows if r["backend"] == "onnx"]
    assert all(r["engine"].startswith("onnxruntime CPUExecutionProvider") for r in onnx)
    for row in onnx:
        base = next(b for b in baseline if b["size"] == row["size"])
        assert row["speedup"] == pytest.approx(base["median_ms"] / row["median_ms"], rel=0.02)


@requires_torch
def test_bench_table_output(small_style, capsys):
    result = run_cli(["bench", "-s", str(small_style), "--backends", "onnx", "--sizes", "16x16", "--frames", "1",
                      "--warmup", "0"], capsys)
    assert result.exit_code == 0, result
    lines = result.out.strip().splitlines()
    assert "onnxruntime" in lines[0] and "cores" in lines[0] and "; 1 frame after 0 warm-up" in lines[0]
    assert lines[1].startswith("| size") and "vs torch eager" in lines[1] and "mem growth MB" in lines[1]
    assert any(line.endswith(" baseline |") for line in lines) and any(line.endswith("x |") for line in lines[3:])


def test_bench_bad_options_are_one_line(capsys):
    assert_one_line_error(run_cli(["bench", "--sizes", "640by480"], capsys), "bad frame size")
    assert_one_line_error(run_cli(["bench", "--backends", "tensorflow"], capsys), "unknown backend")
    assert_one_line_error(run_cli(["bench", "--precisions", "int4"], capsys), "unknown precision")
    assert_one_line_error(run_cli(["bench", "--arch-arg", "width"], capsys), "bad --arch-arg")
    assert_one_line_error(run_cli(["bench", "--arch", "nope", "--sizes", "8x8", "--frames", "1"], capsys),
                          "unknown architecture")


def test_bench_refuses_arch_options_beside_a_style(small_style, capsys):
    # A style has its own architecture; --arch beside it used to be silently ignored.
    for extra in (["--arch", "fast"], ["--arch", "johnson"], ["--arch-arg", "width=8"]):
        assert_one_line_error(run_cli(["bench", "-s", str(small_style), *extra, "--sizes", "8x8", "--frames", "1"],
                                      capsys), extra[0], "--style")


def test_parse_sizes():
    assert parse_sizes("320x240, 1920X1080") == [(320, 240), (1920, 1080)]
    for bad in ["", "0x10", "10x", "axb", "1x2x3"]:
        with pytest.raises(RtstyleError):
            parse_sizes(bad)


def test_plan_configs_adds_the_torch_eager_baseline_per_device():
    cpu = plan_configs(["onnx", "torch"], ["cpu"], ["fp32", "fp16"], torch_installed=True)
    assert [c.key for c in cpu] == ["torch eager cpu fp32", "onnx cpu fp32", "onnx cpu fp16"]
    assert [c.baseline for c in cpu] == [True, False, False]
    gpu = plan_configs(["onnx", "torch"], ["cuda"], ["fp32", "fp16"], torch_installed=True)
    assert [c.key for c in gpu] == ["torch eager cuda fp32", "onnx cuda fp32", "onnx cuda fp16",
                                    "torch compiled cuda fp32", "torch compiled cuda fp16"]
    no_torch = plan_configs(["onnx"], ["cpu"], ["fp32"], torch_installed=False)
    assert no_torch == [BenchConfig("onnx", "cpu", "fp32")]
    with pytest.raises(RtstyleError, match="needs PyTorch"):
        plan_configs(["torch"], ["cpu"], ["fp32"], torch_installed=False)


def test_plan_style_configs_one_baseline_for_all_styles():
    configs = plan_style_configs(["a", "b", "m.onnx"], ["onnx", "torch"], ["cpu"], ["fp32", "int8"],
                                 torch_installed=True)
    assert [c.key for c in configs] == ["a: torch eager cpu fp32", "a: onnx cpu fp32", "a: onnx cpu int8",
                                        "b: torch eager cpu fp32", "b: onnx cpu fp32", "b: onnx cpu int8",
                                        "m.onnx: onnx cpu fp32"]  # an exported model: one precision, no torch
    assert [c.key for c in configs if c.baseline] == ["a: torch eager cpu fp32"]
    gpu = plan_style_configs(["a"], ["onnx", "torch"], ["cuda"], ["fp16", "int8"], torch_installed=True)
    assert "a: torch compiled cuda int8" not in [c.key for c in gpu]  # int8 is onnx only


@requires_torch
def test_bench_compares_styles_in_one_run_against_the_first(small_style, tmp_path, capsys):
    from conftest import random_style_weights
    from rtstyle.models.registry import create_spec
    from rtstyle.styles.format import StyleFile, save_style_file

    fast = tmp_path / "quick-fast.safetensors"
    save_style_file(fast, StyleFile("fast", {"width": 8, "blocks": 1}, random_style_weights("fast", width=8, blocks=1),
                                    {"name": "quick-fast"}))
    result = run_cli(["bench", "-s", str(small_style), "-s", str(fast), "--precisions", "fp32,int8", "--sizes",
                      "40x32", "--frames", "2", "--warmup", "1", "--threads", "1", "--json"], capsys)
    assert result.exit_code == 0, result
    rows = json.loads(result.out)["results"]
    small = f"smallstyle: johnson ({create_spec('johnson', width=8, blocks=1).macs_per_pixel() / 1000:.3g}k MAC/px)"
    quick = f"quick-fast: fast ({create_spec('fast', width=8, blocks=1).macs_per_pixel() / 1000:.3g}k MAC/px)"
    assert [(r["style"], r["backend"], r["precision"]) for r in rows] == [
        (small, "torch", "fp32"), (small, "onnx", "fp32"), (small, "onnx", "int8"),
        (quick, "torch", "fp32"), (quick, "onnx", "fp32"), (quick, "onnx", "int8")]
    base = rows[0]
    assert base["baseline"] and not any(r["baseline"] for r in rows[1:])
    for row in rows[1:]:  # every style is compared with the first style's torch eager fp32
        assert row["speedup"] == pytest.approx(base["median_ms"] / row["median_ms"], rel=0.02)
    assert "int8" in rows[2]["engine"]
    table = run_cli(["bench", "-s", f"{small_style},{fast}", "--backends", "onnx", "--sizes", "16x16",
                     "--frames", "1", "--warmup", "0"], capsys)  # a list, as image and video take it
    assert table.exit_code == 0, table
    assert "| style" in table.out and "quick-fast: fast" in table.out and "smallstyle: johnson" in table.out
    assert_one_line_error(run_cli(["bench", "-s", str(small_style), "-s", "no-such-style", "--sizes", "8x8"], capsys),
                          "no-such-style")


def test_resolve_devices_prefers_a_gpu_provider():
    assert resolve_devices("auto", ["TensorrtExecutionProvider", "CPUExecutionProvider"]) == ["cuda"]
    assert resolve_devices("cpu", ["CUDAExecutionProvider"]) == ["cpu"]


def test_format_table_aligns_columns():
    from rtstyle.engine.bench import BenchResult

    rows = [BenchResult("onnx", "onnxruntime CPU fp32", "cpu", "fp32", "8x8", 8, 8, 2, 1.25, 2.5, 800.0, 3.0,
                        "rss growth", 2.0)]
    table = format_table(rows).splitlines()
    assert len({len(line) for line in table}) == 1
    assert "2.00x" in table[2] and "800.0" in table[2]


def test_bench_an_exported_onnx_model_and_cuda_without_gpu(tmp_path, small_style, capsys):
    from rtstyle.export.exporter import export_style

    model = tmp_path / "m.onnx"
    export_style(str(small_style), model, sizes=((8, 8),))
    result = run_cli(["bench", "-s", str(model), "--sizes", "24x16", "--frames", "2", "--warmup", "0", "--json"],
                     capsys)
    assert result.exit_code == 0, result
    rows = json.loads(result.out)["results"]
    assert [r["backend"] for r in rows] == ["onnx"] and rows[0]["speedup"] is None  # no torch row for a .onnx
    assert_one_line_error(run_cli(["bench", "--device", "cuda", "--sizes", "8x8", "--frames", "1"], capsys),
                          "--device cuda")


def test_bench_runs_an_exported_model_at_its_own_precision(small_style, tmp_path, capsys):
    import onnx

    model = tmp_path / "m.onnx"
    assert run_cli(["export", str(small_style), "-o", str(model)], capsys).exit_code == 0
    relabelled = onnx.load(str(model))  # labelled as quantize labels its models (timing does not care)
    next(p for p in relabelled.metadata_props if p.key == "rtstyle_precision").value = "int8"
    onnx.save(relabelled, str(tmp_path / "q.onnx"))
    args = ["bench", "--sizes", "16x16", "--frames", "1", "--warmup", "0"]
    assert_one_line_error(run_cli([*args, "-s", str(tmp_path / "q.onnx"), "--precisions", "fp32,fp16"], capsys),
                          "exported as int8", "--precisions fp32,fp16")
    for extra in ([], ["--precisions", "fp32,int8"]):  # its own precision, given or not
        result = run_cli([*args, "-s", str(tmp_path / "q.onnx"), "--json", *extra], capsys)
        assert result.exit_code == 0, result
        assert [r["precision"] for r in json.loads(result.out)["results"]] == ["int8"]
    assert_one_line_error(run_cli([*args, "-s", str(model), "--backends", "torch"], capsys),
                          "runs on onnxruntime only", "--backends onnx")
