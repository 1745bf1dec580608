"""The core install path: `rtstyle image --backend onnx` with torch made unimportable."""

import os
import subprocess
import sys
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parent.parent

# Loaded by the interpreter at start-up from PYTHONPATH: every import finder is wrapped so that it does
# not see torch; `import torch` raises ModuleNotFoundError and importlib.util.find_spec("torch") is None,
# exactly as in an install without torch.
BLOCKER = """
import sys

class _HideTorch:
    def __init__(self, inner):
        self.inner = inner

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            return None
        find = getattr(self.inner, "find_spec", None)
        return find(name, path, target) if find else None

    def __getattr__(self, attr):
        return getattr(self.inner, attr)

sys.meta_path[:] = [_HideTorch(finder) for finder in sys.meta_path]
"""


def run_without_torch(tmp_path: Path, args: list[str]) -> subprocess.CompletedProcess:
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), str(REPO)])}
    return subprocess.run([sys.executable, "-m", "rtstyle", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_shim_really_blocks_torch(tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": str(shim)}
    probe = subprocess.run([sys.executable, "-c", "import importlib.util; assert importlib.util.find_spec('torch') "
                            "is None; import torch"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "ModuleNotFoundError: No module named 'torch'" in probe.stderr


def test_image_with_onnx_backend_runs_without_torch(tmp_path, small_style, photo):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), photo[:37, :53])
    out = tmp_path / "out.png"
    result = run_without_torch(tmp_path, ["image", str(src), "-s", str(small_style), "--backend", "onnx",
                                          "-o", str(out)])
    assert result.returncode == 0, result.stderr
    assert "onnxruntime CPUExecutionProvider" in result.stderr
    stylized = cv2.imread(str(out))
    assert stylized.shape == (37, 53, 3) and stylized.std() > 3
    # The torch backend, asked for explicitly, says how to get torch instead of crashing.
    result = run_without_torch(tmp_path, ["image", str(src), "-s", str(small_style), "--backend", "torch",
                                          "-o", str(tmp_path / "t.png")])
    assert result.returncode == 2 and "needs PyTorch" in result.stderr and "Traceback" not in result.stderr


def test_export_without_torch_checks_against_the_onnx_graph(tmp_path, small_style):
    result = run_without_torch(tmp_path, ["export", str(small_style), "-o", str(tmp_path / "m.onnx"), "--fp16"])
    assert result.returncode == 0, result.stderr
    assert "parity vs onnx fp32 graph" in result.stderr
    assert (tmp_path / "m.onnx").stat().st_size > 1000


def test_plain_bench_times_onnxruntime_without_torch(tmp_path):
    # Its backends default to onnx and torch: the core install refused `rtstyle bench` ("--backends torch needs
    # PyTorch") though nobody asked for torch.
    result = run_without_torch(tmp_path, ["bench", "--arch", "fast", "--sizes", "16x16", "--frames", "1",
                                          "--warmup", "0"])
    assert result.returncode == 0, result.stderr
    assert "| onnx " in result.stdout and "torch " not in result.stdout.splitlines()[0]
    # Asked for by name, the torch backend still says how to get torch.
    result = run_without_torch(tmp_path, ["bench", "--backends", "torch", "--sizes", "16x16"])
    assert result.returncode == 2 and "needs PyTorch" in result.stderr and "Traceback" not in result.stderr
