"""A large table read and validated in batches, never whole in memory; the same verdicts as one frame gives.

A mapped source (no preset, no web hits, no `items:`) of more than STREAM_ROWS rows is read BATCH_ROWS rows at a
time (sources.batches): one Parquet file or several with the same columns, delimited text (CSV, TSV, compressed or
not; one file or several with the same header), or JSON lines (compressed or not; one file or several, whose fields
may differ), the rows of text and JSON lines judged by a count of their lines. Each batch goes through the per-row
checks of sources.validate (`row_checks`); its passed rows are appended to a staging Parquet file (sources.staged)
and its problems merged into the table's (counts summed, the first examples kept, in the order one frame would list
them). The checks that compare rows then run over the staged rows on only the columns they need: the doubled
purchase events (purchases only), the repeated orders and keys (key columns only), and later, in
validate.check_references, the references to other tables (the rows pointing nowhere only). `Staged.write` copies
the rows kept into the canonical table. Memory follows the batch, not the table.

Text read in batches gives what reading it whole gives: the same parser and options, blank and repeated header rows
counted per file, file lines kept across batches when a quoted value spans lines, the encoding tried in the same
order (a later batch that is not UTF-8 reads the table again as cp1252; nothing staged is kept).

JSON lines read in batches give what reading them whole gives (sources.jsonlines, batches.JsonBatches): each file
is parsed once, before any row is checked, its batches kept as Parquet files of strings next to the staged rows
while its field names (nested objects flattened to dotted names, as read whole) are taken; so every batch has the
columns of the whole read in its order, and a line that is not a JSON object, a file that is not text in its
encoding or a gzip file cut short is the error of a whole read, before any row is checked. Row N of a file is its
line N, as read whole; blank lines and rows repeating the header are counted per file (by the file's own fields);
files whose fields differ are joined and noted as read whole.

A mapping that shapes each row on its own is applied batch by batch (validate.row_checks -> sources.shaping): the
alternatives of a column (chosen per file, from every file's columns), JSON paths into a value, ids joined from
columns or numbered by row (rows keep their numbers over the whole source), derived columns, constants and value
maps. Their verdicts are those of one frame: the rows whose JSON text cannot be read are listed first, as one frame
rejects them before any column, and what a value map matched is added up over the batches into the one note a
whole read gives (mapping.ValueTally). `items:` (one row per element of an array) renumbers the rows over the whole
table and is read whole.

Read whole, as before: Excel, files of mixed formats, text files whose headers differ, Parquet files whose columns
differ, presets, web hits, and `items:`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import contract
from ..errors import ParamsError
from . import doubles
from .accounting import account_read
from .batches import (
    Batch,
    FileError,
    FileLines,
    JsonBatches,
    NotStreamed,
    ParquetBatches,
    Retry,
    TextBatches,
    parquet_streamable,
)
from .mapping import ValueTally, needed_columns, value_note
from .messages import display, row_message
from .model import KINDS, MAX_EXAMPLES, TableLoad, file_problem
from .read import RawRead, Unreadable, lines_above, parquet_header, same_headers
from .shaping import SHAPED_KINDS
from .staged import KEY, ROW, Staged, arrow_dtypes
from .validate import DANGLING, PARENT_REJECTED, RowVerdicts, date_range, key_values, reject_keys, row_checks

STREAM_ROWS = 2_000_000  # a plain table of more rows is read in batches
BATCH_ROWS = 1_000_000  # rows read and checked at once
_REFERENCE_KINDS = (PARENT_REJECTED, DANGLING)
_TEXT = ("csv", "tsv")

__all__ = ["BATCH_ROWS", "STREAM_ROWS", "NotStreamed", "load_streamed", "streamable"]


def streamable(params, name: str) -> bool:
    """True for a mapped source (no preset, no web hits, no `items:`) of more than STREAM_ROWS rows in Parquet files
    of the same columns, in delimited text files of the same header or in JSON-lines files: a table read in batches.
    Text and JSON lines are judged by their lines, counted only as far as STREAM_ROWS."""
    src = params.sources[name]
    files = params.input_files(name)
    if src.preset is not None or src.web is not None or not files:
        return False
    try:
        formats = {src.format_of(f) for f in files}
    except ParamsError:
        return False
    if len(formats) != 1 or src.items is not None:  # one row per item: rows renumbered over the whole table
        return False
    fmt = formats.pop()
    spec = contract.table(name)
    try:
        if fmt == "parquet":
            rows = parquet_streamable(files, lambda names: needed_columns(spec, src, names))
            return rows is not None and rows > STREAM_ROWS
        if fmt in _TEXT:
            above = lines_above(files, src.read, STREAM_ROWS + (1 if src.read.header else 0) + src.read.skip_rows)
            return above and (len(files) == 1 or same_headers(files, fmt, src.read))
        if fmt == "jsonl":  # one object per line: lines are rows (their fields are taken before the first batch)
            return lines_above(files, src.read, STREAM_ROWS)
    except Exception:  # noqa: BLE001 - an unreadable file is reported by the whole read
        return False
    return False


def load_streamed(
    params, name: str, folder: Path, progress=None, hashes: dict[str, str] | None = None
) -> tuple[Staged | None, TableLoad]:
    """Read and check one large table batch by batch (see the module): its staged rows and its accounting. Raises
    NotStreamed when a later file's header differs from the first's as read (streamable compares them in the first
    encoding to try; a file read in another one may differ): the table is then read whole."""
    tried: dict[int, list[UnicodeDecodeError]] = {}  # per text file: the encodings that failed, in order
    while True:
        try:
            return _load(params, name, folder, progress, hashes, tried)
        except Retry as again:
            tried.setdefault(again.file, []).append(again.error)


def _load(params, name: str, folder: Path, progress, hashes, tried) -> tuple[Staged | None, TableLoad]:
    spec, src = contract.table(name), params.sources[name]
    files = params.input_files(name)
    shown = display(params.source_path(name))
    fmt = src.format_of(files[0])
    load = TableLoad.empty(name, shown)
    if progress:
        progress(
            f"reading {name} ({display(files[0]) if len(files) == 1 else shown}) in batches of {BATCH_ROWS:,} rows"
        )
    table = _Batched(load, spec, Staged(folder / f"{name}.staging.parquet", [c.name for c in spec.columns]))
    reader = None
    try:
        if fmt == "parquet":
            names = parquet_header(files[0])[0]
            columns = [c for c in needed_columns(spec, src, names) if c in names]  # alternatives it lacks: not read
            reader = ParquetBatches(files, columns, hashes, BATCH_ROWS)
        elif fmt == "jsonl":
            kept = folder / f"{name}.jsonl"  # the lines parsed, kept a batch a file until read back
            kept.mkdir(exist_ok=True)
            reader = JsonBatches(files, src.read, hashes, BATCH_ROWS, kept)
        else:
            reader = TextBatches(files, fmt, src.read, hashes, tried, BATCH_ROWS)
        load.line_offset = reader.line_offset
        for batch in reader.batches():
            # several files: each example's file and row told by where each file starts (those not read yet: later)
            load.parts = [[f["file"], f["start"]] for f in reader.files] if len(files) > 1 else []
            if table.usable:
                text = fmt != "parquet"
                raw = RawRead(batch.frame, reader.header, fmt, reader.files, text, line_offset=reader.line_offset)
                table.check(raw, src, batch)
            else:
                table.skip(batch)
                if fmt == "parquet":
                    break  # its rows are known: nothing more to read
    except (FileError, Unreadable) as err:
        return None, _unreadable(name, shown, files, reader, err)
    finally:
        table.staged.close()
    whole = reader.whole()
    load.notes = list(reader.notes)
    account_read(load, whole, shown)
    load.notes.extend(table.notes)
    if not table.usable:
        load.problems.extend(table.fatal)
        return None, load
    table.finish(name, whole.row_lines)
    load._read = whole
    return table.staged, load


def _unreadable(name: str, shown: str, files: list, reader, err) -> TableLoad:
    """The accounting of a table one of whose files cannot be read: as a whole read gives it (the notes so far)."""
    file = err.file if isinstance(err, FileError) else display(files[0])
    message = err.message if isinstance(err, FileError) else str(err)
    load = TableLoad.empty(name, shown)
    load.notes = list(reader.notes) if reader is not None else []
    load.file = file if len(files) <= 1 else shown
    load.problems.append(file_problem(name, file, "unreadable", message))
    return load


class _Batched:
    """The state of a table checked batch by batch: merged problems, each row's status, the rejected keys."""

    def __init__(self, load: TableLoad, spec: contract.Table, staged: Staged):
        self.load, self.spec, self.staged = load, spec, staged
        self.problems: dict[tuple, object] = {}  # (column, kind, what) -> merged problem
        self.kinds: list[str] = []  # reasons in the order first met; status code = position + 1 (0: used)
        self._codes: list[np.ndarray] = []  # per batch, each row's status code (blank rows: 0, left out by `data`)
        self._not_data: list[np.ndarray] = []  # per batch, its blank and repeated header rows
        self.codes = np.zeros(0, dtype=np.int8)
        self.data: np.ndarray | None = None  # after the batches: the rows that are data (None: all of them)
        self.causes: list[tuple[pd.Series, np.ndarray, list]] = []  # (keys, batch problem positions, merge keys)
        self.notes: list[str] = []  # what the checks noted (after what reading noted)
        self.noted: dict[str, str] = {}  # what a note is about ("events.event_time ('ts')") -> the first batch's
        self.tallies: dict[str, tuple[dict, ValueTally, int]] = {}  # per value map: (mapping, all batches', note at)
        self.usable = True
        self.fatal: list = []  # the problems that make the table unusable (a column missing)

    def _note(self, notes: list[str], tallies: dict[str, tuple[dict, ValueTally]]) -> None:
        """The notes of one batch: each once; a column whose values a later batch notes otherwise (a date layout
        guessed, spellings matched) gets one note saying so, not one per batch. What a value mapping matched is
        added up over the batches, its note kept where the first batch put it: the note of one frame."""
        for note in notes:
            where, _, _ = note.partition(": ")
            if note in tallies:  # a value map's (other notes on the same column are not)
                mapping, tally = tallies[note]
                if where not in self.tallies:
                    self.tallies[where] = (mapping, ValueTally(), len(self.notes))
                    self.notes.append(note)
                _, total, at = self.tallies[where]
                total.add(tally)
                self.notes[at] = f"{where}: {value_note(mapping, total)}"
                continue
            if note in self.notes or self.noted.get(where) == "varies":
                continue
            if where not in self.noted:
                self.noted[where] = note
                self.notes.append(note)
                continue
            self.noted[where] = "varies"
            self.notes.append(
                f"{where}: read in batches of {BATCH_ROWS:,} rows, and a later batch noted something else about its "
                "values than the first (above); set the read options (read.date_format, read.decimal) or the "
                "value mapping to decide once for the whole file"
            )

    def skip(self, batch: Batch) -> np.ndarray:
        """Count the batch's rows (their status codes, all 0 until checked)."""
        codes = np.zeros(batch.rows, dtype=np.int8)
        self._codes.append(codes)
        self._not_data.append(batch.not_data)
        return codes

    def check(self, raw: RawRead, src, batch: Batch) -> None:
        """The per-row checks of one batch; a column missing makes the table unusable (no more batches checked)."""
        codes = self.skip(batch)
        part = TableLoad.empty(self.load.table, self.load.file)
        part.line_offset, part.parts = self.load.line_offset, self.load.parts
        checked = row_checks(self.load.table, raw, src, part)
        self.load.mapping = part.mapping
        self._note(part.notes, part.value_tallies)
        if checked is None:
            self.fatal.extend(part.problems)
            self.usable = False
            return
        df, verdicts, shaped = checked
        own = [self._merge(p) for p in part.problems]
        at = df.index.to_numpy() - batch.start
        for code, kind in enumerate(verdicts.kinds):
            hit = verdicts.reason == code
            if hit.any():
                codes[at[hit]] = self._code(kind)
        if len(self.spec.key) == 1 and verdicts.cause is not None:
            rejected = (verdicts.cause >= 0) & ~verdicts.passed
            self.causes.append((df[self.spec.key[0]][rejected].astype("string"), verdicts.cause[rejected], own))
        passed = df[verdicts.passed]
        # the key as the client wrote it: in the rows as shaped (an id joined from columns is a column of those)
        extra = (
            {KEY: key_values(self.spec, passed, shaped.frame.loc[passed.index], part.mapping)} if self.spec.key else {}
        )
        self.staged.append(passed, extra)

    def _code(self, kind: str) -> int:
        if kind not in self.kinds:
            self.kinds.append(kind)
        return self.kinds.index(kind) + 1

    def _merge(self, p) -> tuple:
        """Add one batch's problem to the table's: counts summed, examples kept up to MAX_EXAMPLES."""
        key = (p.column, p.kind, p.what)
        have = self.problems.get(key)
        if have is None:
            self.problems[key] = replace(
                p, examples=list(p.examples), example_values=list(p.example_values), example_files=list(p.example_files)
            )
            return key
        room = max(0, MAX_EXAMPLES - len(have.examples))
        have.count += p.count
        have.examples.extend(p.examples[:room])
        have.example_values.extend(p.example_values[:room])
        have.example_lines.extend(p.example_lines[:room])
        have.example_files.extend(p.example_files[:room])
        return key

    def finish(self, name: str, lines: FileLines | None) -> None:
        """The merged problems in the order one frame lists them, then the checks comparing rows over all rows.
        `lines`: each row's file line when a quoted value spans lines (known once every file has been read)."""
        self.codes = np.concatenate(self._codes) if self._codes else np.zeros(0, dtype=np.int8)
        not_data = np.concatenate(self._not_data) if self._not_data else np.zeros(0, dtype=bool)
        self.data = ~not_data if not_data.any() else None
        self._codes = self._not_data = []
        self.load._lines = lines
        order = {c.name: i for i, c in enumerate(self.spec.columns)}
        # rows shaping rejects (text that is not JSON) first, as one frame rejects them before checking any column
        merged = sorted(
            self.problems.items(),
            key=lambda kp: (kp[0][1] not in SHAPED_KINDS, order.get(kp[0][0], 99), KINDS.index(kp[0][1])),
        )
        position = {key: i for i, (key, _) in enumerate(merged)}
        for _, p in merged:
            if lines is not None:
                p.example_lines = self._lines(p, lines)
            p.message = row_message(p)
            self.load.problems.append(p)
        self._causes(position)
        self._sort_kinds([p.kind for _, p in merged])
        self._compare_rows(name)
        self._account()

    def _lines(self, p, lines: FileLines) -> list[int]:
        """The file lines of a problem's examples (1-based rows of their file, or of all files read as one)."""
        starts = dict(self.load.parts)
        return [
            lines.get(starts.get(f, 0) + r - 1)
            for r, f in zip(p.examples, p.example_files or [None] * len(p.examples), strict=True)
        ]

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
        shown = pq.read_table(self.staged.side, columns=[ROW, KEY], filters=[(ROW, "in", rows.tolist())])
        shown = shown.to_pandas(types_mapper=arrow_dtypes).set_index(ROW).rename_axis(None).sort_index()
        verdicts = RowVerdicts(load=self.load, index=shown.index, reason=np.full(len(shown), -1, dtype=np.int16))
        reject_keys(self.spec, np.ones(len(shown), dtype=bool), shown[KEY], self.load.mapping, verdicts)
        self._drop(shown.index, "duplicate_key")

    def _drop(self, rows: pd.Index, kind: str) -> None:
        if len(rows):
            self.codes[rows.to_numpy()] = self._code(kind)
            self.staged.drop(rows.to_numpy())

    def _account(self) -> None:
        """Counts per reason, rows used and dates, and each data row's status for the per-file accounting."""
        codes = self.codes if self.data is None else self.codes[self.data]
        counts = np.bincount(codes, minlength=len(self.kinds) + 1)
        for code, kind in enumerate(self.kinds, start=1):
            if counts[code]:
                (self.load.excluded if kind in doubles.KINDS else self.load.rejected)[kind] = int(counts[code])
        self.load.rows_used = len(self.staged)
        time = self.spec.time_column
        if time:
            self.load.date_min, self.load.date_max = date_range(self.staged.extremes(time), self.spec)
        labels = ["", *self.kinds, *[k for k in _REFERENCE_KINDS if k not in self.kinds]]
        index = None if self.data is None else pd.Index(np.flatnonzero(self.data))  # blank rows are not data
        self.load._status = pd.Series(pd.Categorical.from_codes(codes, categories=labels), index=index)
