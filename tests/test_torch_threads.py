"""torch's CPU threads spin only briefly while they wait, unless the user chose otherwise (rtstyle.torch_threads)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rtstyle.torch_threads import SHORT_SPIN, SPIN_COUNT, WAIT_POLICY, prefer_short_spinning

SHOW_AFTER_MAIN = """
import os, sys
from rtstyle.cli.main import main
try:
    main(["--version"])
except SystemExit:
    pass
print(os.environ.get("GOMP_SPINCOUNT"), "torch" in sys.modules)
"""


def without_openmp_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in (SPIN_COUNT, WAIT_POLICY)}


def spin_count_after_the_cli_starts(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", SHOW_AFTER_MAIN], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def test_the_cli_sets_a_short_spin_before_torch_loads() -> None:
    assert spin_count_after_the_cli_starts(without_openmp_settings()) == f"{SHORT_SPIN} False"


@pytest.mark.parametrize("setting", [{SPIN_COUNT: "300000"}, {WAIT_POLICY: "PASSIVE"}])
def test_what_the_user_set_is_kept(setting: dict[str, str]) -> None:
    expected = setting.get(SPIN_COUNT)  # a wait policy alone: no spin count added beside it
    assert spin_count_after_the_cli_starts({**without_openmp_settings(), **setting}) == f"{expected} False"


def test_too_late_once_torch_has_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SPIN_COUNT, raising=False)
    monkeypatch.delenv(WAIT_POLICY, raising=False)
    monkeypatch.setitem(sys.modules, "torch", sys.modules.get("torch", object()))
    assert prefer_short_spinning() is False and SPIN_COUNT not in os.environ
    monkeypatch.delitem(sys.modules, "torch")
    assert prefer_short_spinning() is True and os.environ[SPIN_COUNT] == SHORT_SPIN


def test_scripts_using_the_trainer_without_the_cli_get_it_too() -> None:
    done = subprocess.run([sys.executable, "-c", "import os, rtstyle.train; print(os.environ.get('GOMP_SPINCOUNT'))"],
                          env=without_openmp_settings(), capture_output=True, text=True, check=True)
    assert done.stdout.strip() == SHORT_SPIN
