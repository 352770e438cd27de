"""Read the client's files, apply the column mapping, validate against the contract, store canonical tables.

The flow for one table (`load_table`): read the file (CSV/TSV as text, so every value can be judged
and reported; Parquet and Excel through pandas/pyarrow), pick the contract's columns through the
params mapping, coerce each to its contract type, and reject the rows that break the contract:
values that cannot be parsed, empty values where the contract needs one, values outside a closed
vocabulary, negative amounts, repeated keys. `check_sources` does that for every table and then
rejects rows that point at a customer (or order) the other table does not have. `prepare` stores
the result as canonical Parquet in a content-addressed cache folder, with the accounting beside it.

Every rejected row is counted under exactly one reason (its first), so for a usable table
``rows_in == rows_used + sum(rejected.values())``. Client files are opened read-only.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import gzip
import hashlib
import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import __version__, contract, paths
from .errors import ParamsError, SourceError

Progress = Callable[[str], None] | None

# Bump when the canonical output of this module changes, so cached tables are rebuilt.
FORMAT_VERSION = 2

KINDS = (
    "missing_file", "unreadable", "missing_column",          # file level: the table cannot be used
    "wrong_type", "unparsable_date", "null_value", "not_allowed", "negative",
    "duplicate_key", "dangling_reference",                     # row level: those rows are rejected
)
FILE_KINDS = frozenset({"missing_file", "unreadable", "missing_column"})
BLANK_ROW = "blank_row"            # rejected[] reason for all-empty rows (not a problem)
REPEATED_HEADER = "repeated_header"  # rejected[] reason for header rows repeated inside the data (not a problem)
NOT_DATA = (BLANK_ROW, REPEATED_HEADER)
TOO_MANY_REJECTED = "too_many_rejected"   # kind of the summary problem prepare raises with

MAX_EXAMPLES = 5
MAX_VALUE_CHARS = 40

_TRUE = ("true", "t", "1", "1.0", "yes", "y", "ja", "ya", "wahr")
_FALSE = ("false", "f", "0", "0.0", "no", "n", "nein", "tidak", "falsch")
_BOOLS = {**{v: True for v in _TRUE}, **{v: False for v in _FALSE}}

# Tried in order when no read.date_format is given and a value is not ISO 8601. Day-first layouts
# come before month-first ones: the workbook's clients write dates day first (de, id).
_DATE_FORMATS = (
    "%d.%m.%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%y", "%d.%m.%y %H:%M",
    "%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p",
    "%d-%m-%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S",
    "%Y/%m/%d", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y.%m.%d", "%Y%m%d",
)
_SNIFF_DELIMITERS = ",;\t|"
_UTC = "datetime64[us, UTC]"
# Columns whose values identify a person: masked in to_dict() (the manifest travels with the report).
_PERSONAL = frozenset({"customer_id", "anonymous_id", "referrer_id", "referred_customer_id"})


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Problem:
    """One thing wrong with a client file: a whole file (fatal) or some of its rows (rejected)."""

    table: str
    file: str                      # as shown to the consultant (relative to the project root when inside it)
    column: str | None             # contract column (key columns joined by ', ')
    kind: str                      # one of KINDS (or "too_many_rejected" for prepare's summary)
    message: str                   # the whole story after the file name: column, count, examples, expected
    count: int = 0                 # rows affected (0 for file-level problems)
    examples: list[int] = field(default_factory=list)        # 1-based data row numbers, up to 5
    example_values: list[str] = field(default_factory=list)  # the values in those rows, up to 40 chars
    fatal: bool = False
    client_column: str | None = None   # the client's column name(s)
    what: str = field(default="", repr=False)       # e.g. "have a date that cannot be read"
    expected: str = field(default="", repr=False)
    line_offset: int | None = field(default=None, repr=False)  # file line = row + offset (text files)
    example_files: list[str] = field(default_factory=list, repr=False)  # several input files: each example's file

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"

    def masked(self) -> "Problem":
        """A copy whose example values are masked when they identify a person (for files that travel)."""
        personal = self.column is not None and any(c.strip() in _PERSONAL for c in self.column.split(","))
        if not self.example_values or not (personal or any("@" in v for v in self.example_values)):
            return self
        values = [_mask(v) for v in self.example_values]
        new = dataclasses.replace(self, example_values=values)
        new.message = _row_message(new)
        return new

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class TableLoad:
    """The accounting for one input table: what came in, what was used, what was rejected and why."""

    table: str
    file: str
    sha256: str
    rows_in: int
    rows_used: int
    rejected: dict[str, int]        # reason (Problem.kind or "blank_row") -> rows; each row counted once
    problems: list[Problem]
    date_min: str | None            # range of the contract time_column over the used rows (ISO)
    date_max: str | None
    format: str | None = None
    mapping: dict[str, str | None] = field(default_factory=dict)  # contract column -> client column (None: absent)
    notes: list[str] = field(default_factory=list)  # things decided on the consultant's behalf (delimiter, date layout)
    line_offset: int | None = None  # text files: file line = data row + line_offset
    parts: list[list] = field(default_factory=list)  # several input files: [file, first global row] each

    @property
    def usable(self) -> bool:
        return not any(p.fatal for p in self.problems)

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def rejected_share(self) -> float:
        """Share of the data rows rejected (blank rows do not count as data)."""
        blank = self.rejected.get(BLANK_ROW, 0) + self.rejected.get(REPEATED_HEADER, 0)
        rows = self.rows_in - blank
        return (self.rows_rejected - blank) / rows if rows else 0.0

    def masked(self) -> "TableLoad":
        return dataclasses.replace(self, problems=[p.masked() for p in self.problems])

    def to_dict(self, mask: bool = True) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "problems"}
        out["usable"] = self.usable
        out["problems"] = [(p.masked() if mask else p).to_dict() for p in self.problems]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TableLoad":
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in data.items() if k in names}
        kw["problems"] = [Problem(**p) for p in data.get("problems", [])]
        return cls(**kw)


@dataclass
class InputFile:
    """The accounting for one input file: rows in = rows used + rows excluded + rows rejected, always.

    excluded: rows set aside on purpose (a preset's rules, e.g. cancellations; blank and repeated header
    rows) -- expected, not counted against max_rejected_share. rejected: rows that are bad data.
    reasons: one entry per reason: {reason, category ("excluded"/"rejected"), rows, description, examples}.
    """

    source: str                      # the sources entry
    file: str
    sha256: str
    tables: list[str]
    rows_in: int
    rows_used: int
    excluded: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    preset: str | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_excluded(self) -> int:
        return sum(self.excluded.values())

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.rows_used + self.rows_excluded + self.rows_rejected

    @property
    def rejected_share(self) -> float:
        data = self.rows_in - sum(self.excluded.get(k, 0) for k in NOT_DATA)
        return self.rows_rejected / data if data else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["balanced"] = self.balanced
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "InputFile":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Prepared:
    """The outcome of reading every source: the accounting, and (after prepare) the canonical folder."""

    folder: Path | None
    loads: dict[str, TableLoad]
    key: str | None = None
    reused: bool = False           # True when prepare found the folder complete and read nothing
    inputs: list[InputFile] = field(default_factory=list)   # per input file: rows in, used, excluded, rejected

    @property
    def problems(self) -> list[Problem]:
        return [p for load in self.loads.values() for p in load.problems]

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.problems if p.fatal]

    @property
    def usable(self) -> list[str]:
        """The tables that can be used, in contract order."""
        return [t for t in contract.TABLE_ORDER if t in self.loads and self.loads[t].usable]

    def path(self, table: str) -> Path:
        if self.folder is None:
            raise ValueError("nothing was written: check_sources only validates; call prepare for the tables")
        return self.folder / f"{table}.parquet"

    def masked(self) -> "Prepared":
        """A copy whose problem examples show no customer identifiers or e-mail addresses."""
        return dataclasses.replace(self, loads={name: load.masked() for name, load in self.loads.items()})

    def to_dict(self, mask: bool = True) -> dict[str, Any]:
        """JSON-safe accounting for manifest.json; identifier values in examples are masked unless mask=False."""
        return {
            "folder": str(self.folder) if self.folder else None,
            "key": self.key,
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            "tables": {name: load.to_dict(mask=mask) for name, load in self.loads.items()},
            "inputs": [i.to_dict() for i in self.inputs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path | None = None) -> "Prepared":
        loads = {name: TableLoad.from_dict(d) for name, d in data["tables"].items()}
        inputs = [InputFile.from_dict(d) for d in data.get("inputs", [])]
        return cls(folder=folder, loads=loads, key=data.get("key"), inputs=inputs)


# --------------------------------------------------------------------------------------------
# Public API


def load_table(params, table: str, progress: Progress = None) -> tuple[pd.DataFrame | None, TableLoad]:
    """Read one table: map, coerce and check its rows (not its references to other tables).

    Returns the canonical frame (contract columns and dtypes, the rows that passed) or None when the
    file cannot be used, and its accounting.
    """
    df, load = _load(params, table, progress)
    if df is not None:
        df = df.reset_index(drop=True)
    return df, load


def check_sources(params, progress: Progress = None) -> Prepared:
    """Validate every table in params.sources, including references between tables; writes nothing."""
    _, loads, inputs = _validate(params, progress)
    return Prepared(folder=None, loads=loads, inputs=inputs)


def prepare(params, *, max_rejected_share: float | None = None, progress: Progress = None) -> Prepared:
    """Validate the sources and store them as canonical Parquet in a content-addressed cache folder.

    The folder is paths.CACHE/tables/<client>/<key>, the key hashing the sources mapping, the input
    files' sha256 and the package version. A complete folder is reused without reading the inputs
    again (only hashing them). Raises SourceError when a table cannot be used or rejects more than
    `max_rejected_share` of its rows; that error shows the offending values as they are, while the
    returned accounting (and accounting.json) masks customer identifiers and e-mail addresses in its
    examples, since it feeds the report.
    """
    say = progress or (lambda message: None)
    if max_rejected_share is None:
        max_rejected_share = getattr(params, "max_rejected_share", 0.01)
    hashes = {str(path): _sha256(path) for name in params.sources for path in params.input_files(name)}
    key = _cache_key(params, hashes)
    folder = paths.CACHE / "tables" / params.client / key
    cached = _read_cached(folder)
    if cached is not None:
        say(f"using the canonical tables prepared earlier ({_display(folder)})")
        cached.key, cached.reused = key, True
        _raise_if_unfit(cached, max_rejected_share)
        return cached

    frames, loads, inputs = _validate(params, progress, hashes)
    prepared = Prepared(folder=folder, loads=loads, key=key, inputs=inputs)
    _raise_if_unfit(prepared, max_rejected_share)      # the error shows the values as they are
    prepared = prepared.masked()                        # what is kept feeds the report: masked

    say(f"writing canonical tables to {_display(folder)}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{key}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    try:
        for name, df in frames.items():
            table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
            pq.write_table(table, tmp / f"{name}.parquet")
        # accounting.json is written last: its presence marks the folder complete.
        (tmp / "accounting.json").write_text(json.dumps(prepared.to_dict(mask=False), indent=1, default=str),
                                             encoding="utf-8")
        try:
            tmp.rename(folder)
        except OSError:
            if _read_cached(folder) is None:   # not a concurrent twin that won the race
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return prepared


DEMO_STAMP = ".demo.json"


def _demo_stamp(params) -> dict[str, Any]:
    """What a generated shop was made from: the params' demo settings and the generator's own code, so a
    changed generator (a new planted mistake) or changed settings make a fresh shop, never a stale one."""
    from . import synth

    code = hashlib.sha256(Path(synth.__file__).read_bytes()).hexdigest()[:16]
    return {**params.demo.model_dump(mode="json"), "generator": code}


def ensure_demo_data(params, progress: Progress = None) -> bool:
    """Generate the demo shop into params.data_path when params.demo is set and a source file is missing,
    or the shop there was made by other settings or another version of the generator.

    Returns True if it generated.
    """
    if params.demo is None:
        return False
    stamp_file = params.data_path / DEMO_STAMP
    stamp = _demo_stamp(params)
    missing = [name for name in params.sources if not params.input_files(name)]
    try:
        current = json.loads(stamp_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = None
    if not missing and current == stamp:
        return False
    from . import synth  # late: the generator is only needed for demo shops

    demo = params.demo
    if progress:
        why = "" if missing or current is None else " (the generator or its settings changed)"
        progress(f"generating the demo shop ({demo.customers:,} customers, seed {demo.seed}, {demo.profile}) "
                 f"into {_display(params.data_path)}{why}")
    tables = synth.generate(customers=demo.customers, seed=demo.seed, profile=demo.profile, mistakes=demo.mistakes)
    synth.write_shop(tables, params.data_path)
    stamp_file.write_text(json.dumps(stamp, indent=1), encoding="utf-8")
    return True


# --------------------------------------------------------------------------------------------
# Validation of all tables


def _validate(params, progress: Progress, hashes: dict[str, str] | None = None
              ) -> tuple[dict[str, pd.DataFrame], dict[str, TableLoad], list[InputFile]]:
    """Read and check every source: presets first (they yield several tables), then plain mappings."""
    frames: dict[str, pd.DataFrame] = {}
    loads: dict[str, TableLoad] = {}
    preset_inputs: list[InputFile] = []
    for entry, src in params.sources.items():
        if src.preset is None:
            continue
        from . import presets  # late: presets use this module's reading layer

        out_frames, out_loads, files = presets.run(params, entry, progress, hashes)
        frames.update(out_frames)
        loads.update(out_loads)
        preset_inputs.extend(files)
    plain = [name for name, src in params.sources.items() if src.preset is None]
    for name in _dependency_order(plain):
        df, load = _load(params, name, progress, hashes=hashes)
        loads[name] = load
        if df is not None:
            frames[name] = df
    if progress and len(frames) > 1:
        progress("checking references between tables")
    for name in _dependency_order(frames):
        _check_references(name, frames, loads[name], loads)
    inputs: list[InputFile] = []
    for entry, src in params.sources.items():
        if src.preset is not None:
            inputs.extend(f for f in preset_inputs if f.source == entry)
        else:
            inputs.extend(_plain_inputs(entry, loads[entry]))
    ordered = {name: loads[name] for name in contract.TABLE_ORDER if name in loads}
    return {name: frames[name] for name in contract.TABLE_ORDER if name in frames}, ordered, inputs


def _plain_inputs(name: str, load: TableLoad) -> list[InputFile]:
    """Per-file accounting of a plain (mapped) table: its rows used, and rejected per reason."""
    raw: RawRead | None = getattr(load, "_read", None)
    if raw is None:   # the file could not be read at all
        return [InputFile(source=name, file=load.file, sha256=load.sha256, tables=[name], rows_in=load.rows_in,
                          rows_used=0, rejected={"unusable file": load.rows_in} if load.rows_in else {},
                          notes=[p.message for p in load.problems if p.fatal])]
    status: pd.Series = load._status
    codes = raw.file_codes(status.index)
    out = []
    for k, info in enumerate(raw.files):
        mine = status[codes == k]
        counts = mine.value_counts()
        used = int(counts.get("", 0))
        rejected = {str(r): int(n) for r, n in counts.items() if r != ""}
        excluded = {r: info[r] for r in NOT_DATA if info[r]}
        reasons = [{"reason": r, "category": "excluded", "rows": n,
                    "description": "empty row" if r == BLANK_ROW else "the header row repeated inside the data",
                    "examples": []} for r, n in excluded.items()]
        for p in load.problems:
            if p.fatal or p.kind not in rejected:
                continue
            if p.example_files and info["file"] not in p.example_files and len(raw.files) > 1:
                continue
            reasons.append({"reason": p.kind, "category": "rejected", "rows": None, "column": p.column,
                            "description": p.masked().message, "examples": p.examples})
        for r in reasons:
            if r["rows"] is None:
                r["rows"] = rejected.get(r["reason"], 0)
        out.append(InputFile(source=name, file=info["file"], sha256=info["sha256"], tables=[name],
                             rows_in=info["rows_in"], rows_used=used, excluded=excluded, rejected=rejected,
                             reasons=reasons))
    return out


def _dependency_order(names) -> list[str]:
    """Tables ordered so that every referenced table comes before the tables pointing at it."""
    names = list(names)
    done: list[str] = []

    def visit(name: str, seen: tuple[str, ...] = ()) -> None:
        if name in done or name in seen:
            return
        for col in contract.TABLES[name].columns:
            if col.references:
                target = col.references.split(".")[0]
                if target in names and target != name:
                    visit(target, seen + (name,))
        done.append(name)

    for name in sorted(names, key=contract.TABLE_ORDER.index):
        visit(name)
    return done


def _check_references(name: str, frames: dict[str, pd.DataFrame], load: TableLoad,
                      loads: dict[str, TableLoad]) -> None:
    df = frames[name]
    spec = contract.TABLES[name]
    reject = np.zeros(len(df), dtype=bool)
    for col in spec.columns:
        if not col.references:
            continue
        target_table, target_col = col.references.split(".")
        if target_table not in frames:
            why = "was not supplied" if target_table not in loads else "could not be used"
            load.notes.append(f"{name}.{col.name} was not checked against {col.references}: "
                              f"the {target_table} table {why}")
            continue
        values = df[col.name]
        known = frames[target_table][target_col]
        dangling = values.notna().to_numpy(dtype=bool) & ~_isin(values, known)
        if not dangling.any():
            continue
        target_file = loads[target_table].file
        problem = _row_problem(
            load, col.name, "dangling_reference", dangling, df.index, values,
            what=f"point to a {target_col} that is not in the {target_table} table ({target_file})",
            expected=f"every {col.name} to exist in {target_table}.{target_col}; "
                     "such rows are rejected (was the other export filtered or cut at a different date?)",
        )
        load.problems.append(problem)
        reject |= dangling
    if reject.any():
        status = getattr(load, "_status", None)
        if status is not None:
            status.loc[df.index[reject]] = "dangling_reference"
        n = int(reject.sum())
        load.rejected["dangling_reference"] = load.rejected.get("dangling_reference", 0) + n
        load.rows_used -= n
        kept = df[~reject]
        frames[name] = kept
        load.date_min, load.date_max = _date_range(kept, spec)


def _raise_if_unfit(prepared: Prepared, max_rejected_share: float) -> None:
    problems = list(prepared.fatal)
    from_presets = {t for i in prepared.inputs if i.preset for t in i.tables}
    for i in prepared.inputs:
        if not i.preset or i.rejected_share <= max_rejected_share:
            continue
        problems.extend(Problem(table=", ".join(i.tables), file=i.file, column=r.get("column"), kind=r["reason"],
                                message=r["description"], count=r["rows"], examples=r.get("examples", []))
                        for r in i.reasons if r["category"] == "rejected")
        problems.append(Problem(
            table=", ".join(i.tables), file=i.file, column=None, kind=TOO_MANY_REJECTED, fatal=True,
            count=i.rows_rejected,
            message=(f"{i.rows_rejected:,} of {i.rows_in:,} rows ({_pct(i.rejected_share)}) were rejected as bad "
                     f"data, more than the {_pct(max_rejected_share)} allowed (max_rejected_share; the "
                     f"{i.rows_excluded:,} rows the preset {i.preset} excludes by its rules do not count); the "
                     "reasons are listed above: fix the export or the preset's options, or allow a larger share")))
    for name, load in prepared.loads.items():
        if not load.usable or (name in from_presets and load.rows_rejected == 0):
            continue
        share = load.rejected_share
        if share > max_rejected_share:
            data_rows = load.rows_in - load.rejected.get(BLANK_ROW, 0)
            bad = load.rows_rejected - load.rejected.get(BLANK_ROW, 0)
            problems.extend(p for p in load.problems if not p.fatal)
            problems.append(Problem(
                table=name, file=load.file, column=None, kind=TOO_MANY_REJECTED, fatal=True,
                count=bad,
                message=(f"table {name}: {bad:,} of {data_rows:,} rows ({_pct(share)}) were rejected, more than "
                         f"the {_pct(max_rejected_share)} allowed (max_rejected_share); the reasons are listed "
                         "above: fix the export or the column mapping, or allow a larger share"),
            ))
    if problems:
        raise SourceError(problems)


# --------------------------------------------------------------------------------------------
# One table


@dataclass
class RawRead:
    """The rows of every file of one source, as read (text as strings), blank and repeated header rows removed.

    frame.index holds each row's global number (0-based, counting removed rows), so that
    `row_of(i)` gives the file and the 1-based data row number within it.
    """

    frame: pd.DataFrame
    header: list[str]
    fmt: str
    files: list[dict[str, Any]]     # per file: file (as shown), sha256, rows_in, start, blank_row, repeated_header
    text: bool                      # values are strings read from text (CSV/TSV/Excel), not typed (Parquet)
    line_offset: int | None = None

    @property
    def starts(self) -> np.ndarray:
        return np.array([f["start"] for f in self.files], dtype=np.int64)

    def file_codes(self, index=None) -> np.ndarray:
        idx = np.asarray(self.frame.index if index is None else index, dtype=np.int64)
        return np.searchsorted(self.starts, idx, side="right") - 1


def read_source(params, name: str, progress: Progress = None, hashes: dict[str, str] | None = None,
                columns: list[str] | None = None, notes: list[str] | None = None) -> RawRead:
    """Read every file of sources[name] through the quirk layer (encoding, delimiter, blank and repeated
    header rows, Excel sheets, folders of files). Raises SourceFileError naming the file and what to try."""
    src = params.sources[name]
    notes = notes if notes is not None else []
    files = params.input_files(name)
    if not files:
        path = params.source_path(name)
        raise SourceFileError("missing_file", _display(path), _missing_file_message(params, name, path))
    parts: list[pd.DataFrame] = []
    infos: list[dict[str, Any]] = []
    header: list[str] | None = None
    start = 0
    fmt0 = None
    line_offset = None
    for path in files:
        shown = _display(path)
        try:
            fmt = src.format_of(path)
        except ParamsError as err:
            raise SourceFileError("unreadable", shown, str(err)) from None
        fmt0 = fmt0 or fmt
        if progress:
            progress(f"reading {name} ({shown})")
        sha = (hashes or {}).get(str(path)) or _sha256(path)
        try:
            if fmt in ("csv", "tsv"):
                sheets = [(shown, _read_text(path, fmt, src.read, notes))]
                line_offset = 1 + src.read.skip_rows if src.read.header else src.read.skip_rows
            elif fmt == "excel":
                sheets = [(f"{shown} [{sheet}]" if sheet is not None else shown, df)
                          for sheet, df in _read_excel(path, src.read)]
                line_offset = 1 + src.read.skip_rows
            else:
                names, _ = _parquet_header(path)
                want = [c for c in columns if c in names] if columns is not None else names
                sheets = [(shown, _read_parquet(path, want))]
        except _Unreadable as err:
            raise SourceFileError("unreadable", shown, str(err)) from None
        for label, df in sheets:
            df.columns = [str(c) for c in df.columns]
            if header is None:
                header = list(df.columns)
            elif list(df.columns) != header:
                missing = [c for c in header if c not in df.columns]
                extra = [c for c in df.columns if c not in header]
                notes.append(f"{label} has other columns than {infos[0]['file']}"
                             + (f": lacks {_list(missing)}" if missing else "")
                             + (f"; adds {_list(extra)}" if extra else ""))
            info = {"file": label, "sha256": sha, "rows_in": len(df), "start": start, BLANK_ROW: 0,
                    REPEATED_HEADER: 0, "format": fmt}
            df.index = pd.RangeIndex(start, start + len(df))
            if fmt != "parquet" and len(df):
                blank = _blank_rows(df)
                again = _repeated_header(df)
                info[BLANK_ROW] = int(blank.sum())
                info[REPEATED_HEADER] = int((again & ~blank).sum())
                if blank.any() or again.any():
                    df = df[~(blank | again)]
            start += info["rows_in"]
            infos.append(info)
            parts.append(df)
    frame = parts[0] if len(parts) == 1 else pd.concat(parts)
    if header is not None:
        frame = frame.reindex(columns=list(dict.fromkeys(header + [c for c in frame.columns if c not in header])))
    return RawRead(frame=frame, header=list(frame.columns), fmt=fmt0, files=infos, text=fmt0 != "parquet",
                   line_offset=line_offset)


class SourceFileError(Exception):
    """A file of a source cannot be used at all."""

    def __init__(self, kind: str, file: str, message: str):
        self.kind, self.file, self.message = kind, file, message
        super().__init__(f"{file}: {message}")


def _repeated_header(raw: pd.DataFrame) -> np.ndarray:
    """Rows that repeat the header (exports glued together from several downloads)."""
    if raw.shape[1] == 0 or not _is_text(raw.iloc[:, 0]):
        return np.zeros(len(raw), dtype=bool)
    cols = list(raw.columns)
    hit = (raw.iloc[:, 0].astype("string").str.strip() == cols[0].strip()).fillna(False).to_numpy(dtype=bool)
    if not hit.any():
        return hit
    rows = np.flatnonzero(hit)
    sub = raw.iloc[rows]
    keep = np.ones(len(rows), dtype=bool)
    for c, name in enumerate(cols[1:], start=1):
        keep &= (sub.iloc[:, c].astype("string").str.strip() == name.strip()).fillna(False).to_numpy(dtype=bool)
    hit[:] = False
    hit[rows[keep]] = True
    return hit


def _load(params, name: str, progress: Progress = None, sha256: str | None = None,
          hashes: dict[str, str] | None = None) -> tuple[pd.DataFrame | None, TableLoad]:
    spec = contract.table(name)
    if name not in params.sources:
        raise ParamsError(f"the {name} table is not listed under sources in {params.source_file or 'the params'}; "
                          f"listed: {', '.join(params.sources) or 'none'}")
    src = params.sources[name]
    shown = _display(params.source_path(name))
    load = TableLoad(table=name, file=shown, sha256="", rows_in=0, rows_used=0, rejected={}, problems=[],
                     date_min=None, date_max=None)

    # Parquet: read only the columns the mapping needs (header first)
    wanted = None
    files = params.input_files(name)
    if files and all(src.format_of(f) == "parquet" for f in files if _format_ok(src, f)):
        try:
            names, _ = _parquet_header(files[0])
            wanted = _needed_columns(spec, src, names)
        except _Unreadable:
            wanted = None
    try:
        raw = read_source(params, name, progress, hashes, columns=wanted, notes=load.notes)
    except SourceFileError as err:
        load.file = err.file if len(files) <= 1 else shown
        load.problems.append(Problem(table=name, file=err.file, column=None, kind=err.kind, message=err.message,
                                     fatal=True))
        return None, load
    _account_read(load, raw, shown)
    if sha256 and len(raw.files) == 1:
        load.sha256 = sha256
    return _validate_frame(name, raw, src, load)


def _format_ok(src, path) -> bool:
    try:
        src.format_of(path)
        return True
    except ParamsError:
        return False


def _needed_columns(spec: contract.Table, src, header: list[str]) -> list[str]:
    want = []
    for col in spec.columns:
        client = src.columns.get(col.name, col.name)
        if client in header:
            want.append(client)
    for expr in src.derived.values():
        want.extend(c for c in _expr_columns(expr) if c in header)
    return list(dict.fromkeys(want))


def _account_read(load: TableLoad, raw: RawRead, shown: str) -> None:
    load.format = raw.fmt
    load.rows_in = sum(f["rows_in"] for f in raw.files)
    load.line_offset = raw.line_offset
    load.sha256 = raw.files[0]["sha256"] if len(raw.files) == 1 else hashlib.sha256(
        "".join(f["sha256"] for f in raw.files).encode()).hexdigest()
    if len(raw.files) > 1:
        load.file = shown
        load.parts = [[f["file"], f["start"]] for f in raw.files]
        load.notes.append(f"{len(raw.files)} files read as one: " + _list([f["file"] for f in raw.files], 12))
    else:
        load.file = raw.files[0]["file"]
    for reason in NOT_DATA:
        n = sum(f[reason] for f in raw.files)
        if n:
            load.rejected[reason] = n


def _validate_frame(name: str, raw_read: RawRead, src, load: TableLoad) -> tuple[pd.DataFrame | None, TableLoad]:
    """Map, coerce and check the rows of one table already read (see _load)."""
    spec = contract.table(name)
    raw = raw_read.frame
    header = list(raw_read.header)
    text = raw_read.text
    fmt = raw_read.fmt
    shown = load.file

    # --- mapping: contract column -> the client's column in this file
    stripped = {}
    for c in header:
        stripped.setdefault(c.strip(), c)

    def find(client: str) -> str | None:
        if client in header:
            return client
        return stripped.get(client.strip())

    chosen: dict[str, str | None] = {}
    missing: list[Problem] = []
    for col in spec.columns:
        if col.name in src.constants:
            chosen[col.name] = f"={src.constants[col.name]!r}"
            continue
        if col.name in src.derived:
            expr = src.derived[col.name]
            absent = [c for c in _expr_columns(expr) if find(c) is None]
            chosen[col.name] = f"={expr}"
            for c in absent:
                missing.append(Problem(table=name, file=shown, column=col.name, kind="missing_column", fatal=True,
                                       client_column=c,
                                       message=f"column '{c}' (used by sources.{name}.derived.{col.name}: {expr}) "
                                               f"is missing; the file's columns are: "
                                               + _list([f"'{h}'" for h in header])))
            continue
        client = src.columns.get(col.name, col.name)
        found = find(client)
        if found is not None:
            chosen[col.name] = found
        elif col.required:
            missing.append(Problem(table=name, file=shown, column=col.name, kind="missing_column", fatal=True,
                                   client_column=client,
                                   message=_missing_column_message(name, col.name, client, src, header, fmt)))
            chosen[col.name] = None
        else:
            chosen[col.name] = None
    load.mapping = chosen
    if missing:
        load.problems.extend(missing)
        return None, load

    n = len(raw)
    index = raw.index
    file_of = raw_read.file_codes()

    # --- coercion and row checks; each row is rejected under its first reason
    reason = np.full(n, -1, dtype=np.int16)
    kinds: list[str] = []

    def flag(mask: np.ndarray, kind: str) -> np.ndarray:
        if kind not in kinds:
            kinds.append(kind)
        first = mask & (reason < 0)
        reason[first] = kinds.index(kind)
        return first

    opts = src.read
    columns: dict[str, pd.Series] = {}
    for col in spec.columns:
        client = chosen[col.name]
        dtype = contract.PANDAS_DTYPES[col.kind]
        if client is None:   # optional column the client does not have: all empty
            columns[col.name] = _empty(dtype, index)
            continue
        if col.name in src.constants:
            value = src.constants[col.name]
            source = pd.Series([None if value is None else str(value)] * n, index=index, dtype="string")
        elif col.name in src.derived:
            source, bad_inputs, shown_inputs, note = _derive(src.derived[col.name], raw, find, opts)
            if note:
                load.notes.append(f"{name}.{col.name} (= {src.derived[col.name]}): {note}")
            if bad_inputs.any():
                flag(bad_inputs, "wrong_type")
                _add(dict(load=load, column=col.name, index=index, raw=shown_inputs,
                          client=src.derived[col.name]), "wrong_type", bad_inputs,
                     f"have a value that is not a number in a column used by derived.{col.name} "
                     f"({src.derived[col.name]})", _type_words(contract.Column(col.name, contract.FLOAT),
                                                               opts, shown_inputs[bad_inputs])[1])
        else:
            source = raw[client]
        if col.name in src.values:
            source, note = _map_values(source, src.values[col.name])
            if note:
                load.notes.append(f"{name}.{col.name} ('{client}'): {note}")
        values, bad, note = _coerce(source, col.kind, opts, typed=not text, tz=src.timezone)
        if note:
            load.notes.append(f"{name}.{col.name} ('{client}'): {note}")
        columns[col.name] = values
        ctx = dict(load=load, column=col.name, index=index, raw=source, client=client)
        if bad.any():
            kind = "unparsable_date" if col.kind in (contract.TIMESTAMP, contract.DATE) else "wrong_type"
            flag(bad, kind)
            _add(ctx, kind, bad, *_type_words(col, opts, source[bad]))
        null = values.isna().to_numpy(dtype=bool) & ~bad
        if not col.nullable and null.any():
            flag(null, "null_value")
            _add(ctx, "null_value", null, "are empty",
                 "a value in every row (this column may not be empty)")
        if col.allowed:
            ok, values, note = _vocabulary(values, col.allowed)
            columns[col.name] = values
            if note:
                load.notes.append(f"{name}.{col.name} ('{client}'): {note}")
            outside = ~ok & values.notna().to_numpy(dtype=bool)
            if outside.any():
                flag(outside, "not_allowed")
                _add(ctx, "not_allowed", outside,
                     "have a value outside the allowed list",
                     "one of: " + ", ".join(col.allowed)
                     + (f" (map the client's values in sources.{name}.values.{col.name})"
                        if load.table == name else ""))
        if col.min_value is not None:
            negative = (values < col.min_value).fillna(False).to_numpy(dtype=bool)
            if negative.any():
                flag(negative, "negative")
                _add(ctx, "negative", negative,
                     "have a negative value" if col.min_value == 0 else f"have a value below {col.min_value:g}",
                     f"a value of at least {col.min_value:g}")

    df = pd.DataFrame(columns, index=index)

    # --- duplicate keys among the rows that passed so far: keep the first, reject later ones
    if spec.key:
        alive = reason < 0
        dup = np.zeros(n, dtype=bool)
        keyed = df.loc[alive, list(spec.key)]
        dup[alive] = keyed.duplicated(keep="first").to_numpy(dtype=bool)
        if dup.any():
            clients = [chosen[k] or k for k in spec.key]
            if len(spec.key) == 1:
                raw_key = df[spec.key[0]].astype("string") if chosen[spec.key[0]] not in raw else raw[chosen[spec.key[0]]]
            else:
                raw_key = df[spec.key[0]].astype("string").fillna("")
                for c in spec.key[1:]:
                    raw_key = raw_key + " | " + df[c].astype("string").fillna("")
            key_words = " + ".join(spec.key)
            ctx = dict(load=load, column=", ".join(spec.key), index=index, raw=raw_key,
                       client=", ".join(clients))
            flag(dup, "duplicate_key")
            _add(ctx, "duplicate_key", dup,
                 f"repeat a {key_words} already used by an earlier row (the first is kept, the later ones rejected)",
                 f"each {key_words} to appear once")

    used = reason < 0
    for code, kind in enumerate(kinds):
        count = int((reason == code).sum())
        if count:
            load.rejected[kind] = count
    # per-row outcome, kept (not stored) for the per-file accounting after the reference checks
    load._status = pd.Series(np.where(used, "", np.array(kinds + [""], dtype=object)[reason]), index=index)
    load._read = raw_read
    df = df[used]
    load.rows_used = len(df)
    load.date_min, load.date_max = _date_range(df, spec)
    return df, load


def _map_values(s: pd.Series, mapping: dict[str, str | None]) -> tuple[pd.Series, str | None]:
    """Replace the client's values by the contract's (exact match after trimming); others pass unchanged."""
    text = _as_text(s)
    hit = text.isin(list(mapping)).fillna(False)
    if not hit.any():
        return text, f"none of the values in values: {_list(list(mapping), 6)} occur"
    out = text.copy()
    out[hit] = text[hit].map(mapping)
    counts = text[hit].value_counts()
    shown = ", ".join(f"'{k}' -> {('empty' if mapping[k] is None else repr(mapping[k]))} ({int(counts[k]):,})"
                      for k in counts.index[:8])
    return out.astype("string"), "values mapped: " + shown + (f" and {len(counts) - 8} more" if len(counts) > 8 else "")


_EXPR_NAME = re.compile(r"`([^`]+)`|([A-Za-z_][\w.]*)")


def _expr_columns(expr: str) -> list[str]:
    return list(dict.fromkeys(m.group(1) or m.group(2) for m in _EXPR_NAME.finditer(expr)))


def _derive(expr: str, raw: pd.DataFrame, find, opts) -> tuple[pd.Series, np.ndarray, pd.Series, str | None]:
    """Evaluate arithmetic over client columns: (values, rows with an input that is not a number, the values of
    those inputs for examples, a note)."""
    import ast

    names: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        col = m.group(1) or m.group(2)
        var = f"_c{len(names)}"
        names.setdefault(col, var)
        return names[col]

    code = _EXPR_NAME.sub(sub, expr)
    tree = ast.parse(code, mode="eval")
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Constant, ast.Add, ast.Sub,
               ast.Mult, ast.Div, ast.USub, ast.UAdd)
    for node in ast.walk(tree):
        if not isinstance(node, allowed) or (isinstance(node, ast.Constant)
                                             and not isinstance(node.value, (int, float))):
            raise ParamsError(f"derived column {expr!r}: only column names, numbers, + - * / and brackets")
    env: dict[str, pd.Series] = {}
    bad = np.zeros(len(raw), dtype=bool)
    shown = pd.Series([""] * len(raw), index=raw.index, dtype="string")
    notes = []
    for col, var in names.items():
        values, b, note = _coerce(raw[find(col)], contract.FLOAT, opts)
        if note:
            notes.append(f"'{col}': {note}")
        env[var] = values
        shown = shown.mask(b & ~bad, raw[find(col)].astype("string"))
        bad |= b
    result = eval(compile(tree, "<derived>", "eval"), {"__builtins__": {}}, env)  # noqa: S307 - checked above
    if not isinstance(result, pd.Series):
        result = pd.Series(float(result), index=raw.index)
    return result.astype("float64"), bad, shown, "; ".join(notes) or None


def _add(ctx: dict, kind: str, mask: np.ndarray, what: str, expected: str) -> None:
    """Record a row problem for the rows in `mask`."""
    load = ctx["load"]
    load.problems.append(_row_problem(load, ctx["column"], kind, mask, ctx["index"], ctx["raw"],
                                      what=what, expected=expected, client=ctx["client"]))


def _row_problem(load: TableLoad, column: str, kind: str, mask: np.ndarray, index: pd.Index, raw: pd.Series,
                 *, what: str, expected: str, client: str | None = None) -> Problem:
    """A problem for the rows in `mask`; `index` holds their 0-based data row numbers, `raw` their values."""
    where = np.flatnonzero(mask)[:MAX_EXAMPLES]
    rows = [int(i) + 1 for i in index[where]]
    files: list[str] = []
    if len(load.parts) > 1:
        starts = np.array([start for _, start in load.parts])
        codes = np.searchsorted(starts, np.array(rows) - 1, side="right") - 1
        files = [load.parts[c][0] for c in codes]
        rows = [r - int(starts[c]) for r, c in zip(rows, codes)]
    values = [_show_value(v) for v in raw.iloc[where]]
    if client is None:
        client = load.mapping.get(column) or column
    problem = Problem(table=load.table, file=load.file, column=column, kind=kind, message="",
                      count=int(mask.sum()), examples=rows, example_values=values, fatal=False,
                      client_column=client, what=what, expected=expected, line_offset=load.line_offset,
                      example_files=files)
    problem.message = _row_message(problem)
    return problem


def _row_message(p: Problem) -> str:
    plural = p.count != 1
    if p.example_files:
        rows = ", ".join(f"{r} of {Path(f).name}" for r, f in zip(p.examples, p.example_files))
    else:
        rows = ", ".join(str(r) for r in p.examples)
    where = f"e.g. row{'s' if len(p.examples) > 1 else ''} {rows}"
    extra = []
    if p.example_values and any(v != "" for v in p.example_values):
        extra.append("value" + ("s " if len(p.example_values) > 1 else " ")
                     + ", ".join(f"'{v}'" for v in p.example_values))
    if p.line_offset is not None and p.examples:
        extra.append("file line" + ("s " if len(p.examples) > 1 else " ")
                     + ", ".join(str(r + p.line_offset) for r in p.examples))
    if extra:
        where += f" ({'; '.join(extra)})"
    what = p.what if plural else _singular(p.what)
    if p.column and "," in p.column:   # a key of several columns
        clients = ", ".join(f"'{c.strip()}'" for c in (p.client_column or p.column).split(","))
        head = f"columns {clients} (contract {p.table} key {' + '.join(c.strip() for c in p.column.split(','))})"
    else:
        head = f"column '{p.client_column}' (contract {p.table}.{p.column})"
    return f"{head}: {p.count:,} row{'s' if plural else ''} {what}, {where}; expected {p.expected}"


def _singular(what: str) -> str:
    for plural, single in (("have ", "has "), ("are ", "is "), ("repeat ", "repeats "), ("point ", "points ")):
        if what.startswith(plural):
            return single + what[len(plural):]
    return what


def _type_words(col: contract.Column, opts, bad_values: pd.Series) -> tuple[str, str]:
    """(what is wrong, what was expected) for values that could not be converted to the column's kind."""
    if col.kind in (contract.TIMESTAMP, contract.DATE):
        if opts.date_format:
            expected = f"dates in the layout '{opts.date_format}' (read.date_format)"
        else:
            expected = ("dates like 2025-03-31 or 2025-03-31 14:05:00 (ISO 8601) or 31.03.2025; "
                        "for another layout set read.date_format, e.g. '%d/%m/%Y %H:%M'")
        return "have a date that cannot be read", expected
    if col.kind == contract.BOOL:
        return ("have a value that is not yes/no",
                "true/false, yes/no, y/n, 1/0 or ja/nein (any case)")
    number = "a whole number" if col.kind == contract.INT else "a number"
    layout = f"decimal mark '{opts.decimal or '.'}'" + (f", thousands separator '{opts.thousands}'" if opts.thousands
                                                  else ", no thousands separator")
    expected = f"{number} ({layout}; set read.decimal / read.thousands for another layout)"
    sample = bad_values.dropna().astype(str).head(200)
    if (opts.decimal or ".") == "." and len(sample) and sample.str.fullmatch(r"\s*-?\d+,\d+\s*").mean() > 0.5:
        expected += "; these look like decimal commas: set read.decimal: ','"
    what = "have a value that is not a whole number" if col.kind == contract.INT else "have a value that is not a number"
    return what, expected


