"""Helpers for the tests of lifecycle_audit.sources: params over a folder, files written into it, one problem."""

from __future__ import annotations

from pathlib import Path

from lifecycle_audit import params

CUSTOMERS_CSV = """customer_id,first_seen_at,acquisition_channel
C1,2025-01-01 09:00:00,paid_search
C2,2025-01-02,email
C3,2025-01-03T10:00:00,
"""


def make_params(folder: Path, sources_: dict, **extra) -> params.Params:
    """Params of client acme reading `sources_` from `folder`."""
    return params.from_dict({"client": "acme", "data_dir": str(folder), "sources": sources_, **extra})


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """Write a client file."""
    path = folder / name
    path.write_text(text, encoding=encoding)
    return path


def only(problems, kind):
    """The one problem of that kind (the test fails when there are none or several)."""
    found = [p for p in problems if p.kind == kind]
    assert len(found) == 1, f"expected one {kind} problem, got {[str(p) for p in problems]}"
    return found[0]
