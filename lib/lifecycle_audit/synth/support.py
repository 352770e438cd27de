"""Customer research and support: NPS surveys, tickets with their response times, call-backs to
detractors and CSAT surveys after resolved tickets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .after import Aftermath
from .clock import DAY, HOUR, MIN, NA
from .mistakes import declare
from .outbox import FLOW
from .vectors import lognormal_s, pick

NPS_DIST = np.array([0.01, 0.01, 0.02, 0.03, 0.03, 0.05, 0.07, 0.10, 0.18, 0.22, 0.28])  # score 0..10

NO_CUSTOMER_RESEARCH = declare(
    "no_customer_research",
    order=13,
    checks=("conversion.customer_research",),
    does="research stopped: one NPS wave early in the period, nothing after first orders",
    knobs={
        "surveys_current": (True, False),  # NPS after first orders and a yearly wave
    },
)
SLOW_SUPPORT = declare(
    "slow_support",
    order=19,
    checks=("retention.support_responsiveness",),
    does="tickets wait more than a day for a first answer and are passed around",
    knobs={
        # median first response and resolution, seconds; mean handoffs
        "support_times": ((3 * HOUR, 8 * HOUR, 0.35), (30 * HOUR, 60 * HOUR, 1.6)),
    },
)
UNHEARD_DETRACTORS = declare(
    "unheard_detractors",
    order=20,
    checks=("retention.silent_dissatisfaction",),
    does="detractors who answer the NPS survey are hardly ever called back",
    knobs={
        "detractor_callback": (0.9, 0.08),  # share of detractors called back
    },
)


@dataclass
class Support:
    """Tickets and surveys as columns (customer, times, scores), and the promoters (customer, answer time)."""

    tickets: dict
    surveys: dict
    promoters: tuple


def _nps(a: Aftermath):
    """NPS 30 days after a first order and a relationship wave after 9 months: (customer, sent,
    answered (NA: not), score (-1: none))."""
    rng, o, T = a.rng, a.o, a.clock.T
    f = np.flatnonzero(o.rank == 0)
    wave = max(min(270 * DAY, T - 30 * DAY), 0)
    if not a.beh.surveys_current:
        # research stopped: one wave early in the period, nothing after first orders
        f, wave = f[:0], min(60 * DAY, T // 2)
    recent = np.unique(o.cust[(o.t < wave) & (o.t >= wave - 365 * DAY)])
    c = np.concatenate([o.cust[f], recent])
    t = np.concatenate(
        [
            o.t[f] + 30 * DAY + rng.integers(0, 4 * HOUR, len(f)),
            wave + 10 * HOUR + rng.integers(0, 2 * HOUR, len(recent)),
        ]
    )
    keep = t < T
    nps_c, nps_t = c[keep], t[keep]
    answered = (rng.random(len(nps_c)) < 0.25) & ~a.bounced(nps_c, nps_t)
    delay = lognormal_s(rng, 8 * HOUR, 1.2, len(nps_c), 5 * MIN, 6 * DAY)
    nps_rt = np.where(answered, nps_t + delay, NA)
    nps_rt[nps_rt >= T] = NA
    return nps_c, nps_t, nps_rt, np.where(nps_rt != NA, pick(rng, NPS_DIST, len(nps_c)), -1)


def _ticket_times(a: Aftermath, t, resp_median, res_median, handoffs=0.35):
    """First response and resolution times and handoffs of tickets opened at t."""
    k = len(t)
    first = t + lognormal_s(a.rng, resp_median, 1.0, k, 2 * MIN, 5 * DAY)
    resolved = first + lognormal_s(a.rng, res_median, 1.1, k, 5 * MIN, 14 * DAY)
    return first, resolved, np.minimum(a.rng.poisson(handoffs, k), 5)


def _questions(a: Aftermath):
    """Tickets: questions after ~7% of orders and from ~1% of customers before buying."""
    rng, o, T = a.rng, a.o, a.clock.T
    tk_o = np.flatnonzero(rng.random(len(o)) < 0.07)
    pre = np.flatnonzero(rng.random(a.n) < 0.01)
    tc = np.concatenate([o.cust[tk_o], pre])
    tt = np.concatenate(
        [o.t[tk_o] + rng.integers(DAY, 12 * DAY, len(tk_o)), a.cust.t0[pre] + rng.integers(HOUR, 30 * DAY, len(pre))]
    )
    tc, tt = tc[tt < T], tt[tt < T]
    return (tc, tt, *_ticket_times(a, tt, *a.beh.support_times))


def _callbacks(a: Aftermath, nps_c, nps_rt, nps):
    """Detractors (NPS <= 6) are called back within about a day: tickets like _questions'."""
    rng, T = a.rng, a.clock.T
    det = np.flatnonzero((nps >= 0) & (nps <= 6) & (rng.random(len(nps)) < a.beh.detractor_callback))
    dt = nps_rt[det] + rng.integers(2 * HOUR, 30 * HOUR, len(det))
    det, dt = det[dt < T], dt[dt < T]
    return (nps_c[det], dt, *_ticket_times(a, dt, 20 * MIN, 6 * HOUR))


