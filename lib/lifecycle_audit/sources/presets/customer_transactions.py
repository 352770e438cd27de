"""Customer transaction logs (CDNOW and the like): one row per purchase, no order number.

Yields orders (one per row; order_id = customer, date and line number), order_lines (one line per
order: the units bought at their average price) and customers (first seen at their first purchase).

rejected (bad data): no customer id, a date or amount that cannot be read.
excluded (the rules): zero_value (a purchase of 0.00: free or corrected; `zero_value: keep` keeps it),
negative_value (returns or corrections).
Identical rows are kept: without an order number two same-day purchases of the same value cannot be
told from a duplicate (they are counted in the notes).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .base import Built, Options, Preset, Reason, first_reason, number, register, text, timestamp


class CustomerTransactionOptions(Options):
    zero_value: Literal["exclude", "keep"] = "exclude"
    date_format: str | None = "%Y%m%d"
    currency: str | None = None
    product_id: str = "item"  # the product id of the single order line (the log has no products)


def build(data: pd.DataFrame, opts: CustomerTransactionOptions, ctx) -> Built:
    """An order per used purchase, one line each, and the customers; every row used, excluded or rejected."""
    n = len(data)
    customer = text(data["customer_id"])
    when = timestamp(data["date"], opts.date_format)
    value = number(data["amount"])
    rules = [
        ("missing_customer_id", customer.isna().to_numpy()),
        ("unreadable_date", when.isna().to_numpy()),
        ("unreadable_amount", value.isna().to_numpy()),
        ("negative_value", (value < 0).fillna(False).to_numpy()),
    ]
    if opts.zero_value == "exclude":
        rules.append(("zero_value", (value == 0).fillna(False).to_numpy()))
    status = first_reason(n, rules)
    used = status == ""
    rownum = pd.Series(np.arange(1, n + 1), index=data.index).astype(str)
    order_id = customer + "-" + when.dt.strftime("%Y%m%d") + "-" + rownum
    orders = pd.DataFrame(
        {
            "order_id": order_id[used].to_numpy(),
            "customer_id": customer[used].to_numpy(),
            "order_time": when[used].to_numpy(),
            "revenue": value[used].round(2).to_numpy(),
        }
    )
    orders["discount"] = np.nan
    orders["currency"] = opts.currency or ctx.params.currency
    return Built(
        tables={
            "orders": orders,
            "order_lines": _order_lines(data, used, orders, opts),
            "customers": _customers(orders),
        },
        status=status,
        notes=_notes(data, used),
    )


def _order_lines(
    data: pd.DataFrame, used: np.ndarray, orders: pd.DataFrame, opts: CustomerTransactionOptions
) -> pd.DataFrame:
    """One line per order: the units bought (1 when the log has none) at their average price."""
    qty = number(data["quantity"]) if data["quantity"].notna().any() else pd.Series(1.0, index=data.index)
    q = qty[used].fillna(1).clip(lower=1).round().to_numpy()
    return pd.DataFrame(
        {
            "order_id": orders["order_id"],
            "product_id": opts.product_id,
            "category": pd.Series(pd.NA, index=orders.index, dtype="string"),
            "unit_price": (orders["revenue"] / q).round(4),
            "quantity": q,
        }
    )


def _customers(orders: pd.DataFrame) -> pd.DataFrame:
    first = orders.groupby("customer_id")["order_time"].min()
    return pd.DataFrame({"customer_id": first.index, "first_seen_at": first.to_numpy(), "acquisition_channel": pd.NA})


def _notes(data: pd.DataFrame, used: np.ndarray) -> list[str]:
    dup = int(data[["customer_id", "date", "quantity", "amount"]].duplicated().sum())
    notes = [f"orders derived from {len(data):,} purchases ({int(used.sum()):,} used)"]
    if dup:
        notes.append(
            f"{dup:,} purchases identical to an earlier one (same customer, day, units and value) kept as "
            "separate orders: the log has no order number to tell them from duplicates"
        )
    return notes


PRESET = register(
    Preset(
        name="customer_transactions",
        title="Customer transaction log (one purchase per row, e.g. CDNOW)",
        yields=("customers", "orders", "order_lines"),
        fields={"customer_id": "customer_id", "date": "date", "quantity": "number_of_cds", "amount": "dollar_value"},
        required=("customer_id", "date", "amount"),
        reasons=(
            Reason("missing_customer_id", "rejected", "no customer id", "customer_id"),
            Reason("unreadable_date", "rejected", "a date that cannot be read (set options.date_format)", "date"),
            Reason("unreadable_amount", "rejected", "an amount that is not a number", "amount"),
            Reason("negative_value", "excluded", "a negative amount (return or correction)", "amount"),
            Reason(
                "zero_value",
                "excluded",
                "a purchase of 0.00 (free or corrected; options.zero_value: keep to count it)",
                "amount",
            ),
        ),
        options=CustomerTransactionOptions,
        build=build,
        read={"delimiter": "whitespace"},
        signature=("customer_id", "date", "number_of_cds", "dollar_value"),
        template="cdnow",
        personal=("customer_id",),
    )
)
