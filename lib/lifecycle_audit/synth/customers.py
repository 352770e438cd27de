"""Customers: when they first come, through which channel, from where, and how keen they are."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalog import CAT_POP
from .clock import DAY, HOUR, NA, Clock
from .mistakes import Behaviour
from .vectors import pick
from .vocab import ACQ_MIX, CH, CH_CODES, DEVICE_MIX

COUNTRIES = ("DE", "AT", "CH", "NL", "FR", "BE", "IT", "PL")
COUNTRY_MIX = [0.52, 0.13, 0.11, 0.08, 0.05, 0.04, 0.03, 0.02, 0.02]  # last: unknown


@dataclass
class Customers:
    """One entry per customer (index = customer number in the order of drawing)."""

    t0: np.ndarray  # first visit (= first_seen_at)
    acq: np.ndarray  # first-touch channel code, -1 unknown
    country: np.ndarray
    opt_in: np.ndarray
    fav: np.ndarray  # favourite category
    device: np.ndarray  # main device
    visits: np.ndarray  # expected return visits
    life: np.ndarray  # days over which return visits fade
    intent: np.ndarray  # buying intent multiplier
    segment: np.ndarray  # in the daily-promo segment (over-contacting)
    dead_at: np.ndarray  # e-mail address starts to bounce (NA: never)
    sms: np.ndarray  # gets shipping notices by SMS
    lead: np.ndarray = None  # signed up from an anonymous visit (first_seen_at: the sign_up event)
    offer: np.ndarray = None  # got a first-order code with the welcome mail


def customers(rng, clock: Clock, n: int, beh: Behaviour) -> Customers:
    """n customers; ids follow the first visit, so C000001 is the oldest customer."""
    t0 = np.sort(np.minimum(clock.sample(rng, n), clock.T - 6 * HOUR))
    acq = CH_CODES[pick(rng, ACQ_MIX, n)]
    acq[(acq == CH["referral"]) & (t0 < 21 * DAY)] = CH["organic_search"]  # nobody to refer them yet
    opt_in = rng.random(n) < 0.70
    dead = rng.random(n) < 0.025
    intent = np.minimum(rng.gamma(1.5, 1 / 1.5, n), 3.0)  # keen buyers also come back more often
    return Customers(
        t0=t0,
        acq=acq,
        country=np.array(list(range(len(COUNTRIES))) + [-1])[pick(rng, COUNTRY_MIX, n)],
        opt_in=opt_in,
        fav=pick(rng, CAT_POP, n),
        device=pick(rng, DEVICE_MIX, n),
        visits=np.minimum(rng.gamma(0.9, 7.5, n) * (0.4 + 0.6 * intent), 30.0),
        life=rng.uniform(45, 300, n),
        intent=intent,
        segment=opt_in & (rng.random(n) < beh.segment_share),
        dead_at=np.where(dead, t0 + (rng.random(n) * (clock.T - t0)).astype(np.int64), NA),
        sms=rng.random(n) < 0.4,
        lead=np.zeros(n, bool),
        offer=np.zeros(n, bool),
    )
