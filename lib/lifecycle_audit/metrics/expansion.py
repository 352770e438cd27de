"""First products and what follows them: per customer, the category of the first order, whether and how
soon they ordered again, their value in the months after the first order, and whether they later bought
from another category (cross-sell)."""

from __future__ import annotations

import ibis
import pandas as pd

from ..engine import Tables
from . import cohorts


def first_products(tables: Tables, value_days: int = 365, repeat_days: int = 180) -> pd.DataFrame:
    """One row per first-time buyer (cohorts.first_time_buyers): first_at, first_category (the category of the largest line of the
    first order; of equal lines, the first category by name), orders, ordered_again (a second order within `repeat_days`; NA when the first order is
    fewer than `repeat_days` before the end), value (revenue in the `value_days` from the first order
    on; NaN when the first order is fewer than `value_days` before the end), value_short (the same over
    `repeat_days`), cross_sold (for customers
    with a later order that has lines: whether it holds a category the first order did not), and
    acquisition_channel when customers are supplied."""
    o = tables["orders"]
    o = o.filter(o.customer_id.notnull() & o.order_time.notnull())
    w = ibis.window(group_by=o.customer_id, order_by=[o.order_time, o.order_id])
    o = o.mutate(rank=ibis.row_number().over(w))
    first = o.filter(o.rank == 0).select(customer_id=o.customer_id, first_order=o.order_id, first_at=o.order_time)
    first = first.semi_join(cohorts.first_time_buyers(tables).select("customer_id"), "customer_id")

    ol = tables["order_lines"]
    ol = ol.filter(ol.category.notnull()).mutate(line_value=ol.unit_price * ol.quantity)
    # the largest line's category; of lines of the same value, the first category by name (an arg-max would take
    # whichever line the engine met first, which differs between DuckDB's threads and Spark's tasks)
    valued = ol.filter(ol.line_value.notnull())
    w_line = ibis.window(group_by=valued.order_id, order_by=[ibis.desc(valued.line_value), valued.category])
    valued = valued.mutate(_line=ibis.row_number().over(w_line))
    main = valued.filter(valued._line == 0).select("order_id", first_category=valued.category)
    first = first.left_join(main, first.first_order == main.order_id).drop("order_id")

    j = o.join(first.select("customer_id", "first_at"), "customer_id")
    end = tables.period[1]
    per = j.group_by("customer_id").aggregate(
        orders=j.count(),
        second_at=j.order_time.min(where=j.rank == 1),
        value=j.revenue.sum(where=j.order_time < j.first_at + ibis.interval(days=value_days)),
        value_short=j.revenue.sum(where=j.order_time < j.first_at + ibis.interval(days=repeat_days)),
    )

    # cross-sell: lines of later orders in a category the first order did not have
    lines = ol.join(o.select("order_id", "customer_id", "rank"), "order_id")
    first_cats = lines.filter(lines.rank == 0).select(fc=lines.customer_id, fcat=lines.category).distinct()
    later = lines.filter(lines.rank > 0)
    other = later.anti_join(first_cats, [later.customer_id == first_cats.fc, later.category == first_cats.fcat])
    xs = (
        later.group_by("customer_id")
        .aggregate(later_lines=later.count())
        .left_join(other.group_by("customer_id").aggregate(other_lines=other.count()), "customer_id")
        .drop("customer_id_right")
    )

    out = first.left_join(per, "customer_id").drop("customer_id_right")
    out = out.left_join(xs, "customer_id").drop("customer_id_right")
    if tables.has("customers"):
        cu = tables["customers"].select("customer_id", "acquisition_channel")
        out = out.left_join(cu, "customer_id").drop("customer_id_right")
    df = out.to_pandas()
    first_at = pd.to_datetime(df["first_at"])
    second_at = pd.to_datetime(df["second_at"])
    repeat_known = first_at <= end - pd.Timedelta(days=repeat_days)
    df["ordered_again"] = pd.Series(pd.NA, index=df.index, dtype="boolean")
    df.loc[repeat_known, "ordered_again"] = (second_at - first_at <= pd.Timedelta(days=repeat_days))[repeat_known]
    value_known = first_at <= end - pd.Timedelta(days=value_days)
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype(float).where(value_known)
    df["value_short"] = pd.to_numeric(df["value_short"], errors="coerce").astype(float).where(repeat_known)
    df["cross_sold"] = pd.Series(pd.NA, index=df.index, dtype="boolean")
    has_later = pd.to_numeric(df["later_lines"], errors="coerce").fillna(0) > 0
    df.loc[has_later, "cross_sold"] = (pd.to_numeric(df["other_lines"], errors="coerce").fillna(0) > 0)[has_later]
    if "acquisition_channel" in df:
        df["acquisition_channel"] = (
            df["acquisition_channel"].astype(object).where(df["acquisition_channel"].notna(), "unknown")
        )
    return df.drop(columns=["first_order", "second_at", "later_lines", "other_lines"])


def by_category_and_channel(
    tables: Tables, min_customers: int = 20, value_days: int = 365, repeat_days: int = 180
) -> pd.DataFrame:
    """First-time buyers by the category of their first order and their acquisition channel (where the
    customers table gives one): customers, share who ordered again within `repeat_days`, and the observed
    revenue in the `value_days` from the first order; groups under `min_customers` are left out."""
    df = first_products(tables, value_days, repeat_days).dropna(subset=["first_category"])
    keys = ["first_category"] + (["acquisition_channel"] if "acquisition_channel" in df else [])
    out = df.groupby(keys).agg(
        customers=("customer_id", "size"),
        ordered_again_180d=("ordered_again", "mean"),
        customers_observed_12m=("value", "count"),
        value_first_12m=("value", "mean"),
    )
    out = out.reset_index().astype({"ordered_again_180d": float, "value_first_12m": float})
    out.loc[out["customers_observed_12m"] < min_customers, "value_first_12m"] = float("nan")
    out = out[out["customers"] >= min_customers]
    return out.sort_values("customers", ascending=False).reset_index(drop=True)
