"""Deterministic demo shop: every contract table, with the planted mistakes switchable one by one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .contract import (
    CHANNELS, DEVICES, EVENT_TYPES, MESSAGE_CHANNELS, MESSAGE_TYPES, PAGE_TYPES, PANDAS_DTYPES,
    SURVEY_SCALES, TABLES,
)

# How the shop works: customers arrive over the period (growing, with a Christmas peak) and
# come back now and then; anonymous visitors (about 2.9 sessions for each customer session)
# browse but never buy; in a shop that asks for their e-mail about 1% of their sessions end in a
# sign-up (the sign-ups are appended as customers, see _add_leads). A session lands on a page, bounces or browses, may fill a
# cart and check out; every purchase event is an order. Abandoned carts may be reminded and
# bought in a later visit. Marketing e-mail runs on a weekly grid; unsubscribes grow with the
# week's contacts. Service mail, tickets, surveys, reviews and referrals follow the orders.
# The planted mistakes only change behaviour (see _Behaviour), never add a flag column.

# One mistake per check of the catalogue (docs/planted_mistakes.md: the check each one serves,
# its measure and the planted and healthy figures).
MISTAKES = (
    "weak_homepage", "unreminded_carts", "over_contacting",
    # reach
    "untracked_traffic", "one_channel", "costly_acquisition", "no_earned_reach",
    # acquisition
    "mismatched_landing_pages", "price_rise_churn", "welcome_out_of_step", "no_lead_capture",
    # conversion
    "broken_checkout_step", "no_customer_research", "no_thank_you", "irrelevant_offers",
    # retention
    "no_post_purchase_contact", "no_repeat_purchase", "no_onboarding", "slow_support",
    "unheard_detractors", "weak_first_product",
    # loyalty
    "unrecognised_loyal", "no_referral_program", "no_review_requests",
    # win-back
    "unnoticed_churn", "endless_winback", "no_suppression", "no_channel_fallback",
)
PROFILES = ("planted", "healthy")
_PROFILE_MISTAKES = {"planted": frozenset(MISTAKES), "healthy": frozenset()}

MIN, HOUR, DAY, WEEK = 60, 3600, 86400, 7 * 86400
NA = -(2 ** 62)          # "no time" in the int64 second arrays (times are seconds since the start)

# Vocabulary codes (index into the contract's tuples; -1 means null).
CH = {c: i for i, c in enumerate(CHANNELS)}
EV = {e: i for i, e in enumerate(EVENT_TYPES)}
PG = {p: i for i, p in enumerate(PAGE_TYPES)}
MC = {c: i for i, c in enumerate(MESSAGE_CHANNELS)}
MT = {t: i for i, t in enumerate(MESSAGE_TYPES)}

# Catalogue: 8 categories, 15 products each, with a typical list price and a share of demand.
CATEGORIES = ("apparel", "shoes", "accessories", "beauty", "home", "sports", "kids", "electronics")
CAT_PRICE = np.array([39, 79, 25, 19, 45, 55, 29, 99], dtype=float)
CAT_POP = np.array([0.22, 0.14, 0.12, 0.12, 0.12, 0.10, 0.08, 0.10])
PER_CATEGORY = 15
_CATS_OF_PRODUCT = np.append(np.repeat(np.arange(len(CATEGORIES)), PER_CATEGORY), -1)  # [-1] -> null

COUNTRIES = ("DE", "AT", "CH", "NL", "FR", "BE", "IT", "PL")
COUNTRY_MIX = [0.52, 0.13, 0.11, 0.08, 0.05, 0.04, 0.03, 0.02, 0.02]          # last: unknown

_CH_ORDER = ("organic_search", "paid_search", "paid_social", "organic_social", "email",
             "referral", "direct", "affiliate", "display", None)
_CH_CODES = np.array([CH[c] if c else -1 for c in _CH_ORDER])
ACQ_MIX = [0.23, 0.17, 0.12, 0.07, 0.03, 0.06, 0.15, 0.06, 0.07, 0.04]       # first touch of customers
ANON_MIX = [0.28, 0.16, 0.16, 0.08, 0.01, 0.02, 0.14, 0.05, 0.07, 0.03]      # visitors who never sign up
RETURN_MIX = [0.22, 0.10, 0.05, 0.05, 0.16, 0.01, 0.31, 0.04, 0.03, 0.03]    # customers coming back
PAID = ("paid_search", "paid_social", "display", "affiliate")
CPC = np.array([0.85, 0.65, 0.30, 0.35])                                    # cost per session, EUR

# Landing page by channel (rows in _CH_ORDER): home, landing, category, product, content.
_LANDINGS = np.array([PG["home"], PG["landing"], PG["category"], PG["product"], PG["content"]])
LANDING_MIX = np.array([
    [.38, .03, .22, .25, .12], [.22, .35, .13, .30, .00], [.20, .45, .10, .25, .00],
    [.30, .08, .14, .23, .25], [.35, .30, .15, .20, .00], [.65, .08, .10, .12, .05],
    [.82, .00, .09, .07, .02], [.25, .30, .15, .30, .00], [.25, .45, .15, .15, .00],
    [.55, .05, .18, .17, .05],
])
# Bounce probability by landing page (home is set by the profile).
BOUNCE = {"landing": 0.38, "category": 0.40, "product": 0.41, "content": 0.46}
HEALTHY_HOME_BOUNCE = 0.31

DEVICE_MIX = [0.38, 0.55, 0.06, 0.01]                                        # desktop, mobile, tablet, other
HOUR_W = np.array([.6, .35, .2, .15, .15, .25, .6, 1.2, 1.8, 2.2, 2.4, 2.6,
                   3.0, 2.9, 2.6, 2.5, 2.6, 2.9, 3.3, 3.9, 4.3, 4.2, 3.2, 1.6])
NPS_DIST = np.array([.01, .01, .02, .03, .03, .05, .07, .10, .18, .22, .28])  # score 0..10
RATING_DIST = np.array([.05, .05, .10, .25, .55])                              # rating 1..5
# Unsubscribe rate per marketing e-mail by the customer's marketing e-mails that week (1, 2, 3,
# 4+): annoyance builds up over the week and the customer quits on the week's last mail.
UNSUB_PER_MAIL = np.array([0.0012, 0.002, 0.008, 0.025])
DOOR_OPENER = CATEGORIES.index("beauty")   # the cheap category paid ads push (weak_first_product)


@dataclass(frozen=True)
class _Behaviour:
    """The knobs that differ between a healthy shop and one with the planted mistakes."""

    home_bounce: float          # bounce of new visitors' sessions landing on the home page
    home_bounce_known: float    # bounce of returning customers' sessions landing on the home page
    home_first_visit: float     # weight of home as landing page of a future customer's first visit
    home_hesitation: float      # factor on the time to the first action after a home landing
    cart_rate: float            # add-to-cart probability of an engaged returning-customer session
    cart_first: float           # ... of a future customer's first visit
    cart_anon: float            # ... of an anonymous visitor's engaged session
    checkout: tuple             # P(begin checkout | cart) for desktop, mobile, tablet, other
    pay: tuple                  # P(purchase | checkout) for desktop, mobile, tablet, other
    remind_share: float         # share of abandoned carts (opted-in customers) that get a reminder
    remind_delay: tuple         # delay of the reminder, seconds (low, high)
    follow_up: bool             # second reminder ~24 h later when the first is not opened
    segment_share: float        # share of opted-in customers in the daily-promo segment
    newsletter_every: int       # newsletter every n-th week for everybody else
    promo_rate: float           # weekly probability of a promo for everybody else
    # --- the catalogue's other mistakes
    untracked: float            # share of sessions whose channel is not recorded
    concentrate: float          # share of non-earned first touches moved to paid search
    de_earn: float              # share of organic first touches replaced by paid ones
    cpc_factor: float           # factor on the cost per paid session
    paid_bounce: float | None   # bounce of paid sessions landing off the home page (None: as others)
    price_rise: tuple           # range of the factor of a price rise
    elasticity: float           # demand ~ (price / original price) ** -elasticity
    welcome_days: tuple         # days after sign-up of the welcome mails after the first
    lead_rate: float            # share of anonymous non-buying sessions that end in a sign-up
    lead_offer: bool            # sign-ups get a first-order code (welcome mail "FLOW-welcome-offer")
    mobile_pay: float           # factor on P(purchase | checkout) on mobile (checkout rate / it)
    surveys_current: bool       # NPS after first orders and a yearly wave
    thank_share: float          # share of orders thanked
    promo_match: float          # share of promos featuring the customer's favourite category
    pause_after_order: int      # days marketing mail pauses after an order (0: none)
    repeat_lapse: float         # share of first-time buyers who never come back
    onboard_share: float        # share of first orders with onboarding
    support_times: tuple        # median first response and resolution, seconds; mean handoffs
    detractor_callback: float   # share of detractors called back
    door_share: float           # share of paid-acquired customers drawn in by the door-opener category
    door_lapse: float           # share of buyers whose first order is a door-opener who never come back
    cat_loyalty: float          # share of a customer's cart products from their favourite category
    loyalty_share: float        # share of third orders that make the customer a member
    loyal_lapse: float          # share of unrecognised loyal customers who lapse after the 3rd order
    referral_kept: float        # share of referred customers still attributed (a programme)
    review_ask: float           # share of orders with a review request
    winback_repeaters: bool     # the win-back flow also covers customers with several orders
    winback_days: tuple         # days after the last order of the win-back mails
    suppress: bool              # no win-back to defaulters and bad reviewers
    postal_fallback: bool       # lapsed customers without e-mail get the win-back by post

    @classmethod
    def of(cls, mistakes: frozenset) -> _Behaviour:
        home = "weak_homepage" in mistakes
        carts = "unreminded_carts" in mistakes
        spam = "over_contacting" in mistakes
        return cls(
            # new visitors leave a home page without a reason to stay; customers know the way
            home_bounce=0.90 if home else HEALTHY_HOME_BOUNCE,
            home_bounce_known=0.42 if home else HEALTHY_HOME_BOUNCE,
            home_first_visit=0.4 if home else 1.0,
            home_hesitation=2.5 if home else 1.0,
            # a shop losing carts sees more of them (window shopping), so orders stay comparable
            cart_rate=0.50 if carts else 0.26,
            cart_first=0.90 if carts else 0.55,
            cart_anon=0.07 if carts else 0.04,
            checkout=(0.36, 0.25, 0.32, 0.28) if carts else (0.52, 0.45, 0.49, 0.45),
            pay=(0.50, 0.42, 0.46, 0.42) if carts else (0.78, 0.74, 0.76, 0.74),
            remind_share=0.13 if carts else 0.93,
            remind_delay=(2 * DAY, 4 * DAY) if carts else (1 * HOUR, 4 * HOUR),
            follow_up=not carts,
            # a shop that blasts a segment daily neglects the rest: a newsletter every 3rd week
            segment_share=0.20 if spam else 0.0,
            newsletter_every=3 if spam else 1,
            promo_rate=0.10 if spam else 0.5,
            # reach: the channel of 40% of the sessions is lost (no UTM tags, a broken tag)
            untracked=0.40 if "untracked_traffic" in mistakes else 0.0,
            # paid search swallows 80% of the non-earned first touches
            concentrate=0.80 if "one_channel" in mistakes else 0.0,
            # 80% of those who would have found the shop organically are bought through ads
            de_earn=0.80 if "no_earned_reach" in mistakes else 0.0,
            cpc_factor=4.0 if "costly_acquisition" in mistakes else 1.0,
            # acquisition
            paid_bounce=0.74 if "mismatched_landing_pages" in mistakes else None,
            price_rise=(1.20, 1.40) if "price_rise_churn" in mistakes else (1.05, 1.18),
            elasticity=6.0 if "price_rise_churn" in mistakes else 1.2,
            welcome_days=(1, 2) if "welcome_out_of_step" in mistakes else (5, 14, 30, 60, 90),
            # no sign-up box and no carrot: anonymous visitors leave no e-mail (only buyers and the
            # account sign-ups of first visits remain)
            lead_rate=0.0 if "no_lead_capture" in mistakes else 0.012,
            lead_offer="no_lead_capture" not in mistakes,
            # conversion: mobile payment fails half the time (more carts reach the checkout)
            mobile_pay=0.5 if "broken_checkout_step" in mistakes else 1.0,
            surveys_current="no_customer_research" not in mistakes,
            thank_share=0.12 if "no_thank_you" in mistakes else 1.0,
            promo_match=0.10 if "irrelevant_offers" in mistakes else 0.8,
            # retention
            pause_after_order=60 if "no_post_purchase_contact" in mistakes else 0,
            repeat_lapse=0.65 if "no_repeat_purchase" in mistakes else 0.0,
            onboard_share=0.05 if "no_onboarding" in mistakes else 0.95,
            support_times=(30 * HOUR, 60 * HOUR, 1.6) if "slow_support" in mistakes else (3 * HOUR, 8 * HOUR, 0.35),
            detractor_callback=0.08 if "unheard_detractors" in mistakes else 0.9,
            # ads sell a cheap door-opener whose buyers lapse; nothing sells them anything else
            door_share=0.4 if "weak_first_product" in mistakes else 0.0,
            door_lapse=0.2 if "weak_first_product" in mistakes else 0.0,
            cat_loyalty=0.96 if "weak_first_product" in mistakes else 0.7,
            # loyalty
            loyalty_share=0.08 if "unrecognised_loyal" in mistakes else 0.95,
            loyal_lapse=0.6 if "unrecognised_loyal" in mistakes else 0.0,
            referral_kept=0.08 if "no_referral_program" in mistakes else 1.0,
            review_ask=0.05 if "no_review_requests" in mistakes else 0.8,
            # win-back
            # the win-back flow only knows one-time buyers: repeat customers lapse unnoticed
            winback_repeaters="unnoticed_churn" not in mistakes,
            # ... and mails every 30 days for two years instead of stopping after the second
            winback_days=tuple(range(90, 731, 30)) if "endless_winback" in mistakes else (90, 120),
            suppress="no_suppression" not in mistakes,
            postal_fallback="no_channel_fallback" not in mistakes,
        )


def _resolve_mistakes(profile: str, mistakes: Iterable[str] | None) -> frozenset:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)}")
    if mistakes is None:
        return _PROFILE_MISTAKES[profile]
    if isinstance(mistakes, str):
        mistakes = [mistakes]
    chosen = frozenset(mistakes)
    unknown = sorted(chosen - set(MISTAKES))
    if unknown:
        raise ValueError(f"unknown mistake(s) {', '.join(map(repr, unknown))}; "
                         f"valid mistakes: {', '.join(MISTAKES)}")
    return chosen


# ---------------------------------------------------------------------------------------------
# Small vectorised helpers


def _within(counts: np.ndarray) -> np.ndarray:
    """Position of each row inside its group for np.repeat(groups, counts)."""
    counts = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(counts)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - counts, counts)


def _group_start(*keys: np.ndarray) -> np.ndarray:
    """True where a sorted run of equal keys starts."""
    n = len(keys[0])
    start = np.ones(n, dtype=bool)
    if n > 1:
        change = np.zeros(n - 1, dtype=bool)
        for k in keys:
            change |= k[1:] != k[:-1]
        start[1:] = change
    return start


def _head(start: np.ndarray) -> np.ndarray:
    """Index of the first row of each row's group, given where the groups start."""
    return np.maximum.accumulate(np.where(start, np.arange(len(start)), 0))


