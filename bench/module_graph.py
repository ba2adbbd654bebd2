"""Draw hub/'s module graph and print the figures the layout is judged by.

    python bench/module_graph.py [--root DIR] [--dot FILE]

Reads every ``.py`` under ``DIR/hub`` with ``ast`` (nothing is imported or run) and counts an
edge for every import of another hub module, at module level or inside a function. Prints the
number of modules and edges, the import cycles (strongly connected components), the longest
import chain (on the graph with each cycle collapsed to one node), the function-level imports,
private names imported across modules, and the ``commit()`` sites. ``--dot`` writes Graphviz.

Run it on an older commit with ``git worktree add /tmp/before <commit>`` and
``--root /tmp/before``. The architecture tests reuse ``load_graph``.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Graph:
    """Hub modules and the imports between them."""

    modules: dict[str, Path] = field(default_factory=dict)
    #: (importer, imported) → True when every such import sits at module level
    edges: dict[tuple[str, str], bool] = field(default_factory=dict)
    #: (importer, imported module, name) for names starting with "_"
    private: list[tuple[str, str, str]] = field(default_factory=list)
    #: (module, line) of every ``.commit(`` call
    commits: list[tuple[str, int]] = field(default_factory=list)

    def successors(self, node: str) -> list[str]:
        """Modules ``node`` imports."""
        return sorted(b for a, b in self.edges if a == node)


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, target] if target else base)


def load_graph(root: Path, package: str = "hub") -> Graph:
    """Parse ``root/package`` and return its import graph."""
    graph = Graph()
    for path in sorted((root / package).rglob("*.py")):
        graph.modules[_module_name(root, path)] = path
    for module, path in graph.modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        top_level = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "commit":
                graph.commits.append((module, node.lineno))
            targets: list[tuple[str, list[str]]] = []
            if isinstance(node, ast.Import):
                targets = [(alias.name, []) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, is_package, node.level, node.module)
                names = [alias.name for alias in node.names]
                # "from . import x" imports the submodule x when there is one
                subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in graph.modules]
                targets = [(s, []) for s in subs] or [(base, names)]
                if subs and len(subs) < len(names):
                    targets.append((base, [n for n in names if f"{base}.{n}" not in subs]))
            for target, names in targets:
                hit = _owning_module(graph.modules, target)
                if hit is None or hit == module:
                    continue
                at_top = id(node) in top_level or _inside_type_checking(tree, node)
                graph.edges[(module, hit)] = graph.edges.get((module, hit), True) and at_top
                graph.private.extend((module, hit, n) for n in names if _private(n))
    return graph


def _private(name: str) -> bool:
    """A leading underscore marks a module's own name; ``_`` itself is gettext's public alias
    (``from hub.i18n import _``), and dunders are Python's."""
    return name.startswith("_") and not name.startswith("__") and name != "_"


def _owning_module(modules: dict[str, Path], target: str) -> str | None:
    while target:
        if target in modules:
            return target
        target = target.rpartition(".")[0]
    return None


def _inside_type_checking(tree: ast.Module, node: ast.AST) -> bool:
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.If)
            and isinstance(stmt.test, ast.Name)
            and stmt.test.id == "TYPE_CHECKING"
            and any(node is n for n in ast.walk(stmt))
        ):
            return True
    return False


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.successors(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in graph.modules:
        if v not in index:
            visit(v)
    return sorted(found)


def longest_chain(graph: Graph) -> list[str]:
    """The longest import chain, with every cycle collapsed into one node (shown as {a|b})."""
    comp_of: dict[str, str] = {m: m for m in graph.modules}
    for component in cycles(graph):
        name = "{" + "|".join(component) + "}"
        for m in component:
            comp_of[m] = name
    succ: dict[str, set[str]] = {c: set() for c in comp_of.values()}
    for a, b in graph.edges:
        if comp_of[a] != comp_of[b]:
            succ[comp_of[a]].add(comp_of[b])
    best: dict[str, list[str]] = {}

    def chain(c: str) -> list[str]:
        if c not in best:
            tails = [chain(n) for n in sorted(succ[c])]
            best[c] = [c, *max(tails, key=len, default=[])]
        return best[c]

    return max((chain(c) for c in sorted(succ)), key=len, default=[])


def to_dot(graph: Graph, lines: Iterable[str] = ()) -> str:
    """The graph in Graphviz dot; function-level imports dashed."""
    out = ["digraph hub {", "  rankdir=LR; node [shape=box, fontsize=10];", *lines]
    for (a, b), top in sorted(graph.edges.items()):
        out.append(f'  "{a}" -> "{b}"' + ("" if top else " [style=dashed]") + ";")
    out.append("}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Print the figures; write dot when asked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--dot", type=Path)
    args = parser.parse_args(argv)
    graph = load_graph(args.root)
    loops = cycles(graph)
    chain = longest_chain(graph)
    late = sorted((a, b) for (a, b), top in graph.edges.items() if not top)
    print(f"modules: {len(graph.modules)}  edges: {len(graph.edges)}")
    print(f"import cycles: {len(loops)}")
    for loop in loops:
        print("  " + " ⇄ ".join(loop))
    print(f"longest import chain: {len(chain)} modules")
    print("  " + " → ".join(chain))
    print(f"function-level imports of hub modules: {len(late)}")
    for a, b in late:
        print(f"  {a} → {b}")
    print(f"private names imported across modules: {len(graph.private)}")
    for a, b, name in graph.private:
        print(f"  {a} imports {b}.{name}")
    print(f"commit() sites: {len(graph.commits)}")
    for module, line in graph.commits:
        print(f"  {module}:{line}")
    if args.dot:
        args.dot.write_text(to_dot(graph) + "\n")
        print(f"wrote {args.dot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
