"""Abandoned carts: the reminders the shop sends and the carts that come back to be bought."""

from __future__ import annotations

import numpy as np

from .catalog import CATS_OF_PRODUCT
from .clock import DAY, HOUR, MIN, NA, Clock
from .customers import Customers
from .events import Events
from .mistakes import Behaviour, declare
from .outbox import FLOW, Outbox, engage
from .vectors import lognormal_s, search
from .visits import Sessions
from .vocab import CH, PG

UNREMINDED_CARTS = declare(
    "unreminded_carts",
    order=2,
    checks=("conversion.cart_abandonment", "conversion.abandoned_cart_recovery"),
    does="carts are lost at checkout and seldom reminded, late and once (window shoppers keep orders comparable)",
    knobs={
        # a shop losing carts sees more of them (window shopping), so orders stay comparable
        "cart_rate": (0.26, 0.50),  # add-to-cart probability of an engaged returning-customer session
        "cart_first": (0.55, 0.90),  # ... of a future customer's first visit
        "cart_anon": (0.04, 0.07),  # ... of an anonymous visitor's engaged session
        "checkout": ((0.52, 0.45, 0.49, 0.45), (0.40, 0.31, 0.36, 0.32)),  # P(begin checkout | cart) by device
        "pay": ((0.78, 0.74, 0.76, 0.74), (0.56, 0.50, 0.53, 0.50)),  # P(purchase | checkout) by device
        "remind_share": (0.93, 0.13),  # share of abandoned carts (opted-in customers) that get a reminder
        "remind_delay": ((1 * HOUR, 4 * HOUR), (2 * DAY, 4 * DAY)),  # delay of the reminder, seconds (low, high)
        "follow_up": (True, False),  # second reminder ~24 h later when the first is not opened
    },
)


def _abandoned(s: Sessions, ev: Events):
    """Customers' carts not bought in their session: session index, customer, cart time, next purchase
    time (int64 max: none) and whether it was bought within 7 days anyway."""
    carts = np.flatnonzero((s.cust >= 0) & (ev.cart_time != NA) & ~s.purchase)
    c = s.cust[carts]
    tc = ev.cart_time[carts]
    buys = np.flatnonzero(ev.buy_time != NA)
    nxt = search(s.cust[buys], ev.buy_time[buys], c, tc, after=True)
    t_buy = np.where(nxt >= 0, ev.buy_time[buys][np.maximum(nxt, 0)], np.iinfo(np.int64).max)
    return carts, c, tc, t_buy, t_buy <= tc + 7 * DAY


def _cart_category(s: Sessions, carts) -> np.ndarray:
    """Category of each cart's first product."""
    first_line = np.full(len(s), -1)
    first_line[s.line_s[s.line_k == 0]] = s.line_p[s.line_k == 0]
    return CATS_OF_PRODUCT[first_line[carts]]


def cart_reminders(rng, clock: Clock, cust: Customers, s: Sessions, ev: Events, beh: Behaviour, box: Outbox):
    """Abandoned-cart reminders and the carts they (or the customer alone) bring back.

    Returns the recovered carts: (cart session index, recovery session start, came via e-mail)."""
    carts, c, tc, t_buy, bought = _abandoned(s, ev)
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
    t_open, t_click, ret, back, via_mail = _comebacks(rng, clock, tc, send, bounced, back, back & got)
    category = _cart_category(s, carts)
    r = reminded
    box.add(
        c[r],
        "abandoned_cart",
        send[r],
        campaign=FLOW["FLOW-cart-reminder"],
        category=category[r],
        opened=t_open[r],
        clicked=t_click[r],
        bounced=bounced[r],
    )
    if beh.follow_up:
        _follow_up(rng, clock, cust, box, c, send, reminded & (t_open == NA) & ~back, t_buy, category)
    return carts[back], ret[back], via_mail[back]


def _comebacks(rng, clock: Clock, tc, send, bounced, back, via_mail):
    """Opens and clicks of the first reminder (recovered carts are opened and clicked, the others opened
    now and then) and when the carts come back, within the week: (opened, clicked, return time, back,
    back via the e-mail)."""
    n = len(tc)
    t_open, t_click = engage(rng, send, 0.38, 0.2, bounced, clock.T)
    delay = lognormal_s(rng, 1.5 * HOUR, 1.0, n, 2 * MIN, 20 * HOUR)
    t_open = np.where(via_mail, send + delay, t_open)
    t_click = np.where(via_mail, send + delay + rng.integers(30, 4 * MIN, n), t_click)
    ret = np.where(via_mail, t_click + rng.integers(10, 3 * MIN, n), tc + rng.integers(3 * HOUR, int(6.5 * DAY), n))
    back = back & (ret < tc + 7 * DAY - HOUR) & (ret < clock.T - 4 * HOUR)
    via_mail = via_mail & back
    t_open = np.where(t_open >= clock.T, NA, t_open)
    t_click = np.where((t_click >= clock.T) | (t_open == NA), NA, t_click)
    return t_open, t_click, ret, back, via_mail


def _follow_up(rng, clock: Clock, cust: Customers, box: Outbox, c, send, unopened, t_buy, category):
    """A second reminder ~24 h after an unopened first one, unless the cart was bought meanwhile."""
    n = len(c)
    send2 = send + DAY + rng.integers(-30 * MIN, 30 * MIN, n)
    f = unopened & (t_buy > send2) & (send2 < clock.T)
    b2 = (cust.dead_at[c] != NA) & (send2 >= cust.dead_at[c])
    o2, k2 = engage(rng, send2, 0.33, 0.15, b2, clock.T)
    box.add(
        c[f],
        "abandoned_cart",
        send2[f],
        campaign=FLOW["FLOW-cart-reminder"],
        category=category[f],
        opened=o2[f],
        clicked=k2[f],
        bounced=b2[f],
    )


def recovery_sessions(s: Sessions, carts, start, via_mail) -> Sessions:
    """The visit that buys a recovered cart: lands on the cart, checks out, pays."""
    r = len(carts)
    # cart lines of the original sessions, re-numbered to the recovery sessions
    pos = np.full(len(s), -1)
    pos[carts] = np.arange(r)
    m = pos[s.line_s] >= 0
    line_s = pos[s.line_s[m]]
    order = np.lexsort((s.line_k[m], line_s))
    ones = np.ones(r, bool)
    return Sessions(
        cust=s.cust[carts],
        anon=s.anon[carts],
        start=start,
        channel=np.where(via_mail, CH["email"], CH["direct"]),
        device=s.device[carts],
        landing=np.full(r, PG["cart"]),
        first=~ones,
        n_browse=np.zeros(r, np.int64),
        checkout=ones,
        purchase=ones,
        signup=~ones,
        fav=s.fav[carts],
        line_s=line_s[order],
        line_p=s.line_p[m][order],
        line_k=s.line_k[m][order],
    )
