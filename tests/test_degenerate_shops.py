"""One failure never costs the other results: every check on degenerate shops is a finding, never an error.

A small generated shop is edited by hand into the shapes real exports take: a table supplied empty, one
customer, one day, all orders on one day, no marketing messages, no known acquisition channel, and (marked
slow) rarer ones, among them each nullable column empty. Every check runs on each shop; a check that raises would be an "error"
finding, and none may be. The win-back lifetime model's prerequisites are lowered so that its fit (and the
penalizer ladder) runs on every shop instead of stopping at "too few customers".
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pandas as pd
import pytest

from lifecycle_audit import contract, findings
from lifecycle_audit.checks import NotEnoughData, specs
from lifecycle_audit.engine import Tables
from lifecycle_audit.metrics import channels, churn, cohorts, contacts, expansion, first_purchase, funnel, lifetime, rfm
from lifecycle_audit.stages import CHECKED
from tests.kit import shop

Frames = dict[str, pd.DataFrame]
# Fit the lifetime model on whatever orders there are (the defaults need 500 buyers and 180 days).
THRESHOLDS = {
    "winback.churn_risk": {
        "min_buyers": 1,
        "min_history_days": 0,
        "min_orders_last_30_days": 0,
        "min_three_order_customers": 0,
        "min_orders": 1,
        "min_lapsed": 1,
        "lapsed_from_days": -1,
        "lapsed_to_days": 100_000,
    }
}


@pytest.fixture(scope="module")
def base() -> Frames:
    return shop(customers=300, seed=3)


def _null(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """`df` with `column` empty on every row, in its contract dtype."""
    return df.assign(**{column: pd.Series([None] * len(df), dtype=df[column].dtype, index=df.index)})


def _on_day(df: pd.DataFrame, name: str, day: pd.Timestamp) -> pd.DataFrame:
    """The rows of table `name` dated on `day` (a table without a time column stays whole)."""
    col = contract.TABLES[name].time_column
    if col is None or not pd.api.types.is_datetime64_any_dtype(df[col]):
        return df
    return df[df[col].dt.normalize() == day]


def degenerate(base: Frames) -> Iterator[tuple[str, Frames]]:
    """The shapes of data real exports come in that every check must survive, each from the generated shop."""
    for name, df in base.items():
        yield f"{name} empty", {**base, name: df.iloc[0:0]}
    one = base["orders"]["customer_id"].dropna().iloc[0]
    yield "one customer", {n: df[df["customer_id"] == one] if "customer_id" in df else df for n, df in base.items()}
    day = base["orders"]["order_time"].dt.normalize().mode()[0]
    yield "one day", {n: _on_day(df, n, day) for n, df in base.items()}
    yield "all orders on one day", {**base, "orders": base["orders"].assign(order_time=day + pd.Timedelta(hours=12))}
    m = base["messages"]
    yield "no marketing messages", {**base, "messages": m[m["message_type"] == "transactional"]}
    customers, events = base["customers"], base["events"]
    channels = {"customers": _null(customers, "acquisition_channel"), "events": _null(events, "channel")}
    yield "no known channel", {**base, **channels}


def more_degenerate(base: Frames) -> Iterator[tuple[str, Frames]]:
    """Rarer shapes: every table empty, messages by post only, channels all "unknown", orders without a
    customer or without revenue, each nullable column empty on every row, and each table supplied alone."""
    yield "every table empty", {name: df.iloc[0:0] for name, df in base.items()}
    yield "postal messages only", {**base, "messages": base["messages"].assign(channel="postal")}
    yield "every channel 'unknown'", {**base, "customers": base["customers"].assign(acquisition_channel="unknown")}
    yield "no order has a customer", {**base, "orders": _null(base["orders"], "customer_id")}
    yield "no revenue", {**base, "orders": base["orders"].assign(revenue=0.0)}
    for name, df in base.items():
        for col in contract.TABLES[name].columns:
            if col.nullable:
                yield f"{name}.{col.name} empty", {**base, name: _null(df, col.name)}
    for name in base:
        yield f"only {name} supplied", {name: base[name]}


def _every_check(frames: Frames, base: Frames) -> list[findings.Finding]:
    """Every check on the frames; the lifetime model is fitted only when the orders or customers differ from
    the generated shop's (its fit on those is the same every time, and the slowest part)."""
    t = Tables.from_frames(frames)
    t.con.raw_sql("SET threads TO 1")
    fit = any(frames.get(n) is not base[n] for n in ("orders", "customers"))
    return [f for stage in CHECKED for f in findings.run_stage(stage, t, THRESHOLDS if fit else {})]


