"""Research and support (no_customer_research, slow_support, unheard_detractors)."""

from __future__ import annotations

import pandas as pd

from .frames import end_of
from .measures import measure


@measure("no_customer_research", cut=0.5, bad="lower")
def surveyed_active_share(t):
    """Customers with an order in the last 365 days who were sent a survey in that time."""
    end = end_of(t)
    year = end - pd.Timedelta(days=365)
    active = t["orders"].loc[t["orders"]["order_time"] >= year, "customer_id"].unique()
    sv = t["surveys"]
    asked = sv.loc[sv["sent_at"] >= year, "customer_id"].unique()
    return pd.Index(active).isin(asked).mean()


@measure("slow_support", cut=8.0, bad="higher")
def median_first_response_hours(t):
    """Median hours from a ticket's opening to its first response."""
    tk = t["tickets"]
    return ((tk["first_response_at"] - tk["opened_at"]).dt.total_seconds() / 3600).median()


@measure("unheard_detractors", cut=0.5, bad="lower")
def detractors_followed_up(t, days=3):
    """NPS responses 0-6: share followed by a support ticket (a call-back) within `days`."""
    sv = t["surveys"]
    d = sv[(sv["scale"] == "nps") & (sv["score"] <= 6)].dropna(subset=["responded_at"])
    contact = t["tickets"][["customer_id", "opened_at"]].rename(columns={"opened_at": "at"}).sort_values("at")
    m = pd.merge_asof(
        d.sort_values("responded_at"),
        contact,
        left_on="responded_at",
        right_on="at",
        by="customer_id",
        direction="forward",
        tolerance=pd.Timedelta(days=days),
    )
    return m["at"].notna().mean()
