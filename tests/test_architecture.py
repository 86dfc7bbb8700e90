"""The code's structure, checked: no import cycles anywhere in the project's packages.

The layers (who may import whom) are import-linter's contracts in ``pyproject.toml``,
run by ``make lint``; a cycle it would not name (two modules of one layer importing
each other) fails here, with the modules in it.
"""

from __future__ import annotations

import grimp

PACKAGES = ("breachclock", "workflows", "activities")


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each a cycle."""
    return loops({m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules})


def part(module: str) -> str:
    """The part of the house a module belongs to: ``breachclock.domain.incident``,
    ``breachclock.runtime.store``, ``workflows``, …"""
    parts = module.split(".")
    return ".".join(parts[:3]) if parts[0] == "breachclock" else parts[0]


def loops(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(module: str) -> None:
        nonlocal counter
        index[module] = low[module] = counter
        counter += 1
        stack.append(module)
        on_stack.add(module)
        for imported in edges[module]:
            if imported not in edges:
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_round_a_loop() -> None:
    graph = grimp.build_graph(*PACKAGES)
    assert cycles(graph) == []


def test_no_part_of_the_house_imports_itself_round_a_loop() -> None:
    """Folders too: the incident's rules use the notification's, never the reverse."""
    graph = grimp.build_graph(*PACKAGES)
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        here = part(module)
        edges.setdefault(here, set())
        for imported in graph.find_modules_directly_imported_by(module):
            if part(imported) != here and imported in graph.modules:
                edges[here].add(part(imported))
    assert loops(edges) == []


def test_a_loop_would_be_found() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(module)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.y", imported="a.z")
    assert cycles(graph) == [["a.x", "a.y"]]
