"""`make run` installs what running needs; the test extras come only with the targets that use
them (each install has its own stamp, so one never stands in for the other)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _plan(target: str) -> str:
    """The commands `make TARGET` would run in a fresh clone (nothing is run)."""
    done = subprocess.run(
        ["make", "-n", "-B", target], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _installs(plan: str) -> list[str]:
    return [line for line in plan.splitlines() if "pip install" in line and " -e " in line]


def test_make_run_installs_without_the_test_extras():
    installs = _installs(_plan("run"))
    assert installs and all(".[test]" not in line for line in installs)
    assert any("-e ." in line for line in installs)


@pytest.mark.parametrize("target", ["test", "test-sqlite", "lint", "bench"])
def test_the_test_and_lint_targets_install_the_test_extras(target):
    assert any(".[test]" in line for line in _installs(_plan(target)))
