"""Stage 0, data health: what was supplied, what is usable, which checks can run and why not."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import checks, contract, stages


def supplied(prepared) -> pd.DataFrame:
    """One row per contract table: file, rows in, used, rejected, date range; absent tables say so."""
    rows = []
    loads = prepared.loads if prepared is not None else {}
    for name in contract.TABLE_ORDER:
        load = loads.get(name)
        if load is None:
            rows.append(
                {
                    "table": name,
                    "file": "not supplied",
                    "rows_in": None,
                    "rows_used": None,
                    "rows_rejected": None,
                    "from": None,
                    "to": None,
                    "usable": False,
                }
            )
            continue
        usable = not any(p.fatal for p in load.problems)
        rows.append(
            {
                "table": name,
                "file": load.file,
                "rows_in": load.rows_in,
                "rows_used": load.rows_used,
                "rows_rejected": sum(load.rejected.values()),
                "from": load.date_min,
                "to": load.date_max,
                "usable": usable,
            }
        )
    return pd.DataFrame(rows)


def rejections(prepared) -> pd.DataFrame:
    """Every problem found in the client's files: table, column, what is wrong, rows affected, examples."""
    rows = []
    if prepared is not None:
        for p in prepared.problems:
            rows.append(
                {
                    "table": p.table,
                    "file": p.file,
                    "column": p.column,
                    "problem": p.kind,
                    "rows": p.count,
                    "example_rows": ", ".join(str(r) for r in p.examples),
                    "fatal": p.fatal,
                    "message": p.message,
                }
            )
    return pd.DataFrame(
        rows, columns=["table", "file", "column", "problem", "rows", "example_rows", "fatal", "message"]
    )


def readiness(tables) -> pd.DataFrame:
    """Every check: whether it can run on the tables supplied, and if not, which tables it lacks."""
    rows = []
    for spec in checks.specs():
        missing = [t for t in spec.needs if not tables.has(t)]
        # Table names are the contract's own words in every language; the state is a translated term.
        rows.append(
            {
                "stage": stages.TITLES[spec.stage],
                "check": spec.id,
                "title": spec.title,
                "needs": ", ".join(spec.needs),
                "state": "cannot run" if missing else "ready",
                "missing": ", ".join(missing),
            }
        )
    return pd.DataFrame(rows)


def inputs(prepared) -> pd.DataFrame:
    """One row per input file: rows in = used + excluded by rule + rejected as bad data (balanced: that holds)."""
    rows = []
    for i in prepared.inputs if prepared is not None else []:
        rows.append(
            {
                "file": _short(i.file),
                "tables": ", ".join(i.tables),
                "preset": i.preset or "",
                "rows_in": i.rows_in,
                "rows_used": i.rows_used,
                "rows_excluded": i.rows_excluded,
                "rows_rejected": i.rows_rejected,
                "balanced": i.balanced,
            }
        )
    return pd.DataFrame(
        rows, columns=["file", "tables", "preset", "rows_in", "rows_used", "rows_excluded", "rows_rejected", "balanced"]
    )


def reasons(prepared) -> pd.DataFrame:
    """Every reason a row of an input file was not used: excluded by a rule (expected) or rejected as bad data."""
    rows = []
    for i in prepared.inputs if prepared is not None else []:
        for r in i.reasons:
            rows.append(
                {
                    "file": _short(i.file),
                    "category": r["category"],
                    "reason": r["reason"],
                    "rows": r["rows"],
                    "share": r["rows"] / i.rows_in if i.rows_in else None,
                    "what": r["description"],
                    "example_rows": ", ".join(str(x) for x in r.get("examples", [])),
                }
            )
    out = pd.DataFrame(rows, columns=["file", "category", "reason", "rows", "share", "what", "example_rows"])
    return out.sort_values(["file", "category", "rows"], ascending=[True, True, False], kind="stable")


def _short(file: str) -> str:
    return Path(str(file)).name if "/" in str(file) else str(file)
