"""Channel measures shared by the reach checks and notebook: first-touch channel of new customers by month,
paid and earned channel groups, and the first visit of each new customer."""

from __future__ import annotations

import ibis
import pandas as pd

from ..engine import Tables
from .sessions import sessions

# Channels a shop pays for per visit or per sale, and channels where customers find the shop themselves.
PAID_CHANNELS = ("paid_search", "paid_social", "display", "affiliate")
EARNED_CHANNELS = ("organic_search", "organic_social", "referral")
UNKNOWN = "unknown"
# Labels analytics tools and shop systems write for "no source recorded" (compared trimmed and lower-case).
UNTRACKED_LABELS = ("", UNKNOWN, "(not set)", "not set", "unassigned", "(unassigned)", "none", "null")


def channel_group(channel: str) -> str:
    """ "earned", "paid" or "other" (direct, e-mail, unknown, anything else)."""
    if channel in EARNED_CHANNELS:
        return "earned"
    if channel in PAID_CHANNELS:
        return "paid"
    return "other"


def untracked(col):
    """True where a channel column records no source: null or one of UNTRACKED_LABELS."""
    return col.isnull() | col.strip().lower().isin(UNTRACKED_LABELS)


def _known(col):
    """A channel column with every "no source" label as one missing value."""
    return ibis.cases((untracked(col), ibis.null("string")), else_=col.strip())


def new_customers_by_month(tables: Tables) -> pd.DataFrame:
    """New customers per calendar month of `first_seen_at` and first-touch channel ("unknown" when not
    recorded): columns month, channel, customers."""

    def compute(t: Tables) -> pd.DataFrame:
        c = t["customers"]
        c = c.filter(c.first_seen_at.notnull())
        c = c.mutate(month=c.first_seen_at.truncate("M"), channel=_known(c.acquisition_channel).fill_null(UNKNOWN))
        df = c.group_by(["month", "channel"]).aggregate(customers=c.count()).to_pandas()
        df["month"] = pd.to_datetime(df["month"])
        df["customers"] = df["customers"].astype(int)
        return df.sort_values(["month", "customers"], ascending=[True, False]).reset_index(drop=True)

    return tables.derived("new_customers_by_month", compute)


def new_customers_by_channel(tables: Tables) -> pd.DataFrame:
    """New customers per first-touch channel over the whole period, with their share of those whose channel
    is known (share is missing for "unknown"): columns channel, customers, share."""
    m = new_customers_by_month(tables)
    by = m.groupby("channel", as_index=False)["customers"].sum()
    known = by.loc[by["channel"] != UNKNOWN, "customers"].sum()
    # No customer with a known channel: every share is missing (not a division by zero).
    share = by["customers"] / known if known else pd.Series(float("nan"), index=by.index)
    by["share"] = share.where(by["channel"] != UNKNOWN)
    return by.sort_values("customers", ascending=False).reset_index(drop=True)


def first_visits(tables: Tables):
    """Each known customer's first session (the earliest with their customer_id): session_id, customer_id,
    channel, bounced, events, purchases."""

    def compute(t: Tables):
        s = sessions(t)
        s = s.filter(s.customer_id.notnull())
        w = ibis.window(group_by=s.customer_id, order_by=[s.started_at, s.session_id])
        r = s.mutate(_rn=ibis.row_number().over(w))
        return (
            r.filter(r._rn == 0)
            .select("session_id", "customer_id", "channel", "bounced", "events", "purchases")
            .cache()
        )

    return tables.derived("first_visits", compute)


def monthly_first_touch(tables: Tables, top: int = 5) -> pd.DataFrame:
    """New customers per month for the `top` largest first-touch channels, the rest as "other" and the
    unrecorded as "unknown" (the notebook's view): columns month, channel, customers, one row per pair."""
    m = new_customers_by_month(tables)
    by = m.groupby("channel")["customers"].sum().sort_values(ascending=False)
    keep = [c for c in by.index if c != UNKNOWN][:top]
    label = m["channel"].where(m["channel"].isin(keep) | (m["channel"] == UNKNOWN), "other")
    out = m.assign(channel=label).groupby(["month", "channel"], as_index=False)["customers"].sum()
    order = {c: i for i, c in enumerate([*keep, "other", UNKNOWN])}
    full = pd.MultiIndex.from_product(
        [sorted(out["month"].unique()), sorted(out["channel"].unique(), key=order.get)], names=["month", "channel"]
    )
    out = out.set_index(["month", "channel"]).reindex(full, fill_value=0).reset_index()
    return out.sort_values(
        ["month", "channel"], key=lambda c: c.map(order) if c.name == "channel" else c, ignore_index=True
    )
