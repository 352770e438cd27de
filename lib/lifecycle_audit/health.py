"""Stage 0, data health: what was supplied, what is usable, what the tables hold, which checks can run and why
not, and what the data's span can carry (customers left out as first-time buyers by the warm-up, purchases
recorded twice)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import checks, contract, fmt, i18n, sources, stages
from .i18n import N_
from .metrics import cohorts, presence, sessions, span
from .sources import doubles

i18n.add_labels(
    columns={
        "customers_counted_as": N_("Counted as"),
        "data_starts": N_("Data starts"),
        "first_order": N_("Day of the first order"),
        "warmup_days": N_("Warm-up (days)"),
        "warmup_ends": N_("Warm-up ends"),
        "span_days": N_("Span (days)"),
    },
    terms={
        "first-time buyers": N_("first-time buyers"),
        cohorts.FIRST_ORDER_IN_WARMUP: N_("first order in the warm-up"),
        cohorts.SIGNED_UP_BEFORE: N_("signed up before the data"),
        doubles.DOUBLED_EVENT: N_("purchase event fired twice"),
        doubles.DOUBLED_PURCHASE: N_("purchase event fired twice"),
        doubles.REPEATED_ORDER: N_("order recorded twice"),
    },
    owner="health",
)


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
    """Every problem found in the client's files: table, column, what is wrong, rows affected, examples. The
    list `lifecycle-audit validate` prints (sources.rejections): the files that could not be used, the rows
    rejected from plain tables, and those a preset rejected from its raw export."""
    rows = []
    if prepared is not None:
        for p in prepared.fatal + sources.rejections(prepared):
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
    """Every check: "ready" when the data meets everything it declared it needs to judge, else "cannot run"
    with the needs the data does not meet (`missing`) and why the first of them is not met (`reason`)."""
    rows = []
    for spec in checks.specs():
        unmet = checks.unmet_needs(spec.needs, tables)
        # Table, column and kind names are the contract's own words in every language; the state is a term.
        rows.append(
            {
                "stage": stages.TITLES[spec.stage],
                "check": spec.id,
                "title": spec.title,
                "needs": ", ".join(spec.needs),
                "state": "cannot run" if unmet else "ready",
                "missing": ", ".join(str(need) for need, _ in unmet),
                "reason": unmet[0][1] if unmet else "",
            }
        )
    return pd.DataFrame(rows)


def readiness_by_stage(ready: pd.DataFrame) -> pd.DataFrame:
    """The readiness of every check (`readiness`) counted per stage: one row per stage in catalogue order, one
    column per state ("ready", "cannot run") holding its number of checks."""
    return ready.pivot_table(
        index="stage", columns="state", values="check", aggfunc="count", fill_value=0, sort=False
    ).reset_index()


COVERAGE_COLUMNS = ["table", "column", "rows", "filled", "distinct", "from", "to", "kinds"]
NOT_SUPPLIED = "not supplied"  # a term (i18n.TERMS): shown in the client's language


def coverage(tables) -> pd.DataFrame:
    """What every supplied table holds, one row per contract column: the table's rows, the share of them
    that fill the column, its distinct values, the first and last date (date columns) and, for kind columns
    (closed vocabularies such as events.event_type or messages.channel, and yes/no columns), the kinds that
    occur with their rows, most frequent first. A column the client did not supply shows as filled on no row.

    The rows, the filled rows and the kinds come from the table's profile (metrics.presence, one grouped query
    that the checks' needs share); only the distinct values and the dates of the other columns are counted here."""
    out = []
    for name in contract.TABLE_ORDER:
        if not tables.has(name):
            continue
        spec = contract.table(name)
        n = presence.rows(tables, name)
        filled = {col.name: presence.filled(tables, name, col.name) for col in spec.columns}
        stats = _column_stats(tables[name], spec, filled, _known_distinct(tables, name, filled))
        for col in spec.columns:
            dated = col.kind in (contract.TIMESTAMP, contract.DATE) and filled[col.name]
            kinds = presence.kinds(tables, name, col.name) if presence.is_kind(col) else {}
            out.append(
                {
                    "table": name,
                    "column": f"{name}.{col.name}",  # as the needs name it (a bare name could read as a word)
                    "rows": n,
                    "filled": filled[col.name] / n if n else None,
                    "distinct": len(kinds) if presence.is_kind(col) else int(stats.get(f"d__{col.name}", 0)),
                    "from": stats[f"lo__{col.name}"] if dated else None,
                    "to": stats[f"hi__{col.name}"] if dated else None,
                    # a column empty on every row is not supplied (checks that need it are not run), never
                    # "unknown" on every row
                    "kinds": NOT_SUPPLIED
                    if n and not filled[col.name]
                    else (_kinds_text(kinds) if presence.is_kind(col) else ""),
                }
            )
    return pd.DataFrame(out, columns=COVERAGE_COLUMNS)


