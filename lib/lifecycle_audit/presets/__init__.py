"""Presets: small documented transforms from the exports consultants get to the contract's tables.

A preset reads its raw file(s) through sources' reading layer (encodings, delimiters, blank and
repeated header rows, folders), renames the client's columns onto its own field names
(`columns:` in the params entry: {field: their column}), applies value maps (`values:`), and
returns contract tables plus the fate of every raw row: used, excluded by one of its rules (an
expected, documented exclusion such as a cancellation) or rejected as bad data (a date that cannot
be read). The tables then pass the same contract validation as any mapped file.

    sources:
      transactions:                      # any name: the preset says which tables it yields
        preset: transaction_lines
        file: online_retail_II.csv.gz
        options: {guest_lines: exclude}
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from .. import contract
from ..errors import ParamsError

USED = ""


class Options(BaseModel):
    """Base of every preset's options: strict, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Reason:
    """Why a raw row was not used: excluded by a rule (expected) or rejected as bad data."""

    label: str
    category: str            # "excluded" or "rejected"
    description: str
    column: str | None = None  # the preset field whose value decided it (for examples)


@dataclass
class Built:
    """What a preset's build returns."""

    tables: dict[str, pd.DataFrame]        # contract tables (contract column names)
    status: np.ndarray                     # per raw row: USED or a Reason label
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    yields: tuple[str, ...]
    fields: dict[str, str]                 # preset field -> the column name in the standard export
    required: tuple[str, ...]              # fields that must be present
    reasons: tuple[Reason, ...]
    options: type[Options]
    build: Callable[[pd.DataFrame, Any, "Context"], Built]
    read: dict[str, Any] = field(default_factory=dict)   # default read options (the export's format)
    signature: tuple[str, ...] = ()        # columns that identify the export (for `init`)
    template: str = ""                     # params/templates/<template>.yaml
    personal: tuple[str, ...] = ()         # fields whose values identify a person (masked in examples)

    def reason(self, label: str) -> Reason:
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
            note = ("e-mail addresses replaced by keyed hashes (key derived from the client name; set "
                    "LIFECYCLE_AUDIT_PSEUDONYM_KEY for a secret key)")
            if note not in self.notes:
                self.notes.append(note)
        text = values.astype("string").str.strip().str.lower()
        uniques = pd.unique(text.dropna())
        table = {u: prefix + hmac.new(key.encode(), u.encode(), hashlib.sha256).hexdigest()[:16] for u in uniques}
        return text.map(table).astype("string")


REGISTRY: dict[str, Preset] = {}


def register(preset: Preset) -> Preset:
    REGISTRY[preset.name] = preset
    return preset


