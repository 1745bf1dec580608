"""The run's loss log (runs/NAME/losses.jsonl): one JSON line every --log-every steps, read back on resume.

A resumed run first drops the lines that a killed run wrote past its last checkpoint, then appends.
"""

from __future__ import annotations

import json
from pathlib import Path

LOG_NAME = "losses.jsonl"


def read_log_tail(log_path: Path, count: int) -> list[dict[str, float]]:
    if not log_path.exists():
        return []
    rows = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{k: v for k, v in row.items() if k not in ("step", "seconds")} for row in rows[-count:]]


def truncate_log(log_path: Path, step: int) -> None:
    """Drop log lines past `step` (written by a killed run after its last checkpoint) before appending."""
    if not log_path.exists():
        return
    kept = []
    for line in log_path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line)
        except (json.JSONDecodeError, KeyError, TypeError):
            continue  # a line cut short by the kill
    log_path.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
