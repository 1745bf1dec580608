"""torch's CPU threads sleep rather than spin while waiting, unless the user chose otherwise (rtstyle.torch_threads)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rtstyle.torch_threads import WAIT_POLICY, prefer_passive_waiting

SHOW_POLICY_AFTER_MAIN = """
import os, sys
from rtstyle.cli.main import main
try:
    main(["--version"])
except SystemExit:
    pass
print(os.environ.get("OMP_WAIT_POLICY"), "torch" in sys.modules)
"""


def policy_after_the_cli_starts(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", SHOW_POLICY_AFTER_MAIN], env=env, capture_output=True, text=True,
                          check=True)
    return done.stdout.strip().splitlines()[-1]


def test_the_cli_sets_passive_waiting_before_torch_loads() -> None:
    env = {k: v for k, v in os.environ.items() if k != WAIT_POLICY}
    assert policy_after_the_cli_starts(env) == "PASSIVE False"  # set, and torch not loaded by then


def test_a_policy_the_user_set_is_kept() -> None:
    env = {**os.environ, WAIT_POLICY: "ACTIVE"}
    assert policy_after_the_cli_starts(env) == "ACTIVE False"


def test_too_late_once_torch_has_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WAIT_POLICY, raising=False)
    monkeypatch.setitem(sys.modules, "torch", sys.modules.get("torch", object()))
    assert prefer_passive_waiting() is False and WAIT_POLICY not in os.environ
    monkeypatch.delitem(sys.modules, "torch")
    assert prefer_passive_waiting() is True and os.environ[WAIT_POLICY] == "PASSIVE"


def test_scripts_using_the_trainer_without_the_cli_get_it_too() -> None:
    env = {k: v for k, v in os.environ.items() if k != WAIT_POLICY}
    done = subprocess.run([sys.executable, "-c", "import os, rtstyle.train; print(os.environ.get('OMP_WAIT_POLICY'))"],
                          env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "PASSIVE"
