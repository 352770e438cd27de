"""What a check returns (Evidence, Chart) and what the registry makes of it (Finding).

Text a check writes (summaries, how money at stake was estimated, chart titles and labels) is an
i18n.Text: an English msgid with typed values, rendered in the report's locale. Plain strings are
accepted too and are treated as msgids (check declarations are plain English strings).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .i18n import Text

Message = str | Text  # what the report shows as text: a msgid, or a msgid with values

STATUSES = ("fail", "warn", "pass", "not_run", "error")
UNITS = ("share", "rate", "days", "hours", "count", "money", "ratio", "per_week")


@dataclass
class Chart:
    """A chart described as data; the report layer draws it (check code never draws)."""

    kind: str                      # "bar", "barh", "line"
    data: pd.DataFrame
    x: str
    y: str | list[str]
    title: Message
    x_label: Message
    y_label: Message
    y_unit: str = "share"          # how to format the y axis: share, count, money, days, hours
    hue: str | None = None         # a column splitting the data into series
    reference: float | None = None  # a horizontal line (the threshold)
    reference_label: Message | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {k: _text_dict(getattr(self, k)) for k in ("kind", "x", "y", "title", "x_label", "y_label", "y_unit",
                                                      "hue", "reference", "reference_label")}
        d["data"] = _records(self.data)
        return d


@dataclass
class Evidence:
    """A check's measurement: the headline value and what supports it."""

    value: float
    table: pd.DataFrame | None = None
    chart: Chart | None = None
    at_stake: float | None = None          # money at stake, in the params currency
    at_stake_method: Message | None = None  # how it was estimated, in one sentence
    details: dict[str, Any] = field(default_factory=dict)  # numbers the advice text refers to
    summary: Message | None = None          # one sentence stating what the data shows


@dataclass
class Finding:
    """A check's result as the report shows it."""

    check_id: str
    stage: str
    title: str
    status: str
    score: int | None                     # 0..100; None when not run or on error
    value: float | None = None
    unit: str | None = None
    good: float | None = None
    poor: float | None = None
    better: str | None = None
    source: str | None = None
    description: str = ""
    advice: list[str] = field(default_factory=list)
    summary: Message | None = None
    reason: Message | None = None         # why not run, or the error
    table: pd.DataFrame | None = None
    chart: Chart | None = None
    at_stake: float | None = None
    at_stake_method: Message | None = None
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None

    @property
    def ran(self) -> bool:
        return self.status in ("pass", "warn", "fail")

    def to_dict(self, timings: bool = True) -> dict[str, Any]:
        d = {k: _text_dict(getattr(self, k)) for k in self.__dataclass_fields__ if k not in ("table", "chart")}
        d["advice"] = list(self.advice)
        d["details"] = dict(self.details)
        d["table"] = _records(self.table) if self.table is not None else None
        d["chart"] = self.chart.to_dict() if self.chart is not None else None
        if not timings:
            d.pop("seconds")
        return _clean(d)

    def _repr_html_(self) -> str:  # shown as a card when a notebook displays a finding
        from .report.render import finding_html

        return finding_html(self)


def _text_dict(value: Any) -> Any:
    """A Text as its JSON form ({"msgid", "params"}); the report renders it again in any locale."""
    return value.to_dict() if isinstance(value, Text) else value


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(df.to_json(orient="records", date_format="iso"))


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value
