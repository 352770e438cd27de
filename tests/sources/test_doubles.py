"""Doubled purchases are set aside by a rule, counted once and named in the accounting (sources.doubles)."""

from __future__ import annotations

import pandas as pd

from lifecycle_audit import sources
from lifecycle_audit.sources import doubles
from tests.kit.sources import make_params, write
from tests.sources.presets.test_presets import run as run_preset

EVENTS = """session_id,customer_id,anonymous_id,event_time,event_type,page_type,channel,device,product_id
S1,C1,a1,2025-01-05 10:00:00,product_view,product,direct,mobile,P1
S1,C1,a1,2025-01-05 10:01:00,purchase,checkout,direct,mobile,P1
S1,C1,a1,2025-01-05 10:01:20,purchase,checkout,direct,mobile,P1
S1,C1,a1,2025-01-05 10:01:20,purchase,checkout,direct,mobile,P2
S2,,a2,2025-01-05 11:00:00,purchase,checkout,direct,mobile,P1
S2,,a2,2025-01-05 11:00:30,purchase,checkout,direct,mobile,P1
S2,,a2,2025-01-05 11:00:50,purchase,checkout,direct,mobile,P1
S3,C1,a1,2025-01-06 10:01:00,purchase,checkout,direct,mobile,P1
S4,C3,a3,2025-01-06 12:00:00,purchase,checkout,direct,mobile,P1
S4,C3,a3,2025-01-06 12:05:00,purchase,checkout,direct,mobile,P1
"""


def test_purchase_events_fired_twice_are_excluded_by_rule_and_counted_once(tmp_path):
    # doubled: C1's second P1 purchase 20 s after the first; a2's P1 at +30 s and +50 s (a chain). Kept: C1's P2 at
    # the same second (another product), C1's P1 a day later, C3's P1 after five minutes, the product view.
    write(tmp_path, "events.csv", EVENTS)
    p = make_params(tmp_path, {"events": {"file": "events.csv"}})
    df, load = sources.load_table(p, "events")
    assert load.rows_in == 10 and load.rows_used == 7 == len(df)
    assert load.excluded == {doubles.DOUBLED_EVENT: 3} and load.rejected == {}
    prepared = sources.prepare(p)
    (i,) = prepared.inputs
    assert i.balanced and (i.rows_in, i.rows_used, i.rows_excluded, i.rows_rejected) == (10, 7, 3, 0)
    (reason,) = [r for r in i.reasons if r["reason"] == doubles.DOUBLED_EVENT]
    assert reason["category"] == "excluded" and reason["rows"] == 3 and reason["examples"] == [3, 6, 7]
    assert "60 seconds" in reason["description"]
    kept = df[df["event_type"] == "purchase"]
    assert len(kept) == 6 and kept.groupby("anonymous_id").size().to_dict() == {"a1": 3, "a2": 1, "a3": 2}


ORDERS = """order_id,customer_id,order_time,revenue
O1,C1,2025-01-05 10:00:00,20.0
O1,C1,2025-01-05 10:00:00,20.0
O2,C2,2025-01-05 11:00:00,30.0
O2,C9,2025-01-05 11:00:00,99.0
O3,C1,2025-01-06 10:00:00,20.0
O1,C1,2025-01-07 10:00:00,20.0
"""


def test_an_order_recorded_twice_is_excluded_a_conflicting_order_id_is_rejected(tmp_path):
    write(tmp_path, "orders.csv", ORDERS)
    p = make_params(tmp_path, {"orders": {"file": "orders.csv"}}, max_rejected_share=0.5)
    df, load = sources.load_table(p, "orders")
    assert load.excluded == {doubles.REPEATED_ORDER: 2}  # O1 twice more, with its customer and amount
    assert load.rejected == {"duplicate_key": 1}  # O2 again with another customer and amount: bad data
    assert df["order_id"].tolist() == ["O1", "O2", "O3"]
    (i,) = sources.prepare(p).inputs
    assert i.balanced and (i.rows_used, i.rows_excluded, i.rows_rejected) == (3, 2, 1)


def test_healthy_events_and_orders_lose_nothing(tmp_path):
    healthy = "\n".join(line for k, line in enumerate(EVENTS.splitlines()) if k not in (3, 6, 7)) + "\n"
    write(tmp_path, "events.csv", healthy)
    write(tmp_path, "orders.csv", "order_id,customer_id,order_time,revenue\nO1,C1,2025-01-05 10:00:00,20.0\n")
    p = make_params(tmp_path, {"events": {"file": "events.csv"}, "orders": {"file": "orders.csv"}})
    for i in sources.prepare(p).inputs:
        assert i.balanced and i.rows_excluded == 0 and i.rows_rejected == 0 and i.rows_used == i.rows_in


GA4_HEAD = (
    "event_date,event_timestamp,event_name,user_pseudo_id,user_id,ga_session_id,traffic_source_source,"
    "traffic_source_medium,device_category,page_location,item_id,item_category\n"
)


def ga4_purchase(seconds: int, user: str, item: str) -> str:
    micros = (pd.Timestamp("2024-01-05 10:00:00") - pd.Timestamp(0)) // pd.Timedelta(microseconds=1) + seconds * 10**6
    return f"20240105,{micros},purchase,{user},,1704448800,(direct),(none),mobile,https://shop.example/thanks,{item},Mugs\n"


def test_ga4_purchase_fired_twice_is_excluded_by_the_preset(tmp_path):
    rows = [ga4_purchase(0, "u1", "SKU1"), ga4_purchase(5, "u1", "SKU1"), ga4_purchase(5, "u1", "SKU2")]
    rows += [ga4_purchase(0, "u2", "SKU1"), ga4_purchase(86400, "u2", "SKU1")]
    prepared, t = run_preset(
        tmp_path, {"ga4.csv": GA4_HEAD + "".join(rows)}, {"preset": "ga4_events", "file": "ga4.csv"}
    )
    (i,) = prepared.inputs
    assert i.balanced and i.excluded == {doubles.DOUBLED_PURCHASE: 1} and i.rows_used == 4
    (reason,) = [r for r in i.reasons if r["reason"] == doubles.DOUBLED_PURCHASE]
    assert reason["examples"] == [2]
    assert len(t["events"]) == 4


def test_a_repeat_in_the_second_of_two_monthly_files_is_named_with_its_own_row(tmp_path):
    (tmp_path / "orders").mkdir()
    head = "order_id,customer_id,order_time,revenue\n"
    write(tmp_path / "orders", "jan.csv", head + "O1,C1,2025-01-05 10:00:00,20\nO2,C2,2025-01-06 10:00:00,30\n")
    write(tmp_path / "orders", "feb.csv", head + "O3,C1,2025-02-05 10:00:00,20\nO2,C2,2025-01-06 10:00:00,30\n")
    jan, feb = sources.prepare(make_params(tmp_path, {"orders": {"file": "orders"}})).inputs
    assert jan.balanced and feb.balanced and jan.rows_excluded == 0
    assert feb.excluded == {doubles.REPEATED_ORDER: 1} and feb.rows_used == 1
    (reason,) = [r for r in feb.reasons if r["reason"] == doubles.REPEATED_ORDER]
    assert reason["examples"] == [2] and reason["values"] == ["O2"]
