"""Print pip constraints that pin every core dependency to its floor: pyproject.toml's `>=` bounds.

`make test-floors` installs rtstyle with them and runs the tests, so the lower bounds that pyproject promises are
the versions CI runs (one list: this reads the bounds, nobody copies them). A dependency without a `>=` bound stops
it: a floor nobody tests is a floor nobody knows.

    python scripts/floor_constraints.py > floors.txt && pip install -c floors.txt .
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
# "name>=1.2", "name[extra] >= 1.2, <2 ; marker": the name, then the version after ">=".
FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*[^;]*?>=\s*([0-9][A-Za-z0-9.+!*-]*)")


def floor_pins(dependencies: list[str]) -> list[str]:
    pins = []
    for requirement in dependencies:
        match = FLOOR.match(requirement)
        if match is None:
            raise SystemExit(f"floor_constraints: error: {requirement!r} in pyproject.toml has no >= floor")
        name, version = match.groups()
        pins.append(f"{name}=={version}")
    return pins


def python_floor(requires_python: str) -> tuple[int, ...]:
    match = re.fullmatch(r"\s*>=\s*(\d+)\.(\d+)\s*", requires_python)
    if match is None:
        raise SystemExit(f"floor_constraints: error: requires-python {requires_python!r} is not '>=X.Y'")
    return tuple(int(part) for part in match.groups())


def main() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    wanted = python_floor(project["requires-python"])
    if sys.version_info[:2] != wanted:  # the pins still hold; the Python floor is just not the one checked
        print(f"floor_constraints: note: Python {sys.version.split()[0]} runs this, "
              f"not the floor {'.'.join(map(str, wanted))}", file=sys.stderr)
    print("\n".join(floor_pins(project["dependencies"])))


if __name__ == "__main__":
    main()
