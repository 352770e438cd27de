"""The catalogue and its prices (price_rise_churn)."""

from __future__ import annotations

import pandas as pd

from .measures import measure


def demand_after_price_rise(t, days=60):
    """Units sold in the `days` after each price rise over the `days` before, relative to the
    same ratio for all units (the shop's trend)."""
    pr = t["prices"].sort_values(["product_id", "valid_from"])
    pr = pr.assign(prev=pr.groupby("product_id")["price"].shift())
    rises = pr[pr["prev"].notna() & (pr["price"] > pr["prev"])]
    lines = t["order_lines"].merge(t["orders"][["order_id", "order_time"]], on="order_id")
    w = pd.Timedelta(days=days)
    start, end = t["events"]["event_time"].min(), t["events"]["event_time"].max()
    rises = rises[(rises["valid_from"] - w >= start) & (rises["valid_from"] + w <= end)]
    m = lines.merge(rises[["product_id", "valid_from"]], on="product_id")
    after = (m["order_time"] >= m["valid_from"]) & (m["order_time"] < m["valid_from"] + w)
    before = (m["order_time"] < m["valid_from"]) & (m["order_time"] >= m["valid_from"] - w)
    own = (m["quantity"] * after).sum() / max((m["quantity"] * before).sum(), 1)
    tt = lines["order_time"].to_numpy()
    vf = rises["valid_from"].to_numpy()
    q = lines["quantity"].to_numpy().astype(float)
    trend_a = sum(q[(tt >= v) & (tt < v + w)].sum() for v in vf)
    trend_b = sum(q[(tt < v) & (tt >= v - w)].sum() for v in vf)
    return own / (trend_a / trend_b)


@measure("price_rise_churn", cut=0.7, bad="lower")
def demand_after_price_rise_90_days(t):
    """Demand in the 90 days after a price rise over the 90 before, against the trend."""
    return demand_after_price_rise(t, 90)
