"""The purchase funnel: how far visits get from a product view to an order, step by step and by device."""

from __future__ import annotations

import pandas as pd

from ..engine import Tables
from .sessions import sessions

# The steps in order: (the word the report shows, the session counter that marks the step).
STEPS = (
    ("product view", "product_views"),
    ("add to cart", "carts"),
    ("begin checkout", "checkouts"),
    ("purchase", "purchases"),
)


def by_device(tables: Tables, known_only: bool = True) -> pd.DataFrame:
    """Per device and step: sessions that reached the step (and every step before it), the share of the
    sessions at the step before that went on (`step_rate`), and the share of sessions that viewed a product
    (`share_of_start`). `known_only`: only sessions of identified customers (anonymous visitors may never
    be able to buy, which would dilute every rate)."""

    def compute(t: Tables) -> pd.DataFrame:
        s = sessions(t)
        if known_only:
            s = s.filter(s.customer_id.notnull())
        # counted, not summed: DuckDB sums booleans into 128-bit integers
        reached, agg = None, {}
        for label, col in STEPS:
            cond = s[col] > 0
            reached = cond if reached is None else reached & cond
            agg[label] = s.count(where=reached)
        wide = s.group_by("device").aggregate(**agg).to_pandas()
        long = wide.melt(id_vars="device", var_name="step", value_name="sessions")
        long["step"] = pd.Categorical(long["step"], [label for label, _ in STEPS], ordered=True)
        long = long.sort_values(["device", "step"]).reset_index(drop=True)
        long["sessions"] = long["sessions"].astype("int64")
        prev = long.groupby("device")["sessions"].shift(1)
        start = long.groupby("device")["sessions"].transform("first")
        long["step_rate"] = long["sessions"] / prev.where(prev > 0)
        long["share_of_start"] = long["sessions"] / start.where(start > 0)
        long["step"] = long["step"].astype(str)
        return long

    return tables.derived(f"funnel_by_device:{known_only}", compute)


def reach(tables: Tables) -> pd.DataFrame:
    """How far visits get: per step ("visit", then STEPS), the sessions that reached it, whatever they did before
    (`sessions`), and their share of all sessions (`share_of_sessions`)."""
    s = sessions(tables)
    agg = {"visit": s.count(), **{label: s.count(where=s[col] > 0) for label, col in STEPS}}
    counts = s.aggregate(**agg).to_pandas().iloc[0]
    out = pd.DataFrame({"step": list(agg), "sessions": [int(counts[k]) for k in agg]})
    total = out["sessions"].iloc[0]
    out["share_of_sessions"] = out["sessions"] / total if total else float("nan")
    return out
