"""Contract tables for tests, built by keyword, and the one way tests run a check or a stage.

Rows are dicts (or keyword lists) with the contract's column names; every column a row leaves out is filled
with the builder's keyword of that name, else null, and the frame has exactly the contract's dtypes, so a test
never spells a dtype::

    events(dict(session_id="s1", minutes=5, event_type="page_view"), device="mobile")
    orders([dict(order_id="O1", customer_id="c1", days=3, revenue=50.0)])
    orders(customer_id=["c1", "c2"], days=[0, 30], revenue=50.0)   # keyword lists: one value a row

Times, one convention:

- `minutes=`, `hours=`, `days=` (they add up) in a row or as a builder keyword set the table's time column
  (`contract.Table.time_column`: event_time, order_time, sent_at, ...) to that offset from `T0`, a Monday at
  10:00. A builder's `t0=` moves the origin for that call.
- A timestamp may also be given as such (a `pd.Timestamp` or an ISO string). A `pd.Timedelta` in the time
  column counts from the origin; in any other time column (opened_at, responded_at, ...) it counts from the
  row's own time, e.g. `messages(dict(minutes=5, opened_at=pd.Timedelta(minutes=30)))`.
- DATE columns (spend.date, prices.valid_from) keep the day only.

Single-column keys (order_id, message_id, ticket_id, survey_id, review_id) that a row leaves out get a
numbered id (O0, O1, ...; M0, ...). `columns=` keeps only the named columns, for a test about a column that
the client did not supply (a check may treat an absent column unlike a present, empty one).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from lifecycle_audit import checks, contract, findings, synth
from lifecycle_audit.engine import Tables
from lifecycle_audit.findings import Finding
from lifecycle_audit.i18n import Text
from lifecycle_audit.stages import CHECKED

T0 = pd.Timestamp("2026-03-02 10:00:00")  # a Monday
OFFSETS = ("days", "hours", "minutes")
ID_PREFIX = {"orders": "O", "messages": "M", "tickets": "T", "surveys": "S", "reviews": "R"}
_LISTS = (list, tuple, range, np.ndarray, pd.Series, pd.Index)
_TIMES = (contract.TIMESTAMP, contract.DATE)


def table(
    name: str,
    *rows: Mapping[str, Any] | Iterable[Mapping[str, Any]],
    t0: pd.Timestamp | str = T0,
    columns: Iterable[str] | None = None,
    **defaults: Any,
) -> pd.DataFrame:
    """The contract table `name` from `rows` (dicts, or lists of dicts); see the module docstring."""
    spec = contract.table(name)
    records = _records(spec, _flatten(rows), defaults)
    origin = pd.Timestamp(t0)
    for i, rec in enumerate(records):
        _resolve_times(spec, rec, origin)
        if name in ID_PREFIX and rec.get(spec.key[0]) is None:
            rec[spec.key[0]] = f"{ID_PREFIX[name]}{i}"
    keep = spec.column_names if columns is None else _chosen(spec, columns, records)
    return pd.DataFrame({c: _series([r.get(c) for r in records], spec.column(c).kind) for c in keep})


def _flatten(rows: tuple) -> list[dict[str, Any]]:
    """Positional rows as one list: each argument is a row (a mapping) or an iterable of rows."""
    out: list[dict[str, Any]] = []
    for r in rows:
        out.extend([dict(r)] if isinstance(r, Mapping) else [dict(x) for x in r])
    return out


def _records(spec: contract.Table, rows: list[dict[str, Any]], defaults: dict[str, Any]) -> list[dict[str, Any]]:
    """Each row completed from the defaults (a list default gives one value a row); unknown names are errors."""
    known = set(spec.column_names) | set(OFFSETS)
    for key in set(defaults).union(*rows) if rows else defaults:
        if key not in known:
            raise KeyError(f"table {spec.name!r} has no column {key!r}; it has: {', '.join(spec.column_names)}")
    lists = {k: list(v) for k, v in defaults.items() if isinstance(v, _LISTS)}
    lengths = {len(v) for v in lists.values()}
    n = len(rows) if rows else (lengths.pop() if len(lengths) == 1 else 0)
    if any(length != n for length in {len(v) for v in lists.values()}):
        raise ValueError(f"{spec.name}: keyword lists must have one value per row ({n} rows)")
    if not rows:
        rows = [{} for _ in range(n)]
    return [
        {**{k: (lists[k][i] if k in lists else v) for k, v in defaults.items()}, **row} for i, row in enumerate(rows)
    ]


def _resolve_times(spec: contract.Table, rec: dict[str, Any], origin: pd.Timestamp) -> None:
    """Offsets and Timedeltas of one record turned into timestamps, in place."""
    time_col = spec.time_column
    offsets = {k: rec.pop(k) for k in OFFSETS if k in rec}
    if offsets:
        if time_col is None:
            raise ValueError(f"{spec.name}: the table has no time column for {sorted(offsets)}")
        if rec.get(time_col) is not None:
            raise ValueError(f"{spec.name}: a row gives both {time_col} and an offset {sorted(offsets)}")
        rec[time_col] = origin + pd.Timedelta(**{k: float(v) for k, v in offsets.items()})
    if isinstance(rec.get(time_col), dt.timedelta):
        rec[time_col] = origin + rec[time_col]
    for col in spec.columns:
        if col.kind in _TIMES and col.name != time_col and isinstance(rec.get(col.name), dt.timedelta):
            rec[col.name] = pd.Timestamp(rec[time_col]) + rec[col.name]


def _chosen(spec: contract.Table, columns: Iterable[str], records: list[dict[str, Any]]) -> tuple[str, ...]:
    """The columns to keep, in contract order; a row giving a value outside them is an error."""
    wanted = set(columns)
    for c in wanted:
        spec.column(c)
    given = {k for r in records for k, v in r.items() if v is not None}
    if given - wanted:
        raise ValueError(f"{spec.name}: rows give {sorted(given - wanted)}, which columns= leaves out")
    return tuple(c for c in spec.column_names if c in wanted)


def _series(values: list[Any], kind: str) -> pd.Series:
    """One column with the contract's dtype for `kind`; None, NaN and NaT become null."""
    dtype = contract.PANDAS_DTYPES[kind]
    if kind in _TIMES:
        s = pd.to_datetime(pd.Series(values, dtype=object))
        return (s.dt.normalize() if kind == contract.DATE else s).astype(dtype)
    if kind == contract.FLOAT:
        return pd.Series(pd.array(values, dtype="Float64")).astype(dtype)
    return pd.Series(pd.array(values, dtype=dtype))


