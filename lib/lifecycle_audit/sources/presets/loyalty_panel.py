"""Loyalty-card transaction panels (Dunnhumby "The Complete Journey" and retailers' card exports): one row per
product in a basket, paid with a loyalty card.

Yields orders (one per basket), order_lines (one per used row) and customers (one per card, first seen at their
first basket; `loyalty_member_since` from the card's sign-up date where the export has one). The day is a date, or,
as in research panels, a day number counted from day 1 (`options.day_one`: the date of day 1); the time of day
(HHMM, as TRANS_TIME) is added when the export has it. Revenue is the sales value paid; the retailer's discount
(RETAIL_DISC, negative or positive) becomes the order's discount.

rejected (bad data): no basket id, no product id, a day, amount or quantity that cannot be read (a day number
without `day_one`).
excluded (the rules): no_card (a basket paid without a card: not attributable to a customer), return_line (a negative
amount: a return or correction), non_positive_quantity (weighed or voided lines with quantity 0),
zero_value (a line of 0.00: a free item or a coupon line).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .base import Built, Options, Preset, Reason, first_reason, number, orders_from_lines, register, text, timestamp

DAY_NUMBER = r"\d{1,5}"


class LoyaltyPanelOptions(Options):
    day_one: dt.date | None = None  # the date of day number 1, when the export counts days instead of dating them
    date_format: str | None = None  # default: detected
    currency: str | None = None  # default: the params currency
    basket_ids_per_store: bool = False  # true when receipt numbers restart in every store (order id: store-receipt)


def build(data: pd.DataFrame, opts: LoyaltyPanelOptions, ctx) -> Built:
    """Orders, order lines and customers from basket lines; every line used, excluded or rejected."""
    f = _fields(data, opts)
    status = first_reason(len(data), _rules(f))
    used = status == ""
    lines = pd.DataFrame({name: values[used].to_numpy() for name, values in f.items()})
    notes = [
        f"orders, order_lines and customers derived from {len(data):,} basket lines: {int(used.sum()):,} used; "
        "a customer is a loyalty card; acquisition_channel is unknown in a card panel (left empty)"
    ]
    if opts.day_one is not None:
        notes.append(f"day numbers counted from day 1 = {opts.day_one.isoformat()} (options.day_one)")
    return Built(tables=_tables(lines, opts.currency or ctx.params.currency), status=status, notes=notes)


def _day(values: pd.Series, opts: LoyaltyPanelOptions) -> pd.Series:
    """The day of each line: a date, or a day number counted from options.day_one (NaT without it)."""
    raw = text(values)
    numbered = raw.str.fullmatch(DAY_NUMBER).fillna(False)
    if not numbered.any():
        return timestamp(raw, opts.date_format)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    if opts.day_one is not None:
        days = pd.to_numeric(raw[numbered], errors="coerce") - 1
        out[numbered] = pd.Timestamp(opts.day_one) + pd.to_timedelta(days, unit="D")
    if (~numbered & raw.notna()).any():
        out[~numbered] = timestamp(raw[~numbered], opts.date_format)
    return out


def _time_of_day(values: pd.Series) -> pd.Series:
    """HHMM (1435, 0905, 905) as a duration since midnight; zero where absent or unreadable."""
    hhmm = pd.to_numeric(text(values), errors="coerce")
    ok = hhmm.notna() & (hhmm % 100 < 60) & (hhmm < 2400)
    minutes = (hhmm // 100 * 60 + hhmm % 100).where(ok, 0)
    return pd.to_timedelta(minutes, unit="min")


def _fields(data: pd.DataFrame, opts: LoyaltyPanelOptions) -> dict[str, pd.Series]:
    """The line's values read, under the contract's names."""
    basket = text(data["basket_id"]).str.replace(r"\.0$", "", regex=True)
    store = text(data["store_id"])
    if opts.basket_ids_per_store:
        basket = store.fillna("") + "-" + basket
    return {
        "order_id": basket,
        "customer_id": text(data["card_id"]).str.replace(r"\.0$", "", regex=True),
        "order_time": _day(data["day"], opts) + _time_of_day(data["time"]),
        "product_id": text(data["product_id"]).str.replace(r"\.0$", "", regex=True),
        "category": text(data["category"]),
        "amount": number(data["amount"]),
        "quantity": number(data["quantity"]),
        "discount": number(data["discount"]).abs(),
        "member_since": timestamp(data["member_since"], opts.date_format),
    }


def _rules(f: dict[str, pd.Series]) -> list:
    """The rules in order, each (label, mask): bad data first, then the exclusions."""
    qty, amount = f["quantity"], f["amount"]
    whole = qty.notna() & (np.mod(qty.fillna(0), 1) == 0)
    return [
        ("missing_basket_id", f["order_id"].isna().to_numpy()),
        ("missing_product_id", f["product_id"].isna().to_numpy()),
        ("unreadable_day", f["order_time"].isna().to_numpy()),
        ("unreadable_amount", amount.isna().to_numpy()),
        ("unreadable_quantity", ~whole.to_numpy()),
        ("no_card", f["customer_id"].isna().to_numpy()),
        ("return_line", (amount < 0).fillna(False).to_numpy()),
        ("non_positive_quantity", (qty <= 0).fillna(False).to_numpy()),
        ("zero_value", (amount == 0).fillna(False).to_numpy()),
    ]


def _tables(lines: pd.DataFrame, currency: str) -> dict[str, pd.DataFrame]:
    """orders (one per basket), order_lines (one per used line) and customers (one per card)."""
    orders = orders_from_lines(lines, "amount", currency, discount="discount")
    order_lines = pd.DataFrame(
        {
            "order_id": lines["order_id"],
            "product_id": lines["product_id"],
            "category": lines["category"],
            "unit_price": (lines["amount"] / lines["quantity"]).round(4),
            "quantity": lines["quantity"],
        }
    )
    cards = lines.groupby("customer_id")
    customers = pd.DataFrame(
        {
            "first_seen_at": cards["order_time"].min(),
            "acquisition_channel": pd.NA,
            "loyalty_member_since": cards["member_since"].min(),
        }
    ).reset_index()
    return {"orders": orders, "order_lines": order_lines, "customers": customers}


PRESET = register(
    Preset(
        name="loyalty_panel",
        title="Loyalty-card transaction panel (one row per product in a basket, e.g. Dunnhumby)",
        yields=("customers", "orders", "order_lines"),
        fields={
            "card_id": "household_key",
            "basket_id": "BASKET_ID",
            "day": "DAY",
            "time": "TRANS_TIME",
            "store_id": "STORE_ID",
            "product_id": "PRODUCT_ID",
            "category": "COMMODITY_DESC",
            "quantity": "QUANTITY",
            "amount": "SALES_VALUE",
            "discount": "RETAIL_DISC",
            "member_since": "member_since",
        },
        required=("card_id", "basket_id", "day", "product_id", "quantity", "amount"),
        reasons=(
            Reason("missing_basket_id", "rejected", "no basket (receipt) id", "basket_id"),
            Reason("missing_product_id", "rejected", "no product id", "product_id"),
            Reason(
                "unreadable_day",
                "rejected",
                "a day that cannot be read (a day number needs options.day_one; a date options.date_format)",
                "day",
            ),
            Reason("unreadable_amount", "rejected", "an amount that is not a number", "amount"),
            Reason("unreadable_quantity", "rejected", "a quantity that is not a whole number", "quantity"),
            Reason("no_card", "excluded", "no card number: a basket paid without a loyalty card", "basket_id"),
            Reason("return_line", "excluded", "a negative amount (a return or correction)", "amount"),
            Reason(
                "non_positive_quantity", "excluded", "quantity of zero or below (voided or weighed lines)", "quantity"
            ),
            Reason("zero_value", "excluded", "a line of 0.00 (a free item or a coupon line)", "amount"),
        ),
        options=LoyaltyPanelOptions,
        build=build,
        signature=("household_key", "BASKET_ID", "DAY", "PRODUCT_ID", "QUANTITY", "SALES_VALUE"),
        template="loyalty_panel",
        personal=("card_id",),
    )
)
