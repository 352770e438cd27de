"""How a check declares itself: its metadata, typed options and labels beside its logic, and what it returns.

A check is one function in its stage module, declared with `@check(...)`: what it looks for, what it
needs to judge (see Needs below), how it is scored (control points `good` and `poor` on Lighthouse's curve, with their source),
its tunables as a typed `Options` class, the labels of its evidence columns and of the words in its
groups, and the advice from the source articles. It returns `Evidence` (a value, a table, a `Chart`
described as data, money at stake); `findings.run_check` turns that into a Finding. The catalogue, its
order and every count are read from these declarations (`checks.specs()`); nothing else lists checks.

Needs. `needs=` lists everything the check needs to judge, one short string each, parsed into a `Need` when
the check is declared (an unknown table, column or value of the contract is a CheckError):

    "orders"                                  the table is supplied and has rows
    "customers.loyalty_member_since"          the column is set (not empty) on at least one row
    "messages.message_type=thank_you"         at least one row holds that kind
    "messages.message_type=promo|newsletter"  at least one row holds one of these kinds (| is "or")
    "messages.channel=email&message_type=promo|newsletter"
                                              at least one row meets every condition (& is "and"):
                                              marketing e-mails
    "messages.unsubscribed_at&channel=email"  the column is set on at least one row meeting the conditions

A condition `column=value|value` may name only a kind column (a closed vocabulary in the contract, or a
yes/no column, written true / false); at most one column without `=` may stand, first. Every need of a check
that reads a table includes that table, so the table itself need not be listed again. A column present but
empty on every row counts as not supplied. `findings.run_check` evaluates the needs before it calls the
check (from one cached query per table, metrics.presence): the first unmet need makes the finding "not run"
with a reason naming the missing table, column or kind; a check never passes or fails on absent data.
Declare only what the check cannot judge without: data it uses when present (money at stake, a detail of
the summary) is read with `metrics.presence.has_values` in the check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel, ConfigDict

from .. import contract, i18n, scoring, stages
from ..errors import CheckError
from ..i18n import Text
from ..metrics import presence

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


# ---------------------------------------------------------------- needs


@dataclass(frozen=True)
class Need:
    """One thing a check needs to judge, parsed from its declaration (see "Needs" above)."""

    text: str  # as declared, e.g. "messages.channel=email&message_type=promo|newsletter"
    table: str
    column: str | None = None  # set (not empty) on at least one row meeting `where`
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (kind column, values it may hold), all to be met

    def __str__(self) -> str:
        return self.text

    @property
    def condition(self) -> str:
        """The value conditions as the reason shows them: "channel = email, message_type = promo / newsletter"."""
        return ", ".join(f"{col} = {' / '.join(values)}" for col, values in self.where)

    def unmet(self, tables) -> Text | None:
        """Why the tables do not meet this need (a reason naming the table, column or kind), or None when met."""
        if not tables.has(self.table):
            return Text("needs the {table} table, which was not supplied", table=self.table)
        if presence.rows(tables, self.table) == 0:
            return Text("needs the {table} table, which has no rows", table=self.table)
        where = dict(self.where)
        if where and presence.rows(tables, self.table, where) == 0:
            if "message_type" in where:  # a kind of message nobody sent, or one another system sends
                return Text(
                    "needs rows with {condition} in the {table} table; it holds none (it holds: {held}). "
                    "Either the shop sends none, which is worth raising with it, or they go out from another "
                    "system whose export was not supplied",
                    condition=self.condition,
                    table=self.table,
                    held=self._held(tables),
                )
            return Text(
                "needs rows with {condition} in the {table} table; it holds none (it holds: {held})",
                condition=self.condition,
                table=self.table,
                held=self._held(tables),
            )
        if self.column and presence.filled(tables, self.table, self.column, where) == 0:
            if where:
                return Text(
                    "needs {column} in the {table} table on rows with {condition}, where it is empty on every row",
                    column=self.column,
                    table=self.table,
                    condition=self.condition,
                )
            return Text(
                "needs {column} in the {table} table, which is empty on every row", column=self.column, table=self.table
            )
        return None

    def _held(self, tables) -> str:
        """The kinds the table does hold in the columns of the conditions: "promo, winback", or per column."""
        held = {col: ", ".join(presence.kinds(tables, self.table, col)) or "–" for col, _ in self.where}
        if len(held) == 1:
            return next(iter(held.values()))
        return "; ".join(f"{col}: {values}" for col, values in held.items())


@cache
def parse_need(text: str) -> Need:
    """A need from its declaration string; CheckError names what the contract does not have."""
    table, _, rest = text.strip().partition(".")
    if table not in contract.TABLES:
        raise CheckError(f"need {text!r}: unknown table {table!r}; the contract has: {', '.join(contract.TABLES)}")
    spec = contract.TABLES[table]
    column, where = None, []
    for i, part in enumerate(p.strip() for p in rest.split("&") if rest):
        name, eq, values = part.partition("=")
        if name not in spec.column_names:
            raise CheckError(f"need {text!r}: the {table} table has no column {name!r}")
        if not eq:
            if i:
                raise CheckError(f"need {text!r}: the column that must be set comes first, before any condition")
            column = name
            continue
        where.append((name, _kinds(text, spec.column(name), values)))
    names = [c for c, _ in where] + ([column] if column else [])
    if len(set(names)) < len(names):
        raise CheckError(f"need {text!r}: a column is named twice")
    return Need(text=text.strip(), table=table, column=column, where=tuple(where))


def _kinds(text: str, col: contract.Column, values: str) -> tuple[str, ...]:
    """The values of a condition, each one the column may hold."""
    if not presence.is_kind(col):
        raise CheckError(f"need {text!r}: {col.name} has no closed set of values; name it without '='")
    allowed = col.allowed if col.allowed is not None else ("true", "false")
    out = tuple(v.strip() for v in values.split("|"))
    wrong = [v for v in out if v not in allowed]
    if wrong or not out:
        raise CheckError(f"need {text!r}: {col.name} holds only {', '.join(allowed)}; not {', '.join(wrong) or '–'}")
    return out


def unmet_needs(needs: tuple[str, ...], tables) -> list[tuple[Need, Text]]:
    """Every need the tables do not meet, in declaration order, with the reason."""
    out = []
    for need in map(parse_need, needs):
        reason = need.unmet(tables)
        if reason is not None:
            out.append((need, reason))
    return out


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
    def requirements(self) -> tuple[Need, ...]:
        """The needs, parsed."""
        return tuple(parse_need(n) for n in self.needs)

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables the needs name, in order."""
        return tuple(dict.fromkeys(n.table for n in self.requirements))

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
    if not needs:
        raise CheckError(f"{id}: declare what the check needs to judge (needs=)")
    for n in needs:
        try:
            parse_need(n)
        except CheckError as err:
            raise CheckError(f"{id}: {err}") from None
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
