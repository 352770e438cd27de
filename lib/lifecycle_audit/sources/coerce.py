"""Client values to contract types: text, dates and times, numbers, yes/no, and closed vocabularies."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import contract
from .messages import loose

_TRUE = ("true", "t", "1", "1.0", "yes", "y", "ja", "ya", "wahr")
_FALSE = ("false", "f", "0", "0.0", "no", "n", "nein", "tidak", "falsch")
_BOOLS = {**{v: True for v in _TRUE}, **{v: False for v in _FALSE}}
_NAN_WORDS = ["nan", "null", "none", "na", "n/a"]

# Tried in order when no read.date_format is given and a value is not ISO 8601. Day-first layouts
# come before month-first ones: the workbook's clients write dates day first (de, id).
_DATE_FORMATS = (
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%y",
    "%d.%m.%y %H:%M",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%d-%m-%Y",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y %H:%M:%S",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y.%m.%d",
    "%Y%m%d",
)
_UTC = "datetime64[us, UTC]"
_OFFSET = r"(?:Z|[+-]\d\d:?\d\d)$"
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_GERMAN = re.compile(r"^[-+]?\d{1,3}(?:\.\d{3})*,\d+$|^[-+]?\d+,\d+$|^[-+]?\d{1,3}(?:\.\d{3})+$")
_ENGLISH = re.compile(r"^[-+]?\d*\.(?:\d{1,2}|\d{4,})$|^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")

Coerced = tuple[pd.Series, np.ndarray, str | None]
_INT64_LIMIT = 2.0**63


def empty_series(dtype: str, index: pd.Index) -> pd.Series:
    """A column of missing values in the given dtype."""
    if dtype.startswith("datetime64"):
        return pd.Series(pd.NaT, index=index, dtype=dtype)
    if dtype == "float64":
        return pd.Series(np.nan, index=index, dtype=dtype)
    return pd.Series(pd.NA, index=index, dtype=dtype)


def is_text(s: pd.Series) -> bool:
    """True for string (or object) columns."""
    return isinstance(s.dtype, pd.StringDtype) or s.dtype == object


def as_text(s: pd.Series) -> pd.Series:
    """Stripped strings with empty values as <NA>."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    s = s.astype("string").str.strip()
    return s.mask(s == "")


def coerce(s: pd.Series, kind: str, opts, typed: bool = False, tz: str | None = None) -> Coerced:
    """(values in the contract dtype, mask of present values that could not be converted, a note).

    typed: the values come from a typed file (Parquet); strings there are taken as they are (no
    stripping, only "" counts as empty), which saves a pass over every string column.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(s.cat.categories.dtype if len(s.cat.categories) else object)
    if kind == contract.STRING:
        return _to_string(s, typed)
    if kind in (contract.TIMESTAMP, contract.DATE):
        return _to_datetime(s, kind, opts, tz)
    if kind in (contract.FLOAT, contract.INT):
        return _to_number(s, kind, opts)
    if kind == contract.BOOL:
        return _to_bool(s)
    raise ValueError(f"unknown column kind {kind!r}")


def _to_string(s: pd.Series, typed: bool) -> Coerced:
    no_bad = np.zeros(len(s), dtype=bool)
    if pd.api.types.is_float_dtype(s.dtype) and np.all(np.mod(s.dropna(), 1) == 0):
        s = s.astype("Int64")  # ids stored as floats: 123.0 -> "123"
    if typed and isinstance(s.dtype, pd.StringDtype):
        s = s.astype("string")
        empty = (s == "").fillna(False).to_numpy(dtype=bool)
        return (s.mask(empty) if empty.any() else s), no_bad, None  # masking nothing costs a copy
    return as_text(s), no_bad, None


def _to_datetime(s: pd.Series, kind: str, opts, tz: str | None) -> Coerced:
    values, bad, note, offset = _read_datetimes(s, opts, tz)
    if getattr(values.dtype, "tz", None) is not None:
        values = _wall_clock(values, tz, offset)
    values = values.astype("datetime64[us]")
    if kind == contract.DATE:
        values = values.dt.normalize()
    return values, bad, note


def _read_datetimes(s: pd.Series, opts, tz: str | None) -> tuple[pd.Series, np.ndarray, str | None, np.ndarray | None]:
    """(datetimes, mask of unreadable values, a note, for text read with `tz`: the values that carried an offset)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s, np.zeros(len(s), dtype=bool), None, None
    if is_text(s):
        text = as_text(s)
        values, note = parse_dates(text, opts.date_format)
        bad = (text.notna() & values.isna()).to_numpy(dtype=bool)
        offset = text.str.contains(_OFFSET, regex=True).fillna(False).to_numpy(dtype=bool) if tz else None
        return values, bad, note, offset
    if opts.date_format == "excel" or (pd.api.types.is_numeric_dtype(s.dtype) and looks_serial(s)):
        values = excel_serial(s.astype("float64"))
    else:
        values = pd.to_datetime(s, errors="coerce", utc=True)
    return values, (s.notna() & values.isna()).to_numpy(dtype=bool), None, None


