"""Shared test settings: plots draw off-screen; one browser per test process for the browser tests; how make
test spreads the test files over two processes.

This file is read by every pytest process, the one handing out the tests included, before any test is collected:
it imports nothing of the library (the browser fixture imports the kit when a test asks for it)."""

import os

import pytest

import tests.startup  # noqa: F401 - no rfc3987_syntax in test processes (see there)

os.environ.setdefault("MPLBACKEND", "Agg")

# Test files that share expensive, process-cached results (whole audit runs: tests/kit/salted_run.py, and
# tests/kit/locale_runs.py for German and Indonesian) go to the same process under pytest-xdist; every other
# file is a group of its own, so its module fixtures (a generated shop, an accuracy sweep) are computed once.
SHARED = {
    "test_privacy.py": "salted_run",
    "test_browser.py": "salted_run",
    "test_locale_e2e.py": "salted_run",
    "test_report_fit.py": "salted_run",
    "test_compare_e2e.py": "salted_run",  # runs the German locale run again with two mistakes fixed
}


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under `--dist loadgroup`, a file's tests stay in one process, and the files in SHARED go to one process.

    Done here rather than with xdist_group marks: pytest-xdist 3.8 marks a group by rewriting the test's node id,
    which pytest 9.2 no longer reads (pytest-dev/pytest-xdist#1386), so every test was sent on its own and each
    process computed the module fixtures (an accuracy sweep) again."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling  # noqa: PLC0415 - only with pytest-xdist, which make test uses

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return SHARED.get(file.rsplit("/", 1)[-1], file)

        def schedule(self) -> None:
            # Hand the files out in collection order (heaviest first, pytest_collection_modifyitems below), not by
            # their number of tests: the shared audit runs are few tests and minutes of work, and started last they
            # left one process working alone at the end.
            self.config.option.loadscopereorder = False
            super().schedule()

    return ByFile(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Heaviest first, each file's tests kept in their order: the files sharing whole audit runs, then the other
    files with end-to-end tests, then the rest (unit tests and notebooks fill the gaps at the end)."""
    with_runs = {item.path for item in items if item.get_closest_marker("e2e")}

    def weight(item: pytest.Item) -> int:
        if item.path.name in SHARED:
            return 0
        return 1 if item.path in with_runs else 2

    items.sort(key=weight)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, started once per test process (Playwright's sync API allows one)."""
    from tests.kit.browser import BROWSER_ARGS, CHROMIUM, need_browser  # noqa: PLC0415 - see the module docstring

    need_browser()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional: the browser tests skip without it

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()
