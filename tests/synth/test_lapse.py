"""Customers who stop coming back (no_repeat_purchase, weak_first_product)."""

from __future__ import annotations

import pandas as pd

from .frames import PAID_CHANNELS, end_of
from .measures import measure
from .shops import shop


@measure("no_repeat_purchase", cut=0.19, bad="lower")
def second_order_rate(t, days=180):
    """Customers whose first order is `days` or more before the end: share with a second within `days`."""
    end = end_of(t)
    o = t["orders"].sort_values("order_time")
    first = o.groupby("customer_id")["order_time"].min()
    later = o[o["order_time"] > o["customer_id"].map(first)].groupby("customer_id")["order_time"].min()
    eligible = first[first <= end - pd.Timedelta(days=days)]
    return ((later.reindex(eligible.index) - eligible) <= pd.Timedelta(days=days)).mean()


def first_orders_by_category(t):
    """Each customer's first order with its first product category: the category of the order's
    line of the highest value (unit_price * quantity; ties by product_id)."""
    od, ol = t["orders"], t["order_lines"]
    first = od.sort_values(["order_time", "order_id"]).drop_duplicates("customer_id")
    lines = ol[ol["order_id"].isin(first["order_id"])].assign(value=ol["unit_price"] * ol["quantity"])
    top = lines.sort_values(["value", "product_id"], ascending=[False, True]).drop_duplicates("order_id")
    return first.merge(top[["order_id", "category"]], on="order_id")


@measure("weak_first_product", cut=0.6, bad="lower")
def first_category_value_ratio(t, days=180):
    """Revenue in the `days` from the first order (included) per customer whose first order is
    `days` or more before the end: customers of the most common first category over all others."""
    f = first_orders_by_category(t)
    f = f[f["order_time"] < end_of(t) - pd.Timedelta(days=days)]
    od = t["orders"].merge(f[["customer_id", "order_time"]].rename(columns={"order_time": "first"}), on="customer_id")
    value = od[od["order_time"] < od["first"] + pd.Timedelta(days=days)].groupby("customer_id")["revenue"].sum()
    f = f.assign(value=f["customer_id"].map(value))
    common = f["category"].value_counts().idxmax()
    return f.loc[f["category"] == common, "value"].mean() / f.loc[f["category"] != common, "value"].mean()


def cross_sell_rate(t):
    """Customers with 2+ orders: share whose later orders include a category not in the first."""
    o = t["orders"].sort_values(["order_time", "order_id"])
    o = o.assign(rank=o.groupby("customer_id").cumcount())
    lines = t["order_lines"].merge(o[["order_id", "customer_id", "rank"]], on="order_id")
    first = lines.loc[lines["rank"] == 0, ["customer_id", "category"]].drop_duplicates().assign(seen=True)
    later = lines[lines["rank"] > 0].merge(first, on=["customer_id", "category"], how="left")
    new = later.loc[later["seen"].isna(), "customer_id"].unique()
    return pd.Index(later["customer_id"].unique()).isin(new).mean()


def test_weak_first_product():
    """Planted: paid ads start most customers on a cheap category whose buyers lapse, and
    nobody buys outside their category; healthy: first categories are worth alike, and half the
    repeat customers buy another category."""
    good, bad = shop("healthy"), shop("planted")
    assert first_orders_by_category(bad)["category"].value_counts().idxmax() == "beauty"
    assert first_orders_by_category(good)["category"].value_counts().idxmax() == "apparel"
    assert first_category_value_ratio(bad) < 0.5 < 0.75 < first_category_value_ratio(good)
    assert cross_sell_rate(bad) < 0.25 < 0.45 < cross_sell_rate(good)
    # the door-opener comes through paid channels
    f = first_orders_by_category(bad).merge(bad["customers"][["customer_id", "acquisition_channel"]])
    f = f[f["acquisition_channel"].notna()]
    paid = f["acquisition_channel"].isin(PAID_CHANNELS)
    assert (f.loc[paid, "category"] == "beauty").mean() > 2 * (f.loc[~paid, "category"] == "beauty").mean()
