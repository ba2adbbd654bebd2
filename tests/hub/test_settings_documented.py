"""Every setting is declared by a wing and documented in the README; nothing reads an undeclared
one (the idea of datasette's documentation tests)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from hub import config
from hub.platforms.registry import platforms

REPO = Path(__file__).resolve().parents[2]


def _readme_settings() -> set[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `HUB_([A-Z0-9_]+)` \|", section, flags=re.M))


def _keys_read(path: Path) -> set[str]:
    """Config keys a module reads: config["X"], config.get("X"), Setting("X")."""
    keys = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "config"
            and isinstance(node.slice, ast.Constant)
        ):
            keys.add(node.slice.value)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "get"
                and isinstance(func.value, ast.Attribute)
                and func.value.attr == "config"
            ) or (isinstance(func, ast.Name) and func.id == "Setting"):
                keys.add(node.args[0].value)
    return {k for k in keys if isinstance(k, str) and k.isupper()}


def test_every_declared_setting_is_in_the_readme():
    names = {s.name for s in config.declared()}
    documented = _readme_settings()
    assert names - documented == set(), "declared but not in the README's Configuration table"
    extra = documented - names - set(config.ENVIRONMENT_ONLY)
    assert extra == set(), "documented but declared by no wing"


def test_every_setting_is_declared_once():
    names = [s.name for s in config.declared()]
    assert len(names) == len(set(names))
    assert all(s.doc.strip() for s in config.declared())


def test_hub_reads_only_declared_settings():
    known = {s.name for s in config.declared()} | set(config.FRAMEWORK) | {"TESTING"}
    read = {
        key: str(path.relative_to(REPO))
        for path in sorted((REPO / "hub").rglob("*.py"))
        for key in _keys_read(path)
    }
    assert {k: where for k, where in read.items() if k not in known} == {}
    assert "POLL_SECONDS" in read  # the scan sees reads at all


def test_settings_a_connector_takes_from_the_hub_are_declared(app):
    loaded = platforms()
    assert {"sandbox", "x", "bluesky"} <= set(loaded)
    wanted = {name for cls in loaded.values() for name in cls.host_settings.values()}
    assert "SANDBOX_URL" in wanted
    assert wanted <= {s.name for s in config.declared()}


def test_the_check_fails_on_an_undocumented_setting(monkeypatch):
    monkeypatch.setattr(
        config, "PUBLISHING", (*config.PUBLISHING, ("NEVER_DOCUMENTED", 1, "a probe"))
    )
    with pytest.raises(AssertionError):
        test_every_declared_setting_is_in_the_readme()