# --------------------------------------------------------------------------------------------
# Reading files


class _Unreadable(Exception):
    """The file cannot be read at all; the message says why and what to try."""


def _read_text(path: Path, fmt: str, opts, notes: list[str]) -> pd.DataFrame:
    """Read a delimited text file as strings; encoding and delimiter are detected when not given (and noted)."""
    given = opts.encoding
    if given is None:
        candidates = ["utf-8-sig", "cp1252", "latin-1"]
    else:
        candidates = ["utf-8-sig" if given.lower().replace("_", "-") in ("utf-8", "utf8") else given]
    delimiter = opts.delimiter
    if delimiter is None:
        if fmt == "tsv":
            delimiter = "\t"
        else:
            delimiter = _sniff_delimiter(path, candidates[0], opts.skip_rows)
            if delimiter != ",":
                notes.append(f"{_display(path)}: delimiter {_name_delimiter(delimiter)} detected "
                             "(set read.delimiter to override)")
    sep = r"\s+" if delimiter in ("whitespace", r"\s+") else ("\t" if delimiter in ("tab", "\\t") else delimiter)
    last_error: UnicodeDecodeError | None = None
    for encoding in candidates:
        try:
            df = pd.read_csv(
                path, sep=sep, dtype="string", keep_default_na=False, na_values=[],
                skip_blank_lines=sep == r"\s+", skiprows=opts.skip_rows, encoding=encoding, encoding_errors="strict",
                index_col=False, compression="infer", engine="c",
                header=0 if opts.header else None, names=opts.names if opts.names else None,
            )
        except UnicodeDecodeError as err:
            last_error = err
            continue
        except LookupError:
            raise _Unreadable(f"unknown encoding {given!r} in read.encoding; "
                              "try 'utf-8', 'cp1252' or 'latin-1'") from None
        except pd.errors.EmptyDataError:
            raise _Unreadable("the file is empty: expected a header row with the column names") from None
        except pd.errors.ParserError as err:
            detail = str(err).removeprefix("Error tokenizing data. C error: ").strip()
            raise _Unreadable(f"cannot be split into columns with the delimiter {_name_delimiter(delimiter)}: "
                              f"{detail}; check read.delimiter and that text containing the delimiter is quoted") from None
        except (OSError, ValueError) as err:
            raise _Unreadable(f"cannot be read: {err}") from None
        if given is None and encoding != "utf-8-sig":
            notes.append(f"{_display(path)}: not UTF-8 ({last_error.reason} at byte {last_error.start}); "
                         f"read as {encoding} (set read.encoding to override)")
        return df
    err = last_error
    raise _Unreadable(f"cannot be read as {given or 'utf-8'} text ({err.reason} at byte {err.start}); "
                      "set read.encoding, e.g. 'cp1252' or 'latin-1' for files saved by Excel on Windows") from None


