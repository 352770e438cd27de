"""Time to the first purchase: each customer's first visit and first order, in days, and their distribution."""

from __future__ import annotations

import ibis
import pandas as pd

from ..engine import Tables
from . import cohorts, presence
from .sessions import sessions

# Days from the first visit to the first order, in the order the report shows them.
DECISION_BANDS = (
    (0, 1, "same day"),
    (1, 7, "1–6 days"),
    (7, 14, "7–13 days"),
    (14, 30, "14–29 days"),
    (30, 60, "30–59 days"),
    (60, 90, "60–89 days"),
    (90, None, "90 days or more"),
)


def decision_band(days_col):
    """The DECISION_BANDS label of a column of days."""
    out = None
    for lo, hi, label in reversed(DECISION_BANDS):
        cond = days_col >= lo if hi is None else (days_col >= lo) & (days_col < hi)
        out = ibis.cases((cond, label), else_=out)
    return out


def first_visits(tables: Tables):
    """customer_id, opted (e-mail opt-in), first_visit: the earlier of first_seen_at and the customer's first event
    (a shop may record first_seen_at when the account is created, after visits the events already tie to it).
    Computed once per audit (one row per customer; the time to the first purchase reads it four times)."""
    return tables.derived("first_visit_times", lambda t: _first_visits(t).cache())


def _first_visits(tables: Tables):
    cu = tables["customers"]
    # Opt-in absent or empty on every row: unknown, so every customer counts as reachable (as elsewhere).
    known = presence.has_values(tables, "customers", "email_opt_in")
    fv = cu.select(
        "customer_id", "first_seen_at", opted=cu.email_opt_in.fill_null(False) if known else ibis.literal(True)
    )
    if tables.has("events"):
        # The customer's first event, from the visits' first events with the customer id (the stored sessions,
        # a fraction of the events' rows).
        s = sessions(tables)
        fe = s.filter(s.known_at.notnull()).group_by("customer_id").aggregate(first_event=s.known_at.min())
        fv = fv.left_join(fe, "customer_id")
        first = ibis.least(fv.first_seen_at.coalesce(fv.first_event), fv.first_event.coalesce(fv.first_seen_at))
    else:
        first = fv.first_seen_at
    fv = fv.select("customer_id", "opted", first_visit=first)
    return fv.filter(fv.first_visit.notnull())


def first_orders(tables: Tables):
    """First-time buyers (cohorts.first_time_buyers): first_visit, first_order and `days` between them (never
    below 0)."""
    f = cohorts.first_time_buyers(tables)  # the first purchases the data can carry, shared with the retention checks
    c = first_visits(tables).join(f.select("customer_id", first_order=f.first_at), "customer_id")
    return c.mutate(days=((c.first_order.epoch_seconds() - c.first_visit.epoch_seconds()) / 86400).clip(lower=0))


def days_to_first_order(tables: Tables) -> pd.DataFrame:
    """First orders by days since the first visit: count, share, and the share ordered by the end of each band."""
    c = first_orders(tables)
    by = c.group_by(days_to_first_order=decision_band(c.days)).aggregate(first_orders=c.count()).to_pandas()
    out = pd.DataFrame({"days_to_first_order": [b[2] for b in DECISION_BANDS]})
    out = out.merge(by, on="days_to_first_order", how="left").fillna({"first_orders": 0})
    out["first_orders"] = out["first_orders"].astype(int)
    total = max(int(out["first_orders"].sum()), 1)
    out["share_of_first_orders"] = out["first_orders"] / total
    out["cumulative_share"] = out["first_orders"].cumsum() / total
    return out
