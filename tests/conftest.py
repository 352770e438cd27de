"""Shared test settings: plots draw off-screen; one browser per test process for the browser tests; how make
test spreads the test files over two processes."""

import os

import pytest

from tests.kit.browser import BROWSER_ARGS, CHROMIUM, need_browser

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


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, started once per test process (Playwright's sync API allows one)."""
    need_browser()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional: the browser tests skip without it

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()
