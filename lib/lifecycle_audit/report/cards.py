"""A finding as a card: its values formatted in the report's locale, its evidence table and chart, as HTML.

A card is drawn in a notebook (workbook.show, or a Finding left at the end of a cell) and inside every stage
page. The report never computes a metric here; it formats what the checks handed it.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
from typing import Any

import pandas as pd
from markupsafe import Markup

from .. import findings, fmt, i18n, lang
from ..checks import Chart
from ..findings import Finding
from ..i18n import Text, column, term, tr
from ..privacy import mask_text
from . import chart_cache
from .theme import TABLE_ROWS, anchor, card_css, environment

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- a finding as a card


def _get(f: Finding | dict, name: str, default: Any = None) -> Any:
    return f.get(name, default) if isinstance(f, dict) else getattr(f, name, default)


def threshold_text(
    good: float | None, poor: float | None, better: str | None, unit: str | None, currency: str = "EUR"
) -> str:
    """ "good ≤ 60 %, poor ≥ 80 %" (lower is better) or "good ≥ 40 %, poor ≤ 20 %" (higher is better)."""
    if good is None or poor is None:
        return ""
    g, p = i18n.value(good, unit, currency), i18n.value(poor, unit, currency)
    if better == "lower":
        return Text("good ≤ {good}, poor ≥ {poor}", good=g, poor=p).render()
    if better == "higher":
        return Text("good ≥ {good}, poor ≤ {poor}", good=g, poor=p).render()
    return Text("good {good}, poor {poor}", good=g, poor=p).render()


_SHARE_WORDS = {"rate", "share", "pct", "percent", "percentage"}
_MONEY_WORDS = {
    "revenue",
    "amount",
    "spend",
    "cost",
    "costs",
    "price",
    "sales",
    "gmv",
    "margin",
    "ltv",
    "clv",
    "aov",
    "stake",
    "money",
    "eur",
    "usd",
    "gbp",
    "idr",
}


def _column_unit(name: Any, values: pd.Series, hints: dict[str, str]) -> str | None:
    """A numeric column's unit: as hinted (the chart's y column, a table_units mapping), else guessed from its name."""
    if str(name) in hints:
        return hints[str(name)]
    words = set(re.split(r"[^a-z0-9]+", str(name).lower()))
    if words & _MONEY_WORDS or ("value" in words and words & {"order", "lifetime", "basket", "cart"}):
        return "money"
    if words & _SHARE_WORDS:
        v = values.dropna()
        if len(v) and v.between(0, 1).all():
            return "share"
    return None


def _cell(value: Any, unit: str | None, currency: str) -> str:
    if isinstance(value, (list, dict, tuple)):
        return mask_text(str(value))
    if fmt.missing(value):
        return fmt.DASH
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return i18n.gettext("Yes") if value else i18n.gettext("No")
    if isinstance(value, (pd.Timestamp, _dt.date, _dt.datetime)):
        return fmt.date(value)
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        try:
            v = float(value)
        except (TypeError, ValueError):
            return mask_text(str(value))
        if unit:
            return i18n.value(v, unit, currency)
        return fmt.number(v, 0) if v.is_integer() else fmt.number(v)
    return mask_text(term(value))  # a word of the data's vocabulary ("mobile") in the report's language


def table_context(
    df: pd.DataFrame, hints: dict[str, str] | None = None, currency: str = "EUR", rows: int = TABLE_ROWS
) -> dict[str, Any]:
    """The first `rows` rows of a table as formatted strings, with labelled columns (escaping is the template's)."""
    hints = hints or {}
    head = df.head(rows)
    columns, units = [], []
    for name in df.columns:
        series = df[name]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        units.append(_column_unit(name, series, hints) if numeric else None)
        columns.append({"label": column(name), "numeric": numeric})
    body = [
        [_cell(v, units[i], currency) for i, v in enumerate(row)] for row in head.itertuples(index=False, name=None)
    ]
    return {"columns": columns, "rows": body, "total": len(df), "total_text": fmt.number(len(df), 0)}


def _as_chart(chart: Chart | dict | None) -> Chart | None:
    if chart is None or isinstance(chart, Chart):
        return chart
    d = dict(chart)
    d["data"] = pd.DataFrame(d.get("data") or [])
    return Chart(**d)


def card_context(f: Finding | dict, currency: str = "EUR", with_chart: bool = True) -> dict[str, Any]:
    """Everything the card template shows, formatted; works on a Finding or on Finding.to_dict()."""
    status = _get(f, "status")
    unit = _get(f, "unit")
    check_id = _get(f, "check_id")
    ran = status in ("pass", "warn", "fail")
    c: dict[str, Any] = {
        "check_id": check_id,
        "anchor": anchor(check_id),
        "stage": _get(f, "stage"),
        "status": status,
        "ran": ran,
        "title": tr(_get(f, "title")),
        "score": _get(f, "score"),
        "value": i18n.value(_get(f, "value"), unit, currency),
        "threshold": threshold_text(_get(f, "good"), _get(f, "poor"), _get(f, "better"), unit, currency),
        "source": tr(_get(f, "source")),
        "summary": tr(_get(f, "summary")),
        "reason": tr(_get(f, "reason")),
        "description": tr(_get(f, "description")),
        "advice": [tr(a) for a in _get(f, "advice") or []],
        "at_stake": None if fmt.missing(_get(f, "at_stake")) else fmt.money(_get(f, "at_stake"), currency),
        "at_stake_method": tr(_get(f, "at_stake_method")),
        "chart_svg": None,
        "chart_error": None,
        "table": None,
    }
    chart = _as_chart(_get(f, "chart"))
    if with_chart and chart is not None:
        try:
            c["chart_svg"] = Markup(chart_cache.svg(chart, currency))  # drawn only when no run before drew it
        except Exception as err:  # a chart that cannot be drawn must not hide the finding (logged)
            log.error("the chart of %s raised %s: %s", check_id, type(err).__name__, err, exc_info=err)
            c["chart_error"] = True  # the card says so in plain words; the exception is in the run's log
    table = _get(f, "table")
    if isinstance(table, list):
        table = pd.DataFrame(table)
    if table is not None and len(table.columns):
        hints = dict(_get(f, "table_units") or {})
        if chart is not None:
            for y in [chart.y] if isinstance(chart.y, str) else chart.y:
                hints.setdefault(str(y), chart.y_unit)
        c["table"] = table_context(table, hints, currency)
    return c


findings.render_cards_with(lambda f: finding_html(f))  # a Finding in a notebook shows as this card


def set_currency(code: str) -> None:
    """The currency cards use when none is passed, e.g. in a notebook's Finding._repr_html_ (default EUR)."""
    lang.set_locale(currency=code)


def finding_html(
    f: Finding | dict,
    currency: str | None = None,
    *,
    style: bool = True,
    locale: str | None = None,
    csv: dict[str, Any] | None = None,
) -> str:
    """One finding as a self-contained card (the anchor id is the check id with dots as dashes).

    currency: ISO code for money; None takes the one in effect (set_currency / lang.set_locale; EUR unless set).
    locale: "en", "de" or "id"; None takes the one in effect (workbook.open_audit sets the audit's).
    style=True puts the card's own small <style> in front of it, for a notebook; pages built here
    carry the whole stylesheet once and drop those blocks.
    csv: {"href", "rows"} of the finding's evidence CSV in a run folder (evidence.csv_link): the card links to it.
    """
    with lang.use(locale, currency):
        c = card_context(f, lang.currency())
        if csv and c["table"]:
            c["csv"] = {"href": csv["href"], "rows": fmt.number(int(csv["rows"]), 0)}
        return environment().get_template("finding.html.j2").render(c=c, style=Markup(card_css()) if style else None)
