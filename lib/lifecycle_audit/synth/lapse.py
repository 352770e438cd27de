"""Who stops coming back: after a first order, after a door-opener first order, after an unrewarded third."""

from __future__ import annotations

import numpy as np

from .catalog import CATEGORIES, CATS_OF_PRODUCT
from .clock import NA
from .customers import Customers
from .events import EVENT_FIELDS, Events
from .mistakes import Behaviour, declare
from .vectors import rank_in_group
from .visits import SESSION_FIELDS, Sessions
from .vocab import PAID_CODES

DOOR_OPENER = CATEGORIES.index("beauty")  # the cheap category paid ads push (weak_first_product)

NO_REPEAT_PURCHASE = declare(
    "no_repeat_purchase",
    order=17,
    checks=("retention.repeat_purchase",),
    does="most first-time buyers never come back",
    knobs={
        "repeat_lapse": (0.0, 0.65),  # share of first-time buyers who never come back
    },
)
WEAK_FIRST_PRODUCT = declare(
    "weak_first_product",
    order=21,
    checks=("retention.expansion",),
    does="ads sell a cheap door-opener whose buyers lapse; nothing sells them anything else",
    knobs={
        "door_share": (0.0, 0.4),  # share of paid-acquired customers drawn in by the door-opener category
        "door_lapse": (0.0, 0.2),  # share of buyers whose first order is a door-opener who never come back
        "cat_loyalty": (0.7, 0.96),  # share of a customer's cart products from their favourite category
    },
)


def door_opener(rng, cust: Customers, beh: Behaviour) -> np.ndarray:
    """Favourite categories after paid ads bring some customers in with the door-opener category."""
    paid_acq = np.isin(cust.acq, PAID_CODES)
    return np.where(paid_acq & (rng.random(len(cust.acq)) < beh.door_share), DOOR_OPENER, cust.fav)


def lapse(rng, s: Sessions, ev: Events, beh: Behaviour):
    """Customers who stop coming back: after their first order (no_repeat_purchase), after a
    first order of the door-opener category (weak_first_product) or after their third when
    loyalty goes unrewarded (unrecognised_loyal). Drops their later visits."""
    b = np.flatnonzero(ev.buy_time != NA)
    b = b[np.lexsort((ev.buy_time[b], s.cust[b]))]
    rank = rank_in_group(s.cust[b])
    u1, u2, u3 = rng.random(len(b)), rng.random(len(b)), rng.random(len(b))
    first_line = np.full(len(s), -1)
    first_line[s.line_s[s.line_k == 0]] = s.line_p[s.line_k == 0]
    door = np.where(CATS_OF_PRODUCT[first_line[b]] == DOOR_OPENER, beh.door_lapse, 0.0)
    cut = np.full(int(s.cust.max()) + 1, np.iinfo(np.int64).max)
    for r, u, share in ((0, u1, beh.repeat_lapse), (2, u2, beh.loyal_lapse), (0, u3, door)):
        hit = b[(rank == r) & (u < share)]
        np.minimum.at(cut, s.cust[hit], ev.buy_time[hit])
    keep = (s.cust < 0) | (s.start <= cut[np.maximum(s.cust, 0)])
    if keep.all():
        return s, ev
    return _drop_sessions(s, ev, keep)


def _drop_sessions(s: Sessions, ev: Events, keep: np.ndarray):
    """The sessions where `keep`, their cart lines and events, renumbered."""
    new = np.cumsum(keep) - 1
    lm = keep[s.line_s]
    s2 = Sessions(
        *(getattr(s, f)[keep] for f in SESSION_FIELDS),
        line_s=new[s.line_s[lm]],
        line_p=s.line_p[lm],
        line_k=s.line_k[lm],
    )
    em = keep[ev.sidx]
    ev2 = Events(new[ev.sidx[em]], *(getattr(ev, f)[em] for f in EVENT_FIELDS), ev.cart_time[keep], ev.buy_time[keep])
    return s2, ev2
