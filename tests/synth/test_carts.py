"""Abandoned carts and their reminders (unreminded_carts)."""

from __future__ import annotations

import pytest

from lifecycle_audit import synth

from .frames import carts, reminder_measures
from .measures import measure
from .shops import shop


@measure("unreminded_carts", cut=0.7, bad="higher", healthy=(0.52, 0.64), planted=(0.78, 0.88))
def abandoned_share(t):
    """Share of carts not bought by the visitor within 7 days."""
    return carts(t["events"])["abandoned"].mean()


def test_unreminded_carts():
    bad, good = carts(shop("planted")["events"]), carts(shop("healthy")["events"])
    assert 0.78 < bad["abandoned"].mean() < 0.88
    assert 0.52 < good["abandoned"].mean() < 0.64
    by_device = bad.groupby("device")["abandoned"].mean()
    assert by_device["mobile"] > by_device["desktop"]
    bad_24h, bad_any, bad_second = reminder_measures(shop("planted"))
    good_24h, _, good_second = reminder_measures(shop("healthy"))
    assert bad_24h < 0.02 and 0.06 < bad_any < 0.22 and bad_second < 0.06  # no follow-ups, only other carts
    assert good_24h > 0.85 and good_second > 0.3


def test_reminders_bring_carts_back():
    """Carts left by opted-in customers (reminded) are bought later far more often than carts of
    customers who cannot be e-mailed (never reminded)."""
    t = shop("healthy")
    ev = t["events"]
    c = carts(ev)
    in_session = set(ev.loc[ev["event_type"] == "purchase", "session_id"])
    c = c[c["customer_id"].notna() & ~c["session_id"].isin(in_session)]
    opted = c["customer_id"].map(t["customers"].set_index("customer_id")["email_opt_in"]).astype(bool)
    back = c["bought_at"].notna()
    assert back[opted].mean() > back[~opted].mean() + 0.07
    # the recovered cart is bought in a later visit that lands on the cart
    landings = ev[~ev["session_id"].duplicated()]
    assert (landings["page_type"] == "cart").sum() > 0


@pytest.mark.slow
@pytest.mark.parametrize("mistake", [m for m in synth.MISTAKES if m != "unreminded_carts"])
def test_other_mistakes_alone_keep_carts_reminded_within_a_day(mistake):
    assert reminder_measures(shop("healthy", mistakes=(mistake,)))[0] > 0.85