def _wall_clock(values: pd.Series, tz: str | None, offset: np.ndarray | None) -> pd.Series:
    """Aware times as naive ones: the wall clock in `tz` when given, else UTC.

    For text (offset given) only the values written with an offset are converted; typed values with a
    zone (Parquet) are all converted.
    """
    if not tz:
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    local = values.dt.tz_convert(tz).dt.tz_localize(None)
    if offset is None:
        return local
    return values.dt.tz_localize(None).where(~offset, local)


def _to_number(s: pd.Series, kind: str, opts) -> Coerced:
    if pd.api.types.is_bool_dtype(s.dtype) or not (pd.api.types.is_numeric_dtype(s.dtype) or is_text(s)):
        s = s.astype("string")
    if is_text(s):
        numbers, bad, note = _text_numbers(s, opts)
    else:  # typed (Parquet, derived): infinities are no amounts; NaN is taken as empty
        numbers, note = s.astype("float64"), None
        bad = np.isinf(numbers.to_numpy())
        numbers = numbers.mask(bad)
    if kind == contract.FLOAT:
        return numbers, bad, note
    arr = numbers.to_numpy()
    with np.errstate(invalid="ignore"):
        # not whole, or beyond what a 64-bit whole number holds (99999999999999999999): rejected, not cast
        fraction = ~np.isnan(arr) & ((np.mod(arr, 1) != 0) | ~(np.abs(arr) < _INT64_LIMIT))
    return numbers.mask(fraction).astype("Int64"), bad | fraction, note


def _text_numbers(s: pd.Series, opts) -> Coerced:
    """Numbers from text in the layout read.decimal / read.thousands say (a decimal comma detected if not set)."""
    text = as_text(s)
    decimal, thousands, note = opts.decimal or ".", opts.thousands, None
    if opts.decimal is None and german_numbers(text):
        decimal, thousands = ",", (opts.thousands or ".")
        note = (
            "numbers written with a decimal comma (1.234,56) detected and read so "
            "(set read.decimal / read.thousands to override)"
        )
    if thousands:
        text = text.str.replace(thousands, "", regex=False)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    numbers = pd.to_numeric(text.astype(object), errors="coerce").astype("float64")
    present = text.notna().to_numpy(dtype=bool)
    nan_word = text.str.lower().isin(_NAN_WORDS).fillna(False).to_numpy(dtype=bool)
    numbers = numbers.mask(nan_word)
    bad = present & ~nan_word & (np.isnan(numbers.to_numpy()) | np.isinf(numbers.to_numpy()))
    return numbers.mask(np.isinf(numbers.to_numpy())), bad, note


def _to_bool(s: pd.Series) -> Coerced:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean"), np.zeros(len(s), dtype=bool), None
    text = as_text(s).str.lower()
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    lut = np.array([_BOOLS.get(u) for u in uniques] + [None], dtype=object)
    unknown = np.array([u not in _BOOLS for u in uniques] + [False], dtype=bool)
    values = pd.Series(pd.array(lut[codes], dtype="boolean"), index=s.index)
    return values, unknown[codes], None


