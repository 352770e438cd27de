"""Visits: the home page, landing pages and the checkout step (weak_homepage, mismatched_landing_pages,
broken_checkout_step)."""

from __future__ import annotations

import pandas as pd

from .frames import PAID_CHANNELS, first_sessions, home_measures, sessions
from .measures import measure
from .shops import shop


@measure("weak_homepage", cut=0.5, bad="higher", healthy=(0.24, 0.36), planted=(0.68, 0.82))
def home_bounce(t):
    """Bounce of sessions landing on the home page."""
    return home_measures(t["events"])[0]


@measure("mismatched_landing_pages", cut=0.55, bad="higher")
def paid_landing_bounce(t):
    """Bounce of paid-channel sessions landing off the home page."""
    ev = t["events"]
    s = sessions(ev).join(first_sessions(ev).set_index("session_id")["channel"])
    paid = s[s["channel"].isin(PAID_CHANNELS) & (s["landing"] != "home")]
    return paid["bounce"].mean()


def payment_rate(t, device):
    """Sessions of known customers on `device`: share of those that begin checkout that purchase."""
    ev = t["events"]
    m = ev[(ev["device"] == device) & ev["customer_id"].notna()]
    co = m.loc[m["event_type"] == "begin_checkout", "session_id"].unique()
    buy = m.loc[m["event_type"] == "purchase", "session_id"].unique()
    return pd.Index(co).isin(buy).mean()


@measure("broken_checkout_step", cut=0.75, bad="lower")
def mobile_payment_gap(t):
    """The checkout-to-purchase step on mobile relative to desktop (1: as good)."""
    return payment_rate(t, "mobile") / payment_rate(t, "desktop")


def home_purchase_rate(events):
    """Purchases per session landing on the home page."""
    s = sessions(events)
    home = s.index[s["landing"] == "home"]
    return events.loc[events["event_type"] == "purchase", "session_id"].isin(home).sum() / len(home)


def first_action_seconds(events):
    """Median seconds from a home landing to the next event."""
    ev = events.sort_values(["session_id", "event_time"], kind="stable")
    nxt = ev.groupby("session_id")["event_time"].shift(-1)
    first = ~ev["session_id"].duplicated() & (ev["page_type"] == "home") & nxt.notna()
    return (nxt[first] - ev.loc[first, "event_time"]).dt.total_seconds().median()


def test_weak_homepage():
    bad_home, bad_other, bad_next = home_measures(shop("planted")["events"])
    good_home, good_other, good_next = home_measures(shop("healthy")["events"])
    assert 0.68 < bad_home < 0.82 and bad_next < 0.32
    assert 0.24 < good_home < 0.36 and good_next > 0.64
    assert good_home <= good_other + 0.02
    assert 0.34 < good_other < 0.44
    assert 0.34 < bad_other < 0.60  # mismatched_landing_pages: paid landings bounce
    # home visitors of the planted shop buy less
    bad, good = shop("planted")["events"], shop("healthy")["events"]
    assert home_purchase_rate(bad) < 0.75 * home_purchase_rate(good)
    # and hesitate longer before their first action
    assert first_action_seconds(bad) > 2 * first_action_seconds(good)
