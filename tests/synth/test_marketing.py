"""Marketing e-mail (over_contacting, irrelevant_offers, no_post_purchase_contact)."""

from __future__ import annotations

import pandas as pd

from .frames import end_of, unsubscribe_rate
from .measures import measure
from .shops import shop


@measure("over_contacting", cut=0.004, bad="higher", healthy=(0, 0.0025), planted=(0.006, 0.03))
def unsubscribe_share(t):
    """Share of e-mails unsubscribed from."""
    return unsubscribe_rate(t["messages"])


@measure("irrelevant_offers", cut=0.5, bad="lower")
def matching_offer_share(t):
    """Share of promos whose category is the customer's most viewed category."""
    ev, ms = t["events"], t["messages"]
    views = ev[(ev["event_type"] == "product_view") & ev["customer_id"].notna()]
    top = (
        views.groupby(["customer_id", "category"])
        .size()
        .sort_values(ascending=False)
        .reset_index()
        .drop_duplicates("customer_id")
        .set_index("customer_id")["category"]
    )
    pr = ms[(ms["message_type"] == "promo") & ms["category"].notna()]
    return (pr["category"] == pr["customer_id"].map(top)).mean()


@measure("no_post_purchase_contact", cut=0.3, bad="higher")
def uncontacted_after_order(t, days=30):
    """Orders of opted-in customers (older than `days`): share with no promo or newsletter in
    the `days` after the order."""
    end = end_of(t)
    cu, od, ms = t["customers"], t["orders"], t["messages"]
    opted = cu.loc[cu["email_opt_in"].fillna(False), "customer_id"]
    o = od[od["customer_id"].isin(opted) & (od["order_time"] < end - pd.Timedelta(days=days))]
    mk = ms.loc[ms["message_type"].isin(["promo", "newsletter"]), ["customer_id", "sent_at"]].sort_values("sent_at")
    m = pd.merge_asof(
        o.sort_values("order_time"),
        mk,
        left_on="order_time",
        right_on="sent_at",
        by="customer_id",
        direction="forward",
        tolerance=pd.Timedelta(days=days),
    )
    return m["sent_at"].isna().mean()


def unsubscribe_by_weekly_contacts(messages):
    """Unsubscribe rate per marketing e-mail by the customer's marketing e-mails that week."""
    m = messages[(messages["channel"] == "email") & messages["message_type"].isin(["promo", "newsletter"])]
    m = m.assign(week=m["sent_at"].dt.to_period("W"))
    contacts = m.groupby(["customer_id", "week"])["message_id"].transform("size").clip(upper=4)
    return m["unsubscribed_at"].notna().groupby(contacts).mean()


def test_over_contacting():
    bad, good = shop("planted")["messages"], shop("healthy")["messages"]
    assert unsubscribe_rate(bad) >= 0.006
    assert unsubscribe_rate(good) <= 0.0025
    curve = unsubscribe_by_weekly_contacts(bad)
    assert curve[4] > 5 * curve[1]
    assert curve.index.max() == 4 and unsubscribe_by_weekly_contacts(good).index.max() <= 2
    # the heavily contacted are 15-20% of the opted-in customers
    m = bad[bad["message_type"].isin(["promo", "newsletter"])]
    weekly = m.groupby(["customer_id", m["sent_at"].dt.to_period("W")]).size()
    heavy = weekly[weekly >= 4].index.get_level_values(0).nunique()
    opted = shop("planted")["customers"]["email_opt_in"].sum()
    assert 0.13 < heavy / opted < 0.23
    assert bad["complained_at"].notna().mean() > 2 * good["complained_at"].notna().mean()
