"""Carts: every session with an add-to-cart, whether it was bought in the visit, later, or never."""

from __future__ import annotations

import ibis

from ..engine import Tables


def _purchases(tables: Tables):
    """(visitor, purchased_at) from purchase events, plus orders of known customers when supplied."""
    ev = tables["events"]
    p = ev.filter(ev.event_type == "purchase").select(
        visitor=ibis.coalesce(ev.customer_id, ev.anonymous_id, ev.session_id), purchased_at=ev.event_time
    )
    if tables.has("orders"):
        o = tables["orders"]
        o = o.filter(o.customer_id.notnull()).select(visitor=o.customer_id, purchased_at=o.order_time)
        p = p.union(o, distinct=True)
    return p


def _carts(tables: Tables, window_days: int):
    ev = tables["events"]
    ev = ev.mutate(visitor=ibis.coalesce(ev.customer_id, ev.anonymous_id, ev.session_id))
    per = ev.group_by(ev.session_id).aggregate(
        visitor=ev.visitor.max(),
        customer_id=ev.customer_id.max(),
        device=ev.device.max(),
        cart_at=ev.event_time.min(where=ev.event_type == "add_to_cart"),
        checkout_at=ev.event_time.min(where=ev.event_type == "begin_checkout"),
        session_end=ev.event_time.max(),
        bought_in_session=(ev.event_type == "purchase").any(),
        items=(ev.event_type == "add_to_cart").sum(),
    )
    carts = per.filter(per.cart_at.notnull())
    p = _purchases(tables)
    j = carts.join(
        p,
        [
            carts.visitor == p.visitor,
            p.purchased_at >= carts.cart_at,
            p.purchased_at <= carts.cart_at + ibis.interval(days=window_days),
        ],
        how="left",
    )
    bought = j.group_by(j.session_id).aggregate(bought_at=j.purchased_at.min())
    c = carts.left_join(bought, "session_id").drop("session_id_right")
    return c.mutate(
        device=c.device.fill_null("other"),
        reached_checkout=c.checkout_at.notnull(),
        abandoned=c.bought_at.isnull(),
        # Left at the end of the visit: the candidates for a reminder.
        left=~c.bought_in_session,
    ).cache()


def carts(tables: Tables, window_days: int = 7):
    """One row per cart (a session with an add-to-cart): visitor, device, cart time, checkout reached,
    bought in the visit, bought within `window_days` (abandoned = not)."""
    return tables.derived(f"carts:{window_days}", lambda t: _carts(t, window_days))
