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


# --- conversion.cart_abandonment -------------------------------------------------------------------

def cart_shop(n_carts: int, n_bought: int, device: str = "mobile", offset: int = 0) -> list[tuple]:
    rows = []
    for i in range(n_carts):
        s = f"s{offset + i}"
        rows += [(s, None, offset + i, "page_view", "product", device),
                 (s, None, offset + i + 0.5, "add_to_cart", "product", device)]
        if i < n_bought:
            rows.append((s, None, offset + i + 0.7, "purchase", "checkout", device))
    return rows


def test_cart_abandonment_counts_carts_not_bought_within_the_window():
    ev = events(cart_shop(10, 2, "mobile") + cart_shop(10, 6, "desktop", offset=100))
    f = run("conversion.cart_abandonment", {"events": ev}, min_carts=5)
    assert f.value == pytest.approx(12 / 20)
    by = f.table.set_index("device")["abandonment"]
    assert by["mobile"] == pytest.approx(0.8) and by["desktop"] == pytest.approx(0.4)
    assert f.details["worst_device"] == "mobile"
    assert f.status == "pass"  # 60 % is under the good control point (65 %)


def test_cart_bought_on_a_later_visit_inside_the_window_is_not_abandoned():
    rows = [("s1", "c1", 0, "add_to_cart", "product", "mobile"),
            ("s2", "c1", 3 * 24 * 60, "purchase", "checkout", "mobile"),     # 3 days later: recovered
            ("s3", "c2", 0, "add_to_cart", "product", "mobile"),
            ("s4", "c2", 9 * 24 * 60, "purchase", "checkout", "mobile")]     # 9 days later: too late
    f = run("conversion.cart_abandonment", {"events": events(rows)}, min_carts=1)
    assert f.details["carts"] == 2 and f.details["abandoned"] == 1
    f14 = run("conversion.cart_abandonment", {"events": events(rows)}, min_carts=1, window_days=14)
    assert f14.details["abandoned"] == 0


def test_cart_abandonment_fails_with_money_at_stake_from_average_order_value():
    ev = events(cart_shop(100, 10))
    od = orders([(f"O{i}", f"c{i}", i, 80.0) for i in range(10)])
    f = run("conversion.cart_abandonment", {"events": ev, "orders": od})
    assert f.value == pytest.approx(0.9) and f.status == "fail" and f.score < 50
    # 90 % against a good rate of 65 %: 25 carts in 100 more than good, at 80 each.
    assert f.at_stake == pytest.approx(0.25 * 100 * 80.0)
    assert f.title == "Most carts are abandoned"


def test_cart_abandonment_is_not_run_on_too_few_carts():
    f = run("conversion.cart_abandonment", {"events": events(cart_shop(5, 1))})
    assert f.status == "not_run" and "at least 100 carts" in f.reason and "5" in f.reason


# --- conversion.abandoned_cart_recovery ------------------------------------------------------------

def recovery_shop(reminder_delay_min: float | None, n: int, offset: int, bought: int):
    ev, msg, od = [], [], []
    for i in range(n):
        c, s = f"c{offset + i}", f"s{offset + i}"
        ev += [(s, c, offset + i, "page_view", "product", "mobile"),
               (s, c, offset + i + 1, "add_to_cart", "product", "mobile")]
        if reminder_delay_min is not None:
            msg.append((c, "abandoned_cart", offset + i + 1 + reminder_delay_min, False, False))
        if i < bought:
            od.append((f"O{offset + i}", c, offset + i + 2 * 24 * 60, 50.0))
    return ev, msg, od


def test_reminded_within_24h_share_delay_and_recovery_by_timing():
    e1, m1, o1 = recovery_shop(120, 20, 0, bought=6)          # reminded after 2 h, 30 % recovered
    e2, m2, o2 = recovery_shop(3 * 24 * 60, 20, 1000, bought=2)  # reminded after 3 days
    e3, m3, o3 = recovery_shop(None, 20, 2000, bought=1)      # never reminded
    f = run("conversion.abandoned_cart_recovery",
            {"events": events(e1 + e2 + e3), "messages": messages(m1 + m2 + m3), "orders": orders(o1 + o2 + o3)},
            min_carts=10, min_group=10)
    assert f.value == pytest.approx(20 / 60)
    assert f.status == "fail"
    by = f.table.set_index("reminder")
    assert by.loc["within 4 h", "carts"] == 20 and by.loc["within 4 h", "recovery_rate"] == pytest.approx(0.3)
    assert by.loc["after 24 h", "carts"] == 20 and by.loc["not reminded", "recovery_rate"] == pytest.approx(0.05)
    assert f.details["follow_up_rate"] == 0.0  # nobody opened, nobody got a second reminder
    # 40 carts not reminded within 4 h, uplift 30 % - 5 %, average order value 50.
    assert f.at_stake == pytest.approx(40 * 0.25 * 50.0)


def test_prompt_reminders_with_follow_up_pass():
    e1, m1, o1 = recovery_shop(60, 40, 0, bought=8)
    follow = [(c, "abandoned_cart", minutes + 24 * 60, False, False) for c, _, minutes, _, _ in m1]
    f = run("conversion.abandoned_cart_recovery",
            {"events": events(e1), "messages": messages(m1 + follow), "orders": orders(o1)}, min_carts=10)
    assert f.value == pytest.approx(1.0) and f.status == "pass"
    assert f.details["follow_up_rate"] == pytest.approx(1.0)
    assert f.details["median_delay_hours"] == pytest.approx(1.0)


def test_cart_recovery_counts_only_opted_in_customers_when_known():
    e1, m1, o1 = recovery_shop(None, 30, 0, bought=0)
    customers = pd.DataFrame({"customer_id": pd.Series([f"c{i}" for i in range(30)], dtype="string"),
                              "first_seen_at": pd.Series([T0] * 30, dtype="datetime64[us]"),
                              "acquisition_channel": pd.Series(["direct"] * 30, dtype="string"),
                              "email_opt_in": pd.Series([i < 12 for i in range(30)], dtype="boolean")})
    frames = {"events": events(e1), "messages": messages([("c0", "promo", 0, False, False)]),
              "orders": orders([("O1", "c0", 5, 10.0)]), "customers": customers}
    f = run("conversion.abandoned_cart_recovery", frames, min_carts=5)
    assert f.details["carts"] == 12 and f.value == 0.0


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
