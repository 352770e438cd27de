"""Carts: every session with an add-to-cart, whether it was bought in the visit, later, or never."""

from __future__ import annotations

import ibis

from ..engine import Tables
from .sessions import sessions

# Backends whose as-of join finds a cart's next purchase (Spark SQL has none: it pairs purchases in a range join).
ASOF_BACKENDS = frozenset({"duckdb"})


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


def _per_session(tables: Tables):
    """Sessions with an add-to-cart: visitor, customer, device, cart and checkout times, bought in the visit.

    Read from the sessions (stored when the data is prepared), never by grouping the events again: a cart's
    visitor and device are its visit's (the customer id before an anonymous id, the landing row's device), the
    same that the checkout funnel and the landing checks count."""
    s = sessions(tables)
    s = s.filter(s.carts > 0)
    return s.select(
        "session_id",
        "visitor",
        "customer_id",
        "device",
        "cart_at",
        "checkout_at",
        session_end=s.ended_at,
        bought_in_session=s.purchases > 0,
        items=s.carts,
    )


def bought_by_range(carts, purchases, window_days: int):
    """The carts with `bought_at`: the visitor's first purchase from the cart's time to `window_days` after it (null
    when none). A range join: every purchase of the visitor inside the window is paired with the cart, then the
    earliest kept and joined back; it runs everywhere (Spark has no as-of join) but pairs many rows on a busy
    visitor."""
    p = purchases
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
    return carts.left_join(bought, "session_id").drop("session_id_right")


def bought_by_asof(carts, purchases, window_days: int):
    """As bought_by_range, by an as-of join: each cart meets only the visitor's next purchase at or after its time,
    kept when it falls inside the window. One row per cart in one pass, never a pairing of every cart with every
    purchase, nor a second pass over the carts to join the result back."""
    p = purchases.rename(purchase_visitor="visitor")
    j = carts.asof_join(p, carts.cart_at <= p.purchased_at, predicates=[carts.visitor == p.purchase_visitor])
    inside = j.purchased_at <= j.cart_at + ibis.interval(days=window_days)
    return j.select(*carts.columns, bought_at=ibis.ifelse(inside, j.purchased_at, ibis.null("timestamp")))


def _with_bought(tables: Tables, carts, window_days: int):
    """bought_by_asof where the backend has as-of joins (DuckDB), else bought_by_range: the same answer."""
    purchases = _purchases(tables)
    if tables.con.name in ASOF_BACKENDS:
        return bought_by_asof(carts, purchases, window_days)
    return bought_by_range(carts, purchases, window_days)


def _carts(tables: Tables, window_days: int):
    c = _with_bought(tables, _per_session(tables), window_days)
    return c.mutate(
        reached_checkout=c.checkout_at.notnull(),
        abandoned=c.bought_at.isnull(),
        # Left at the end of the visit: the candidates for a reminder.
        left=~c.bought_in_session,
    ).cache()


def carts(tables: Tables, window_days: int = 7):
    """One row per cart (a session with an add-to-cart): visitor, device, cart time, checkout reached,
    bought in the visit, bought within `window_days` (abandoned = not)."""
    return tables.derived(f"carts:{window_days}", lambda t: _carts(t, window_days))