def _rank_in_group(*keys: np.ndarray) -> np.ndarray:
    """0-based position of each row within its run of equal (sorted) keys."""
    start = _group_start(*keys)
    return np.arange(len(start)) - _head(start)


def _search(g_ref, t_ref, g_q, t_q, after: bool) -> np.ndarray:
    """Per query, index into the ref arrays of the same group's last ref at or before t_q
    (after=False) or first ref strictly after t_q (after=True); -1 when there is none."""
    shift = np.int64(2 ** 33)
    k_ref = g_ref.astype(np.int64) * shift + (t_ref + 2 ** 32)
    order = np.argsort(k_ref, kind="stable")
    k_sorted = k_ref[order]
    k_q = g_q.astype(np.int64) * shift + (t_q + 2 ** 32)
    pos = np.searchsorted(k_sorted, k_q, side="right") - (0 if after else 1)
    ok = (pos >= 0) & (pos < len(k_sorted))
    res = np.full(len(g_q), -1, dtype=np.int64)
    cand = order[pos[ok]]
    res[ok] = np.where(g_ref[cand] == g_q[ok], cand, -1)
    return res


def _pick(rng, probs, n) -> np.ndarray:
    return rng.choice(len(probs), size=n, p=np.asarray(probs) / np.sum(probs))


def _lognormal_s(rng, median_s: float, sigma: float, n: int, lo: float, hi: float) -> np.ndarray:
    return np.clip(rng.lognormal(np.log(median_s), sigma, n), lo, hi).astype(np.int64)


class _Clock:
    """The audited period: seconds since `start`, with a daily traffic curve."""

    def __init__(self, end: str, months: int):
        if months < 1:
            raise ValueError("months must be at least 1")
        self.end_excl = pd.Timestamp(end).normalize() + pd.Timedelta(days=1)
        self.start = self.end_excl - pd.DateOffset(months=months)
        self.days = int((self.end_excl - self.start) / pd.Timedelta(days=1))
        self.T = self.days * DAY
        dates = pd.date_range(self.start, periods=self.days, freq="D")
        growth = 1.0 + np.arange(self.days) / self.days                         # traffic doubles
        doy = dates.day_of_year.to_numpy()
        season = 1 + 0.6 * np.exp(-((doy - 342) / 15.0) ** 2) + 0.3 * np.exp(-((doy - 331) / 3.0) ** 2)
        weekday = np.array([1.05, 1.0, 1.0, 0.98, 0.95, 0.92, 1.1])[dates.day_of_week]
        w = growth * season * weekday
        self.day_p = w / w.sum()
        self.monday0 = -int(self.start.weekday()) * DAY                       # week grid anchor
        self.start_us = self.start.value // 1000

    def sample(self, rng, n: int) -> np.ndarray:
        """n visit times following growth, season, weekday and time of day."""
        day = rng.choice(self.days, size=n, p=self.day_p)
        return day * DAY + self.time_of_day(rng, n)

    @staticmethod
    def time_of_day(rng, n: int) -> np.ndarray:
        return _pick(rng, HOUR_W, n) * HOUR + rng.integers(0, HOUR, n)

    def ts(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.int64)
        na = t == NA
        us = np.where(na, np.iinfo(np.int64).min, self.start_us + np.where(na, 0, t) * 1_000_000)  # min = NaT
        return us.view("datetime64[us]")


# ---------------------------------------------------------------------------------------------
# Catalogue and prices


