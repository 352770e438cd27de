"""Contract validation of one table: map, coerce and check its rows; then the references between tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import contract
from ..errors import ParamsError
from . import doubles
from .coerce import coerce, empty_series, isin, vocabulary
from .mapping import ColumnMap, derive, map_columns, tally_values, value_note
from .messages import article, blame, row_message, show_value, type_words
from .model import MAX_EXAMPLES, PERSONAL, Problem, TableLoad
from .read import RawRead
from .shaping import shape
from .staged import ROW, Staged, arrow_dtypes


@dataclass
class RowVerdicts:
    """Each row's first reason to be rejected: -1 while it passes, else its position in `kinds`."""

    load: TableLoad
    index: pd.Index
    reason: np.ndarray
    kinds: list[str] = field(default_factory=list)
    cause: np.ndarray | None = None  # per row: the position in load.problems of its first reason (-1: none)
    shaped: np.ndarray | None = None  # rows sources.shaping rejected (bad JSON, no items): not "empty" as well

    @property
    def passed(self) -> np.ndarray:
        return self.reason < 0

    def reject(
        self, mask: np.ndarray, kind: str, what: str, expected: str, *, column: str, raw: pd.Series, client: str
    ) -> None:
        """Reject the rows in `mask` under `kind` (rows an earlier reason has keep it) and record the problem."""
        if kind not in self.kinds:
            self.kinds.append(kind)
        if self.cause is None:
            self.cause = np.full(len(self.index), -1, dtype=np.int32)
        self.cause[mask & self.passed] = len(self.load.problems)
        self.reason[mask & self.passed] = self.kinds.index(kind)
        self.load.problems.append(
            row_problem(self.load, column, kind, mask, self.index, raw, what=what, expected=expected, client=client)
        )

    def exclude(self, mask: np.ndarray, kind: str, column: str, values: pd.Series) -> None:
        """Set the rows in `mask` aside under `kind`, a rule (not bad data): counted in load.excluded, with examples."""
        mask = mask & self.passed
        if not mask.any():
            return
        if kind not in self.kinds:
            self.kinds.append(kind)
        self.reason[mask] = self.kinds.index(kind)
        where = np.flatnonzero(mask)[:MAX_EXAMPLES]
        self.load.exclusions.append(
            {
                "reason": kind,
                "rows": int(mask.sum()),
                "column": column,
                "description": doubles.DESCRIPTIONS[kind],
                "examples": [int(i) + 1 for i in self.index[where]],
                "values": [show_value(v) for v in values.iloc[where]],
            }
        )

    def status(self) -> pd.Series:
        """Per row: "" when it passed, else its reason."""
        reasons = np.array(self.kinds + [""], dtype=object)[self.reason]
        return pd.Series(np.where(self.passed, "", reasons), index=self.index)


def validate_frame(name: str, raw_read: RawRead, src, load: TableLoad) -> tuple[pd.DataFrame | None, TableLoad]:
    """Map, coerce and check the rows of one table already read (see prepare.load_table).

    Returns the rows that passed, in the contract's columns and dtypes (None when a column is missing),
    and the accounting; each rejected row is counted under its first reason.
    """
    checked = row_checks(name, raw_read, src, load)
    if checked is None:
        return None, load
    df, verdicts, raw_read = checked
    spec = contract.table(name)
    _exclude_doubles(name, df, verdicts)
    if spec.key:
        _reject_repeated_keys(spec, df, raw_read.frame, load.mapping, verdicts)
    return _passed_rows(df, spec, raw_read, verdicts), load


def row_checks(name: str, raw_read: RawRead, src, load: TableLoad) -> tuple[pd.DataFrame, RowVerdicts, RawRead] | None:
    """The checks each row passes or fails on its own (mapping, types, empty values, vocabularies, minimums, date
    ranges): (the contract columns, the verdicts, the rows as shaped), or None when a column is missing. The checks
    that compare rows (doubles, repeated keys, references) come after, over all rows (sources.stream reads a
    large table in batches through these)."""
    spec = contract.table(name)
    shaped = shape(name, raw_read, src, load)  # alternatives per file, JSON paths, ids, items (sources.shaping)
    raw_read, src = shaped.raw, shaped.src
    load._lines = raw_read.row_lines
    found = map_columns(name, src, raw_read.header, load.file, raw_read.fmt)
    load.mapping = found.chosen
    if shaped.missing or found.missing:
        load.problems.extend(shaped.missing or found.missing)
        return None
    index = raw_read.frame.index
    verdicts = RowVerdicts(load=load, index=index, reason=np.full(len(index), -1, dtype=np.int16))
    for rejection in shaped.rejections:
        verdicts.reject(rejection.pop("mask"), **rejection)
    verdicts.shaped = ~verdicts.passed
    columns = {col.name: _column(name, col, raw_read, src, found, verdicts) for col in spec.columns}
    return pd.DataFrame(columns, index=index), verdicts, raw_read


