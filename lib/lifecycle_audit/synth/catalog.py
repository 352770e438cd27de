"""The catalogue: 8 categories of 15 products, their list prices and price history."""

from __future__ import annotations

import numpy as np

from .clock import DAY, Clock
from .mistakes import declare
from .vectors import group_start, head, pick, search

# 8 categories, 15 products each, with a typical list price and a share of demand.
CATEGORIES = ("apparel", "shoes", "accessories", "beauty", "home", "sports", "kids", "electronics")
CAT_PRICE = np.array([39, 79, 25, 19, 45, 55, 29, 99], dtype=float)
CAT_POP = np.array([0.22, 0.14, 0.12, 0.12, 0.12, 0.10, 0.08, 0.10])
PER_CATEGORY = 15
CATS_OF_PRODUCT = np.append(np.repeat(np.arange(len(CATEGORIES)), PER_CATEGORY), -1)  # [-1] -> null

PRICE_RISE_CHURN = declare(
    "price_rise_churn",
    order=9,
    checks=("acquisition.price_sensitivity",),
    does="steep price rises drive customers away: demand falls hard with the price",
    knobs={
        "price_rise": ((1.05, 1.18), (1.20, 1.40)),  # range of the factor of a price rise
        "elasticity": (1.2, 6.0),  # demand ~ (price / original price) ** -elasticity
    },
)


class Catalog:
    """Products with their category, popularity and list-price history (days since the start)."""

    def __init__(self, rng, clock: Clock, rise: tuple = (1.05, 1.18)):
        n = len(CATEGORIES) * PER_CATEGORY
        self.n = n
        self.cat = np.repeat(np.arange(len(CATEGORIES)), PER_CATEGORY)
        self.base = np.maximum(np.round(CAT_PRICE[self.cat] * rng.lognormal(0, 0.35, n)) - 0.01, 2.99)
        self.cum = self._popularity(rng)
        self.p_prod, self.p_day, self.p_price = self._price_history(rng, clock, rise)

    def _popularity(self, rng) -> np.ndarray:
        """Cumulative demand within a category: a few best sellers, a long tail; category c spans (c, c + 1]."""
        rank = rng.permuted(np.tile(np.arange(PER_CATEGORY), (len(CATEGORIES), 1)), axis=1).ravel()
        pop = 1.0 / (1 + rank) ** 0.9
        within = pop / np.bincount(self.cat, pop)[self.cat]
        cum = np.cumsum(within)
        cum[PER_CATEGORY - 1 :: PER_CATEGORY] = np.arange(1, len(CATEGORIES) + 1)
        return cum

    def _price_history(self, rng, clock: Clock, rise: tuple):
        """An initial list price, then 0-4 changes (rises more often than cuts), sorted by product and day."""
        n = self.n
        k = rng.binomial(4, 0.35, n)
        prod = np.repeat(np.arange(n), k)
        lo = min(30, clock.days // 4)
        day = rng.integers(lo, max(lo + 1, clock.days - 7), len(prod))
        order = np.lexsort((day, prod))
        prod, day = prod[order], day[order]
        keep = group_start(prod, day)
        prod, day = prod[keep], day[keep]
        up = rng.random(len(prod)) < 0.6
        factor = np.where(up, rng.uniform(rise[0], rise[1], len(prod)), rng.uniform(0.82, 0.95, len(prod)))
        # cumulative product of the factors within a product
        logf = np.log(factor)
        cs = np.cumsum(logf)
        first = group_start(prod)
        cumf = np.exp(cs - (cs - logf)[head(first)])
        new_price = np.maximum(np.round(self.base[prod] * cumf) - 0.01, 1.99)
        init_day = -rng.integers(30, 400, n)
        p_prod = np.concatenate([np.arange(n), prod])
        p_day = np.concatenate([init_day, day])
        p_price = np.concatenate([self.base, new_price])
        order = np.lexsort((p_day, p_prod))
        return p_prod[order], p_day[order], p_price[order]

    def sample(self, rng, fav: np.ndarray, loyalty: float = 0.7) -> np.ndarray:
        """A product per row: from the row's favourite category with probability `loyalty`."""
        n = len(fav)
        cat = np.where(rng.random(n) < loyalty, fav, pick(rng, CAT_POP, n))
        return np.searchsorted(self.cum, cat + rng.random(n) * 0.999999, side="right")

    def price(self, prod: np.ndarray, t: np.ndarray) -> np.ndarray:
        """List price of each product at time t (prices change at midnight)."""
        i = search(self.p_prod, self.p_day * DAY, prod, t, after=False)
        return self.p_price[i]
