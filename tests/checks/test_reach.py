"""The reach checks on small hand-built tables where the answer is known, and on the demo shop."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit.metrics import channels
from tests.kit import customers, estimated, events, orders, run, shop, spend, tables


def reach_events(rows: list[dict]) -> pd.DataFrame:
    """One-page visits to the homepage on mobile."""
    return events(rows, page_type="home", device="mobile")


def spend_by(by_channel: dict[str, float]) -> pd.DataFrame:
    return spend([dict(channel=ch, amount=amount) for ch, amount in by_channel.items()], days=0)


def customer_rows(spec: list[tuple[str | None, int]], days_apart: float = 0.0) -> list[dict]:
    """[(channel, how many)] -> customer rows C0, C1, ... in that order."""
    rows, i = [], 0
    for ch, n in spec:
        for _ in range(n):
            rows.append(dict(customer_id=f"C{i}", days=i * days_apart, acquisition_channel=ch))
            i += 1
    return rows


# --- reach.untracked_traffic -------------------------------------------------------------------------


def untracked_events(n: int, unknown: int) -> pd.DataFrame:
    """n one-page sessions, half in March and half in April; the first `unknown` have no channel."""
    rows = [
        dict(
            session_id=f"s{i}",
            minutes=(0 if i % 2 else 45 * 24 * 60) + i,
            event_type="page_view",
            channel=None if i < unknown else "direct",
        )
        for i in range(n)
    ]
    return reach_events(rows)


def test_untracked_traffic_share_of_sessions_and_of_new_customers_with_money_from_spend():
    cu = customers(customer_rows([(None, 40), ("paid_search", 60)]))
    f = run(
        "reach.untracked_traffic",
        events=untracked_events(600, 150),
        customers=cu,
        spend=spend_by({"paid_search": 1000.0}),
    )
    assert f.value == pytest.approx(0.25)
    assert f.status == "fail"
    assert len(f.table) == 2 and list(f.table["month"]) == ["2026-03", "2026-04"]
    assert f.table["sessions"].sum() == 600
    assert f.details["customer_share"] == pytest.approx(0.4)
    assert estimated(f) == pytest.approx(0.4 * 1000.0 * 0.1)
    assert "150 of 600 visits" in f.summary and "40.0%" in f.summary


def test_untracked_traffic_passes_when_nearly_every_visit_has_a_channel():
    f = run("reach.untracked_traffic", events=untracked_events(600, 6))
    assert f.value == pytest.approx(0.01) and f.status == "pass"
    assert f.at_stake is None and "new_customers" not in f.table.columns


def test_untracked_traffic_counts_empty_and_unknown_labels_as_untracked():
    ev = untracked_events(600, 0)
    ev.loc[ev.index[:60], "channel"] = "unknown"
    ev.loc[ev.index[60:120], "channel"] = ""
    f = run(
        "reach.untracked_traffic",
        events=ev,
        customers=customers(dict(customer_id="C0", days=0, acquisition_channel=" Unknown ")),
    )
    assert f.value == pytest.approx(120 / 600)
    assert f.details["customer_share"] == pytest.approx(1.0)


def test_untracked_traffic_is_not_run_on_too_few_visits():
    f = run("reach.untracked_traffic", events=untracked_events(10, 2))
    assert f.status == "not_run" and "at least 500 visits" in f.reason and "found 10" in f.reason


# --- reach.channel_concentration ---------------------------------------------------------------------


def test_channel_concentration_is_the_largest_known_channel_share_with_its_trend():
    # one new customer every 0.6 days from 2 March: organic search 60 first, then paid search 240, then 20 unknown
    rows = customer_rows([("organic_search", 60), ("paid_search", 240), (None, 20)], days_apart=0.6)
    f = run("reach.channel_concentration", customers=customers(rows))
    assert f.value == pytest.approx(0.8) and f.status == "fail"
    t = f.table.set_index("channel")
    assert list(t.index) == ["paid_search", "organic_search"]  # unknown is not a channel
    assert t.loc["paid_search", "customers"] == 240
    # March-May (the first 151 customers, to 31 May): 60 organic, 91 paid; June-August: paid search only
    assert t.loc["paid_search", "share_first_months"] == pytest.approx(91 / 151)
    assert t.loc["paid_search", "share_last_months"] == pytest.approx(1.0)
    assert f.details["top_channel"] == "paid_search" and f.at_stake is None
    monthly = f.chart.data.set_index("month")["share"]
    assert monthly["2026-03"] == pytest.approx(0.0) and monthly["2026-08"] == pytest.approx(1.0)


def test_channel_concentration_passes_with_a_balanced_mix():
    rows = customer_rows([(ch, 50) for ch in ("organic_search", "paid_search", "direct", "referral", "email")])
    f = run("reach.channel_concentration", customers=customers(rows))
    assert f.value == pytest.approx(0.2) and f.status == "pass"


def test_channel_concentration_is_not_run_on_too_few_known_customers():
    f = run("reach.channel_concentration", customers=customers(customer_rows([("direct", 50), (None, 500)])))
    assert f.status == "not_run" and "at least 200 customers" in f.reason and "found 50" in f.reason


# --- reach.acquisition_cost --------------------------------------------------------------------------


def cost_shop():
    cu = customers(customer_rows([("paid_search", 50), ("display", 10), ("organic_search", 10)]))
    rows = []
    for i in range(50):  # paid search: 10 within the year, 90 after it (not counted), 5 before first seen
        rows += [
            dict(order_id=f"O{i}a", customer_id=f"C{i}", days=30, revenue=10.0),
            dict(order_id=f"O{i}b", customer_id=f"C{i}", days=400, revenue=90.0),
            dict(order_id=f"O{i}c", customer_id=f"C{i}", days=-3, revenue=5.0),
        ]
    rows += [dict(order_id=f"O{i}", customer_id=f"C{i}", days=100, revenue=50.0) for i in range(50, 60)]  # display
    rows += [dict(order_id=f"O{i}", customer_id=f"C{i}", days=10, revenue=1000.0) for i in range(60, 70)]  # organic
    return {"customers": cu, "orders": orders(rows), "spend": spend_by({"paid_search": 1000.0, "display": 500.0})}


def test_acquisition_cost_is_12_month_revenue_per_unit_of_spend_by_paid_channel():
    f = run("reach.acquisition_cost", **cost_shop())
    assert f.value == pytest.approx((500 + 500) / 1500)
    assert f.status == "fail"
    t = f.table.set_index("channel")
    assert list(t.index) == ["paid_search", "display"]
    assert t.loc["paid_search", "cost_per_customer"] == pytest.approx(20.0)
    assert t.loc["paid_search", "value_12m"] == pytest.approx(10.0)
    assert t.loc["paid_search", "value_per_cost"] == pytest.approx(0.5)
    assert t.loc["display", "value_per_cost"] == pytest.approx(1.0)
    assert estimated(f) == pytest.approx(500.0 * 0.5)  # paid search: 1000 spent, 500 back; display breaks even
    assert f.details["worst_channel"] == "paid_search"


def test_acquisition_cost_counts_customers_with_an_unknown_channel_in_each_channels_proportion():
    frames = cost_shop()
    extra = customers([dict(customer_id=f"U{i}", days=0) for i in range(30)])  # 30 of 100: channel unknown
    frames["customers"] = pd.concat([frames["customers"], extra], ignore_index=True)
    f = run("reach.acquisition_cost", **frames)
    # 60 attributed paid customers stand for 60 / 0.7: each cost 0.7 times as much as it seemed
    assert f.value == pytest.approx((500 + 500) / 1500 / 0.7)
    assert f.table.set_index("channel").loc["paid_search", "cost_per_customer"] == pytest.approx(20.0 * 0.7)
    assert f.details["unknown_channel_share"] == pytest.approx(0.3)
    assert estimated(f) == pytest.approx((1000.0 - 500.0 / 0.7) * 0.5)


def test_acquisition_cost_passes_when_customers_return_several_times_their_cost():
    frames = cost_shop()
    frames["spend"] = spend_by({"paid_search": 100.0, "display": 100.0})
    f = run("reach.acquisition_cost", **frames)
    assert f.value == pytest.approx(5.0) and f.status == "pass" and f.at_stake == 0


def test_acquisition_cost_is_not_run_without_enough_paid_customers():
    frames = cost_shop()
    frames["spend"] = spend_by({"display": 500.0})
    f = run("reach.acquisition_cost", **frames)
    assert f.status == "not_run" and "at least 50 customers" in f.reason and "found 10" in f.reason


# --- reach.earned_reach ------------------------------------------------------------------------------


def earned_shop(spec):
    cu = customers(customer_rows(spec))
    rows = []
    for i, ch in enumerate([ch for ch, n in spec for _ in range(n)]):
        visit = dict(session_id=f"s{i}", customer_id=f"C{i}", channel=ch)
        rows.append(dict(visit, minutes=i, event_type="page_view"))
        if ch == "paid_search":  # paid visitors go on and buy; earned ones leave after the first page
            rows += [
                dict(visit, minutes=i + 0.2, event_type="add_to_cart"),
                dict(visit, minutes=i + 0.4, event_type="purchase"),
            ]
        rows.append(
            dict(session_id=f"t{i}", customer_id=f"C{i}", minutes=i + 5000, event_type="page_view", channel="direct")
        )  # a later visit does not count
    return {"customers": cu, "events": reach_events(rows)}


def test_earned_reach_share_with_first_visit_engagement_and_money_from_paid_cost():
    frames = earned_shop([("organic_search", 20), ("paid_search", 280), (None, 30)])
    frames["spend"] = spend_by({"paid_search": 2800.0})
    f = run("reach.earned_reach", **frames)
    assert f.value == pytest.approx(20 / 300) and f.status == "fail"
    t = f.table.set_index("channel")
    assert t.loc["organic_search", "channel_group"] == "earned"
    assert t.loc["organic_search", "first_visit_bounce"] == pytest.approx(1.0)
    assert t.loc["paid_search", "first_visit_bounce"] == pytest.approx(0.0)
    assert t.loc["paid_search", "first_visit_purchase"] == pytest.approx(1.0)
    assert t.loc["paid_search", "first_visit_events"] == pytest.approx(3.0)
    # 70 customers short of a 30 % earned share, each costing what a paid customer cost: 2800 over the 280
    # paid-search customers plus their part of the 30 with an unknown channel (280 / 300 of them)
    assert estimated(f) == pytest.approx((0.30 - 20 / 300) * 300 * 0.2 * 2800 / (280 + 30 * 280 / 300))


def test_earned_reach_passes_when_many_find_the_shop_themselves():
    f = run(
        "reach.earned_reach",
        **earned_shop([("organic_search", 100), ("referral", 50), ("paid_search", 100), ("direct", 50)]),
    )
    assert f.value == pytest.approx(0.5) and f.status == "pass" and f.at_stake is None


def test_earned_reach_is_not_run_on_too_few_known_customers():
    f = run("reach.earned_reach", **earned_shop([("organic_search", 20), (None, 30)]))
    assert f.status == "not_run" and "at least 200 customers" in f.reason and "found 20" in f.reason


# --- the demo shop -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def healthy():
    return tables(**shop("healthy", 2000, 3))


def test_new_customers_by_month_and_channel(healthy):
    m = channels.new_customers_by_month(healthy)
    assert list(m.columns) == ["month", "channel", "customers"]
    assert m["customers"].sum() == healthy["customers"].count().to_pandas()
    assert set(m["channel"]) >= set(channels.EARNED_CHANNELS) | {"unknown"}