def _column(
    name: str, col: contract.Column, raw_read: RawRead, src, found: ColumnMap, verdicts: RowVerdicts
) -> pd.Series:
    """One contract column: the client's values mapped, coerced and checked; bad rows rejected."""
    client = found.chosen[col.name]
    if client is None:  # optional column the client does not have: all empty
        return empty_series(contract.PANDAS_DTYPES[col.kind], verdicts.index)
    where = f"{name}.{col.name} ('{client}')"
    note = partial(_note, verdicts.load, where)
    before = verdicts.reason.copy()
    source = _source_values(name, col, raw_read.frame, src, found, verdicts)
    derived_bad = verdicts.reason != before  # rows a derived column's inputs rejected: not "empty" as well
    if col.name in src.values:
        source, tally = tally_values(source, src.values[col.name])
        text = value_note(src.values[col.name], tally)
        note(text)
        verdicts.load.value_tallies[f"{where}: {text}"] = (src.values[col.name], tally)  # read in batches: added up
    values, bad, text = coerce(source, col.kind, src.read, typed=not raw_read.text, tz=src.timezone)
    note(text)
    reject = partial(verdicts.reject, column=col.name, raw=source, client=client)
    if bad.any():
        kind = "unparsable_date" if col.kind in (contract.TIMESTAMP, contract.DATE) else "wrong_type"
        reject(bad, kind, *type_words(col, src.read, source[bad]))
    null = values.isna().to_numpy(dtype=bool) & ~bad & ~derived_bad & ~verdicts.shaped
    if not col.nullable and null.any():
        reject(null, "null_value", "are empty", "a value in every row (this column may not be empty)")
    if col.allowed:
        values = _check_vocabulary(name, col, values, reject, note)
    if col.min_value is not None:
        _check_minimum(col, values, reject)
    if col.kind in (contract.TIMESTAMP, contract.DATE):
        _check_date_range(values, bad, reject)
    return values


def _note(load: TableLoad, where: str, text: str | None) -> None:
    if text:
        load.notes.append(f"{where}: {text}")


def _source_values(
    name: str, col: contract.Column, raw: pd.DataFrame, src, found: ColumnMap, verdicts: RowVerdicts
) -> pd.Series:
    """The client's values for a contract column: its column, a constant, or a derived expression."""
    if col.name in src.constants:
        value = src.constants[col.name]
        return pd.Series([None if value is None else str(value)] * len(raw), index=raw.index, dtype="string")
    if col.name not in src.derived:
        return raw[found.chosen[col.name]]
    expr = src.derived[col.name]
    try:
        values, bad_inputs, shown_inputs, note = derive(expr, raw, found.find, src.read)
    except ParamsError as err:
        raise ParamsError(f"sources.{name}.derived.{col.name} ({verdicts.load.file}): {err}") from None
    _note(verdicts.load, f"{name}.{col.name} (= {expr})", note)
    if bad_inputs.any():
        expected = type_words(contract.Column(col.name, contract.FLOAT), src.read, shown_inputs[bad_inputs])[1]
        verdicts.reject(
            bad_inputs,
            "wrong_type",
            f"have a value that is not a number in a column used by derived.{col.name} ({expr})",
            expected,
            column=col.name,
            raw=shown_inputs,
            client=expr,
        )
    return values


def _check_vocabulary(name: str, col: contract.Column, values: pd.Series, reject, note) -> pd.Series:
    """Map spelling variants onto the allowed values; reject the values outside them."""
    ok, values, text = vocabulary(values, col.allowed)
    note(text)
    outside = ~ok & values.notna().to_numpy(dtype=bool)
    if outside.any():
        reject(
            outside,
            "not_allowed",
            "have a value outside the allowed list",
            "one of: " + ", ".join(col.allowed) + f" (map the client's values in sources.{name}.values.{col.name})",
        )
    return values


# Dates an online shop's export can hold: none before 1990 (no web shop), none more than a year after today
# (a typing or export error: year 1, 9999, a day and month read as years). Rejected as bad data, with a reason.
EARLIEST_DATE = pd.Timestamp("1990-01-01")
LATEST_AHEAD = pd.Timedelta(days=366)


def latest_date() -> pd.Timestamp:
    """The latest date accepted: a year after today."""
    return pd.Timestamp.now().normalize() + LATEST_AHEAD


