"""Tested campaigns: two e-mail campaigns sent with a control group held out at random, and what they change.

Each campaign goes to the opted-in customers still reachable by e-mail who arrived at least two weeks before the
send; 15 % of them are held out at random (the control group, sent nothing). A treated customer responds with a
visit that buys, within ten days of the send, with the campaign's lift as probability; the control group only
buys as it would have anyway. The campaign replaces the treated customers' newsletter and promos of that week.
The spring campaign tests two versions (variants A and B) that work alike; the loyalty campaign works in the
healthy shop and changes nothing in the planted one (useless_campaign). Reaching a treated customer costs EUR 0.40
(the campaign's production and sending, spread over its recipients).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalog import CAT_POP, Catalog
from .clock import DAY, HOUR, MIN, NA, WEEK, Clock
from .customers import Customers
from .events import Events
from .mistakes import Behaviour, declare
from .outbox import FLOW, Outbox, engage
from .vectors import lognormal_s, pick
from .visits import Sessions
from .vocab import CH, EV, MT, PG

CONTROL_SHARE = 0.15
COST = 0.40  # EUR per treated customer
LIFT = 0.05  # extra share of treated customers who buy after a campaign that works

USELESS_CAMPAIGN = declare(
    "useless_campaign",
    order=29,
    checks=("retention.campaign_incrementality",),
    does="a paid campaign goes out again and again although the held-out control group buys just as much",
    knobs={
        "loyalty_lift": (LIFT, 0.0),  # extra share of the loyalty campaign's treated customers who buy
    },
)


@dataclass
class Campaign:
    """One tested campaign: its id (a FLOW name), send day (days before the end) and variants."""

    name: str
    days_before_end: int
    variants: tuple[str, ...]  # empty: one version


CAMPAIGNS = (
    Campaign("CAMP-loyalty-gift", 150, ()),
    Campaign("CAMP-spring-sale", 100, ("A", "B")),
)


@dataclass
class Members:
    """campaign_members as arrays: one entry per customer and campaign."""

    campaign: np.ndarray  # FLOW code
    cust: np.ndarray
    control: np.ndarray  # held out
    variant: np.ndarray  # index into VARIANTS, -1: none
    t: np.ndarray  # assigned at (the send)


VARIANTS = ("A", "B")


def tested_campaigns(
    rng, clock: Clock, cust: Customers, cat: Catalog, beh: Behaviour, box: Outbox, dead: np.ndarray, s: Sessions
) -> tuple[Members, Sessions]:
    """The tested campaigns' members, their e-mails (into `box`) and the visits that buy because of them (from the
    customer's usual device and cookie, as in their sessions `s`)."""
    parts, visits = [], []
    for camp in CAMPAIGNS:
        lift = beh.loyalty_lift if camp.name == "CAMP-loyalty-gift" else LIFT
        m, buyers, when = _send(rng, clock, cust, beh, box, dead, camp, lift)
        parts.append(m)
        visits.append((buyers, when))
    members = Members(*(np.concatenate([getattr(p, f) for p in parts]) for f in Members.__dataclass_fields__))
    buyers = np.concatenate([b for b, _ in visits])
    when = np.concatenate([w for _, w in visits])
    cookie = np.full(len(cust.t0), -1)
    known = s.cust >= 0
    cookie[s.cust[known]] = s.anon[known]
    return members, _buying_visits(rng, cust, cat, buyers, when, cookie)


def _send(rng, clock: Clock, cust: Customers, beh: Behaviour, box: Outbox, dead, camp: Campaign, lift: float):
    """One campaign: its members, and which treated customers buy because of it and when."""
    send = clock.T - camp.days_before_end * DAY + 10 * HOUR
    reachable = (dead == NA) | (dead > send)
    c = np.flatnonzero(cust.opt_in & reachable & (cust.t0 < send - 14 * DAY))
    control = rng.random(len(c)) < CONTROL_SHARE
    k = len(camp.variants)
    variant = np.where(control | (k == 0), -1, rng.integers(0, max(k, 1), len(c)))
    t = send + rng.integers(0, 2 * HOUR, len(c))
    treated = ~control
    responds = treated & (rng.random(len(c)) < lift)
    when = t + lognormal_s(rng, 1.5 * DAY, 0.9, len(c), 20 * MIN, 10 * DAY)
    responds &= when < clock.T - 4 * HOUR
    _instead_of_the_weeks_mail(clock, box, c[treated], send)
    _mail(rng, clock, cust, beh, box, camp, c[treated], t[treated], responds[treated], when[treated])
    code = FLOW[camp.name]
    return Members(np.full(len(c), code), c, control, variant, t), c[responds], when[responds]


def _instead_of_the_weeks_mail(clock: Clock, box: Outbox, treated: np.ndarray, send: int) -> None:
    """The treated get the campaign instead of that week's newsletter and promos, so the shop's weekly frequency
    stays as it was (mails that ended in an unsubscribe or a complaint stay: the customer left on them)."""
    week0 = clock.monday0 + (send - clock.monday0) // WEEK * WEEK
    marketing = [MT["promo"], MT["newsletter"]]
    for k, p in enumerate(box.parts):
        drop = (
            np.isin(p["mtype"], marketing)
            & (p["sent"] >= week0)
            & (p["sent"] < week0 + WEEK)
            & (p["unsub"] == NA)
            & (p["complained"] == NA)
            & np.isin(p["cust"], treated)
        )
        if drop.any():
            box.parts[k] = {name: np.asarray(v)[~drop] for name, v in p.items()}


def _mail(rng, clock: Clock, cust: Customers, beh: Behaviour, box: Outbox, camp: Campaign, c, t, responds, when):
    """The campaign's e-mails: responders open and click shortly before their visit."""
    n = len(c)
    category = np.where(rng.random(n) < beh.promo_match, cust.fav[c], pick(rng, CAT_POP, n))
    bounced = np.zeros(n, bool)
    t_open, t_click = engage(rng, t, 0.3, 0.1, bounced, clock.T)
    t_open = np.where(responds, np.maximum(t + MIN, when - 3 * MIN), t_open)
    t_click = np.where(responds, np.maximum(t + 2 * MIN, when - MIN), t_click)
    box.add(c, "promo", t, campaign=FLOW[camp.name], category=category, opened=t_open, clicked=t_click, bounced=bounced)


def _buying_visits(rng, cust: Customers, cat: Catalog, buyers: np.ndarray, when: np.ndarray, cookie) -> Sessions:
    """A visit from the campaign's e-mail that lands on a product, puts it in the cart and buys it."""
    n = len(buyers)
    ones, idx = np.ones(n, bool), np.arange(n)
    return Sessions(
        cust=buyers,
        anon=cookie[buyers],
        start=when,
        channel=np.full(n, CH["email"]),
        device=cust.device[buyers],
        landing=np.full(n, PG["product"]),
        first=~ones,
        n_browse=np.zeros(n, np.int64),
        checkout=ones,
        purchase=ones,
        signup=~ones,
        fav=cust.fav[buyers],
        line_s=idx,
        line_p=cat.sample(rng, cust.fav[buyers], 0.8),
        line_k=np.zeros(n, np.int64),
    )


def bought_directly(ev: Events) -> Events:
    """The campaign visits' events without a cart: the e-mail's "buy now" link goes from the product to the checkout,
    so these visits leave the shop's carts and their abandonment as they were."""
    keep = ev.etype != EV["add_to_cart"]
    return Events(
        ev.sidx[keep],
        ev.etype[keep],
        ev.page[keep],
        ev.prod[keep],
        ev.t[keep],
        np.full(len(ev.cart_time), NA),
        ev.buy_time,
    )
