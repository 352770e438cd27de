"""The retention checks and the cohort measures on small hand-built tables where the answer is known."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit import i18n
from lifecycle_audit.checks.retention.campaigns import member_outcomes, unmeasured_campaigns
from lifecycle_audit.metrics import cohorts, expansion, lift
from tests.kit import (
    T0,
    campaign_members,
    customers,
    estimated,
    events,
    messages,
    order_lines,
    orders,
    run,
    surveys,
    tables,
    tickets,
)

DAY = 24 * 60  # minutes


def until(end_days: int) -> tuple:
    """The analysis period from T0's day to `end_days` after T0's midnight (its last day is the day before)."""
    return T0.normalize().date(), (T0.normalize() + pd.Timedelta(days=end_days - 1)).date()


def buys(rows: list[tuple]) -> pd.DataFrame:
    """Orders from (customer_id, days after T0, revenue)."""
    return orders([dict(customer_id=c, days=d, revenue=r) for c, d, r in rows])


def signed_up(od: pd.DataFrame) -> pd.DataFrame:
    """Customers who signed up inside the data, an hour before their first order: first-time buyers even when
    that order falls in the warm-up at the start of the data (cohorts.first_time_buyers)."""
    first = od.groupby("customer_id")["order_time"].min()
    return customers([dict(customer_id=c, first_seen_at=t - pd.Timedelta(hours=1)) for c, t in first.items()])


def mails(rows: list[tuple]) -> pd.DataFrame:
    """E-mails from (customer_id, message_type, days after T0)."""
    return messages([dict(customer_id=c, message_type=t, days=d) for c, t, d in rows], channel="email")


# --- retention.under_contacting ------------------------------------------------------------------------


def post_purchase_shop() -> dict:
    # c1..c4 opted in and ordered at T0; c1 and c2 ordered again after 80 days (too recent to count as orders
    # themselves); c5 ordered but may not be e-mailed, so does not count.
    od = buys(
        [
            ("c1", 0, 100),
            ("c2", 0, 100),
            ("c3", 0, 100),
            ("c4", 0, 100),
            ("c5", 0, 100),
            ("c1", 80, 100),
            ("c2", 80, 100),
        ]
    )
    ms = mails(
        [
            ("c1", "newsletter", 3),
            ("c2", "promo", 20),
            ("c3", "newsletter", 45),
            ("c4", "thank_you", 0.1),
            ("c5", "promo", 100),
        ]
    )
    cu = customers(customer_id=["c1", "c2", "c3", "c4", "c5"], email_opt_in=[True, True, True, True, False])
    return {"orders": od, "messages": ms, "customers": cu, "period": until(95)}


def test_under_contacting_counts_orders_without_a_marketing_message_in_the_window():
    f = run("retention.under_contacting", overrides=dict(min_orders=2), **post_purchase_shop())
    assert f.value == pytest.approx(0.5)  # c3 (45 days later) and c4 (only a thank-you) were not contacted
    assert f.status == "fail"
    by = f.table.set_index("first_contact")["orders"].to_dict()
    assert by == {"within 7 days": 1, "8–30 days": 1, "31–60 days": 1, "61–90 days": 0, "none within 90 days": 1}
    assert f.table["share"].sum() == pytest.approx(1.0)
    assert f.at_stake is None  # groups below min_group: no money claimed
    assert f.details["orders"] == 4


def test_under_contacting_money_at_stake_from_reorders_of_contacted_buyers():
    f = run("retention.under_contacting", overrides=dict(min_orders=2, min_group=2), **post_purchase_shop())
    # contacted c1, c2 both ordered again within 90 days, uncontacted c3, c4 did not: a 100 % gap, but a flow
    # brings back only its placed-order rate: 2 orders × 1.71 % × 100 €
    assert f.details["reorder_contacted"] == 1.0 and f.details["reorder_uncontacted"] == 0.0
    assert estimated(f) == pytest.approx(2 * 0.0171 * 100.0)
    assert "average order value" in f.at_stake_method


def test_under_contacting_passes_when_every_buyer_hears_from_the_shop():
    od = buys([(f"c{i}", 0, 50) for i in range(5)])
    ms = mails([(f"c{i}", "newsletter", 5) for i in range(5)])
    f = run("retention.under_contacting", overrides=dict(min_orders=5), orders=od, messages=ms, period=until(60))
    assert f.value == 0.0 and f.status == "pass"


def test_under_contacting_is_not_run_on_too_few_orders():
    f = run("retention.under_contacting", **post_purchase_shop())
    assert f.status == "not_run"
    assert f.reason == "needs at least 100 orders older than 30 days by customers who may be e-mailed; found 4"


# --- retention.repeat_purchase -------------------------------------------------------------------------


def repeat_shop(back: list[float], n: int = 10) -> dict:
    """n first-time buyers at T0; buyer i orders again `back[i]` days later."""
    rows = [(f"c{i}", 0, 50) for i in range(n)] + [(f"c{i}", d, 50) for i, d in enumerate(back)]
    return {"orders": buys(rows), "customers": signed_up(buys(rows)), "period": until(250)}


def test_second_order_rate_within_180_and_90_days_with_the_cohort_table():
    f = run("retention.repeat_purchase", overrides=dict(min_customers=5), **repeat_shop([30, 30, 30, 150, 200]))
    assert f.value == pytest.approx(0.4)  # 200 days is too late
    assert f.status == "pass" and f.at_stake is None
    assert f.details["short_rate"] == pytest.approx(0.3)
    row = f.table.set_index("month").loc["2026-03"]
    assert row["new_customers"] == 10
    assert row["second_order_90d"] == pytest.approx(0.3) and row["second_order_180d"] == pytest.approx(0.4)


def test_few_second_orders_fail_with_the_missing_second_orders_at_stake():
    f = run("retention.repeat_purchase", overrides=dict(min_customers=5), **repeat_shop([30]))
    assert f.value == pytest.approx(0.1) and f.status == "fail"
    assert estimated(f) == pytest.approx((0.28 - 0.1) * 10 * 0.2 * 50)


def test_repeat_purchase_ignores_buyers_too_recent_to_judge():
    rows = [(f"c{i}", 0, 50) for i in range(6)] + [("c0", 10, 50)] + [(f"n{i}", 200, 50) for i in range(20)]
    od = buys(rows)
    f = run(
        "retention.repeat_purchase",
        overrides=dict(min_customers=5),
        orders=od,
        customers=signed_up(od),
        period=until(250),
    )
    assert f.value == pytest.approx(1 / 6) and f.details["customers"] == 6


def test_buyers_first_seen_in_the_warm_up_are_not_first_time_buyers():
    # 8 customers first order on T0's day with no sign-up to show they are new (they may have bought before
    # the data begins); 10 signed up and first ordered after the 30-day warm-up; 2 signed up a year before the
    # data and first order late. Only the 10 count: 3 of them come back.
    late = [(f"n{i}", 40, 50) for i in range(10)] + [(f"n{i}", 60, 50) for i in range(3)]
    od = buys([(f"o{i}", 0, 50) for i in range(8)] + [(f"o{i}", 20, 50) for i in range(8)] + late)
    od = pd.concat([od, buys([("s0", 50, 50), ("s1", 50, 50)])], ignore_index=True)
    od["order_id"] = [f"O{i}" for i in range(len(od))]
    cu = pd.concat(
        [signed_up(buys(late)), customers([dict(customer_id=c, days=-365) for c in ("s0", "s1")])], ignore_index=True
    )
    t = tables(period=until(300), orders=od, customers=cu)
    assert cohorts.first_time_buyers(t).count().to_pandas() == 10
    counted = cohorts.left_censored(t).set_index("customers_counted_as")["customers"]
    assert counted.to_dict() == {
        "first-time buyers": 10,
        cohorts.FIRST_ORDER_IN_WARMUP: 8,
        cohorts.SIGNED_UP_BEFORE: 2,
    }
    f = run(
        "retention.repeat_purchase",
        overrides=dict(min_customers=5, window_days=100, short_window_days=50),
        orders=od,
        customers=cu,
        period=until(300),
    )
    assert f.value == pytest.approx(0.3) and f.details["customers"] == 10


def test_repeat_purchase_is_not_run_on_too_few_first_time_buyers():
    f = run("retention.repeat_purchase", **repeat_shop([30]))
    assert f.status == "not_run"
    assert f.reason == "needs at least 100 customers whose first order is 180 days old or more; found 10"


# --- retention.onboarding ------------------------------------------------------------------------------


def onboarding_shop() -> dict:
    # 10 first orders at T0: c0..c5 onboarded within 3 days, c6 only after 10 days, c7..c9 never;
    # c0..c4 order again (5 of 6 onboarded, none of the others); c10 bought too recently to judge.
    rows = [(f"c{i}", 0, 40) for i in range(10)] + [(f"c{i}", 30, 40) for i in range(5)] + [("c10", 248, 40)]
    ms = [(f"c{i}", "onboarding", 3) for i in range(6)] + [("c6", "onboarding", 10), ("c7", "promo", 2)]
    return {"orders": buys(rows), "customers": signed_up(buys(rows)), "messages": mails(ms), "period": until(250)}


def test_onboarding_share_and_second_orders_with_and_without_it():
    f = run("retention.onboarding", overrides=dict(min_orders=5), **onboarding_shop())
    assert f.value == pytest.approx(0.6) and f.status == "warn"
    t = f.table.set_index("onboarding")
    assert t.loc["onboarded", "first_orders"] == 6 and t.loc["not onboarded", "first_orders"] == 4
    assert t.loc["onboarded", "second_order_rate"] == pytest.approx(5 / 6)
    assert t.loc["not onboarded", "second_order_rate"] == 0.0
    assert f.at_stake is None  # fewer than min_group customers per group


def test_onboarding_money_at_stake_from_the_second_order_gap():
    f = run("retention.onboarding", overrides=dict(min_orders=5, min_group=3), **onboarding_shop())
    assert estimated(f) == pytest.approx(4 * 0.0171 * 40)  # the flow's rate is below the 5 / 6 gap


def test_onboarding_is_not_run_on_too_few_first_orders():
    f = run("retention.onboarding", **onboarding_shop())
    assert f.status == "not_run"
    assert f.reason == "needs at least 100 first orders older than 7 days; found 10"


# --- metrics.cohorts -----------------------------------------------------------------------------------


def test_lifecycle_splits_each_months_customers():
    od = buys([("a", 0, 1), ("a", 31, 1), ("b", 0, 1), ("b", 62, 1), ("c", 31, 1)])  # March, April, May
    t = tables(until(120), orders=od, customers=signed_up(od))
    split = cohorts.lifecycle(t).pivot(index="month", columns="status", values="customers")
    assert split.loc["2026-03"].to_dict() == {"dormant": 0, "new": 2, "resurrecting": 0, "returning": 0}
    assert split.loc["2026-04"].to_dict() == {"dormant": 1, "new": 1, "resurrecting": 0, "returning": 1}
    assert split.loc["2026-05"].to_dict() == {"dormant": 2, "new": 0, "resurrecting": 1, "returning": 0}
    # without the sign-ups, a and b ordered first in the warm-up: they may have bought before, so are not new
    split = cohorts.lifecycle(tables(until(120), orders=od)).pivot(index="month", columns="status", values="customers")
    assert split.loc["2026-03", "new"] == 0 and split.loc["2026-04", "new"] == 1


def test_lifecycle_counts_the_dormant_in_a_month_without_any_order():
    od = buys([("a", 0, 1), ("a", 62, 1), ("b", 0, 1), ("b", 1, 1)])  # March and May; nobody orders in April
    t = tables(until(120), orders=od, customers=signed_up(od))
    split = cohorts.lifecycle(t).pivot(index="month", columns="status", values="customers")
    assert list(split.index) == ["2026-03", "2026-04", "2026-05"]
    assert split.loc["2026-04"].to_dict() == {"dormant": 2, "new": 0, "resurrecting": 0, "returning": 0}
    assert split.loc["2026-05"].to_dict() == {"dormant": 0, "new": 0, "resurrecting": 1, "returning": 0}


def test_retention_table_leaves_months_not_yet_ended_empty():
    od = buys([("a", 0, 1), ("a", 31, 1), ("b", 0, 1)])
    t = tables(until(45), orders=od, customers=signed_up(od))  # the period ends mid-April
    table = cohorts.retention_table(t, months=2).set_index("month")
    assert table.loc["2026-03", "new_customers"] == 2
    assert pd.isna(table.loc["2026-03", "month 1"])  # April has not ended
    t = tables(until(100), orders=od, customers=signed_up(od))
    assert cohorts.retention_table(t, months=2).set_index("month").loc["2026-03", "month 1"] == 0.5
    assert cohorts.retention_table(tables(until(100), orders=od), months=2).empty  # no first-time buyers


# --- retention.over_contacting -------------------------------------------------------------------------


def contact_weeks(customer: str, per_week: int, weeks: int, unsub_every: int | None) -> list[dict]:
    """Promo e-mails, `per_week` a week; every `unsub_every`-th one unsubscribed half an hour after it was sent."""
    rows, k = [], 0
    for w in range(weeks):
        for j in range(per_week):
            k += 1
            unsub = unsub_every is not None and k % unsub_every == 0
            rows.append(
                dict(
                    customer_id=customer,
                    message_type="promo",
                    minutes=w * 7 * DAY + j * 60 * 20,
                    unsubscribed_at=pd.Timedelta(minutes=30) if unsub else None,
                )
            )
    return rows


def test_over_contacting_finds_the_frequency_where_unsubscribes_turn():
    rows = []
    for i in range(20):  # calm customers: 1 mail a week, one unsubscribe in 1,000 mails
        rows += contact_weeks(f"calm{i}", 1, 50, 50 if i == 0 else None)
    for i in range(10):  # hammered customers: 5 a week, one unsubscribe every 50 mails
        rows += contact_weeks(f"hot{i}", 5, 20, 50)
    f = run("retention.over_contacting", overrides=dict(min_messages=100), messages=messages(rows, channel="email"))
    assert f.details["turn"] == 5
    assert f.details["customers_above_turn"] == 10
    by = f.table.set_index("contacts_per_week")
    assert by.loc["5+", "unsubscribe_rate"] == pytest.approx(0.02)
    assert by.loc["1", "messages"] == 1000
    assert f.value == pytest.approx((1 + 20) / 2000)
    assert f.status == "fail"


def test_over_contacting_prices_the_extra_unsubscribes_at_the_share_of_revenue_e_mail_brings():
    rows = []
    for i in range(20):
        rows += contact_weeks(f"calm{i}", 1, 50, 50 if i == 0 else None)
    for i in range(10):
        rows += contact_weeks(f"hot{i}", 5, 20, 50)
    buyers = [f"calm{i}" for i in range(20)] + [f"hot{i}" for i in range(10)]
    od = buys([(c, 0, 100.0) for c in buyers] + [("calm0", 365, 100.0)])
    f = run(
        "retention.over_contacting",
        overrides=dict(min_messages=100),
        messages=messages(rows, channel="email"),
        orders=od,
    )
    # 1,000 mails at 5 a week, 2 % unsubscribed against 0.1 % at one a week: 19 extra unsubscribes × 10 % of a
    # customer's yearly revenue (3,100 € from 30 customers over 365 days) — not all of it: they still buy
    value = 3100 / 30 / (365 / 365.25)
    assert f.details["excess_unsubscribes"] == pytest.approx(19.0)
    assert estimated(f) == pytest.approx(19 * 0.1 * value)
    assert "workbook default" in f.at_stake_method


def test_transactional_messages_are_not_contacts_and_calm_lists_pass():
    rows = []
    for i in range(30):
        rows += contact_weeks(f"c{i}", 1, 40, None)
        rows += [dict(customer_id=f"c{i}", message_type="transactional", minutes=w * 7 * DAY + 5) for w in range(40)]
    # one unsubscribe in a 2-mail week: noise, not a turn
    rows.append(dict(customer_id="c0", message_type="promo", minutes=60, unsubscribed_at=pd.Timedelta(minutes=30)))
    f = run("retention.over_contacting", overrides=dict(min_messages=100), messages=messages(rows, channel="email"))
    assert f.details["messages"] == 1201  # transactional mails are not counted
    assert f.status == "pass" and f.details["turn"] is None


def test_check_without_its_table_is_not_run_and_says_why():
    ev = events(
        [
            dict(session_id="s1", minutes=0, event_type="page_view"),
            dict(session_id="s1", minutes=1, event_type="add_to_cart"),
        ]
    )
    f = run("retention.over_contacting", events=ev)
    assert f.status == "not_run" and f.reason == "needs the messages table, which was not supplied"


# --- part B: support, silent dissatisfaction, expansion (shops that start on Monday 5 January) ----------------

B0 = pd.Timestamp("2026-01-05 10:00:00")
HOUR = 60  # minutes


def b_orders(rows: list[tuple]) -> pd.DataFrame:
    """Orders from (order_id, customer_id, minutes after B0, revenue)."""
    return orders([dict(order_id=o, customer_id=c, minutes=m, revenue=r) for o, c, m, r in rows], t0=B0)


def ticket(customer, minutes, resp, res, handoffs, csat) -> dict:
    """A ticket opened `minutes` after B0, first answered after `resp` hours (None: never), resolved after `res`."""
    first_response = None if resp is None else pd.Timedelta(hours=resp)
    return dict(
        customer_id=customer,
        minutes=minutes,
        first_response_at=first_response,
        resolved_at=pd.Timedelta(hours=res),
        handoffs=handoffs,
        csat=csat,
    )


def answer(customer, minutes, score, scale) -> dict:
    """A survey answered `minutes` after B0, two hours after it was sent."""
    return dict(
        customer_id=customer, minutes=minutes - 2 * HOUR, responded_at=pd.Timedelta(hours=2), score=score, scale=scale
    )


def years(first_min: float, last_min: float) -> float:
    return max((pd.Timedelta(minutes=last_min - first_min)).days, 1) / 365.25


# --- retention.support_responsiveness ------------------------------------------------------------------


def test_fast_support_passes_with_the_median_first_response_and_response_groups():
    rows = [ticket(f"C{i}", i * HOUR, 2.0, 8.0, 0, 5) for i in range(30)] + [
        ticket(f"S{i}", i * HOUR, 30.0, 80.0, 2, 2) for i in range(11)
    ]
    f = run("retention.support_responsiveness", tickets=tickets(rows, t0=B0), orders=b_orders([("O1", "C0", 0, 50)]))
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
    o = (
        [(f"OB{i}", f"B{i}", 0, 100) for i in range(10)]
        + [(f"OG{i}", f"G{i}", 0, 100) for i in range(10)]
        + [(f"RG{i}", f"G{i}", 11 * DAY, 100) for i in range(10)]
        + [("OZ", "Z", 400 * DAY, 100)]
    )
    tk = [ticket(f"B{i}", DAY, 30.0, 90.0, 2, 1) for i in range(10)] + [
        ticket(f"G{i}", DAY, 2.0, 5.0, 0, 5) for i in range(10)
    ]
    f = run(
        "retention.support_responsiveness",
        overrides=dict(min_tickets=10, min_group=5),
        tickets=tickets(tk, t0=B0),
        orders=b_orders(o),
    )
    assert f.status == "fail" and f.value == pytest.approx(16.0)
    assert f.details["churn_after_bad"] == pytest.approx(1.0) and f.details["churn_after_good"] == pytest.approx(0.0)
    value = 3100 / 21 / years(0, 400 * DAY)
    assert estimated(f) == pytest.approx(10 * 1.0 * 0.25 * value)
    t = f.table.set_index("first_response")
    assert t.loc["after 24 h", "churn_rate"] == pytest.approx(1.0)
    assert t.loc["1–4 h", "churn_rate"] == pytest.approx(0.0)
    assert "revenue per customer per year" in i18n.tr(f.at_stake_method)


def test_support_check_is_not_run_on_too_few_tickets():
    tk = [ticket(f"C{i}", i * HOUR, 2.0, 8.0, 0, None) for i in range(5)]
    f = run("retention.support_responsiveness", tickets=tickets(tk, t0=B0), orders=b_orders([("O1", "C0", 0, 50)]))
    assert f.status == "not_run"
    assert i18n.tr(f.reason) == "needs at least 30 answered support tickets to judge; found 5"


# --- retention.silent_dissatisfaction ------------------------------------------------------------------


def detractor_shop(followed: int, alone: int, marketed: int):
    """`followed` detractors called back after 20 h, `alone` nobody calls (of whom `marketed` get a promo),
    plus a promoter and a detractor called back too late (5 days)."""
    sv, tk, ms = [], [], []
    for i in range(followed):
        sv.append(answer(f"F{i}", 0, 3, "nps"))
        tk.append(ticket(f"F{i}", 20 * HOUR, 1.0, 4.0, 0, None))
    for i in range(alone):
        sv.append(answer(f"A{i}", 0, 5, "nps"))
        if i < marketed:
            ms.append(dict(customer_id=f"A{i}", message_type="promo", minutes=DAY))
    sv.append(answer("L0", 0, 2, "nps"))
    tk.append(ticket("L0", 5 * DAY, 1.0, 4.0, 0, None))
    sv.append(answer("P0", 0, 10, "nps"))
    ms.append(dict(customer_id="P0", message_type="newsletter", minutes=30 * DAY))
    o = [(f"O{c}", c, -DAY, 100) for c in ["F0", "A0", "P0"]] + [("OZ", "P0", 364 * DAY, 100)]
    return {
        "surveys": surveys(sv, t0=B0),
        "tickets": tickets(tk, t0=B0),
        "orders": b_orders(o),
        "messages": messages(ms, channel="email", t0=B0),
    }


def test_detractors_without_a_call_back_are_counted_with_those_mailed_instead():
    f = run(
        "retention.silent_dissatisfaction",
        overrides=dict(min_low_scores=5),
        **detractor_shop(followed=6, alone=4, marketed=3),
    )
    # 11 detractors: 6 called back within 3 days; 4 never, one too late
    assert f.value == pytest.approx(6 / 11) and f.status in ("warn", "fail")
    assert f.details["not_followed_up"] == 5 and f.details["marketed_not_followed_up"] == 3
    t = f.table.set_index("survey_score")
    assert t.loc["NPS 0–3", "low_scores"] == 7 and t.loc["NPS 0–3", "followed_up"] == 6
    assert t.loc["NPS 4–6", "follow_up_rate"] == pytest.approx(0.0)
    assert t.loc["NPS 4–6", "marketed_not_followed"] == 3
    assert t.loc["NPS 0–3", "median_hours_to_follow_up"] == pytest.approx(20.0)
    value = 400 / 3 / years(-DAY, 364 * DAY)
    assert estimated(f) == pytest.approx(5 * 0.5 * 0.2 * value)


def test_detractors_called_back_pass():
    f = run(
        "retention.silent_dissatisfaction",
        overrides=dict(min_low_scores=5),
        **detractor_shop(followed=20, alone=1, marketed=0),
    )
    assert f.status == "pass" and f.value == pytest.approx(20 / 22)


def test_silent_dissatisfaction_is_not_run_on_too_few_low_scores():
    f = run("retention.silent_dissatisfaction", **detractor_shop(followed=3, alone=2, marketed=0))
    assert f.status == "not_run"
    assert i18n.tr(f.reason) == "needs at least 20 low survey answers (NPS 0–6 or CSAT 1–2) to judge; found 6"


# --- retention.expansion -------------------------------------------------------------------------------


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
    lines = [dict(order_id=o, product_id=f"P-{cat}", category=cat, unit_price=price) for o, cat, price in ol]
    return {"orders": b_orders(o), "customers": signed_up(b_orders(o)), "order_lines": order_lines(lines, quantity=1)}


def test_customers_who_stay_in_their_first_category_fail_with_the_orders_missing():
    f = run(
        "retention.expansion", overrides=dict(min_repeat_customers=10, min_group=4), **expansion_shop(stay=17, cross=3)
    )
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
    assert estimated(f) == pytest.approx((0.45 - 3 / 21) * 21 * 0.0171 * aov)
    # beauty, the most common first category, brings as much in 180 days as the others (80 each)
    assert f.details["top_first_category"] == "beauty" and f.details["top_value_ratio"] == pytest.approx(1.0)
    assert f.chart.x == "first_category" and f.chart.y == "ordered_again_180d"


def test_cross_selling_shop_passes_without_money_at_stake():
    f = run("retention.expansion", overrides=dict(min_repeat_customers=10), **expansion_shop(stay=5, cross=10))
    assert f.status == "pass" and f.value == pytest.approx(10 / 16) and f.at_stake is None
    assert f.table["value_first_12m"].isna().all()  # fewer than 20 customers observed 12 months per category


def test_expansion_is_not_run_without_enough_returning_customers_or_categories():
    f = run("retention.expansion", **expansion_shop(stay=5, cross=10))
    assert f.status == "not_run"
    assert i18n.tr(f.reason) == "needs at least 50 customers with a second order to judge; found 16"
    one = expansion_shop(stay=5, cross=0)
    one["order_lines"] = one["order_lines"].assign(category="beauty")
    f = run("retention.expansion", overrides=dict(min_repeat_customers=1), **one)
    assert i18n.tr(f.reason) == "needs order lines with at least 2 product categories; found 1"


def test_a_first_order_whose_largest_lines_tie_counts_under_the_first_category_by_name():
    frames = expansion_shop(stay=17, cross=3)
    ol = frames["order_lines"]
    tied = ol["order_id"] == "M-1"  # M's first order: shoes and beauty lines of EUR 40 each, shoes listed first
    ol.loc[tied, "unit_price"] = 40.0
    frames["order_lines"] = pd.concat([ol[tied].iloc[::-1], ol[~tied]], ignore_index=True)
    firsts = expansion.first_products(tables(None, **frames)).set_index("customer_id")["first_category"]
    assert firsts["M"] == "beauty"  # whatever order the engine meets the two lines in


def test_expansion_names_the_channel_that_brings_each_first_category():
    frames = expansion_shop(stay=17, cross=3)
    ids = frames["orders"]["customer_id"].drop_duplicates().tolist()
    channel = ["paid_social" if c.startswith("B") else "organic_search" for c in ids]
    frames["customers"] = customers(customer_id=ids, acquisition_channel=channel, minutes=0, t0=B0)
    f = run("retention.expansion", overrides=dict(min_repeat_customers=10), **frames)
    t = f.table.set_index("first_category")
    assert t.loc["beauty", "main_channel"] == "paid_social" and t.loc["beauty", "main_channel_share"] == 1.0
    assert t.loc["shoes", "main_channel"] == "organic_search"


# --- retention.campaign_incrementality -----------------------------------------------------------------

CAMPAIGN = "retention.campaign_incrementality"


def experiment(campaign: str, groups: dict, *, cost: float = 0.4, control_share=None, days: int = 10) -> tuple:
    """Members and orders of one tested campaign assigned `days` after T0: groups maps "control" or a variant name
    ("all" for one version) to (customers, of whom ordered within the week after the send); each order is EUR 50."""
    members, bought = [], []
    for group, (n, buyers) in groups.items():
        control = group == "control"
        for i in range(n):
            cid = f"{campaign}-{group}-{i}"
            members.append(
                dict(
                    campaign_id=campaign,
                    customer_id=cid,
                    assignment="control" if control else "treatment",
                    variant=None if control or group == "all" else group,
                    days=days,
                    cost=0.0 if control else cost,
                    control_share=control_share,
                )
            )
            if i < buyers:
                bought.append(dict(order_id=f"O-{cid}", customer_id=cid, days=days + 3, revenue=50.0))
    return campaign_members(members), orders(bought)


def together(*parts: tuple, **more) -> dict:
    """The tables of several experiments together."""
    return dict(
        campaign_members=pd.concat([p[0] for p in parts], ignore_index=True),
        orders=pd.concat([p[1] for p in parts], ignore_index=True),
        **more,
    )


def verdicts(f) -> dict:
    """(campaign, variant) -> verdict, of the tested rows."""
    t = f.table[f.table["variant"].notna()]
    return {(r.campaign_id, r.variant): r.verdict for r in t.itertuples()}


def test_a_campaign_that_works_passes_with_its_lift_and_interval():
    f = run(CAMPAIGN, **together(experiment("CAMP-1", {"all": (1000, 100), "control": (200, 6)})))
    assert f.status == "pass" and f.value == 0 and f.at_stake is None
    row = f.table.iloc[0]
    assert row.verdict == "lift" and (row.treated, row.control) == (1000, 200)
    expected = lift.newcombe(100, 1000, 6, 200)
    assert (row.conversion_lift, row.conversion_lift_low, row.conversion_lift_high) == pytest.approx(tuple(expected))
    assert row.revenue_per_customer_lift == pytest.approx(50 * (0.1 - 0.03))
    assert row.revenue_per_customer_lift_low > 0 and row.incremental_revenue == pytest.approx(1000 * 3.5)


def test_a_costly_campaign_without_lift_fails_and_puts_a_share_of_its_cost_at_stake():
    works = experiment("CAMP-works", {"all": (1000, 100), "control": (200, 4)})
    dud = experiment("CAMP-dud", {"all": (1000, 20), "control": (200, 4)}, cost=0.6)
    f = run(CAMPAIGN, **together(works, dud))
    assert f.status == "fail" and f.value == pytest.approx(0.5)
    assert verdicts(f) == {("CAMP-works", "all"): "lift", ("CAMP-dud", "all"): "no lift"}
    assert estimated(f) == pytest.approx(1000 * 0.6 * 0.5)  # the dud's cost × the share stopping it saves
    assert "1 cost money and changed nothing" in f.summary.render()


def test_a_campaign_that_costs_nothing_is_not_held_against_the_shop():
    f = run(CAMPAIGN, **together(experiment("CAMP-free", {"all": (1000, 20), "control": (200, 4)}, cost=0.0)))
    assert f.status == "pass" and verdicts(f) == {("CAMP-free", "all"): "no lift"}


def test_a_variant_clearly_worse_than_another_fails():
    f = run(CAMPAIGN, **together(experiment("CAMP-ab", {"A": (1000, 150), "B": (1000, 60), "control": (200, 2)})))
    assert f.status == "fail"
    assert verdicts(f) == {("CAMP-ab", "A"): "lift", ("CAMP-ab", "B"): "worse than another variant"}
    assert f.value == pytest.approx(0.5) and estimated(f) > 0  # the sure part of the revenue gap × switched
    alike = run(CAMPAIGN, **together(experiment("CAMP-ab", {"A": (1000, 100), "B": (1000, 95), "control": (200, 2)})))
    assert alike.status == "pass"


def test_groups_out_of_their_planned_split_make_a_warning_not_a_failure():
    # planned half and half, but 1,000 treated against 200 held out: the result cannot be trusted
    f = run(CAMPAIGN, **together(experiment("CAMP-srm", {"all": (1000, 20), "control": (200, 4)}, control_share=0.5)))
    assert f.status == "warn"
    assert f.table.iloc[0].caveat == "groups not in the planned split"
    assert "in doubt" in f.summary.render()
    ok = run(
        CAMPAIGN, **together(experiment("CAMP-ok", {"all": (1000, 100), "control": (200, 4)}, control_share=1 / 6))
    )
    assert ok.status == "pass" and pd.isna(ok.table.iloc[0].caveat)


def test_groups_that_differed_before_the_send_make_a_warning():
    members, od = experiment("CAMP-pre", {"all": (1000, 20), "control": (200, 4)}, days=100)
    regulars = members[members["assignment"] == "control"]["customer_id"]  # the control group were the regulars
    before = orders([dict(order_id=f"B{i}", customer_id=c, days=60, revenue=80.0) for i, c in enumerate(regulars)])
    f = run(CAMPAIGN, campaign_members=members, orders=pd.concat([od, before], ignore_index=True))
    assert f.status == "warn" and f.table.iloc[0].caveat == "groups differed before the send"


def test_visits_are_compared_when_the_events_name_customers():
    members, od = experiment("CAMP-v", {"all": (400, 40), "control": (100, 2)})
    visitors = members["customer_id"].iloc[:200]  # half the treated visit in the week after the send
    ev = events(
        [dict(session_id=f"s{i}", customer_id=c, days=12, event_type="page_view") for i, c in enumerate(visitors)]
    )
    row = run(CAMPAIGN, campaign_members=members, orders=od, events=ev).table.iloc[0]
    assert (row.visit_rate_treated, row.visit_rate_control, row.visit_lift) == pytest.approx((0.5, 0.0, 0.5))


def test_visits_count_each_members_sessions_in_the_window_once():
    members, od = experiment("CAMP-v", {"all": (60, 6), "control": (60, 1)})
    first, second, third = members["customer_id"].iloc[:3]
    ev = events(
        [dict(session_id="s1", customer_id=first, days=11 + h / 24, event_type="page_view") for h in range(3)]
        + [dict(session_id="s2", customer_id=first, days=12, event_type="page_view")]  # first: 2 sessions
        + [dict(session_id=None, customer_id=first, days=12, event_type="page_view")]  # no session: not one
        + [dict(session_id="s1", customer_id=second, days=13, event_type="page_view")]  # another customer's s1
        + [dict(session_id="s3", customer_id=third, days=30, event_type="page_view")]  # after the window
        + [dict(session_id="s4", customer_id=None, days=12, event_type="page_view")]
    )
    out = member_outcomes(tables(campaign_members=members, orders=od, events=ev), 14, 90).set_index("customer_id")
    assert (out.loc[first, "visits"], out.loc[second, "visits"], out.loc[third, "visits"]) == (2, 1, 0)
    assert out["visits"].sum() == 3


def test_unmeasured_campaigns_count_campaigns_and_customers_once_per_kind_of_message():
    ms = mails(
        [("a", "promo", 1), ("a", "promo", 2), ("b", "promo", 3), (None, "promo", 4), ("a", "newsletter", 5)]
        + [("c", "promo", 6), ("c", "winback", 7)]
    )
    ms["campaign_id"] = ["P1", "P1", "P2", "P2", "N1", "TESTED", None]
    out = unmeasured_campaigns(tables(messages=ms), {"TESTED"}).set_index("message_type")
    assert list(out.index) == ["promo", "newsletter"]  # the tested campaign and messages of no campaign left out
    assert out.loc["promo", ["campaigns", "messages", "customers"]].tolist() == [2, 4, 2]
    assert out.loc["newsletter", ["campaigns", "messages", "customers"]].tolist() == [1, 1, 1]


def test_campaigns_without_a_control_group_are_listed_with_their_volume():
    members, od = experiment("CAMP-1", {"all": (300, 30), "control": (60, 1)})
    ms = mails([(f"c{i}", "promo", 1) for i in range(40)] + [(f"c{i}", "newsletter", 2) for i in range(10)])
    ms["campaign_id"] = ["PR-big"] * 40 + ["NL-small"] * 10
    f = run(CAMPAIGN, campaign_members=members, orders=od, messages=ms)
    un = f.table[f.table["verdict"] == "not measured"]
    assert list(un["message_type"]) == ["promo", "newsletter"] and list(un["messages"]) == [40, 10]
    assert list(un["campaigns"]) == [1, 1] and list(un["customers"]) == [40, 10]
    assert f.details["unmeasured_campaigns"] == 2 and f.details["unmeasured_share"] == 1.0  # CAMP-1 sent no e-mails
    assert "2 campaigns (100% of the campaign messages) went out without a control group" in f.summary.render()


def test_incrementality_is_not_run_without_a_control_group_and_says_how_to_set_one_up():
    members, od = experiment("CAMP-1", {"all": (300, 30)})
    f = run(CAMPAIGN, campaign_members=members, orders=od)
    assert f.status == "not_run" and "assignment = control" in f.reason.render()
    assert any("5–10 %" in a for a in f.advice)
    assert run(CAMPAIGN, orders=od).status == "not_run"


def test_incrementality_is_not_run_on_a_control_group_too_small_to_tell():
    f = run(CAMPAIGN, **together(experiment("CAMP-1", {"all": (300, 30), "control": (20, 0)})))
    assert f.status == "not_run" and "at least 50 customers in its control group" in f.reason.render()


def test_a_campaign_tested_on_too_few_customers_to_tell_is_a_warning_not_a_failure():
    # 2 % against 1.7 %: the interval includes zero and also a lift of several points
    f = run(CAMPAIGN, **together(experiment("CAMP-small", {"all": (300, 6), "control": (60, 1)})))
    assert verdicts(f) == {("CAMP-small", "all"): "no lift shown, too few customers to rule one out"}
    assert f.status == "warn" and f.at_stake is None
    assert "1 showed no lift on too few customers to rule one out" in f.summary.render()


def test_revenue_gets_no_interval_when_a_group_has_almost_no_buyers():
    f = run(CAMPAIGN, **together(experiment("CAMP-1", {"all": (1000, 30), "control": (200, 0)})))
    row = f.table.iloc[0]
    assert row.revenue_per_customer_lift == pytest.approx(1.5)
    assert pd.isna(row.revenue_per_customer_lift_low) and pd.isna(row.revenue_per_customer_lift_high)
