"""What the audit reports: a check's Evidence scored into a Finding, and the Finding as JSON.

`run_check` is where a declared check meets the data: an unmet need (a table, column or kind of value
the check declared it needs to judge, evaluated before the check runs), thin data or an exception
becomes a finding (not run, or error) instead of a crash; an exception's type, message and traceback go to
the "lifecycle_audit" logger (a run's log, see workbook), the finding says only in plain words that the check
stopped on an error; the client's threshold overrides are merged
into the check's typed options; the value is scored once, here, on the declared control points.

Text a check writes (summaries, how money at stake was estimated, chart titles and labels) is an
i18n.Text: an English msgid with typed values, rendered in the report's locale. Plain strings are
accepted too and are treated as msgids (check declarations are plain English strings).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import ValidationError

from . import checks, scoring
from .checks import Chart, CheckSpec, Evidence, Message, NotEnoughData
from .errors import CheckError, ParamsError
from .i18n import Text, money, share
from .metrics.orders import period_revenue

STATUSES = ("fail", "warn", "pass", "not_run", "error")
# What the client reads on a check that raised; the exception itself goes to the run's log.
ERROR_REASON = Text(
    "an unexpected error in the workbook stopped this check before it could judge the data; the check is "
    "neither passed nor failed, and the details are in the run's log"
)
log = logging.getLogger(__name__)


@dataclass
class Finding:
    """A check's result as the report shows it."""

    check_id: str
    stage: str
    title: str
    status: str
    score: int | None  # 0..100; None when not run or on error
    value: float | None = None
    unit: str | None = None
    good: float | None = None
    poor: float | None = None
    better: str | None = None
    source: str | None = None
    description: str = ""
    advice: list[str] = field(default_factory=list)
    summary: Message | None = None
    reason: Message | None = None  # why not run, or the error
    table: pd.DataFrame | None = None
    chart: Chart | None = None
    at_stake: float | None = None
    at_stake_method: Message | None = None
    period_revenue: float | None = None  # revenue of the orders in the analysis period: what caps at_stake
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    unmet: list[str] = field(default_factory=list)  # the needs the data did not meet (as declared), when not run

    @property
    def ran(self) -> bool:
        return self.status in ("pass", "warn", "fail")

    def to_dict(self, timings: bool = True) -> dict[str, Any]:
        d = {k: _text_dict(getattr(self, k)) for k in self.__dataclass_fields__ if k not in ("table", "chart")}
        d["advice"] = list(self.advice)
        d["details"] = dict(self.details)
        d["table"] = _records(self.table) if self.table is not None else None
        d["chart"] = chart_dict(self.chart) if self.chart is not None else None
        if not timings:
            d.pop("seconds")
        return _clean(d)

    def _repr_html_(self) -> str | None:
        """A notebook shows a finding as its report card (drawn by the report layer, which sets the renderer)."""
        return _CARD_RENDERER[0](self) if _CARD_RENDERER else None


_CARD_RENDERER: list[Callable[[Finding], str]] = []


def render_cards_with(renderer: Callable[[Finding], str]) -> None:
    """Set how a Finding draws itself in a notebook; report.render passes its card (findings never import report)."""
    _CARD_RENDERER[:] = [renderer]


