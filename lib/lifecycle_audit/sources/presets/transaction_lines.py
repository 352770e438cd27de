"""Transaction-line exports (Online Retail II and the like): one row per invoice line.

Yields orders (one per invoice), order_lines (one per used line) and customers (first seen at their
first used invoice, country as most often written). Every raw line ends as used, excluded by a rule,
or rejected as bad data, first reason wins:

rejected (bad data): no invoice number, no stock code, a date / quantity / price that cannot be read.
excluded (the rules):
- cancellation: the invoice starts with 'C' (a reversal of an earlier line, negative quantity); counted
  and shown, never netted silently against sales;
- bad_debt_adjustment: the invoice starts with 'A' ("Adjust bad debt" book-keeping entries);
- non_product: postage, fees, manual and test lines (stock codes matching `non_product_pattern`);
- duplicate_line: identical in every column to an earlier line (Online Retail II: the two yearly sheets
  overlap on 2010-12-01 ... 12-09; with an invoice number an identical line is an export artefact);
- zero_or_negative_price, non_positive_quantity (stock write-offs without a customer);
- no_customer_id: lines without a customer (`guest_lines: exclude`, the default). A lifecycle audit
  follows customers; in Online Retail II these lines are about 23% of rows, unattributable and often
  differently priced, so they are kept out and counted. `guest_lines: keep` keeps them as orders with
  an empty customer_id (revenue then includes them; per-customer measures ignore them).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .base import Built, Options, Preset, Reason, first_reason, number, orders_from_lines, register, text, timestamp

NON_PRODUCT = (
    r"^(POST|DOT|M|D|C2|C3|S|B|CRUK|PADS|BANK CHARGES|AMAZONFEE|ADJUST\d*|TEST\d*|SP\d+|"
    r"DCGS\w*|GIFT_\w*)$"
)


class TransactionLineOptions(Options):
    guest_lines: Literal["exclude", "keep"] = "exclude"
    duplicate_lines: Literal["exclude", "keep"] = "exclude"
    non_product_pattern: str = NON_PRODUCT  # regular expression on the stock code, case-insensitive
    cancellation_prefix: str = "C"
    adjustment_prefix: str = "A"
    currency: str | None = None  # default: the params currency
    date_format: str | None = None  # default: detected
    timezone: str | None = None


def build(data: pd.DataFrame, opts: TransactionLineOptions, ctx) -> Built:
    """Orders, order lines and customers from invoice lines; every line used, excluded or rejected."""
    fields = _fields(data, opts)
    status = first_reason(len(data), _rules(data, fields, opts))
    used = status == ""
    lines = pd.DataFrame({name: values[used].to_numpy() for name, values in fields.items()})
    notes = [
        f"orders, order_lines and customers derived from {len(data):,} invoice lines: {int(used.sum()):,} used; "
        f"customers' acquisition_channel is unknown in a transaction export (left empty)"
    ]
    if opts.guest_lines == "keep":
        notes.append("lines without a customer id kept as orders with an empty customer_id (guest_lines: keep)")
    return Built(tables=_tables(lines, opts.currency or ctx.params.currency), status=status, notes=notes)


def _fields(data: pd.DataFrame, opts: TransactionLineOptions) -> dict[str, pd.Series]:
    """The line's values read, under the contract's names."""
    return {
        "order_id": text(data["invoice"]),
        "customer_id": text(data["customer_id"]).str.replace(r"\.0$", "", regex=True),
        "order_time": timestamp(data["invoice_date"], opts.date_format, opts.timezone),
        "product_id": text(data["stock_code"]),
        "unit_price": number(data["price"]),
        "quantity": number(data["quantity"]),
        "country": text(data["country"]),
    }


def _present(s: pd.Series) -> np.ndarray:
    return s.notna().to_numpy()


def _rules(data: pd.DataFrame, fields: dict[str, pd.Series], opts: TransactionLineOptions) -> list:
    """The rules in order, each (label, mask): bad data first, then the exclusions."""
    invoice, code = fields["order_id"], fields["product_id"]
    qty, price = fields["quantity"], fields["unit_price"]
    whole = qty.notna() & (np.mod(qty.fillna(0), 1) == 0)
    rules = [
        ("missing_invoice", ~_present(invoice)),
        ("missing_stock_code", ~_present(code)),
        ("unreadable_date", ~_present(fields["order_time"])),
        ("unreadable_quantity", ~whole.to_numpy()),
        ("unreadable_price", ~_present(price)),
        ("cancellation", invoice.str.startswith(opts.cancellation_prefix).fillna(False).to_numpy()),
        ("bad_debt_adjustment", invoice.str.startswith(opts.adjustment_prefix).fillna(False).to_numpy()),
        ("non_product", code.str.fullmatch(opts.non_product_pattern, case=False).fillna(False).to_numpy()),
    ]
    if opts.duplicate_lines == "exclude":
        hashed = pd.util.hash_pandas_object(data[[c for c in data.columns]], index=False)
        rules.append(("duplicate_line", hashed.duplicated(keep="first").to_numpy()))
    rules += [
        ("zero_or_negative_price", (price <= 0).fillna(False).to_numpy()),
        ("non_positive_quantity", (qty <= 0).fillna(False).to_numpy()),
    ]
    if opts.guest_lines == "exclude":
        rules.append(("no_customer_id", ~_present(fields["customer_id"])))
    return rules


def _tables(lines: pd.DataFrame, currency: str) -> dict[str, pd.DataFrame]:
    """orders (one per invoice), order_lines (one per used line) and customers from the used lines."""
    lines["value"] = lines["unit_price"] * lines["quantity"]
    orders = orders_from_lines(lines, "value", currency)
    order_lines = lines[["order_id", "product_id", "unit_price", "quantity"]].copy()
    order_lines.insert(2, "category", pd.Series(pd.NA, index=order_lines.index, dtype="string"))
    return {"orders": orders, "order_lines": order_lines, "customers": _customers(orders, lines)}


def _customers(orders: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Each customer first seen at their first used invoice, country as most often written."""
    known = orders[orders["customer_id"].notna()]
    first = known.groupby("customer_id")["order_time"].min()
    buyers = lines[lines["customer_id"].notna()]
    country = (
        buyers.groupby(["customer_id", "country"])
        .size()
        .reset_index(name="n")
        .sort_values(["customer_id", "n"], ascending=[True, False])
        .drop_duplicates("customer_id")
        .set_index("customer_id")["country"]
    )
    return pd.DataFrame(
        {
            "customer_id": first.index,
            "first_seen_at": first.to_numpy(),
            "acquisition_channel": pd.NA,
            "country": country.reindex(first.index).to_numpy(),
        }
    )


