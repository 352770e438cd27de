"""Service mail after sign-ups and orders (welcome series, thank-you, shipping, onboarding, review
requests) and the reviews customers write."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .after import Aftermath
from .clock import DAY, HOUR, MIN
from .mistakes import declare
from .outbox import FLOW
from .vectors import pick

RATING_DIST = np.array([0.05, 0.05, 0.10, 0.25, 0.55])  # rating 1..5

WELCOME_OUT_OF_STEP = declare(
    "welcome_out_of_step",
    order=10,
    checks=("acquisition.time_to_first_purchase",),
    does="the welcome series is over after two days, long before customers make up their mind",
    knobs={
        "welcome_days": ((5, 14, 30, 60, 90), (1, 2)),  # days after sign-up of the welcome mails after the first
    },
)
NO_THANK_YOU = declare(
    "no_thank_you",
    order=14,
    checks=("conversion.thank_you",),
    does="most orders get no thank-you",
    knobs={
        "thank_share": (1.0, 0.12),  # share of orders thanked
    },
)
NO_ONBOARDING = declare(
    "no_onboarding",
    order=18,
    checks=("retention.onboarding",),
    does="first-time buyers are not shown how to get the most of what they bought",
    knobs={
        "onboard_share": (0.95, 0.05),  # share of first orders with onboarding
    },
)
NO_REVIEW_REQUESTS = declare(
    "no_review_requests",
    order=24,
    checks=("loyalty.reviews",),
    does="customers are hardly ever asked for a review",
    knobs={
        "review_ask": (0.8, 0.05),  # share of orders with a review request
    },
)


@dataclass
class Reviews:
    """The reviews written (order index, time, rating) and who left a bad one (per customer)."""

    order: np.ndarray
    t: np.ndarray
    rating: np.ndarray
    bad: np.ndarray


def _welcome(a: Aftermath) -> None:
    """Welcome series for opted-in sign-ups: right away, then on the series' days unless they bought."""
    rng, cust, o = a.rng, a.cust, a.o
    oc = np.flatnonzero(cust.opt_in)
    first_order = np.full(a.n, np.iinfo(np.int64).max)
    np.minimum.at(first_order, o.cust, o.t)
    flow = np.where(cust.offer[oc], FLOW["FLOW-welcome-offer"], FLOW["FLOW-welcome"])
    a.mail(oc, "welcome", cust.t0[oc] + rng.integers(MIN, 10 * MIN, len(oc)), flow, p_open=0.55, p_click=0.2)
    # the series runs through the weeks in which customers make up their mind (in step) or
    # is over after two days (out of step)
    for d in a.beh.welcome_days:
        r = rng if d in (5, 14) else a.xrng
        tw = cust.t0[oc] + d * DAY + r.integers(0, 2 * HOUR, len(oc))
        w = first_order[oc] > tw
        a.mail(oc[w], "welcome", tw[w], flow[w], p_open=0.45, p_click=0.12)


def _order_notices(a: Aftermath) -> None:
    """Every order: a thank-you within minutes, a shipping notice by SMS for some."""
    rng, o, n_o = a.rng, a.o, len(a.o)
    thank = np.ones(n_o, bool) if a.beh.thank_share >= 1 else a.xrng.random(n_o) < a.beh.thank_share
    t_thank = o.t + rng.integers(30, 5 * MIN, n_o)
    a.mail(o.cust[thank], "thank_you", t_thank[thank], p_open=0.65, p_click=0.05)
    sms = a.cust.sms[o.cust]
    t = o.t[sms] + rng.integers(20 * HOUR, 48 * HOUR, sms.sum())
    a.box.add(o.cust[sms][t < a.clock.T], "transactional", t[t < a.clock.T], channel="sms")


def lifecycle_mails(a: Aftermath):
    """Welcome series, thank-you and shipping notices, onboarding after a first order and a review request
    after most orders; returns the review requests (order index, time sent)."""
    rng, o, n_o = a.rng, a.o, len(a.o)
    _welcome(a)
    _order_notices(a)
    f = np.flatnonzero((o.rank == 0) & (rng.random(n_o) < a.beh.onboard_share))
    a.mail(
        o.cust[f],
        "onboarding",
        o.t[f] + 3 * DAY + rng.integers(8 * HOUR, 12 * HOUR, len(f)),
        "FLOW-onboarding",
        category=o.cat[f],
        p_open=0.45,
        p_click=0.15,
    )
    req = np.flatnonzero(rng.random(n_o) < a.beh.review_ask)
    req_t = o.t[req] + 12 * DAY + rng.integers(-2 * DAY, 2 * DAY, len(req))
    a.mail(o.cust[req], "review_request", req_t, "FLOW-review-request", category=o.cat[req], p_open=0.4, p_click=0.2)
    return req, req_t


def reviews(a: Aftermath, req, req_t) -> Reviews:
    """~15% of review requests and ~2% of orders unprompted; at most one per order."""
    rng, o, T = a.rng, a.o, a.clock.T
    asked = req[(req_t < T) & (rng.random(len(req)) < 0.15)]
    rv = np.unique(np.concatenate([asked, np.flatnonzero(rng.random(len(o)) < 0.02)]))
    t = o.t[rv] + 12 * DAY + (rng.exponential(2.5, len(rv)) * DAY).astype(np.int64)
    keep = t < T
    rating = 1 + pick(rng, RATING_DIST, keep.sum())
    bad = np.zeros(a.n, bool)
    bad[o.cust[rv[keep]][rating <= 2]] = True
    return Reviews(rv[keep], t[keep], rating, bad)
