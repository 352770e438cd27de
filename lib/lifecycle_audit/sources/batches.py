"""A source's files read batch by batch (sources.stream), with what reading them whole tells: per file its rows,
checksum, blank and repeated header rows, the notes on compression, delimiter and encoding, and each row's file
line when a quoted value spans lines.

Delimited text goes through pandas' C parser with the very options of a whole read (read.csv_options), a batch of
rows at a time, so quoting and strings are the same. A batch's blank and repeated header rows are taken out as
read._without_blank_rows does, keeping the row numbers. The encoding is decided as for a whole read: when a later
batch is not text in the encoding tried, `Retry` says so and the table is read again with the next one (nothing
staged is kept). What a whole read says after parsing (a header naming a column twice, a quote swallowing rows) is
said once the file has been parsed to its end, so that an error further on comes first, as it does when read whole.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import jsonlines
from .messages import display
from .model import BLANK_ROW, REPEATED_HEADER
from .read import (
    RawRead,
    Unreadable,
    csv_errors,
    csv_options,
    file_sha256,
    header_problem,
    json_errors,
    json_text,
    not_data_rows,
    note_encoding,
    other_columns_note,
    parquet_header,
    swallowed_rows,
    text_setup,
    undecodable,
    value_breaks,
)
from .staged import arrow_dtypes

PIECE = 65_536  # JSON lines turned into a frame at once
LATER = 1 << 62  # the first row of a file not read yet: after every row read so far


class Retry(Exception):
    """File number `file` is not text in the encoding tried: read the table again with the next candidate."""

    def __init__(self, file: int, error: UnicodeDecodeError):
        self.file, self.error = file, error
        super().__init__(str(error))


class NotStreamed(Exception):
    """A file's columns differ from the first file's: the source is read whole (its columns joined, noted)."""


class FileError(Exception):
    """A file cannot be read at all (as read.SourceFileError): the file as shown and why."""

    def __init__(self, file: str, message: str):
        self.file, self.message = file, message
        super().__init__(f"{file}: {message}")


@dataclass
class Batch:
    """Rows `start` to `start + rows` of the source: the data rows (`frame`, indexed by row number) and which of the
    rows are blank or repeat the header (`not_data`)."""

    frame: pd.DataFrame
    start: int
    rows: int
    not_data: np.ndarray


@dataclass
class FileLines:
    """Each row's file line when a quoted value spans lines (RawRead.row_lines of a source read in batches): per
    file its first row, the file line of that row, and the rows holding line breaks with the breaks up to each."""

    starts: list[int] = field(default_factory=list)
    firsts: list[int] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    breaks: list[np.ndarray] = field(default_factory=list)  # cumulative over the file

    def get(self, row: int, default: int = 0) -> int:
        """The file line of row `row` (a global row number)."""
        k = int(np.searchsorted(self.starts, row, side="right")) - 1
        if k < 0:
            return default
        before = int(np.searchsorted(self.rows[k], row, side="left"))
        return self.firsts[k] + row - self.starts[k] + (int(self.breaks[k][before - 1]) if before else 0)


class _Tally(io.BufferedIOBase):
    """A file's bytes as pandas reads them, counting the newlines (read._line_breaks counts the same) and telling
    whether a quote was read (a value can span lines only inside quotes): no reading of the file for that alone."""

    def __init__(self, raw):
        super().__init__()
        self._raw, self.newlines, self.quoted = raw, 0, False

    def readable(self) -> bool:
        return True

    def _seen(self, data: bytes) -> bytes:
        self.newlines += data.count(b"\n")
        self.quoted = self.quoted or b'"' in data
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._seen(self._raw.read(size))

    def read1(self, size: int = -1) -> bytes:
        return self._seen(self._raw.read1(size))


class TextBatches:
    """The delimited text files of one source, read `rows` rows at a time (see the module).

    `tried`: per file number, the UnicodeDecodeErrors of the encodings tried before (the next candidate is read).
    """

    def __init__(self, files: list[Path], fmt: str, opts, hashes: dict[str, str] | None, tried: dict, rows: int):
        self.paths, self.fmt, self.opts, self.rows = files, fmt, opts, rows
        self.hashes, self.tried = hashes or {}, tried
        self.notes: list[str] = []  # what reading noted, in the order a whole read notes it
        self.infos: list[dict[str, Any]] = []
        self.header: list[str] | None = None
        self.line_offset = 1 + opts.skip_rows if opts.header else opts.skip_rows
        self.lines = FileLines()
        self._spans = False

    @property
    def files(self) -> list[dict[str, Any]]:
        """Per file its info; the files not read yet with their name only, numbered after every row read."""
        later = [
            {"file": display(p), "start": LATER + k, "rows_in": 0} for k, p in enumerate(self.paths[len(self.infos) :])
        ]
        return self.infos + later

    def whole(self) -> RawRead:
        """The source as read (no rows): its header, files, line offset and file lines, for the accounting."""
        header = self.header or []
        return RawRead(
            frame=pd.DataFrame(columns=header),
            header=header,
            fmt=self.fmt,
            files=self.infos,
            text=True,
            line_offset=self.line_offset,
            row_lines=self.lines if self._spans else None,
        )

    def batches(self) -> Iterator[Batch]:
        for k, path in enumerate(self.paths):
            try:
                yield from self._file(k, path)
            except Unreadable as err:
                raise FileError(display(path), str(err)) from None

    def _file(self, k: int, path: Path) -> Iterator[Batch]:
        opts, shown = self.opts, display(path)
        tf, delimiter = text_setup(path, self.fmt, opts, self.notes)
        errors = self.tried.get(k, [])
        if len(errors) >= len(tf.candidates):
            raise undecodable(opts, errors[-1])
        encoding = tf.candidates[len(errors)]
        start = sum(i["rows_in"] for i in self.infos)
        sha = self.hashes.get(str(path)) or file_sha256(path)
        info = {"file": shown, "sha256": sha, "rows_in": 0, "start": start, BLANK_ROW: 0, REPEATED_HEADER: 0}
        info["format"] = self.fmt
        self.infos.append(info)
        header = None
        duplicates = None
        try:
            with self._open(tf, delimiter) as fh:
                tally = _Tally(fh)
                for df in self._parsed(tf, tally, encoding, delimiter):
                    df.columns = [str(c) for c in df.columns]
                    if header is None:  # the first batch: the file's header
                        header = list(df.columns)
                        if self.header is not None and header != self.header:
                            raise NotStreamed(shown)
                        self.header = info["columns"] = header
                        duplicates = header_problem(df, tf, encoding, delimiter, opts)
                    at = start + info["rows_in"]
                    df.index = pd.RangeIndex(at, at + len(df))
                    info["rows_in"] += len(df)
                    yield self._batch(df, info, at)
        except UnicodeDecodeError as err:
            raise Retry(k, err) from None
        if opts.encoding is None:
            note_encoding(path, tf, encoding, errors[-1] if errors else None, self.notes)
        if duplicates:
            raise Unreadable(duplicates)
        spans = _Spans(self.line_offset + 1, start)
        rows = info["rows_in"]
        if rows and tally.quoted and tally.newlines > rows + (1 if opts.header else 0) + opts.skip_rows:
            # More lines than rows: quoted values may span lines (read._mark_spanning_rows decides alike). Their
            # line breaks are counted in a second reading, which files without such values are spared.
            with self._open(tf, delimiter) as fh:
                for df in self._parsed(tf, fh, encoding, delimiter):
                    df.index = pd.RangeIndex(start + spans.seen, start + spans.seen + len(df))
                    spans.add(df, delimiter)
        if spans.total:
            if spans.swallowed:
                raise Unreadable(spans.swallowed)
            self._spans = True
        spans.rows_and_breaks(self.lines)

    def _open(self, tf, delimiter: str):
        """The file's bytes after its byte-order mark, decompressed (a damaged file: Unreadable, as read whole)."""
        with csv_errors(tf, self.opts, delimiter):
            return tf.open()

    def _parsed(self, tf, fh, encoding: str, delimiter: str) -> Iterator[pd.DataFrame]:
        """The file's rows as pandas parses them, `rows` at a time; errors as a whole read words them."""
        with csv_errors(tf, self.opts, delimiter):
            reader = pd.read_csv(fh, chunksize=self.rows, **csv_options(self.opts, encoding, delimiter))
        with reader:
            while True:
                with csv_errors(tf, self.opts, delimiter):
                    df = next(reader, None)
                if df is None:
                    return
                yield df

    @staticmethod
    def _batch(df: pd.DataFrame, info: dict[str, Any], at: int) -> Batch:
        """The batch's blank and repeated header rows counted in the file's info and taken out (as a whole read)."""
        if not len(df):
            return Batch(df, at, 0, np.zeros(0, dtype=bool))
        not_data = not_data_rows(df, info)
        return Batch(df[~not_data] if not_data.any() else df, at, len(df), not_data)