def _sniff_delimiter(path: Path, encoding: str, skip_rows: int) -> str:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding=encoding, errors="replace", newline="") as fh:
            sample = fh.read(65536)
    except OSError:
        return ","
    lines = sample.splitlines()[skip_rows:]
    if len(sample) == 65536 and len(lines) > 1:
        lines = lines[:-1]          # the last line may be cut
    sample = "\n".join(lines[:200])
    if not sample.strip():
        return ","
    try:
        found = csv.Sniffer().sniff(sample, delimiters=_SNIFF_DELIMITERS).delimiter
    except csv.Error:
        found = None
    header = lines[0] if lines else ""
    if found is None or header.count(found) == 0:
        counts = {d: header.count(d) for d in _SNIFF_DELIMITERS}
        best = max(counts, key=counts.get)
        found = best if counts[best] else ("whitespace" if len(header.split()) > 1 else ",")
    return found


def _name_delimiter(d: str) -> str:
    return {"\t": "tab", ",": "','", ";": "';'", "|": "'|'", "whitespace": "whitespace"}.get(d, repr(d))


def _arrow_type_mapper(t: pa.DataType):
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype("pyarrow")
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    return None


def _parquet_header(path: Path) -> tuple[list[str], int]:
    try:
        meta = pq.ParquetFile(path)
        return list(meta.schema_arrow.names), meta.metadata.num_rows
    except (pa.ArrowException, OSError, ValueError) as err:
        raise _Unreadable(f"cannot be read as Parquet: {err}") from None


