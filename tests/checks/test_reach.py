"""The reach checks on small hand-built tables where the answer is known, and on the demo shop."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit import synth
from lifecycle_audit.checks import registry
from lifecycle_audit.engine import Tables
from lifecycle_audit.metrics import channels

T0 = pd.Timestamp("2026-03-02 10:00:00")


def run(check_id: str, frames: dict[str, pd.DataFrame], **overrides):
    return registry.run_check(registry.get(check_id), Tables.from_frames(frames), overrides)


def events(rows: list[tuple]) -> pd.DataFrame:
    """rows: (session, customer or None, minutes after T0, event_type, channel or None)."""
    df = pd.DataFrame(rows, columns=["session_id", "customer_id", "minutes", "event_type", "channel"])
    return pd.DataFrame({
        "session_id": df["session_id"].astype("string"),
        "customer_id": df["customer_id"].astype("string"),
        "anonymous_id": ("a-" + df["session_id"]).astype("string"),
        "event_time": (T0 + pd.to_timedelta(df["minutes"], unit="min")).astype("datetime64[us]"),
        "event_type": df["event_type"].astype("string"),
        "page_type": pd.Series(["home"] * len(df), dtype="string"),
        "channel": df["channel"].astype("string"),
        "device": pd.Series(["mobile"] * len(df), dtype="string"),
    })


def customers(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, days after T0 first seen, acquisition channel or None)."""
    df = pd.DataFrame(rows, columns=["customer_id", "days", "channel"])
    return pd.DataFrame({
        "customer_id": df["customer_id"].astype("string"),
        "first_seen_at": (T0 + pd.to_timedelta(df["days"], unit="D")).astype("datetime64[us]"),
        "acquisition_channel": df["channel"].astype("string"),
    })


def orders(rows: list[tuple]) -> pd.DataFrame:
    """rows: (order_id, customer_id, days after T0, revenue)."""
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "days", "revenue"])
    return pd.DataFrame({
        "order_id": df["order_id"].astype("string"),
        "customer_id": df["customer_id"].astype("string"),
        "order_time": (T0 + pd.to_timedelta(df["days"], unit="D")).astype("datetime64[us]"),
        "revenue": df["revenue"].astype("float64"),
    })


