"""Shared test settings: plots draw off-screen; how make test spreads the test files over two processes."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# Test files that share expensive, process-cached results (whole audit runs: tests/kit/salted_run.py, and
# tests/kit/locale_runs.py for German and Indonesian) go to the same process under pytest-xdist; every other file is a group of its own, so its module fixtures (a
# generated shop, an accuracy sweep) are computed once.
SHARED = {
    "test_privacy.py": "salted_run",
    "test_browser.py": "salted_run",
    "test_locale_e2e.py": "salted_run",
    "test_report_fit.py": "salted_run",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = item.path.name
        item.add_marker(pytest.mark.xdist_group(SHARED.get(name, str(item.path))))