def _read_parquet(path: Path, columns: list[str]) -> pd.DataFrame:
    try:
        table = pq.read_table(path, columns=columns)
        return table.to_pandas(types_mapper=_arrow_type_mapper, ignore_metadata=True)
    except (pa.ArrowException, OSError, ValueError) as err:
        raise _Unreadable(f"cannot be read as Parquet: {err}") from None


def _read_excel(path: Path, opts) -> list[tuple[str | None, pd.DataFrame]]:
    """[(sheet name or None, frame of strings)]: one sheet (read.sheet, default the first) or every sheet ('*')."""
    every = opts.sheet == "*"
    try:
        read = pd.read_excel(path, sheet_name=None if every else (opts.sheet if opts.sheet is not None else 0),
                             dtype=object, keep_default_na=False, na_values=[], skiprows=opts.skip_rows,
                             header=0 if opts.header else None, names=opts.names)
    except ImportError as err:
        m = re.search(r"'([A-Za-z0-9_\-]+)'", str(err))
        package = m.group(1) if m else "openpyxl"
        raise _Unreadable(f"reading Excel files needs the {package} package, which is not installed: "
                          f"`pip install {package}`, or save the sheet as CSV and point sources at that") from None
    except Exception as err:  # noqa: BLE001 - the Excel readers raise many kinds of errors
        raise _Unreadable(f"cannot be read as an Excel workbook: {err}") from None
    # Cells keep their Excel types until here; as text, dates read as ISO ("2025-01-03 00:00:00").
    if every:
        return [(str(name), df.astype("string")) for name, df in read.items()]
    return [(None, read.astype("string"))]