PRESET = register(
    Preset(
        name="transaction_lines",
        title="Transaction lines (invoice lines, e.g. Online Retail II)",
        yields=("customers", "orders", "order_lines"),
        fields={
            "invoice": "Invoice",
            "stock_code": "StockCode",
            "description": "Description",
            "quantity": "Quantity",
            "invoice_date": "InvoiceDate",
            "price": "Price",
            "customer_id": "Customer ID",
            "country": "Country",
        },
        required=("invoice", "stock_code", "quantity", "invoice_date", "price", "customer_id"),
        reasons=(
            Reason("missing_invoice", "rejected", "no invoice number", "invoice"),
            Reason("missing_stock_code", "rejected", "no stock code", "stock_code"),
            Reason(
                "unreadable_date",
                "rejected",
                "an invoice date that cannot be read (set options.date_format)",
                "invoice_date",
            ),
            Reason("unreadable_quantity", "rejected", "a quantity that is not a whole number", "quantity"),
            Reason("unreadable_price", "rejected", "a price that is not a number", "price"),
            Reason("cancellation", "excluded", "cancellation: invoice starting with 'C', negative quantity", "invoice"),
            Reason("bad_debt_adjustment", "excluded", "book-keeping adjustment: invoice starting with 'A'", "invoice"),
            Reason(
                "non_product",
                "excluded",
                "not a product: postage, fees, manual, test or gift-voucher line",
                "stock_code",
            ),
            Reason("duplicate_line", "excluded", "identical in every column to an earlier line", "invoice"),
            Reason("zero_or_negative_price", "excluded", "price of zero or below (free items, corrections)", "price"),
            Reason(
                "non_positive_quantity",
                "excluded",
                "quantity of zero or below outside a cancellation (stock write-offs, damages)",
                "quantity",
            ),
            Reason(
                "no_customer_id",
                "excluded",
                "no customer id: not attributable to a customer "
                "(options.guest_lines: keep to count them as guest orders)",
                "invoice",
            ),
        ),
        options=TransactionLineOptions,
        build=build,
        signature=("Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Customer ID"),
        template="online_retail",
        personal=("customer_id",),
    )
)
