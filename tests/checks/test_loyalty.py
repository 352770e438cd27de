"""Loyalty checks on small hand-built tables where the answer is known."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit import privacy
from lifecycle_audit.metrics import rfm
from tests.kit import customers, estimated, messages, orders, referrals, reviews, run, surveys, tables

T0 = pd.Timestamp("2026-01-01")
END = T0 + pd.Timedelta(days=199)  # the period ends at the end of that day: 200 days
PERIOD = (T0.date(), END.date())


def buys(rows: list[tuple]) -> pd.DataFrame:
    """Orders from (order_id, customer_id, day, revenue)."""
    return orders([dict(order_id=o, customer_id=c, days=d, revenue=r) for o, c, d, r in rows], t0=T0)


def members(ids, since=()) -> pd.DataFrame:
    """Customers first seen on day 0; those in `since` joined the loyalty programme that day."""
    return customers(
        customer_id=list(ids), days=0, loyalty_member_since=[T0 if c in since else None for c in ids], t0=T0
    )


def mails(rows: list[tuple]) -> pd.DataFrame:
    """E-mails from (customer_id, message_type, day)."""
    return messages([dict(customer_id=c, message_type=t, days=d) for c, t, d in rows], channel="email", t0=T0)


# ---------------------------------------------------------------- unrecognised_loyal


def loyal_shop():
    """20 customers with 3 orders (L0..L19, 5 of them members), 10 one-order customers; L0 spends most and
    lapsed (last order on day 10), the rest bought recently."""
    rows, k = [], 0
    for i in range(20):
        for d in (1, 5, 10) if i == 0 else (150, 170, 190):
            rows.append((f"O{k}", f"L{i}", d, 500.0 if i == 0 else 50.0))
            k += 1
    for i in range(10):
        rows.append((f"O{k}", f"S{i}", 100, 20.0))
        k += 1
    ids = [f"L{i}" for i in range(20)] + [f"S{i}" for i in range(10)]
    in_programme = {f"L{i}" for i in range(15, 20)}
    thanks = [(f"L{i}", "thank_you", 151) for i in range(10)]  # L10..L19 never thanked
    return {"orders": buys(rows), "customers": members(ids, in_programme), "messages": mails(thanks)}


def test_unrecognised_loyal_share_evidence_and_money_at_stake():
    f = run("loyalty.unrecognised_loyal", period=PERIOD, **loyal_shop())
    assert f.value == pytest.approx(15 / 20)
    assert f.status == "fail"
    assert len(f.table) == 15
    # customers appear only as pseudonyms, the biggest spender first
    assert f.table["customer_id"].iloc[0] == privacy.pseudonym("L0")
    assert all(privacy.PSEUDONYM.match(c) for c in f.table["customer_id"])
    assert not set(f.table["customer_id"]) & {f"L{i}" for i in range(20)}
    assert f.table["orders"].tolist() == [3] * 15
    assert f.table["days_since_last_order"].iloc[0] == 190
    assert f.details["never_thanked"] == 5
    # (15 - 0.1 × 20) excess customers × mean revenue of loyal customers a year
    years = 200 / 365.25
    mean_rev = (1500 + 19 * 150) / 20
    assert estimated(f) == pytest.approx(13 * mean_rev / years * 0.1)
    assert f.chart.data["customers"].tolist() == [5, 15]


def test_loyal_customers_in_the_programme_pass():
    frames = loyal_shop()
    frames["customers"] = members(frames["customers"]["customer_id"].tolist(), {f"L{i}" for i in range(1, 20)})
    f = run("loyalty.unrecognised_loyal", period=PERIOD, **frames)
    assert f.value == pytest.approx(1 / 20)
    assert f.status == "pass"
    assert f.at_stake == 0


def test_unrecognised_loyal_needs_enough_loyal_customers():
    f = run("loyalty.unrecognised_loyal", overrides=dict(min_loyal=25), period=PERIOD, **loyal_shop())
    assert f.status == "not_run"
    assert "25" in str(f.reason) and "20" in str(f.reason)


# ---------------------------------------------------------------- referrals


def referral_shop(referrers: int):
    """200 buyers B0..B199 spending 100; the first 20 were referred (spending 300 instead) by B20..B(20+referrers-1)."""
    rows = [(f"O{i}", f"B{i}", 50, 300.0 if i < 20 else 100.0) for i in range(200)]
    refs = referrals(
        referrer_id=[f"B{20 + i % referrers}" for i in range(20)],
        referred_customer_id=[f"B{i}" for i in range(20)],
        days=40,
        t0=T0,
    )
    sv = surveys(
        survey_id=["V1", "V2", "V3", "V4"],
        customer_id=["B50", "B51", "B52", "B53"],
        days=60,
        responded_at=pd.Timedelta(days=1),
        score=[10.0, 9.0, 9.0, 3.0],
        scale="nps",
        t0=T0,
    )
    msgs = mails([("B50", "referral_invite", 62), ("B51", "referral_invite", 30)])  # B51 asked before, not after
    return {"orders": buys(rows), "referrals": refs, "surveys": sv, "messages": msgs}


def test_referrals_share_value_of_referred_and_promoters_never_asked():
    f = run("loyalty.referrals", period=PERIOD, **referral_shop(5))
    assert f.value == pytest.approx(5 / 200)
    assert f.status == "fail"
    t = f.table.set_index("group")
    assert t.loc["referred", "customers"] == 20 and t.loc["not referred", "customers"] == 180
    assert t.loc["referred", "revenue_per_customer"] == pytest.approx(300)
    assert t.loc["not referred", "revenue_per_customer"] == pytest.approx(100)
    assert f.details["promoters"] == 3
    assert f.details["promoters_invited"] == pytest.approx(1 / 3)
    # (0.08 × 200 − 5) missing referrers × 4 referred per referrer × 300
    assert estimated(f) == pytest.approx(11 * 0.2 * 4 * 300)
    assert "2 of 3 promoters" in str(f.summary)


def test_many_referrers_pass():
    f = run("loyalty.referrals", period=PERIOD, **referral_shop(20))
    assert f.value == pytest.approx(0.10)
    assert f.status == "pass"
    assert f.at_stake == 0


def test_referrals_need_enough_buyers():
    f = run("loyalty.referrals", overrides=dict(min_buyers=500), period=PERIOD, **referral_shop(5))
    assert f.status == "not_run"
    assert "500" in str(f.reason) and "200" in str(f.reason)


# ---------------------------------------------------------------- reviews


def review_shop(reviewed_every: int):
    """300 orders on days 0..149 (two a day) and 50 recent ones (day 190+, not counted); every
    `reviewed_every`-th old order reviewed, rated 5 in the first months and 3 later."""
    rows = [(f"O{i}", f"C{i % 40}", i // 2, 80.0) for i in range(300)]
    rows += [(f"N{i}", f"C{i % 40}", 190 + i / 10, 80.0) for i in range(50)]
    rv = [(f"O{i}", 5.0 if i < 150 else 3.0) for i in range(0, 300, reviewed_every)]
    rv += [("N1", 1.0)]
    rw = reviews([dict(order_id=o, rating=r) for o, r in rv], customer_id="C1", days=199, t0=T0)
    return {"orders": buys(rows), "reviews": rw}


def test_reviews_per_old_order_and_rating_trend():
    f = run("loyalty.reviews", period=PERIOD, **review_shop(30))
    assert f.value == pytest.approx(10 / 300)
    assert f.status == "fail"
    assert f.table["orders"].sum() == 300
    assert f.table["reviews"].sum() == 10
    assert f.details["rating_first_half"] > f.details["rating_second_half"]
    assert f.at_stake is None


def test_reviews_on_every_fifth_order_pass():
    f = run("loyalty.reviews", period=PERIOD, **review_shop(5))
    assert f.value == pytest.approx(0.2)
    assert f.status == "pass"


def test_reviews_count_requests_after_orders():
    frames = review_shop(5)
    frames["messages"] = mails([(f"C{i}", "review_request", 1) for i in range(20)])
    f = run("loyalty.reviews", period=PERIOD, **frames)
    # customers C0..C19 asked on day 1: their orders on days 0 and 1 (C0, C1 on day 0; C2, C3 on day 1)
    assert f.details["orders_asked"] == pytest.approx(4 / 300)


def test_reviews_need_enough_old_orders():
    f = run("loyalty.reviews", overrides=dict(min_orders=400), period=PERIOD, **review_shop(5))
    assert f.status == "not_run"
    assert "400" in str(f.reason) and "300" in str(f.reason)


# ---------------------------------------------------------------- RFM segments


def test_rfm_segments_count_customers_and_revenue():
    t = tables(PERIOD, **loyal_shop())
    seg = rfm.segments(t).set_index("segment")
    assert seg["customers"].sum() == 30
    assert seg.loc["inactive", "customers"] == 1  # L0, last order 190 days ago
    assert seg.loc["one-time", "customers"] == 10
    assert seg["revenue"].sum() == pytest.approx(1500 + 19 * 150 + 200)
    assert seg["share_of_customers"].sum() == pytest.approx(1)
