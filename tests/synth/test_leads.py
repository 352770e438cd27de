"""Leads: anonymous visitors who sign up (no_lead_capture)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .frames import end_of, first_sessions
from .measures import measure
from .shops import shop


def lead_signups(t):
    """Sessions begun by an unidentified visitor (first event without customer_id) and without a
    purchase; returns them and the customer ids of those with a sign_up (the leads)."""
    ev = t["events"]
    # session ids as Python strings: pandas' isin on Arrow strings turns each of the tens of thousands of looked-up
    # ids into a scalar one by one, ten times slower than on objects (the same sessions either way)
    ev = ev.assign(session_id=ev["session_id"].astype(object))
    anon_start = first_sessions(ev).loc[lambda f: f["customer_id"].isna(), "session_id"]
    e = ev[ev["session_id"].isin(anon_start)]
    non_buying = anon_start[~anon_start.isin(e.loc[e["event_type"] == "purchase", "session_id"])]
    signed = e[(e["event_type"] == "sign_up") & e["session_id"].isin(non_buying)]
    return non_buying, signed["customer_id"].unique()


@measure("no_lead_capture", cut=0.005, bad="lower")
def lead_signup_rate(t):
    """Sign-up rate of non-buying visitors: of sessions begun anonymously without a purchase,
    the share with a sign_up."""
    non_buying, _leads = lead_signups(t)
    signed = t["events"].loc[t["events"]["event_type"] == "sign_up", "session_id"]
    return non_buying.isin(signed).mean()


def lead_first_order_rates(t, days=60):
    """First-order rate within `days` of the sign-up of the leads (first_seen_at = sign-up),
    with an incentive (a welcome message of a campaign ending in "-offer") and without."""
    _, leads = lead_signups(t)
    cu = t["customers"].set_index("customer_id").loc[leads]
    cu = cu[cu["first_seen_at"] < end_of(t) - pd.Timedelta(days=days)]
    first = t["orders"].groupby("customer_id")["order_time"].min().reindex(cu.index)
    ordered = first < cu["first_seen_at"] + pd.Timedelta(days=days)
    ms = t["messages"]
    offer = ms.loc[(ms["message_type"] == "welcome") & ms["campaign_id"].str.endswith("-offer"), "customer_id"]
    inc = cu.index.isin(offer)
    return (ordered[inc].mean() if inc.any() else np.nan), (ordered[~inc].mean() if (~inc).any() else np.nan)


def test_lead_capture():
    """Healthy: about 1% of anonymous non-buying sessions sign up, and the sign-ups who get a
    first-order code buy far more often; planted: no anonymous visitor signs up."""
    good, bad = shop("healthy"), shop("planted")
    assert 0.008 < lead_signup_rate(good) < 0.016 and lead_signup_rate(bad) < 0.002
    with_code, without = lead_first_order_rates(good)
    assert with_code > 0.15 and with_code > 2 * without
    assert len(lead_signups(bad)[1]) == 0
    # the sign-up visit starts anonymous; first_seen_at is the sign_up, the code is used
    ev = good["events"]
    signup = ev[ev["event_type"] == "sign_up"]
    firsts = first_sessions(ev).set_index("session_id")["customer_id"]
    leads = signup[firsts.reindex(signup["session_id"]).isna().to_numpy()]
    seen = good["customers"].set_index("customer_id")["first_seen_at"]
    assert (seen.reindex(leads["customer_id"]).to_numpy() == leads["event_time"].to_numpy()).all()
    # the code: a discount on every first order within 30 days of an "-offer" welcome
    ms = good["messages"]
    offer = ms.loc[(ms["message_type"] == "welcome") & ms["campaign_id"].str.endswith("-offer"), "customer_id"]
    assert set(offer) <= set(leads["customer_id"])
    od = good["orders"].sort_values("order_time").drop_duplicates("customer_id")
    od = od[od["customer_id"].isin(offer)]
    soon = od["order_time"] <= od["customer_id"].map(seen) + pd.Timedelta(days=30)
    assert soon.sum() > 20 and (od.loc[soon, "discount"] > 0).all()