def _blank_rows(raw: pd.DataFrame) -> np.ndarray:
    """Rows in which every column is empty or whitespace."""
    if raw.shape[1] == 0:
        return np.zeros(len(raw), dtype=bool)
    first = raw.iloc[:, 0]
    blank = _is_empty(first)
    if not blank.any():
        return blank
    rows = np.flatnonzero(blank)
    sub = raw.iloc[rows]
    keep = np.ones(len(rows), dtype=bool)
    for c in range(1, raw.shape[1]):
        keep &= _is_empty(sub.iloc[:, c])
    blank[:] = False
    blank[rows[keep]] = True
    return blank


def _is_empty(s: pd.Series) -> np.ndarray:
    if isinstance(s.dtype, pd.StringDtype) or s.dtype == object:
        return (s.isna() | (s.astype("string").str.strip() == "")).fillna(True).to_numpy(dtype=bool)
    return s.isna().to_numpy(dtype=bool)


# --------------------------------------------------------------------------------------------
# Coercion to contract types


def _empty(dtype: str, index: pd.Index) -> pd.Series:
    if dtype.startswith("datetime64"):
        return pd.Series(pd.NaT, index=index, dtype=dtype)
    if dtype == "float64":
        return pd.Series(np.nan, index=index, dtype=dtype)
    return pd.Series(pd.NA, index=index, dtype=dtype)


