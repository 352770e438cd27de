"""Reach: channels, tracking and the cost of paid traffic (untracked_traffic, one_channel,
costly_acquisition, no_earned_reach)."""

from __future__ import annotations

import pandas as pd

from .frames import EARNED, PAID_CHANNELS, first_sessions
from .measures import measure


@measure("untracked_traffic", cut=0.15, bad="higher")
def untracked_share(t):
    """Share of sessions with no channel."""
    return first_sessions(t["events"])["channel"].isna().mean()


@measure("one_channel", cut=0.45, bad="higher")
def top_channel_share(t):
    """Largest share of new customers (known first touch) from one channel."""
    return t["customers"]["acquisition_channel"].value_counts(normalize=True).max()


@measure("costly_acquisition", cut=2.2, bad="lower")
def value_per_acquisition_cost(t):
    """Revenue in the first 365 days of customers acquired through paid channels, per euro of
    paid spend per such customer (whole period)."""
    cu, od = t["customers"], t["orders"]
    paid = cu[cu["acquisition_channel"].isin(PAID_CHANNELS)]
    cac = t["spend"]["amount"].sum() / len(paid)
    o = od.merge(paid[["customer_id", "first_seen_at"]], on="customer_id")
    value = o.loc[o["order_time"] < o["first_seen_at"] + pd.Timedelta(days=365), "revenue"].sum() / len(paid)
    return value / cac


@measure("no_earned_reach", cut=0.2, bad="lower")
def earned_share(t):
    """Share of new customers (known first touch) from organic search, organic social, referral."""
    ch = t["customers"]["acquisition_channel"].dropna()
    return ch.isin(EARNED).mean()
