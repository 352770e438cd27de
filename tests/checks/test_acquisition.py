"""The acquisition checks on small hand-built tables where the answer is known."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lifecycle_audit.checks import registry
from lifecycle_audit.engine import Tables

T0 = pd.Timestamp("2026-03-02 10:00:00")  # a Monday


def run(check_id: str, frames: dict[str, pd.DataFrame], **overrides):
    return registry.run_check(registry.get(check_id), Tables.from_frames(frames), overrides)


def events(rows: list[tuple]) -> pd.DataFrame:
    """rows: (session, customer or None, minutes after T0, event_type, page_type, channel)."""
    df = pd.DataFrame(rows, columns=["session_id", "customer_id", "minutes", "event_type", "page_type", "channel"])
    return pd.DataFrame({
        "session_id": df["session_id"].astype("string"),
        "customer_id": df["customer_id"].astype("string"),
        "anonymous_id": ("a-" + df["session_id"]).astype("string"),
        "event_time": (T0 + pd.to_timedelta(df["minutes"], unit="min")).astype("datetime64[us]"),
        "event_type": df["event_type"].astype("string"),
        "page_type": df["page_type"].astype("string"),
        "channel": df["channel"].astype("string"),
        "device": pd.Series(["mobile"] * len(df), dtype="string"),
    })


def orders(rows: list[tuple]) -> pd.DataFrame:
    """rows: (order_id, customer_id, order_time, revenue)."""
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_time", "revenue"])
    return pd.DataFrame({
        "order_id": df["order_id"].astype("string"),
        "customer_id": df["customer_id"].astype("string"),
        "order_time": pd.to_datetime(df["order_time"]).astype("datetime64[us]"),
        "revenue": df["revenue"].astype("float64"),
    })


def messages(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, message_type, sent_at)."""
    df = pd.DataFrame(rows, columns=["customer_id", "message_type", "sent_at"])
    return pd.DataFrame({
        "message_id": pd.Series([f"M{i}" for i in range(len(df))], dtype="string"),
        "customer_id": df["customer_id"].astype("string"),
        "channel": pd.Series(["email"] * len(df), dtype="string"),
        "message_type": df["message_type"].astype("string"),
        "sent_at": pd.to_datetime(df["sent_at"]).astype("datetime64[us]"),
        "opened_at": pd.Series(pd.NaT, index=df.index, dtype="datetime64[us]"),
        "clicked_at": pd.Series(pd.NaT, index=df.index, dtype="datetime64[us]"),
        "unsubscribed_at": pd.Series(pd.NaT, index=df.index, dtype="datetime64[us]"),
    })