def _check_date_range(values: pd.Series, bad: np.ndarray, reject) -> None:
    latest = latest_date()
    outside = ((values < EARLIEST_DATE) | (values > latest)).fillna(False).to_numpy(dtype=bool) & ~bad
    if outside.any():
        reject(
            outside,
            "date_out_of_range",
            f"have a date before {EARLIEST_DATE.date()} or more than a year ahead (after {latest.date()})",
            "dates an online shop's export can hold (from 1990 to a year after today): check the export "
            "or read.date_format",
        )


def _check_minimum(col: contract.Column, values: pd.Series, reject) -> None:
    negative = (values < col.min_value).fillna(False).to_numpy(dtype=bool)
    if negative.any():
        reject(
            negative,
            "negative",
            "have a negative value" if col.min_value == 0 else f"have a value below {col.min_value:g}",
            f"a value of at least {col.min_value:g}",
        )


def _exclude_doubles(name: str, df: pd.DataFrame, verdicts: RowVerdicts) -> None:
    """Set aside the purchases recorded twice (sources.doubles: purchase events fired again, orders repeated)."""
    if name == "events":
        verdicts.exclude(
            doubles.doubled_events(df, verdicts.passed), doubles.DOUBLED_EVENT, "event_time", df["event_time"]
        )
    elif name == "orders":
        verdicts.exclude(
            doubles.repeated_orders(df, verdicts.passed), doubles.REPEATED_ORDER, "order_id", df["order_id"]
        )


def _reject_repeated_keys(
    spec: contract.Table, df: pd.DataFrame, raw: pd.DataFrame, chosen: dict[str, str | None], verdicts: RowVerdicts
) -> None:
    """Among the rows that passed so far, reject the later ones repeating a key (the first is kept)."""
    alive = verdicts.passed
    dup = np.zeros(len(df), dtype=bool)
    dup[alive] = df.loc[alive, list(spec.key)].duplicated(keep="first").to_numpy(dtype=bool)
    if dup.any():
        reject_keys(spec, dup, key_values(spec, df, raw, chosen), chosen, verdicts)


def reject_keys(
    spec: contract.Table, dup: np.ndarray, shown: pd.Series, chosen: dict[str, str | None], verdicts: RowVerdicts
) -> None:
    """Reject the rows in `dup` as repeating a key (`shown`: each row's key as the examples show it)."""
    key_words = " + ".join(spec.key)
    verdicts.reject(
        dup,
        "duplicate_key",
        f"repeat {article(key_words)} already used by an earlier row (the first is kept, the later ones rejected)",
        f"each {key_words} to appear once",
        column=", ".join(spec.key),
        raw=shown,
        client=", ".join(chosen[k] or k for k in spec.key),
    )


def key_values(spec: contract.Table, df: pd.DataFrame, raw: pd.DataFrame, chosen: dict[str, str | None]) -> pd.Series:
    """Each row's key as the examples show it: as the client wrote it, or key columns joined by ' | '."""
    if len(spec.key) == 1:
        key = spec.key[0]
        return df[key].astype("string") if chosen[key] not in raw else raw[chosen[key]]
    joined = df[spec.key[0]].astype("string").fillna("")
    for c in spec.key[1:]:
        joined = joined + " | " + df[c].astype("string").fillna("")
    return joined


def _passed_rows(df: pd.DataFrame, spec: contract.Table, raw_read: RawRead, verdicts: RowVerdicts) -> pd.DataFrame:
    """The rows no reason rejected; the counts per reason and the dates go into the accounting."""
    load = verdicts.load
    for code, kind in enumerate(verdicts.kinds):
        count = int((verdicts.reason == code).sum())
        if count:
            (load.excluded if kind in doubles.KINDS else load.rejected)[kind] = count
    # per-row outcome, kept (not stored) for the per-file accounting after the reference checks
    load._status = verdicts.status()
    load._read = raw_read
    load._causes = _causes(df, spec, verdicts)
    df = df[verdicts.passed]
    load.rows_used = len(df)
    load.date_min, load.date_max = date_range(df, spec)
    return df


def _causes(df: pd.DataFrame, spec: contract.Table, verdicts: RowVerdicts) -> pd.Series | None:
    """For a table with a one-column key: the key of each rejected row -> the position of its problem in
    load.problems, so the rows of other tables pointing at it can be blamed on that cause."""
    if len(spec.key) != 1 or verdicts.cause is None:
        return None
    rejected = (verdicts.cause >= 0) & ~verdicts.passed
    keys = df[spec.key[0]][rejected]
    causes = pd.Series(verdicts.cause[rejected], index=keys.astype("string").to_numpy())
    causes = causes[causes.index.notna()]
    return causes[~causes.index.duplicated(keep="first")]


