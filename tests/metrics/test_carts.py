"""Carts: the as-of join that finds each cart's next purchase gives the range join's answer."""

from __future__ import annotations

import ibis
import pandas as pd

from lifecycle_audit.engine import Tables
from lifecycle_audit.metrics import carts
from tests.kit import events, orders, shop, tables

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


def _per_session_from_events(t):
    """The carts' visits as they were grouped from the events before the sessions carried the cart and checkout
    times: the reference the carts read from the sessions must reproduce."""
    ev = t["events"]
    ev = ev.mutate(visitor=ibis.coalesce(ev.customer_id, ev.anonymous_id, ev.session_id))
    per = ev.group_by(ev.session_id).aggregate(
        visitor=ev.visitor.max(),
        customer_id=ev.customer_id.max(),
        device=ev.device.max().fill_null("other"),
        cart_at=ev.event_time.min(where=ev.event_type == "add_to_cart"),
        checkout_at=ev.event_time.min(where=ev.event_type == "begin_checkout"),
        session_end=ev.event_time.max(),
        bought_in_session=(ev.event_type == "purchase").any(),
        items=ev.count(where=ev.event_type == "add_to_cart"),
    )
    return per.filter(per.cart_at.notnull())


def _frame(expr) -> pd.DataFrame:
    return expr.to_pandas().sort_values("session_id").reset_index(drop=True)


def test_carts_read_from_the_sessions_equal_the_carts_grouped_from_the_events_on_a_generated_shop():
    frames = shop(customers=600, seed=5)
    ev = frames["events"]
    extra = events(
        [
            # two carts and two checkouts at one moment, a purchase at that moment too: first times and counts
            dict(CART, session_id="t1", customer_id=None, anonymous_id="x1", minutes=0),
            dict(CART, session_id="t1", anonymous_id="x1", minutes=0),
            dict(session_id="t1", anonymous_id="x1", event_type="begin_checkout", page_type="checkout", minutes=0),
            dict(session_id="t1", anonymous_id="x1", event_type="begin_checkout", page_type="checkout", minutes=0),
            dict(BUY, session_id="t1", anonymous_id="x1", minutes=0),
            # no device recorded on any event: "other"; no ids at all: the visit is its own visitor
            dict(CART, session_id="t2", device=None, minutes=3),
            dict(session_id="t2", device=None, event_type="page_view", minutes=1),
            # a visit without a cart is no cart
            dict(session_id="t3", customer_id=ev["customer_id"].dropna().iloc[0], event_type="page_view"),
        ],
        channel="direct",
        device="desktop",
    )
    frames["events"] = pd.concat([ev, extra], ignore_index=True)
    t = Tables.from_frames(frames)
    new, old = _frame(carts._per_session(t)), _frame(_per_session_from_events(t))
    assert len(new) > 100 and {"t1", "t2"} <= set(new["session_id"]) and "t3" not in set(new["session_id"])
    pd.testing.assert_frame_equal(new, old, check_dtype=False)
    t2 = new.set_index("session_id").loc["t2"]
    assert (t2["visitor"], t2["device"], t2["items"]) == ("t2", "other", 1)


def test_a_carts_visitor_and_device_are_its_visits():
    """Where a visit's events disagree, the cart takes the visit's visitor and device as the sessions give them
    (grouping the events took the greatest of each, an accident of spelling): the customer id before an anonymous
    id, so the customer's order counts as the cart bought; the landing row's device, as the checkout funnel
    counts the visit."""
    ev = events(
        [
            # lands anonymous on a phone; signs in on the cart, whose event records another device
            dict(session_id="m1", anonymous_id="z9", device="mobile", event_type="page_view", minutes=0),
            dict(CART, session_id="m1", customer_id="a0", anonymous_id="z9", device="tablet", minutes=2),
            # the landing event records no device, the cart's does
            dict(session_id="m2", anonymous_id="y1", device=None, event_type="page_view", minutes=0),
            dict(CART, session_id="m2", anonymous_id="y1", device="desktop", minutes=1),
        ],
        channel="direct",
    )
    t = tables(events=ev, orders=orders(customer_id=["a0"], days=[1], revenue=50.0))
    c = carts.carts(t, 7).to_pandas().set_index("session_id")
    assert dict(c["visitor"]) == {"m1": "a0", "m2": "y1"}
    assert dict(c["device"]) == {"m1": "mobile", "m2": "other"}
    assert dict(c["abandoned"]) == {"m1": False, "m2": True}
    old = _frame(_per_session_from_events(t)).set_index("session_id")
    assert (old.loc["m1", "visitor"], old.loc["m1", "device"], old.loc["m2", "device"]) == ("z9", "tablet", "desktop")