def _known_distinct(tables, name: str, filled: dict[str, int]) -> dict[str, int]:
    """Distinct counts that need no count: a table's one-column key holds a different value on every filled row
    (preparing the data rejects a missing or repeated key), and the stored sessions are one row per session id of
    the events (a required column). At 1,000,000 customers counting them took 5.5 s (sessions) and 2.6 s (message
    ids) of the data-health stage's 24 s."""
    spec = contract.table(name)
    known = {spec.key[0]: filled[spec.key[0]]} if len(spec.key) == 1 and spec.key[0] in filled else {}
    if name == "events" and tables.is_stored("sessions"):
        known["session_id"] = int(sessions.sessions(tables).count().to_pyarrow().as_py())
    return known


def _column_stats(t, spec: contract.Table, filled: dict[str, int], known: dict[str, int]) -> dict:
    """The distinct values of every filled column that is not a kind column (`d__<column>`), and the first and last
    value of every filled date column (`lo__`, `hi__`). The rows, the filled rows and the kinds are the profile's:
    nothing here counts them again, nor looks at a column the profile found empty.

    Each distinct count is a query of its own: several count(distinct) in one query hold the values of every
    column at once, which at 1 M customers (44 M events: 19 M sessions, 24 M moments) is more than a stage's
    memory; one column at a time was a little faster (10.4 s against 11.5 s for the events, same machine). The
    dates are one more query, which holds nothing but them. Counts the data already holds are taken, not counted
    again (`known`)."""
    out: dict = {}
    dates = {}
    for col in spec.columns:
        if not filled.get(col.name):
            continue
        c = t[col.name]
        if col.name in known:
            out[f"d__{col.name}"] = known[col.name]
        elif not presence.is_kind(col):
            out[f"d__{col.name}"] = int(t.aggregate(d=c.nunique()).to_pandas()["d"].iloc[0])
        if col.kind in (contract.TIMESTAMP, contract.DATE):
            dates[f"lo__{col.name}"], dates[f"hi__{col.name}"] = c.min(), c.max()
    if dates:
        out.update(t.aggregate(**dates).to_pandas().iloc[0].to_dict())
    return out


def _kinds_text(kinds: dict[str, int]) -> str:
    """The kinds of a column with their rows: "page_view 5,210 · product_view 3,104"."""
    return " · ".join(f"{kind} {fmt.number(n)}" for kind, n in kinds.items())


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


def warmup(tables) -> pd.DataFrame:
    """The data's span as the first-time buyers see it: its first day (of the first order or event), the warm-up
    (params period.warmup_days, from the first order's day) and where it ends, and the days the analysis period
    covers; empty without orders."""
    start = span.data_start(tables)
    if start is None:
        return pd.DataFrame(columns=["data_starts", "first_order", "warmup_days", "warmup_ends", "span_days"])
    row = {
        "data_starts": start,
        "first_order": span.orders_start(tables),
        "warmup_days": int(tables.warmup_days),
        "warmup_ends": span.warmup_end(tables),
        "span_days": round(span.span_days(tables)),
    }
    return pd.DataFrame([row])


def first_time_buyers(tables) -> pd.DataFrame:
    """Ordering customers by whether their first order in the data counts as their first purchase, and if not,
    why (metrics.cohorts.first_time_buyers): customers_counted_as, customers, share; empty without orders."""
    if not tables.has("orders"):
        return pd.DataFrame(columns=["customers_counted_as", "customers", "share"])
    return cohorts.left_censored(tables)


def doubled(prepared) -> pd.DataFrame:
    """The purchases recorded twice and counted once (sources.doubles): file, reason, rows, what, example rows."""
    out = reasons(prepared)
    return out[out["reason"].isin(doubles.KINDS)].drop(columns=["category", "share"]).reset_index(drop=True)


def _short(file: str) -> str:
    return Path(str(file)).name if "/" in str(file) else str(file)
