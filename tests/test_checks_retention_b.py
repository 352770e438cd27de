"""Retention part B checks (support_responsiveness, silent_dissatisfaction, expansion) on small hand-built
tables where the answer is known."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit import i18n
from lifecycle_audit.checks import registry
from lifecycle_audit.engine import Tables

T0 = pd.Timestamp("2026-01-05 10:00:00")
HOUR, DAY = 60, 24 * 60  # minutes


def at(minutes) -> pd.Series:
    return (T0 + pd.to_timedelta(pd.Series(minutes, dtype="float64"), unit="min")).astype("datetime64[us]")


def orders(rows: list[tuple]) -> pd.DataFrame:
    """rows: (order_id, customer_id, minutes after T0, revenue)."""
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "minutes", "revenue"])
    return pd.DataFrame({"order_id": df["order_id"].astype("string"), "customer_id": df["customer_id"].astype("string"),
                         "order_time": at(df["minutes"]), "revenue": df["revenue"].astype("float64")})


def tickets(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, opened minutes after T0, response hours or None, resolution hours, handoffs, csat)."""
    df = pd.DataFrame(rows, columns=["customer_id", "minutes", "resp", "res", "handoffs", "csat"])
    opened = at(df["minutes"])
    return pd.DataFrame({
        "ticket_id": pd.Series([f"T{i}" for i in range(len(df))], dtype="string"),
        "customer_id": df["customer_id"].astype("string"),
        "opened_at": opened,
        "first_response_at": opened + pd.to_timedelta(df["resp"].astype("float64"), unit="h"),
        "resolved_at": opened + pd.to_timedelta(df["res"].astype("float64"), unit="h"),
        "handoffs": df["handoffs"].astype("Int64"),
        "csat": df["csat"].astype("float64"),
    })


def surveys(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, answered minutes after T0, score, scale)."""
    df = pd.DataFrame(rows, columns=["customer_id", "minutes", "score", "scale"])
    answered = at(df["minutes"])
    return pd.DataFrame({
        "survey_id": pd.Series([f"S{i}" for i in range(len(df))], dtype="string"),
        "customer_id": df["customer_id"].astype("string"),
        "sent_at": answered - pd.Timedelta(hours=2),
        "responded_at": answered,
        "score": df["score"].astype("float64"),
        "scale": df["scale"].astype("string"),
    })


def messages(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, message_type, minutes after T0)."""
    df = pd.DataFrame(rows, columns=["customer_id", "message_type", "minutes"])
    sent = at(df["minutes"])
    nat = pd.Series(pd.NaT, index=df.index, dtype="datetime64[us]")
    return pd.DataFrame({
        "message_id": pd.Series([f"M{i}" for i in range(len(df))], dtype="string"),
        "customer_id": df["customer_id"].astype("string"),
        "channel": pd.Series(["email"] * len(df), dtype="string"),
        "message_type": df["message_type"].astype("string"),
        "sent_at": sent, "opened_at": nat, "clicked_at": nat, "unsubscribed_at": nat,
    })


def run(check_id: str, frames: dict[str, pd.DataFrame], **overrides):
    return registry.run_check(registry.get(check_id), Tables.from_frames(frames), overrides)


def years(first_min: float, last_min: float) -> float:
    return max((pd.Timedelta(minutes=last_min - first_min)).days, 1) / 365.25


# ---------------------------------------------------------------- support_responsiveness

def test_fast_support_passes_with_the_median_first_response_and_response_groups():
    rows = [(f"C{i}", i * HOUR, 2.0, 8.0, 0, 5) for i in range(30)] + \
           [(f"S{i}", i * HOUR, 30.0, 80.0, 2, 2) for i in range(11)]
    f = run("retention.support_responsiveness", {"tickets": tickets(rows), "orders": orders([("O1", "C0", 0, 50)])})
    assert f.status == "pass" and f.value == pytest.approx(2.0)
    t = f.table.set_index("first_response")
    assert list(t.index) == ["1–4 h", "after 24 h"]
    assert t.loc["1–4 h", "tickets"] == 30 and t.loc["after 24 h", "tickets"] == 11
    assert t.loc["after 24 h", "mean_handoffs"] == pytest.approx(2.0)
    assert t.loc["after 24 h", "median_resolution_hours"] == pytest.approx(80.0)
    assert t.loc["1–4 h", "mean_csat"] == pytest.approx(5.0)
    assert t.loc["1–4 h", "share_of_tickets"] == pytest.approx(30 / 41)
    assert f.details["bad_tickets"] == 11 and f.details["mean_handoffs"] == pytest.approx(22 / 41)
    assert f.chart.x == "first_response" and f.chart.y == "tickets"