def row_problem(
    load: TableLoad,
    column: str,
    kind: str,
    mask: np.ndarray,
    index: pd.Index,
    raw: pd.Series,
    *,
    what: str,
    expected: str,
    client: str | None = None,
) -> Problem:
    """A problem for the rows in `mask`; `index` holds their 0-based data row numbers, `raw` their values."""
    where = np.flatnonzero(mask)[:MAX_EXAMPLES]
    rows = [int(i) + 1 for i in index[where]]
    files: list[str] = []
    if len(load.parts) > 1:
        starts = np.array([start for _, start in load.parts])
        codes = np.searchsorted(starts, np.array(rows) - 1, side="right") - 1
        files = [load.parts[c][0] for c in codes]
        rows = [r - int(starts[c]) for r, c in zip(rows, codes, strict=False)]
    values = [show_value(v) for v in raw.iloc[where]]
    row_lines = getattr(load, "_lines", None)
    lines = [int(row_lines.get(int(i), 0)) for i in index[where]] if row_lines is not None else []
    if client is None:
        client = load.mapping.get(column) or column
    problem = Problem(
        table=load.table,
        file=load.file,
        column=column,
        kind=kind,
        message="",
        count=int(mask.sum()),
        examples=rows,
        example_values=values,
        fatal=False,
        client_column=client,
        what=what,
        expected=expected,
        line_offset=load.line_offset,
        example_files=files,
        example_lines=lines,
    )
    problem.message = row_message(problem)
    return problem


def date_range(df: pd.DataFrame, spec: contract.Table) -> tuple[str | None, str | None]:
    """(first, last) value of the table's time column over the rows, ISO; (None, None) without one."""
    col = spec.time_column
    if not col or col not in df or not len(df):
        return None, None
    lo, hi = df[col].min(), df[col].max()
    if pd.isna(lo):
        return None, None
    if spec.column(col).kind == contract.DATE:
        return lo.date().isoformat(), hi.date().isoformat()
    return lo.isoformat(), hi.isoformat()


# --- references between tables -----------------------------------------------------------------


def dependency_order(names) -> list[str]:
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


def check_references(
    name: str, frames: dict[str, pd.DataFrame | Staged], load: TableLoad, loads: dict[str, TableLoad]
) -> None:
    """Reject the rows of `name` that point at a row the referenced table (when supplied) does not have.

    A staged table (sources.staged) is judged on its suspects only: the rows whose value is not among the other
    table's, read a batch at a time; the verdicts are those of the same rows in a frame."""
    refs = [col for col in contract.TABLES[name].columns if col.references]
    df = frames[name] if not isinstance(frames[name], Staged) else _suspects(frames[name], refs, frames)
    kinds = np.full(len(df), "", dtype=object)
    for col in refs:
        orphaned, dangling = _dangling(name, col, df, frames, load, loads)
        kinds[orphaned & (kinds == "")] = PARENT_REJECTED
        kinds[dangling & (kinds == "")] = DANGLING
    if (kinds != "").any():
        _drop_rows(name, frames, load, kinds, df)


def _known(frame: pd.DataFrame | Staged, column: str) -> pd.Series:
    """A referenced table's values of `column` (its rows kept)."""
    return frame.column(column) if isinstance(frame, Staged) else frame[column]


def _suspects(staged: Staged, refs: list[contract.Column], frames: dict[str, pd.DataFrame | Staged]) -> pd.DataFrame:
    """The staged rows whose reference columns hold a value the referenced table lacks (index: row numbers);
    `_dangling` then judges them as it judges a frame's rows.

    One anti-join in DuckDB over the staging file, on both cores, with each referenced table's values hashed once
    (looked up batch by batch through Arrow, the hash set of a million customer ids was built again for every
    batch: 45 s at a million customers)."""
    known = {}
    for col in refs:
        target, target_col = col.references.split(".")
        if target in frames:
            values = _known(frames[target], target_col)
            known[col.name] = pa.table({"v": pc.drop_null(pc.unique(_as_arrow_strings(values)))})
    columns = {col.name: pd.Series(dtype="string") for col in refs}
    if not known:
        return pd.DataFrame(columns)
    con = duckdb.connect()
    try:
        odd = []
        for i, (column, values) in enumerate(known.items()):
            con.register(f"known_{i}", values)
            c = _quoted(column)
            odd.append(f"(s.{c} IS NOT NULL AND CAST(s.{c} AS VARCHAR) NOT IN (SELECT v FROM known_{i}))")
        con.register("dropped", pa.table({"r": pa.array(staged.dropped, pa.int64())}))
        picked = ", ".join(f"CAST(s.{_quoted(c)} AS VARCHAR) AS {_quoted(c)}" for c in known)
        found = con.execute(
            f"SELECT {picked}, s.{_quoted(ROW)} FROM {staged.sql()} AS s "
            f"WHERE ({' OR '.join(odd)}) AND s.{_quoted(ROW)} NOT IN (SELECT r FROM dropped) "
            f"ORDER BY s.{_quoted(ROW)}"
        ).fetch_arrow_table()
    finally:
        con.close()
    if not found.num_rows:
        return pd.DataFrame(columns)
    return found.to_pandas(types_mapper=arrow_dtypes).set_index(ROW).rename_axis(None)


