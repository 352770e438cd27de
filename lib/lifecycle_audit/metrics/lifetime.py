"""Buy-till-you-die lifetime models: BG/NBD for purchases, Gamma-Gamma for spend, via `lifetimes`.

Why `lifetimes` and not pymc-marketing (both measured on a 2-core machine, see
docs/stack.md): the same maximum-likelihood estimates, a 0.05 s fit instead
of a 19-21 s first fit (pytensor compiles on every fresh machine, i.e. on every CI run), and about
50 MB installed instead of 0.8 GB. Its weakness is maintenance (no release since 2020); this module
is the only place that imports it, it is pinned, and tests reproduce the published CDNOW estimates,
so a replacement is one module away.

A fit that does not converge is retried with a larger penalizer (an L2 penalty that pulls the parameters
towards zero, i.e. each customer's estimates towards the average customer): `fit_bgnbd_ladder` and
`fit_gamma_gamma_ladder` try each penalizer of a ladder in turn, keep the first that converges and say which;
when none does they raise FitFailed, whose text says so in the client's words.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from ..i18n import Text, Value, count, number

# The penalizers tried in turn: 0.001 (the workbook's fit before the ladder), then stronger.
PENALIZERS = (0.001, 0.01, 0.1)
# Gamma-Gamma needs some repeat customers with a value to estimate the spread of spending.
MIN_REPEAT_CUSTOMERS = 2

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
    penalizer: float = 0.0

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
    return BGNBD(
        r=float(p["r"]), alpha=float(p["alpha"]), a=float(p["a"]), b=float(p["b"]), _fitter=m, penalizer=penalizer
    )


@dataclass(frozen=True)
class GammaGamma:
    """A fitted Gamma-Gamma spend model."""

    p: float
    q: float
    v: float
    _fitter: object
    penalizer: float = 0.0

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
    return GammaGamma(p=float(p["p"]), q=float(p["q"]), v=float(p["v"]), _fitter=m, penalizer=penalizer)


class FitFailed(Exception):
    """A lifetime model could not be fitted; `text` says why, for the client (an i18n.Text)."""

    def __init__(self, text: Text):
        super().__init__(text.render("en"))  # the log's wording; the report renders `text` in its language
        self.text = text


def penalizer_value(penalizer: float) -> Value:
    """A penalizer as a number in a Text, with as many decimals as it needs (0.001, 0.01, 0.1, 1)."""
    p = float(penalizer)
    return number(p, max(0, -math.floor(math.log10(p))) if 0 < p < 1 else 0)


Model = TypeVar("Model", BGNBD, GammaGamma)


def _ladder(fit: Callable[..., Model], summary: pd.DataFrame, penalizers: Sequence[float], name: str) -> Model:
    """The first fit of the ladder that converges to finite parameters; FitFailed when none does."""
    from lifetimes.utils import ConvergenceError  # noqa: PLC0415 - slow import, paid only when a model runs

    for penalizer in penalizers:
        try:
            # lifetimes prints the optimiser's state on failure, and autograd warns on every step that overflows
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                model = fit(summary, penalizer=float(penalizer))
        except ConvergenceError:
            continue
        if all(math.isfinite(v) for k, v in vars(model).items() if not k.startswith("_")):
            return model
    raise FitFailed(
        Text(
            "the {model} lifetime model could not be fitted to this shop's orders: it found no stable estimate, "
            "even with the strongest smoothing tried (penalizer {penalizer})",
            model=name,
            penalizer=penalizer_value(max(penalizers, default=0.0)),
        )
    )


def fit_bgnbd_ladder(summary: pd.DataFrame, penalizers: Sequence[float] = PENALIZERS) -> BGNBD:
    """BG/NBD with the first penalizer of `penalizers` that converges (its `penalizer` says which)."""
    return _ladder(fit_bgnbd, summary, penalizers, "BG/NBD")


def fit_gamma_gamma_ladder(summary: pd.DataFrame, penalizers: Sequence[float] = PENALIZERS) -> GammaGamma:
    """Gamma-Gamma with the first penalizer of `penalizers` that converges; FitFailed also when fewer than
    MIN_REPEAT_CUSTOMERS customers bought again with a positive value (the model has nothing to learn from)."""
    repeat = int(((summary["frequency"] > 0) & (summary["monetary_value"] > 0)).sum())
    if repeat < MIN_REPEAT_CUSTOMERS:
        raise FitFailed(
            Text(
                "the Gamma-Gamma spend model needs at least {min} customers who bought again on another day "
                "with a positive value; found {found}",
                min=count(MIN_REPEAT_CUSTOMERS),
                found=count(repeat),
            )
        )
    return _ladder(fit_gamma_gamma, summary, penalizers, "Gamma-Gamma")
