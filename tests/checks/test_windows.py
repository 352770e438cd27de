"""Windows that do not fit the data: a check whose window is longer than the data's span is not run, naming
the window and the span; a window that fits is judged on the customers whose whole window lies in the data."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit import checks, findings, i18n
from lifecycle_audit.checks import NotEnoughData
from tests.kit import T0, customers, orders, run, tables


def buyers(n: int, first_day: int, back_after: int | None = None) -> list[dict]:
    """`n` customers first ordering `first_day` days after T0, ordering again `back_after` days later (or not)."""
    tag = f"d{first_day}b{back_after}"
    rows = [dict(customer_id=f"{tag}c{i}", days=first_day, revenue=50.0) for i in range(n)]
    if back_after is not None:
        rows += [dict(customer_id=f"{tag}c{i}", days=first_day + back_after, revenue=50.0) for i in range(n)]
    return rows


def signed_up(od: pd.DataFrame) -> pd.DataFrame:
    """Every buyer signed up inside the data an hour before their first order (a first-time buyer)."""
    first = od.groupby("customer_id")["order_time"].min()
    return customers([dict(customer_id=c, first_seen_at=t - pd.Timedelta(hours=1)) for c, t in first.items()])


def test_a_180_day_repeat_window_on_100_days_of_data_is_not_run_naming_window_and_span():
    od = orders(buyers(150, 0, back_after=20))
    period = (T0.date(), (T0 + pd.Timedelta(days=99)).date())
    f = run("retention.repeat_purchase", orders=od, customers=signed_up(od), period=period)
    assert f.status == "not_run" and f.score is None
    reason = i18n.tr(f.reason)
    assert "180 days" in reason and "window_days" in reason and "100 days" in reason
    assert reason.startswith("its window of 180 days (window_days) is longer than the data's span of 100 days")


@pytest.mark.parametrize(
    ("check_id", "option", "window"),
    [
        ("reach.acquisition_cost", "value_days", 365),
        ("retention.repeat_purchase", "window_days", 180),
        ("winback.recontact_cutoff", "cutoff_days", 180),
        ("winback.churn_risk", "lapsed_from_days", 100),
        ("acquisition.lead_capture", "order_days", 60),
        ("conversion.customer_research", "months", 365),
    ],
)
def test_windows_longer_than_the_data_are_not_run(check_id, option, window):
    # 30 days of orders: the check's function stops at its window, before it reads any table
    t = tables(period=(T0.date(), (T0 + pd.Timedelta(days=29)).date()), orders=orders(buyers(3, 0)))
    spec = checks.get(check_id)
    with pytest.raises(NotEnoughData) as err:
        spec.fn(t, findings.options(spec))
    text = i18n.tr(err.value.text)
    assert f"its window of {window} days ({option}) is longer than the data's span of 30 days" in text


def test_a_window_that_fits_is_judged_on_the_buyers_whose_whole_window_lies_in_the_data():
    # 300 days of data: 120 buyers on day 0 (60 back after 30 days), 40 on day 200 (window still open: left out)
    od = orders(buyers(60, 0, back_after=30) + buyers(60, 0) + buyers(40, 200, back_after=10))
    period = (T0.normalize().date(), (T0.normalize() + pd.Timedelta(days=299)).date())
    f = run("retention.repeat_purchase", orders=od, customers=signed_up(od), period=period)
    assert f.value == pytest.approx(0.5) and f.details["customers"] == 120
    assert f.details["window_days"] == 180 and f.details["span_days"] == 300
    assert f.details["judged_whole_window"] == 120 and f.details["left_out_window_open"] == 40


def test_the_same_check_runs_unchanged_when_the_window_fits():
    od = orders(buyers(120, 0, back_after=30))
    fits = (T0.normalize().date(), (T0.normalize() + pd.Timedelta(days=180)).date())  # 181 days
    f = run("retention.repeat_purchase", orders=od, customers=signed_up(od), period=fits)
    assert f.status == "pass" and f.value == pytest.approx(1.0)
    assert f.details["judged_whole_window"] == 120 and f.details["left_out_window_open"] == 0