def as_dicts(found: list[Finding | dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings as their JSON form (findings.json holds them so; a Finding is converted, a dict passes as is)."""
    return [f if isinstance(f, dict) else f.to_dict(timings=False) for f in found]


def chart_dict(chart: Chart) -> dict[str, Any]:
    """A chart as JSON: its fields (texts in their msgid form) and its data as records."""
    d = {k: _text_dict(getattr(chart, k)) for k in Chart.FIELDS}
    d["data"] = _records(chart.data)
    return d


# ---------------------------------------------------------------- options and thresholds


def options(spec: CheckSpec, overrides: dict[str, Any] | None = None) -> checks.Options:
    """The check's typed options: its defaults with the client's overrides on top; CheckError names what is wrong."""
    overrides = overrides or {}
    if not isinstance(overrides, dict):
        raise CheckError(f"thresholds.{spec.id}: expected a mapping of options, got {overrides!r}")
    unknown = sorted(set(overrides) - set(spec.option_names))
    if unknown:
        raise CheckError(
            f"thresholds.{spec.id}: unknown option(s) {', '.join(unknown)}; "
            f"this check takes: {', '.join(spec.option_names)}"
        )
    try:
        opts = spec.options.model_validate({**spec.defaults(), **overrides})
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        raise CheckError(f"thresholds.{spec.id}: {problems}") from None
    try:
        scoring.score(opts.good, opts.good, opts.poor, spec.better, spec.bounded)
    except ValueError as err:
        raise CheckError(f"thresholds.{spec.id}: {err}") from None
    return opts


def check_thresholds(params) -> None:
    """Every `thresholds:` entry of a params file names a check and options it takes; ParamsError otherwise."""
    problems = []
    for check_id, overrides in params.thresholds.items():
        try:
            options(checks.get(check_id), overrides)
        except CheckError as err:
            problems.append(str(err) if str(err).startswith("thresholds.") else f"thresholds.{check_id}: {err}")
    if problems:
        where = params.source_file or "<params>"
        raise ParamsError("\n".join([f"{where}: {len(problems)} problem(s)"] + [f"  - {p}" for p in problems]))


# ---------------------------------------------------------------- running checks


def run_check(spec: CheckSpec, tables, overrides: dict[str, Any] | None = None) -> Finding:
    """Run one check on the tables; a missing table, thin data or an exception becomes a finding, never a crash."""
    opts = options(spec, overrides)
    base = dict(
        check_id=spec.id,
        stage=spec.stage,
        unit=spec.unit,
        good=opts.good,
        poor=opts.poor,
        better=spec.better,
        source=spec.source,
        description=spec.description,
        advice=list(spec.advice),
    )
    unmet = checks.unmet_needs(spec.needs, tables)
    if unmet:
        _, reason = unmet[0]
        return Finding(
            title=spec.title, status="not_run", score=None, reason=reason, unmet=[str(n) for n, _ in unmet], **base
        )
    started = time.perf_counter()
    try:
        ev = spec.fn(tables, opts)
    except NotEnoughData as err:
        return Finding(
            title=spec.title,
            status="not_run",
            score=None,
            reason=err.text,
            seconds=time.perf_counter() - started,
            **base,
        )
    except Exception as err:  # a broken check must not take the stage down with it (logged)
        log.error("check %s raised %s: %s", spec.id, type(err).__name__, err, exc_info=err)
        return Finding(
            title=spec.title,
            status="error",
            score=None,
            reason=ERROR_REASON,
            details={"exception": type(err).__name__},
            seconds=time.perf_counter() - started,
            **base,
        )
    if ev.value is None or (isinstance(ev.value, float) and math.isnan(ev.value)):
        return Finding(
            title=spec.title,
            status="not_run",
            score=None,
            reason=Text("the data holds nothing this check can measure"),
            **base,
        )
    return _scored(spec, opts, ev, base, time.perf_counter() - started, period_revenue(tables))


def _scored(
    spec: CheckSpec,
    opts: checks.Options,
    ev: Evidence,
    base: dict[str, Any],
    seconds: float,
    revenue: float | None = None,
) -> Finding:
    s = scoring.score(float(ev.value), opts.good, opts.poor, spec.better, spec.bounded)
    st = scoring.status(s)
    at_stake, method = capped(ev.at_stake, ev.at_stake_method, revenue)
    return Finding(
        title=spec.title if st == "pass" else spec.failure_title,
        status=st,
        score=int(round(s * 100)),
        value=float(ev.value),
        summary=ev.summary,
        table=ev.table,
        chart=ev.chart,
        at_stake=at_stake,
        at_stake_method=method,
        period_revenue=revenue,
        details=ev.details,
        seconds=seconds,
        **base,
    )


def run_stage(stage: str, tables, thresholds: dict[str, dict[str, Any]] | None = None) -> list[Finding]:
    """Every check of a stage, in the report's order."""
    thresholds = thresholds or {}
    return [run_check(spec, tables, thresholds.get(spec.id)) for spec in checks.specs(stage)]


# ---------------------------------------------------------------- coverage of the catalogue


@dataclass
class Coverage:
    """How much of the catalogue the data could judge, and the missing inputs that would unlock the most checks."""

    checks: int  # in the catalogue run
    judged: int  # whose needs the data met (they may still have had too little data, or passed, or failed)
    # (need as declared, checks it alone keeps from running, checks it is missing for), most unlocked first
    unlocks: list[tuple[str, int, int]]

    @property
    def share(self) -> float | None:
        return self.judged / self.checks if self.checks else None

    @property
    def score(self) -> int | None:
        """The share as a 0..100 gauge."""
        return None if self.share is None else int(round(self.share * 100))


def coverage(found: list, top: int = 3) -> Coverage:
    """The coverage of a run's findings (Finding or their JSON): the checks not stopped by a missing input,
    and the `top` missing inputs that would unlock the most checks: per input, the checks it alone keeps from
    running (supplying it lets them run) and all the checks it is missing for."""
    rows = as_dicts(found)
    blocked = [list(r.get("unmet") or []) for r in rows]
    alone: dict[str, int] = {}
    among: dict[str, int] = {}
    for unmet in blocked:
        for need in unmet:
            among[need] = among.get(need, 0) + 1
        if len(unmet) == 1:
            alone[unmet[0]] = alone.get(unmet[0], 0) + 1
    ranked = sorted(among, key=lambda n: (-alone.get(n, 0), -among[n], n))
    unlocks = [(n, alone.get(n, 0), among[n]) for n in ranked][:top]
    return Coverage(checks=len(rows), judged=sum(1 for u in blocked if not u), unlocks=unlocks)


# ---------------------------------------------------------------- money at stake

MAX_SHARE = 0.2  # no finding claims more than this share of the period's revenue


def capped(
    amount: float | None, method: Message | None, revenue: float | None, max_share: float = MAX_SHARE
) -> tuple[float | None, Message | None]:
    """A finding's money at stake held to `max_share` of the period's revenue; the method line says when it binds."""
    if amount is None or revenue is None or revenue <= 0 or amount <= max_share * revenue:
        return amount, method
    cap = max_share * revenue
    note = Text(
        "capped at {share} of the revenue of the period analysed ({revenue}); the estimate was {amount}",
        share=share(max_share, 0),
        revenue=money(revenue, 0),
        amount=money(amount, 0),
    )
    return cap, (Text("{a}; {b}", a=method, b=note) if method is not None else note)


@dataclass(frozen=True)
class StakeTotal:
    """What the findings' money at stake comes to together, counted so the same revenue is counted once."""

    total: float  # combined: each finding's share of the period's revenue, overlaps counted once
    plain_sum: float  # the figures simply added (not a meaningful total: findings overlap)
    revenue: float | None  # the period's revenue
    findings: int  # findings with money at stake that went into it

    @property
    def share(self) -> float | None:
        return self.total / self.revenue if self.revenue else None


def total_at_stake(found: list[Finding | dict[str, Any]]) -> StakeTotal:
    """The money at stake of the failed and warning findings, without counting the same revenue twice.

    Findings value overlapping customers and orders (the carts a reminder would win back are partly the
    visits a better checkout would keep), so their figures are not additive. Each finding claims a share of
    the period's revenue; together they claim 1 − Π(1 − share): every further finding can only claim its share
    of the revenue the others left, as if the findings were independent. The result never exceeds the revenue.
    Without a known revenue the plain sum is returned as the total."""
    rows = as_dicts(found)
    amounts = []
    for f in rows:
        at = f.get("at_stake")
        if f.get("status") in ("fail", "warn") and at is not None and at == at and at > 0:
            amounts.append(float(at))
    revenue = next((f["period_revenue"] for f in rows if f.get("period_revenue")), None)
    plain = float(sum(amounts))
    if not revenue:
        return StakeTotal(total=plain, plain_sum=plain, revenue=None, findings=len(amounts))
    left = 1.0
    for at in amounts:
        left *= 1.0 - min(1.0, at / revenue)
    return StakeTotal(total=revenue * (1.0 - left), plain_sum=plain, revenue=revenue, findings=len(amounts))


# ---------------------------------------------------------------- JSON


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
