"""Recency, frequency and value per customer, and the RFM segments an analyst expects to see.

Segments (first match wins), over the analysis period:
- premium: 3+ orders, last order within 90 days, spend in the top fifth;
- at risk: 2+ orders, last order 90 to 180 days ago;
- inactive: last order more than 180 days ago;
- top spender: spend in the top fifth;
- repeat: 2+ orders;
- one-time: everyone else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine import Tables

SEGMENTS = ("premium", "top spender", "repeat", "at risk", "inactive", "one-time")


def customer_rfm(tables: Tables) -> pd.DataFrame:
    """One row per ordering customer: customer_id, orders, revenue, first_order, last_order, recency_days."""

    def compute(t: Tables) -> pd.DataFrame:
        o = t["orders"].filter(lambda o: o.customer_id.notnull())
        df = (
            o.group_by("customer_id")
            .aggregate(
                orders=o.count(),
                revenue=o.revenue.sum(),
                first_order=o.order_time.min(),
                last_order=o.order_time.max(),
            )
            .to_pandas()
        )
        end = t.period[1]
        df["recency_days"] = (end - pd.to_datetime(df["last_order"])).dt.total_seconds() / 86400
        return df

    return tables.derived("customer_rfm", compute)


def segment(rfm: pd.DataFrame, top_share: float = 0.2) -> pd.Series:
    """Each customer's segment, as in the module docstring."""
    if rfm.empty:
        return pd.Series([], dtype="object")
    cut = rfm["revenue"].quantile(1 - top_share)
    top = rfm["revenue"] >= cut
    rec, freq = rfm["recency_days"], rfm["orders"]
    conds = [(freq >= 3) & (rec <= 90) & top, (freq >= 2) & (rec > 90) & (rec <= 180), rec > 180, top, freq >= 2]
    names = ["premium", "at risk", "inactive", "top spender", "repeat"]
    return pd.Series(np.select(conds, names, default="one-time"), index=rfm.index)


def segments(tables: Tables) -> pd.DataFrame:
    """Customers and revenue per RFM segment: segment, customers, share_of_customers, revenue, share_of_revenue."""
    rfm = customer_rfm(tables)
    rfm = rfm.assign(segment=segment(rfm))
    out = rfm.groupby("segment").agg(customers=("customer_id", "size"), revenue=("revenue", "sum"))
    out = out.reindex(list(SEGMENTS), fill_value=0).reset_index()
    out["share_of_customers"] = out["customers"] / max(int(out["customers"].sum()), 1)
    total = float(out["revenue"].sum())
    out["share_of_revenue"] = out["revenue"] / total if total else 0.0
    return out[["segment", "customers", "share_of_customers", "revenue", "share_of_revenue"]]