def get(name: str) -> Preset:
    _load_all()
    if name not in REGISTRY:
        raise ValueError(f"unknown preset {name!r}; the presets are: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def _load_all() -> None:
    if REGISTRY:
        return
    from . import (customer_transactions, email_activity, ga4_events, helpdesk_tickets,  # noqa: F401
                   shopify_orders, transaction_lines)


def all_presets() -> list[Preset]:
    _load_all()
    return list(REGISTRY.values())


def validate(src) -> list[str]:
    """Check a preset entry of params.sources; return the tables it yields. Raises ValueError."""
    preset = get(src.preset)
    try:
        preset.options.model_validate(src.options)
    except ValidationError as err:
        problems = "; ".join(f"options.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        raise ValueError(f"preset {preset.name}: {problems}") from None
    for part in ("columns", "values"):
        unknown = [k for k in getattr(src, part) if k not in preset.fields]
        if unknown:
            raise ValueError(f"{part} names {', '.join(map(repr, unknown))}, not a field of preset {preset.name}; "
                             f"its fields are: {', '.join(preset.fields)}")
    if src.constants or src.derived:
        raise ValueError(f"constants and derived columns apply to plain mappings; preset {preset.name} computes "
                         "its tables (see its options)")
    tables = list(src.tables) if src.tables else list(preset.yields)
    wrong = [t for t in tables if t not in preset.yields]
    if wrong:
        raise ValueError(f"tables: preset {preset.name} yields {', '.join(preset.yields)}, not {', '.join(wrong)}")
    return tables


def run(params, entry: str, progress=None, hashes=None):
    """Read sources[entry] and build its tables: (frames, loads, per-file accounting)."""
    from .. import sources as S
    from ..params import ReadOptions

    src = params.sources[entry]
    preset = get(src.preset)
    opts = preset.options.model_validate(src.options)
    wanted = validate(src)
    # The preset's read defaults, overridden by whatever the params set explicitly.
    read = {**preset.read, **{k: getattr(src.read, k) for k in src.read.model_fields_set}}
    src_read = src.model_copy(update={"read": ReadOptions(**read)})
    shadow = params.model_copy(update={"sources": {**params.sources, entry: src_read}})
    notes: list[str] = []
    shown = S._display(params.source_path(entry))
    try:
        raw = S.read_source(shadow, entry, progress, hashes, notes=notes)
    except S.SourceFileError as err:
        loads = {}
        for t in wanted:
            load = S.TableLoad(table=t, file=err.file, sha256="", rows_in=0, rows_used=0, rejected={},
                               problems=[S.Problem(table=t, file=err.file, column=None, kind=err.kind,
                                                   message=err.message, fatal=True)],
                               date_min=None, date_max=None)
            loads[t] = load
        files = [S.InputFile(source=entry, file=err.file, sha256="", tables=wanted, rows_in=0, rows_used=0,
                             preset=preset.name, notes=[err.message])]
        return {}, loads, files

    # Field names: the client's columns renamed onto the preset's fields.
    frame = raw.frame
    header = list(frame.columns)
    stripped = {h.strip().lower(): h for h in header}
    rename, absent = {}, []
    for fld, default in preset.fields.items():
        client = src.columns.get(fld, default)
        found = client if client in header else stripped.get(client.strip().lower())
        if found is None:
            if fld in preset.required:
                absent.append((fld, client))
        else:
            rename[found] = fld
    if absent:
        loads = {}
        message = "; ".join(
            f"column '{client}' (preset {preset.name} field {fld}) is missing" for fld, client in absent) + \
            f"; the file's columns are: {S._list([repr(h) for h in header])}; map them under sources.{entry}.columns " \
            f"({{field: their column}})"
        for t in wanted:
            loads[t] = S.TableLoad(table=t, file=raw.files[0]["file"], sha256=raw.files[0]["sha256"],
                                   rows_in=0, rows_used=0, rejected={}, date_min=None, date_max=None,
                                   problems=[S.Problem(table=t, file=raw.files[0]["file"], column=absent[0][0],
                                                       kind="missing_column", message=message, fatal=True,
                                                       client_column=absent[0][1])])
        files = [S.InputFile(source=entry, file=f["file"], sha256=f["sha256"], tables=wanted,
                             rows_in=f["rows_in"], rows_used=0, rejected={"unusable file": f["rows_in"]},
                             preset=preset.name, notes=[message]) for f in raw.files]
        return {}, loads, files
    data = frame[list(rename)].rename(columns=rename)
    for fld in preset.fields:
        if fld not in data:
            data[fld] = pd.Series(pd.NA, index=data.index, dtype="string")
    for fld, mapping in src.values.items():
        data[fld], note = S._map_values(data[fld], mapping)
        if note:
            notes.append(f"{fld}: {note}")

    ctx = Context(params=params, entry=entry, notes=notes)
    built = preset.build(data, opts, ctx)
    status = pd.Series(built.status, index=data.index)
    notes.extend(n for n in built.notes if n not in notes)

    # Contract validation of the tables the preset built (a safety net: they should pass whole).
    frames, loads = {}, {}
    sha = raw.files[0]["sha256"] if len(raw.files) == 1 else hashlib.sha256(
        "".join(f["sha256"] for f in raw.files).encode()).hexdigest()
    for t in wanted:
        table = built.tables[t].reset_index(drop=True)
        load = S.TableLoad(table=t, file=shown if len(raw.files) > 1 else raw.files[0]["file"], sha256=sha,
                           rows_in=len(table), rows_used=0, rejected={}, problems=[], date_min=None, date_max=None,
                           format=f"preset {preset.name}")
        load.notes.append(f"derived by preset {preset.name} from {load.file}")
        fake = S.RawRead(frame=table, header=list(table.columns), fmt="parquet",
                         files=[{"file": load.file, "sha256": sha, "rows_in": len(table), "start": 0,
                                 S.BLANK_ROW: 0, S.REPEATED_HEADER: 0}], text=False)
        plain = src.model_copy(update={"preset": None, "options": {}, "tables": None, "columns": {}, "values": {},
                                       "read": ReadOptions()})
        df, load = S._validate_frame(t, fake, plain, load)
        load.notes.extend(notes)
        loads[t] = load
        if df is not None:
            frames[t] = df

    # Per-file accounting: every raw row used, excluded or rejected.
    codes = raw.file_codes(status.index)
    files = []
    for k, info in enumerate(raw.files):
        mine = status[codes == k]
        counts = mine.value_counts()
        excluded = {r: info[r] for r in S.NOT_DATA if info[r]}
        rejected = {}
        reasons = [{"reason": r, "category": "excluded", "rows": n, "column": None, "examples": [],
                    "description": "empty row" if r == S.BLANK_ROW else "the header row repeated inside the data"}
                   for r, n in excluded.items()]
        for label, n in counts.items():
            if label == USED:
                continue
            reason = preset.reason(label)
            (excluded if reason.category == "excluded" else rejected)[label] = int(n)
            rows = mine.index[(mine == label).to_numpy()][: S.MAX_EXAMPLES]
            examples = [int(i) - info["start"] + 1 for i in rows]
            values = []
            if reason.column and reason.column in data:
                values = [S._show_value(v) for v in data.loc[rows, reason.column]]
                if reason.column in preset.personal or any("@" in v for v in values):
                    values = [S._mask(v) for v in values]
            reasons.append({"reason": label, "category": reason.category, "rows": int(n), "column": reason.column,
                            "description": reason.description, "examples": examples, "values": values})
        files.append(S.InputFile(source=entry, file=info["file"], sha256=info["sha256"], tables=wanted,
                                 rows_in=info["rows_in"], rows_used=int(counts.get(USED, 0)), excluded=excluded,
                                 rejected=rejected, preset=preset.name, reasons=reasons, notes=list(notes)))
    return frames, loads, files


# --- helpers shared by the presets ----------------------------------------------------------


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
    from .. import sources as S
    from ..params import ReadOptions

    values, _, _ = S._coerce(s, contract.FLOAT, ReadOptions(decimal=decimal))
    return values


def timestamp(s: pd.Series, date_format: str | None = None, tz: str | None = None) -> pd.Series:
    """Timestamps (shop-local wall clock) from text; NaT where unreadable."""
    from .. import sources as S
    from ..params import ReadOptions

    values, _, _ = S._coerce(s, contract.TIMESTAMP, ReadOptions(date_format=date_format), tz=tz)
    return values


def empty(n: int, dtype: str = "string") -> pd.Series:
    if dtype.startswith("datetime"):
        return pd.Series(pd.NaT, index=range(n), dtype=dtype)
    return pd.Series(pd.NA, index=range(n), dtype=dtype)
