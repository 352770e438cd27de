"""Each finding's full evidence table as a CSV beside the pages: evidence/<check_id>.csv in the run folder.

Identifiers become pseudonyms, e-mail addresses are masked, and text cells a spreadsheet would run as a
formula are defused. The kernel writes them when it saves a stage's findings (workbook.Audit.save), and
the card links to its CSV when it is rendered (workbook.show): a relative link, so the folder opens from
disk or a zip.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from .. import privacy

EVIDENCE_DIR = "evidence"

_FORMULA = re.compile(r"^[=+\-@\t\r]")


def _defuse(v: Any) -> Any:
    """A text cell a spreadsheet would evaluate ("=HYPERLINK(...)", "+1+2") gets a leading apostrophe."""
    if isinstance(v, str) and _FORMULA.match(v) and not re.fullmatch(r"-?\d[\d.,eE+-]*", v):
        return "'" + v
    return v


def evidence_file(check_id: str) -> str:
    """The CSV's path relative to the run folder: evidence/<check_id>.csv."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", check_id)
    return f"{EVIDENCE_DIR}/{safe}.csv"


def csv_link(check_id: str, table: Any) -> dict[str, Any] | None:
    """The card's link to its CSV, {"href", "rows"}; None when the finding has no table rows to write."""
    if table is None or not len(table):
        return None
    return {"href": evidence_file(check_id), "rows": len(table)}


def write_evidence(findings: Iterable[dict], run_dir: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Write each finding's full evidence table; returns {check_id: {"href", "rows"}} for the cards' links."""
    run_dir = Path(run_dir)
    links: dict[str, dict[str, Any]] = {}
    for f in findings:
        table = f.get("table") if isinstance(f, dict) else None
        if not table:
            continue
        df = privacy.pseudonymise_frame(pd.DataFrame(table))
        for col in df.columns:
            if pd.api.types.is_object_dtype(df[col]) or pd.api.types.is_string_dtype(df[col]):
                df[col] = df[col].map(_defuse)
        href = evidence_file(f["check_id"])
        out = run_dir / href
        out.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(out, index=False, encoding="utf-8")
        links[f["check_id"]] = {"href": href, "rows": len(df)}
    return links