class _Spans:
    """The line breaks inside the values of one file, batch by batch: the rows holding them, and the first value
    whose quote swallows rows (read.swallowed_rows)."""

    def __init__(self, first: int, start: int):
        self.first, self.start, self.total, self.seen = first, start, 0, 0
        self.rows: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.swallowed: str | None = None

    def add(self, df: pd.DataFrame, delimiter: str) -> None:
        """The line breaks in the values of the next rows (`df`, indexed by row number)."""
        self.seen += len(df)
        breaks = value_breaks(df)
        if not breaks.any():
            return
        before = self.total + np.concatenate([[0], np.cumsum(breaks)[:-1]])
        if self.swallowed is None:
            lines = self.first + (df.index.to_numpy() - self.start) + before
            self.swallowed = swallowed_rows(df, breaks, lines, delimiter)
        hit = np.flatnonzero(breaks)
        self.rows.append(df.index.to_numpy()[hit])
        self.counts.append(breaks[hit])
        self.total += int(breaks.sum())

    def rows_and_breaks(self, lines: FileLines) -> None:
        """Add this file to `lines`."""
        lines.starts.append(self.start)
        lines.firsts.append(self.first)
        lines.rows.append(np.concatenate(self.rows) if self.rows else np.zeros(0, dtype=np.int64))
        lines.breaks.append(np.cumsum(np.concatenate(self.counts)) if self.counts else np.zeros(0, dtype=np.int64))


