"""Exports in the formats shops send, written by the tests (never client data): a GA4 item-level purchase export, a
loyalty-card panel in Dunnhumby's "The Complete Journey" layout, and a German campaign file with control groups.

Each generator plants the quirks of its kind a known number of times and returns the text with the accounting a
correct import must report: rows in, used, excluded and rejected by reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Export:
    """A file's text (or bytes) and what reading it must account for."""

    name: str
    content: str | bytes
    rows_in: int
    excluded: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    cards: list[str] = field(default_factory=list)  # the customer ids (loyalty panel)

    @property
    def used(self) -> int:
        return self.rows_in - sum(self.excluded.values()) - sum(self.rejected.values())


def _csv(header: list[str], rows: list[list], sep: str = ",") -> str:
    return sep.join(header) + "\n" + "".join(sep.join("" if v is None else str(v) for v in r) + "\n" for r in rows)


GA4_HEADER = [
    "event_date",
    "event_timestamp",
    "event_name",
    "transaction_id",
    "user_pseudo_id",
    "user_id",
    "item_id",
    "item_name",
    "item_category",
    "price",
    "quantity",
    "currency",
]


def ga4_purchases(users: int = 300, seed: int = 7) -> Export:
    """A year of purchases, one row per item, with a reloaded confirmation page (the transaction sent again), a
    refund event, cookieless purchases, a free gift and a "(not set)" transaction id."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows, transactions = [], []
    k = 0
    for u in range(users):
        pseudo = f"{rng.integers(10**8, 10**9)}.{1700000000 + u}"
        login = f"U{u:05d}" if rng.random() < 0.6 else None
        for _ in range(1 + rng.poisson(0.8)):
            k += 1
            when = start + dt.timedelta(seconds=int(rng.integers(0, 365 * 86400)))
            items = []
            for sku in rng.choice(np.arange(1, 60), size=min(1 + rng.poisson(0.6), 5), replace=False):
                price = round(float(rng.choice([4.99, 9.90, 14.50, 19.99, 29.00, 49.95])), 2)
                items.append([f"SKU{sku:03d}", f"Item {sku}", f"Cat {sku % 6}", price, int(rng.integers(1, 4))])
            tx = [when, f"T{k:06d}", pseudo, login, items]
            transactions.append(tx)
            rows += _ga4_rows(*tx)
    repeated = 0
    for when, tx_id, pseudo, login, items in transactions[5:8]:  # the confirmation page reloaded 40 s later
        rows += _ga4_rows(when + dt.timedelta(seconds=40), tx_id, pseudo, login, items)
        repeated += len(items)
    when, tx_id, pseudo, login, items = transactions[10]
    rows += _ga4_rows(when + dt.timedelta(days=3), tx_id, pseudo, login, items[:1], event="refund")
    for j in range(2):  # purchases without consent: no user_pseudo_id
        rows += _ga4_rows(
            start + dt.timedelta(days=40 + j), f"T9{j:05d}", None, None, [["SKU001", "Item 1", "Cat 1", 9.9, 1]]
        )
    rows += _ga4_rows(transactions[20][0], transactions[20][1], transactions[20][2], None, [["GIFT", "Gift", "", 0, 1]])
    rows += _ga4_rows(
        start + dt.timedelta(days=50), "(not set)", "555.1", None, [["SKU002", "Item 2", "Cat 2", 9.9, 1]]
    )
    rows.sort(key=lambda r: r[1])
    return Export(
        name="ga4_purchases.csv",
        content=_csv(GA4_HEADER, rows),
        rows_in=len(rows),
        excluded={"repeated_purchase": repeated, "other_event": 1, "no_user": 2, "zero_or_negative_price": 1},
        rejected={"missing_transaction_id": 1},
    )


def _ga4_rows(when, tx_id, pseudo, login, items, event: str = "purchase") -> list[list]:
    micros = int(when.timestamp() * 1_000_000)
    return [
        [when.strftime("%Y%m%d"), micros, event, tx_id, pseudo, login, *item[:3], item[3], item[4], "EUR"]
        for item in items
    ]


PANEL_HEADER = [
    "household_key",
    "BASKET_ID",
    "DAY",
    "PRODUCT_ID",
    "QUANTITY",
    "SALES_VALUE",
    "STORE_ID",
    "RETAIL_DISC",
    "TRANS_TIME",
    "WEEK_NO",
    "COUPON_DISC",
    "COUPON_MATCH_DISC",
]


def loyalty_panel(cards: int = 250, days: int = 364, seed: int = 11) -> Export:
    """Baskets of loyalty-card holders in The Complete Journey's layout (days numbered from 1, HHMM times), with
    returns, voided lines of quantity 0 and lines of 0.00."""
    rng = np.random.default_rng(seed)
    rows, basket = [], 26_984_851_472
    ids = [str(1000 + c) for c in range(cards)]
    for card in ids:
        store = int(rng.integers(300, 330))
        for _ in range(1 + rng.poisson(4)):
            basket += int(rng.integers(1, 50))
            day = int(rng.integers(1, days + 1))
            hhmm = int(rng.integers(8, 21)) * 100 + int(rng.integers(0, 60))
            for _ in range(1 + rng.poisson(3)):
                qty = int(rng.integers(1, 4))
                price = float(rng.choice([0.99, 1.49, 2.50, 3.29, 4.99]))
                disc = -0.3 if rng.random() < 0.2 else 0.0
                rows.append(
                    [card, basket, day, int(rng.integers(800_000, 900_000)), qty, round(qty * price + disc, 2),
                     store, disc, f"{hhmm:04d}", (day - 1) // 7 + 1, 0.0, 0.0]
                )  # fmt: skip
    planted = {"return_line": 2, "non_positive_quantity": 2, "zero_value": 2}
    for j in range(2):
        card, b, day = rows[10 * j][0], rows[10 * j][1], rows[10 * j][2]
        rows.append([card, b + 7, day, 840_001, 1, -2.50, 301, 0.0, "1200", 1, 0.0, 0.0])  # a return
        rows.append([card, b, day, 840_002, 0, 1.99, 301, 0.0, "1200", 1, 0.0, 0.0])  # voided
        rows.append([card, b, day, 840_003, 1, 0.00, 301, 0.0, "1200", 1, 0.0, 0.0])  # free
    return Export(
        name="transaction_data.csv", content=_csv(PANEL_HEADER, rows), rows_in=len(rows), excluded=planted, cards=ids
    )


def campaign_file(cards: list[str], control: float = 0.2, seed: int = 5) -> Export:
    """Two coupon mailings to four fifths of the card holders, a share of them held out ("Kontrollgruppe: ja"), in a German spreadsheet export
    (semicolons, cp1252, day-first dates), one member listed twice."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, day in (("Frühjahrscoupon", "04.03.2024"), ("Herbstcoupon", "02.09.2024")):
        for card in rng.choice(cards, size=len(cards) * 4 // 5, replace=False):
            held = rng.random() < control
            rows.append([name, card, "ja" if held else "nein", day, "" if held else rng.choice(["A", "B"])])
    rows.append(list(rows[3]))
    header = ["Kampagne", "Kartennummer", "Kontrollgruppe", "Versanddatum", "Variante"]
    return Export(
        name="kampagnen_kontrollgruppen.csv",
        content=_csv(header, rows, sep=";").encode("cp1252"),
        rows_in=len(rows),
        excluded={"repeated_member": 1},
    )
