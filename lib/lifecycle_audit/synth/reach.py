"""Reach: the channels that bring customers (as the shop's marketing shapes them), what the analytics
export records of them, and what paid traffic costs."""

from __future__ import annotations

import numpy as np

from ..contract import CHANNELS
from .clock import DAY, Clock
from .mistakes import Behaviour, declare
from .vectors import pick
from .visits import Sessions
from .vocab import CH, PAID, PAID_CODES

CPC = 0.85 * np.array([0.85, 0.65, 0.30, 0.35])  # cost per session, EUR (PAID)

UNTRACKED_TRAFFIC = declare(
    "untracked_traffic",
    order=4,
    checks=("reach.untracked_traffic",),
    does="the channel of 40% of the sessions is lost (no UTM tags, a broken tag)",
    knobs={
        "untracked": (0.0, 0.40),  # share of sessions whose channel is not recorded
    },
)
ONE_CHANNEL = declare(
    "one_channel",
    order=5,
    checks=("reach.channel_concentration",),
    does="paid search swallows 65% of the non-earned first touches",
    knobs={
        "concentrate": (0.0, 0.65),  # share of non-earned first touches moved to paid search
    },
)
COSTLY_ACQUISITION = declare(
    "costly_acquisition",
    order=6,
    checks=("reach.acquisition_cost",),
    does="the ad budget is 28% of the revenue, whatever paid customers bring back: bids rise until it is spent",
    knobs={
        "ad_budget": (None, 0.28),  # share of the period's revenue spent on paid clicks (None: clicks at their price)
    },
)
NO_EARNED_REACH = declare(
    "no_earned_reach",
    order=7,
    checks=("reach.earned_reach",),
    does="60% of those who would have found the shop organically are bought through ads",
    knobs={
        "de_earn": (0.0, 0.60),  # share of organic first touches replaced by paid ones
    },
)


def first_touch(rng, acq: np.ndarray, beh: Behaviour) -> np.ndarray:
    """First-touch channels as the shop's marketing shapes them (one_channel, no_earned_reach,
    no_referral_program); draws the same numbers whatever the behaviour."""
    n = len(acq)
    u1, u2, u3 = rng.random(n), rng.random(n), rng.random(n)
    bought = PAID_CODES[pick(rng, [0.17, 0.12, 0.07, 0.06], n)]
    organic = np.isin(acq, [CH["organic_search"], CH["organic_social"]])
    acq = np.where(organic & (u1 < beh.de_earn), bought, acq)
    # without a programme, friends still come but are no longer attributed to a referrer
    acq = np.where((acq == CH["referral"]) & (u3 >= beh.referral_kept), CH["direct"], acq)
    other = ~np.isin(acq, [CH["organic_search"], CH["organic_social"], CH["referral"], -1])
    return np.where(other & (u2 < beh.concentrate), CH["paid_search"], acq)


def tracked(rng, beh: Behaviour, channel: np.ndarray, acq: np.ndarray, s: Sessions):
    """The channels the analytics export records: some sessions lose theirs (untracked traffic), and a
    customer whose first visit went untracked has no known first touch. `channel`: of all sessions, `s`'s
    first; returns (session channels, first touches) as seen."""
    lost = rng.random(len(channel)) < beh.untracked
    channel_seen = np.where(lost, -1, channel)
    acq_seen = acq.copy()
    fs = np.flatnonzero(s.first & (s.cust >= 0))
    acq_seen[s.cust[fs[lost[fs]]]] = -1
    return channel_seen, acq_seen


def spend(rng, clock: Clock, channel, start, cpc_factor=1.0):
    """Paid sessions per day times the channel's cost per session (times `cpc_factor`), with some noise:
    (channel codes, amount per day and channel)."""
    lookup = np.full(len(CHANNELS) + 1, -1)
    lookup[PAID_CODES] = np.arange(len(PAID))
    k = lookup[np.where(channel < 0, len(CHANNELS), channel)]
    cell = (start // DAY) * len(PAID) + k
    n = np.bincount(cell[k >= 0], minlength=clock.days * len(PAID)).reshape(clock.days, len(PAID))
    return PAID_CODES, np.round(n * CPC * cpc_factor * rng.lognormal(0, 0.12, n.shape), 2)


def overbid(base: np.ndarray, revenue: float, budget: float | None) -> float:
    """The factor on the price of a paid click when the shop spends a fixed share of its revenue on ads
    (`budget`, costly_acquisition) and bids up until it is spent; 1 when it has no such budget or when clicks at
    their price already cost more. `base`: the spend with clicks at their price."""
    if budget is None or base.sum() <= 0:
        return 1.0
    return max(1.0, budget * revenue / float(base.sum()))