def _named(name: str, doc: str):
    """A thin builder of the contract table `name`: `table(name, ...)` with its own name and docstring."""

    def build(*rows: Any, **kw: Any) -> pd.DataFrame:
        return table(name, *rows, **kw)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = doc
    return build


customers = _named("customers", "The customers table; offsets set first_seen_at.")
events = _named("events", "The events table; offsets set event_time.")
orders = _named("orders", "The orders table; offsets set order_time, a missing order_id is numbered O0, O1, ...")
order_lines = _named("order_lines", "The order_lines table (it has no time column).")
messages = _named("messages", "The messages table; offsets set sent_at, a missing message_id is numbered M0, ...")
tickets = _named("tickets", "The tickets table; offsets set opened_at, a missing ticket_id is numbered T0, ...")
surveys = _named("surveys", "The surveys table; offsets set sent_at, a missing survey_id is numbered S0, ...")
reviews = _named("reviews", "The reviews table; offsets set created_at, a missing review_id is numbered R0, ...")
referrals = _named("referrals", "The referrals table; offsets set created_at.")
spend = _named("spend", "The spend table; offsets set the date (the day only).")
prices = _named("prices", "The prices table; offsets set valid_from (the day only).")
campaign_members = _named("campaign_members", "The campaign_members table; offsets set assigned_at.")


def tables(period: tuple[Any, Any] | None = None, **frames: pd.DataFrame) -> Tables:
    """The audit's tables from in-memory frames, with the analysis period when given (first and last day)."""
    return Tables.from_frames(frames, period=period) if period else Tables.from_frames(frames)


def run(
    check_id: str,
    *,
    overrides: dict[str, Any] | None = None,
    period: tuple[Any, Any] | None = None,
    **frames: pd.DataFrame,
) -> Finding:
    """The finding of one check on the frames (with the analysis period when given), its options overridden."""
    return findings.run_check(checks.get(check_id), tables(period, **frames), overrides)


def estimated(f: Finding) -> float | None:
    """A finding's money at stake as its check estimated it (before findings capped it at a share of the period's
    revenue); asserts that its method line names the rate it rests on, with the rate's source."""
    if f.at_stake is None:
        return None
    assert checks.cites_rate(f.at_stake_method), f"{f.check_id}: the method names no rate with its source"
    m = f.at_stake_method
    if isinstance(m, Text) and m.msgid == "{a}; {b}" and "capped" in m.params["b"].msgid:
        return m.params["b"].params["amount"].value
    return f.at_stake


def sorted_rows(expr, key: str) -> pd.DataFrame:
    """An engine's table as a DataFrame in the order of `key` (engines return rows in no set order)."""
    return expr.to_pandas().sort_values(key, ignore_index=True)


def all_findings(frames: dict[str, pd.DataFrame], threads: int | None = 1) -> list[Finding]:
    """Every implemented check of every checked stage on the frames, in stage and catalogue order.

    DuckDB runs on `threads` threads (one by default): rows that tie in a check's sort then come in the same
    order on every run and machine (on several threads their order follows the scheduling).
    """
    t = Tables.from_frames(frames)
    if threads:
        t.con.raw_sql(f"SET threads TO {int(threads)}")
    return [f for stage in CHECKED for f in findings.run_stage(stage, t, {})]


@functools.lru_cache(maxsize=8)
def _generated(profile: str, customers: int, seed: int, mistakes: tuple[str, ...] | None) -> dict[str, pd.DataFrame]:
    return synth.generate(customers=customers, seed=seed, profile=profile, mistakes=mistakes)


def shop(
    profile: str = "planted", customers: int = 2000, seed: int = 3, mistakes: Iterable[str] | None = None
) -> dict[str, pd.DataFrame]:
    """A generated demo shop, made once per test session for the same arguments (copies of the frames)."""
    frames = _generated(profile, customers, seed, None if mistakes is None else tuple(mistakes))
    return {name: df.copy() for name, df in frames.items()}
