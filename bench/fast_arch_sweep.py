"""The design sweep behind the fast architectures (docs/benchmarks.md, "Design by measurement").

    python bench/fast_arch_sweep.py [--rounds 10]

Candidate specs between `johnson` and `fast`, each run through onnxruntime's "frame" graph (pre- and
post-processing included) at 320x240 and 640x480, round-robin in one process. Prints one table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from fast_arch import machine, round_robin  # noqa: E402

from rtstyle.models.fast import separable_residual_block  # noqa: E402
from rtstyle.models.spec import Conv, NetSpec, Residual  # noqa: E402
from rtstyle.models.weights import expected_weight_shapes  # noqa: E402


def candidate(width: int, blocks: int, *, stem_stride: int = 1, stem_k: int = 9, out_k: int = 9,
              separable: bool = True) -> NetSpec:
    """Johnson's layout with the knobs the sweep turns: stem stride and kernel, output kernel, block type."""
    w1, w2, w3 = width, 2 * width, 4 * width
    block = separable_residual_block if separable else (
        lambda c: Residual(body=(Conv(c, c, 3), Conv(c, c, 3, act="none"))))
    layers = [Conv(3, w1, stem_k, stride=stem_stride), Conv(w1, w2, 3, stride=2), Conv(w2, w3, 3, stride=2),
              *(block(w3) for _ in range(blocks)), Conv(w3, w2, 3, upsample=2), Conv(w2, w1, 3, upsample=2)]
    layers.append(Conv(w1, 3, out_k, upsample=stem_stride, norm=False, act="none"))
    return NetSpec(name="candidate", layers=tuple(layers))


CANDIDATES = {
    "johnson (w32, 5 full blocks)": candidate(32, 5, separable=False),
    "johnson w16, 5 full blocks": candidate(16, 5, separable=False),
    "johnson w16, 3 full blocks": candidate(16, 3, separable=False),
    "s1 stem, w16, 3 sep blocks, 9x9 out": candidate(16, 3),
    "s1 stem, w16, 3 sep, 3x3 stem + out": candidate(16, 3, stem_k=3, out_k=3),
    "s1 stem, w8, 3 sep blocks": candidate(8, 3),
    "s2 stem, w16, 3 sep, 5x5 out": candidate(16, 3, stem_stride=2, out_k=5),
    "s2 stem, w16, 3 sep, 9x9 out": candidate(16, 3, stem_stride=2, out_k=9),
    "s2 stem, w16, 5 full blocks, 3x3 out": candidate(16, 5, stem_stride=2, out_k=3, separable=False),
    "s2 stem, w24, 3 sep, 3x3 out": candidate(24, 3, stem_stride=2, out_k=3),
    "s2 stem, w32, 5 sep, 3x3 out": candidate(32, 5, stem_stride=2, out_k=3),
    "= fast (s2, w16, 5 sep, 3x3 out)": candidate(16, 5, stem_stride=2, out_k=3),
    "= fast-tiny (s2, w8, 3 sep, 3x3 out)": candidate(8, 3, stem_stride=2, out_k=3),
}


def random_weights(spec: NetSpec) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {name: rng.normal(0, 0.1, shape).astype(np.float32) for name, shape in expected_weight_shapes(spec).items()}


def main() -> None:
    import onnxruntime as ort

    from rtstyle.engine.onnx_backend import load_session
    from rtstyle.export.onnx_graph import build_onnx

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        sessions: dict[str, ort.InferenceSession] = {}
        for i, (name, spec) in enumerate(CANDIDATES.items()):
            path = Path(tmp) / f"c{i}.onnx"
            path.write_bytes(build_onnx(spec, random_weights(spec), io="frame").SerializeToString())
            sessions[name] = load_session(path, ["CPUExecutionProvider"])
        print(f"machine: {machine()}\n{args.rounds} rounds round-robin (3 for the johnson-size nets)\n")
        print(f"{'candidate':<38} {'MAC/px':>8} {'params':>9} {'320x240 ms':>10} {'640x480 ms':>10}")
        results: dict[str, list[float]] = {name: [] for name in CANDIDATES}
        for width, height in ((320, 240), (640, 480)):
            frame = np.random.default_rng(0).integers(0, 256, (1, height, width, 3), dtype=np.uint8)
            heavy = {k: s for k, s in sessions.items() if CANDIDATES[k].macs_per_pixel() > 30_000}
            light = {k: s for k, s in sessions.items() if k not in heavy}
            for group, rounds in ((heavy, 3), (light, args.rounds)):
                times = round_robin({k: (lambda s=s: s.run(None, {"frame": frame})) for k, s in group.items()},
                                    rounds, warmup=1)
                for name, t in times.items():
                    results[name].append(float(np.median(t)))
        for name, spec in CANDIDATES.items():
            t320, t640 = results[name]
            print(f"{name:<38} {spec.macs_per_pixel() / 1000:>7.1f}k {spec.num_params():>9,} {t320:>10.1f} {t640:>10.1f}")


if __name__ == "__main__":
    main()
