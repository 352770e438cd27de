"""Carts: the as-of join that finds each cart's next purchase gives the range join's answer."""

from __future__ import annotations

import pandas as pd

from lifecycle_audit.metrics import carts
from tests.kit import events, orders, tables

CART = dict(event_type="add_to_cart", page_type="product")
BUY = dict(event_type="purchase", page_type="checkout")


def overlapping_shop():
    """Carts of one visitor that overlap each other and several purchases and orders, with edge cases around the
    7-day window; the expected `bought_at` (in days after T0, None: abandoned) per cart session."""
    ev = events(
        [
            # c1: three carts, then purchases at day 2 (event) and day 4 (order): each cart meets its next one
            dict(CART, session_id="a1", customer_id="c1", days=0),
            dict(CART, session_id="a2", customer_id="c1", days=1),
            dict(BUY, session_id="a3", customer_id="c1", days=2),
            dict(CART, session_id="a4", customer_id="c1", days=3),  # next purchase: the order on day 4
            dict(CART, session_id="a5", customer_id="c1", days=5),  # nothing after: abandoned
            # c2: bought in the cart's own visit at the cart's very time, and a purchase before a later cart
            dict(CART, session_id="b1", customer_id="c2", days=0),
            dict(BUY, session_id="b1", customer_id="c2", days=0),
            dict(CART, session_id="b2", customer_id="c2", days=1),  # the day-0 purchase is before it: abandoned
            # c3: the next purchase exactly at the window's end counts; one just after it does not
            dict(CART, session_id="c1", customer_id="c3", days=0),
            dict(BUY, session_id="c2", customer_id="c3", days=7),
            dict(CART, session_id="e1", customer_id="c4", days=0),
            dict(BUY, session_id="e2", customer_id="c4", days=7, minutes=1),
            # an anonymous visitor's cart, and another visitor's purchase that is not theirs
            dict(CART, session_id="d1", anonymous_id="v1", days=0),
            dict(BUY, session_id="d2", anonymous_id="v2", days=1),
        ],
        channel="direct",
        device="mobile",
    )
    o = orders(customer_id=["c1", "c3"], days=[4, 20], revenue=50.0)
    expected = {"a1": 2, "a2": 2, "a4": 4, "a5": None, "b1": 0, "b2": None, "c1": 7, "d1": None, "e1": None}
    return tables(events=ev, orders=o), expected


def bought(fn, t) -> pd.DataFrame:
    per = carts._per_session(t)
    return fn(per, carts._purchases(t), 7).to_pandas().set_index("session_id").sort_index()


def test_asof_finds_the_same_purchases_as_the_range_join_on_overlapping_carts_and_orders():
    t, expected = overlapping_shop()
    asof, ranged = bought(carts.bought_by_asof, t), bought(carts.bought_by_range, t)
    pd.testing.assert_frame_equal(asof, ranged)
    t0 = events([dict(minutes=0)])["event_time"].iloc[0]
    days = {s: None if pd.isna(v) else (v - t0) / pd.Timedelta(days=1) for s, v in asof["bought_at"].items()}
    assert days == expected


def test_carts_marks_abandoned_the_carts_without_a_purchase_in_the_window():
    t, expected = overlapping_shop()
    c = carts.carts(t, 7).to_pandas().set_index("session_id").sort_index()
    assert dict(c["abandoned"]) == {s: v is None for s, v in expected.items()}
    assert t.con.name in carts.ASOF_BACKENDS  # the test's tables are DuckDB's: carts() took the as-of join
