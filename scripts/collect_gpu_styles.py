#!/usr/bin/env python3
"""Pack the styles a GPU call trained (`scripts/train_builtins_gpu.sh`'s results.tar) into the package.

Each style goes through scripts/pack_builtin_style.py; a `finish` run (started from the built-in of the same name)
keeps its parent's history (--fine-tuned-from). Its loss log is appended to docs/train/gpu/NAME_losses.jsonl as
the next stage. Usage:
    python scripts/collect_gpu_styles.py /work/.device/.../results.tar
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from rtstyle.styles.format import load_style_file

REPO = Path(__file__).resolve().parent.parent
LOSS_LOGS = REPO / "docs/train/gpu"


def append_stage(log: Path, target: Path) -> int:
    """Append a run's loss records to target, numbered as the stage after the last one there; that stage."""
    old = [json.loads(line) for line in target.read_text().splitlines() if line.strip()] if target.exists() else []
    stage = max((record.get("stage", 1) for record in old), default=0) + 1
    records = [{"stage": stage, **json.loads(line)} for line in log.read_text().splitlines() if line.strip()]
    with target.open("a") as out:
        out.writelines(json.dumps(record) + "\n" for record in records)
    return stage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="results.tar from the GPU call")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with tarfile.open(args.results) as tar:
                tar.extractall(tmp, filter="data")  # our own archive, but never trust paths in one
        except (OSError, tarfile.TarError) as exc:
            print(f"collect_gpu_styles: error: cannot read {args.results}: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 2
        for style_path in sorted(Path(tmp, "out").glob("*.safetensors")):
            name = style_path.stem
            parent = ["--fine-tuned-from", name] if load_style_file(style_path).metadata.get("init") == name else []
            packing = subprocess.run([sys.executable, str(REPO / "scripts/pack_builtin_style.py"), str(style_path),
                                      "--name", name, *parent])
            if packing.returncode != 0:
                print(f"{name}: not packed (see above); the built-in is unchanged", file=sys.stderr)
                continue
            log = Path(tmp, "runs", name, "losses.jsonl")
            if log.exists():
                LOSS_LOGS.mkdir(parents=True, exist_ok=True)
                stage = append_stage(log, LOSS_LOGS / f"{name}_losses.jsonl")
                print(f"{name}: loss log appended as stage {stage}")
    print("next: scripts/make_styles_doc.py, the gallery and the quality report (docs/train/README.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
