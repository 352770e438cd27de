"""What changed since an earlier run, as the report shows it: the index's comparison section, the same as a page
of its own, and the client's trend over all runs (rendering only: lifecycle_audit.compare computes the changes).

Every text is a msgid rendered in the locale in effect (lang.use); the command line prints the same rows
(`view`) in a terminal table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from markupsafe import Markup

from .. import compare, fmt, i18n, lang
from ..checks import Chart
from ..compare import CHANGE_WORDS, CheckChange, Comparison, RunRecord
from ..i18n import N_, Text, tr
from ..stages import CHECKED
from ..stages import TITLES as STAGE_TITLES
from ..stages import page as stage_page
from .theme import BADGES, anchor, environment, page_css

TREND_PAGE = "trend.html"
TOP_TRENDS = 4  # the findings whose values the trend page draws: the latest run's largest money at stake
# A change never by colour alone: a symbol and a word with each.
CHANGE_SYMBOLS = {
    "regressed": "↓",
    "fixed": "↑",
    "improved": "↗",
    "new": "+",
    "no_longer_judged": "–",
    "not_comparable": "≠",
    "unchanged": "=",
    "not_judged": "–",
}
# The columns of the terminal's table of checks (lifecycle-audit compare), in order.
TERMINAL_COLUMNS = (
    N_("Change"),
    N_("Stage"),
    N_("Check"),
    N_("Then"),
    N_("Now"),
    N_("Value then"),
    N_("Value now"),
    N_("Change in value"),
    N_("Change in money at stake"),
    N_("Why"),
)
_SHOWN_FIRST = ("regressed", "fixed", "improved", "new", "no_longer_judged", "not_comparable")
_COUNT_WORDS = {
    "regressed": N_("{n} regressed"),
    "fixed": N_("{n} fixed"),
    "improved": N_("{n} improved"),
    "new": N_("{n} new"),
    "no_longer_judged": N_("{n} no longer judged"),
    "not_comparable": N_("{n} not comparable"),
    "unchanged": N_("{n} unchanged"),
    "not_judged": N_("{n} not judged"),
}


# ---------------------------------------------------------------- figures as text


def signed(text: str, d: float) -> str:
    """A formatted magnitude with its sign: "+2.5 pts", "−€1,200", "±0"."""
    if d > 0:
        return f"+{text}"
    if d < 0:
        return f"−{text}"
    return f"±{text}"


def delta(d: float | None, unit: str | None, currency: str | None = None) -> str:
    """A change of a measured value in its unit: shares in percentage points, money in the currency."""
    if d is None or fmt.missing(d):
        return fmt.DASH
    if unit in ("share", "rate"):
        return signed(Text("{n} pts", n=i18n.number(abs(d) * 100, 1)).render(), d)
    return signed(i18n.value(abs(d), unit, currency), d)


def change_word(change: str) -> str:
    """The change as a word in the locale ("fixed", "behoben")."""
    return i18n.gettext(CHANGE_WORDS[change])


def status_word(status: str | None) -> str:
    """A status as the badges word it ("Pass", "Fail"); absent from a run: "not in the run"."""
    if status is None:
        return i18n.gettext("not in the run")
    return i18n.gettext(BADGES.get(status, BADGES["not_run"])[1])


def counts_line(cmp: Comparison) -> str:
    """ "2 fixed · 1 new · 26 unchanged"."""
    return " · ".join(Text(_COUNT_WORDS[k], n=n).render() for k, n in cmp.counts().items())


def _score(v: int | None) -> str:
    return fmt.DASH if v is None else str(v)


def _score_delta(a: int | None, b: int | None) -> str:
    return fmt.DASH if a is None or b is None else signed(str(abs(b - a)), b - a)


def _money(v: float | None, currency: str | None) -> str:
    return fmt.DASH if v is None else fmt.money(v, currency, 0)


def _period(p: Any) -> str:
    """A period (a (start, end) pair, or {"start", "end"} as a manifest holds it) as "1 July 2025 – 30 Sep 2026"."""
    if isinstance(p, dict):
        p = (p.get("start"), p.get("end"))
    days = [compare.day(v) for v in p] if p else []
    if len(days) != 2 or None in days:
        return fmt.DASH
    return f"{fmt.date(days[0], 'long')} – {fmt.date(days[1], 'long')}"


def _when(rec: RunRecord) -> str:
    return fmt.date(rec.started.replace(tzinfo=None)) if rec.started else fmt.DASH


# ---------------------------------------------------------------- the rows both the page and the terminal show


@dataclass
class CheckRow:
    """One check of the comparison, every figure formatted in the locale."""

    check_id: str
    change: str
    change_word: str
    symbol: str
    stage: str
    title: str
    status_then: str | None
    status_now: str | None
    status_then_word: str
    status_now_word: str
    score_then: str
    score_now: str
    value_then: str
    value_now: str
    value_delta: str
    stake_then: str
    stake_now: str
    stake_delta: str
    why: str  # the reason and the notes, one sentence each
    href: str


def check_row(c: CheckChange, currency: str | None) -> CheckRow:
    """A check's change with every figure formatted."""
    why = [tr(c.reason)] if c.reason is not None else []
    why += [tr(n) for n in c.notes]
    return CheckRow(
        check_id=c.check_id,
        change=c.change,
        change_word=change_word(c.change),
        symbol=CHANGE_SYMBOLS[c.change],
        stage=tr(STAGE_TITLES.get(c.stage)) or i18n.pretty(c.stage),
        title=tr(c.title),
        status_then=c.status_then,
        status_now=c.status_now,
        status_then_word=status_word(c.status_then),
        status_now_word=status_word(c.status_now),
        score_then=_score(c.score_then),
        score_now=_score(c.score_now),
        value_then=i18n.value(c.value_then, c.unit, currency),
        value_now=i18n.value(c.value_now, c.unit, currency),
        value_delta=delta(c.value_delta, c.unit, currency),
        stake_then=_money(c.stake_then, currency),
        stake_now=_money(c.stake_now, currency),
        stake_delta=delta(c.stake_delta, "money", currency),
        why="; ".join(w for w in why if w),
        href=f"{stage_page(c.stage)}#{anchor(c.check_id)}",
    )