def _is_text(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.StringDtype) or s.dtype == object


def _as_text(s: pd.Series) -> pd.Series:
    """Stripped strings with empty values as <NA>."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    s = s.astype("string").str.strip()
    return s.mask(s == "")


def _coerce(s: pd.Series, kind: str, opts, typed: bool = False, tz: str | None = None
            ) -> tuple[pd.Series, np.ndarray, str | None]:
    """(values in the contract dtype, mask of present values that could not be converted, a note).

    typed: the values come from a typed file (Parquet); strings there are taken as they are (no
    stripping, only "" counts as empty), which saves a pass over every string column.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(s.cat.categories.dtype if len(s.cat.categories) else object)
    no_bad = np.zeros(len(s), dtype=bool)
    if kind == contract.STRING:
        if pd.api.types.is_float_dtype(s.dtype) and np.all(np.mod(s.dropna(), 1) == 0):
            s = s.astype("Int64")  # ids stored as floats: 123.0 -> "123"
        if typed and isinstance(s.dtype, pd.StringDtype):
            s = s.astype("string")
            return s.mask(s == ""), no_bad, None
        return _as_text(s), no_bad, None

    if kind in (contract.TIMESTAMP, contract.DATE):
        offset = None   # rows whose text carried a UTC offset (converted into `tz`)
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            values, bad, note = s, no_bad, None
        elif _is_text(s):
            text = _as_text(s)
            values, note = _parse_dates(text, opts.date_format)
            bad = (text.notna() & values.isna()).to_numpy(dtype=bool)
            if tz:
                offset = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).fillna(False).to_numpy(dtype=bool)
        else:
            if opts.date_format == "excel" or (pd.api.types.is_numeric_dtype(s.dtype) and _looks_serial(s)):
                values = _excel_serial(s.astype("float64"))
            else:
                values = pd.to_datetime(s, errors="coerce", utc=True)
            bad, note = (s.notna() & values.isna()).to_numpy(dtype=bool), None
        if getattr(values.dtype, "tz", None) is not None:
            if tz:
                local = values.dt.tz_convert(tz).dt.tz_localize(None)
                if offset is None:   # typed values with a zone (Parquet): all converted
                    values = local
                else:                # text: only values written with an offset are converted
                    values = values.dt.tz_localize(None).where(~offset, local)
            else:
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        values = values.astype("datetime64[us]")
        if kind == contract.DATE:
            values = values.dt.normalize()
        return values, bad, note

    if kind in (contract.FLOAT, contract.INT):
        if pd.api.types.is_bool_dtype(s.dtype) or not (pd.api.types.is_numeric_dtype(s.dtype) or _is_text(s)):
            s = s.astype("string")
        if _is_text(s):
            text = _as_text(s)
            decimal, thousands, note = opts.decimal or ".", opts.thousands, None
            if opts.decimal is None and _german_numbers(text):
                decimal, thousands = ",", (opts.thousands or ".")
                note = ("numbers written with a decimal comma (1.234,56) detected and read so "
                        "(set read.decimal / read.thousands to override)")
            if thousands:
                text = text.str.replace(thousands, "", regex=False)
            if decimal != ".":
                text = text.str.replace(decimal, ".", regex=False)
            numbers = pd.to_numeric(text.astype(object), errors="coerce").astype("float64")
            present = text.notna().to_numpy(dtype=bool)
            nan_word = text.str.lower().isin(["nan", "null", "none", "na", "n/a"]).fillna(False).to_numpy(dtype=bool)
            numbers = numbers.mask(nan_word)
            bad = present & ~nan_word & (np.isnan(numbers.to_numpy()) | np.isinf(numbers.to_numpy()))
            numbers = numbers.mask(np.isinf(numbers.to_numpy()))
        else:
            numbers, bad, note = s.astype("float64"), no_bad.copy(), None
        if kind == contract.FLOAT:
            return numbers, bad, note
        arr = numbers.to_numpy()
        fraction = ~np.isnan(arr) & (np.mod(arr, 1) != 0)
        bad = bad | fraction
        return numbers.mask(fraction).astype("Int64"), bad, note

    if kind == contract.BOOL:
        if pd.api.types.is_bool_dtype(s.dtype):
            return s.astype("boolean"), no_bad, None
        text = _as_text(s).str.lower()
        codes, uniques = pd.factorize(text, use_na_sentinel=True)
        lut = np.array([_BOOLS.get(u) for u in uniques] + [None], dtype=object)
        unknown = np.array([u not in _BOOLS for u in uniques] + [False], dtype=bool)
        values = pd.Series(pd.array(lut[codes], dtype="boolean"), index=s.index)
        return values, unknown[codes], None

    raise ValueError(f"unknown column kind {kind!r}")


