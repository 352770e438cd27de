"""Churn measures shared by the win-back checks and notebook: the end of the period, each customer's
order history, lapsed customers, and a BG/NBD + Gamma-Gamma lifetime model fitted on the shop's orders."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..engine import Tables
from . import lifetime
from .rfm import customer_rfm

# Probability-alive bands and last-order ages, in the order tables and charts show them.
ALIVE_BANDS = ("below 25 %", "25–50 %", "50–75 %", "75 % and above")
AGE_BANDS = ("0–90 days", "91–180 days", "181–365 days", "over 365 days")
HORIZON_WEEKS = 52  # revenue at risk: what an active customer would spend in the next twelve months


def end_of(tables: Tables) -> pd.Timestamp:
    """The day after the analysed period (midnight), the reference point of every recency."""
    return pd.Timestamp(tables.period[1]).ceil("D")


def _history(t: Tables) -> pd.DataFrame:
    # The same per-customer aggregate the RFM view uses: computed once per audit, indexed here by id.
    df = customer_rfm(t)[["customer_id", "orders", "first_order", "last_order", "revenue"]].copy()
    df["customer_id"] = df["customer_id"].astype(str)
    return df.set_index("customer_id")


def order_history(tables: Tables) -> pd.DataFrame:
    """Per customer with orders (index customer_id): orders, first_order, last_order, revenue."""
    return tables.derived("churn.order_history", _history)


def days_since_last_order(tables: Tables) -> pd.Series:
    h = order_history(tables)
    return (end_of(tables) - h["last_order"]).dt.total_seconds() / 86400


def lapsed(tables: Tables, lo: float, hi: float) -> pd.DataFrame:
    """Customers whose last order is `lo` to `hi` days before the end, with their order history."""
    h = order_history(tables)
    age = days_since_last_order(tables)
    chosen = (age > lo) & (age <= hi)
    # age[chosen], not age: assigning a longer Series to an empty frame would give it the Series' index
    return h[chosen].assign(days_since_last_order=age[chosen])


def prerequisites(tables: Tables) -> dict[str, float]:
    """What Klaviyo asks before it predicts lifetime value: buyers, history, recent orders, 3+ order customers."""
    h = order_history(tables)
    end = end_of(tables)
    return {
        "customers_with_orders": int(len(h)),
        "history_days": float((h["last_order"].max() - h["first_order"].min()).days) if len(h) else 0.0,
        "orders_last_30_days": int(h.loc[h["last_order"] >= end - pd.Timedelta(days=30), "orders"].count()),
        "customers_3_plus_orders": int((h["orders"] >= 3).sum()),
    }


# Klaviyo's prerequisites for predictive lifetime value (BENCHMARKS.md); "some" 3+ order customers: 10.
PREREQUISITES = {
    "min_buyers": 500,
    "min_history_days": 180,
    "min_orders_last_30_days": 1,
    "min_three_order_customers": 10,
}


def lifetime_ready(tables: Tables, minimums: dict[str, float] | None = None) -> bool:
    """Whether the orders meet the prerequisites for a lifetime model."""
    m = {**PREREQUISITES, **(minimums or {})}
    pre = prerequisites(tables)
    return (
        pre["customers_with_orders"] >= m["min_buyers"]
        and pre["history_days"] >= m["min_history_days"]
        and pre["orders_last_30_days"] >= m["min_orders_last_30_days"]
        and pre["customers_3_plus_orders"] >= m["min_three_order_customers"]
    )


@dataclass
class LifetimeFit:
    """Per customer (index customer_id): p_alive, expected_value (Gamma-Gamma), purchases_if_active
    (BG/NBD, next 52 weeks) and revenue_at_risk; plus the parameters, the penalizer each model converged
    with ({"bgnbd": .., "gamma_gamma": ..}), the first penalizer the ladder tried, and the fit time."""

    customers: pd.DataFrame
    params: dict[str, float] = field(default_factory=dict)
    fit_seconds: float = 0.0
    penalizers: dict[str, float] = field(default_factory=dict)
    first_penalizer: float = lifetime.PENALIZERS[0]

    @property
    def retried(self) -> bool:
        """Whether a model converged only with a larger penalizer than the first one tried."""
        return any(p != self.first_penalizer for p in self.penalizers.values())


def _fit(t: Tables, penalizers: tuple[float, ...] = lifetime.PENALIZERS) -> LifetimeFit:
    o = t["orders"]
    o = o.filter(o.customer_id.notnull())
    daily = (
        o.group_by([o.customer_id, o.order_time.truncate("D").name("order_time")])
        .aggregate(revenue=o.revenue.sum())
        .to_pandas()
    )
    daily["customer_id"] = daily["customer_id"].astype(str)
    daily["order_time"] = pd.to_datetime(daily["order_time"])
    import lifetimes  # noqa: F401, PLC0415 - imported before the clock starts: the fit time is the model's alone

    started = time.perf_counter()
    summary = lifetime.rfm_summary(daily, end_of(t) - pd.Timedelta(days=1))
    bg = lifetime.fit_bgnbd_ladder(summary, penalizers)
    gg = lifetime.fit_gamma_gamma_ladder(summary, penalizers)
    p_alive = bg.p_alive(summary).clip(0.0, 1.0)
    expected = bg.expected_purchases(summary, HORIZON_WEEKS)
    if_active = expected / p_alive.clip(lower=1e-9)  # E[purchases | still active]: BG/NBD's numerator
    value = gg.expected_value(summary)
    seconds = time.perf_counter() - started
    out = pd.DataFrame({"p_alive": p_alive, "expected_value": value, "purchases_if_active": if_active})
    out["revenue_at_risk"] = (1 - out["p_alive"]) * out["purchases_if_active"] * out["expected_value"]
    params = {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b, "p": gg.p, "q": gg.q, "v": gg.v}
    return LifetimeFit(
        customers=out,
        params=params,
        fit_seconds=seconds,
        penalizers={"bgnbd": bg.penalizer, "gamma_gamma": gg.penalizer},
        first_penalizer=float(penalizers[0]),
    )


def lifetime_fit(tables: Tables, penalizers: Sequence[float] = lifetime.PENALIZERS) -> LifetimeFit:
    """BG/NBD and Gamma-Gamma fitted once per audit on the shop's orders (weeks; one purchase per day), each with
    the first of `penalizers` that converges; lifetime.FitFailed (with a plain reason) when one never does."""
    ladder = tuple(float(p) for p in penalizers)
    return tables.derived(f"churn.lifetime_fit{ladder}", lambda t: _fit(t, ladder))


def alive_band(p: pd.Series) -> pd.Series:
    cut = pd.cut(p, [-0.01, 0.25, 0.5, 0.75, 1.01], labels=list(ALIVE_BANDS), right=False)
    return pd.Series(pd.Categorical(cut, list(ALIVE_BANDS), ordered=True), index=p.index)


def age_band(days: pd.Series) -> pd.Series:
    cut = pd.cut(days, [-1, 90, 180, 365, np.inf], labels=list(AGE_BANDS))
    return pd.Series(pd.Categorical(cut, list(AGE_BANDS), ordered=True), index=days.index)


def alive_by_age(tables: Tables, penalizers: Sequence[float] = lifetime.PENALIZERS) -> pd.DataFrame:
    """Customers by probability-alive band (rows) and days since the last order (columns), with the
    revenue at risk of each band: the exploratory view of the win-back notebook."""
    fit = lifetime_fit(tables, penalizers)
    df = fit.customers.assign(
        alive=alive_band(fit.customers["p_alive"]),
        age=age_band(days_since_last_order(tables).reindex(fit.customers.index)),
    )
    table = pd.crosstab(df["alive"], df["age"], dropna=False).reindex(
        index=list(ALIVE_BANDS), columns=list(AGE_BANDS), fill_value=0
    )
    table["revenue_at_risk"] = df.groupby("alive", observed=False)["revenue_at_risk"].sum().reindex(table.index)
    table.index.name = "probability_alive"
    table.columns.name = None
    return table.reset_index()


def customers_by_last_order_month(tables: Tables) -> pd.DataFrame:
    """Customers by the month of their latest order (`month`, the first day of it; `customers`), oldest first;
    orders without a customer are left out."""
    o = tables["orders"].filter(lambda t: t.customer_id.notnull())
    last = o.group_by("customer_id").agg(last_order=o.order_time.max())
    out = last.group_by(month=last.last_order.truncate("M")).agg(customers=last.count()).order_by("month").to_pandas()
    out["customers"] = out["customers"].astype("int64")
    return out
