"""Retention, part A (under-contacting, repeat purchase, onboarding) and the cohort measures, on small
hand-built tables where the answer is known."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit.checks import registry
from lifecycle_audit.engine import Tables
from lifecycle_audit.metrics import cohorts

T0 = pd.Timestamp("2026-03-02 10:00:00")  # a Monday
DAY = 24 * 60  # minutes


def orders(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, days after T0, revenue)."""
    df = pd.DataFrame(rows, columns=["customer_id", "days", "revenue"])
    return pd.DataFrame({
        "order_id": pd.Series([f"O{i}" for i in range(len(df))], dtype="string"),
        "customer_id": df["customer_id"].astype("string"),
        "order_time": (T0 + pd.to_timedelta(df["days"], unit="D")).astype("datetime64[us]"),
        "revenue": df["revenue"].astype("float64"),
    })


def messages(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, message_type, days after T0)."""
    df = pd.DataFrame(rows, columns=["customer_id", "message_type", "days"])
    return pd.DataFrame({
        "message_id": pd.Series([f"M{i}" for i in range(len(df))], dtype="string"),
        "customer_id": df["customer_id"].astype("string"),
        "channel": pd.Series(["email"] * len(df), dtype="string"),
        "message_type": df["message_type"].astype("string"),
        "sent_at": (T0 + pd.to_timedelta(df["days"], unit="D")).astype("datetime64[us]"),
    })


def customers(opted: dict[str, bool]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pd.Series(list(opted), dtype="string"),
                         "email_opt_in": pd.Series(list(opted.values()), dtype="boolean")})


def tables(frames: dict[str, pd.DataFrame], end_days: int) -> Tables:
    """Tables whose period ends `end_days` after T0's midnight (the period's last day is the day before)."""
    last = (T0.normalize() + pd.Timedelta(days=end_days - 1)).date()
    return Tables.from_frames(frames, period=(T0.normalize().date(), last))


def run(check_id: str, t: Tables, **overrides):
    return registry.run_check(registry.get(check_id), t, overrides)


# --- retention.under_contacting ------------------------------------------------------------------------

def post_purchase_shop() -> Tables:
    # c1..c4 opted in and ordered at T0; c1 and c2 ordered again after 80 days (too recent to count as orders
    # themselves); c5 ordered but may not be e-mailed, so does not count.
    od = orders([("c1", 0, 100), ("c2", 0, 100), ("c3", 0, 100), ("c4", 0, 100), ("c5", 0, 100),
                 ("c1", 80, 100), ("c2", 80, 100)])
    ms = messages([("c1", "newsletter", 3), ("c2", "promo", 20), ("c3", "newsletter", 45),
                   ("c4", "thank_you", 0.1), ("c5", "promo", 100)])
    cu = customers({"c1": True, "c2": True, "c3": True, "c4": True, "c5": False})
    return tables({"orders": od, "messages": ms, "customers": cu}, end_days=95)


def test_under_contacting_counts_orders_without_a_marketing_message_in_the_window():
    f = run("retention.under_contacting", post_purchase_shop(), min_orders=2)
    assert f.value == pytest.approx(0.5)  # c3 (45 days later) and c4 (only a thank-you) were not contacted
    assert f.status == "fail"
    by = f.table.set_index("first_contact")["orders"].to_dict()
    assert by == {"within 7 days": 1, "8–30 days": 1, "31–60 days": 1, "61–90 days": 0, "none within 90 days": 1}
    assert f.table["share"].sum() == pytest.approx(1.0)
    assert f.at_stake is None  # groups below min_group: no money claimed
    assert f.details["orders"] == 4


def test_under_contacting_money_at_stake_from_reorders_of_contacted_buyers():
    f = run("retention.under_contacting", post_purchase_shop(), min_orders=2, min_group=2)
    # contacted c1, c2 both ordered again within 90 days, uncontacted c3, c4 did not: 2 orders × 100 % × 100 €
    assert f.details["reorder_contacted"] == 1.0 and f.details["reorder_uncontacted"] == 0.0
    assert f.at_stake == pytest.approx(200.0)
    assert "average order value" in f.at_stake_method


def test_under_contacting_passes_when_every_buyer_hears_from_the_shop():
    od = orders([(f"c{i}", 0, 50) for i in range(5)])
    ms = messages([(f"c{i}", "newsletter", 5) for i in range(5)])
    f = run("retention.under_contacting", tables({"orders": od, "messages": ms}, end_days=60), min_orders=5)
    assert f.value == 0.0 and f.status == "pass"


def test_under_contacting_is_not_run_on_too_few_orders():
    f = run("retention.under_contacting", post_purchase_shop())
    assert f.status == "not_run"
    assert f.reason == "needs at least 100 orders older than 30 days by customers who may be e-mailed; found 4"


# --- retention.repeat_purchase -------------------------------------------------------------------------

def repeat_shop(back: list[float], n: int = 10) -> Tables:
    """n first-time buyers at T0; buyer i orders again `back[i]` days later."""
    rows = [(f"c{i}", 0, 50) for i in range(n)] + [(f"c{i}", d, 50) for i, d in enumerate(back)]
    return tables({"orders": orders(rows)}, end_days=250)


def test_second_order_rate_within_180_and_90_days_with_the_cohort_table():
    f = run("retention.repeat_purchase", repeat_shop([30, 30, 30, 150, 200]), min_customers=5)
    assert f.value == pytest.approx(0.4)  # 200 days is too late
    assert f.status == "pass" and f.at_stake is None
    assert f.details["short_rate"] == pytest.approx(0.3)
    row = f.table.set_index("month").loc["2026-03"]
    assert row["new_customers"] == 10
    assert row["second_order_90d"] == pytest.approx(0.3) and row["second_order_180d"] == pytest.approx(0.4)


def test_few_second_orders_fail_with_the_missing_second_orders_at_stake():
    f = run("retention.repeat_purchase", repeat_shop([30]), min_customers=5)
    assert f.value == pytest.approx(0.1) and f.status == "fail"
    assert f.at_stake == pytest.approx((0.28 - 0.1) * 10 * 50)


def test_repeat_purchase_ignores_buyers_too_recent_to_judge():
    rows = [(f"c{i}", 0, 50) for i in range(6)] + [("c0", 10, 50)] + [(f"n{i}", 200, 50) for i in range(20)]
    f = run("retention.repeat_purchase", tables({"orders": orders(rows)}, end_days=250), min_customers=5)
    assert f.value == pytest.approx(1 / 6) and f.details["customers"] == 6


def test_repeat_purchase_is_not_run_on_too_few_first_time_buyers():
    f = run("retention.repeat_purchase", repeat_shop([30]))
    assert f.status == "not_run"
    assert f.reason == "needs at least 100 customers whose first order is 180 days old or more; found 10"


# --- retention.onboarding ------------------------------------------------------------------------------

def onboarding_shop() -> Tables:
    # 10 first orders at T0: c0..c5 onboarded within 3 days, c6 only after 10 days, c7..c9 never;
    # c0..c4 order again (5 of 6 onboarded, none of the others); c10 bought too recently to judge.
    rows = [(f"c{i}", 0, 40) for i in range(10)] + [(f"c{i}", 30, 40) for i in range(5)] + [("c10", 248, 40)]
    ms = [(f"c{i}", "onboarding", 3) for i in range(6)] + [("c6", "onboarding", 10), ("c7", "promo", 2)]
    return tables({"orders": orders(rows), "messages": messages(ms)}, end_days=250)


def test_onboarding_share_and_second_orders_with_and_without_it():
    f = run("retention.onboarding", onboarding_shop(), min_orders=5)
    assert f.value == pytest.approx(0.6) and f.status == "warn"
    t = f.table.set_index("onboarding")
    assert t.loc["onboarded", "first_orders"] == 6 and t.loc["not onboarded", "first_orders"] == 4
    assert t.loc["onboarded", "second_order_rate"] == pytest.approx(5 / 6)
    assert t.loc["not onboarded", "second_order_rate"] == 0.0
    assert f.at_stake is None  # fewer than min_group customers per group


def test_onboarding_money_at_stake_from_the_second_order_gap():
    f = run("retention.onboarding", onboarding_shop(), min_orders=5, min_group=3)
    assert f.at_stake == pytest.approx(4 * (5 / 6) * 40)


def test_onboarding_is_not_run_on_too_few_first_orders():
    f = run("retention.onboarding", onboarding_shop())
    assert f.status == "not_run"
    assert f.reason == "needs at least 100 first orders older than 7 days; found 10"


# --- metrics.cohorts -----------------------------------------------------------------------------------

def test_lifecycle_splits_each_months_customers():
    od = orders([("a", 0, 1), ("a", 31, 1), ("b", 0, 1), ("b", 62, 1), ("c", 31, 1)])  # March, April, May
    t = tables({"orders": od}, end_days=120)
    split = cohorts.lifecycle(t).pivot(index="month", columns="status", values="customers")
    assert split.loc["2026-03"].to_dict() == {"dormant": 0, "new": 2, "resurrecting": 0, "returning": 0}
    assert split.loc["2026-04"].to_dict() == {"dormant": 1, "new": 1, "resurrecting": 0, "returning": 1}
    assert split.loc["2026-05"].to_dict() == {"dormant": 2, "new": 0, "resurrecting": 1, "returning": 0}


def test_retention_table_leaves_months_not_yet_ended_empty():
    od = orders([("a", 0, 1), ("a", 31, 1), ("b", 0, 1)])
    t = tables({"orders": od}, end_days=45)  # the period ends mid-April
    table = cohorts.retention_table(t, months=2).set_index("month")
    assert table.loc["2026-03", "new_customers"] == 2
    assert pd.isna(table.loc["2026-03", "month 1"])  # April has not ended
    t = tables({"orders": od}, end_days=100)
    assert cohorts.retention_table(t, months=2).set_index("month").loc["2026-03", "month 1"] == 0.5
