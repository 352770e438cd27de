"""A raw tracking log of the Segment kind, written for the tests (never client data): one row per hit.

Columns as Segment's warehouse export names them (type, event, timestamp, anonymous_id, user_id, context_page_url,
context_page_referrer, context_user_agent, properties_*). Visitors come back on later days through different
channels, log in partway (user_id from then on), browse, and some buy ("Order Completed" with order id and
revenue). Planted for the accounting: identify calls (excluded: not an event the audit uses), a purchase fired
twice within seconds (excluded: doubled), a hit without any id and one with an unreadable timestamp (rejected).
`expected` says what each planted row must become.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

COLUMNS = (
    "type",
    "event",
    "timestamp",
    "anonymous_id",
    "user_id",
    "context_page_url",
    "context_page_referrer",
    "context_user_agent",
    "properties_product_id",
    "properties_order_id",
    "properties_revenue",
    "properties_currency",
)
SITE = "https://shop.example"
# (landing query, referrer, the channel the rules must give)
ARRIVALS = (
    ("?utm_source=google&utm_medium=cpc&utm_campaign=brand", "https://www.google.com/", "paid_search"),
    ("", "https://www.google.de/", "organic_search"),
    ("?utm_source=newsletter&utm_medium=email&utm_campaign=march", "", "email"),
    ("", "https://l.facebook.com/", "organic_social"),
    ("", "", "direct"),
)
AGENTS = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "desktop",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
        "mobile",
    ),
    ("Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1", "tablet"),
)


@dataclass
class Expected:
    """What the log must become."""

    rows: int = 0
    sessions: int = 0
    orders: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    channels: dict[str, int] = field(default_factory=dict)  # sessions per channel


def _visit(rows: list, anon: str, user: str | None, start: pd.Timestamp, arrival, agent, rng, order_no: list) -> bool:
    """One visit's hits, a few minutes apart (never 30); True when it ends with an order."""
    query, referrer, _ = arrival
    t = start
    product = f"P{rng.randint(1, 40)}"
    pages = [f"/{query}", "/category/mugs", f"/product/{product}"]
    prev = referrer
    for i, path in enumerate(pages):
        url = SITE + path
        rows.append(["page", "", t, anon, user, url, prev, agent, "", "", "", ""])
        if i == 2:
            rows.append(["track", "Product Viewed", t, anon, user, url, prev, agent, product, "", "", ""])
        prev, t = url, t + pd.Timedelta(minutes=rng.randint(1, 12))
    if rng.random() < 0.4:
        return False
    for path, name in (("/cart", "Product Added"), ("/checkout", "Checkout Started")):
        rows.append(["track", name, t, anon, user, SITE + path, prev, agent, product, "", "", ""])
        t += pd.Timedelta(minutes=rng.randint(1, 5))
    order_no[0] += 1
    revenue = f"{rng.randint(15, 120)}.{rng.randint(0, 99):02d}"
    rows.append(
        ["track", "Order Completed", t, anon, user, SITE + "/checkout/thanks", prev, agent, product,
         f"O{order_no[0]}", revenue, "EUR"]
    )  # fmt: skip
    return True


def write(path: Path, visitors: int = 40, seed: int = 5) -> Expected:
    """Write the log at `path` (CSV, or Segment's JSON lines when it ends in .jsonl); return what it must become."""
    rng = random.Random(seed)
    rows: list[list] = []
    exp = Expected()
    order_no = [0]
    day0 = pd.Timestamp("2024-03-01 08:00:00")
    for v in range(visitors):
        anon = f"anon-{v:04d}"
        user = None
        agent, _ = AGENTS[v % len(AGENTS)]
        for visit in range(1 + v % 3):
            start = day0 + pd.Timedelta(days=visit * 3 + rng.randint(0, 2), minutes=rng.randint(0, 600) + v)
            arrival = ARRIVALS[(v + visit) % len(ARRIVALS)]
            if visit == 1:  # logs in on the second visit
                user = f"cust-{v:04d}"
                rows.append(["identify", "", start, anon, user, "", "", agent, "", "", "", ""])
                exp.excluded["other_event"] = exp.excluded.get("other_event", 0) + 1
            bought = _visit(rows, anon, user, start, arrival, agent, rng, order_no)
            exp.sessions += 1
            exp.channels[arrival[2]] = exp.channels.get(arrival[2], 0) + 1
            if bought:
                exp.orders += 1
    fired_twice = next(r for r in rows if r[1] == "Order Completed")
    rows.append([*fired_twice[:2], fired_twice[2] + pd.Timedelta(seconds=3), *fired_twice[3:]])
    exp.excluded["doubled_event"] = 1
    rows.append(["page", "", day0, "", "", SITE + "/", "", AGENTS[0][0], "", "", "", ""])
    rows.append(["page", "", "yesterday-ish", "anon-9999", "", SITE + "/", "", AGENTS[0][0], "", "", "", ""])
    exp.rejected = {"no_visitor": 1, "unreadable_timestamp": 1}
    rows.sort(key=lambda r: str(r[2]))
    rows = [[*r[:2], _when(r[2]), *["" if x is None else x for x in r[3:]]] for r in rows]
    if path.suffix == ".jsonl":
        _write_json_lines(path, rows)
    else:
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(COLUMNS)
            out.writerows(rows)
    exp.rows = len(rows)
    return exp


def _when(t) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z") if isinstance(t, pd.Timestamp) else t


def _write_json_lines(path: Path, rows: list[list]) -> None:
    """The hits as Segment writes them: one JSON object per line, nested context and properties, empty fields
    left out (userId null before login)."""
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            hit = dict(zip(COLUMNS, r, strict=True))
            obj: dict = {"type": hit["type"], "timestamp": hit["timestamp"], "anonymousId": hit["anonymous_id"] or None}
            obj["userId"] = hit["user_id"] or None
            if hit["event"]:
                obj["event"] = hit["event"]
            page = {k: hit[f"context_page_{k}"] for k in ("url", "referrer") if hit[f"context_page_{k}"]}
            obj["context"] = {"page": page, "userAgent": hit["context_user_agent"]}
            props = {k.removeprefix("properties_"): hit[k] for k in COLUMNS if k.startswith("properties_") and hit[k]}
            if "revenue" in props:
                props["revenue"] = float(props["revenue"])
                props["products"] = [{"product_id": props.get("product_id"), "price": props["revenue"], "quantity": 1}]
            if props:
                obj["properties"] = props
            fh.write(json.dumps(obj) + "\n")