class JsonBatches:
    """The JSON-lines files of one source (plain or compressed), read `rows` lines at a time.

    Each file is parsed once, before any row is checked: its lines are turned into frames `rows` lines at a time and
    kept in Parquet files of strings in `folder`, while its field names and lines are taken. So every batch gets the
    columns of the whole read, in its order (a field met only in the last lines is no column missing from the first
    batch), and what cannot be read (read.json_errors: the first bad line of the first bad file, an undecodable file,
    a gzip file cut short) is the error of a whole read, before any row is checked. The batches are then those files
    read back. Row N of a file is its line N (JSON values hold no line breaks), so no file lines are kept. Files
    whose fields differ are joined as read whole: the first file's columns, then the others' as met, each file's own
    columns in its info and a note per file (read.other_columns_note); a row repeating the header is told by its own
    file's columns, as read whole."""

    def __init__(self, files: list[Path], opts, hashes: dict[str, str] | None, rows: int, folder: Path):
        self.rows, self.folder = rows, folder
        self.fmt, self.notes, self.line_offset, self.lines = "jsonl", [], 0, None
        self.infos: list[dict[str, Any]] = []
        self._kept: list[list[tuple[Path, int]]] = []  # per file: its batches as kept (file, lines)
        start = 0
        for k, path in enumerate(files):
            shown = display(path)
            try:
                columns, kept = self._keep(k, path, opts)
            except Unreadable as err:
                raise FileError(shown, str(err)) from None
            count = sum(n for _, n in kept) if columns else 0  # blank lines only: no rows, as read whole
            sha = (hashes or {}).get(str(path)) or file_sha256(path)
            info = {"file": shown, "sha256": sha, "rows_in": count, "start": start, BLANK_ROW: 0}
            info.update({REPEATED_HEADER: 0, "format": "jsonl", "columns": columns})
            if self.infos and columns != self.infos[0]["columns"]:
                self.notes.append(other_columns_note(shown, columns, self.infos[0]["columns"], self.infos[0]["file"]))
            self.infos.append(info)
            self._kept.append(kept if count else [])
            start += count
        self.header = list(dict.fromkeys(c for info in self.infos for c in info["columns"]))

    def _keep(self, k: int, path: Path, opts) -> tuple[list[str], list[tuple[Path, int]]]:
        """Parse file number `k` into Parquet files of `rows` lines each: (its columns as read whole, the files)."""
        tf = json_text(path, opts)
        seen: dict[str, None] = {}
        kept: list[tuple[Path, int]] = []
        with json_errors(tf), tf.open() as fh:
            lines = jsonlines.records(fh, tf.candidates[0])
            while (df := self._frame(lines, seen)) is not None:
                at = self.folder / f"jsonl-{k}-{len(kept)}.parquet"
                df.to_parquet(at, index=False)
                kept.append((at, len(df)))
        return list(seen), kept

    def _frame(self, lines: Iterator[dict], seen: dict[str, None]) -> pd.DataFrame | None:
        """The next `rows` records as a frame of strings (None: no more), their names added to `seen`; made PIECE
        records at a time: a record as a dict of strings takes several times the memory of its row in a frame."""
        pieces: list[pd.DataFrame] = []
        left = self.rows
        while left and (chunk := list(itertools.islice(lines, min(PIECE, left)))):
            names = list(dict.fromkeys(name for record in chunk for name in record))
            seen.update(dict.fromkeys(names))
            pieces.append(jsonlines.frame(chunk, names))
            left -= len(chunk)
        if not pieces:
            return None
        return pieces[0] if len(pieces) == 1 else pd.concat(pieces, ignore_index=True).astype("string")

    @property
    def files(self) -> list[dict[str, Any]]:
        return self.infos

    def whole(self) -> RawRead:
        """The source as read (no rows): its header and files, for the accounting."""
        frame = pd.DataFrame(columns=self.header)
        return RawRead(frame=frame, header=list(self.header), fmt="jsonl", files=self.infos, text=True, line_offset=0)

    def batches(self) -> Iterator[Batch]:
        """Each batch as a frame of strings with every column of the source, indexed by row number."""
        for kept, info in zip(self._kept, self.infos, strict=True):
            start, own = info["start"], info["columns"]
            for at, lines in kept:
                df = jsonlines.with_columns(pd.read_parquet(at), lines, own)  # blank lines only: kept as rows
                at.unlink()
                df.index = pd.RangeIndex(start, start + len(df))
                not_data = not_data_rows(df, info)  # by the file's own columns, as read whole
                if own != self.header:
                    df = df.reindex(columns=self.header).astype("string")
                yield Batch(df[~not_data] if not_data.any() else df, start, len(df), not_data)
                start += len(df)


