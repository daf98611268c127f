"""One request reads top to bottom: the engine's stage modules, as docs/architecture.md lists them.

The import graph is built from the source (every `import` anywhere in a module, also inside
functions and `TYPE_CHECKING` blocks: a lazy import is still a reference). What a newcomer would
notice if these broke: a stage that reaches back into `Request`, so it cannot be read (or replaced)
without reading `request.py`; a docs diagram that no longer matches the code; an import circle
inside `federation/api`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "federation"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
REQUEST = "federation.engine.request"
MAX_MODULES = 6

Graph = Mapping[str, frozenset[str]]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path = PACKAGE) -> dict[str, frozenset[str]]:
    """Module → the modules of `package` it imports (`from a import b` counts `a.b` when b is a module)."""
    files = {_module_name(p): p for p in package.rglob("*.py")}
    graph: dict[str, frozenset[str]] = {}
    for name, path in files.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                submodules = {f"{node.module}.{alias.name}" for alias in node.names} & files.keys()
                found |= submodules
                if len(submodules) < len(node.names):
                    found.add(node.module)
        graph[name] = frozenset(d for d in found if d in files and d != name)
    return graph


def pipeline() -> list[str]:
    """The modules of the fenced block under "## One request" in docs/architecture.md, in order."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## One request", 1)[1]
    block = section.split("```", 2)[1]
    paths = re.findall(r"^(federation/\S+\.py)\s", block, flags=re.MULTILINE)
    return [path.removesuffix(".py").replace("/", ".") for path in paths]


def upward(graph: Graph, order: list[str]) -> list[tuple[str, str]]:
    """Imports among `order` that point up the list (a later module importing an earlier one)."""
    rank = {name: i for i, name in enumerate(order)}
    return [(name, dep) for name in order for dep in sorted(graph[name]) if dep in rank and rank[dep] <= rank[name]]


def path_to(graph: Graph, start: str, target: str, within: str) -> list[str] | None:
    """An import path from `start` to `target` through modules under `within`, or None."""
    trail: dict[str, str | None] = {start: None}
    todo = [start]
    while todo:
        here = todo.pop()
        for dep in graph[here]:
            if dep in trail or not (dep == target or dep.startswith(within)):
                continue
            trail[dep] = here
            if dep == target:
                out: list[str] = [dep]
                step: str | None = here
                while step is not None:
                    out.append(step)
                    step = trail[step]
                return out[::-1]
            todo.append(dep)
    return None


def cycles(graph: Graph, nodes: Iterable[str]) -> list[list[str]]:
    """Strongly connected groups of more than one module among `nodes` (Tarjan)."""
    inside = set(nodes)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v] & inside:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(inside):
        if v not in index:
            visit(v)
    return out


def test_the_docs_list_at_most_six_modules_starting_at_request() -> None:
    order = pipeline()
    assert order[0] == REQUEST, order
    assert 2 <= len(order) <= MAX_MODULES, order
    for name in order:
        assert (ROOT / (name.replace(".", "/") + ".py")).is_file(), f"docs/architecture.md lists {name}: no such file"


def test_request_wires_every_stage_and_nothing_reaches_back() -> None:
    graph, order = import_graph(), pipeline()
    stages = order[1:]
    assert set(stages) <= graph[REQUEST], f"request.py does not import {set(stages) - graph[REQUEST]}"
    for stage in stages:
        back = path_to(graph, stage, REQUEST, "federation.engine.")
        assert back is None, f"stage {stage} reaches back into Request: {' → '.join(back)}"


def test_imports_only_point_down_the_documented_list() -> None:
    assert upward(import_graph(), pipeline()) == []


def test_each_stage_says_what_it_does_and_links_the_architecture() -> None:
    for name in pipeline():
        path = ROOT / (name.replace(".", "/") + ".py")
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        assert "docs/architecture.md" in doc, f"{name}: the module docstring does not link docs/architecture.md"
        if name != REQUEST:
            assert re.search(r"\bIn:.*\bOut:", doc, flags=re.DOTALL), f"{name}: docstring lacks In: … Out: …"


def test_no_import_circle_inside_the_api_package() -> None:
    graph = import_graph()
    assert cycles(graph, (m for m in graph if m.startswith("federation.api."))) == []


def test_the_checks_see_a_back_reference() -> None:
    """The checks above are not vacuous: one added import from a stage to Request is caught."""
    graph, order = dict(import_graph()), pipeline()
    fetch = order[-1]
    graph[fetch] = graph[fetch] | {REQUEST}
    assert (fetch, REQUEST) in upward(graph, order)
    assert path_to(graph, order[1], REQUEST, "federation.engine.") is not None  # search → … → fetch → request
    assert cycles(graph, order)
    api = sorted(m for m in graph if m.startswith("federation.api."))
    graph[api[0]] = graph[api[0]] | {api[1]}
    graph[api[1]] = graph[api[1]] | {api[0]}
    assert cycles(graph, api)
