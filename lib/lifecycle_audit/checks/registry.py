"""The check registry: declarations, threshold overrides, and turning Evidence into Findings."""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import scoring
from ..errors import CheckError
from ..findings import Evidence, Finding
from ..i18n import N_, Text

from ..stages import QUESTIONS as STAGE_QUESTIONS  # noqa: F401 - re-exported until callers move
from ..stages import STAGES
from ..stages import TITLES as STAGE_TITLES  # noqa: F401


class NotEnoughData(Exception):
    """Raised by a check whose tables are present but too thin to judge; the message (a Text) says what it needs."""

    @property
    def text(self) -> Text | str:
        return self.args[0] if self.args and isinstance(self.args[0], Text) else str(self)


@dataclass(frozen=True)
class CheckSpec:
    """A check's declaration: what it looks for, what it needs, how it is scored."""

    id: str
    stage: str
    title: str                      # present tense, as when passing
    failure_title: str              # present tense, as when failing
    needs: tuple[str, ...]
    better: str                     # "lower" or "higher"
    good: float                     # scores 90
    poor: float                     # scores 50
    unit: str                       # see findings.UNITS
    source: str                     # where the control points come from
    description: str
    advice: tuple[str, ...]         # what to do, from the source articles
    options: dict[str, float] = field(default_factory=dict)  # further tunables with defaults
    bounded: bool = True            # a higher-is-better share in [0, 1]
    fn: Callable[..., Evidence] | None = None

    @property
    def option_names(self) -> tuple[str, ...]:
        return ("good", "poor", *self.options)


@dataclass(frozen=True)
class Planned:
    """A catalogue check that is not built yet."""

    id: str
    stage: str
    title: str
    needs: tuple[str, ...]


REGISTRY: dict[str, CheckSpec] = {}


def check(*, id: str, stage: str, title: str, failure_title: str, needs: tuple[str, ...], better: str,
          good: float, poor: float, unit: str, source: str, description: str, advice: tuple[str, ...],
          options: dict[str, float] | None = None, bounded: bool = True) -> Callable:
    """Declare a check: its metadata sits beside its logic, scoring happens here, once."""
    if stage not in STAGES:
        raise CheckError(f"{id}: unknown stage {stage!r}")
    if not id.startswith(stage + "."):
        raise CheckError(f"{id}: a check id starts with its stage ({stage}.)")
    scoring.score(good, good, poor, better, bounded)  # fails early on inconsistent control points

    def register(fn: Callable[..., Evidence]) -> Callable[..., Evidence]:
        if id in REGISTRY:
            raise CheckError(f"check {id} is declared twice")
        REGISTRY[id] = CheckSpec(id=id, stage=stage, title=title, failure_title=failure_title, needs=needs,
                                 better=better, good=good, poor=poor, unit=unit, source=source,
                                 description=description, advice=advice, options=dict(options or {}),
                                 bounded=bounded, fn=fn)
        return fn

    return register


def _load() -> dict[str, CheckSpec]:
    from . import acquisition, conversion, loyalty, reach, retention, winback  # noqa: F401 - registers them

    return REGISTRY


def specs(stage: str | None = None) -> list[CheckSpec]:
    """Implemented checks, in catalogue order, optionally of one stage."""
    from .catalogue import CATALOGUE

    registry = _load()
    order = {p.id: i for i, p in enumerate(CATALOGUE)}
    found = [s for s in registry.values() if stage is None or s.stage == stage]
    return sorted(found, key=lambda s: order.get(s.id, len(order)))


def get(check_id: str) -> CheckSpec:
    registry = _load()
    if check_id not in registry:
        from .catalogue import CATALOGUE

        planned = {p.id for p in CATALOGUE}
        hint = "it is in the catalogue but not built yet" if check_id in planned else \
            "known checks: " + ", ".join(sorted(registry))
        raise CheckError(f"unknown check {check_id!r}: {hint}")
    return registry[check_id]


def validate_options(check_id: str, options: dict[str, Any]) -> None:
    """Raise for an unknown check id, an unknown option, or control points that do not fit together."""
    spec = get(check_id)
    if not isinstance(options, dict):
        raise CheckError(f"thresholds.{check_id}: expected a mapping of options, got {options!r}")
    unknown = sorted(set(options) - set(spec.option_names))
    if unknown:
        raise CheckError(f"thresholds.{check_id}: unknown option(s) {', '.join(unknown)}; "
                         f"this check takes: {', '.join(spec.option_names)}")
    merged = resolve_options(spec, options)
    try:
        scoring.score(merged["good"], merged["good"], merged["poor"], spec.better, spec.bounded)
    except ValueError as err:
        raise CheckError(f"thresholds.{check_id}: {err}") from None


def resolve_options(spec: CheckSpec, overrides: dict[str, Any] | None) -> dict[str, float]:
    """The check's defaults with the client's overrides on top."""
    merged: dict[str, float] = {"good": spec.good, "poor": spec.poor, **spec.options}
    merged.update(overrides or {})
    return merged


def run_check(spec: CheckSpec, tables, overrides: dict[str, Any] | None = None) -> Finding:
    """Run one check on the tables; a missing table, thin data or an exception becomes a finding, never a crash."""
    opts = resolve_options(spec, overrides)
    base = dict(check_id=spec.id, stage=spec.stage, unit=spec.unit, good=opts["good"], poor=opts["poor"],
                better=spec.better, source=spec.source, description=spec.description, advice=list(spec.advice))
    missing = [t for t in spec.needs if not tables.has(t)]
    if missing:
        reason = (Text("needs the {table} table, which was not supplied", table=missing[0]) if len(missing) == 1
                  else Text("needs the {tables} tables, which were not supplied", tables=", ".join(missing)))
        return Finding(title=spec.title, status="not_run", score=None, reason=reason, **base)
    started = time.perf_counter()
    try:
        ev = spec.fn(tables, opts)
    except NotEnoughData as err:
        return Finding(title=spec.title, status="not_run", score=None, reason=err.text,
                       seconds=time.perf_counter() - started, **base)
    except Exception as err:  # a broken check must not take the stage down with it
        tb = traceback.extract_tb(err.__traceback__)[-1]
        return Finding(title=spec.title, status="error", score=None,
                       reason=f"{type(err).__name__}: {err} (at {tb.filename.rsplit('/', 1)[-1]}:{tb.lineno})",
                       seconds=time.perf_counter() - started, **base)
    if ev.value is None or (isinstance(ev.value, float) and math.isnan(ev.value)):
        return Finding(title=spec.title, status="not_run", score=None,
                       reason=Text("the data holds nothing this check can measure"), **base)
    s = scoring.score(float(ev.value), opts["good"], opts["poor"], spec.better, spec.bounded)
    st = scoring.status(s)
    return Finding(title=spec.title if st == "pass" else spec.failure_title, status=st,
                   score=int(round(s * 100)), value=float(ev.value), summary=ev.summary, table=ev.table,
                   chart=ev.chart, at_stake=ev.at_stake,
                   at_stake_method=ev.at_stake_method, details=ev.details,
                   seconds=time.perf_counter() - started, **base)


def run_stage(stage: str, tables, thresholds: dict[str, dict[str, Any]] | None = None) -> list[Finding]:
    """Every implemented check of a stage, in catalogue order."""
    thresholds = thresholds or {}
    return [run_check(spec, tables, thresholds.get(spec.id)) for spec in specs(stage)]
