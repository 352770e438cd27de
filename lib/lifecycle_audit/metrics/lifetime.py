"""Buy-till-you-die lifetime models: BG/NBD for purchases, Gamma-Gamma for spend, via `lifetimes`.

Why `lifetimes` and not pymc-marketing (both measured on a 2-core machine, see
docs/stack.md): the same maximum-likelihood estimates, a 0.05 s fit instead
of a 19-21 s first fit (pytensor compiles on every fresh machine, i.e. on every CI run), and about
50 MB installed instead of 0.8 GB. Its weakness is maintenance (no release since 2020); this module
is the only place that imports it, it is pinned, and tests reproduce the published CDNOW estimates,
so a replacement is one module away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Per-day aggregation as in the literature: several orders on one day are one purchase occasion.
_DAY = "D"


def rfm_summary(
    orders: pd.DataFrame,
    end: pd.Timestamp | str,
    *,
    customer: str = "customer_id",
    time: str = "order_time",
    value: str | None = "revenue",
    unit_days: float = 7.0,
) -> pd.DataFrame:
    """Per customer: frequency (repeat purchase days), recency and T (in units of `unit_days`,
    from the first purchase to the last one and to `end`), and the mean value of repeat purchases.

    Orders after `end` are ignored; customers whose first order is after `end` are left out.
    """
    end = pd.Timestamp(end)
    cols = [customer, time] + ([value] if value else [])
    o = orders.loc[orders[time] <= end, cols].dropna(subset=[customer, time])
    o = o.assign(_day=o[time].dt.floor(_DAY))
    daily = o.groupby([customer, "_day"], as_index=False).agg(**({"_v": (value, "sum")} if value else {}))
    daily = daily.sort_values([customer, "_day"])
    g = daily.groupby(customer)
    first, last = g["_day"].min(), g["_day"].max()
    out = pd.DataFrame(
        {
            "frequency": g.size() - 1,
            "recency": (last - first).dt.days / unit_days,
            "T": (end.floor(_DAY) - first).dt.days / unit_days,
        }
    )
    if value:
        repeat = daily[daily["_day"] > daily[customer].map(first)]
        out["monetary_value"] = repeat.groupby(customer)["_v"].mean().reindex(out.index).fillna(0.0)
    return out


@dataclass(frozen=True)
class BGNBD:
    """A fitted BG/NBD model: purchase rate heterogeneity (r, alpha) and dropout (a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    _fitter: object

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """Probability that each customer is still active at the end of the observation."""
        p = self._fitter.conditional_probability_alive(summary["frequency"], summary["recency"], summary["T"])
        return pd.Series(np.asarray(p, dtype=float), index=summary.index, name="p_alive")

    def expected_purchases(self, summary: pd.DataFrame, periods: float) -> pd.Series:
        """Expected purchases of each customer in the next `periods` units of time."""
        e = self._fitter.conditional_expected_number_of_purchases_up_to_time(
            periods, summary["frequency"], summary["recency"], summary["T"]
        )
        return pd.Series(np.asarray(e, dtype=float), index=summary.index, name="expected_purchases")


def fit_bgnbd(summary: pd.DataFrame, penalizer: float = 0.0) -> BGNBD:
    """Maximum-likelihood BG/NBD on a summary from `rfm_summary` (needs frequency, recency, T)."""
    from lifetimes import BetaGeoFitter  # noqa: PLC0415 - slow import, paid only when a model runs

    m = BetaGeoFitter(penalizer_coef=penalizer)
    m.fit(summary["frequency"], summary["recency"], summary["T"])
    p = m.params_
    return BGNBD(r=float(p["r"]), alpha=float(p["alpha"]), a=float(p["a"]), b=float(p["b"]), _fitter=m)


@dataclass(frozen=True)
class GammaGamma:
    """A fitted Gamma-Gamma spend model."""

    p: float
    q: float
    v: float
    _fitter: object

    def expected_value(self, summary: pd.DataFrame) -> pd.Series:
        """Expected mean purchase value of each customer (shrunk towards the population mean)."""
        ev = self._fitter.conditional_expected_average_profit(summary["frequency"], summary["monetary_value"])
        return pd.Series(np.asarray(ev, dtype=float), index=summary.index, name="expected_value")


def fit_gamma_gamma(summary: pd.DataFrame, penalizer: float = 0.0) -> GammaGamma:
    """Gamma-Gamma on repeat customers with a positive mean value (the model's own requirement)."""
    from lifetimes import GammaGammaFitter  # noqa: PLC0415 - slow import, paid only when a model runs

    r = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    m = GammaGammaFitter(penalizer_coef=penalizer)
    m.fit(r["frequency"], r["monetary_value"])
    p = m.params_
    return GammaGamma(p=float(p["p"]), q=float(p["q"]), v=float(p["v"]), _fitter=m)