def test_slow_support_fails_and_prices_the_customers_lost_after_bad_tickets():
    # 10 customers with a slow, passed-around ticket never order again; 10 with a fast one reorder.
    o = [(f"OB{i}", f"B{i}", 0, 100) for i in range(10)] + [(f"OG{i}", f"G{i}", 0, 100) for i in range(10)] + \
        [(f"RG{i}", f"G{i}", 11 * DAY, 100) for i in range(10)] + [("OZ", "Z", 400 * DAY, 100)]
    tk = [(f"B{i}", DAY, 30.0, 90.0, 2, 1) for i in range(10)] + [(f"G{i}", DAY, 2.0, 5.0, 0, 5) for i in range(10)]
    f = run("retention.support_responsiveness", {"tickets": tickets(tk), "orders": orders(o)},
            min_tickets=10, min_group=5)
    assert f.status == "fail" and f.value == pytest.approx(16.0)
    assert f.details["churn_after_bad"] == pytest.approx(1.0) and f.details["churn_after_good"] == pytest.approx(0.0)
    value = 3100 / 21 / years(0, 400 * DAY)
    assert f.at_stake == pytest.approx(10 * 1.0 * value)
    t = f.table.set_index("first_response")
    assert t.loc["after 24 h", "churn_rate"] == pytest.approx(1.0) and t.loc["1–4 h", "churn_rate"] == pytest.approx(0.0)
    assert "revenue per customer per year" in i18n.tr(f.at_stake_method)


def test_support_check_is_not_run_on_too_few_tickets():
    tk = [(f"C{i}", i * HOUR, 2.0, 8.0, 0, None) for i in range(5)]
    f = run("retention.support_responsiveness", {"tickets": tickets(tk), "orders": orders([("O1", "C0", 0, 50)])})
    assert f.status == "not_run"
    assert i18n.tr(f.reason) == "needs at least 30 answered support tickets to judge; found 5"


# ---------------------------------------------------------------- silent_dissatisfaction

def detractor_shop(followed: int, alone: int, marketed: int):
    """`followed` detractors called back after 20 h, `alone` nobody calls (of whom `marketed` get a promo),
    plus a promoter and a detractor called back too late (5 days)."""
    sv, tk, ms = [], [], []
    for i in range(followed):
        sv.append((f"F{i}", 0, 3, "nps"))
        tk.append((f"F{i}", 20 * HOUR, 1.0, 4.0, 0, None))
    for i in range(alone):
        sv.append((f"A{i}", 0, 5, "nps"))
        if i < marketed:
            ms.append((f"A{i}", "promo", DAY))
    sv.append(("L0", 0, 2, "nps"))
    tk.append(("L0", 5 * DAY, 1.0, 4.0, 0, None))
    sv.append(("P0", 0, 10, "nps"))
    ms.append(("P0", "newsletter", 30 * DAY))
    o = [(f"O{c}", c, -DAY, 100) for c in ["F0", "A0", "P0"]] + [("OZ", "P0", 364 * DAY, 100)]
    return {"surveys": surveys(sv), "tickets": tickets(tk), "messages": messages(ms), "orders": orders(o)}


def test_detractors_without_a_call_back_are_counted_with_those_mailed_instead():
    f = run("retention.silent_dissatisfaction", detractor_shop(followed=6, alone=4, marketed=3), min_low_scores=5)
    # 11 detractors: 6 called back within 3 days; 4 never, one too late
    assert f.value == pytest.approx(6 / 11) and f.status in ("warn", "fail")
    assert f.details["not_followed_up"] == 5 and f.details["marketed_not_followed_up"] == 3
    t = f.table.set_index("survey_score")
    assert t.loc["NPS 0–3", "low_scores"] == 7 and t.loc["NPS 0–3", "followed_up"] == 6
    assert t.loc["NPS 4–6", "follow_up_rate"] == pytest.approx(0.0)
    assert t.loc["NPS 4–6", "marketed_not_followed"] == 3
    assert t.loc["NPS 0–3", "median_hours_to_follow_up"] == pytest.approx(20.0)
    value = 400 / 3 / years(-DAY, 364 * DAY)
    assert f.at_stake == pytest.approx(5 * 0.5 * value)


def test_detractors_called_back_pass():
    f = run("retention.silent_dissatisfaction", detractor_shop(followed=20, alone=1, marketed=0), min_low_scores=5)
    assert f.status == "pass" and f.value == pytest.approx(20 / 22)


def test_silent_dissatisfaction_is_not_run_on_too_few_low_scores():
    f = run("retention.silent_dissatisfaction", detractor_shop(followed=3, alone=2, marketed=0))
    assert f.status == "not_run"
    assert i18n.tr(f.reason) == "needs at least 20 low survey answers (NPS 0–6 or CSAT 1–2) to judge; found 6"


# ---------------------------------------------------------------- expansion

