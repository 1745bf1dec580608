#!/usr/bin/env python3
"""Pack the styles a GPU call trained (`scripts/train_builtins_gpu.sh`'s results.tar) into the package.

Each style goes through scripts/pack_builtin_style.py; a `finish` run (started from the built-in of the same name)
keeps its parent's history (--fine-tuned-from). Its loss log is appended to docs/train/gpu/NAME_losses.jsonl as
the next stage. A style replaces its built-in only if scripts/quality_gate.py finds it no worse on the evaluation
photos (needs ../shared); one that is worse is held in runs/held/ with its loss log, the built-in unchanged.
Usage:
    python scripts/collect_gpu_styles.py /work/.device/.../results.tar
    python scripts/collect_gpu_styles.py /work/.device/.../results.tar --only udnie --no-gate   # ship a held one
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from quality_gate import Verdict, check_shared, judge, measure  # noqa: E402

from rtstyle.errors import RtstyleError  # noqa: E402
from rtstyle.styles.catalog import list_styles  # noqa: E402
from rtstyle.styles.format import load_style_file  # noqa: E402

LOSS_LOGS = REPO / "docs/train/gpu"
HELD = REPO / "runs/held"


def append_stage(log: Path, target: Path) -> int:
    """Append a run's loss records to target, numbered as the stage after the last one there; that stage."""
    old = [json.loads(line) for line in target.read_text().splitlines() if line.strip()] if target.exists() else []
    stage = max((record.get("stage", 1) for record in old), default=0) + 1
    records = [{"stage": stage, **json.loads(line)} for line in log.read_text().splitlines() if line.strip()]
    with target.open("a") as out:
        out.writelines(json.dumps(record) + "\n" for record in records)
    return stage


def gate(name: str, trained: Path, shared: Path) -> Verdict:
    """quality_gate's verdict on a trained style against the built-in it would replace (a new name: replace)."""
    if name not in {entry.name for entry in list_styles() if entry.source == "built-in"}:
        return Verdict(True, "a new built-in, nothing to compare with")
    return judge(*measure(name, trained, shared))


def hold(trained: Path, log: Path, held: Path) -> Path:
    """Keep a style the gate turned down, with its loss log, out of the package."""
    held.mkdir(parents=True, exist_ok=True)
    kept = shutil.copy2(trained, held / trained.name)
    if log.exists():
        shutil.copy2(log, held / f"{trained.stem}_losses.jsonl")
    return Path(kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("results", type=Path, help="results.tar from the GPU call")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared",
                        help="the shared folder, for the quality gate's photos, paintings and VGG16")
    parser.add_argument("--no-gate", action="store_true", help="pack without comparing with the built-ins")
    parser.add_argument("--only", help="comma-separated styles to collect (default: all in the archive)")
    parser.add_argument("--held", type=Path, default=HELD, help="where styles the gate turns down are kept")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    if not args.no_gate:
        try:
            check_shared(args.shared)
        except RtstyleError as exc:
            print(f"collect_gpu_styles: error: {exc}, or --no-gate", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with tarfile.open(args.results) as tar:
                tar.extractall(tmp, filter="data")  # our own archive, but never trust paths in one
        except (OSError, tarfile.TarError) as exc:
            print(f"collect_gpu_styles: error: cannot read {args.results}: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 2
        for style_path in sorted(Path(tmp, "out").glob("*.safetensors")):
            name = style_path.stem
            log = Path(tmp, "runs", name, "losses.jsonl")
            if only is not None and name not in only:
                continue
            if not args.no_gate:
                try:
                    verdict = gate(name, style_path, args.shared)
                except RtstyleError as exc:  # e.g. the painting is not in --shared
                    verdict = Verdict(False, f"not measured: {exc}")
                print(f"{name}: {verdict.reason}", flush=True)
                if not verdict.replace:
                    kept = hold(style_path, log, args.held)
                    print(f"{name}: not packed, the built-in is unchanged; held as {kept} (to ship it anyway: "
                          f"collect_gpu_styles.py {args.results} --only {name} --no-gate)", file=sys.stderr)
                    continue
            parent = ["--fine-tuned-from", name] if load_style_file(style_path).metadata.get("init") == name else []
            packing = subprocess.run([sys.executable, str(REPO / "scripts/pack_builtin_style.py"), str(style_path),
                                      "--name", name, *parent])
            if packing.returncode != 0:
                print(f"{name}: not packed (see above); the built-in is unchanged", file=sys.stderr)
                continue
            if log.exists():
                LOSS_LOGS.mkdir(parents=True, exist_ok=True)
                stage = append_stage(log, LOSS_LOGS / f"{name}_losses.jsonl")
                print(f"{name}: loss log appended as stage {stage}")
    print("next: scripts/make_styles_doc.py, the gallery and the quality report (docs/train/README.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