def _parse_dates(text: pd.Series, date_format: str | None) -> tuple[pd.Series, str | None]:
    """Parse stripped date strings; unparsable ones become NaT. Aware values are returned in UTC."""
    if date_format == "excel":
        return _excel_serial(pd.to_numeric(text.astype(object), errors="coerce")), None
    if date_format:
        return pd.to_datetime(text, format=date_format, errors="coerce", utc=True), None
    values = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True).astype(_UTC)
    failed = text.notna() & values.isna()
    if not failed.any():
        return values, None
    if _looks_serial(text[failed]):
        serial = _excel_serial(pd.to_numeric(text.astype(object), errors="coerce"))
        values = values.where(~failed, serial)
        n = int((failed & serial.notna()).sum())
        return values, (f"no read.date_format given; {n:,} date(s) written as Excel serial day numbers "
                        "(e.g. 45292 = 2024-01-01) read so (set read.date_format to override)")
    notes: list[str] = []
    chosen: list[str] = []
    for _ in range(3):   # a file may mix a couple of layouts (but never both day orders)
        rest = text[failed]
        sample = pd.Series(rest.unique()[:1000], dtype="string")
        candidates = [f for f in _DATE_FORMATS if _swap_day_month(f) not in chosen or _swap_day_month(f) == f]
        scores = {fmt: int(pd.to_datetime(sample, format=fmt, errors="coerce").notna().sum()) for fmt in candidates}
        best = max(scores, key=scores.get)
        if scores[best] == 0:
            break
        chosen.append(best)
        parsed = pd.to_datetime(rest, format=best, errors="coerce", utc=True).astype(_UTC)
        values = values.where(~failed, parsed)
        count = int(parsed.notna().sum())
        ambiguous = [f for f, n in scores.items() if n == scores[best] and f != best and _swap_day_month(f) == best]
        notes.append(f"{count:,} {'date' if count == 1 else 'dates'} read as '{best}'"
                     + (" (day and month could be either way round; day first was assumed)" if ambiguous else ""))
        failed = text.notna() & values.isna()
        if not failed.any():
            break
    if failed.any():
        # Month names ("5 March 2025", "Mar 5, 2025"): let dateutil try the ones with letters.
        wordy = (failed & text.str.contains(r"[A-Za-z]{3}", regex=True).fillna(False)
                 & text.str.contains(r"\d", regex=True).fillna(False))
        if wordy.any():
            parsed = pd.to_datetime(text[wordy], format="mixed", errors="coerce", utc=True).astype(_UTC)
            values = values.where(~wordy, parsed)
            if parsed.notna().any():
                notes.append(f"{int(parsed.notna().sum()):,} date(s) with month names read as written")
    note = ("no read.date_format given; " + "; ".join(notes)
            + " (set read.date_format if that is wrong)") if notes else None
    return values, note