def _csat(a: Aftermath, tc, tt, rs, hand):
    """A CSAT survey after each resolved ticket; slow and passed-around tickets score lower.
    Returns (sent, answered, score), NA / NaN when none."""
    rng, T, k = a.rng, a.clock.T, len(tc)
    cs_t = np.where(rs != NA, rs + HOUR + rng.integers(0, HOUR, k), NA)
    cs_t[cs_t >= T] = NA
    cs_rt = np.where(
        (cs_t != NA) & (rng.random(k) < 0.35) & ~a.bounced(tc, cs_t),
        cs_t + lognormal_s(rng, 5 * HOUR, 1.1, k, 2 * MIN, 4 * DAY),
        NA,
    )
    cs_rt[cs_rt >= T] = NA
    hours = np.where(rs != NA, (rs - tt) / HOUR, 24.0)
    raw = 4.6 - 0.5 * hand - 0.35 * np.log1p(hours / 12) + rng.normal(0, 0.8, k)
    return cs_t, cs_rt, np.where(cs_rt != NA, np.clip(np.round(raw), 1, 5), np.nan)


def _survey_mails(a: Aftermath, surveys) -> None:
    """Survey invitations by e-mail; answering counts as open and click."""
    for scale, flow in ((0, "SURVEY-nps"), (1, "SURVEY-csat")):
        m = surveys["scale"] == scale
        c, t, rt = surveys["c"][m], surveys["t"][m], surveys["rt"][m]
        ans = rt != NA
        a.box.add(
            c,
            "survey",
            t,
            campaign=FLOW[flow],
            bounced=a.bounced(c, t),
            opened=np.where(ans, np.maximum(t, rt - a.rng.integers(MIN, 10 * MIN, len(c))), NA),
            clicked=np.where(ans, rt, NA),
        )


def support(a: Aftermath) -> Support:
    """Tickets, NPS and CSAT surveys; detractors get a call-back ticket."""
    T = a.clock.T
    nps_c, nps_t, nps_rt, nps = _nps(a)
    asked = _questions(a)
    called = _callbacks(a, nps_c, nps_rt, nps)
    tc, tt, fr, rs, hand = (np.concatenate([x, y]) for x, y in zip(asked, called, strict=False))
    fr[fr >= T] = NA
    rs[(rs >= T) | (fr == NA)] = NA
    cs_t, cs_rt, csat = _csat(a, tc, tt, rs, hand)
    sent = cs_t != NA
    surveys = dict(
        c=np.concatenate([nps_c, tc[sent]]),
        t=np.concatenate([nps_t, cs_t[sent]]),
        rt=np.concatenate([nps_rt, cs_rt[sent]]),
        score=np.concatenate([np.where(nps >= 0, nps, np.nan), csat[sent]]),
        scale=np.repeat([0, 1], [len(nps_c), sent.sum()]),
    )
    _survey_mails(a, surveys)
    tickets = dict(c=tc, t=tt, first=fr, resolved=rs, handoffs=hand, csat=csat)
    return Support(tickets, surveys, (nps_c[nps >= 9], nps_rt[nps >= 9]))
