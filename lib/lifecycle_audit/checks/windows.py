"""Windows that fit the data: a check whose window is longer than the data's span is not run, with the reason.

A check measuring something within a window (a second order within 180 days, revenue in the 12 months after
the first order, a reminder within 7 days of the cart) calls `require` with its window before measuring. When
the window is longer than the analysis period it raises NotEnoughData naming the window, the option that sets
it and the span, so the check is "not run" instead of judging customers none of whom could complete it. When
the window fits, a check judges only the customers (orders, carts, messages) whose whole window lies inside the
data, as each check's docstring says, and `judged_on` records in its details how many that is.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..engine import Tables
from ..i18n import Text, Value, days
from ..metrics import span
from .base import NotEnoughData


def require(tables: Tables, window_days: float, option: str) -> float:
    """The data's span in days; NotEnoughData when `window_days` (set by the check's `option`) is longer."""
    covered = span.span_days(tables)
    if window_days > covered:
        start, end = tables.period
        raise NotEnoughData(
            Text(
                "its window of {window} ({option}) is longer than the data's span of {span} ({start} to {end}); "
                "it needs a longer export, or a shorter {option} under thresholds",
                window=days(window_days),
                option=option,
                span=days(round(covered)),
                start=Value("date", start.date()),
                end=Value("date", (end - pd.Timedelta(1, "ns")).date()),
            )
        )
    return covered


def months_in_days(months: float) -> int:
    """A window given in months, in days (a month as a twelfth of a year)."""
    return round(months * 365 / 12)


def judged_on(details: dict[str, Any], tables: Tables, window_days: float, judged: int, observed: int) -> None:
    """Record in a check's details that it judged `judged` of the `observed` units: those whose whole window of
    `window_days` lies inside the data's span (the others came too late to tell)."""
    details.update(
        span_days=round(span.span_days(tables)),
        window_days=window_days,
        judged_whole_window=int(judged),
        left_out_window_open=int(observed - judged),
    )
