"""The import graph of the ``ge2conn`` package, read from the source with :mod:`ast` (nothing is imported).

Every ``import ge2conn...`` / ``from ge2conn... import ...`` counts, at module level and inside functions
alike (a lazy import closes a cycle as surely as an eager one). ``python tests/support/import_graph.py``
prints the layer picture: files per layer, imports between layers, upward imports and cycles.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "ge2conn"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entry point", ("ge2conn.main", "ge2conn.__main__", "ge2conn")),
    ("commands", ("ge2conn.data.cli", "ge2conn.nulls.cli", "ge2conn.experiments.cli",
                  "ge2conn.interpret.cli", "ge2conn.inference.cli")),
    ("applications", ("ge2conn.experiments", "ge2conn.interpret")),
    ("api", ("ge2conn.api",)),
    ("inference", ("ge2conn.inference",)),
    ("lightning", ("ge2conn.models", "ge2conn.callbacks", "ge2conn.data.datamodule")),
    ("components", ("ge2conn.nn", "ge2conn.metrics", "ge2conn.nulls", "ge2conn.figures")),
    ("data", ("ge2conn.data",)),
    ("utilities", ("ge2conn.utils",)),
)
"""Layers from the top down: a module may import its own layer or any layer below, never one above."""


def module_name(path: Path, root: Path = PACKAGE_ROOT) -> str:
    """Dotted module name of a source file (``ge2conn/data/__init__.py`` -> ``ge2conn.data``)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = PACKAGE_ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _imported_names(tree: ast.AST, name: str, is_package: bool) -> Iterator[str]:
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            for alias in node.names:
                # ``from ge2conn import api`` imports the module ge2conn.api; ``from ge2conn.api import fit``
                # imports ge2conn.api (resolved by import_graph, which drops names that are not modules).
                yield f"{prefix}.{alias.name}"


def import_graph(root: Path = PACKAGE_ROOT) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}`` (submodule names resolved to existing modules)."""
    known = modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets: set[str] = set()
        # A module named in a string (``importlib.import_module("ge2conn.x")``) is imported all the same.
        named = [node.value for node in ast.walk(tree)
                 if isinstance(node, ast.Constant) and isinstance(node.value, str)
                 and "." in node.value and node.value in known]
        for imported in [*_imported_names(tree, name, path.name == "__init__.py"), *named]:
            if imported.split(".")[0] != "ge2conn":
                continue
            while imported and imported not in known:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def layer_of(name: str) -> int:
    """Index of a module's layer (0 = top); the longest matching prefix wins."""
    best, best_length = len(LAYERS), -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = name == prefix or (prefix != "ge2conn" and name.startswith(prefix + "."))
            if matches and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    return best


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """``(importer, imported)`` pairs where the imported module sits in a higher layer."""
    return sorted((source, target) for source, targets in graph.items() for target in targets
                  if layer_of(target) < layer_of(source))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def picture(root: Path = PACKAGE_ROOT) -> str:
    """The layer picture as text."""
    graph = import_graph(root)
    lines = []
    for number, (title, _) in enumerate([*LAYERS, ("unassigned", ())]):
        members = sorted(name for name in graph if layer_of(name) == number)
        if not members:
            continue
        imports = sum(len(graph[name]) for name in members)
        lines.append(f"{number} {title:<13} {len(members):>3} files {imports:>4} imports of ge2conn modules")
    upward = upward_imports(graph)
    found = cycles(graph)
    edges = sum(len(targets) for targets in graph.values())
    lines.append(f"{len(graph)} modules, {edges} internal imports, {len(upward)} upward, {len(found)} cycles")
    lines += [f"  unassigned: {name}" for name in sorted(graph) if layer_of(name) == len(LAYERS)]
    lines += [f"  upward: {source} -> {target}" for source, target in upward]
    lines += [f"  cycle ({len(component)}): {' '.join(component)}" for component in found]
    return "\n".join(lines)


if __name__ == "__main__":
    print(picture(Path(sys.argv[1]) if len(sys.argv) > 1 else PACKAGE_ROOT))
