"""The house rules of hub/'s layout, checked on the source (bench/module_graph.py draws it)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _module_graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "module_graph", REPO / "bench" / "module_graph.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


mg = _module_graph()


@pytest.fixture(scope="module")
def graph():  # type: ignore[no-untyped-def]
    return mg.load_graph(REPO)


def test_hub_has_no_import_cycle(graph):
    assert mg.cycles(graph) == []


def test_no_private_name_crosses_a_module_boundary(graph):
    assert graph.private == []


def test_only_the_unit_of_work_commits(graph):
    assert {module for module, _ in graph.commits} <= {"hub.db"}


def test_no_hub_module_is_imported_late_to_dodge_a_loop(graph):
    """Function-level imports of hub modules are allowed only where they keep startup light:
    the CLI's commands and create_app's blueprints."""
    late = {(a, b) for (a, b), top in graph.edges.items() if not top}
    assert {a for a, _ in late} <= {"hub", "hub.cli"}


def test_the_graph_sees_cycles_and_late_imports(tmp_path):
    """The checks above can fail: a two-module loop with a late import is found."""
    pkg = tmp_path / "hub"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import x\nfrom hub.b import _y\n")
    (pkg / "b.py").write_text("def f():\n    from hub import a\n    a.s.commit()\n")
    probe = mg.load_graph(tmp_path)
    assert mg.cycles(probe) == [["hub.a", "hub.b"]]
    assert probe.private == [("hub.a", "hub.b", "_y")]
    assert probe.commits == [("hub.b", 3)]
    assert probe.edges[("hub.b", "hub.a")] is False


#: a state compared with a bare string ('sent') instead of its enum (OutboundState.SENT); the
#: queue filter's pseudo-statuses ("active", "all") are not states
_BARE_STATE = re.compile(r"""\b(?!f\.)\w+\.(?:state|status)\s*(?:==|!=|in)\s*\(?\s*['"]""")


@pytest.mark.parametrize("folder", ["hub", "templates"])
def test_states_are_compared_through_their_enums(folder):
    offenders = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for path in sorted((REPO / folder).rglob("*.*"))
        if path.suffix in (".py", ".html")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if _BARE_STATE.search(line)
    ]
    assert offenders == []


def test_the_bare_state_check_sees_one():
    assert _BARE_STATE.search("{% if item.state == 'sent' %}")
    assert _BARE_STATE.search('if m.status in ("closed", "pending"):')
    assert not _BARE_STATE.search("{% if item.state == OutboundState.SENT %}")
