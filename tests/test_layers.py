"""The import graph keeps its shape: a floor that imports nothing above it, parts that never import
the roof, `retrieval` and `answer` independent of each other, and one installed package."""

from __future__ import annotations

import ast
import tomllib
from collections import defaultdict
from pathlib import Path

from tests.conftest import REPO

# Installed name -> folder in the repository (pyproject's package-dir).
FOLDERS = {"citeqa.app": "app", "citeqa.ingest": "ingest", "citeqa.retrieval": "retrieval", "citeqa.answer": "answer"}
PARTS = ("citeqa.ingest", "citeqa.retrieval", "citeqa.answer")
FLOOR = "citeqa.core"


def _package_of(module: str) -> str:
    """citeqa.retrieval.store -> citeqa.retrieval; citeqa.engine -> citeqa (the roof)."""
    parts = module.split(".")
    if len(parts) >= 2 and ".".join(parts[:2]) in (*FOLDERS, FLOOR, "citeqa.cli", "citeqa.evaluation", "citeqa.server"):
        return ".".join(parts[:2])
    return "citeqa"


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in (REPO / "citeqa").rglob("*.py"):
        out[".".join(("citeqa", *path.relative_to(REPO / "citeqa").with_suffix("").parts))] = path
    for name, folder in FOLDERS.items():
        for path in (REPO / folder).rglob("*.py"):
            out[".".join((name, *path.relative_to(REPO / folder).with_suffix("").parts))] = path
    return out


def _graph() -> dict[str, set[str]]:
    """Package -> the citeqa packages its modules import (at any depth in the module, lazily or not)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.split(".")[0] in ("citeqa", "app", "ingest", "retrieval", "answer"):
                    graph[_package_of(module)].add(name)
    return graph


def test_only_the_citeqa_namespace_is_imported() -> None:
    bad = {p: sorted(n for n in names if n.split(".")[0] != "citeqa") for p, names in _graph().items()}
    assert not any(bad.values()), bad


def test_the_floor_imports_nothing_above_it() -> None:
    above = sorted(n for n in _graph()[FLOOR] if _package_of(n) != FLOOR)
    assert above == []


def test_parts_never_import_the_roof_or_edges() -> None:
    graph = _graph()
    for part in PARTS:
        reached = {_package_of(n) for n in graph[part]} - {part, FLOOR}
        allowed = {"citeqa.retrieval"} if part == "citeqa.ingest" else set()
        assert reached <= allowed, (part, sorted(reached))


def test_one_top_level_package_is_installed() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert {p.split(".")[0] for p in config["packages"]} == {"citeqa"}
    assert config["package-dir"] == {"citeqa": "citeqa", **FOLDERS}
    packages = {m.removesuffix(".__init__") for m, p in _modules().items() if p.name == "__init__.py"}
    assert packages == set(config["packages"]), sorted(packages ^ set(config["packages"]))


def _runtime_imports(tree: ast.AST, modules: dict[str, Path]) -> set[str]:
    """The citeqa modules a module imports when it runs (lazily too), leaving out `if TYPE_CHECKING:`
    blocks: those are for the type checker and never run."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                full = f"{node.module}.{a.name}"
                out.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in out if m in modules}


def test_no_module_imports_itself_through_others() -> None:
    # A circle (the chat model's seam and its implementations, once) ties modules that should be
    # read, tested and replaced one at a time; each module's imports, followed, never lead back.
    modules = _modules()
    graph = {m: _runtime_imports(ast.parse(p.read_text(encoding="utf-8")), modules) - {m} for m, p in modules.items()}
    circles = []
    for start in graph:
        seen, todo = set(), list(graph[start])
        while todo:
            m = todo.pop()
            if m == start:
                circles.append(start)
                break
            if m not in seen:
                seen.add(m)
                todo.extend(graph[m])
    assert circles == [], circles
