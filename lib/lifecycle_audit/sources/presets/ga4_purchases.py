"""GA4 item-level purchase export (BigQuery's `items` unnested, or an Explore export): one row per item bought.

Yields orders (one per transaction_id), order_lines (one per used item row) and customers (first seen at their first
purchase). The customer is the GA4 user: `user_pseudo_id` (a browser or app instance) by default, or the shop's own
`user_id` (`customer_key: user_id`, then rows without one are guest purchases). Times are `event_timestamp`
(microseconds since 1970, UTC) converted into `timezone` when the export has it, else the `event_date` (YYYYMMDD,
the property's own time zone). Every row ends as used, excluded by a rule or rejected, first reason wins:

excluded (the rules):
- other_event: the export holds another GA4 event than `purchase` (a refund, an add_to_cart);
- no_user: no customer key (consent mode's cookieless purchases, or a guest when the key is user_id);
- repeated_purchase: the same transaction's item (same id, price, quantity) sent again, as GA4 does when the
  confirmation page is reloaded; counted once;
- zero_or_negative_price (free gifts, corrections), non_positive_quantity.
rejected (bad data): no transaction_id (or GA4's "(not set)"), no item_id, a date, price or quantity that cannot
be read.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .base import Built, Options, Preset, Reason, first_reason, number, orders_from_lines, register, text, timestamp

NOT_SET = ("(not set)", "not set", "(none)")


class GA4PurchaseOptions(Options):
    customer_key: Literal["user_pseudo_id", "user_id"] = "user_pseudo_id"
    purchase_event: str = "purchase"  # the event_name of a purchase, when the export has event_name
    timezone: str | None = None  # event_timestamp (UTC) is converted into it; default: UTC wall clock
    currency: str | None = None  # default: the export's currency column, else the params currency


def build(data: pd.DataFrame, opts: GA4PurchaseOptions, ctx) -> Built:
    """Orders, order lines and customers from item rows; every row used, excluded or rejected."""
    f = _fields(data, opts)
    status = first_reason(len(data), _rules(data, f, opts))
    used = status == ""
    lines = pd.DataFrame({name: values[used].to_numpy() for name, values in f.items()})
    notes = [
        f"orders, order_lines and customers derived from {len(data):,} GA4 item rows: {int(used.sum()):,} used; "
        f"customers are GA4 {opts.customer_key}s, first seen at their first purchase; acquisition_channel is "
        "not in an item export (left empty)"
    ]
    if data["event_timestamp"].notna().any():
        notes.append(f"order times from event_timestamp (UTC) in {opts.timezone or 'UTC'}")
    return Built(tables=_tables(lines, opts.currency or ctx.params.currency), status=status, notes=notes)


def _fields(data: pd.DataFrame, opts: GA4PurchaseOptions) -> dict[str, pd.Series]:
    """The item row's values read, under the contract's names."""
    micros = number(data["event_timestamp"])
    when = pd.to_datetime(micros, unit="us", utc=True, errors="coerce")
    when = when.dt.tz_convert(opts.timezone or "UTC").dt.tz_localize(None)
    day = timestamp(data["event_date"], "%Y%m%d")
    order = text(data["transaction_id"])
    return {
        "order_id": order.mask(order.str.lower().isin(NOT_SET)),
        "customer_id": text(data[opts.customer_key]),
        "order_time": when.fillna(day) if data["event_timestamp"].notna().any() else day,
        "product_id": text(data["item_id"]),
        "category": text(data["item_category"]),
        "unit_price": number(data["price"]),
        "quantity": number(data["quantity"]),
        "currency": text(data["currency"]),
        "event": text(data["event_name"]).str.lower(),
    }


def _rules(data: pd.DataFrame, f: dict[str, pd.Series], opts: GA4PurchaseOptions) -> list:
    """The rules in order, each (label, mask): another event first, then bad data, then the exclusions."""
    qty, price = f["quantity"], f["unit_price"]
    whole = qty.notna() & (np.mod(qty.fillna(0), 1) == 0)
    event = f["event"]
    again = pd.DataFrame({k: f[k] for k in ("order_id", "product_id", "unit_price", "quantity")}).duplicated()
    return [
        ("other_event", (event.notna() & (event != opts.purchase_event.lower())).fillna(False).to_numpy()),
        ("missing_transaction_id", f["order_id"].isna().to_numpy()),
        ("missing_item_id", f["product_id"].isna().to_numpy()),
        ("unreadable_date", f["order_time"].isna().to_numpy()),
        ("unreadable_price", price.isna().to_numpy()),
        ("unreadable_quantity", ~whole.to_numpy()),
        ("no_user", f["customer_id"].isna().to_numpy()),
        ("repeated_purchase", again.to_numpy()),
        ("zero_or_negative_price", (price <= 0).fillna(False).to_numpy()),
        ("non_positive_quantity", (qty <= 0).fillna(False).to_numpy()),
    ]


def _tables(lines: pd.DataFrame, currency: str) -> dict[str, pd.DataFrame]:
    """orders (one per transaction), order_lines (one per used item row) and customers."""
    lines["value"] = lines["unit_price"] * lines["quantity"]
    orders = orders_from_lines(lines, "value", currency, line_currency="currency")
    order_lines = lines[["order_id", "product_id", "category", "unit_price", "quantity"]].copy()
    first = orders.groupby("customer_id")["order_time"].min()
    customers = pd.DataFrame(
        {"customer_id": first.index, "first_seen_at": first.to_numpy(), "acquisition_channel": pd.NA}
    )
    return {"orders": orders, "order_lines": order_lines, "customers": customers}


PRESET = register(
    Preset(
        name="ga4_purchases",
        title="GA4 item-level purchase export (one row per item bought)",
        yields=("customers", "orders", "order_lines"),
        fields={
            "event_date": "event_date",
            "event_timestamp": "event_timestamp",
            "event_name": "event_name",
            "transaction_id": "transaction_id",
            "user_pseudo_id": "user_pseudo_id",
            "user_id": "user_id",
            "item_id": "item_id",
            "item_name": "item_name",
            "item_category": "item_category",
            "price": "price",
            "quantity": "quantity",
            "currency": "currency",
        },
        required=("event_date", "transaction_id", "user_pseudo_id", "item_id", "price", "quantity"),
        reasons=(
            Reason(
                "other_event", "excluded", "another GA4 event than a purchase (a refund, an add_to_cart)", "event_name"
            ),
            Reason("missing_transaction_id", "rejected", "no transaction_id (or '(not set)')", "transaction_id"),
            Reason("missing_item_id", "rejected", "no item_id", "item_id"),
            Reason("unreadable_date", "rejected", "an event_date (YYYYMMDD) that cannot be read", "event_date"),
            Reason("unreadable_price", "rejected", "a price that is not a number", "price"),
            Reason("unreadable_quantity", "rejected", "a quantity that is not a whole number", "quantity"),
            Reason(
                "no_user",
                "excluded",
                "no customer key: a purchase without consent to analytics cookies, or a guest "
                "(options.customer_key names the key)",
                "transaction_id",
            ),
            Reason(
                "repeated_purchase",
                "excluded",
                "the same transaction's item sent again (a reloaded confirmation page); counted once",
                "transaction_id",
            ),
            Reason("zero_or_negative_price", "excluded", "price of zero or below (free gifts, corrections)", "price"),
            Reason("non_positive_quantity", "excluded", "quantity of zero or below", "quantity"),
        ),
        options=GA4PurchaseOptions,
        build=build,
        signature=("event_date", "transaction_id", "item_id", "price", "quantity", "user_pseudo_id"),
        template="ga4_purchases",
        personal=("user_pseudo_id", "user_id"),
    )
)
