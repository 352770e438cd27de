"""How a check declares itself: its metadata, typed options and labels beside its logic, and what it returns.

A check is one function in its stage module, declared with `@check(...)`: what it looks for, the tables
it needs, how it is scored (control points `good` and `poor` on Lighthouse's curve, with their source),
its tunables as a typed `Options` class, the labels of its evidence columns and of the words in its
groups, and the advice from the source articles. It returns `Evidence` (a value, a table, a `Chart`
described as data, money at stake); `findings.run_check` turns that into a Finding. The catalogue, its
order and every count are read from these declarations (`checks.specs()`); nothing else lists checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from .. import i18n, scoring, stages
from ..errors import CheckError
from ..i18n import Text, share

Message = str | Text  # what the report shows as text: a msgid, or a msgid with values

UNITS = ("share", "rate", "days", "hours", "count", "money", "ratio", "per_week")


class NotEnoughData(Exception):
    """Raised by a check whose tables are present but too thin to judge; the message (a Text) says what it needs."""

    @property
    def text(self) -> Text | str:
        return self.args[0] if self.args and isinstance(self.args[0], Text) else str(self)


class Options(BaseModel):
    """A check's tunables: the control points `good` and `poor`, plus what a subclass declares with defaults.

    A client overrides any of them under `thresholds.<check id>` in the params file; an unknown name or a
    value of the wrong type is an error that names the option."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    good: float
    poor: float


# ---------------------------------------------------------------- rates behind money at stake

RATE_STATUSES = ("confirmed", "secondary", "default")  # as BENCHMARKS.md; default: no published figure

KLAVIYO_FLOWS = "Klaviyo 2024 Benchmark Report (2023 data)"
LITTLEDATA = "Littledata, about 2,800 Shopify stores (2023)"
ZENDESK_CX = "Zendesk CX Trends 2020"
WORKBOOK = "Lifecycle Audit Workbook"


@dataclass(frozen=True)
class Rate:
    """A rate an estimate of money at stake rests on: what it is, its default and where the default comes from."""

    name: str
    about: str  # what the rate is, in one line (for the README and the catalogue)
    default: float
    source: str  # the publication, or the workbook for a default of its own
    status: str  # confirmed | secondary (only seen quoted) | default (no published figure: set low on purpose)


def rate(default: float, about: str, source: str, status: str = "confirmed") -> Any:
    """Declare an option as a rate in [0, 1] with its source; a client overrides it like any other option."""
    if status not in RATE_STATUSES:
        raise CheckError(f"rate status must be one of {', '.join(RATE_STATUSES)}, not {status!r}")
    return Field(default, ge=0.0, le=1.0, description=about, json_schema_extra={"source": source, "status": status})


def rates(options: type[BaseModel]) -> dict[str, Rate]:
    """The rates an Options class declares (fields made with `rate(...)`), by option name."""
    out = {}
    for name, f in options.model_fields.items():
        extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
        if "source" in extra:
            out[name] = Rate(name, f.description or "", float(f.default), str(extra["source"]), str(extra["status"]))
    return out


CITED = (
    "{rate}, set for this audit in the params file",
    "{rate}, a workbook default set low on purpose: no published figure",
    "{rate}, {source}, as quoted by a secondary source",
    "{rate}, {source}",
)


def cite(o: BaseModel, name: str) -> Text:
    """A rate as a method line names it: its value and its source (or that the client's params set it)."""
    r = rates(type(o))[name]
    value = float(getattr(o, name))
    pct = share(value, 2 if value < 0.1 else 0)
    if value != r.default:
        return Text("{rate}, set for this audit in the params file", rate=pct)
    if r.status == "default":
        return Text("{rate}, a workbook default set low on purpose: no published figure", rate=pct)
    if r.status == "secondary":
        return Text("{rate}, {source}, as quoted by a secondary source", rate=pct, source=r.source)
    return Text("{rate}, {source}", rate=pct, source=r.source)


def cites_rate(message: Any) -> bool:
    """Whether a text (a Text or its JSON form) names a rate with its source, at any depth."""
    if isinstance(message, Text):
        message = message.to_dict()
    if not isinstance(message, dict):
        return False
    if message.get("msgid") in CITED:
        return True
    return any(cites_rate(v) for v in (message.get("params") or {}).values())