def _assert_none_raised(shops: Callable[[Frames], Iterator[tuple[str, Frames]]], base: Frames) -> None:
    n_checks = len([s for stage in CHECKED for s in specs(stage)])
    raised, n_shops = [], 0
    for label, frames in shops(base):
        found = _every_check(frames, base)
        assert len(found) == n_checks, label
        raised += [(label, f.check_id, f.details.get("exception")) for f in found if f.status == "error"]
        n_shops += 1
    print(f"{n_shops} shops × {n_checks} checks = {n_shops * n_checks} findings, {len(raised)} raised")
    assert not raised, raised


@pytest.mark.slow  # 16 shops × 29 checks: make test (and CI) runs it, make test-fast does not
def test_no_check_raises_on_degenerate_shops(base):
    _assert_none_raised(degenerate, base)


@pytest.mark.slow
def test_no_check_raises_on_rarer_degenerate_shops(base):
    _assert_none_raised(more_degenerate, base)


def test_the_lifetime_fit_runs_on_the_shop_and_is_not_run_without_repeat_purchases(base):
    """The thresholds above do make the model fit (so the matrix exercises it) and its failures are not run."""
    churn = findings.run_check(
        next(s for s in specs("winback") if s.id == "winback.churn_risk"),
        Tables.from_frames(base),
        THRESHOLDS["winback.churn_risk"],
    )
    assert churn.ran and set(churn.details["penalizers"]) == {"bgnbd", "gamma_gamma"}
    one_day = {**base, "orders": base["orders"].assign(order_time=pd.Timestamp("2025-06-02 12:00"))}
    churn = findings.run_check(
        next(s for s in specs("winback") if s.id == "winback.churn_risk"),
        Tables.from_frames(one_day),
        THRESHOLDS["winback.churn_risk"],
    )
    assert churn.status == "not_run" and "could not be fitted" in churn.reason.msgid


# The measures the stage notebooks' views draw (each view cell is isolated; these should not need it).
VIEWS = {
    "channels.monthly_first_touch": channels.monthly_first_touch,
    "first_purchase.days_to_first_order": first_purchase.days_to_first_order,
    "funnel.by_device": funnel.by_device,
    "cohorts.retention_table": cohorts.retention_table,
    "contacts.weeks_by_band": contacts.weeks_by_band,
    "cohorts.lifecycle": cohorts.lifecycle,
    "expansion.by_category_and_channel": expansion.by_category_and_channel,
    "rfm.segments": rfm.segments,
    "churn.alive_by_age": lambda t: churn.alive_by_age(t) if churn.lifetime_ready(t) else None,  # as drawn
}


@pytest.mark.slow
def test_the_notebooks_view_measures_do_not_raise_on_degenerate_shops(base):
    raised = []
    for label, frames in itertools.chain(degenerate(base), more_degenerate(base)):
        if len(frames) < len(base):
            continue  # a notebook draws no view of a table that was not supplied
        t = Tables.from_frames(frames)
        for name, view in VIEWS.items():
            try:
                view(t)
            except (NotEnoughData, lifetime.FitFailed):  # shown as their plain reason
                pass
            except Exception as err:  # noqa: BLE001 - collected, to name every view that raises
                raised.append((label, name, f"{type(err).__name__}: {err}"))
    assert not raised, raised
