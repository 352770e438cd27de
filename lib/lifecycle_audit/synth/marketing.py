"""Marketing e-mail: newsletters and promos on a weekly grid, with the unsubscribes they cause.

Unsubscribes grow with the week's contacts; nothing is sent after an unsubscribe, a complaint or a
bounce. The result says when each customer could no longer be reached by marketing e-mail.
"""

from __future__ import annotations

import numpy as np

from .catalog import CAT_POP, CATEGORIES
from .clock import DAY, HOUR, MIN, NA, WEEK, Clock
from .customers import Customers
from .mistakes import Behaviour, declare
from .outbox import Outbox, engage
from .vectors import group_start, head, lognormal_s, pick, search, within
from .visits import Sessions
from .vocab import MT

# Unsubscribe rate per marketing e-mail by the customer's marketing e-mails that week (1, 2, 3,
# 4+): annoyance builds up over the week and the customer quits on the week's last mail.
UNSUB_PER_MAIL = np.array([0.0012, 0.002, 0.008, 0.025])

OVER_CONTACTING = declare(
    "over_contacting",
    order=3,
    checks=("retention.over_contacting",),
    does="a shop that blasts a segment daily neglects the rest: a newsletter every 3rd week",
    knobs={
        "segment_share": (0.0, 0.20),  # share of opted-in customers in the daily-promo segment
        "newsletter_every": (1, 3),  # newsletter every n-th week for everybody else
        "promo_rate": (0.5, 0.10),  # weekly probability of a promo for everybody else
    },
)
IRRELEVANT_OFFERS = declare(
    "irrelevant_offers",
    order=15,
    checks=("conversion.relevance",),
    does="promos seldom feature what the customer came for",
    knobs={
        "promo_match": (0.8, 0.10),  # share of promos featuring the customer's favourite category
    },
)
NO_POST_PURCHASE_CONTACT = declare(
    "no_post_purchase_contact",
    order=16,
    checks=("retention.under_contacting",),
    does="buyers drop off the mailing list for two months after each order",
    knobs={
        "pause_after_order": (0, 60),  # days marketing mail pauses after an order (0: none)
    },
)


def _weekly_grid(rng, clock: Clock, cust: Customers, beh: Behaviour):
    """Planned marketing mails (customer, week, time, type) from each opted-in customer's first week."""
    W = (clock.T - clock.monday0) // WEEK + 1
    opt = np.flatnonzero(cust.opt_in)
    w_first = (cust.t0[opt] + DAY - clock.monday0) // WEEK
    k = np.maximum(W - w_first, 0)
    c = np.repeat(opt, k)
    w = np.repeat(w_first, k) + within(k)
    week0 = clock.monday0 + w * WEEK
    seg = cust.segment[c]
    # everybody else: a newsletter on Tuesday morning, sometimes a promo on Thursday
    nl = ~seg & (w % beh.newsletter_every == 0)
    pr = ~seg & (rng.random(len(c)) < beh.promo_rate)
    parts_c = [c[nl], c[pr]]
    parts_w = [w[nl], w[pr]]
    parts_t = [
        week0[nl] + DAY + 9 * HOUR + rng.integers(0, 90 * MIN, nl.sum()),
        week0[pr] + 3 * DAY + rng.integers(10 * HOUR, 19 * HOUR, pr.sum()),
    ]
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
    return (np.concatenate(p) for p in (parts_c, parts_w, parts_t, parts_type))


def _still_mailed(clock: Clock, cust: Customers, s: Sessions, beh: Behaviour, buy_time, c, w, t, mtype):
    """The planned mails actually due: after the welcome mail, before the end, at most 120 days after a
    customer's last visit, not in a pause after an order; sorted by customer and time."""
    keep = (t >= cust.t0[c] + DAY) & (t < clock.T)
    c, w, t, mtype = c[keep], w[keep], t[keep], mtype[keep]
    last = search(s.cust, s.start, c, t, after=False)
    keep = (last >= 0) & (t - s.start[np.maximum(last, 0)] <= 120 * DAY)
    c, w, t, mtype = c[keep], w[keep], t[keep], mtype[keep]
    if beh.pause_after_order and buy_time is not None:
        # buyers drop off the mailing list for weeks after each order
        b = np.flatnonzero(buy_time != NA)
        prev = search(s.cust[b], buy_time[b], c, t, after=False)
        keep = (prev < 0) | (t - buy_time[b][np.maximum(prev, 0)] > beh.pause_after_order * DAY)
        c, w, t, mtype = c[keep], w[keep], t[keep], mtype[keep]
    order = np.lexsort((t, c))
    return c[order], w[order], t[order], mtype[order]


