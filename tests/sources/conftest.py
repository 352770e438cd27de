"""The sources tests keep prepare's cache out of the project tree."""

import pytest

from lifecycle_audit import paths


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path, monkeypatch):
    """Keep prepare's cache out of the project tree."""
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
