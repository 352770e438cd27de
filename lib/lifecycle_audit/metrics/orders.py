"""Order measures shared by checks: average order value, revenue per customer, and the period's revenue."""

from __future__ import annotations

import pandas as pd

from ..engine import Tables


def average_order_value(tables: Tables) -> float | None:
    """Mean revenue per order over the period, or None without orders."""
    if not tables.has("orders"):
        return None

    def compute(t: Tables) -> float | None:
        o = t["orders"]
        value = o.revenue.mean().to_pandas()
        return None if value is None or value != value else float(value)

    return tables.derived("aov", compute)


def revenue_per_customer_year(tables: Tables) -> float | None:
    """Revenue per ordering customer, scaled to twelve months of the period."""
    if not tables.has("orders"):
        return None

    def compute(t: Tables) -> float | None:
        o = t["orders"].filter(lambda o: o.customer_id.notnull())
        row = o.aggregate(revenue=o.revenue.sum(), customers=o.customer_id.nunique()).to_pandas().iloc[0]
        start, end = t.period
        years = max((end - start).days, 1) / 365.25
        if not row["customers"]:
            return None
        return float(row["revenue"]) / int(row["customers"]) / years

    return tables.derived("revenue_per_customer_year", compute)


def period_revenue(tables: Tables) -> float | None:
    """Revenue of the orders placed in the analysis period (the ceiling of any money at stake), or None."""
    if not tables.has("orders"):
        return None

    def compute(t: Tables) -> float | None:
        start, end = t.period
        o = t["orders"]
        o = o.filter((o.order_time >= start.to_pydatetime()) & (o.order_time <= end.to_pydatetime()))
        value = o.revenue.sum().to_pandas()
        return None if value is None or value != value else float(value)

    return tables.derived("period_revenue", compute)


ORDERS_CAP = 6  # customers with 6 or more orders are pooled as "6+"


def customers_by_orders(tables: Tables, cap: int = ORDERS_CAP) -> pd.DataFrame:
    """Customers by their number of orders in the period: `orders` ("1", "2", ..., "6+" for `cap` and more) and
    `customers`; orders without a customer are left out."""
    o = tables["orders"].filter(lambda t: t.customer_id.notnull())
    per = o.group_by("customer_id").agg(orders=o.count())
    out = per.group_by(orders=per.orders.clip(upper=cap)).agg(customers=per.count()).order_by("orders").to_pandas()
    out["customers"] = out["customers"].astype("int64")
    out["orders"] = out["orders"].map(lambda n: f"{n}+" if n >= cap else str(n))
    return out
