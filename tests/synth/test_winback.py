"""Win-back (unnoticed_churn, endless_winback, no_suppression, no_channel_fallback)."""

from __future__ import annotations

import pandas as pd

from .frames import lapsed
from .measures import measure


@measure("unnoticed_churn", cut=0.5, bad="lower")
def repeat_lapsed_winback_share(t):
    """Lapsed, e-mail opted-in customers with 2+ orders: share sent a win-back after their last order."""
    last = lapsed(t)
    k = t["orders"].groupby("customer_id").size()
    opted = t["customers"].set_index("customer_id")["email_opt_in"].fillna(False)
    last = last[(k.reindex(last.index) >= 2) & opted.reindex(last.index).to_numpy()]
    wb = t["messages"]
    wb = wb[wb["message_type"] == "winback"]
    got = wb[wb["sent_at"] > wb["customer_id"].map(last)]["customer_id"].unique()
    return last.index.isin(got).mean()


@measure("endless_winback", cut=0.1, bad="higher")
def late_winback_share(t, days=180):
    """Win-back messages sent more than `days` after the customer's previous order."""
    wb = t["messages"].loc[t["messages"]["message_type"] == "winback", ["customer_id", "sent_at"]]
    od = t["orders"][["customer_id", "order_time"]].sort_values("order_time")
    m = pd.merge_asof(
        wb.sort_values("sent_at"), od, left_on="sent_at", right_on="order_time", by="customer_id", direction="backward"
    )
    return ((m["sent_at"] - m["order_time"]) > pd.Timedelta(days=days)).mean()


@measure("no_suppression", cut=5.0, bad="higher")
def winback_to_suppressed(t):
    """Win-back messages per 1000 sent to customers who defaulted or left a review of 1-2 stars."""
    cu, rv, ms = t["customers"], t["reviews"], t["messages"]
    bad = set(cu.loc[cu["payment_default"].fillna(False), "customer_id"]) | set(
        rv.loc[rv["rating"] <= 2, "customer_id"]
    )
    wb = ms[ms["message_type"] == "winback"]
    return 1000 * wb["customer_id"].isin(bad).mean()


@measure("no_channel_fallback", cut=0.5, bad="lower")
def postal_fallback_share(t):
    """Lapsed customers without e-mail opt-in but with a postal address: share sent a message by post."""
    last = lapsed(t)
    cu = t["customers"].set_index("customer_id").reindex(last.index)
    target = cu[~cu["email_opt_in"].fillna(False) & cu["has_postal_address"].fillna(False)].index
    ms = t["messages"]
    post = ms.loc[ms["channel"] == "postal", "customer_id"].unique()
    return target.isin(post).mean()
