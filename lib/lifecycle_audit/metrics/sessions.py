"""Sessions from events: where each visit landed, through which channel and device, and how far it went."""

from __future__ import annotations

import ibis
import pandas as pd

from ..engine import Tables


def session_rows(tables: Tables):
    """The sessions as an expression over the events, not yet computed (metrics.stored writes it to Parquet)."""
    ev = tables["events"]
    w = ibis.window(group_by=ev.session_id, order_by=[ev.event_time])
    ranked = ev.mutate(_rn=ibis.row_number().over(w), _next=ev.event_time.lead().over(w))
    first = ranked.filter(ranked._rn == 0).select(
        session_id=ranked.session_id,
        landing=ranked.page_type.fill_null("other"),
        channel=ranked.channel.fill_null("unknown"),
        device=ranked.device.fill_null("other"),
        started_at=ranked.event_time,
        seconds_to_next=ranked._next.epoch_seconds() - ranked.event_time.epoch_seconds(),
    )
    per = ev.group_by(ev.session_id).aggregate(
        customer_id=ev.customer_id.max(),
        visitor=ibis.coalesce(ev.customer_id.max(), ev.anonymous_id.max(), ev.session_id.max()),
        events=ev.count(),
        ended_at=ev.event_time.max(),
        product_views=(ev.event_type == "product_view").sum(),
        carts=(ev.event_type == "add_to_cart").sum(),
        checkouts=(ev.event_type == "begin_checkout").sum(),
        purchases=(ev.event_type == "purchase").sum(),
        sign_ups=(ev.event_type == "sign_up").sum(),
    )
    s = first.join(per, "session_id")
    # A bounce: the visit ends with the page it landed on (one event, nothing after it).
    return s.mutate(bounced=s.events == 1)


def _sessions(tables: Tables):
    return session_rows(tables).cache()


def sessions(tables: Tables):
    """One row per session: landing page type, channel, device, start, event counts, bounced, seconds to the next step."""
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