def spend(by_channel: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({
        "date": pd.Series([T0.normalize()] * len(by_channel), dtype="datetime64[us]"),
        "channel": pd.Series(list(by_channel), dtype="string"),
        "amount": pd.Series(list(by_channel.values()), dtype="float64"),
    })


def customer_rows(spec: list[tuple[str | None, int]], days_apart: float = 0.0) -> list[tuple]:
    """[(channel, how many)] -> customer rows C0, C1, ... in that order."""
    rows, i = [], 0
    for ch, n in spec:
        for _ in range(n):
            rows.append((f"C{i}", i * days_apart, ch))
            i += 1
    return rows


# --- reach.untracked_traffic -------------------------------------------------------------------------

def untracked_events(n: int, unknown: int) -> pd.DataFrame:
    """n one-page sessions, half in March and half in April; the first `unknown` have no channel."""
    rows = [(f"s{i}", None, (0 if i % 2 else 45 * 24 * 60) + i, "page_view", None if i < unknown else "direct")
            for i in range(n)]
    return events(rows)


def test_untracked_traffic_share_of_sessions_and_of_new_customers_with_money_from_spend():
    cu = customers(customer_rows([(None, 40), ("paid_search", 60)]))
    f = run("reach.untracked_traffic", {"events": untracked_events(600, 150), "customers": cu,
                                        "spend": spend({"paid_search": 1000.0})})
    assert f.value == pytest.approx(0.25)
    assert f.status == "fail"
    assert len(f.table) == 2 and list(f.table["month"]) == ["2026-03", "2026-04"]
    assert f.table["sessions"].sum() == 600
    assert f.details["customer_share"] == pytest.approx(0.4)
    assert f.at_stake == pytest.approx(0.4 * 1000.0)
    assert "150 of 600 visits" in f.summary and "40.0%" in f.summary


def test_untracked_traffic_passes_when_nearly_every_visit_has_a_channel():
    f = run("reach.untracked_traffic", {"events": untracked_events(600, 6)})
    assert f.value == pytest.approx(0.01) and f.status == "pass"
    assert f.at_stake is None and "new_customers" not in f.table.columns


def test_untracked_traffic_counts_empty_and_unknown_labels_as_untracked():
    ev = untracked_events(600, 0)
    ev.loc[ev.index[:60], "channel"] = "unknown"
    ev.loc[ev.index[60:120], "channel"] = ""
    f = run("reach.untracked_traffic", {"events": ev, "customers": customers([("C0", 0, " Unknown ")])})
    assert f.value == pytest.approx(120 / 600)
    assert f.details["customer_share"] == pytest.approx(1.0)


def test_untracked_traffic_is_not_run_on_too_few_visits():
    f = run("reach.untracked_traffic", {"events": untracked_events(10, 2)})
    assert f.status == "not_run" and "at least 500 visits" in f.reason and "found 10" in f.reason


# --- reach.channel_concentration ---------------------------------------------------------------------

def test_channel_concentration_is_the_largest_known_channel_share_with_its_trend():
    # one new customer every 0.6 days from 2 March: organic search 60 first, then paid search 240, then 20 unknown
    rows = customer_rows([("organic_search", 60), ("paid_search", 240), (None, 20)], days_apart=0.6)
    f = run("reach.channel_concentration", {"customers": customers(rows)})
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
    f = run("reach.channel_concentration", {"customers": customers(rows)})
    assert f.value == pytest.approx(0.2) and f.status == "pass"


def test_channel_concentration_is_not_run_on_too_few_known_customers():
    f = run("reach.channel_concentration", {"customers": customers(customer_rows([("direct", 50), (None, 500)]))})
    assert f.status == "not_run" and "at least 200 customers" in f.reason and "found 50" in f.reason


# --- reach.acquisition_cost --------------------------------------------------------------------------

def cost_shop():
    cu = customers(customer_rows([("paid_search", 50), ("display", 10), ("organic_search", 10)]))
    rows = []
    for i in range(50):  # paid search: 10 within the year, 90 after it (not counted), 5 before first seen
        rows += [(f"O{i}a", f"C{i}", 30, 10.0), (f"O{i}b", f"C{i}", 400, 90.0), (f"O{i}c", f"C{i}", -3, 5.0)]
    rows += [(f"O{i}", f"C{i}", 100, 50.0) for i in range(50, 60)]          # display: 50 each
    rows += [(f"O{i}", f"C{i}", 10, 1000.0) for i in range(60, 70)]         # organic: not paid for
    return {"customers": cu, "orders": orders(rows), "spend": spend({"paid_search": 1000.0, "display": 500.0})}


def test_acquisition_cost_is_12_month_revenue_per_unit_of_spend_by_paid_channel():
    f = run("reach.acquisition_cost", cost_shop())
    assert f.value == pytest.approx((500 + 500) / 1500)
    assert f.status == "fail"
    t = f.table.set_index("channel")
    assert list(t.index) == ["paid_search", "display"]
    assert t.loc["paid_search", "cost_per_customer"] == pytest.approx(20.0)
    assert t.loc["paid_search", "value_12m"] == pytest.approx(10.0)
    assert t.loc["paid_search", "value_per_cost"] == pytest.approx(0.5)
    assert t.loc["display", "value_per_cost"] == pytest.approx(1.0)
    assert f.at_stake == pytest.approx(500.0)  # paid search: 1000 spent, 500 back; display breaks even
    assert f.details["worst_channel"] == "paid_search"


def test_acquisition_cost_counts_customers_with_an_unknown_channel_in_each_channels_proportion():
    shop = cost_shop()
    extra = customers([(f"U{i}", 0, None) for i in range(30)])  # 30 of 100 customers: channel unknown
    shop["customers"] = pd.concat([shop["customers"], extra], ignore_index=True)
    f = run("reach.acquisition_cost", shop)
    # 60 attributed paid customers stand for 60 / 0.7: each cost 0.7 times as much as it seemed
    assert f.value == pytest.approx((500 + 500) / 1500 / 0.7)
    assert f.table.set_index("channel").loc["paid_search", "cost_per_customer"] == pytest.approx(20.0 * 0.7)
    assert f.details["unknown_channel_share"] == pytest.approx(0.3)
    assert f.at_stake == pytest.approx(1000.0 - 500.0 / 0.7)


def test_acquisition_cost_passes_when_customers_return_several_times_their_cost():
    shop = cost_shop()
    shop["spend"] = spend({"paid_search": 100.0, "display": 100.0})
    f = run("reach.acquisition_cost", shop)
    assert f.value == pytest.approx(5.0) and f.status == "pass" and f.at_stake == 0


def test_acquisition_cost_is_not_run_without_enough_paid_customers():
    shop = cost_shop()
    shop["spend"] = spend({"display": 500.0})
    f = run("reach.acquisition_cost", shop)
    assert f.status == "not_run" and "at least 50 customers" in f.reason and "found 10" in f.reason


# --- reach.earned_reach ------------------------------------------------------------------------------

def earned_shop(spec):
    cu = customers(customer_rows(spec))
    rows = []
    for i, ch in enumerate([ch for ch, n in spec for _ in range(n)]):
        rows.append((f"s{i}", f"C{i}", i, "page_view", ch))
        if ch == "paid_search":  # paid visitors go on and buy; earned ones leave after the first page
            rows += [(f"s{i}", f"C{i}", i + 0.2, "add_to_cart", ch), (f"s{i}", f"C{i}", i + 0.4, "purchase", ch)]
        rows.append((f"t{i}", f"C{i}", i + 5000, "page_view", "direct"))  # a later visit does not count
    return {"customers": cu, "events": events(rows)}


def test_earned_reach_share_with_first_visit_engagement_and_money_from_paid_cost():
    shop = earned_shop([("organic_search", 20), ("paid_search", 280), (None, 30)])
    shop["spend"] = spend({"paid_search": 2800.0})
    f = run("reach.earned_reach", shop)
    assert f.value == pytest.approx(20 / 300) and f.status == "fail"
    t = f.table.set_index("channel")
    assert t.loc["organic_search", "channel_group"] == "earned"
    assert t.loc["organic_search", "first_visit_bounce"] == pytest.approx(1.0)
    assert t.loc["paid_search", "first_visit_bounce"] == pytest.approx(0.0)
    assert t.loc["paid_search", "first_visit_purchase"] == pytest.approx(1.0)
    assert t.loc["paid_search", "first_visit_events"] == pytest.approx(3.0)
    # 70 customers short of a 30 % earned share, each costing what a paid customer cost: 2800 over the 280
    # paid-search customers plus their part of the 30 with an unknown channel (280 / 300 of them)
    assert f.at_stake == pytest.approx((0.30 - 20 / 300) * 300 * 2800 / (280 + 30 * 280 / 300))


def test_earned_reach_passes_when_many_find_the_shop_themselves():
    f = run("reach.earned_reach", earned_shop([("organic_search", 100), ("referral", 50), ("paid_search", 100),
                                               ("direct", 50)]))
    assert f.value == pytest.approx(0.5) and f.status == "pass" and f.at_stake is None


def test_earned_reach_is_not_run_on_too_few_known_customers():
    f = run("reach.earned_reach", earned_shop([("organic_search", 20), (None, 30)]))
    assert f.status == "not_run" and "at least 200 customers" in f.reason and "found 20" in f.reason


# --- the demo shop -----------------------------------------------------------------------------------

MISTAKE = {"reach.untracked_traffic": "untracked_traffic", "reach.channel_concentration": "one_channel",
           "reach.acquisition_cost": "costly_acquisition", "reach.earned_reach": "no_earned_reach"}


@pytest.fixture(scope="module")
def healthy():
    return Tables.from_frames(synth.generate(customers=2000, seed=3, profile="healthy"))


@pytest.mark.parametrize("check_id", sorted(MISTAKE))
def test_demo_shop_healthy_passes_and_its_own_mistake_alone_is_found(check_id, healthy):
    spec = registry.get(check_id)
    assert registry.run_check(spec, healthy).status == "pass"
    planted = Tables.from_frames(synth.generate(customers=2000, seed=3, profile="healthy",
                                                mistakes=[MISTAKE[check_id]]))
    assert registry.run_check(spec, planted).status in ("fail", "warn")


def test_new_customers_by_month_and_channel(healthy):
    m = channels.new_customers_by_month(healthy)
    assert list(m.columns) == ["month", "channel", "customers"]
    assert m["customers"].sum() == healthy["customers"].count().to_pandas()
    assert set(m["channel"]) >= set(channels.EARNED_CHANNELS) | {"unknown"}
