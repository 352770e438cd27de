"""The house's rules, checked: imports run one way, no module imports itself round a circle, and no
project import hides inside a function.

The layers are declared once, in pyproject.toml's [tool.importlinter] (run them by hand with
`lint-imports`); this test runs the same contract and adds what import-linter does not check.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "lifecycle_audit"
# A function-level import of a project module is allowed only with this marker and a reason: it defers a heavy
# third-party package (matplotlib, papermill, nbconvert) that most callers never need.
LAZY = "noqa: PLC0415"


def test_imports_run_one_way(monkeypatch):
    monkeypatch.chdir(ROOT)
    # lint_imports configures logging with dictConfig, which disables every logger that exists already (the
    # workbook's own among them) for the rest of the test process: put them back as they were.
    loggers = [lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    disabled = {lg: lg.disabled for lg in loggers}
    try:
        assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0
    finally:
        for lg, was in disabled.items():
            lg.disabled = was


def test_no_module_imports_itself_round_a_circle():
    graph = grimp.build_graph("lifecycle_audit", cache_dir=None)
    circles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                circles.append(" -> ".join((module, *back)))
    assert not circles, "import circles:\n" + "\n".join(circles)


def _late_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            project = (
                isinstance(node, ast.ImportFrom)
                and (node.level > 0 or (node.module or "").startswith("lifecycle_audit"))
            ) or (isinstance(node, ast.Import) and any(a.name.startswith("lifecycle_audit") for a in node.names))
            if project and LAZY not in lines[node.lineno - 1]:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return found


@pytest.mark.parametrize("path", sorted(LIB.rglob("*.py")), ids=lambda p: str(p.relative_to(LIB)))
def test_no_project_import_hides_inside_a_function(path):
    late = _late_imports(path)
    assert not late, (
        "import at the top of the module (or mark a deferred heavy import with '# noqa: PLC0415 - why'):\n"
        + "\n".join(late)
    )