def order_lines(rows: list[tuple]) -> pd.DataFrame:
    """rows: (order_id, category, unit_price)."""
    df = pd.DataFrame(rows, columns=["order_id", "category", "unit_price"])
    return pd.DataFrame({"order_id": df["order_id"].astype("string"),
                         "product_id": ("P-" + df["category"]).astype("string"),
                         "category": df["category"].astype("string"),
                         "unit_price": df["unit_price"].astype("float64"),
                         "quantity": pd.Series([1] * len(df), dtype="Int64")})


def expansion_shop(stay: int, cross: int):
    """`stay` customers start with beauty and reorder beauty; `cross` start with shoes and then buy apparel;
    one customer (M) has beauty and shoes in the first order and reorders beauty (not a cross-sell)."""
    o, ol = [], []
    for prefix, n, first, later in (("B", stay, "beauty", "beauty"), ("X", cross, "shoes", "apparel")):
        for i in range(n):
            c = f"{prefix}{i}"
            o += [(f"{c}-1", c, i * HOUR, 50), (f"{c}-2", c, 10 * DAY + i * HOUR, 30)]
            ol += [(f"{c}-1", first, 50), (f"{c}-2", later, 30)]
    o += [("M-1", "M", 0, 50), ("M-2", "M", 20 * DAY, 30), ("Z-1", "Z", 400 * DAY, 100)]
    ol += [("M-1", "beauty", 10), ("M-1", "shoes", 40), ("M-2", "beauty", 30), ("Z-1", "kids", 100)]
    return {"orders": orders(o), "order_lines": order_lines(ol)}


def test_customers_who_stay_in_their_first_category_fail_with_the_orders_missing():
    f = run("retention.expansion", expansion_shop(stay=17, cross=3), min_repeat_customers=10, min_group=4)
    assert f.value == pytest.approx(3 / 21) and f.status == "fail"
    assert f.details["repeat_customers"] == 21 and f.details["cross_sold"] == 3
    t = f.table.set_index("first_category")
    assert t.loc["beauty", "customers"] == 17 and t.loc["shoes", "customers"] == 4  # M's largest line is shoes
    assert t.loc["beauty", "cross_sell_rate"] == pytest.approx(0.0)
    assert t.loc["shoes", "cross_sell_rate"] == pytest.approx(3 / 4)
    assert t.loc["beauty", "ordered_again_180d"] == pytest.approx(1.0)
    assert t.loc["beauty", "value_first_12m"] == pytest.approx(80.0)
    assert pd.isna(t.loc["kids", "value_first_12m"])  # Z's first order is too recent to observe 12 months
    assert t.loc["beauty", "share_of_first_buyers"] == pytest.approx(17 / 22)
    aov = (21 * 50 + 21 * 30 + 100) / 43
    assert f.at_stake == pytest.approx((0.45 - 3 / 21) * 21 * aov)
    # beauty, the most common first category, brings as much in 180 days as the others (80 each)
    assert f.details["top_first_category"] == "beauty" and f.details["top_value_ratio"] == pytest.approx(1.0)
    assert f.chart.x == "first_category" and f.chart.y == "ordered_again_180d"


def test_cross_selling_shop_passes_without_money_at_stake():
    f = run("retention.expansion", expansion_shop(stay=5, cross=10), min_repeat_customers=10)
    assert f.status == "pass" and f.value == pytest.approx(10 / 16) and f.at_stake is None
    assert f.table["value_first_12m"].isna().all()  # fewer than 20 customers observed 12 months per category


def test_expansion_is_not_run_without_enough_returning_customers_or_categories():
    f = run("retention.expansion", expansion_shop(stay=5, cross=10))
    assert f.status == "not_run"
    assert i18n.tr(f.reason) == "needs at least 50 customers with a second order to judge; found 16"
    one = expansion_shop(stay=5, cross=0)
    one["order_lines"] = one["order_lines"].assign(category="beauty")
    f = run("retention.expansion", one, min_repeat_customers=1)
    assert i18n.tr(f.reason) == "needs order lines with at least 2 product categories; found 1"


def test_expansion_names_the_channel_that_brings_each_first_category():
    shop = expansion_shop(stay=17, cross=3)
    ids = shop["orders"]["customer_id"].drop_duplicates()
    channel = ["paid_social" if c.startswith("B") else "organic_search" for c in ids]
    shop["customers"] = pd.DataFrame({"customer_id": ids.astype("string").values,
                                      "first_seen_at": pd.Series([T0] * len(ids), dtype="datetime64[us]").values,
                                      "acquisition_channel": pd.Series(channel, dtype="string").values})
    f = run("retention.expansion", shop, min_repeat_customers=10)
    t = f.table.set_index("first_category")
    assert t.loc["beauty", "main_channel"] == "paid_social" and t.loc["beauty", "main_channel_share"] == 1.0
    assert t.loc["shoes", "main_channel"] == "organic_search"
