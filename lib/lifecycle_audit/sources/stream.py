"""A large table read and validated in batches, never whole in memory; the same verdicts as one frame gives.

A plain Parquet source of more than STREAM_ROWS rows is read BATCH_ROWS rows at a time. Each batch goes through
the per-row checks of sources.validate (`row_checks`); its passed rows are appended to a staging Parquet file
(sources.staged) and its problems merged into the table's (counts summed, the first examples kept, in the order
one frame would list them). The checks that compare rows then run over the staged rows on only the columns they
need: the doubled purchase events (purchases only), the repeated orders and keys (key columns only), and later,
in validate.check_references, the references to other tables (the rows pointing nowhere only). `Staged.write`
copies the rows kept into the canonical table. Memory follows the batch, not the table.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import contract
from . import doubles
from .accounting import account_read
from .mapping import needed_columns
from .messages import display, row_message
from .model import KINDS, MAX_EXAMPLES, TableLoad, file_problem
from .read import RawRead, Unreadable, file_sha256, parquet_header
from .shaping import needs_shaping
from .staged import KEY, ROW, Staged, arrow_dtypes
from .validate import DANGLING, PARENT_REJECTED, RowVerdicts, date_range, key_values, reject_keys, row_checks

STREAM_ROWS = 2_000_000  # a plain Parquet table of more rows is read in batches
BATCH_ROWS = 1_000_000  # rows read and checked at once
_REFERENCE_KINDS = (PARENT_REJECTED, DANGLING)


def streamable(params, name: str) -> bool:
    """True for a plain mapping (no preset, no web hits, one column per contract column) of one Parquet file of
    more than STREAM_ROWS rows: a table read in batches."""
    src = params.sources[name]
    files = params.input_files(name)
    if src.preset is not None or src.web is not None or len(files) != 1:
        return False
    try:
        if src.format_of(files[0]) != "parquet":
            return False
        _, rows = parquet_header(files[0])
    except Exception:  # noqa: BLE001 - an unreadable file is reported by the present path
        return False
    empty = RawRead(frame=pd.DataFrame(), header=[], fmt="parquet", files=[{}], text=False)
    return rows > STREAM_ROWS and not needs_shaping(src, empty)


def load_streamed(
    params, name: str, folder: Path, progress=None, hashes: dict[str, str] | None = None
) -> tuple[Staged | None, TableLoad]:
    """Read and check one large table batch by batch (see the module): its staged rows and its accounting."""
    spec, src = contract.table(name), params.sources[name]
    path = params.input_files(name)[0]
    shown = display(path)
    load = TableLoad.empty(name, display(params.source_path(name)))
    try:
        names, rows = parquet_header(path)
    except Unreadable as err:
        load.file = shown
        load.problems.append(file_problem(name, shown, "unreadable", str(err)))
        return None, load
    if progress:
        progress(f"reading {name} ({shown}) in batches of {BATCH_ROWS:,} rows")
    columns = needed_columns(spec, src, names)
    info = {"file": shown, "sha256": (hashes or {}).get(str(path)) or file_sha256(path), "rows_in": rows}
    info.update({"start": 0, "blank_row": 0, "repeated_header": 0, "format": "parquet", "columns": columns})
    whole = RawRead(frame=pd.DataFrame(columns=columns), header=columns, fmt="parquet", files=[info], text=False)
    account_read(load, whole, shown)
    table = _Batched(load, spec, Staged(folder / f"{name}.staging.parquet", [c.name for c in spec.columns]), rows)
    try:
        for frame in _batches(path, columns):
            if not table.check(replace(whole, frame=frame), src):
                return None, load
    except (pa.ArrowException, OSError) as err:
        load.problems.append(file_problem(name, shown, "unreadable", f"cannot be read as Parquet: {err}"))
        return None, load
    finally:
        table.staged.close()
    table.finish(name)
    load._read = whole
    return table.staged, load


def _batches(path: Path, columns: list[str]):
    """Each batch as a frame indexed by row number, typed as the present reader types them."""
    start = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns):
        frame = pa.Table.from_batches([batch]).to_pandas(types_mapper=arrow_dtypes, ignore_metadata=True)
        frame.index = pd.RangeIndex(start, start + len(frame))
        yield frame
        start += len(frame)


class _Batched:
    """The state of a table checked batch by batch: merged problems, each row's status, the rejected keys."""

    def __init__(self, load: TableLoad, spec: contract.Table, staged: Staged, rows: int):
        self.load, self.spec, self.staged = load, spec, staged
        self.problems: dict[tuple, object] = {}  # (column, kind, what) -> merged problem
        self.kinds: list[str] = []  # reasons in the order first met; status code = position + 1 (0: used)
        self.codes = np.zeros(rows, dtype=np.int8)
        self.causes: list[tuple[pd.Series, np.ndarray, list]] = []  # (keys, batch problem positions, merge keys)
        self.noted: dict[str, str] = {}  # what a note is about ("events.event_time ('ts')") -> the first batch's

    def _note(self, notes: list[str]) -> None:
        """The notes of one batch: each once; a column whose values a later batch notes otherwise (a date layout
        guessed, spellings matched) gets one note saying so, not one per batch."""
        for note in notes:
            where, _, _ = note.partition(": ")
            if note in self.load.notes or self.noted.get(where) == "varies":
                continue
            if where not in self.noted:
                self.noted[where] = note
                self.load.notes.append(note)
                continue
            self.noted[where] = "varies"
            self.load.notes.append(
                f"{where}: read in batches of {BATCH_ROWS:,} rows, and a later batch noted something else about its "
                "values than the first (above); set the read options (read.date_format, read.decimal) or the "
                "value mapping to decide once for the whole file"
            )

    def check(self, raw: RawRead, src) -> bool:
        """The per-row checks of one batch; False when a column is missing (the table cannot be used)."""
        part = TableLoad.empty(self.load.table, self.load.file)
        part.line_offset, part.parts = self.load.line_offset, self.load.parts
        checked = row_checks(self.load.table, raw, src, part)
        self.load.mapping = part.mapping
        self._note(part.notes)
        if checked is None:
            self.load.problems.extend(part.problems)
            return False
        df, verdicts, _ = checked
        own = [self._merge(p) for p in part.problems]
        for code, kind in enumerate(verdicts.kinds):
            hit = verdicts.reason == code
            if hit.any():
                self.codes[df.index.to_numpy()[hit]] = self._code(kind)
        if len(self.spec.key) == 1 and verdicts.cause is not None:
            rejected = (verdicts.cause >= 0) & ~verdicts.passed
            self.causes.append((df[self.spec.key[0]][rejected].astype("string"), verdicts.cause[rejected], own))
        passed = df[verdicts.passed]
        extra = {KEY: key_values(self.spec, passed, raw.frame.loc[passed.index], part.mapping)} if self.spec.key else {}
        self.staged.append(passed, extra)
        return True

    def _code(self, kind: str) -> int:
        if kind not in self.kinds:
            self.kinds.append(kind)
        return self.kinds.index(kind) + 1

    def _merge(self, p) -> tuple:
        """Add one batch's problem to the table's: counts summed, examples kept up to MAX_EXAMPLES."""
        key = (p.column, p.kind, p.what)
        have = self.problems.get(key)
        if have is None:
            self.problems[key] = replace(p, examples=list(p.examples), example_values=list(p.example_values))
            return key
        room = max(0, MAX_EXAMPLES - len(have.examples))
        have.count += p.count
        have.examples.extend(p.examples[:room])
        have.example_values.extend(p.example_values[:room])
        have.example_lines.extend(p.example_lines[:room])
        return key

    def finish(self, name: str) -> None:
        """The merged problems in the order one frame lists them, then the checks comparing rows over all rows."""
        order = {c.name: i for i, c in enumerate(self.spec.columns)}
        merged = sorted(self.problems.items(), key=lambda kp: (order.get(kp[0][0], 99), KINDS.index(kp[0][1])))
        position = {key: i for i, (key, _) in enumerate(merged)}
        for _, p in merged:
            p.message = row_message(p)
            self.load.problems.append(p)
        self._causes(position)
        self._sort_kinds([p.kind for _, p in merged])
        self._compare_rows(name)
        self._account()

    def _sort_kinds(self, first: list[str]) -> None:
        """The reasons in the order of their problems (one frame meets them column by column), codes renumbered."""
        order = sorted(range(len(self.kinds)), key=lambda i: first.index(self.kinds[i]))
        lut = np.zeros(len(self.kinds) + 1, dtype=np.int8)
        for new, old in enumerate(order):
            lut[old + 1] = new + 1
        self.codes = lut[self.codes]
        self.kinds = [self.kinds[i] for i in order]

    def _causes(self, position: dict[tuple, int]) -> None:
        """Each rejected key -> the position of its (merged) problem, the first row's (see validate._causes)."""
        if not self.causes:
            self.load._causes = None if len(self.spec.key) != 1 else pd.Series(dtype="int64")
            return
        keys = pd.concat([k for k, _, _ in self.causes])
        at = np.concatenate([[position[own[c]] for c in cause] for _, cause, own in self.causes]).astype(np.int64)
        causes = pd.Series(at, index=keys.to_numpy())
        causes = causes[causes.index.notna()]
        self.load._causes = causes[~causes.index.duplicated(keep="first")]

    def _compare_rows(self, name: str) -> None:
        """Doubled purchases and repeated keys over all the staged rows, reading only the columns they need."""
        if name == "events":
            cols = ["customer_id", "anonymous_id", "session_id", "product_id", "event_type", "event_time"]
            df = self.staged.read(cols, keep=lambda t: pc.equal(t["event_type"], "purchase"))
            self._set_aside(df, doubles.doubled_events, doubles.DOUBLED_EVENT, "event_time")
        elif name == "orders":
            df = self.staged.read(["order_id", "customer_id", "revenue"])
            self._set_aside(df, doubles.repeated_orders, doubles.REPEATED_ORDER, "order_id")
        if self.spec.key:
            self._repeated_keys()

    def _set_aside(self, df: pd.DataFrame, rule, kind: str, column: str) -> None:
        verdicts = RowVerdicts(load=self.load, index=df.index, reason=np.full(len(df), -1, dtype=np.int16))
        verdicts.exclude(rule(df, np.ones(len(df), dtype=bool)), kind, column, df[column])
        self._drop(df.index[~verdicts.passed], kind)

    def _repeated_keys(self) -> None:
        """The later rows repeating a key of an earlier kept row (the first is kept): the key columns only."""
        key = list(self.spec.key)
        df = self.staged.read(key)
        dup = df.duplicated(keep="first").to_numpy(dtype=bool)  # as validate._reject_repeated_keys decides
        rows = df.index[dup]
        del df
        if not len(rows):
            return
        shown = pq.read_table(self.staged.path, columns=[ROW, KEY], filters=[(ROW, "in", rows.tolist())])
        shown = shown.to_pandas(types_mapper=arrow_dtypes).set_index(ROW).rename_axis(None).sort_index()
        verdicts = RowVerdicts(load=self.load, index=shown.index, reason=np.full(len(shown), -1, dtype=np.int16))
        reject_keys(self.spec, np.ones(len(shown), dtype=bool), shown[KEY], self.load.mapping, verdicts)
        self._drop(shown.index, "duplicate_key")

    def _drop(self, rows: pd.Index, kind: str) -> None:
        if len(rows):
            self.codes[rows.to_numpy()] = self._code(kind)
            self.staged.drop(rows.to_numpy())

    def _account(self) -> None:
        """Counts per reason, rows used and dates, and each row's status for the per-file accounting."""
        counts = np.bincount(self.codes, minlength=len(self.kinds) + 1)
        for code, kind in enumerate(self.kinds, start=1):
            if counts[code]:
                (self.load.excluded if kind in doubles.KINDS else self.load.rejected)[kind] = int(counts[code])
        self.load.rows_used = len(self.staged)
        time = self.spec.time_column
        if time:
            self.load.date_min, self.load.date_max = date_range(self.staged.extremes(time), self.spec)
        labels = ["", *self.kinds, *[k for k in _REFERENCE_KINDS if k not in self.kinds]]
        self.load._status = pd.Series(pd.Categorical.from_codes(self.codes, categories=labels))
