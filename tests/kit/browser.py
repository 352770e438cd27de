"""Debian's Chromium for the browser tests: where it is, how it is started, and whether it is there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lifecycle_audit.report.export import CHROMIUM_FLAGS

CHROMIUM = "/usr/bin/chromium"
# Chromium as the browser tests start it: as the report's export starts it (headless, nothing fetched on its own).
BROWSER_ARGS = list(CHROMIUM_FLAGS)


def browser_available() -> bool:
    """Whether Chromium is at CHROMIUM and the playwright package is installed."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return False
    try:
        import playwright.sync_api  # noqa: F401, PLC0415 - only whether it is installed
    except ImportError:
        return False
    return True


def need_browser() -> None:
    """Skip the test without Chromium and Playwright; in CI (CI set), fail it."""
    if browser_available():
        return
    message = f"no browser: {CHROMIUM} (Debian package chromium) and the playwright package are needed"
    if os.environ.get("CI"):
        pytest.fail(message + " - CI must install them (.ci/run does)")
    pytest.skip(message)