# --- dates -------------------------------------------------------------------------------------


def parse_dates(text: pd.Series, date_format: str | None) -> tuple[pd.Series, str | None]:
    """Parse stripped date strings; unparsable ones become NaT. Aware values are returned in UTC."""
    if date_format == "excel":
        return excel_serial(pd.to_numeric(text.astype(object), errors="coerce")), None
    if date_format:
        return pd.to_datetime(text, format=date_format, errors="coerce", utc=True), None
    values = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True).astype(_UTC)
    failed = text.notna() & values.isna()
    if not failed.any():
        return values, None
    if looks_serial(text[failed]):
        return _serial_days(text, values, failed)
    values, notes = _guess_layouts(text, values, failed)
    values, note = _month_names(text, values)
    notes += [note] if note else []
    return values, (
        "no read.date_format given; " + "; ".join(notes) + " (set read.date_format if that is wrong)"
    ) if notes else None


def _serial_days(text: pd.Series, values: pd.Series, failed: pd.Series) -> tuple[pd.Series, str]:
    serial = excel_serial(pd.to_numeric(text.astype(object), errors="coerce"))
    values = values.where(~failed, serial)
    n = int((failed & serial.notna()).sum())
    return values, (
        f"no read.date_format given; {n:,} {'date' if n == 1 else 'dates'} written as Excel serial day numbers "
        "(e.g. 45292 = 2024-01-01) read so (set read.date_format to override)"
    )


def _guess_layouts(text: pd.Series, values: pd.Series, failed: pd.Series) -> tuple[pd.Series, list[str]]:
    """Read the values ISO 8601 missed in the layouts that fit most of them; a note per layout used."""
    notes: list[str] = []
    chosen: list[str] = []
    for _ in range(3):  # a file may mix a couple of layouts (but never both day orders)
        rest = text[failed]
        best, ambiguous = _best_layout(rest, chosen)
        if best is None:
            break
        chosen.append(best)
        parsed = pd.to_datetime(rest, format=best, errors="coerce", utc=True).astype(_UTC)
        values = values.where(~failed, parsed)
        count = int(parsed.notna().sum())
        notes.append(
            f"{count:,} {'date' if count == 1 else 'dates'} read as '{best}'"
            + (" (day and month could be either way round; day first was assumed)" if ambiguous else "")
        )
        failed = text.notna() & values.isna()
        if not failed.any():
            break
    return values, notes


def _best_layout(rest: pd.Series, chosen: list[str]) -> tuple[str | None, bool]:
    """(the layout reading most of the values, or None; whether its day-month swap reads as many)."""
    sample = pd.Series(rest.unique()[:1000], dtype="string")
    candidates = [f for f in _DATE_FORMATS if _swap_day_month(f) not in chosen or _swap_day_month(f) == f]
    scores = {fmt: int(pd.to_datetime(sample, format=fmt, errors="coerce").notna().sum()) for fmt in candidates}
    best = max(scores, key=scores.get)
    if scores[best] == 0:
        return None, False
    return best, any(n == scores[best] and f != best and _swap_day_month(f) == best for f, n in scores.items())


def _month_names(text: pd.Series, values: pd.Series) -> tuple[pd.Series, str | None]:
    """Month names ("5 March 2025", "Mar 5, 2025"): let dateutil try the unread values with letters."""
    failed = text.notna() & values.isna()
    if not failed.any():
        return values, None
    wordy = (
        failed
        & text.str.contains(r"[A-Za-z]{3}", regex=True).fillna(False)
        & text.str.contains(r"\d", regex=True).fillna(False)
    )
    if not wordy.any():
        return values, None
    parsed = pd.to_datetime(text[wordy], format="mixed", errors="coerce", utc=True).astype(_UTC)
    values = values.where(~wordy, parsed)
    if not parsed.notna().any():
        return values, None
    n = int(parsed.notna().sum())
    return values, f"{n:,} {'date' if n == 1 else 'dates'} with month names read as written"