_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_GERMAN = re.compile(r"^[-+]?\d{1,3}(?:\.\d{3})*,\d+$|^[-+]?\d+,\d+$|^[-+]?\d{1,3}(?:\.\d{3})+$")
_ENGLISH = re.compile(r"^[-+]?\d*\.(?:\d{1,2}|\d{4,})$|^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


def _looks_serial(values: pd.Series) -> bool:
    """Excel serial day numbers (1954-10-03 ... 2119-01-06): every present value a 5-digit day count."""
    sample = values.dropna().head(2000)
    if not len(sample):
        return False
    if pd.api.types.is_numeric_dtype(sample.dtype):
        return bool(((sample >= 20000) & (sample < 80000)).all())
    text = sample.astype(str).str.strip()
    return bool(text.str.match(_SERIAL).all())


def _excel_serial(days: pd.Series) -> pd.Series:
    """Excel's serial dates (days since 1899-12-30, fraction = time of day), as UTC timestamps."""
    days = days.astype("float64").where(lambda d: (d >= 1) & (d < 2958466))
    out = pd.Timestamp("1899-12-30") + pd.to_timedelta((days * 86400).round(), unit="s")
    return pd.Series(out, index=days.index).dt.tz_localize("UTC").astype(_UTC)


def _german_numbers(text: pd.Series) -> bool:
    """True when the column's numbers are written German-style (1.234,56) and none English-style (1,234.56)."""
    sample = text.dropna()
    sample = sample[sample.str.contains(r"[.,]", regex=True)].unique()[:5000]
    if not len(sample):
        return False
    sample = pd.Series(sample, dtype="string")
    german = sample.str.match(_GERMAN).fillna(False)
    english = sample.str.match(_ENGLISH).fillna(False)
    return bool(german.any() and not english.any() and sample.str.contains(",").any())


def _swap_day_month(fmt: str) -> str:
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def _vocabulary(values: pd.Series, allowed: tuple[str, ...]) -> tuple[np.ndarray, pd.Series, str | None]:
    """(mask of allowed-or-empty values, values with case/spacing variants mapped onto the vocabulary, note)."""
    ok = _isin(values, pd.Series(list(allowed), dtype="string")) | values.isna().to_numpy(dtype=bool)
    if ok.all():
        return ok, values, None
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    allowed_set = set(allowed)
    loose = {_loose(a): a for a in allowed}
    mapped, changes = [], []
    for u in uniques:
        if u in allowed_set:
            mapped.append(u)
        elif _loose(u) in loose:
            mapped.append(loose[_loose(u)])
            changes.append(f"'{u}' -> '{loose[_loose(u)]}'")
        else:
            mapped.append(u)
    ok_lut = np.array([m in allowed_set for m in mapped] + [True], dtype=bool)
    note = None
    if changes:
        out = np.array(mapped + [None], dtype=object)[codes]
        values = pd.Series(pd.array(out, dtype="string"), index=values.index)
        note = "values matched to the contract's spelling: " + ", ".join(changes[:8]) + (
            f" and {len(changes) - 8} more" if len(changes) > 8 else "")
    return ok_lut[codes], values, note


def _isin(values: pd.Series, known: pd.Series) -> np.ndarray:
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


def _loose(value: str) -> str:
    return re.sub(r"[\s\-/]+", "_", str(value).strip().lower())


def _date_range(df: pd.DataFrame, spec: contract.Table) -> tuple[str | None, str | None]:
    col = spec.time_column
    if not col or col not in df or not len(df):
        return None, None
    lo, hi = df[col].min(), df[col].max()
    if pd.isna(lo):
        return None, None
    if spec.column(col).kind == contract.DATE:
        return lo.date().isoformat(), hi.date().isoformat()
    return lo.isoformat(), hi.isoformat()


# --------------------------------------------------------------------------------------------
# Messages for whole files


def _missing_file_message(params, name: str, path: Path) -> str:
    src = params.sources[name]
    message = (f"file not found (the {name} {'source' if src.preset else 'table'}; sources.{name}."
               f"{'file' if src.file else 'files'} is '{src.file or src.files}', "
               f"looked in {_display(path.parent)})")
    if path.parent.is_dir():
        present = sorted(p.name for p in path.parent.iterdir() if p.is_file() and not p.name.startswith("."))
        close = difflib.get_close_matches(path.name, present, n=3, cutoff=0.5)
        if close:
            message += "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
        elif present:
            message += "; that folder holds: " + _list(present)
    else:
        message += f"; the folder {_display(path.parent)} does not exist: check data_dir"
    return message


def _missing_column_message(table: str, column: str, client: str, src, header: list[str], fmt: str) -> str:
    mapped = column in src.columns
    head = (f"column '{client}' (contract {table}.{column}) is missing"
            + ("" if mapped else f": sources.{table}.columns does not map {column}, so a column named '{column}' "
               "was looked for"))
    listed = _list([f"'{h}'" for h in header])
    message = f"{head}; the file's columns are: {listed}"
    # A column the mapping already gives to another contract column is no candidate: suggesting the
    # order number as the order date only sends the consultant round in circles.
    taken = {their for ours, their in src.columns.items() if ours != column}
    free = [h for h in header if h not in taken]
    candidates = {h: h for h in free}
    norm = {_loose(h): h for h in free}
    close = difflib.get_close_matches(client, list(candidates), n=1, cutoff=0.6)
    if not close:
        close = [norm[m] for m in difflib.get_close_matches(_loose(client), list(norm), n=1, cutoff=0.6)]
    if not close:  # "Datum" inside "Bestelldatum": one name contains the other
        close = [h for h in free if len(h) >= 3 and (_loose(h) in _loose(client) or _loose(client) in _loose(h))][:1]
    if not close and client != column:
        close = difflib.get_close_matches(column, list(candidates), n=1, cutoff=0.6)
    if close:
        message += f"; did you mean '{close[0]}'? (sources.{table}.columns: {{{column}: '{close[0]}'}})"
    else:
        message += f"; map it in sources.{table}.columns ({column}: <the client's column name>)"
    if fmt in ("csv", "tsv") and len(header) == 1 and any(d in header[0] for d in ";,\t|"):
        message += "; the header was read as a single column: is read.delimiter right?"
    return message


def _list(items: list[str], limit: int = 30) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _show_value(v: Any) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    text = str(v)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…"


def _mask(value: str) -> str:
    if not value:
        return value
    if "@" in value:
        user, _, domain = value.partition("@")
        return (user[:1] + "***@" + domain) if domain else "***"
    keep = 2 if len(value) >= 6 else 0
    return value[:keep] + "*" * (len(value) - keep)


def _pct(share: float) -> str:
    return f"{share:.1%}" if share >= 0.001 else f"{share:.2%}"


def _display(path: Path) -> str:
    """A path as shown to the consultant: relative to the project root when inside it."""
    try:
        return str(Path(path).resolve().relative_to(paths.ROOT))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------------
# Hashing and the cache


def _sha256(path: Path) -> str:
    """The file's sha256, remembered per (path, size, mtime) so unchanged big files are not hashed twice."""
    path = Path(path)
    stat = path.stat()
    memo_key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"
    memo = _HASHES
    if memo_key in memo:
        return memo[memo_key]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    memo[memo_key] = digest.hexdigest()
    return memo[memo_key]


_HASHES: dict[str, str] = {}   # per process: validate and run in one process hash each file once


def _cache_key(params, hashes: dict[str, str]) -> str:
    spec = {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "contract": repr(sorted((t.name, t.columns, t.key) for t in contract.TABLES.values())),
        "sources": {name: {"source": src.model_dump(mode="json"),
                           "files": [[str(p), hashes.get(str(p))] for p in params.input_files(name)]}
                    for name, src in sorted(params.sources.items())},
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _read_cached(folder: Path) -> Prepared | None:
    accounting = folder / "accounting.json"
    if not accounting.is_file():
        return None
    try:
        data = json.loads(accounting.read_text(encoding="utf-8"))
        prepared = Prepared.from_dict(data, folder)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all((folder / f"{name}.parquet").is_file() for name in prepared.usable):
        return None
    return prepared
