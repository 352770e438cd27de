"""The data-health page says what the data's span can carry: the warm-up, the customers it leaves out as
first-time buyers, and the purchases recorded twice that were counted once."""

from __future__ import annotations

import pandas as pd

from lifecycle_audit import health, paths, sources
from lifecycle_audit.engine import Tables
from lifecycle_audit.metrics import cohorts
from lifecycle_audit.sources import doubles
from tests.kit import T0, customers, events, orders, tables
from tests.kit.sources import make_params, write


def test_the_warm_up_and_the_customers_it_leaves_out():
    # 4 customers first order in the first 30 days (2 of them signed up inside the data before it), 3 later
    od = orders([dict(customer_id=f"c{i}", days=d) for i, d in enumerate([0, 5, 10, 20, 40, 50, 60])])
    cu = customers(
        [dict(customer_id=f"c{i}", days=d - 1) for i, d in enumerate([0, 5, 10, 20, 40, 50, 60]) if i in (1, 2)]
    )
    t = tables(orders=od, customers=cu)
    w = health.warmup(t).iloc[0]
    assert w["data_starts"] == w["first_order"] == T0.normalize() and w["warmup_days"] == 30
    assert w["warmup_ends"] == T0.normalize() + pd.Timedelta(days=30)
    ftb = health.first_time_buyers(t).set_index("customers_counted_as")
    assert ftb.loc["first-time buyers", "customers"] == 5  # c1, c2 (signed up first) and c4..c6
    assert ftb.loc[cohorts.FIRST_ORDER_IN_WARMUP, "customers"] == 2  # c0, c3
    assert ftb["share"].sum() == 1


def test_without_orders_there_is_nothing_to_count():
    assert health.first_time_buyers(tables(customers=customers([dict(customer_id="c1")]))).empty
    assert health.warmup(tables(customers=customers([dict(customer_id="c1")]))).empty


def test_purchases_recorded_twice_are_listed(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")  # keep prepare's cache out of the project tree
    write(
        tmp_path,
        "orders.csv",
        "order_id,customer_id,order_time,revenue\nO1,C1,2025-01-05 10:00:00,20\nO1,C1,2025-01-05 10:00:00,20\n",
    )
    prepared = sources.prepare(make_params(tmp_path, {"orders": {"file": "orders.csv"}}))
    d = health.doubled(prepared)
    assert d[["reason", "rows", "example_rows"]].values.tolist() == [[doubles.REPEATED_ORDER, 1, "2"]]
    write(tmp_path, "orders.csv", "order_id,customer_id,order_time,revenue\nO1,C1,2025-01-05 10:00:00,20\n")
    assert health.doubled(sources.prepare(make_params(tmp_path, {"orders": {"file": "orders.csv"}}))).empty


def test_the_data_starts_with_the_first_event_when_visits_come_before_orders():
    # visits from T0, the first order 5 days later: a sign-up on day 2 is inside the data, one on day -3 is not
    ev = events([dict(session_id="s0", days=0, event_type="page_view")])
    od = orders([dict(customer_id="c1", days=40), dict(customer_id="c2", days=45), dict(customer_id="c3", days=5)])
    cu = customers([dict(customer_id="c1", days=2), dict(customer_id="c2", days=-3), dict(customer_id="c3", days=4)])
    t = tables(orders=od, customers=cu, events=ev)
    w = health.warmup(t).iloc[0]
    assert w["data_starts"] == T0.normalize() and w["first_order"] == T0.normalize() + pd.Timedelta(days=5)
    assert w["warmup_ends"] == T0.normalize() + pd.Timedelta(days=35)
    f = cohorts.first_purchases(t).to_pandas().set_index("customer_id")["censored"]
    assert pd.isna(f["c1"]) and pd.isna(f["c3"])  # c3 ordered in the warm-up but signed up inside the data first
    assert f["c2"] == cohorts.SIGNED_UP_BEFORE


def test_no_warm_up_takes_every_first_order_in_the_data_as_a_first_purchase():
    od = orders([dict(customer_id=f"c{i}", days=d) for i, d in enumerate([0, 5, 40])])
    with_warmup = health.first_time_buyers(tables(orders=od)).set_index("customers_counted_as")["customers"]
    assert with_warmup["first-time buyers"] == 1 and with_warmup[cohorts.FIRST_ORDER_IN_WARMUP] == 2
    none = health.first_time_buyers(Tables.from_frames({"orders": od}, warmup_days=0))
    assert none.set_index("customers_counted_as")["customers"].to_dict()["first-time buyers"] == 3
