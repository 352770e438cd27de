"""Loyalty and referrals (unrecognised_loyal, no_referral_program)."""

from __future__ import annotations

from .measures import measure


@measure("unrecognised_loyal", cut=0.4, bad="higher")
def unrecognised_loyal_share(t):
    """Customers with 3+ orders who are not loyalty members."""
    k = t["orders"].groupby("customer_id").size()
    loyal = k[k >= 3].index
    member = t["customers"].set_index("customer_id")["loyalty_member_since"]
    return member.reindex(loyal).isna().mean()


@measure("no_referral_program", cut=0.05, bad="lower")
def referrer_share(t):
    """Distinct referrers per customer with an order."""
    return t["referrals"]["referrer_id"].nunique() / t["orders"]["customer_id"].nunique()
