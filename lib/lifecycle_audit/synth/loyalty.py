"""Loyalty and referrals: members from their third order, referral invites, referred customers."""

from __future__ import annotations

import numpy as np

from .after import Aftermath
from .clock import DAY, HOUR, MIN, NA
from .marketing import alive
from .mistakes import declare
from .vocab import CH

UNRECOGNISED_LOYAL = declare(
    "unrecognised_loyal",
    order=22,
    checks=("loyalty.unrecognised_loyal",),
    does="loyal customers are not made members, and many lapse after their third order",
    knobs={
        "loyalty_share": (0.95, 0.08),  # share of third orders that make the customer a member
        "loyal_lapse": (0.0, 0.6),  # share of unrecognised loyal customers who lapse after the 3rd order
    },
)
NO_REFERRAL_PROGRAM = declare(
    "no_referral_program",
    order=23,
    checks=("loyalty.referrals",),
    does="no referral programme: no invites, and friends who still come are not attributed",
    knobs={
        "referral_kept": (1.0, 0.08),  # share of referred customers still attributed (a programme)
    },
)


def referral_invites(a: Aftermath, promoters) -> None:
    """Referral invites after a second order and to promoters, while marketing e-mail is allowed."""
    rng, o = a.rng, a.o
    sec = np.flatnonzero(o.rank == 1)
    pc_, pt_ = promoters
    c = np.concatenate([o.cust[sec], pc_])
    t = np.concatenate(
        [o.t[sec] + 3 * DAY + rng.integers(0, 6 * HOUR, len(sec)), pt_ + DAY + rng.integers(0, 6 * HOUR, len(pc_))]
    )
    ok = a.cust.opt_in[c] & alive(t, c, a.dead) & (a.beh.referral_kept >= 1)  # a programme
    a.mail(c[ok], "referral_invite", t[ok], "FLOW-referral", p_open=0.35, p_click=0.12)


def loyalty(a: Aftermath) -> np.ndarray:
    """Members from their third order; a few join at sign-up. Returns member since (NA: not) per customer."""
    rng, o = a.rng, a.o
    third = np.flatnonzero((o.rank == 2) & (rng.random(len(o)) < a.beh.loyalty_share))
    since = np.full(a.n, NA)
    since[o.cust[third]] = o.t[third] + rng.integers(0, DAY, len(third))
    early = (since == NA) & (rng.random(a.n) < 0.03)
    since[early] = a.cust.t0[early] + rng.integers(MIN, HOUR, early.sum())
    since[since >= a.clock.T] = NA
    return since


def referrals(a: Aftermath):
    """Customers who came by referral were invited by someone who had already bought:
    (referrer, referred) customer indexes."""
    rng, cust, o = a.rng, a.cust, a.o
    referred = np.flatnonzero(cust.acq == CH["referral"])
    first = np.flatnonzero(o.rank == 0)
    first = first[np.argsort(o.t[first], kind="stable")]
    earlier = np.searchsorted(o.t[first], cust.t0[referred], side="left")
    pick = np.minimum((rng.random(len(referred)) * earlier).astype(np.int64), max(len(first) - 1, 0))
    any_earlier = (rng.random(len(referred)) * referred).astype(np.int64)
    referrer = np.where(earlier > 0, o.cust[first][pick] if len(first) else any_earlier, any_earlier)
    ok = referrer != referred
    return referrer[ok], referred[ok]
