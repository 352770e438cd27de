"""Orders: one per purchase event, its lines the cart at the list price of the day, some with a coupon."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalog import CATS_OF_PRODUCT, Catalog
from .clock import NA, Clock
from .vectors import group_start, rank_in_group, search


@dataclass
class Orders:
    """One entry per order, plus its lines."""

    cust: np.ndarray
    t: np.ndarray
    rank: np.ndarray  # 0 for a customer's first order
    next_t: np.ndarray  # the customer's next order, or the end of the period
    cat: np.ndarray  # category of the first line
    revenue: np.ndarray
    discount: np.ndarray
    line_o: np.ndarray  # order lines: order index, product, unit price, quantity
    line_p: np.ndarray
    line_price: np.ndarray
    line_qty: np.ndarray

    def __len__(self):
        return len(self.t)


def _discounts(rng, subtotal, rank, o_t, o_c, code_until) -> np.ndarray:
    """A fifth of the orders use a 10% or 15% coupon; the welcome code takes 10% off a first order
    within 30 days of the sign-up (`code_until`: per customer, -1 without a code)."""
    n = len(subtotal)
    coupon = rng.random(n) < 0.2
    discount = np.where(coupon, np.round(subtotal * np.where(rng.random(n) < 0.7, 0.10, 0.15), 2), 0.0)
    if code_until is not None:
        code = (rank == 0) & (o_t <= code_until[o_c])
        discount = np.where(code, np.round(subtotal * 0.10, 2), discount)
    return discount


def orders(rng, clock: Clock, cat: Catalog, s_cust, buy_time, line_s, line_p, line_k, code_until=None) -> Orders:
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
    by_cust = np.lexsort((o_t, o_c))
    rank = np.empty(n, np.int64)
    rank[by_cust] = rank_in_group(o_c[by_cust])
    discount = _discounts(rng, subtotal, rank, o_t, o_c, code_until)
    first_line = group_start(l_o)
    o_cat = np.full(n, -1)
    o_cat[l_o[first_line]] = CATS_OF_PRODUCT[l_p[first_line]]
    nxt = search(o_c, o_t, o_c, o_t, after=True)
    return Orders(
        o_c,
        o_t,
        rank,
        np.where(nxt >= 0, o_t[np.maximum(nxt, 0)], clock.T),
        o_cat,
        np.round(subtotal - discount, 2),
        discount,
        l_o,
        l_p,
        price,
        qty,
    )
