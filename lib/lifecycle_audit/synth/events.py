"""Events: each session expanded into ordered page views, cart and checkout events, seconds to minutes apart."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalog import Catalog
from .clock import NA
from .mistakes import Behaviour
from .vectors import group_start, head, lognormal_s, within
from .visits import Sessions
from .vocab import EV, PG


@dataclass
class Events:
    """One entry per event, plus per session when its cart was filled and bought."""

    sidx: np.ndarray
    etype: np.ndarray
    page: np.ndarray
    prod: np.ndarray
    t: np.ndarray
    cart_time: np.ndarray  # per session: first add_to_cart, NA if none
    buy_time: np.ndarray  # per session: purchase event, NA if none


EVENT_FIELDS = ("etype", "page", "prod", "t")  # one entry per event besides sidx


def _steps(rng, s: Sessions, cat: Catalog):
    """The events of every session, unordered: (session, rank in session, type, page, product)."""
    idx = np.arange(len(s))
    parts = []

    def add(sidx, rank, etype, page, prod=None):
        parts.append(
            (
                sidx,
                np.broadcast_to(np.int64(rank), sidx.shape) if np.isscalar(rank) else rank,
                np.broadcast_to(etype, sidx.shape),
                np.broadcast_to(page, sidx.shape),
                np.full(len(sidx), -1) if prod is None else prod,
            )
        )

    add(idx, 0, EV["page_view"], s.landing)
    add(idx[s.signup], 1, EV["sign_up"], PG["other"])
    b = np.repeat(idx, s.n_browse)
    j = within(s.n_browse)
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
    return (np.concatenate([p[i] for p in parts]) for i in range(5))


def _times(rng, s: Sessions, beh: Behaviour, sidx, etype) -> np.ndarray:
    """Event times: the session start, then gaps of seconds to minutes (longer before paying)."""
    gap = lognormal_s(rng, 25, 0.9, len(sidx), 2, 600)
    gap = np.where(etype == EV["purchase"], lognormal_s(rng, 100, 0.5, len(sidx), 20, 600), gap)
    first = group_start(sidx)
    second = np.zeros(len(sidx), bool)
    second[1:] = first[:-1] & ~first[1:]
    slow = second & (s.landing[sidx] == PG["home"])
    gap = np.where(slow, (gap * beh.home_hesitation).astype(np.int64), gap)  # time to first action
    gap[first] = 0
    cs = np.cumsum(gap)
    return s.start[sidx] + cs - cs[head(first)]


def events(rng, s: Sessions, cat: Catalog, beh: Behaviour) -> Events:
    """Expand sessions into ordered events with realistic gaps (seconds to minutes)."""
    sidx, rank, etype, page, prod = _steps(rng, s, cat)
    order = np.argsort(sidx * 256 + rank, kind="stable")
    sidx, rank, etype, page, prod = sidx[order], rank[order], etype[order], page[order], prod[order]
    t = _times(rng, s, beh, sidx, etype)
    cart_time = np.full(len(s), NA)
    m = (etype == EV["add_to_cart"]) & (rank == 101)
    cart_time[sidx[m]] = t[m]
    buy_time = np.full(len(s), NA)
    m = etype == EV["purchase"]
    buy_time[sidx[m]] = t[m]
    return Events(sidx, etype, page, prod, t, cart_time, buy_time)