def looks_serial(values: pd.Series) -> bool:
    """Excel serial day numbers (1954-10-03 ... 2119-01-06): every present value a 5-digit day count."""
    sample = values.dropna().head(2000)
    if not len(sample):
        return False
    if pd.api.types.is_numeric_dtype(sample.dtype):
        return bool(((sample >= 20000) & (sample < 80000)).all())
    text = sample.astype(str).str.strip()
    return bool(text.str.match(_SERIAL).all())


def excel_serial(days: pd.Series) -> pd.Series:
    """Excel's serial dates (days since 1899-12-30, fraction = time of day), as UTC timestamps."""
    days = days.astype("float64").where(lambda d: (d >= 1) & (d < 2958466))
    out = pd.Timestamp("1899-12-30") + pd.to_timedelta((days * 86400).round(), unit="s")
    return pd.Series(out, index=days.index).dt.tz_localize("UTC").astype(_UTC)


def _swap_day_month(fmt: str) -> str:
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


# --- numbers and vocabularies -----------------------------------------------------------------


def german_numbers(text: pd.Series) -> bool:
    """True when the column's numbers are written German-style (1.234,56) and none English-style (1,234.56)."""
    sample = text.dropna()
    sample = sample[sample.str.contains(r"[.,]", regex=True)].unique()[:5000]
    if not len(sample):
        return False
    sample = pd.Series(sample, dtype="string")
    german = sample.str.match(_GERMAN).fillna(False)
    english = sample.str.match(_ENGLISH).fillna(False)
    return bool(german.any() and not english.any() and sample.str.contains(",").any())


def vocabulary(values: pd.Series, allowed: tuple[str, ...]) -> tuple[np.ndarray, pd.Series, str | None]:
    """(mask of allowed-or-empty values, values with case/spacing variants mapped onto the vocabulary, note)."""
    ok = isin(values, pd.Series(list(allowed), dtype="string")) | values.isna().to_numpy(dtype=bool)
    if ok.all():
        return ok, values, None
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped, changes = _spelling_map(uniques, allowed)
    allowed_set = set(allowed)
    ok_lut = np.array([m in allowed_set for m in mapped] + [True], dtype=bool)
    if not changes:
        return ok_lut[codes], values, None
    out = np.array(mapped + [None], dtype=object)[codes]
    values = pd.Series(pd.array(out, dtype="string"), index=values.index)
    note = (
        "values matched to the contract's spelling: "
        + ", ".join(changes[:8])
        + (f" and {len(changes) - 8} more" if len(changes) > 8 else "")
    )
    return ok_lut[codes], values, note


def _spelling_map(uniques, allowed: tuple[str, ...]) -> tuple[list, list[str]]:
    """Each distinct value, or the allowed value it spells loosely; and the changes made ("'A' -> 'a'")."""
    allowed_set = set(allowed)
    by_loose = {loose(a): a for a in allowed}
    mapped, changes = [], []
    for u in uniques:
        if u not in allowed_set and loose(u) in by_loose:
            mapped.append(by_loose[loose(u)])
            changes.append(f"'{u}' -> '{by_loose[loose(u)]}'")
        else:
            mapped.append(u)
    return mapped, changes


def isin(values: pd.Series, known: pd.Series) -> np.ndarray:
    """values.isin(known) as a numpy mask; through pyarrow for Arrow-backed strings (much faster)."""
    if _arrow_strings(values) and _arrow_strings(known):
        arr = _to_arrow(values)
        value_set = pc.unique(_to_arrow(known))
        if value_set.type != arr.type:
            value_set = value_set.cast(arr.type)
        hit = pc.is_in(arr, value_set=value_set, skip_nulls=True)
        return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
    return values.isin(known).to_numpy(dtype=bool)


def _arrow_strings(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"


def _to_arrow(s: pd.Series) -> pa.Array | pa.ChunkedArray:
    return s.array.__arrow_array__()
