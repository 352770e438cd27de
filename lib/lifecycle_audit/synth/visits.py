"""Visits: customers' and anonymous visitors' sessions, where they land, bounce, fill carts and pay.

How the shop works: customers arrive over the period (growing, with a Christmas peak) and come back now
and then; anonymous visitors (about 2.9 sessions for each customer session) browse but never buy. A
session lands on a page, bounces or browses, may fill a cart and check out; every purchase event is an
order (see orders.py). Sign-ups of anonymous visitors are added by leads.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..contract import CHANNELS, DEVICES, PAGE_TYPES
from .catalog import CAT_POP, Catalog
from .clock import DAY, HOUR, MIN, Clock
from .customers import Customers
from .mistakes import Behaviour, declare
from .vectors import group_start, pick, rank_in_group, within
from .vocab import ANON_MIX, CH, CH_CODES, CH_ORDER, DEVICE_MIX, PAID, PG, RETURN_MIX

# Landing page by channel (rows in CH_ORDER): home, landing, category, product, content.
LANDINGS = np.array([PG["home"], PG["landing"], PG["category"], PG["product"], PG["content"]])
LANDING_MIX = np.array(
    [
        [0.38, 0.03, 0.22, 0.25, 0.12],
        [0.22, 0.35, 0.13, 0.30, 0.00],
        [0.20, 0.45, 0.10, 0.25, 0.00],
        [0.30, 0.08, 0.14, 0.23, 0.25],
        [0.35, 0.30, 0.15, 0.20, 0.00],
        [0.65, 0.08, 0.10, 0.12, 0.05],
        [0.82, 0.00, 0.09, 0.07, 0.02],
        [0.25, 0.30, 0.15, 0.30, 0.00],
        [0.25, 0.45, 0.15, 0.15, 0.00],
        [0.55, 0.05, 0.18, 0.17, 0.05],
    ]
)
# Bounce probability by landing page (home is set by the profile).
BOUNCE = {"landing": 0.38, "category": 0.40, "product": 0.41, "content": 0.46}
HEALTHY_HOME_BOUNCE = 0.31

WEAK_HOMEPAGE = declare(
    "weak_homepage",
    order=1,
    checks=("acquisition.homepage_value_proposition",),
    does="new visitors leave a home page without a reason to stay; customers know the way",
    knobs={
        "home_bounce": (HEALTHY_HOME_BOUNCE, 0.90),  # bounce of new visitors' sessions landing on home
        "home_bounce_known": (HEALTHY_HOME_BOUNCE, 0.42),  # ... of returning customers' sessions
        "home_first_visit": (1.0, 0.4),  # weight of home as landing page of a future customer's first visit
        "home_hesitation": (1.0, 2.5),  # factor on the time to the first action after a home landing
    },
)
MISMATCHED_LANDING_PAGES = declare(
    "mismatched_landing_pages",
    order=8,
    checks=("acquisition.landing_page_match",),
    does="ads promise one thing, the page shows another: paid visitors off the home page leave",
    knobs={
        "paid_bounce": (None, 0.74),  # bounce of paid sessions landing off the home page (None: as others)
    },
)
BROKEN_CHECKOUT_STEP = declare(
    "broken_checkout_step",
    order=12,
    checks=("conversion.checkout_funnel",),
    does="mobile payment fails half the time (more carts reach the checkout)",
    knobs={
        "mobile_pay": (1.0, 0.5),  # factor on P(purchase | checkout) on mobile (checkout rate / it)
    },
)


@dataclass
class Sessions:
    """One entry per session, plus its cart lines."""

    cust: np.ndarray  # customer index, -1 for anonymous visitors
    anon: np.ndarray  # anonymous visitor index
    start: np.ndarray
    channel: np.ndarray
    device: np.ndarray
    landing: np.ndarray
    first: np.ndarray  # a customer's first visit (sign-up or first order)
    n_browse: np.ndarray
    checkout: np.ndarray
    purchase: np.ndarray
    signup: np.ndarray
    fav: np.ndarray
    line_s: np.ndarray  # cart lines: session index, product, position
    line_p: np.ndarray
    line_k: np.ndarray

    def __len__(self):
        return len(self.start)


SESSION_FIELDS = (
    "cust",
    "anon",
    "start",
    "channel",
    "device",
    "landing",
    "first",
    "n_browse",
    "checkout",
    "purchase",
    "signup",
    "fav",
)  # one entry per session (the others are cart lines)


def visit_times(rng, clock: Clock, cust: Customers):
    """A customer's visits: the first one, then return visits fading out over their life."""
    n = len(cust.t0)
    k = rng.poisson(cust.visits)
    c = np.repeat(np.arange(n), k)
    t = cust.t0[c] + (rng.exponential(cust.life[c]) * DAY).astype(np.int64)
    t = (t // DAY) * DAY + clock.time_of_day(rng, len(c))  # usual hours
    same_day = t <= cust.t0[c] + 30 * MIN
    t = np.where(same_day, cust.t0[c] + 30 * MIN + rng.integers(0, 6 * HOUR, len(c)), t)
    c = np.concatenate([np.arange(n), c])
    t = np.concatenate([cust.t0, t])
    first = np.concatenate([np.ones(n, bool), np.zeros(len(t) - n, bool)])
    order = np.lexsort((~first, t, c))
    c, t, first = c[order], t[order], first[order]
    # at least 45 minutes between two visits of the same customer
    gap, big = 45 * MIN, np.int64(2**36)
    pos = rank_in_group(c)
    key = np.maximum.accumulate(c * big + t - pos * gap)
    t = key - c * big + pos * gap
    keep = t < clock.T - 4 * HOUR
    return c[keep], t[keep], first[keep]


def anonymous_visits(rng, clock: Clock, n_visitors: int):
    """Visitors who never sign up: 1.5 visits each, about ten days apart."""
    first = clock.sample(rng, n_visitors)
    k = rng.geometric(0.65, n_visitors)
    v = np.repeat(np.arange(n_visitors), k)
    pos = within(k)
    later = (rng.exponential(10, len(v)) * DAY).astype(np.int64) * (pos > 0)
    # cumulative gaps within each visitor
    cs = np.cumsum(later)
    t = first[v] + cs - np.repeat(cs[np.cumsum(k) - k], k)
    keep = t < clock.T - 4 * HOUR
    return v[keep], t[keep]


def landing(rng, channel: np.ndarray, home_weight: np.ndarray) -> np.ndarray:
    """Landing page type by channel (LANDING_MIX), with the home page's weight scaled."""
    lookup = np.full(len(CHANNELS) + 1, len(CH_ORDER) - 1)
    lookup[CH_CODES[:-1]] = np.arange(len(CH_ORDER) - 1)
    row = lookup[np.where(channel < 0, len(CHANNELS), channel)]
    p = LANDING_MIX[row].copy()
    p[:, 0] *= home_weight
    cum = np.cumsum(p / p.sum(1, keepdims=True), axis=1)
    u = rng.random(len(channel))
    return LANDINGS[np.minimum((u[:, None] > cum).sum(1), 4)]


def _visits(rng, clock: Clock, cust: Customers, leads: bool):
    """Who visits when: (customer or -1, anonymous id, start, first visit) per session."""
    c, t, first = visit_times(rng, clock, cust)
    # anonymous visitors: about 2.9 times as many sessions as customers, never sign up or buy
    n_anon = 0 if leads else int(round(2.9 * len(c) / 1.54))
    n = len(cust.t0)
    ids = rng.permutation(n + n_anon)  # anonymous (cookie) ids
    av, at = anonymous_visits(rng, clock, n_anon)
    s_cust = np.concatenate([c, np.full(len(av), -1)])
    s_anon = np.concatenate([ids[:n][c], ids[n:][av]])
    start = np.concatenate([t, at])
    first = np.concatenate([first, np.zeros(len(av), bool)])
    return s_cust, s_anon, start, first


def _arrival(rng, cust: Customers, beh: Behaviour, first, is_c, cc):
    """Channel, device and landing page of each session."""
    S = len(first)
    returning = CH_CODES[pick(rng, RETURN_MIX, S)]
    anonymous = CH_CODES[pick(rng, ANON_MIX, S)]
    channel = np.where(first, cust.acq[cc], np.where(is_c, returning, anonymous))
    device = np.where(is_c & (rng.random(S) < 0.75), cust.device[cc], pick(rng, DEVICE_MIX, S))
    # a weak home page turns fewer first visits into customers, so fewer of them started there
    page = landing(rng, channel, np.where(first, beh.home_first_visit, 1.0))
    return channel, device, page


def _bounce_p(beh: Behaviour, channel, page, is_c) -> np.ndarray:
    """Probability that a session is a single page view, by landing page, visitor and channel."""
    bounce_p = np.full(len(PAGE_TYPES), 0.4)
    for p_type, p in BOUNCE.items():
        bounce_p[PG[p_type]] = p
    bounce_p = np.where(
        is_c & (page == PG["home"]),
        beh.home_bounce_known,
        np.where(page == PG["home"], beh.home_bounce, bounce_p[page]),
    )
    if beh.paid_bounce is not None:
        # ads promise one thing, the page shows another: paid visitors off the home page leave
        paid = np.isin(channel, [CH[p] for p in PAID]) & (page != PG["home"])
        bounce_p = np.where(paid, beh.paid_bounce, bounce_p)
    return bounce_p


def _cart_probability(
    cust: Customers, cat: Catalog, beh: Behaviour, leads: bool, first, is_c, cc, start, page, p0
) -> np.ndarray:
    """Add-to-cart probability: likelier for a first visit, lower for anonymous visitors, scaled by the
    customer's intent, damped by a price above the product's original list price."""
    ratio = cat.price(p0, start) / cat.base[p0]
    later_factor = np.where(cust.segment[cc] & (start > cust.t0[cc] + 7 * DAY), 0.6, 1.0)
    # anonymous visitors who came to buy get past a weak home page anyway: carts per home visit
    # stay the same, the home page loses the undecided
    anon_cart = np.where(
        page == PG["home"], beh.cart_anon * (1 - HEALTHY_HOME_BOUNCE) / (1 - beh.home_bounce), beh.cart_anon
    )
    p_cart = np.where(
        first,
        beh.cart_anon if leads else beh.cart_first,
        np.where(is_c, beh.cart_rate * cust.intent[cc] * later_factor, anon_cart),
    )
    return np.minimum(p_cart * ratio**-beh.elasticity, 0.95)


def _cart_lines(rng, cat: Catalog, cart, fav, loyalty, p0):
    """Cart lines (session, product, position): 1-3 products, no product twice in a cart."""
    S = len(cart)
    n_lines = np.where(cart, 1 + rng.binomial(2, 0.2, S), 0)
    line_s = np.repeat(np.arange(S), n_lines)
    line_k = within(n_lines)
    line_p = np.where(line_k == 0, p0[line_s], cat.sample(rng, fav[line_s], loyalty[line_s]))
    # drop a repeated product inside the same cart
    order = np.lexsort((line_k, line_p, line_s))
    dup = ~group_start(line_s[order], line_p[order])
    keep = np.ones(len(line_s), bool)
    keep[order[dup]] = False
    line_s, line_p = line_s[keep], line_p[keep]
    return line_s, line_p, rank_in_group(line_s)


def _checkout(rng, beh: Behaviour, leads: bool, cart, device, first, is_c):
    """Who begins checkout, who pays, who signs up."""
    S = len(cart)
    # a broken mobile payment step: twice the shoppers reach it, half of them get through
    step = np.ones(len(DEVICES))
    step[DEVICES.index("mobile")] = beh.mobile_pay
    p_co = np.minimum(np.array(beh.checkout) / step, 0.95)
    checkout = cart & (rng.random(S) < p_co[device] * np.where(is_c, 1.0, 0.5))
    if leads:
        checkout &= ~first  # the sign-up visit of a lead buys nothing
    purchase = checkout & is_c & (rng.random(S) < (np.array(beh.pay) * step)[device])
    signup = first & (~purchase | (rng.random(S) < 0.5))
    return checkout, purchase, signup


def sessions(rng, clock: Clock, cust: Customers, cat: Catalog, beh: Behaviour, leads: bool = False) -> Sessions:
    """Visits of the customers plus anonymous visitors; `leads`: the customers are sign-ups from
    anonymous visits (no other visitors, the first visit never buys)."""
    s_cust, s_anon, start, first = _visits(rng, clock, cust, leads)
    S = len(start)
    is_c = s_cust >= 0
    cc = np.where(is_c, s_cust, 0)
    channel, device, page = _arrival(rng, cust, beh, first, is_c, cc)
    # bounce: a single page view; a customer's first visit always goes on (sign-up or order)
    engaged = first | (rng.random(S) >= _bounce_p(beh, channel, page, is_c))
    n_browse = np.where(engaged, 1 + np.minimum(rng.poisson(1.6, S), 11), 0)
    fav = np.where(is_c, cust.fav[cc], pick(rng, CAT_POP, S))
    loyalty = np.where(is_c, beh.cat_loyalty, 0.7)  # cross-selling: products off the favourite
    p0 = cat.sample(rng, fav, loyalty)
    p_cart = _cart_probability(cust, cat, beh, leads, first, is_c, cc, start, page, p0)
    cart = engaged & (rng.random(S) < p_cart)
    line_s, line_p, line_k = _cart_lines(rng, cat, cart, fav, loyalty, p0)
    checkout, purchase, signup = _checkout(rng, beh, leads, cart, device, first, is_c)
    return Sessions(
        s_cust,
        s_anon,
        start,
        channel,
        device,
        page,
        first,
        n_browse,
        checkout,
        purchase,
        signup,
        fav,
        line_s,
        line_p,
        line_k,
    )