class ParquetBatches:
    """The Parquet files of one source (the same columns and types in each), read `rows` rows at a time."""

    def __init__(self, files: list[Path], columns: list[str], hashes: dict[str, str] | None, rows: int):
        self.paths, self.columns, self.rows = files, columns, rows
        self.fmt, self.notes, self.header, self.line_offset, self.lines = "parquet", [], list(columns), None, None
        self.infos: list[dict[str, Any]] = []
        start = 0
        for path in files:
            try:
                _, count = parquet_header(path)
            except Unreadable as err:
                raise FileError(display(path), str(err)) from None
            sha = (hashes or {}).get(str(path)) or file_sha256(path)
            info = {"file": display(path), "sha256": sha, "rows_in": count, "start": start, BLANK_ROW: 0}
            info.update({REPEATED_HEADER: 0, "format": "parquet", "columns": list(columns)})
            self.infos.append(info)
            start += count

    @property
    def files(self) -> list[dict[str, Any]]:
        return self.infos

    def whole(self) -> RawRead:
        frame = pd.DataFrame(columns=self.columns)
        return RawRead(frame=frame, header=list(self.columns), fmt="parquet", files=self.infos, text=False)

    def batches(self) -> Iterator[Batch]:
        """Each batch as a frame indexed by row number, typed as a whole read types them."""
        for path, info in zip(self.paths, self.infos, strict=True):
            start = info["start"]
            try:
                for batch in pq.ParquetFile(path).iter_batches(batch_size=self.rows, columns=self.columns):
                    frame = pa.Table.from_batches([batch]).to_pandas(types_mapper=arrow_dtypes, ignore_metadata=True)
                    frame.index = pd.RangeIndex(start, start + len(frame))
                    yield Batch(frame, start, len(frame), np.zeros(len(frame), dtype=bool))
                    start += len(frame)
            except (pa.ArrowException, OSError, ValueError) as err:
                raise FileError(info["file"], f"cannot be read as Parquet: {err}") from None


def parquet_streamable(files: list[Path], columns_of) -> int | None:
    """The rows of a source of Parquet files that can be read in batches (each file holding the same columns of
    those the mapping reads, of the same types), else None. `columns_of(names)`: the columns read, from the first
    file's names (with every alternative of a column, which no file may have)."""
    schemas = [pq.ParquetFile(f).schema_arrow for f in files]
    wanted = columns_of(list(schemas[0].names))
    fields = [[s.field(c) for c in wanted if c in s.names] for s in schemas]
    if any(f != fields[0] for f in fields):
        return None
    return sum(parquet_header(f)[1] for f in files)