def customers(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, first_seen_at, email_opt_in)."""
    df = pd.DataFrame(rows, columns=["customer_id", "first_seen_at", "email_opt_in"])
    return pd.DataFrame({
        "customer_id": df["customer_id"].astype("string"),
        "first_seen_at": pd.to_datetime(df["first_seen_at"]).astype("datetime64[us]"),
        "email_opt_in": df["email_opt_in"].astype("boolean"),
    })


# ------------------------------------------------------------------ acquisition.landing_page_match

def _landing_events():
    rows, minute = [], 0
    # 10 paid-search visits landing on a landing page: 7 bounce, 3 go on, one of them buys.
    for i in range(10):
        sid = f"p{i}"
        rows.append((sid, None, minute, "page_view", "landing", "paid_search"))
        if i >= 7:
            rows.append((sid, None, minute + 1, "product_view", "product", "paid_search"))
        if i == 9:
            rows[-1] = (sid, "C1", minute + 1, "product_view", "product", "paid_search")
            rows[-2] = (sid, "C1", minute, "page_view", "landing", "paid_search")
            rows.append((sid, "C1", minute + 2, "purchase", "checkout", "paid_search"))
        minute += 10
    # 10 organic visits landing on a landing page: 3 bounce.
    for i in range(10):
        sid = f"o{i}"
        rows.append((sid, None, minute, "page_view", "landing", "organic_search"))
        if i >= 3:
            rows.append((sid, None, minute + 1, "product_view", "product", "organic_search"))
        minute += 10
    # Paid visits landing on the homepage do not count: all bounce.
    for i in range(5):
        rows.append((f"h{i}", None, minute, "page_view", "home", "paid_social"))
        minute += 10
    return events(rows)


def test_landing_page_match_compares_paid_with_unpaid_landings_off_the_homepage():
    frames = {"events": _landing_events(), "orders": orders([("O1", "C1", T0, 60.0)])}
    f = run("acquisition.landing_page_match", frames, min_sessions=5, min_group=1)
    assert f.value == pytest.approx(0.7)
    assert f.status == "fail"
    assert f.details["unpaid_bounce"] == pytest.approx(0.3)
    t = f.table.set_index(["traffic", "channel", "landing"])
    assert t.loc[("paid", "paid_search", "landing"), "sessions"] == 10
    assert t.loc[("paid", "paid_search", "landing"), "bounce_rate"] == pytest.approx(0.7)
    assert t.loc[("unpaid", "organic_search", "landing"), "bounce_rate"] == pytest.approx(0.3)
    assert t.loc[("paid", "paid_social", "home"), "bounce_rate"] == pytest.approx(1.0)
    # (0.7 - min(0.4, 0.3)) × 10 visits kept × 1 purchase / 3 engaged × 60 AOV
    assert f.at_stake == pytest.approx(0.4 * 10 / 3 * 60)
    assert "paid search" in f.summary
    assert set(f.chart.data["traffic"]) == {"paid", "unpaid"}


def test_landing_page_match_passes_when_paid_landings_keep_visitors():
    ev = _landing_events()
    ev["channel"] = ev["channel"].replace({"paid_search": "organic_search", "organic_search": "display"})
    f = run("acquisition.landing_page_match", {"events": ev}, min_sessions=5, min_group=1)
    assert f.value == pytest.approx(0.3)
    assert f.status == "pass"
    assert f.at_stake is None  # no orders: no order value to put on the visits


def test_landing_page_match_needs_enough_paid_visits():
    f = run("acquisition.landing_page_match", {"events": _landing_events()})
    assert f.status == "not_run"
    assert "needs at least 200 visits from paid channels that land off the homepage; found 10" in f.reason


# ------------------------------------------------------------------ acquisition.price_sensitivity

RISE = pd.Timestamp("2026-04-01")  # A goes from 10 to 12; the 90-day windows are Jan 1 – Mar 31 and Apr 1 – Jun 29


def _price_shop():
    prices = pd.DataFrame({
        "product_id": pd.Series(["A", "A", "B"], dtype="string"),
        "valid_from": pd.to_datetime(["2025-06-01", "2026-04-01", "2025-06-01"]).astype("datetime64[us]"),
        "price": [10.0, 12.0, 20.0],
    })
    lines, ords = [], []

    def sell(product, day, qty=10):
        oid = f"O{len(ords)}"
        ords.append((oid, f"C{len(ords)}", day, 1.0))
        lines.append((oid, product, "x", 0.0, qty))

    for i in range(10):                              # before: A 100 units, B 100 units
        sell("A", RISE - pd.Timedelta(days=85 - 8 * i))
        sell("B", RISE - pd.Timedelta(days=84 - 8 * i))
    for i in range(4):                               # after: A 40 units
        sell("A", RISE + pd.Timedelta(days=5 + 20 * i))
    for i in range(20):                              # after: B 200 units (the shop grows by 20 %)
        sell("B", RISE + pd.Timedelta(days=2 + 4 * i))
    sell("C", pd.Timestamp("2025-12-20"), 1)         # the period reaches beyond both windows
    sell("C", pd.Timestamp("2026-07-10"), 1)
    ol = pd.DataFrame(lines, columns=["order_id", "product_id", "category", "unit_price", "quantity"])
    ol = ol.astype({"order_id": "string", "product_id": "string", "category": "string"})
    return {"prices": prices, "order_lines": ol, "orders": orders(ords)}


def test_price_sensitivity_corrects_for_the_shops_trend():
    f = run("acquisition.price_sensitivity", _price_shop(), min_units=100)
    # A kept 40 / 100 of its units while the shop grew 240 / 200: 0.4 / 1.2
    assert f.value == pytest.approx(1 / 3)
    assert f.status == "fail"
    row = f.table.iloc[0]
    assert (row["product_id"], row["old_price"], row["new_price"], row["change"]) == ("A", 10.0, 12.0, 20.0)
    assert (row["units_before"], row["units_after"]) == (100, 40)
    assert row["trend"] == pytest.approx(1.2)
    assert row["demand_ratio"] == pytest.approx(1 / 3)
    assert len(f.table) == 1  # B never changed price
    # 0.7 × 100 × 1.2 = 84 units expected at a good ratio, 40 sold: 44 × the new price 12
    assert f.at_stake == pytest.approx(44 * 12)
    expected = math.log(40.5 / 100.5 / 1.2) / math.log(1.2)
    assert f.details["elasticity"] == pytest.approx(expected)
    assert list(f.chart.data["price_change_band"]) == ["rise 20–30 %"]


def test_price_sensitivity_passes_when_demand_follows_the_trend():
    shop = _price_shop()
    ol, od = shop["order_lines"], shop["orders"]
    after_a = ol["product_id"].eq("A") & ol["order_id"].isin(od.loc[od["order_time"] >= RISE, "order_id"])
    # A sells 200 units after: its 2.0 matches the shop's (200 + 200) / 200 (the trend counts A too)
    shop["order_lines"] = ol.assign(quantity=ol["quantity"].mask(after_a, 50))
    f = run("acquisition.price_sensitivity", shop, min_units=100)
    assert f.value == pytest.approx(1.0)
    assert f.status == "pass"
    assert f.at_stake == 0


def test_price_sensitivity_says_when_there_are_too_few_units():
    f = run("acquisition.price_sensitivity", _price_shop())
    assert f.status == "not_run"
    assert "needs at least 200 units sold in the 90 days before and after price rises" in f.reason
    assert "found 140 units around 1 rises" in f.reason


# ------------------------------------------------------------------ acquisition.time_to_first_purchase

def _decision_shop():
    d = lambda n: T0 + pd.Timedelta(days=n)  # noqa: E731
    cu = customers([("c1", T0, True), ("c2", T0, True), ("c3", T0, True), ("c4", T0, True), ("c5", T0, True),
                    ("c6", T0, False), ("c7", T0, True)])
    od = orders([("o1", "c1", d(10), 50), ("o2", "c2", d(40), 50), ("o3", "c3", d(60), 50), ("o4", "c4", d(30), 50),
                 ("o5", "c5", T0 + pd.Timedelta(hours=2), 50), ("o6", "c6", d(20), 50), ("o7", "c3", d(80), 50)])
    ms = messages([("c1", "welcome", d(5)),     # 5 days before the order: in step
                   ("c2", "welcome", d(1)),     # 39 days before: too early
                   ("c3", "welcome", d(50)),    # 10 days before: in step
                   ("c4", "newsletter", d(25)),  # not a welcome message
                   ("c7", "welcome", d(3))])
    # c1 visited a day before first_seen_at (the account was created later): the first visit counts
    ev = events([("s1", "c1", -24 * 60, "page_view", "home", "direct"), ("s2", None, 0, "page_view", "home", "direct")])
    return {"customers": cu, "orders": od, "messages": ms, "events": ev}


def test_time_to_first_purchase_measures_welcome_messages_before_late_first_orders():
    f = run("acquisition.time_to_first_purchase", _decision_shop(), min_customers=3)
    assert f.value == pytest.approx(0.5)  # c1 and c3 of c1–c4 (c5 bought the same day, c6 is not opted in)
    assert f.status == "warn"
    t = f.table.set_index("days_to_first_order")
    assert list(t.index) == ["same day", "1–6 days", "7–13 days", "14–29 days", "30–59 days", "60–89 days",
                             "90 days or more"]
    assert t["first_orders"].tolist() == [1, 0, 1, 1, 2, 1, 0]
    assert t["welcome_messages"].tolist() == [0, 3, 0, 0, 1, 0, 0]
    assert t.loc["30–59 days", "welcomed_rate"] == pytest.approx(0.0)
    assert t.loc["60–89 days", "welcomed_rate"] == pytest.approx(1.0)
    assert t["share_of_first_orders"].sum() == pytest.approx(1.0)
    assert f.details["share_deciding_late"] == pytest.approx(5 / 6)
    assert f.details["median_days_late_deciders"] == pytest.approx(30)  # 11, 20, 30, 40, 60
    assert f.at_stake is None


def test_time_to_first_purchase_needs_enough_late_deciders():
    f = run("acquisition.time_to_first_purchase", _decision_shop())
    assert f.status == "not_run"
    assert "needs at least 50 opted-in customers whose first order came 7 or more days after their first " \
           "visit; found 4" in f.reason


# ------------------------------------------------------------------ acquisition.lead_capture

def _lead_shop(offer_campaign="FLOW-welcome-offer"):
    rows = [(f"a{i}", None, 10 * i, "page_view", "home", "direct") for i in range(8)]   # 8 anonymous, nothing
    rows += [("s1", None, 100, "page_view", "home", "direct"), ("s1", "L1", 101, "sign_up", "home", "direct"),
             ("s2", None, 110, "page_view", "landing", "paid_search"),
             ("s2", "L2", 111, "sign_up", "landing", "paid_search"),
             ("b1", None, 120, "page_view", "product", "direct"), ("b1", None, 121, "purchase", "checkout", "direct"),
             ("k1", "K1", 130, "page_view", "home", "direct"), ("k1", "K1", 131, "sign_up", "home", "direct")]
    ms = messages([("L1", "welcome", T0 + pd.Timedelta(hours=3)), ("L2", "welcome", T0 + pd.Timedelta(hours=3))])
    ms["campaign_id"] = pd.Series([offer_campaign, "FLOW-welcome"], dtype="string")
    od = orders([("o1", "L1", T0 + pd.Timedelta(days=10), 50.0), ("o2", "K1", T0 + pd.Timedelta(days=100), 70.0)])
    return {"events": events(rows), "messages": ms, "orders": od}


def test_lead_capture_counts_sign_ups_of_unknown_visitors_who_do_not_buy():
    f = run("acquisition.lead_capture", _lead_shop(), min_sessions=5, min_group=1)
    assert f.value == pytest.approx(0.2)  # s1 and s2 of 10 anonymous visits without a purchase (b1 bought, k1 known)
    assert f.status == "pass"
    t = f.table.set_index("landing")
    assert t.loc["home", "visits"] == 9 and t.loc["home", "sign_ups"] == 1
    assert t.loc["landing", "sign_up_rate"] == pytest.approx(1.0)
    assert f.details["first_order_rate_with_incentive"] == pytest.approx(1.0)    # L1 ordered within 60 days
    assert f.details["first_order_rate_without_incentive"] == pytest.approx(0.0)  # L2 did not
    assert f.at_stake == 0
    assert "100% of sign-ups with an incentive placed a first order within 60 days, against 0% without" in f.summary


def test_lead_capture_fails_below_the_threshold_and_prices_the_missing_sign_ups():
    f = run("acquisition.lead_capture", _lead_shop(), min_sessions=5, min_group=1, good=0.5, poor=0.3)
    assert f.status == "fail"
    # (0.5 - 0.2) × 10 visits = 3 sign-ups × first-order rate with an incentive 1.0 × AOV (50 + 70) / 2
    assert f.at_stake == pytest.approx(3 * 1.0 * 60)


def test_lead_capture_says_when_no_incentive_is_offered():
    f = run("acquisition.lead_capture", _lead_shop(offer_campaign="FLOW-welcome"), min_sessions=5, min_group=1)
    assert f.details["incentive_offered"] is False
    assert f.details["first_order_rate_with_incentive"] is None
    assert "no welcome message offered an incentive for signing up" in f.summary


def test_lead_capture_needs_enough_anonymous_visits():
    f = run("acquisition.lead_capture", _lead_shop())
    assert f.status == "not_run"
    assert "needs at least 1,000 visits begun by unknown visitors (no customer_id on the first event) that end " \
           "without a purchase; found 10" in f.reason


def test_days_to_first_order_view():
    from lifecycle_audit.metrics.first_purchase import days_to_first_order

    t = days_to_first_order(Tables.from_frames(_decision_shop()))
    assert t["first_orders"].tolist() == [1, 0, 1, 1, 2, 1, 0]  # c1 counts from its first event, a day earlier
    assert t["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert t.loc[t["days_to_first_order"] == "14–29 days", "cumulative_share"].item() == pytest.approx(3 / 6)