@dataclass
class Chart:
    """A chart described as data; the report layer draws it (check code never draws)."""

    kind: str  # "bar", "barh", "line"
    data: pd.DataFrame
    x: str
    y: str | list[str]
    title: Message
    x_label: Message
    y_label: Message
    y_unit: str = "share"  # how to format the y axis: share, count, money, days, hours
    hue: str | None = None  # a column splitting the data into series
    reference: float | None = None  # a horizontal line (the threshold)
    reference_label: Message | None = None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "kind",
        "x",
        "y",
        "title",
        "x_label",
        "y_label",
        "y_unit",
        "hue",
        "reference",
        "reference_label",
    )


@dataclass
class Evidence:
    """A check's measurement: the headline value and what supports it."""

    value: float
    table: pd.DataFrame | None = None
    chart: Chart | None = None
    at_stake: float | None = None  # money at stake, in the params currency
    at_stake_method: Message | None = None  # how it was estimated, in one sentence
    details: dict[str, Any] = field(default_factory=dict)  # numbers the advice text refers to
    summary: Message | None = None  # one sentence stating what the data shows


@dataclass(frozen=True)
class CheckSpec:
    """A check's declaration: what it looks for, what it needs, how it is scored."""

    id: str
    stage: str
    title: str  # present tense, as when passing
    failure_title: str  # present tense, as when failing
    needs: tuple[str, ...]
    better: str  # "lower" or "higher"
    good: float  # scores 90
    poor: float  # scores 50
    unit: str  # see UNITS
    source: str  # where the control points come from
    description: str
    advice: tuple[str, ...]  # what to do, from the source articles
    options: type[Options] = Options
    bounded: bool = True  # a higher-is-better share in [0, 1]
    fn: Callable[..., Evidence] | None = None

    @property
    def rates(self) -> dict[str, Rate]:
        """The rates its estimate of money at stake rests on, with their sources."""
        return rates(self.options)

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(self.options.model_fields)

    def defaults(self) -> dict[str, Any]:
        """Every option with its default: the control points, then the check's own tunables."""
        return {
            "good": self.good,
            "poor": self.poor,
            **{k: f.default for k, f in self.options.model_fields.items() if k not in ("good", "poor")},
        }


REGISTRY: dict[str, CheckSpec] = {}  # in declaration order: the stage modules are imported in lifecycle order


def check(
    *,
    id: str,
    stage: str,
    title: str,
    failure_title: str,
    needs: tuple[str, ...],
    better: str,
    good: float,
    poor: float,
    unit: str,
    source: str,
    description: str,
    advice: tuple[str, ...],
    options: type[Options] = Options,
    bounded: bool = True,
    columns: dict[str, str] | None = None,
    terms: dict[str, str] | None = None,
) -> Callable:
    """Declare a check: its metadata sits beside its logic; scoring happens once, in findings.run_check.

    columns: labels (English msgids) of the evidence table's columns; terms: labels of the words its groups
    print (e.g. "within 4 h"). Both join the report's vocabulary (i18n.add_labels)."""
    if stage not in stages.CHECKED:
        raise CheckError(f"{id}: unknown stage {stage!r}")
    if not id.startswith(stage + "."):
        raise CheckError(f"{id}: a check id starts with its stage ({stage}.)")
    if unit not in UNITS:
        raise CheckError(f"{id}: unknown unit {unit!r}; the units are {', '.join(UNITS)}")
    if not issubclass(options, Options):
        raise CheckError(f"{id}: options must be a subclass of checks.Options")
    scoring.score(good, good, poor, better, bounded)  # fails early on inconsistent control points
    i18n.add_labels(columns, terms, owner=id)

    def register(fn: Callable[..., Evidence]) -> Callable[..., Evidence]:
        if id in REGISTRY:
            raise CheckError(f"check {id} is declared twice")
        REGISTRY[id] = CheckSpec(
            id=id,
            stage=stage,
            title=title,
            failure_title=failure_title,
            needs=needs,
            better=better,
            good=good,
            poor=poor,
            unit=unit,
            source=source,
            description=description,
            advice=advice,
            options=options,
            bounded=bounded,
            fn=fn,
        )
        return fn

    return register
