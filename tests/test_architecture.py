"""The package's layering: imports only point down, and nothing imports in a cycle (lazy imports included)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.import_graph import (
    LAYERS,
    PACKAGE_ROOT,
    cycles,
    import_graph,
    layer_of,
    modules,
    upward_imports,
)


def test_every_module_belongs_to_a_layer() -> None:
    unassigned = sorted(name for name in modules() if layer_of(name) == len(LAYERS))
    assert unassigned == [], f"add these modules to a layer in tests/support/import_graph.py: {unassigned}"


def test_no_upward_imports() -> None:
    upward = upward_imports(import_graph())
    assert upward == [], "imports must point down the layers:\n" + "\n".join(f"{a} -> {b}" for a, b in upward)


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert found == [], f"import cycles: {found}"


def test_no_importlib_and_no_top_level_stragglers() -> None:
    offenders = [str(path) for path in PACKAGE_ROOT.rglob("*.py") if "importlib" in path.read_text()]
    assert offenders == []
    top_level = sorted(path.name for path in PACKAGE_ROOT.glob("*.py"))
    assert set(top_level) <= {"__init__.py", "__main__.py", "main.py"}, top_level


def test_experiments_build_no_command_line_strings() -> None:
    pattern = re.compile(r"""["']--(data|trainer|model)\.""")
    offenders = [f"{path.name}:{number}" for path in (PACKAGE_ROOT / "experiments").rglob("*.py")
                 for number, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_the_checker_sees_cycles_upward_and_lazy_imports(tmp_path: Path) -> None:
    # A test that cannot fail is a defect: build a tiny package with each fault and check it is found.
    package = tmp_path / "ge2conn"
    (package / "api").mkdir(parents=True)
    (package / "models").mkdir()
    (package / "__init__.py").write_text("")
    (package / "api" / "__init__.py").write_text("from ge2conn.models import task\n")
    (package / "models" / "__init__.py").write_text("")
    (package / "models" / "task.py").write_text("def f():\n    from ge2conn.api import run\n")
    (package / "api" / "run.py").write_text(
        "import importlib\nimportlib.import_module('ge2conn.models.task')\n")
    graph = import_graph(package)
    assert graph["ge2conn.models.task"] == {"ge2conn.api.run"}  # a function-local import counts
    assert graph["ge2conn.api.run"] == {"ge2conn.models.task"}  # so does a module named in a string
    assert cycles(graph) == [["ge2conn.api.run", "ge2conn.models.task"]]
    assert upward_imports(graph) == [("ge2conn.models.task", "ge2conn.api.run")]


def test_pytest_applies_the_same_warnings_policy_as_the_entry_points() -> None:
    import tomllib

    from ge2conn.utils.warnings_policy import KNOWN_NOISE

    configured = tomllib.loads((PACKAGE_ROOT.parent / "pyproject.toml").read_text())["tool"]["pytest"][
        "ini_options"]["filterwarnings"]
    patterns = {entry.split(":", 1)[1] for entry in configured if entry.startswith("ignore:")}
    assert {pattern for pattern, _ in KNOWN_NOISE} <= patterns


def test_no_module_changes_warning_filters_at_import() -> None:
    offenders = []
    for path in PACKAGE_ROOT.rglob("*.py"):
        for line in path.read_text().splitlines():
            # Module level (no indentation): a filter installed by importing the module.
            if re.match(r"warnings\.(filterwarnings|simplefilter)\(", line):
                offenders.append(f"{path.relative_to(PACKAGE_ROOT)}: {line}")
    assert offenders == [], offenders


def test_the_package_root_re_exports_names_of_the_api() -> None:
    # ge2conn/__init__.py lists the API names itself (importing ge2conn.api would import torch); keep in step.
    import ge2conn
    import ge2conn.api

    assert ge2conn.API_NAMES <= set(ge2conn.api.__all__)
    assert all(getattr(ge2conn, name) is getattr(ge2conn.api, name) for name in ge2conn.API_NAMES)
