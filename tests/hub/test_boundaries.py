"""hub/ uses the policy engine through its public facade only: ``import policies`` and the names
in ``policies.__all__``, never a submodule, so the engine's inside can change without the hub.

Every .py under hub/ is parsed (nothing imported): ``import policies.x``, ``from policies.x
import ...``, ``from policies import <not exported>``, ``policies.<not exported>`` and
``import_module("policies.x")`` all fail the test, with file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import policies

HUB = Path(__file__).resolve().parents[2] / "hub"
FACADE = frozenset(policies.__all__)


def facade_violations(source: str) -> list[str]:
    """Each use of ``policies`` past its facade in ``source``, as "line N: what"."""
    tree = ast.parse(source)
    package_names: set[str] = set()  # local names bound to the policies package itself
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("policies."):
                    found.append((node.lineno, f"import {alias.name}"))
                elif alias.name == "policies":
                    package_names.add(alias.asname or "policies")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("policies."):
                found.append((node.lineno, f"from {node.module} import ..."))
            elif node.module == "policies":
                found.extend(
                    (node.lineno, f"from policies import {alias.name} (not in __all__)")
                    for alias in node.names
                    if alias.name not in FACADE
                )
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            arg = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and arg.value.startswith("policies.")
            ):
                found.append((node.lineno, f"{name}({arg.value!r})"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in package_names
            and node.attr not in FACADE
        ):
            found.append((node.lineno, f"{node.value.id}.{node.attr} (not in __all__)"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


@pytest.mark.parametrize(
    ("source", "violations"),
    [
        ("import policies\npolicies.check(d)\nx: policies.Decision", []),
        ("from policies import Draft, measure_length", []),
        ("import policies.engine", ["line 1: import policies.engine"]),
        ("from policies.mix import share_after", ["line 1: from policies.mix import ..."]),
        ("from policies import Rule", ["line 1: from policies import Rule (not in __all__)"]),
        ("from policies import *", ["line 1: from policies import * (not in __all__)"]),
        (
            "import policies\npolicies.engine.DEFAULT_PACK",
            ["line 2: policies.engine (not in __all__)"],
        ),
        ("import policies as p\np.rules", ["line 2: p.rules (not in __all__)"]),
        ("def f():\n    from policies.cli import policy", ["line 2: from policies.cli import ..."]),
        ("importlib.import_module('policies.rules')", ["line 1: import_module('policies.rules')"]),
        ("from connectors.base import Limits\nfrom .policies import x", []),
    ],
)
def test_the_checker_sees_every_way_past_the_facade(source: str, violations: list[str]) -> None:
    assert facade_violations(source) == violations


def test_every_facade_name_exists() -> None:
    missing = [name for name in policies.__all__ if not hasattr(policies, name)]
    assert missing == []


def test_hub_uses_policies_only_through_its_facade() -> None:
    files = sorted(HUB.rglob("*.py"))
    assert len(files) > 20, "hub/ not found where expected"
    problems = [
        f"{path.relative_to(HUB.parent)} {v}"
        for path in files
        for v in facade_violations(path.read_text(encoding="utf-8"))
    ]
    assert problems == [], "hub/ reaches past policies' public facade:\n" + "\n".join(problems)
