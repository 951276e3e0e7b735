"""No import cycles among pasdienst's modules, imports inside functions included.

A cycle is dodged today by an import inside a function and bites tomorrow
as an ImportError that depends on which module was imported first. Every
``import`` statement anywhere in a module counts (function bodies too);
``from package import submodule`` depends on the submodule, not on the
package's ``__init__``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pasdienst

ROOT = Path(pasdienst.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.relative_to(ROOT).parts:
            continue  # Alembic loads these by path
        parts = ["pasdienst", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    wanted: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            wanted.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            submodules = {f"{source}.{alias.name}" for alias in node.names} & modules.keys()
            wanted.update(submodules)
            if len(submodules) < len(node.names):  # a name defined in the module (or package) itself
                wanted.add(source)
    return {other for other in wanted if other in modules and other != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_of_pasdienst_imports_itself_through_others():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert _cycles(graph) == []


def test_the_checker_finds_a_cycle_when_there_is_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_services_the_back_office_calls_do_not_import_it():
    """``admin`` shows and decides; what it calls (four eyes included) sits below it."""
    modules = _modules()
    leaning = {
        name: sorted(other for other in _imports(name, path, modules) if other.startswith("pasdienst.admin"))
        for name, path in modules.items()
        if name.startswith(("pasdienst.access", "pasdienst.merchants", "pasdienst.foureyes"))
    }
    assert {name: others for name, others in leaning.items() if others} == {}