def _campaigns(rng, cust: Customers, beh: Behaviour, campaigns: dict, c, w, t, mtype):
    """Category (promos mostly feature the customer's favourite) and campaign code of each mail."""
    m = len(c)
    category = np.where(
        mtype == MT["promo"], np.where(rng.random(m) < beh.promo_match, cust.fav[c], pick(rng, CAT_POP, m)), -1
    )
    day = t // DAY
    promo_id = campaigns["promo"] + day * len(CATEGORIES) + np.maximum(category, 0)
    campaign = np.where(mtype == MT["promo"], promo_id, campaigns["newsletter"] + w)
    return category, campaign


def _quits(rng, cust: Customers, c, w, t):
    """Bounced, unsubscribed and complained mails, and which mails are sent at all (none after the
    first unsubscribe, complaint or bounce).

    Unsubscribes and complaints rise with the number of marketing mails in the week; the customer quits
    on the week's last mail, so the weekly count is never cut short."""
    wk = group_start(c, w)
    grp = np.cumsum(wk) - 1
    per_week = np.bincount(grp)[grp]
    last = np.append(wk[1:], True)
    p_quit = np.where(last, per_week * UNSUB_PER_MAIL[np.minimum(per_week, 4) - 1], 0.0)
    bounced = (cust.dead_at[c] != NA) & (t >= cust.dead_at[c])
    u = rng.random(len(c))
    unsub = ~bounced & (u < p_quit)
    complaint = ~bounced & ~unsub & (u < p_quit * 1.2)
    stop = (unsub | complaint | bounced).astype(np.int64)
    cs = np.cumsum(stop)
    before = cs - stop - (cs - stop)[head(group_start(c))]
    return bounced, unsub, complaint, before == 0


def _reactions(rng, clock: Clock, cust: Customers, c, t, mtype, category, bounced, unsub, complaint):
    """Open, click, unsubscribe and complaint times of the sent mails."""
    m = len(c)
    # the daily-promo segment tires: fewer opens; matching offers get more clicks
    p_open = np.where(cust.segment[c], 0.14, 0.27)
    p_click = np.where(mtype == MT["newsletter"], 0.10, np.where(category == cust.fav[c], 0.14, 0.06))
    t_open, t_click = engage(rng, t, p_open, p_click, bounced, clock.T)
    t_open = np.where(unsub & (t_open == NA), t + lognormal_s(rng, HOUR, 1.0, m, 30, 20 * HOUR), t_open)
    t_unsub = np.where(unsub, t_open + rng.integers(5, 5 * MIN, m), NA)
    t_click = np.where(unsub, NA, t_click)
    t_compl = np.where(complaint, t + lognormal_s(rng, 3 * HOUR, 1.0, m, 60, 3 * DAY), NA)
    for x in (t_open, t_unsub, t_compl):
        x[x >= clock.T] = NA
    return t_open, t_click, t_unsub, t_compl


def _unreachable_at(cust: Customers, c, t, unsub, complaint, bounced, t_unsub) -> np.ndarray:
    """When each customer could no longer be reached by marketing e-mail (NA: still reachable)."""
    gone = np.where(unsub, np.where(t_unsub == NA, t, t_unsub), np.where(complaint | bounced, t, NA))
    dead = np.where(cust.dead_at != NA, cust.dead_at, np.iinfo(np.int64).max)
    has = gone != NA
    np.minimum.at(dead, c[has], gone[has])
    return np.where(dead == np.iinfo(np.int64).max, NA, dead)


def marketing(
    rng, clock: Clock, cust: Customers, s: Sessions, beh: Behaviour, box: Outbox, campaigns: dict, buy_time=None
) -> np.ndarray:
    """Newsletters and promos with unsubscribes; returns when each customer's e-mail went dead
    for marketing (unsubscribed, complained or bounced; NA when still reachable)."""
    c, w, t, mtype = _weekly_grid(rng, clock, cust, beh)
    c, w, t, mtype = _still_mailed(clock, cust, s, beh, buy_time, c, w, t, mtype)
    category, campaign = _campaigns(rng, cust, beh, campaigns, c, w, t, mtype)
    bounced, unsub, complaint, keep = _quits(rng, cust, c, w, t)
    c, t, mtype, category, campaign, bounced, unsub, complaint = (
        x[keep] for x in (c, t, mtype, category, campaign, bounced, unsub, complaint)
    )
    t_open, t_click, t_unsub, t_compl = _reactions(rng, clock, cust, c, t, mtype, category, bounced, unsub, complaint)
    box.add(
        c,
        mtype,
        t,
        campaign=campaign,
        category=category,
        opened=t_open,
        clicked=t_click,
        unsub=t_unsub,
        complained=t_compl,
        bounced=bounced,
    )
    return _unreachable_at(cust, c, t, unsub, complaint, bounced, t_unsub)


def alive(t, c, dead):
    """Marketing e-mail still reachable at time t."""
    return (dead[c] == NA) | (t < dead[c])
