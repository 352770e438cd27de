"""The data's span: where the orders begin, the warm-up at their start, and how many days the period covers.

A customer whose first order in the data falls in its first weeks may well have bought before the export
begins (left-censoring); `metrics.cohorts.first_time_buyers` uses `warmup_end` to leave them out. A check
whose window is longer than `span_days` cannot be judged on this data (`checks.windows`).
"""

from __future__ import annotations

import math

import pandas as pd

from ..engine import Tables


def orders_start(tables: Tables) -> pd.Timestamp | None:
    """Midnight of the day of the first order in the data (None without orders)."""
    if not tables.has("orders"):
        return None

    def compute(t: Tables) -> pd.Timestamp | None:
        o = t["orders"]
        first = o.aggregate(lo=o.order_time.min()).to_pandas()["lo"].iloc[0]
        return None if pd.isna(first) else pd.Timestamp(first).normalize()

    return tables.derived("orders_start", compute)


def data_start(tables: Tables) -> pd.Timestamp | None:
    """Midnight of the day the shop's recorded activity begins: the earliest first order or event (None without
    orders). A customer who signed up before it may have bought before the data; one who signed up on or after
    it arrived inside the data."""
    start = orders_start(tables)
    if start is None or not tables.has("events"):
        return start

    def compute(t: Tables) -> pd.Timestamp:
        ev = t["events"]
        first = ev.aggregate(lo=ev.event_time.min()).to_pandas()["lo"].iloc[0]
        return start if pd.isna(first) else min(start, pd.Timestamp(first).normalize())

    return tables.derived("data_start", compute)


def warmup_end(tables: Tables) -> pd.Timestamp | None:
    """The end of the warm-up: `tables.warmup_days` after the first order's day (params: period.warmup_days)."""
    start = orders_start(tables)
    return None if start is None else start + pd.Timedelta(days=int(tables.warmup_days))


def span_days(tables: Tables) -> float:
    """Days the analysis period covers (tables.period: as set in params, else the span of the orders, events or
    messages); infinite when no dated table tells it (a window cannot be held against an unknown span)."""
    try:
        start, end = tables.period
    except ValueError:
        return math.inf
    return (end - start) / pd.Timedelta(days=1)