def _as_arrow_strings(values: pd.Series) -> pa.Array:
    return pa.array(values.astype(pd.StringDtype("pyarrow")).array, type=pa.string())


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


DANGLING = "dangling_reference"
PARENT_REJECTED = "parent_rejected"


def _dangling(
    name: str,
    col: contract.Column,
    df: pd.DataFrame,
    frames: dict[str, pd.DataFrame | Staged],
    load: TableLoad,
    loads: dict[str, TableLoad],
) -> tuple[np.ndarray, np.ndarray]:
    """The rows whose `col` points at a row the other table rejected, and those whose `col` points nowhere
    (each with their problems recorded); a note when it cannot be checked."""
    target_table, target_col = col.references.split(".")
    none = np.zeros(len(df), dtype=bool)
    if target_table not in frames:
        why = "was not supplied" if target_table not in loads else "could not be used"
        load.notes.append(f"{name}.{col.name} was not checked against {col.references}: the {target_table} table {why}")
        return none, none
    values = df[col.name]
    dangling = values.notna().to_numpy(dtype=bool) & ~isin(values, _known(frames[target_table], target_col))
    orphaned = _orphaned(name, col, values, dangling, load, loads[target_table]) if dangling.any() else none
    dangling &= ~orphaned
    if dangling.any():
        target_file = loads[target_table].file
        load.problems.append(
            row_problem(
                load,
                col.name,
                "dangling_reference",
                dangling,
                df.index,
                values,
                what=f"point to {article(target_col)} that is not in the {target_table} table ({target_file})",
                expected=f"every {col.name} to exist in {target_table}.{target_col}; "
                "such rows are rejected (was the other export filtered or cut at a different date?)",
            )
        )
    return orphaned, dangling


def _orphaned(
    name: str, col: contract.Column, values: pd.Series, dangling: np.ndarray, load: TableLoad, parent: TableLoad
) -> np.ndarray:
    """Among the dangling rows, those whose row in the referenced table was rejected: one problem per cause,
    blamed on it (the parent's column, value and fix), not on exports cut at different dates."""
    causes: pd.Series | None = getattr(parent, "_causes", None)
    if causes is None or not len(causes):
        return np.zeros(len(values), dtype=bool)
    cause_of = values.astype("string").map(causes)
    found = dangling & cause_of.notna().to_numpy(dtype=bool)
    for position in pd.unique(cause_of[found]):
        mine = found & (cause_of == position).fillna(False).to_numpy(dtype=bool)
        cause = parent.problems[int(position)]
        p = row_problem(
            load,
            col.name,
            PARENT_REJECTED,
            mine,
            values.index,
            values,
            what=f"point to {article(col.name)} whose row in the {cause.table} table was rejected",
            expected=blame(cause, personal=cause.column in PERSONAL),
        )
        load.problems.append(p)
    return found


def _drop_rows(
    name: str, frames: dict[str, pd.DataFrame | Staged], load: TableLoad, kinds: np.ndarray, df: pd.DataFrame
) -> None:
    """Set aside the rows of `df` (the table's rows, or a staged table's suspects) with a reason in `kinds`."""
    reject = kinds != ""
    status = getattr(load, "_status", None)
    if status is not None:
        status.loc[df.index[reject]] = kinds[reject]
    for kind in (PARENT_REJECTED, DANGLING):
        n = int((kinds == kind).sum())
        if n:
            load.rejected[kind] = load.rejected.get(kind, 0) + n
    n = int(reject.sum())
    load.rows_used -= n
    spec = contract.TABLES[name]
    if isinstance(frames[name], Staged):
        frames[name].drop(df.index[reject])
        time = spec.time_column
        load.date_min, load.date_max = date_range(frames[name].extremes(time), spec) if time else (None, None)
        return
    frames[name] = df[~reject]
    load.date_min, load.date_max = date_range(frames[name], spec)