@dataclass
class View:
    """The comparison as the page and the terminal show it, in the locale in effect."""

    then_id: str
    now_id: str
    then_when: str
    now_when: str
    then_period: str
    now_period: str
    overlap: str
    counts: str
    notes: list[str]
    stages: list[dict[str, str]]
    changed: list[CheckRow]
    unchanged: list[CheckRow]
    regressed: int


def view(cmp: Comparison) -> View:
    """Every figure and sentence of a comparison, formatted in the locale and currency in effect."""
    currency = lang.currency()
    stages = [
        {
            "stage": tr(STAGE_TITLES.get(s.stage)) or s.stage,
            "file": stage_page(s.stage),
            "then": _score(s.score_then),
            "now": _score(s.score_now),
            "delta": _score_delta(s.score_then, s.score_now),
        }
        for s in cmp.stages
        if s.stage in CHECKED
    ]
    stages.append(
        {
            "stage": i18n.gettext("Overall"),
            "file": None,
            "then": _score(cmp.then.overall),
            "now": _score(cmp.now.overall),
            "delta": _score_delta(cmp.then.overall, cmp.now.overall),
        }
    )
    rows = [check_row(c, currency) for c in cmp.checks]
    order = {k: i for i, k in enumerate(compare.CHANGES)}
    changed = sorted((r for r in rows if r.change in _SHOWN_FIRST), key=lambda r: order[r.change])
    return View(
        then_id=cmp.then.run_id,
        now_id=cmp.now.run_id,
        then_when=_when(cmp.then),
        now_when=_when(cmp.now),
        then_period=_period(cmp.then.period),
        now_period=_period(cmp.now.period),
        overlap=cmp.overlap.text.render(),
        counts=counts_line(cmp),
        notes=[n.render() for n in cmp.notes],
        stages=stages,
        changed=changed,
        unchanged=[r for r in rows if r.change not in _SHOWN_FIRST],
        regressed=len(cmp.of("regressed")),
    )


def stake_line(cmp: Comparison) -> str:
    """The money at stake of both runs, overlaps counted once (findings.total_at_stake), and its change."""
    currency = lang.currency()
    then, now = cmp.then.at_stake, cmp.now.at_stake
    return Text(
        "Money at stake: {then} then, {now} now ({change}).",
        then=_money(then, currency),
        now=_money(now, currency),
        change=delta(now - then, "money", currency),
    ).render()


# ---------------------------------------------------------------- pages


def section_html(cmp: Comparison, trend: str | None = None, heading: int = 2) -> Markup:
    """The comparison as a section of a page (the index shows it); `trend` links the trend page when given."""
    return Markup(
        environment()
        .get_template("comparison.html.j2")
        .render(v=view(cmp), stakes=stake_line(cmp), trend=trend, h=heading)
    )


