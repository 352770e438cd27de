"""Sessions from events: where each visit landed, through which channel and device, and how far it went."""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from ..engine import Tables

# Backends whose own aggregates give the landing row and the next event's time in the one group-by over the events
# (DuckDB's min over a struct and min_by with a count); elsewhere (Spark) a window ranks the events of each session.
AGGREGATE_BACKENDS = frozenset({"duckdb"})
# The landing row is the session's first event. Events at the same first moment (an export stamps a visit's
# first hits alike) are told apart by their page type, channel and device, a recorded value before an unrecorded
# one: the landing page, channel and device then come from one row, whatever order the engine meets the rows in.
# An unrecorded value sorts as LAST, after every text (byte order, as DuckDB and Spark both compare strings).
LAST = "\U0010ffff"
_FIRST = dt.Struct({"t": dt.timestamp, "page": dt.string, "channel": dt.string, "device": dt.string})


@ibis.udf.agg.builtin(name="min")
def first_row(arg: _FIRST) -> _FIRST:
    """The smallest struct, field by field (DuckDB and Spark alike): the first event's time and its tie-broken values."""


@ibis.udf.agg.builtin(name="min_by")
def earliest(arg: dt.timestamp, val: dt.timestamp, n: dt.int64) -> dt.Array(dt.timestamp):
    """DuckDB: the `n` values of `arg` on the rows of the smallest `val`, smallest first."""


def _keys(ev) -> dict:
    """The landing row's order after its time: page type, channel, device, unrecorded last."""
    return {c: ev[c].fill_null(LAST) for c in ("page_type", "channel", "device")}


def _recorded(value, default: str):
    return value.nullif(LAST).fill_null(default)


def _counts(ev, session=None) -> dict:
    """Per session: customer, visitor, events, end, the events of each funnel type (counted, not summed: a
    count is a 64-bit integer where DuckDB sums a boolean into a 128-bit one), the first add-to-cart and first
    checkout (the carts read them here rather than group the events again) and the first event that carries the
    customer id (a visit may begin before the visitor signs in: the customer's first visit starts there).
    `session`: the session id as the visitor of last resort (by default its maximum, the group's key)."""
    return dict(
        customer_id=ev.customer_id.max(),
        visitor=ibis.coalesce(
            ev.customer_id.max(), ev.anonymous_id.max(), ev.session_id.max() if session is None else session
        ),
        events=ev.count(),
        ended_at=ev.event_time.max(),
        product_views=ev.count(where=ev.event_type == "product_view"),
        carts=ev.count(where=ev.event_type == "add_to_cart"),
        checkouts=ev.count(where=ev.event_type == "begin_checkout"),
        purchases=ev.count(where=ev.event_type == "purchase"),
        sign_ups=ev.count(where=ev.event_type == "sign_up"),
        cart_at=ev.event_time.min(where=ev.event_type == "add_to_cart"),
        checkout_at=ev.event_time.min(where=ev.event_type == "begin_checkout"),
        known_at=ev.event_time.min(where=ev.customer_id.notnull()),
    )


def _landing(ev):
    """The values the landing row is chosen by: the smallest of these (field by field) is the first event's."""
    keys = _keys(ev)
    return ibis.struct(
        {"t": ev.event_time, "page": keys["page_type"], "channel": keys["channel"], "device": keys["device"]}
    )


def _landed(first) -> dict:
    """The landing values and start from the smallest struct of `_landing` (unrecorded values named)."""
    return dict(
        landing=_recorded(first["page"], "other"),
        channel=_recorded(first["channel"], "unknown"),
        device=_recorded(first["device"], "other"),
        started_at=first["t"],
    )


def _by_aggregate(ev):
    """The sessions in one group-by: the landing row as the smallest (time, page type, channel, device), the next
    event's time as the second of the two earliest event times (equal to the first when two events share it)."""
    t = ev.event_time
    first = first_row(_landing(ev))
    per = ev.group_by(ev.session_id).aggregate(_first=first, _next=earliest(t, t, 2)[1], **_counts(ev))
    per = per.mutate(**_landed(per._first))
    per = per.mutate(seconds_to_next=per._next.epoch_seconds() - per.started_at.epoch_seconds())
    return per.select("session_id", "landing", "channel", "device", "started_at", "seconds_to_next", *_counts(ev))


def _by_window(ev):
    """The sessions on any backend, in one window over each session's events ordered by time: the first row gives
    the start and the next event's time (the second row's time, the first's again when two share it), the smallest
    (page type, channel, device) among the rows at the first moment gives the landing values, and the counts run
    over all the session's rows. Every value is the same whichever of the rows at the first moment comes first.

    On Spark this is one shuffle, one sort by session and time and no join: counting in a separate group-by (a
    sort-based one, the maxima being texts) joined to the ranked rows took a third more CPU at 300,000 customers
    (benchmarks/RESULTS.md)."""
    t = ev.event_time
    by_time = ibis.window(group_by=ev.session_id, order_by=t)
    # the rows at the session's first moment: every row up to the current one and the current one's peers
    at_first = ibis.window(group_by=ev.session_id, order_by=t, range=(None, 0))
    whole = ibis.window(group_by=ev.session_id, order_by=t, rows=(None, None))
    ranked = ev.mutate(
        _rn=ibis.row_number().over(by_time),
        _next=t.lead().over(by_time),
        _first=first_row(_landing(ev)).over(at_first),
        **{name: value.over(whole) for name, value in _counts(ev, session=ev.session_id).items()},
    )
    first = ranked.filter(ranked._rn == 0)
    first = first.mutate(
        **_landed(first._first),
        seconds_to_next=first._next.epoch_seconds() - first._first["t"].epoch_seconds(),
    )
    return first.select("session_id", "landing", "channel", "device", "started_at", "seconds_to_next", *_counts(ev))


def session_rows(tables: Tables, by_window: bool | None = None):
    """The sessions as an expression over the events, not yet computed (metrics.stored writes it to Parquet).
    `by_window`: rank the events by a window (any backend) rather than aggregate them (DuckDB); by default the
    backend decides."""
    ev = tables["events"]
    if by_window is None:
        by_window = tables.con.name not in AGGREGATE_BACKENDS
    s = _by_window(ev) if by_window else _by_aggregate(ev)
    # A bounce: the visit ends with the page it landed on (one event, nothing after it).
    return s.mutate(bounced=s.events == 1)


def _sessions(tables: Tables):
    return session_rows(tables).cache()


def sessions(tables: Tables):
    """One row per session: landing page type, channel, device, start, event counts, bounced, seconds to the next
    step, first add-to-cart, first checkout and first event with the customer id."""
    return tables.derived("sessions", _sessions)


def _bounce_by(tables: Tables, column: str) -> pd.DataFrame:
    s = sessions(tables)
    out = s.group_by(column).agg(sessions=s.count(), bounce_rate=s.bounced.mean()).to_pandas()
    out["sessions"] = out["sessions"].astype("int64")
    return out.sort_values(["sessions", column], ascending=[False, True]).reset_index(drop=True)


def by_channel(tables: Tables) -> pd.DataFrame:
    """Per channel that brought the sessions ("unknown" when not recorded): sessions and the share that bounced,
    the largest channel first."""
    return _bounce_by(tables, "channel")


def by_landing(tables: Tables) -> pd.DataFrame:
    """Per landing page type ("other" when not recorded): sessions and the share that bounced, the most visited
    first."""
    return _bounce_by(tables, "landing")
