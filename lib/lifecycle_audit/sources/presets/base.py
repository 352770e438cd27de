"""What a preset is made of: its options, its reasons for setting rows aside, its build, and helpers for builds."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from ... import contract
from ...params import ReadOptions
from ..coerce import coerce
from ..model import USED


class Options(BaseModel):
    """Base of every preset's options: strict, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Reason:
    """Why a raw row was not used: excluded by a rule (expected) or rejected as bad data."""

    label: str
    category: str  # "excluded" or "rejected"
    description: str
    column: str | None = None  # the preset field whose value decided it (for examples)


@dataclass
class Built:
    """What a preset's build returns."""

    tables: dict[str, pd.DataFrame]  # contract tables (contract column names)
    status: np.ndarray  # per raw row: USED or a Reason label
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Preset:
    """A documented transform from one kind of export to contract tables."""

    name: str
    title: str
    yields: tuple[str, ...]
    fields: dict[str, str]  # preset field -> the column name in the standard export
    required: tuple[str, ...]  # fields that must be present
    reasons: tuple[Reason, ...]
    options: type[Options]
    build: Callable[[pd.DataFrame, Any, Context], Built]
    read: dict[str, Any] = field(default_factory=dict)  # default read options (the export's format)
    signature: tuple[str, ...] = ()  # columns that identify the export (for `init`)
    template: str = ""  # params/templates/<template>.yaml
    personal: tuple[str, ...] = ()  # fields whose values identify a person (masked in examples)

    def reason(self, label: str) -> Reason:
        """The reason of that label (KeyError if the preset has none)."""
        for r in self.reasons:
            if r.label == label:
                return r
        raise KeyError(label)


@dataclass
class Context:
    """What a build may need besides the rows: the params, a pseudonymiser, where to note decisions."""

    params: Any
    entry: str
    notes: list[str]

    def pseudonym(self, values: pd.Series, prefix: str = "p_") -> pd.Series:
        """A stable pseudonymous id for each e-mail address (keyed hash; the address itself is never kept).

        The key comes from the environment variable LIFECYCLE_AUDIT_PSEUDONYM_KEY when set (so ids cannot
        be reversed by hashing guessed addresses), else from the client's short name (stable, noted).
        """
        key = os.environ.get("LIFECYCLE_AUDIT_PSEUDONYM_KEY")
        if not key:
            key = f"lifecycle-audit:{self.params.client}"
            note = (
                "e-mail addresses replaced by keyed hashes (key derived from the client name; set "
                "LIFECYCLE_AUDIT_PSEUDONYM_KEY for a secret key)"
            )
            if note not in self.notes:
                self.notes.append(note)
        text = values.astype("string").str.strip().str.lower()
        uniques = pd.unique(text.dropna())
        table = {u: prefix + hmac.new(key.encode(), u.encode(), hashlib.sha256).hexdigest()[:16] for u in uniques}
        return text.map(table).astype("string")


REGISTRY: dict[str, Preset] = {}


def register(preset: Preset) -> Preset:
    """Add a preset to the registry (each preset module registers its own)."""
    REGISTRY[preset.name] = preset
    return preset


# --- helpers shared by the presets ----------------------------------------------------------


def orders_from_lines(
    lines: pd.DataFrame, value: str, currency: str, *, discount: str | None = None, line_currency: str | None = None
) -> pd.DataFrame:
    """One order per order id from its used lines, in the contract's column order: the first line's customer, the
    earliest line's time, the sum of the `value` column rounded to cents, the sum of the `discount` column when the
    export has one (else missing: never a guessed 0), and the currency of the order's first line that names one
    (`line_currency`), else the shop's `currency`."""
    g = lines.groupby("order_id", sort=False)
    orders = pd.DataFrame(
        {
            "customer_id": g["customer_id"].first(),
            "order_time": g["order_time"].min(),
            "revenue": g[value].sum().round(2),
            "discount": g[discount].sum(min_count=1).round(2) if discount else np.nan,
            "currency": g[line_currency].first().fillna(currency) if line_currency else currency,
        }
    ).reset_index()
    return orders


def first_reason(n: int, rules: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """Per row, the label of the first rule whose mask is true (USED when none): one reason per row."""
    status = np.full(n, USED, dtype=object)
    open_ = np.ones(n, dtype=bool)
    for label, mask in rules:
        hit = open_ & np.asarray(mask, dtype=bool)
        status[hit] = label
        open_ &= ~hit
    return status


def text(s: pd.Series) -> pd.Series:
    """Trimmed strings, empty as <NA>."""
    s = s.astype("string").str.strip()
    return s.mask(s == "")


def number(s: pd.Series, decimal: str | None = None) -> pd.Series:
    """Numbers from text (decimal comma detected as in sources); NaN where unreadable."""
    values, _, _ = coerce(s, contract.FLOAT, ReadOptions(decimal=decimal))
    return values


def timestamp(s: pd.Series, date_format: str | None = None, tz: str | None = None) -> pd.Series:
    """Timestamps (shop-local wall clock) from text; NaT where unreadable."""
    values, _, _ = coerce(s, contract.TIMESTAMP, ReadOptions(date_format=date_format), tz=tz)
    return values


def empty(n: int, dtype: str = "string") -> pd.Series:
    """n missing values of a dtype."""
    if dtype.startswith("datetime"):
        return pd.Series(pd.NaT, index=range(n), dtype=dtype)
    return pd.Series(pd.NA, index=range(n), dtype=dtype)
