"""Customers by their number of orders."""

from __future__ import annotations

from lifecycle_audit.metrics import orders
from tests.kit import orders as order_rows
from tests.kit import tables


def test_customers_by_orders_pools_six_and_more_and_leaves_out_guest_orders():
    rows = (
        [dict(customer_id="a", days=d) for d in range(1)]
        + [dict(customer_id="b", days=d) for d in range(3)]
        + [dict(customer_id="c", days=d) for d in range(3)]
        + [dict(customer_id="d", days=d) for d in range(6)]
        + [dict(customer_id="e", days=d) for d in range(9)]
        + [dict(customer_id=None, days=d) for d in range(4)]  # guest orders: no customer to count
    )
    out = orders.customers_by_orders(tables(orders=order_rows(rows, revenue=10.0)))
    assert out.to_dict("list") == {"orders": ["1", "3", "6+"], "customers": [1, 2, 2]}
