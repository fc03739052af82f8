"""The import graph between sargeo's modules has no cycle: layers depend one way.

A small AST scan of every module under ``sargeo/``: every ``import`` and ``from ... import`` statement,
also inside functions, ``try`` blocks and ``if TYPE_CHECKING`` (a lazy or type-only import is still a
dependency), with relative imports resolved against the module's package.

How edges count:
- ``import a.b`` and ``from a.b import c`` make an edge to ``a.b``; when ``c`` is itself a module
  (``from sargeo.geo import speckle``), the edge goes to ``a.b.c`` instead, since that is what is used.
- A package's ``__init__`` is a module like any other, named after the package (``sargeo.synth``): its
  own imports are its edges, and ``from sargeo.synth import MANIFEST`` is an edge to it.
- The implicit import of parent packages (importing ``sargeo.synth.scene`` first runs
  ``sargeo/synth/__init__.py``) makes no edge. So an ``__init__`` may re-export its submodules as long as
  none of them imports the package back; if one does, that is a cycle and is reported.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "sargeo"


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module under ``root``, by dotted name (packages by their own name)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_modules(
    tree: ast.AST, module: str, is_package: bool, modules: Collection[str]
) -> set[str]:
    """The sargeo modules that ``module`` imports (see the module docstring for how edges count)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in modules:
                    found.add(full)  # a submodule: ``from sargeo.geo import speckle``
                elif base in modules:
                    found.add(base)  # a name defined in ``base`` (or in its ``__init__``)
    found.discard(module)
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the sargeo modules it imports."""
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = imported_modules(tree, name, path.name == "__init__.py", modules)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a closed path) for each strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, set(group)) for group in groups]


def _cycle_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A closed path through the group, from its first module (breadth-first, so a short one)."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & group):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {sorted(group)}")


def test_scan_resolves_imports() -> None:
    graph = import_graph(module_files())
    assert "sargeo.geo.grid" in graph["sargeo.geo.tiling"]  # absolute
    assert "sargeo.geo.speckle" in graph["sargeo.geo.tiling"]  # inside a function
    assert "sargeo.runtime.preprocess" in graph["sargeo.geo.tiling"]  # from package import module
    assert "sargeo.runtime" not in graph["sargeo.geo.tiling"]
    assert "sargeo.synth" in graph["sargeo.synth.scene"]  # a name from a package's __init__


def test_relative_imports_resolve() -> None:
    modules = module_files()
    tree = ast.parse(
        "from . import grid\nfrom ..records import Window\nfrom .readers import Reader\n"
    )
    found = imported_modules(tree, "sargeo.geo.files", False, modules)
    assert found == {"sargeo.geo.grid", "sargeo.records", "sargeo.geo.readers"}
    tree = ast.parse("from . import scene\nfrom . import MANIFEST\n")
    assert imported_modules(tree, "sargeo.synth", True, modules) == {"sargeo.synth.scene"}


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_sargeo_import_graph_has_no_cycle() -> None:
    cycles = find_cycles(import_graph(module_files()))
    shown = "; ".join(" -> ".join(cycle) for cycle in cycles)
    assert not cycles, f"import cycles between sargeo modules: {shown}"
