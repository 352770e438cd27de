"""Each implemented check on small hand-built tables where the answer is known."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit.checks import registry
from lifecycle_audit.engine import Tables

T0 = pd.Timestamp("2026-03-02 10:00:00")  # a Monday


def events(rows: list[tuple]) -> pd.DataFrame:
    """rows: (session, customer or None, minutes after T0, event_type, page_type, device)."""
    df = pd.DataFrame(rows, columns=["session_id", "customer_id", "minutes", "event_type", "page_type", "device"])
    return pd.DataFrame({
        "session_id": df["session_id"].astype("string"),
        "customer_id": df["customer_id"].astype("string"),
        "anonymous_id": ("a-" + df["session_id"]).astype("string"),
        "event_time": (T0 + pd.to_timedelta(df["minutes"], unit="min")).astype("datetime64[us]"),
        "event_type": df["event_type"].astype("string"),
        "page_type": df["page_type"].astype("string"),
        "channel": pd.Series(["direct"] * len(df), dtype="string"),
        "device": df["device"].astype("string"),
    })


def orders(rows: list[tuple]) -> pd.DataFrame:
    """rows: (order_id, customer_id, minutes after T0, revenue)."""
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "minutes", "revenue"])
    return pd.DataFrame({
        "order_id": df["order_id"].astype("string"),
        "customer_id": df["customer_id"].astype("string"),
        "order_time": (T0 + pd.to_timedelta(df["minutes"], unit="min")).astype("datetime64[us]"),
        "revenue": df["revenue"].astype("float64"),
    })


def messages(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, message_type, minutes after T0, opened, unsubscribed)."""
    df = pd.DataFrame(rows, columns=["customer_id", "message_type", "minutes", "opened", "unsub"])
    sent = (T0 + pd.to_timedelta(df["minutes"], unit="min")).astype("datetime64[us]")
    later = sent + pd.Timedelta(minutes=30)
    return pd.DataFrame({
        "message_id": pd.Series([f"M{i}" for i in range(len(df))], dtype="string"),
        "customer_id": df["customer_id"].astype("string"),
        "channel": pd.Series(["email"] * len(df), dtype="string"),
        "message_type": df["message_type"].astype("string"),
        "sent_at": sent,
        "opened_at": later.where(df["opened"]),
        "clicked_at": pd.Series(pd.NaT, index=df.index, dtype="datetime64[us]"),
        "unsubscribed_at": later.where(df["unsub"]),
    })


def run(check_id: str, frames: dict[str, pd.DataFrame], **overrides):
    spec = registry.get(check_id)
    return registry.run_check(spec, Tables.from_frames(frames), overrides)


# --- retention.over_contacting ---------------------------------------------------------------------

def contact_weeks(customer: str, per_week: int, weeks: int, unsub_every: int | None) -> list[tuple]:
    rows, k = [], 0
    for w in range(weeks):
        for j in range(per_week):
            k += 1
            unsub = unsub_every is not None and k % unsub_every == 0
            rows.append((customer, "promo", w * 7 * 24 * 60 + j * 60 * 20, False, unsub))
    return rows


def test_over_contacting_finds_the_frequency_where_unsubscribes_turn():
    rows = []
    for i in range(20):  # calm customers: 1 mail a week, one unsubscribe in 1,000 mails
        rows += contact_weeks(f"calm{i}", 1, 50, 50 if i == 0 else None)
    for i in range(10):  # hammered customers: 5 a week, one unsubscribe every 50 mails
        rows += contact_weeks(f"hot{i}", 5, 20, 50)
    f = run("retention.over_contacting", {"messages": messages(rows)}, min_messages=100)
    assert f.details["turn"] == 5
    assert f.details["customers_above_turn"] == 10
    by = f.table.set_index("contacts_per_week")
    assert by.loc["5+", "unsubscribe_rate"] == pytest.approx(0.02)
    assert by.loc["1", "messages"] == 1000
    assert f.value == pytest.approx((1 + 20) / 2000)
    assert f.status == "fail"


def test_transactional_messages_are_not_contacts_and_calm_lists_pass():
    rows = []
    for i in range(30):
        rows += contact_weeks(f"c{i}", 1, 40, None)
        rows += [(f"c{i}", "transactional", w * 7 * 24 * 60 + 5, False, False) for w in range(40)]
    rows.append(("c0", "promo", 60, False, True))  # one unsubscribe in a 2-mail week: noise, not a turn
    f = run("retention.over_contacting", {"messages": messages(rows)}, min_messages=100)
    assert f.details["messages"] == 1201  # transactional mails are not counted
    assert f.status == "pass" and f.details["turn"] is None


def test_check_without_its_table_is_not_run_and_says_why():
    f = run("retention.over_contacting", {"events": events(cart_shop(3, 1))})
    assert f.status == "not_run" and f.reason == "needs the messages table, which was not supplied"
