"""Golden findings: every check of every stage on a small planted shop gives what tests/golden/findings.json holds.

A change that moves any finding — its status, score, value, money at stake, table, chart or wording — shows
here as a diff, so a reorganisation that should change nothing can prove it. Numbers are compared at 6
significant digits, so float noise across machines does not count, and DuckDB runs on one thread, so rows that
tie in a check's sort keep their order. When a change is meant to move findings,
write the file anew and review its diff:

    LIFECYCLE_AUDIT_UPDATE_GOLDEN=1 pytest tests/test_golden.py
"""

from __future__ import annotations

import difflib
import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from tests.kit import all_findings, shop

pytestmark = pytest.mark.heavy  # a 1,500-customer shop judged by every check: make test, not test-fast

GOLDEN = Path(__file__).parent / "golden" / "findings.json"
UPDATE = "LIFECYCLE_AUDIT_UPDATE_GOLDEN"
SHOP = dict(profile="planted", customers=1500, seed=3)
DIGITS = 6
VOLATILE = {"fit_seconds"}  # timings inside a finding's details: never the same twice
SHOWN = 3  # findings shown in the diff of a failure
DIFF_LINES = 80


def rounded(value: Any) -> Any:
    """`value` with every float at DIGITS significant digits and timing details dropped."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{DIGITS}g}")
    return value


def current() -> list[dict[str, Any]]:
    """The findings of every checked stage on the golden shop, as JSON-ready, rounded dicts."""
    return [rounded(f.to_dict(timings=False)) for f in all_findings(shop(**SHOP))]


def dump(findings: list[dict[str, Any]]) -> str:
    return json.dumps(findings, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def first_differences(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> str:
    """A short unified diff of the first findings that differ, matched by check id."""
    want = {f["check_id"]: f for f in expected}
    have = {f["check_id"]: f for f in got}
    ids = list(dict.fromkeys([*want, *have]))
    differing = [i for i in ids if want.get(i) != have.get(i)]
    lines = [f"{len(differing)} of {len(ids)} findings differ: {', '.join(differing)}"]
    for check_id in differing[:SHOWN]:
        a = dump([want[check_id]]).splitlines() if check_id in want else []
        b = dump([have[check_id]]).splitlines() if check_id in have else []
        lines += list(difflib.unified_diff(a, b, f"golden {check_id}", f"now {check_id}", n=2, lineterm=""))
    if len(lines) > DIFF_LINES:
        lines = lines[:DIFF_LINES] + [f"... ({len(lines) - DIFF_LINES} more lines)"]
    return "\n".join(lines + [f"(if the change is meant: {UPDATE}=1 pytest tests/test_golden.py)"])


def test_findings_match_the_golden_file(monkeypatch):
    monkeypatch.setenv("LIFECYCLE_AUDIT_PSEUDONYM_KEY", "golden")  # pseudonyms as on every machine, not this one's key
    got = current()
    if os.environ.get(UPDATE):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(dump(got), encoding="utf-8")
        pytest.skip(f"wrote {len(got)} findings to {GOLDEN}; review its diff before committing")
    assert GOLDEN.exists(), f"no golden file yet: {UPDATE}=1 pytest tests/test_golden.py writes it"
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert got == expected, first_differences(expected, got)


def test_rounding_keeps_six_significant_digits_and_drops_timings():
    got = rounded(
        {
            "value": 1234.56789,
            "details": {"fit_seconds": 0.3, "n": 7, "ok": True, "nan": None},
            "table": [{"share": 0.000123456789}],
        }
    )
    assert got == {"value": 1234.57, "details": {"n": 7, "ok": True, "nan": None}, "table": [{"share": 0.000123457}]}