class _Catalog:
    def __init__(self, rng, clock: _Clock, rise: tuple = (1.05, 1.18)):
        n = len(CATEGORIES) * PER_CATEGORY
        self.n = n
        self.cat = np.repeat(np.arange(len(CATEGORIES)), PER_CATEGORY)
        self.base = np.maximum(np.round(CAT_PRICE[self.cat] * rng.lognormal(0, 0.35, n)) - 0.01, 2.99)
        # popularity within a category: a few best sellers, a long tail
        rank = rng.permuted(np.tile(np.arange(PER_CATEGORY), (len(CATEGORIES), 1)), axis=1).ravel()
        pop = 1.0 / (1 + rank) ** 0.9
        within = pop / np.bincount(self.cat, pop)[self.cat]
        self.cum = np.cumsum(within)                     # category c spans (c, c + 1]
        self.cum[PER_CATEGORY - 1::PER_CATEGORY] = np.arange(1, len(CATEGORIES) + 1)
        # price history: an initial list price, then 0-4 changes (rises more often than cuts)
        k = rng.binomial(4, 0.35, n)
        prod = np.repeat(np.arange(n), k)
        lo = min(30, clock.days // 4)
        day = rng.integers(lo, max(lo + 1, clock.days - 7), len(prod))
        order = np.lexsort((day, prod))
        prod, day = prod[order], day[order]
        keep = _group_start(prod, day)
        prod, day = prod[keep], day[keep]
        up = rng.random(len(prod)) < 0.6
        factor = np.where(up, rng.uniform(rise[0], rise[1], len(prod)), rng.uniform(0.82, 0.95, len(prod)))
        # cumulative product of the factors within a product
        logf = np.log(factor)
        cs = np.cumsum(logf)
        first = _group_start(prod)
        cumf = np.exp(cs - (cs - logf)[_head(first)])
        new_price = np.maximum(np.round(self.base[prod] * cumf) - 0.01, 1.99)
        init_day = -rng.integers(30, 400, n)
        self.p_prod = np.concatenate([np.arange(n), prod])
        self.p_day = np.concatenate([init_day, day])
        self.p_price = np.concatenate([self.base, new_price])
        order = np.lexsort((self.p_day, self.p_prod))
        self.p_prod, self.p_day, self.p_price = self.p_prod[order], self.p_day[order], self.p_price[order]

    def sample(self, rng, fav: np.ndarray, loyalty: float = 0.7) -> np.ndarray:
        """A product per row: from the row's favourite category with probability `loyalty`."""
        n = len(fav)
        cat = np.where(rng.random(n) < loyalty, fav, _pick(rng, CAT_POP, n))
        return np.searchsorted(self.cum, cat + rng.random(n) * 0.999999, side="right")

    def price(self, prod: np.ndarray, t: np.ndarray) -> np.ndarray:
        """List price of each product at time t (prices change at midnight)."""
        i = _search(self.p_prod, self.p_day * DAY, prod, t, after=False)
        return self.p_price[i]


# ---------------------------------------------------------------------------------------------
# Customers and sessions


@dataclass
class _Customers:
    t0: np.ndarray            # first visit (= first_seen_at)
    acq: np.ndarray           # first-touch channel code, -1 unknown
    country: np.ndarray
    opt_in: np.ndarray
    fav: np.ndarray           # favourite category
    device: np.ndarray        # main device
    visits: np.ndarray        # expected return visits
    life: np.ndarray          # days over which return visits fade
    intent: np.ndarray        # buying intent multiplier
    segment: np.ndarray       # in the daily-promo segment (over-contacting)
    dead_at: np.ndarray       # e-mail address starts to bounce (NA: never)
    sms: np.ndarray           # gets shipping notices by SMS
    lead: np.ndarray = None   # signed up from an anonymous visit (first_seen_at: the sign_up event)
    offer: np.ndarray = None  # got a first-order code with the welcome mail


def _customers(rng, clock: _Clock, n: int, beh: _Behaviour) -> _Customers:
    # ids follow the first visit, so C000001 is the oldest customer
    t0 = np.sort(np.minimum(clock.sample(rng, n), clock.T - 6 * HOUR))
    acq = _CH_CODES[_pick(rng, ACQ_MIX, n)]
    acq[(acq == CH["referral"]) & (t0 < 21 * DAY)] = CH["organic_search"]     # nobody to refer them yet
    opt_in = rng.random(n) < 0.70
    dead = rng.random(n) < 0.025
    intent = np.minimum(rng.gamma(1.5, 1 / 1.5, n), 3.0)   # keen buyers also come back more often
    return _Customers(
        t0=t0, acq=acq,
        country=np.array(list(range(len(COUNTRIES))) + [-1])[_pick(rng, COUNTRY_MIX, n)],
        opt_in=opt_in,
        fav=_pick(rng, CAT_POP, n),
        device=_pick(rng, DEVICE_MIX, n),
        visits=np.minimum(rng.gamma(0.9, 7.5, n) * (0.4 + 0.6 * intent), 30.0),
        life=rng.uniform(45, 300, n),
        intent=intent,
        segment=opt_in & (rng.random(n) < beh.segment_share),
        dead_at=np.where(dead, t0 + (rng.random(n) * (clock.T - t0)).astype(np.int64), NA),
        sms=rng.random(n) < 0.4,
        lead=np.zeros(n, bool), offer=np.zeros(n, bool),
    )


@dataclass
class _Sessions:
    cust: np.ndarray          # customer index, -1 for anonymous visitors
    anon: np.ndarray          # anonymous visitor index
    start: np.ndarray
    channel: np.ndarray
    device: np.ndarray
    landing: np.ndarray
    first: np.ndarray         # a customer's first visit (sign-up or first order)
    n_browse: np.ndarray
    checkout: np.ndarray
    purchase: np.ndarray
    signup: np.ndarray
    fav: np.ndarray
    line_s: np.ndarray        # cart lines: session index, product, position
    line_p: np.ndarray
    line_k: np.ndarray

    def __len__(self):
        return len(self.start)


def _visit_times(rng, clock: _Clock, cust: _Customers):
    """A customer's visits: the first one, then return visits fading out over their life."""
    n = len(cust.t0)
    k = rng.poisson(cust.visits)
    c = np.repeat(np.arange(n), k)
    t = cust.t0[c] + (rng.exponential(cust.life[c]) * DAY).astype(np.int64)
    t = (t // DAY) * DAY + clock.time_of_day(rng, len(c))                       # usual hours
    same_day = t <= cust.t0[c] + 30 * MIN
    t = np.where(same_day, cust.t0[c] + 30 * MIN + rng.integers(0, 6 * HOUR, len(c)), t)
    c = np.concatenate([np.arange(n), c])
    t = np.concatenate([cust.t0, t])
    first = np.concatenate([np.ones(n, bool), np.zeros(len(t) - n, bool)])
    order = np.lexsort((~first, t, c))
    c, t, first = c[order], t[order], first[order]
    # at least 45 minutes between two visits of the same customer
    gap, big = 45 * MIN, np.int64(2 ** 36)
    pos = _rank_in_group(c)
    key = np.maximum.accumulate(c * big + t - pos * gap)
    t = key - c * big + pos * gap
    keep = t < clock.T - 4 * HOUR
    return c[keep], t[keep], first[keep]


def _anonymous_visits(rng, clock: _Clock, n_visitors: int):
    """Visitors who never sign up: 1.5 visits each, about ten days apart."""
    first = clock.sample(rng, n_visitors)
    k = rng.geometric(0.65, n_visitors)
    v = np.repeat(np.arange(n_visitors), k)
    pos = _within(k)
    later = (rng.exponential(10, len(v)) * DAY).astype(np.int64) * (pos > 0)
    # cumulative gaps within each visitor
    cs = np.cumsum(later)
    t = first[v] + cs - np.repeat(cs[np.cumsum(k) - k], k)
    keep = t < clock.T - 4 * HOUR
    return v[keep], t[keep]


def _landing(rng, channel: np.ndarray, home_weight: np.ndarray) -> np.ndarray:
    """Landing page type by channel (LANDING_MIX), with the home page's weight scaled."""
    lookup = np.full(len(CHANNELS) + 1, len(_CH_ORDER) - 1)
    lookup[_CH_CODES[:-1]] = np.arange(len(_CH_ORDER) - 1)
    row = lookup[np.where(channel < 0, len(CHANNELS), channel)]
    p = LANDING_MIX[row].copy()
    p[:, 0] *= home_weight
    cum = np.cumsum(p / p.sum(1, keepdims=True), axis=1)
    u = rng.random(len(channel))
    return _LANDINGS[np.minimum((u[:, None] > cum).sum(1), 4)]


def _sessions(rng, clock: _Clock, cust: _Customers, cat: _Catalog, beh: _Behaviour,
              leads: bool = False) -> _Sessions:
    """Visits of the customers plus anonymous visitors; `leads`: the customers are sign-ups from
    anonymous visits (no other visitors, the first visit never buys)."""
    c, t, first = _visit_times(rng, clock, cust)
    # anonymous visitors: about 2.9 times as many sessions as customers, never sign up or buy
    n_anon = 0 if leads else int(round(2.9 * len(c) / 1.54))
    n = len(cust.t0)
    ids = rng.permutation(n + n_anon)                              # anonymous (cookie) ids
    av, at = _anonymous_visits(rng, clock, n_anon)
    S = len(c) + len(av)
    s_cust = np.concatenate([c, np.full(len(av), -1)])
    s_anon = np.concatenate([ids[:n][c], ids[n:][av]])
    start = np.concatenate([t, at])
    first = np.concatenate([first, np.zeros(len(av), bool)])
    is_c = s_cust >= 0
    cc = np.where(is_c, s_cust, 0)

    returning = _CH_CODES[_pick(rng, RETURN_MIX, S)]
    anonymous = _CH_CODES[_pick(rng, ANON_MIX, S)]
    channel = np.where(first, cust.acq[cc], np.where(is_c, returning, anonymous))
    device = np.where(is_c & (rng.random(S) < 0.75), cust.device[cc], _pick(rng, DEVICE_MIX, S))
    # a weak home page turns fewer first visits into customers, so fewer of them started there
    landing = _landing(rng, channel, np.where(first, beh.home_first_visit, 1.0))

    # bounce: a single page view; a customer's first visit always goes on (sign-up or order)
    bounce_p = np.full(len(PAGE_TYPES), 0.4)
    for page, p in BOUNCE.items():
        bounce_p[PG[page]] = p
    bounce_p = np.where(is_c & (landing == PG["home"]), beh.home_bounce_known, np.where(
        landing == PG["home"], beh.home_bounce, bounce_p[landing]))
    if beh.paid_bounce is not None:
        # ads promise one thing, the page shows another: paid visitors off the home page leave
        paid = np.isin(channel, [CH[p] for p in PAID]) & (landing != PG["home"])
        bounce_p = np.where(paid, beh.paid_bounce, bounce_p)
    engaged = first | (rng.random(S) >= bounce_p)
    n_browse = np.where(engaged, 1 + np.minimum(rng.poisson(1.6, S), 11), 0)
    fav = np.where(is_c, cust.fav[cc], _pick(rng, CAT_POP, S))

    # add to cart: likelier for a first visit, lower for anonymous visitors, scaled by the
    # customer's intent, damped by a price above the product's original list price
    loyalty = np.where(is_c, beh.cat_loyalty, 0.7)      # cross-selling: products off the favourite
    p0 = cat.sample(rng, fav, loyalty)
    ratio = cat.price(p0, start) / cat.base[p0]
    later_factor = np.where(cust.segment[cc] & (start > cust.t0[cc] + 7 * DAY), 0.6, 1.0)
    # anonymous visitors who came to buy get past a weak home page anyway: carts per home visit
    # stay the same, the home page loses the undecided
    anon_cart = np.where(landing == PG["home"],
                         beh.cart_anon * (1 - HEALTHY_HOME_BOUNCE) / (1 - beh.home_bounce), beh.cart_anon)
    p_cart = np.where(first, beh.cart_anon if leads else beh.cart_first,
                      np.where(is_c, beh.cart_rate * cust.intent[cc] * later_factor, anon_cart))
    p_cart = np.minimum(p_cart * ratio ** -beh.elasticity, 0.95)
    cart = engaged & (rng.random(S) < p_cart)
    n_lines = np.where(cart, 1 + rng.binomial(2, 0.2, S), 0)
    line_s = np.repeat(np.arange(S), n_lines)
    line_k = _within(n_lines)
    line_p = np.where(line_k == 0, p0[line_s], cat.sample(rng, fav[line_s], loyalty[line_s]))
    # drop a repeated product inside the same cart
    order = np.lexsort((line_k, line_p, line_s))
    dup = ~_group_start(line_s[order], line_p[order])
    keep = np.ones(len(line_s), bool)
    keep[order[dup]] = False
    line_s, line_p = line_s[keep], line_p[keep]
    line_k = _rank_in_group(line_s)

    # a broken mobile payment step: twice the shoppers reach it, half of them get through
    step = np.ones(len(DEVICES))
    step[DEVICES.index("mobile")] = beh.mobile_pay
    p_co = np.minimum(np.array(beh.checkout) / step, 0.95)
    checkout = cart & (rng.random(S) < p_co[device] * np.where(is_c, 1.0, 0.5))
    if leads:
        checkout &= ~first                  # the sign-up visit of a lead buys nothing
    purchase = checkout & is_c & (rng.random(S) < (np.array(beh.pay) * step)[device])
    signup = first & (~purchase | (rng.random(S) < 0.5))
    return _Sessions(s_cust, s_anon, start, channel, device, landing, first, n_browse,
                     checkout, purchase, signup, fav, line_s, line_p, line_k)


@dataclass
class _Events:
    sidx: np.ndarray
    etype: np.ndarray
    page: np.ndarray
    prod: np.ndarray
    t: np.ndarray
    cart_time: np.ndarray     # per session: first add_to_cart, NA if none
    buy_time: np.ndarray      # per session: purchase event, NA if none


def _events(rng, s: _Sessions, cat: _Catalog, beh: _Behaviour) -> _Events:
    """Expand sessions into ordered events with realistic gaps (seconds to minutes)."""
    S = len(s)
    idx = np.arange(S)
    parts = []

    def add(sidx, rank, etype, page, prod=None):
        parts.append((sidx, np.broadcast_to(np.int64(rank), sidx.shape) if np.isscalar(rank) else rank,
                      np.broadcast_to(etype, sidx.shape), np.broadcast_to(page, sidx.shape),
                      np.full(len(sidx), -1) if prod is None else prod))

    add(idx, 0, EV["page_view"], s.landing)
    add(idx[s.signup], 1, EV["sign_up"], PG["other"])
    b = np.repeat(idx, s.n_browse)
    j = _within(s.n_browse)
    is_prod = rng.random(len(b)) < 0.6
    prod = np.where(is_prod, cat.sample(rng, s.fav[b], 0.6), -1)
    other = np.where(rng.random(len(b)) < 0.75, PG["category"], PG["content"])
    page = np.where(is_prod, PG["product"], other)
    add(b, 10 + j, np.where(is_prod, EV["product_view"], EV["page_view"]), page, prod)
    add(s.line_s, 100 + 2 * s.line_k, EV["product_view"], PG["product"], s.line_p)
    add(s.line_s, 101 + 2 * s.line_k, EV["add_to_cart"], PG["product"], s.line_p)
    co = idx[s.checkout & (s.landing != PG["cart"])]
    add(co, 190, EV["page_view"], PG["cart"])
    add(idx[s.checkout], 200, EV["begin_checkout"], PG["checkout"])
    add(idx[s.purchase], 201, EV["purchase"], PG["checkout"])

    sidx, rank, etype, page, prod = (np.concatenate([p[i] for p in parts]) for i in range(5))
    order = np.argsort(sidx * 256 + rank, kind="stable")
    sidx, rank, etype, page, prod = sidx[order], rank[order], etype[order], page[order], prod[order]

    gap = _lognormal_s(rng, 25, 0.9, len(sidx), 2, 600)
    gap = np.where(etype == EV["purchase"], _lognormal_s(rng, 100, 0.5, len(sidx), 20, 600), gap)
    first = _group_start(sidx)
    second = np.zeros(len(sidx), bool)
    second[1:] = first[:-1] & ~first[1:]
    slow = second & (s.landing[sidx] == PG["home"])
    gap = np.where(slow, (gap * beh.home_hesitation).astype(np.int64), gap)   # time to first action
    gap[first] = 0
    cs = np.cumsum(gap)
    t = s.start[sidx] + cs - cs[_head(first)]

    cart_time = np.full(S, NA)
    m = (etype == EV["add_to_cart"]) & (rank == 101)
    cart_time[sidx[m]] = t[m]
    buy_time = np.full(S, NA)
    m = etype == EV["purchase"]
    buy_time[sidx[m]] = t[m]
    return _Events(sidx, etype, page, prod, t, cart_time, buy_time)


# ---------------------------------------------------------------------------------------------
# Messages


class _Outbox:
    """Collects messages as column arrays; times in seconds, codes index the vocabularies."""

    def __init__(self):
        self.parts: list[dict] = []

    def add(self, cust, mtype, sent, channel="email", campaign=-1, category=-1, opened=None,
            clicked=None, unsub=None, complained=None, bounced=None):
        """mtype: a MESSAGE_TYPES name or an array of codes; bounced: bools, None for non-email."""
        n = len(cust)
        na = np.full(n, NA)

        def arr(x, fill):
            if x is None:
                return np.full(n, fill, dtype=np.int64)
            return np.broadcast_to(np.asarray(x, np.int64), (n,))

        self.parts.append(dict(
            cust=np.asarray(cust, np.int64), channel=arr(MC[channel], 0), campaign=arr(campaign, -1),
            mtype=arr(MT[mtype] if isinstance(mtype, str) else mtype, 0), category=arr(category, -1),
            sent=np.asarray(sent, np.int64),
            opened=na if opened is None else opened, clicked=na if clicked is None else clicked,
            unsub=na if unsub is None else unsub, complained=na if complained is None else complained,
            bounced=arr(bounced, -1)))

    def frame(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}


FLOWS = ("FLOW-welcome", "FLOW-cart-reminder", "FLOW-onboarding", "FLOW-review-request",
         "FLOW-winback", "FLOW-referral", "SURVEY-nps", "SURVEY-csat", "FLOW-welcome-offer")
FLOW = {f: i for i, f in enumerate(FLOWS)}


def _engage(rng, sent, p_open, p_click, bounced, T):
    """Open and click times of e-mails (NA when not opened / clicked / bounced / after the end)."""
    n = len(sent)
    opened = ~bounced & (rng.random(n) < p_open)
    t_open = np.where(opened, sent + _lognormal_s(rng, 2 * HOUR, 1.3, n, 30, 5 * DAY), NA)
    clicked = opened & (rng.random(n) < p_click)
    t_click = np.where(clicked, t_open + rng.integers(10, 10 * MIN, n), NA)
    t_open[t_open >= T] = NA
    t_click[(t_click >= T) | (t_open == NA)] = NA
    return t_open, t_click


def _marketing(rng, clock: _Clock, cust: _Customers, s: _Sessions, beh: _Behaviour, box: _Outbox,
               campaigns: dict, buy_time=None):
    """Newsletters and promos with unsubscribes; returns when each customer's e-mail went dead
    for marketing (unsubscribed, complained or bounced; NA when still reachable)."""
    W = (clock.T - clock.monday0) // WEEK + 1
    opt = np.flatnonzero(cust.opt_in)
    w_first = (cust.t0[opt] + DAY - clock.monday0) // WEEK
    k = np.maximum(W - w_first, 0)
    c = np.repeat(opt, k)
    w = np.repeat(w_first, k) + _within(k)
    week0 = clock.monday0 + w * WEEK
    seg = cust.segment[c]

    # everybody else: a newsletter on Tuesday morning, sometimes a promo on Thursday
    nl = ~seg & (w % beh.newsletter_every == 0)
    pr = ~seg & (rng.random(len(c)) < beh.promo_rate)
    parts_c = [c[nl], c[pr]]
    parts_w = [w[nl], w[pr]]
    parts_t = [week0[nl] + DAY + 9 * HOUR + rng.integers(0, 90 * MIN, nl.sum()),
               week0[pr] + 3 * DAY + rng.integers(10 * HOUR, 19 * HOUR, pr.sum())]
    parts_type = [np.full(nl.sum(), MT["newsletter"]), np.full(pr.sum(), MT["promo"])]
    # the segment: promos on 4 to 7 different days of every week
    sc, sw, s0 = c[seg], w[seg], week0[seg]
    kk = rng.integers(4, 8, len(sc))
    days = np.argsort(rng.random((len(sc), 7)), axis=1)
    take = np.arange(7)[None, :] < kk[:, None]
    rows = np.repeat(np.arange(len(sc)), kk)
    parts_c.append(sc[rows])
    parts_w.append(sw[rows])
    parts_t.append(s0[rows] + days[take] * DAY + rng.integers(8 * HOUR, 20 * HOUR, len(rows)))
    parts_type.append(np.full(len(rows), MT["promo"]))
    c, w, t, mtype = (np.concatenate(p) for p in (parts_c, parts_w, parts_t, parts_type))

    # after the welcome mail, before the end; stop 120 days after a customer's last visit
    keep = (t >= cust.t0[c] + DAY) & (t < clock.T)
    c, w, t, mtype = c[keep], w[keep], t[keep], mtype[keep]
    last = _search(s.cust, s.start, c, t, after=False)
    keep = (last >= 0) & (t - s.start[np.maximum(last, 0)] <= 120 * DAY)
    c, w, t, mtype = c[keep], w[keep], t[keep], mtype[keep]
    if beh.pause_after_order and buy_time is not None:
        # buyers drop off the mailing list for weeks after each order
        b = np.flatnonzero(buy_time != NA)
        prev = _search(s.cust[b], buy_time[b], c, t, after=False)
        keep = (prev < 0) | (t - buy_time[b][np.maximum(prev, 0)] > beh.pause_after_order * DAY)
        c, w, t, mtype = c[keep], w[keep], t[keep], mtype[keep]
    order = np.lexsort((t, c))
    c, w, t, mtype = c[order], w[order], t[order], mtype[order]
    m = len(c)

    # promos mostly feature the customer's favourite category
    category = np.where(mtype == MT["promo"],
                        np.where(rng.random(m) < beh.promo_match, cust.fav[c], _pick(rng, CAT_POP, m)), -1)
    day = (t // DAY)
    promo_id = campaigns["promo"] + day * len(CATEGORIES) + np.maximum(category, 0)
    campaign = np.where(mtype == MT["promo"], promo_id, campaigns["newsletter"] + w)

    # unsubscribes and complaints rise with the number of marketing mails in the week; the
    # customer quits on the week's last mail, so the weekly count is never cut short
    wk = _group_start(c, w)
    grp = np.cumsum(wk) - 1
    per_week = np.bincount(grp)[grp]
    last = np.append(wk[1:], True)
    p_quit = np.where(last, per_week * UNSUB_PER_MAIL[np.minimum(per_week, 4) - 1], 0.0)
    bounced = (cust.dead_at[c] != NA) & (t >= cust.dead_at[c])
    u = rng.random(m)
    unsub = ~bounced & (u < p_quit)
    complaint = ~bounced & ~unsub & (u < p_quit * 1.2)
    stop = (unsub | complaint | bounced).astype(np.int64)
    # nothing is sent after the first unsubscribe, complaint or bounce
    cs = np.cumsum(stop)
    start = _group_start(c)
    before = cs - stop - (cs - stop)[_head(start)]
    keep = before == 0
    c, t, mtype, category, campaign, bounced, unsub, complaint = (
        x[keep] for x in (c, t, mtype, category, campaign, bounced, unsub, complaint))
    m = len(c)

    # the daily-promo segment tires: fewer opens; matching offers get more clicks
    p_open = np.where(cust.segment[c], 0.14, 0.27)
    p_click = np.where(mtype == MT["newsletter"], 0.10, np.where(category == cust.fav[c], 0.14, 0.06))
    t_open, t_click = _engage(rng, t, p_open, p_click, bounced, clock.T)
    t_open = np.where(unsub & (t_open == NA), t + _lognormal_s(rng, HOUR, 1.0, m, 30, 20 * HOUR), t_open)
    t_unsub = np.where(unsub, t_open + rng.integers(5, 5 * MIN, m), NA)
    t_click = np.where(unsub, NA, t_click)
    t_compl = np.where(complaint, t + _lognormal_s(rng, 3 * HOUR, 1.0, m, 60, 3 * DAY), NA)
    for x in (t_open, t_unsub, t_compl):
        x[x >= clock.T] = NA
    box.add(c, mtype, t, campaign=campaign, category=category, opened=t_open, clicked=t_click,
            unsub=t_unsub, complained=t_compl, bounced=bounced)

    # when could a customer no longer be reached by marketing e-mail
    gone = np.where(unsub, np.where(t_unsub == NA, t, t_unsub), np.where(complaint | bounced, t, NA))
    dead = np.where(cust.dead_at != NA, cust.dead_at, np.iinfo(np.int64).max)
    has = gone != NA
    np.minimum.at(dead, c[has], gone[has])
    return np.where(dead == np.iinfo(np.int64).max, NA, dead)


def _alive(t, c, dead):
    """Marketing e-mail still reachable at time t."""
    return (dead[c] == NA) | (t < dead[c])


def _cart_reminders(rng, clock: _Clock, cust: _Customers, s: _Sessions, ev: _Events, beh: _Behaviour,
                    box: _Outbox):
    """Abandoned-cart reminders and the carts they (or the customer alone) bring back.

    Returns the recovered carts: (cart session index, recovery session start, came via e-mail)."""
    carts = np.flatnonzero((s.cust >= 0) & (ev.cart_time != NA) & ~s.purchase)
    c = s.cust[carts]
    tc = ev.cart_time[carts]
    buys = np.flatnonzero(ev.buy_time != NA)
    nxt = _search(s.cust[buys], ev.buy_time[buys], c, tc, after=True)
    t_buy = np.where(nxt >= 0, ev.buy_time[buys][np.maximum(nxt, 0)], np.iinfo(np.int64).max)
    bought = t_buy <= tc + 7 * DAY                       # came back and bought anyway
    n = len(carts)

    # reminders go to opted-in customers as a service mail (a marketing unsubscribe does not
    # stop them) unless the cart was bought before the reminder was due
    send = tc + rng.integers(beh.remind_delay[0], beh.remind_delay[1], n)
    reminded = cust.opt_in[c] & (rng.random(n) < beh.remind_share) & (t_buy > send) & (send < clock.T)
    bounced = (cust.dead_at[c] != NA) & (send >= cust.dead_at[c])
    got = reminded & ~bounced
    # a reminder within 4 h brings ~18% of carts back, a late one ~5%, none ~3%
    p_back = np.where(got & (send - tc <= 4 * HOUR), 0.18, np.where(got, 0.05, 0.03))
    back = ~bought & (rng.random(n) < p_back)
    via_mail = back & got

    # first reminder: recovered carts are opened and clicked, the others opened now and then
    t_open, t_click = _engage(rng, send, 0.38, 0.2, bounced, clock.T)
    delay = _lognormal_s(rng, 1.5 * HOUR, 1.0, n, 2 * MIN, 20 * HOUR)
    t_open = np.where(via_mail, send + delay, t_open)
    t_click = np.where(via_mail, send + delay + rng.integers(30, 4 * MIN, n), t_click)
    ret = np.where(via_mail, t_click + rng.integers(10, 3 * MIN, n),
                   tc + rng.integers(3 * HOUR, int(6.5 * DAY), n))
    back &= (ret < tc + 7 * DAY - HOUR) & (ret < clock.T - 4 * HOUR)
    via_mail &= back
    t_open = np.where(t_open >= clock.T, NA, t_open)
    t_click = np.where((t_click >= clock.T) | (t_open == NA), NA, t_click)
    first_line = np.full(len(s), -1)
    first_line[s.line_s[s.line_k == 0]] = s.line_p[s.line_k == 0]
    category = _CATS_OF_PRODUCT[first_line[carts]]
    r = reminded
    box.add(c[r], "abandoned_cart", send[r], campaign=FLOW["FLOW-cart-reminder"], category=category[r],
            opened=t_open[r], clicked=t_click[r], bounced=bounced[r])

    # follow-up ~24 h later when the first one was not opened and nothing was bought
    if beh.follow_up:
        send2 = send + DAY + rng.integers(-30 * MIN, 30 * MIN, n)
        f = reminded & (t_open == NA) & ~back & (t_buy > send2) & (send2 < clock.T)
        b2 = (cust.dead_at[c] != NA) & (send2 >= cust.dead_at[c])
        o2, k2 = _engage(rng, send2, 0.33, 0.15, b2, clock.T)
        box.add(c[f], "abandoned_cart", send2[f], campaign=FLOW["FLOW-cart-reminder"], category=category[f],
                opened=o2[f], clicked=k2[f], bounced=b2[f])
    return carts[back], ret[back], via_mail[back]


def _recovery_sessions(s: _Sessions, carts, start, via_mail) -> _Sessions:
    """The visit that buys a recovered cart: lands on the cart, checks out, pays."""
    r = len(carts)
    # cart lines of the original sessions, re-numbered to the recovery sessions
    pos = np.full(len(s), -1)
    pos[carts] = np.arange(r)
    m = pos[s.line_s] >= 0
    line_s = pos[s.line_s[m]]
    order = np.lexsort((s.line_k[m], line_s))
    ones = np.ones(r, bool)
    return _Sessions(
        cust=s.cust[carts], anon=s.anon[carts], start=start,
        channel=np.where(via_mail, CH["email"], CH["direct"]), device=s.device[carts],
        landing=np.full(r, PG["cart"]), first=~ones, n_browse=np.zeros(r, np.int64),
        checkout=ones, purchase=ones, signup=~ones, fav=s.fav[carts],
        line_s=line_s[order], line_p=s.line_p[m][order], line_k=s.line_k[m][order])


# ---------------------------------------------------------------------------------------------
# Orders and everything that follows them


@dataclass
class _Orders:
    cust: np.ndarray
    t: np.ndarray
    rank: np.ndarray          # 0 for a customer's first order
    next_t: np.ndarray        # the customer's next order, or the end of the period
    cat: np.ndarray           # category of the first line
    revenue: np.ndarray
    discount: np.ndarray
    line_o: np.ndarray        # order lines: order index, product, unit price, quantity
    line_p: np.ndarray
    line_price: np.ndarray
    line_qty: np.ndarray

    def __len__(self):
        return len(self.t)


def _orders(rng, clock: _Clock, cat: _Catalog, s_cust, buy_time, line_s, line_p, line_k,
            code_until=None) -> _Orders:
    """One order per purchase event; its lines are the cart at the list price of the day."""
    o_s = np.flatnonzero(buy_time != NA)
    o_s = o_s[np.lexsort((o_s, buy_time[o_s]))]
    o_t, o_c = buy_time[o_s], s_cust[o_s]
    n = len(o_s)
    pos = np.full(len(s_cust), -1)
    pos[o_s] = np.arange(n)
    m = pos[line_s] >= 0
    order = np.lexsort((line_k[m], pos[line_s[m]]))
    l_o, l_p = pos[line_s[m]][order], line_p[m][order]
    price = cat.price(l_p, o_t[l_o])
    qty = 1 + (rng.random(len(l_o)) < 0.12) + (rng.random(len(l_o)) < 0.03)
    subtotal = np.bincount(l_o, price * qty, minlength=n)
    # a fifth of the orders use a 10% or 15% coupon
    coupon = rng.random(n) < 0.2
    discount = np.where(coupon, np.round(subtotal * np.where(rng.random(n) < 0.7, 0.10, 0.15), 2), 0.0)
    by_cust = np.lexsort((o_t, o_c))
    rank = np.empty(n, np.int64)
    rank[by_cust] = _rank_in_group(o_c[by_cust])
    if code_until is not None:
        # the welcome code: 10% off a first order within 30 days of the sign-up
        code = (rank == 0) & (o_t <= code_until[o_c])
        discount = np.where(code, np.round(subtotal * 0.10, 2), discount)
    first_line = _group_start(l_o)
    o_cat = np.full(n, -1)
    o_cat[l_o[first_line]] = _CATS_OF_PRODUCT[l_p[first_line]]
    nxt = _search(o_c, o_t, o_c, o_t, after=True)
    return _Orders(o_c, o_t, rank, np.where(nxt >= 0, o_t[np.maximum(nxt, 0)], clock.T), o_cat,
                   np.round(subtotal - discount, 2), discount, l_o, l_p, price, qty)


class _After:
    """Service messages, reviews, support and surveys; all the same in every profile."""

    def __init__(self, rng, clock: _Clock, cust: _Customers, orders: _Orders, box: _Outbox, dead,
                 beh: _Behaviour, xrng):
        self.rng, self.clock, self.cust, self.o, self.box, self.dead = rng, clock, cust, orders, box, dead
        self.beh, self.xrng = beh, xrng          # xrng: a separate stream for the added mistakes
        self.n = len(cust.t0)
        self.buyer = np.bincount(orders.cust, minlength=self.n) > 0
        self.default = self.buyer & (rng.random(self.n) < 0.04)          # did not pay
        self.postal = self.buyer | (rng.random(self.n) < 0.8)            # buyers gave an address

    def bounced(self, c, t):
        return (self.cust.dead_at[c] != NA) & (t >= self.cust.dead_at[c])

    def mail(self, c, mtype, t, flow=-1, category=-1, p_open=0.5, p_click=0.1):
        """E-mails sent before the end, with opens and clicks; flow: a name or campaign codes."""
        keep = t < self.clock.T
        c, t = c[keep], t[keep]
        category = category[keep] if np.ndim(category) else category
        campaign = FLOW[flow] if isinstance(flow, str) else (flow[keep] if np.ndim(flow) else flow)
        b = self.bounced(c, t)
        o, k = _engage(self.rng, t, p_open, p_click, b, self.clock.T)
        self.box.add(c, mtype, t, campaign=campaign, category=category,
                     opened=o, clicked=k, bounced=b)

    def lifecycle(self):
        rng, cust, o, n_o = self.rng, self.cust, self.o, len(self.o)
        # welcome series for opted-in sign-ups: right away, then day 5 and 14 unless they bought
        oc = np.flatnonzero(cust.opt_in)
        first_order = np.full(self.n, np.iinfo(np.int64).max)
        np.minimum.at(first_order, o.cust, o.t)
        flow = np.where(cust.offer[oc], FLOW["FLOW-welcome-offer"], FLOW["FLOW-welcome"])
        self.mail(oc, "welcome", cust.t0[oc] + rng.integers(MIN, 10 * MIN, len(oc)), flow,
                  p_open=0.55, p_click=0.2)
        # the series runs through the weeks in which customers make up their mind (in step) or
        # is over after two days (out of step)
        for d in self.beh.welcome_days:
            r = rng if d in (5, 14) else self.xrng
            tw = cust.t0[oc] + d * DAY + r.integers(0, 2 * HOUR, len(oc))
            w = first_order[oc] > tw
            self.mail(oc[w], "welcome", tw[w], flow[w], p_open=0.45, p_click=0.12)
        # every order: a thank-you within minutes, a shipping notice by SMS for some
        thank = np.ones(n_o, bool) if self.beh.thank_share >= 1 else self.xrng.random(n_o) < self.beh.thank_share
        t_thank = o.t + rng.integers(30, 5 * MIN, n_o)
        self.mail(o.cust[thank], "thank_you", t_thank[thank], p_open=0.65, p_click=0.05)
        sms = cust.sms[o.cust]
        t = o.t[sms] + rng.integers(20 * HOUR, 48 * HOUR, sms.sum())
        self.box.add(o.cust[sms][t < self.clock.T], "transactional", t[t < self.clock.T], channel="sms")
        # onboarding after a first order, a review request after most orders
        f = np.flatnonzero((o.rank == 0) & (rng.random(n_o) < self.beh.onboard_share))
        self.mail(o.cust[f], "onboarding", o.t[f] + 3 * DAY + rng.integers(8 * HOUR, 12 * HOUR, len(f)),
                  "FLOW-onboarding", category=o.cat[f], p_open=0.45, p_click=0.15)
        self.review_req = np.flatnonzero(rng.random(n_o) < self.beh.review_ask)
        r = self.review_req
        self.review_req_t = o.t[r] + 12 * DAY + rng.integers(-2 * DAY, 2 * DAY, len(r))
        self.mail(o.cust[r], "review_request", self.review_req_t, "FLOW-review-request",
                  category=o.cat[r], p_open=0.4, p_click=0.2)

    def reviews(self):
        """~15% of review requests and ~2% of orders unprompted; at most one per order."""
        rng, o, T = self.rng, self.o, self.clock.T
        asked = self.review_req[(self.review_req_t < T) & (rng.random(len(self.review_req)) < 0.15)]
        rv = np.unique(np.concatenate([asked, np.flatnonzero(rng.random(len(o)) < 0.02)]))
        t = o.t[rv] + 12 * DAY + (rng.exponential(2.5, len(rv)) * DAY).astype(np.int64)
        keep = t < T
        self.rv_o, self.rv_t = rv[keep], t[keep]
        self.rv_rating = 1 + _pick(rng, RATING_DIST, keep.sum())
        self.bad_review = np.zeros(self.n, bool)
        self.bad_review[o.cust[self.rv_o][self.rv_rating <= 2]] = True

    def _ticket_times(self, t, resp_median, res_median, handoffs=0.35):
        k = len(t)
        first = t + _lognormal_s(self.rng, resp_median, 1.0, k, 2 * MIN, 5 * DAY)
        resolved = first + _lognormal_s(self.rng, res_median, 1.1, k, 5 * MIN, 14 * DAY)
        return first, resolved, np.minimum(self.rng.poisson(handoffs, k), 5)

    def support(self):
        """Tickets, NPS and CSAT surveys; detractors get a call-back ticket."""
        rng, cust, o, T = self.rng, self.cust, self.o, self.clock.T
        # NPS 30 days after a first order and a relationship wave after 9 months
        f = np.flatnonzero(o.rank == 0)
        wave = max(min(270 * DAY, T - 30 * DAY), 0)
        if not self.beh.surveys_current:
            # research stopped: one wave early in the period, nothing after first orders
            f, wave = f[:0], min(60 * DAY, T // 2)
        recent = np.unique(o.cust[(o.t < wave) & (o.t >= wave - 365 * DAY)])
        c = np.concatenate([o.cust[f], recent])
        t = np.concatenate([o.t[f] + 30 * DAY + rng.integers(0, 4 * HOUR, len(f)),
                            wave + 10 * HOUR + rng.integers(0, 2 * HOUR, len(recent))])
        keep = t < T
        nps_c, nps_t = c[keep], t[keep]
        answered = (rng.random(len(nps_c)) < 0.25) & ~self.bounced(nps_c, nps_t)
        delay = _lognormal_s(rng, 8 * HOUR, 1.2, len(nps_c), 5 * MIN, 6 * DAY)
        nps_rt = np.where(answered, nps_t + delay, NA)
        nps_rt[nps_rt >= T] = NA
        nps = np.where(nps_rt != NA, _pick(rng, NPS_DIST, len(nps_c)), -1)

        # tickets: questions after ~7% of orders and from ~1% of customers before buying
        tk_o = np.flatnonzero(rng.random(len(o)) < 0.07)
        pre = np.flatnonzero(rng.random(self.n) < 0.01)
        tc = np.concatenate([o.cust[tk_o], pre])
        tt = np.concatenate([o.t[tk_o] + rng.integers(DAY, 12 * DAY, len(tk_o)),
                             cust.t0[pre] + rng.integers(HOUR, 30 * DAY, len(pre))])
        tc, tt = tc[tt < T], tt[tt < T]
        fr, rs, hand = self._ticket_times(tt, *self.beh.support_times)
        # detractors (NPS <= 6) are called back within about a day
        det = np.flatnonzero((nps >= 0) & (nps <= 6) & (rng.random(len(nps)) < self.beh.detractor_callback))
        dt = nps_rt[det] + rng.integers(2 * HOUR, 30 * HOUR, len(det))
        det, dt = det[dt < T], dt[dt < T]
        dfr, drs, dh = self._ticket_times(dt, 20 * MIN, 6 * HOUR)
        tc, tt = np.concatenate([tc, nps_c[det]]), np.concatenate([tt, dt])
        fr, rs, hand = np.concatenate([fr, dfr]), np.concatenate([rs, drs]), np.concatenate([hand, dh])
        fr[fr >= T] = NA
        rs[(rs >= T) | (fr == NA)] = NA
        k = len(tc)
        # a CSAT survey after each resolved ticket; slow and passed-around tickets score lower
        cs_t = np.where(rs != NA, rs + HOUR + rng.integers(0, HOUR, k), NA)
        cs_t[cs_t >= T] = NA
        cs_rt = np.where((cs_t != NA) & (rng.random(k) < 0.35) & ~self.bounced(tc, cs_t),
                         cs_t + _lognormal_s(rng, 5 * HOUR, 1.1, k, 2 * MIN, 4 * DAY), NA)
        cs_rt[cs_rt >= T] = NA
        hours = np.where(rs != NA, (rs - tt) / HOUR, 24.0)
        raw = 4.6 - 0.5 * hand - 0.35 * np.log1p(hours / 12) + rng.normal(0, 0.8, k)
        csat = np.where(cs_rt != NA, np.clip(np.round(raw), 1, 5), np.nan)
        self.tickets = dict(c=tc, t=tt, first=fr, resolved=rs, handoffs=hand, csat=csat)

        # survey invitations by e-mail; answering counts as open and click
        sent = cs_t != NA
        self.surveys = dict(c=np.concatenate([nps_c, tc[sent]]), t=np.concatenate([nps_t, cs_t[sent]]),
                            rt=np.concatenate([nps_rt, cs_rt[sent]]),
                            score=np.concatenate([np.where(nps >= 0, nps, np.nan), csat[sent]]),
                            scale=np.repeat([0, 1], [len(nps_c), sent.sum()]))
        for c, t, rt, flow in ((nps_c, nps_t, nps_rt, "SURVEY-nps"),
                               (tc[sent], cs_t[sent], cs_rt[sent], "SURVEY-csat")):
            ans = rt != NA
            self.box.add(c, "survey", t, campaign=FLOW[flow], bounced=self.bounced(c, t),
                         opened=np.where(ans, np.maximum(t, rt - rng.integers(MIN, 10 * MIN, len(c))), NA),
                         clicked=np.where(ans, rt, NA))
        self.promoters = (nps_c[nps >= 9], nps_rt[nps >= 9])

    def marketing_flows(self):
        """Referral invites and win-back, only while marketing e-mail is allowed."""
        rng, cust, o, T, dead = self.rng, self.cust, self.o, self.clock.T, self.dead
        # referral invites after a second order and to promoters
        sec = np.flatnonzero(o.rank == 1)
        pc_, pt_ = self.promoters
        c = np.concatenate([o.cust[sec], pc_])
        t = np.concatenate([o.t[sec] + 3 * DAY + rng.integers(0, 6 * HOUR, len(sec)),
                            pt_ + DAY + rng.integers(0, 6 * HOUR, len(pc_))])
        ok = cust.opt_in[c] & _alive(t, c, dead) & (self.beh.referral_kept >= 1)   # a programme
        self.mail(c[ok], "referral_invite", t[ok], "FLOW-referral", p_open=0.35, p_click=0.12)
        # win-back 90 and 120 days after an order with no later order; never to customers who
        # did not pay or left a bad review; by post when the e-mail is dead and an address known
        beh = self.beh
        allowed = ~self.default[o.cust] & ~self.bad_review[o.cust] if beh.suppress else np.ones(len(o), bool)
        if not beh.winback_repeaters:
            allowed &= o.rank == 0
        for d in beh.winback_days:
            r = rng if d in (90, 120) else self.xrng
            t = o.t + d * DAY + r.integers(9 * HOUR, 11 * HOUR, len(o))
            due = allowed & (t < o.next_t) & (t < T)
            by_mail = due & cust.opt_in[o.cust] & _alive(t, o.cust, dead)
            self.mail(o.cust[by_mail], "winback", t[by_mail], "FLOW-winback", p_open=0.22, p_click=0.08)
            if d == 90 and beh.postal_fallback:
                post = due & ~by_mail & self.postal[o.cust]
                tp = t[post] + 5 * DAY
                self.box.add(o.cust[post][tp < T], "winback", tp[tp < T], channel="postal",
                             campaign=FLOW["FLOW-winback"])

    def loyalty(self):
        """Members from their third order; a few join at sign-up."""
        rng, o = self.rng, self.o
        third = np.flatnonzero((o.rank == 2) & (rng.random(len(o)) < self.beh.loyalty_share))
        since = np.full(self.n, NA)
        since[o.cust[third]] = o.t[third] + rng.integers(0, DAY, len(third))
        early = (since == NA) & (rng.random(self.n) < 0.03)
        since[early] = self.cust.t0[early] + rng.integers(MIN, HOUR, early.sum())
        since[since >= self.clock.T] = NA
        return since

    def referrals(self):
        """Customers who came by referral were invited by someone who had already bought."""
        rng, cust, o = self.rng, self.cust, self.o
        referred = np.flatnonzero(cust.acq == CH["referral"])
        first = np.flatnonzero(o.rank == 0)
        first = first[np.argsort(o.t[first], kind="stable")]
        earlier = np.searchsorted(o.t[first], cust.t0[referred], side="left")
        pick = np.minimum((rng.random(len(referred)) * earlier).astype(np.int64), max(len(first) - 1, 0))
        any_earlier = (rng.random(len(referred)) * referred).astype(np.int64)
        referrer = np.where(earlier > 0, o.cust[first][pick] if len(first) else any_earlier, any_earlier)
        ok = referrer != referred
        return referrer[ok], referred[ok]


def _first_touch(rng, acq: np.ndarray, beh: _Behaviour) -> np.ndarray:
    """First-touch channels as the shop's marketing shapes them (one_channel, no_earned_reach,
    no_referral_program); draws the same numbers whatever the behaviour."""
    n = len(acq)
    u1, u2, u3 = rng.random(n), rng.random(n), rng.random(n)
    paid = np.array([CH[p] for p in PAID])
    bought = paid[_pick(rng, [0.17, 0.12, 0.07, 0.06], n)]
    organic = np.isin(acq, [CH["organic_search"], CH["organic_social"]])
    acq = np.where(organic & (u1 < beh.de_earn), bought, acq)
    # without a programme, friends still come but are no longer attributed to a referrer
    acq = np.where((acq == CH["referral"]) & (u3 >= beh.referral_kept), CH["direct"], acq)
    other = ~np.isin(acq, [CH["organic_search"], CH["organic_social"], CH["referral"], -1])
    return np.where(other & (u2 < beh.concentrate), CH["paid_search"], acq)


def _lapse(rng, s: _Sessions, ev: _Events, beh: _Behaviour):
    """Customers who stop coming back: after their first order (no_repeat_purchase), after a
    first order of the door-opener category (weak_first_product) or after their third when
    loyalty goes unrewarded (unrecognised_loyal). Drops their later visits."""
    b = np.flatnonzero(ev.buy_time != NA)
    b = b[np.lexsort((ev.buy_time[b], s.cust[b]))]
    rank = _rank_in_group(s.cust[b])
    u1, u2, u3 = rng.random(len(b)), rng.random(len(b)), rng.random(len(b))
    first_line = np.full(len(s), -1)
    first_line[s.line_s[s.line_k == 0]] = s.line_p[s.line_k == 0]
    door = np.where(_CATS_OF_PRODUCT[first_line[b]] == DOOR_OPENER, beh.door_lapse, 0.0)
    cut = np.full(int(s.cust.max()) + 1, np.iinfo(np.int64).max)
    for r, u, share in ((0, u1, beh.repeat_lapse), (2, u2, beh.loyal_lapse), (0, u3, door)):
        hit = b[(rank == r) & (u < share)]
        np.minimum.at(cut, s.cust[hit], ev.buy_time[hit])
    keep = (s.cust < 0) | (s.start <= cut[np.maximum(s.cust, 0)])
    if keep.all():
        return s, ev
    new = np.cumsum(keep) - 1
    lm = keep[s.line_s]
    s2 = _Sessions(*(getattr(s, f)[keep] for f in ("cust", "anon", "start", "channel", "device", "landing",
                                                   "first", "n_browse", "checkout", "purchase", "signup", "fav")),
                   line_s=new[s.line_s[lm]], line_p=s.line_p[lm], line_k=s.line_k[lm])
    em = keep[ev.sidx]
    ev2 = _Events(new[ev.sidx[em]], ev.etype[em], ev.page[em], ev.prod[em], ev.t[em],
                  ev.cart_time[keep], ev.buy_time[keep])
    return s2, ev2


def _add_leads(rng, clock: _Clock, cust: _Customers, s: _Sessions, ev: _Events, cat: _Catalog,
               beh: _Behaviour):
    """Anonymous visitors who leave their e-mail (no_lead_capture): a share of the anonymous
    sessions ends in a sign-up; the sign-ups are appended as customers whose sign-up visit starts
    anonymous. With an offer (a first-order code in the welcome mail) they buy more often."""
    n_lead = int(rng.binomial(int((s.cust < 0).sum()), beh.lead_rate))
    if n_lead == 0:
        return cust, s, ev
    lc = _customers(rng, clock, n_lead, beh)
    lc.acq = _first_touch(rng, lc.acq, beh)
    lc.opt_in = rng.random(n_lead) < 0.85
    lc.segment = lc.opt_in & (rng.random(n_lead) < beh.segment_share)
    lc.lead = np.ones(n_lead, bool)
    lc.offer = lc.opt_in & beh.lead_offer                  # the code comes with the welcome mail
    lc.visits = lc.visits * np.where(lc.offer, 0.8, 0.5)
    lc.intent = lc.intent * np.where(lc.offer, 2.2, 0.6)
    ls = _sessions(rng, clock, lc, cat, beh, leads=True)
    le = _events(rng, ls, cat, beh)
    su = le.etype == EV["sign_up"]
    lc.t0 = lc.t0.copy()
    lc.t0[ls.cust[le.sidx[su]]] = le.t[su]               # first seen at the sign-up
    n, S = len(cust.t0), len(s)
    ls.cust = ls.cust + n
    ls.anon = ls.anon + int(s.anon.max()) + 1
    cat_ = np.concatenate
    s2 = _Sessions(*(cat_([getattr(s, f), getattr(ls, f)]) for f in (
        "cust", "anon", "start", "channel", "device", "landing", "first", "n_browse", "checkout",
        "purchase", "signup", "fav")), line_s=cat_([s.line_s, ls.line_s + S]),
        line_p=cat_([s.line_p, ls.line_p]), line_k=cat_([s.line_k, ls.line_k]))
    ev2 = _Events(cat_([ev.sidx, le.sidx + S]), *(cat_([getattr(ev, f), getattr(le, f)]) for f in (
        "etype", "page", "prod", "t", "cart_time", "buy_time")))
    cust2 = _Customers(**{f: cat_([getattr(cust, f), getattr(lc, f)]) for f in cust.__dataclass_fields__})
    return cust2, s2, ev2


def _spend(rng, clock: _Clock, channel, start, cpc_factor=1.0):
    """Paid sessions per day times the channel's cost per session, with some noise."""
    codes = np.array([CH[p] for p in PAID])
    lookup = np.full(len(CHANNELS) + 1, -1)
    lookup[codes] = np.arange(len(PAID))
    k = lookup[np.where(channel < 0, len(CHANNELS), channel)]
    cell = (start // DAY) * len(PAID) + k
    n = np.bincount(cell[k >= 0], minlength=clock.days * len(PAID)).reshape(clock.days, len(PAID))
    return codes, np.round(n * CPC * cpc_factor * rng.lognormal(0, 0.12, n.shape), 2)


# ---------------------------------------------------------------------------------------------
# Assembling the tables


def _ids(prefix: str, n: int, width: int) -> pa.Array:
    numbers = pa.array(np.arange(1, n + 1)).cast(pa.string())
    digits = pc.utf8_lpad(numbers, max(width, len(str(n))), padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _take(values, codes) -> pd.Series:
    """String column from a vocabulary (list or Arrow array) and codes; -1 -> null."""
    values = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    codes = np.asarray(codes, dtype=np.int64)
    return pd.Series(pd.arrays.ArrowStringArray(values.take(pa.array(codes, mask=codes < 0))))


def _bools(x, null=None) -> pd.Series:
    x = np.asarray(x, bool)
    return pd.Series(pd.arrays.BooleanArray(x, np.zeros(len(x), bool) if null is None else null))


def _frame(name: str, cols: dict) -> pd.DataFrame:
    """The table with the contract's columns, in order, in the contract's dtypes."""
    tbl = TABLES[name]
    df = pd.DataFrame({c: cols[c] for c in tbl.column_names})
    for col in tbl.columns:
        want = PANDAS_DTYPES[col.kind]
        if str(df[col.name].dtype) != want:
            df[col.name] = df[col.name].astype(want)
    return df


def _campaign_names(clock: _Clock) -> tuple[pa.Array, dict]:
    """Campaign ids: the flows, one newsletter per week, one promo per day and category."""
    weeks = (clock.T - clock.monday0) // WEEK + 1
    monday = clock.start + pd.to_timedelta(clock.monday0 + np.arange(weeks) * WEEK, unit="s")
    iso = monday.isocalendar()
    newsletters = [f"NL-{y}-W{w:02d}" for y, w in zip(iso.year, iso.week)]
    days = pd.date_range(clock.start, periods=clock.days, freq="D").strftime("%Y%m%d")
    promos = [f"PR-{d}-{c}" for d in days for c in CATEGORIES]
    offsets = {"newsletter": len(FLOWS), "promo": len(FLOWS) + weeks}
    return pa.array(list(FLOWS) + newsletters + promos, pa.string()), offsets


def generate(customers: int = 5000, seed: int = 7, profile: str = "planted",
             mistakes: Iterable[str] | None = None, end: str = "2026-09-30",
             months: int = 15) -> dict[str, pd.DataFrame]:
    """Every contract table of a demo shop; the same arguments give identical tables.

    `profile` "planted" switches on all of MISTAKES, "healthy" none; `mistakes` overrides
    the profile's set. The history covers `months` months up to and including `end`.
    """
    chosen = _resolve_mistakes(profile, mistakes)
    if customers < 50:
        raise ValueError("customers must be at least 50")
    beh = _Behaviour.of(chosen)
    clock = _Clock(end, months)
    # one random stream per part, so a switch in one part leaves the others' draws alone
    r_cat, r_cust, r_ses, r_ev, r_mail, r_cart, r_ord, r_after = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8))

    # separate streams for what the catalogue's other mistakes add, so switching one leaves
    # the draws of the original parts alone
    x_acq, x_lapse, x_after, x_track, x_lead, x_door = (
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(100 + k,))) for k in range(6))

    cat = _Catalog(r_cat, clock, beh.price_rise)
    cust = _customers(r_cust, clock, customers, beh)
    cust.acq = _first_touch(x_acq, cust.acq, beh)
    # weak_first_product: paid ads bring customers in with the door-opener category
    paid_acq = np.isin(cust.acq, [CH[p] for p in PAID])
    cust.fav = np.where(paid_acq & (x_door.random(customers) < beh.door_share), DOOR_OPENER, cust.fav)
    s = _sessions(r_ses, clock, cust, cat, beh)
    ev = _events(r_ev, s, cat, beh)
    cust, s, ev = _add_leads(x_lead, clock, cust, s, ev, cat, beh)
    s, ev = _lapse(x_lapse, s, ev, beh)
    campaign_vocab, offsets = _campaign_names(clock)
    box = _Outbox()
    dead = _marketing(r_mail, clock, cust, s, beh, box, offsets, ev.buy_time)
    carts, ret, via_mail = _cart_reminders(r_cart, clock, cust, s, ev, beh, box)
    rs = _recovery_sessions(s, carts, ret, via_mail)
    rev = _events(r_ev, rs, cat, beh)

    # all sessions: the visits plus those that came back to buy a recovered cart
    S0 = len(s)
    ses = {k: np.concatenate([getattr(s, k), getattr(rs, k)])
           for k in ("cust", "anon", "start", "channel", "device")}
    e = {k: np.concatenate([getattr(ev, k), getattr(rev, k) + (S0 if k == "sidx" else 0)])
         for k in ("sidx", "t", "etype", "page", "prod")}
    o = _orders(r_ord, clock, cat, ses["cust"], np.concatenate([ev.buy_time, rev.buy_time]),
                np.concatenate([s.line_s, rs.line_s + S0]), np.concatenate([s.line_p, rs.line_p]),
                np.concatenate([s.line_k, rs.line_k]), np.where(cust.offer, cust.t0 + 30 * DAY, -1))

    after = _After(r_after, clock, cust, o, box, dead, beh, x_after)
    after.lifecycle()
    after.reviews()
    after.support()
    after.marketing_flows()
    loyal = after.loyalty()
    referrer, referred = after.referrals()
    paid, amount = _spend(r_after, clock, ses["channel"], ses["start"], beh.cpc_factor)
    # untracked traffic: the channel of some sessions never reaches the analytics export, and a
    # customer whose first visit went untracked has no known first touch
    lost = x_track.random(len(ses["start"])) < beh.untracked
    channel_seen = np.where(lost, -1, ses["channel"])
    acq_seen = cust.acq.copy()
    fs = np.flatnonzero(s.first & (s.cust >= 0))
    acq_seen[s.cust[fs[lost[fs]]]] = -1

    # ------------------------------------------------------------------------------ tables
    # ids follow the first visit (C000001 is the oldest customer), sign-ups included
    n = len(cust.t0)
    by_seen = np.argsort(cust.t0, kind="stable")
    id_rank = np.empty(n, np.int64)
    id_rank[by_seen] = np.arange(n)
    cust_ids = _ids("C", n, 6).take(pa.array(id_rank))
    ses_no = np.empty(len(ses["start"]), np.int64)                 # S00000001 is the earliest visit
    ses_no[np.argsort(ses["start"], kind="stable")] = np.arange(len(ses_no))
    order_ids = _ids("O", len(o), 7)
    prod_ids = _ids("P", cat.n, 4)
    eo = np.lexsort((e["t"], ses_no[e["sidx"]]))
    si = e["sidx"][eo]
    # a sign-up from an anonymous visit: the events before the sign_up carry no customer_id
    ev_cust = ses["cust"][si]
    known = np.maximum(ev_cust, 0)
    ev_cust = np.where((ev_cust >= 0) & cust.lead[known] & (e["t"][eo] < cust.t0[known]), -1, ev_cust)
    tables = {}
    tables["customers"] = _frame("customers", {
        "customer_id": _take(cust_ids, by_seen),
        "first_seen_at": clock.ts(cust.t0[by_seen]),
        "acquisition_channel": _take(CHANNELS, acq_seen[by_seen]),
        "country": _take(COUNTRIES, cust.country[by_seen]),
        "email_opt_in": _bools(cust.opt_in[by_seen]),
        "has_postal_address": _bools(after.postal[by_seen]),
        "loyalty_member_since": clock.ts(loyal[by_seen]),
        "payment_default": _bools(after.default[by_seen]),
    })
    tables["events"] = _frame("events", {
        "session_id": _take(_ids("S", len(ses_no), 8), ses_no[si]),
        "customer_id": _take(cust_ids, ev_cust),
        "anonymous_id": _take(_ids("A", int(ses["anon"].max()) + 1, 8), ses["anon"][si]),
        "event_time": clock.ts(e["t"][eo]),
        "event_type": _take(EVENT_TYPES, e["etype"][eo]),
        "page_type": _take(PAGE_TYPES, e["page"][eo]),
        "channel": _take(CHANNELS, channel_seen[si]),
        "device": _take(DEVICES, ses["device"][si]),
        "product_id": _take(prod_ids, e["prod"][eo]),
        "category": _take(CATEGORIES, _CATS_OF_PRODUCT[e["prod"][eo]]),
    })
    tables["orders"] = _frame("orders", {
        "order_id": _take(order_ids, np.arange(len(o))),
        "customer_id": _take(cust_ids, o.cust),
        "order_time": clock.ts(o.t),
        "revenue": o.revenue,
        "discount": o.discount,
        "currency": _take(["EUR"], np.zeros(len(o), np.int64)),
    })
    tables["order_lines"] = _frame("order_lines", {
        "order_id": _take(order_ids, o.line_o),
        "product_id": _take(prod_ids, o.line_p),
        "category": _take(CATEGORIES, _CATS_OF_PRODUCT[o.line_p]),
        "unit_price": o.line_price,
        "quantity": o.line_qty,
    })
    m = box.frame()
    mo = np.lexsort((m["mtype"], m["cust"], m["sent"]))
    m = {k: v[mo] for k, v in m.items()}
    n_m = len(mo)
    tables["messages"] = _frame("messages", {
        "message_id": _take(_ids("M", n_m, 9), np.arange(n_m)),
        "customer_id": _take(cust_ids, m["cust"]),
        "channel": _take(MESSAGE_CHANNELS, m["channel"]),
        "campaign_id": _take(campaign_vocab, m["campaign"]),
        "message_type": _take(MESSAGE_TYPES, m["mtype"]),
        "category": _take(CATEGORIES, m["category"]),
        "sent_at": clock.ts(m["sent"]),
        "opened_at": clock.ts(m["opened"]),
        "clicked_at": clock.ts(m["clicked"]),
        "unsubscribed_at": clock.ts(m["unsub"]),
        "complained_at": clock.ts(m["complained"]),
        "bounced": _bools(m["bounced"] == 1, null=m["bounced"] < 0),
    })
    tk = after.tickets
    to = np.lexsort((tk["c"], tk["t"]))
    tables["tickets"] = _frame("tickets", {
        "ticket_id": _take(_ids("T", len(to), 7), np.arange(len(to))),
        "customer_id": _take(cust_ids, tk["c"][to]),
        "opened_at": clock.ts(tk["t"][to]),
        "first_response_at": clock.ts(tk["first"][to]),
        "resolved_at": clock.ts(tk["resolved"][to]),
        "handoffs": tk["handoffs"][to],
        "csat": tk["csat"][to],
    })
    sv = after.surveys
    so = np.lexsort((sv["c"], sv["t"]))
    tables["surveys"] = _frame("surveys", {
        "survey_id": _take(_ids("V", len(so), 7), np.arange(len(so))),
        "customer_id": _take(cust_ids, sv["c"][so]),
        "sent_at": clock.ts(sv["t"][so]),
        "responded_at": clock.ts(sv["rt"][so]),
        "score": sv["score"][so],
        "scale": _take(SURVEY_SCALES, sv["scale"][so]),
    })
    ro = np.lexsort((after.rv_o, after.rv_t))
    tables["reviews"] = _frame("reviews", {
        "review_id": _take(_ids("R", len(ro), 7), np.arange(len(ro))),
        "customer_id": _take(cust_ids, o.cust[after.rv_o[ro]]),
        "order_id": _take(order_ids, after.rv_o[ro]),
        "created_at": clock.ts(after.rv_t[ro]),
        "rating": after.rv_rating[ro].astype(float),
    })
    fo = np.argsort(cust.t0[referred], kind="stable")
    tables["referrals"] = _frame("referrals", {
        "referrer_id": _take(cust_ids, referrer[fo]),
        "referred_customer_id": _take(cust_ids, referred[fo]),
        "created_at": clock.ts(cust.t0[referred[fo]]),
    })
    tables["spend"] = _frame("spend", {
        "date": clock.ts(np.repeat(np.arange(clock.days) * DAY, len(PAID))),
        "channel": _take(CHANNELS, np.tile(paid, clock.days)),
        "amount": amount.ravel(),
    })
    tables["prices"] = _frame("prices", {
        "product_id": _take(prod_ids, cat.p_prod),
        "valid_from": clock.ts(cat.p_day * DAY),
        "price": cat.p_price,
    })
    return {name: tables[name] for name in TABLES}


def write_shop(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
    """Write one Parquet file per table (folder/<table>.parquet); returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, df in tables.items():
        paths[name] = folder / f"{name}.parquet"
        df.to_parquet(paths[name], index=False)
    return paths
