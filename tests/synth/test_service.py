"""Service mail after sign-ups and orders (welcome_out_of_step, no_thank_you, no_onboarding,
no_review_requests)."""

from __future__ import annotations

import pandas as pd

from .frames import end_of
from .measures import measure


@measure("welcome_out_of_step", cut=0.45, bad="lower")
def welcome_in_step(t):
    """Of opted-in customers whose first order came 7 or more days after their first visit: the
    share with a welcome e-mail in the 21 days before that order."""
    cu, od, ms = t["customers"], t["orders"], t["messages"]
    first = od.groupby("customer_id")["order_time"].min().rename("first_order")
    c = cu[cu["email_opt_in"].fillna(False)].set_index("customer_id").join(first, how="inner")
    c = c[c["first_order"] >= c["first_seen_at"] + pd.Timedelta(days=7)]
    w = ms.loc[ms["message_type"] == "welcome", ["customer_id", "sent_at"]].merge(
        c["first_order"].reset_index(), on="customer_id"
    )
    hit = w[(w["sent_at"] < w["first_order"]) & (w["sent_at"] >= w["first_order"] - pd.Timedelta(days=21))]
    return c.index.isin(hit["customer_id"]).mean()


@measure("no_thank_you", cut=0.8, bad="lower")
def thanked_share(t):
    """Share of orders followed by a thank-you within a day."""
    od, ms = t["orders"], t["messages"]
    th = ms.loc[ms["message_type"] == "thank_you", ["customer_id", "sent_at"]].sort_values("sent_at")
    o = pd.merge_asof(
        od.sort_values("order_time"),
        th,
        left_on="order_time",
        right_on="sent_at",
        by="customer_id",
        direction="forward",
        tolerance=pd.Timedelta(days=1),
    )
    return o["sent_at"].notna().mean()


@measure("no_onboarding", cut=0.5, bad="lower")
def onboarded_share(t, days=7):
    """Share of first orders followed by an onboarding message within `days`."""
    od, ms = t["orders"], t["messages"]
    first = od.sort_values("order_time").drop_duplicates("customer_id")
    ob = ms.loc[ms["message_type"] == "onboarding", ["customer_id", "sent_at"]].sort_values("sent_at")
    m = pd.merge_asof(
        first.sort_values("order_time"),
        ob,
        left_on="order_time",
        right_on="sent_at",
        by="customer_id",
        direction="forward",
        tolerance=pd.Timedelta(days=days),
    )
    end = end_of(t)
    return m.loc[m["order_time"] < end - pd.Timedelta(days=days), "sent_at"].notna().mean()


@measure("no_review_requests", cut=0.06, bad="lower")
def reviews_per_order(t, days=30):
    """Reviews of orders older than `days`, per such order."""
    end = end_of(t)
    od = t["orders"]
    old = od[od["order_time"] < end - pd.Timedelta(days=days)]
    return t["reviews"]["order_id"].isin(old["order_id"]).sum() / len(old)
