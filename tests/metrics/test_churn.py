"""Customers by the month of their last order."""

from __future__ import annotations

import pandas as pd

from lifecycle_audit.metrics import churn
from tests.kit import orders, tables


def test_customers_by_last_order_month_counts_each_customer_once_at_their_latest_order():
    rows = orders(
        customer_id=["a", "a", "b", "c", "c", None],
        order_time=["2026-01-05", "2026-03-20", "2026-01-31", "2026-02-01", "2026-01-10", "2026-04-02"],
        revenue=10.0,
    )
    out = churn.customers_by_last_order_month(tables(orders=rows))
    assert [pd.Timestamp(m).strftime("%Y-%m") for m in out["month"]] == ["2026-01", "2026-02", "2026-03"]
    assert list(out["customers"]) == [1, 1, 1]  # b in January, c in February, a in March; the guest order not at all