def _run(info: dict[str, Any], current: str) -> dict[str, Any]:
    nav = [{"stage": s, "title": tr(STAGE_TITLES[s]), "file": stage_page(s)} for s in info.get("stages") or []]
    return {
        "client": info.get("client") or i18n.gettext("the shop"),
        "run_id": info.get("run_id"),
        "generated_at": None,
        "period": _period(info.get("period")) if info.get("period") else None,
        "stages": nav,
        "version": info.get("version") or "",
        "current": current,
    }


def page_html(cmp: Comparison) -> str:
    """The comparison as a page of its own (`lifecycle-audit compare --html`): the index's section, whole."""
    info = {
        "client": cmp.now.client_name or cmp.now.client,
        "run_id": cmp.now.run_id,
        "period": cmp.now.period,
        "version": cmp.now.version,
    }
    return (
        environment()
        .get_template("compare_page.html.j2")
        .render(css=Markup(page_css()), run=_run(info, "compare"), current="compare", section=section_html(cmp))
    )


# ---------------------------------------------------------------- the trend over all runs


def _label(rec: RunRecord) -> str:
    return rec.run_id


def score_chart(runs: list[RunRecord]) -> Chart:
    """Each stage's score and the overall score over the runs, as a line chart."""
    rows = []
    for rec in runs:
        for s in CHECKED:
            if rec.stage_scores.get(s) is not None:
                rows.append({"run": _label(rec), "stage": tr(STAGE_TITLES[s]), "score": rec.stage_scores[s]})
        if rec.overall is not None:
            rows.append({"run": _label(rec), "stage": i18n.gettext("Overall"), "score": rec.overall})
    return Chart(
        kind="line",
        data=pd.DataFrame(rows, columns=["run", "stage", "score"]),
        x="run",
        y="score",
        hue="stage",
        title=N_("Score per stage"),
        x_label=N_("Run"),
        y_label=N_("Score"),
        y_unit="count",
        reference=90,
        reference_label=N_("Good from 90"),
    )


def top_checks(latest: RunRecord, n: int = TOP_TRENDS) -> list[str]:
    """The latest run's failed and warned checks with the largest money at stake (then the lowest score)."""
    ranked = sorted(
        (f for f in latest.findings if f.get("status") in ("fail", "warn") and f.get("value") is not None),
        key=lambda f: (-(f.get("at_stake") or 0), f.get("score") if f.get("score") is not None else 101),
    )
    return [f["check_id"] for f in ranked[:n]]


def value_chart(check_id: str, runs: list[RunRecord]) -> Chart:
    """A check's measured value over the runs, with its "good" control point as the line to reach."""
    rows, latest = [], {}
    for rec in runs:
        f = rec.by_check.get(check_id)
        if f is not None and f.get("status") in compare.JUDGED and f.get("value") is not None:
            rows.append({"run": _label(rec), "value": float(f["value"])})
            latest = f
    unit = latest.get("unit") or "number"
    return Chart(
        kind="line",
        data=pd.DataFrame(rows, columns=["run", "value"]),
        x="run",
        y="value",
        title=compare.check_title(check_id, None, latest),
        x_label=N_("Run"),
        y_label=N_("Measured value"),
        y_unit=unit,
        reference=latest.get("good"),
        reference_label=N_("Good (scores 90)"),
    )


def _svg(chart: Chart) -> Markup:
    from .charts import svg  # noqa: PLC0415 - matplotlib loads only when a chart is drawn

    return Markup(svg(chart, lang.currency()))


def trend_html(runs: list[RunRecord], info: dict[str, Any]) -> str:
    """The client's trend page over `runs` (oldest first): a table of the runs, the score per stage, and the
    values of the latest run's top findings, as charts."""
    currency = lang.currency()
    table = [
        {
            "run": rec.run_id,
            "when": _when(rec),
            "period": _period(rec.period),
            "overall": _score(rec.overall),
            "failed": sum(1 for f in rec.findings if f.get("status") == "fail"),
            "stake": _money(rec.at_stake, currency),
        }
        for rec in runs
    ]
    charts = [_svg(score_chart(runs))]
    charts += [_svg(value_chart(cid, runs)) for cid in top_checks(runs[-1])] if runs else []
    return (
        environment()
        .get_template("trend.html.j2")
        .render(css=Markup(page_css()), run=_run(info, "trend"), current="trend", runs=table, charts=charts)
    )
