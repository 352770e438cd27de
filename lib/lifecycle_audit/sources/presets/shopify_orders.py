"""Shopify orders CSV: one row per line item; order fields only on an order's first row.

Yields orders, order_lines and customers. Customers are identified by their e-mail address, which is
replaced by a keyed hash (never stored). Cancelled orders (Cancelled at set) are excluded and counted.
rejected (bad data): no order name, an unreadable Created at, a line without quantity or price.
"""

from __future__ import annotations

import pandas as pd

from .base import Built, Options, Preset, Reason, first_reason, number, register, text, timestamp


class ShopifyOptions(Options):
    timezone: str | None = None  # Created at carries an offset: converted into this zone


def build(data: pd.DataFrame, opts: ShopifyOptions, ctx) -> Built:
    name = text(data["name"])
    # Order-level fields are written on an order's first row only: carry them down within the order.
    order_fields = ["email", "created_at", "total", "discount", "currency", "cancelled_at", "country"]
    filled = data[order_fields].apply(text)
    filled = filled.groupby(name.fillna("")).ffill()
    when = timestamp(filled["created_at"], None, opts.timezone or "UTC")
    qty = number(data["quantity"])
    price = number(data["price"])
    status = first_reason(
        len(data),
        [
            ("no_order_name", name.isna().to_numpy()),
            ("unreadable_created_at", when.isna().to_numpy()),
            ("unreadable_line", (qty.isna() | price.isna()).to_numpy()),
            ("cancelled_order", filled["cancelled_at"].notna().to_numpy()),
        ],
    )
    used = status == ""
    customer = ctx.pseudonym(filled["email"])
    rows = pd.DataFrame(
        {
            "order_id": name,
            "customer_id": customer,
            "order_time": when,
            "revenue": number(filled["total"]),
            "discount": number(filled["discount"]),
            "currency": filled["currency"],
            "country": filled["country"],
        }
    )[used]
    orders = rows.drop_duplicates("order_id").drop(columns="country")
    order_lines = pd.DataFrame(
        {
            "order_id": name[used],
            "product_id": text(data["sku"]).fillna(text(data["product"]))[used],
            "category": pd.Series(pd.NA, index=data.index, dtype="string")[used],
            "unit_price": price[used],
            "quantity": qty[used],
        }
    )
    known = rows[rows["customer_id"].notna()]
    first = known.groupby("customer_id")["order_time"].min()
    customers = pd.DataFrame(
        {
            "customer_id": first.index,
            "first_seen_at": first.to_numpy(),
            "acquisition_channel": pd.NA,
            "country": known.groupby("customer_id")["country"].first().reindex(first.index).to_numpy(),
        }
    )
    return Built(tables={"orders": orders, "order_lines": order_lines, "customers": customers}, status=status)


PRESET = register(
    Preset(
        name="shopify_orders",
        title="Shopify orders export (orders_export.csv)",
        yields=("customers", "orders", "order_lines"),
        fields={
            "name": "Name",
            "email": "Email",
            "created_at": "Created at",
            "total": "Total",
            "discount": "Discount Amount",
            "currency": "Currency",
            "cancelled_at": "Cancelled at",
            "quantity": "Lineitem quantity",
            "price": "Lineitem price",
            "sku": "Lineitem sku",
            "product": "Lineitem name",
            "country": "Billing Country",
        },
        required=("name", "email", "created_at", "total", "quantity", "price"),
        reasons=(
            Reason("no_order_name", "rejected", "no order name", "name"),
            Reason("unreadable_created_at", "rejected", "Created at cannot be read", "created_at"),
            Reason("unreadable_line", "rejected", "line quantity or price is not a number", "quantity"),
            Reason("cancelled_order", "excluded", "a line of a cancelled order", "name"),
        ),
        options=ShopifyOptions,
        build=build,
        signature=("Name", "Email", "Financial Status", "Lineitem quantity", "Lineitem price"),
        template="shopify_orders",
        personal=("email",),
    )
)
