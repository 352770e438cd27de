"""Reading a source's files as they are: encodings, delimiters, Excel, Parquet, folders, blank and repeated header rows."""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import lzma
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ParamsError
from . import jsonlines
from .coerce import is_text
from .messages import display, listing, missing_file_message
from .model import BLANK_ROW, REPEATED_HEADER, Progress
from .staged import arrow_dtypes

_SNIFF_DELIMITERS = ",;\t|"
_SNIFF_BYTES = 65536
_HASHES: dict[str, str] = {}  # per process: validate and run in one process hash each file once

Sheets = list[tuple[str, pd.DataFrame]]


class Unreadable(Exception):
    """The file cannot be read at all; the message says why and what to try."""


class SourceFileError(Exception):
    """A file of a source cannot be used at all."""

    def __init__(self, kind: str, file: str, message: str):
        self.kind, self.file, self.message = kind, file, message
        super().__init__(f"{file}: {message}")


@dataclass
class RawRead:
    """The rows of every file of one source, as read (text as strings), blank and repeated header rows removed.

    frame.index holds each row's global number (0-based, counting removed rows), so that
    `file_codes` gives each row's file and its 1-based data row number within it.
    """

    frame: pd.DataFrame
    header: list[str]
    fmt: str
    files: list[dict[str, Any]]  # per file: file (as shown), sha256, rows_in, start, blank_row, repeated_header
    text: bool  # values are strings read from text (CSV/TSV/Excel), not typed (Parquet)
    line_offset: int | None = None
    row_lines: pd.Series | None = None  # global row number -> file line, when a quoted value spans lines

    @property
    def starts(self) -> np.ndarray:
        return np.array([f["start"] for f in self.files], dtype=np.int64)

    @property
    def sha256(self) -> str:
        """The file's sha256; for several files, the sha256 of theirs."""
        if len(self.files) == 1:
            return self.files[0]["sha256"]
        return hashlib.sha256("".join(f["sha256"] for f in self.files).encode()).hexdigest()

    def file_codes(self, index=None) -> np.ndarray:
        """For each row (of `index`, default the frame's), the position of its file in `files`."""
        idx = np.asarray(self.frame.index if index is None else index, dtype=np.int64)
        return np.searchsorted(self.starts, idx, side="right") - 1


def file_sha256(path: Path) -> str:
    """The file's sha256, remembered per (path, size, mtime) so unchanged big files are not hashed twice."""
    path = Path(path)
    stat = path.stat()
    memo_key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"
    if memo_key in _HASHES:
        return _HASHES[memo_key]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    _HASHES[memo_key] = digest.hexdigest()
    return _HASHES[memo_key]


def read_source(
    params,
    name: str,
    progress: Progress = None,
    hashes: dict[str, str] | None = None,
    columns: list[str] | None = None,
    notes: list[str] | None = None,
) -> RawRead:
    """Read every file of sources[name] through the quirk layer (encoding, delimiter, blank and repeated
    header rows, Excel sheets, folders of files). Raises SourceFileError naming the file and what to try."""
    notes = notes if notes is not None else []
    files = params.input_files(name)
    if not files:
        path = params.source_path(name)
        raise SourceFileError("missing_file", display(path), missing_file_message(params, name, path))
    parts: list[pd.DataFrame] = []
    infos: list[dict[str, Any]] = []
    lines: list[pd.Series] = []
    header: list[str] | None = None
    fmt0 = line_offset = None
    for path in files:
        fmt, sha, sheets, offset = _read_file(path, name, params.sources[name], progress, hashes, columns, notes)
        fmt0 = fmt0 or fmt
        line_offset = offset if offset is not None else line_offset
        for label, df in sheets:
            df.columns = [str(c) for c in df.columns]
            if header is None:
                header = list(df.columns)
            elif list(df.columns) != header:
                notes.append(other_columns_note(label, list(df.columns), header, infos[0]["file"]))
            start = sum(i["rows_in"] for i in infos)
            lines.append(_file_lines(df, start, offset))
            df, info = _without_blank_rows(df, label, sha, fmt, start=start)
            info["columns"] = list(df.columns)  # per file: alternatives in `columns:` are chosen per file
            infos.append(info)
            parts.append(df)
    raw = _joined(parts, header, fmt0, infos, line_offset)
    if any(part.attrs.get("spans") for part in lines):
        raw.row_lines = pd.concat(lines)
    return raw


def _file_lines(df: pd.DataFrame, start: int, offset: int | None) -> pd.Series:
    """Each row's file line, by global row number (attrs["spans"]: a quoted value spans lines in this file)."""
    index = pd.RangeIndex(start, start + len(df))
    given = df.attrs.pop("file_lines", None)
    if given is not None:
        out = pd.Series(given, index=index, dtype="int64")
        out.attrs["spans"] = True
        return out
    return pd.Series(np.arange(len(df), dtype=np.int64) + 1 + (offset or 0), index=index)


def _read_file(
    path: Path,
    name: str,
    src,
    progress: Progress,
    hashes: dict[str, str] | None,
    columns: list[str] | None,
    notes: list[str],
) -> tuple[str, str, Sheets, int | None]:
    """(format, sha256, [(label, frame)] per sheet, file line of data row 0 or None) of one file."""
    shown = display(path)
    try:
        fmt = src.format_of(path)
    except ParamsError as err:
        raise SourceFileError("unreadable", shown, str(err)) from None
    if progress:
        progress(f"reading {name} ({shown})")
    sha = (hashes or {}).get(str(path)) or file_sha256(path)
    try:
        sheets, offset = _read_sheets(path, shown, fmt, src.read, columns, notes)
    except Unreadable as err:
        raise SourceFileError("unreadable", shown, str(err)) from None
    return fmt, sha, sheets, offset


def _read_sheets(
    path: Path, shown: str, fmt: str, opts, columns: list[str] | None, notes: list[str]
) -> tuple[Sheets, int | None]:
    if fmt in ("csv", "tsv"):
        offset = 1 + opts.skip_rows if opts.header else opts.skip_rows
        return [(shown, _read_text(path, fmt, opts, notes))], offset
    if fmt == "excel":
        return [
            (f"{shown} [{sheet}]" if sheet is not None else shown, df) for sheet, df in _read_excel(path, opts)
        ], 1 + opts.skip_rows
    if fmt == "jsonl":  # raw tracking events, one JSON object per line
        return [(shown, _read_json_lines(path, opts))], 0
    names, _ = parquet_header(path)
    want = [c for c in columns if c in names] if columns is not None else names
    return [(shown, _read_parquet(path, want))], None


def other_columns_note(label: str, columns: list[str], header: list[str], first: str) -> str:
    missing = [c for c in header if c not in columns]
    extra = [c for c in columns if c not in header]
    return (
        f"{label} has other columns than {first}"
        + (f": lacks {listing(missing)}" if missing else "")
        + (f"; adds {listing(extra)}" if extra else "")
    )


def _without_blank_rows(
    df: pd.DataFrame, label: str, sha: str, fmt: str, start: int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The sheet numbered from `start`, blank and repeated header rows taken out (text only); and its info."""
    info = {
        "file": label,
        "sha256": sha,
        "rows_in": len(df),
        "start": start,
        BLANK_ROW: 0,
        REPEATED_HEADER: 0,
        "format": fmt,
    }
    df.index = pd.RangeIndex(start, start + len(df))
    if fmt == "parquet" or not len(df):
        return df, info
    not_data = not_data_rows(df, info)
    if not_data.any():
        df = df[~not_data]
    return df, info


def not_data_rows(df: pd.DataFrame, info: dict[str, Any]) -> np.ndarray:
    """The blank rows and the rows repeating the header of text rows read from one file (`info`: the file's, whose
    counts of each they are added to), as a mask."""
    blank = blank_rows(df)
    again = repeated_header(df)
    info[BLANK_ROW] += int(blank.sum())
    info[REPEATED_HEADER] += int((again & ~blank).sum())
    return blank | again


def _joined(
    parts: list[pd.DataFrame], header: list[str] | None, fmt: str, infos: list[dict[str, Any]], line_offset: int | None
) -> RawRead:
    frame = parts[0] if len(parts) == 1 else pd.concat(parts)
    if header is not None:
        frame = frame.reindex(columns=list(dict.fromkeys(header + [c for c in frame.columns if c not in header])))
    return RawRead(
        frame=frame, header=list(frame.columns), fmt=fmt, files=infos, text=fmt != "parquet", line_offset=line_offset
    )


# --- rows that are not data --------------------------------------------------------------------


def repeated_header(raw: pd.DataFrame) -> np.ndarray:
    """Rows that repeat the header (exports glued together from several downloads)."""
    if raw.shape[1] == 0 or not is_text(raw.iloc[:, 0]):
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


def blank_rows(raw: pd.DataFrame) -> np.ndarray:
    """Rows in which every column is empty or whitespace."""
    if raw.shape[1] == 0:
        return np.zeros(len(raw), dtype=bool)
    blank = _is_empty(raw.iloc[:, 0])
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


# --- delimited text ----------------------------------------------------------------------------

_BOMS = (  # longest first: a UTF-32-LE mark starts like a UTF-16-LE one
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_MAGIC = (  # compressed files are known by their first bytes, whatever their name says
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"PK\x03\x04", "zip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_DAMAGED = (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError, zipfile.BadZipFile)


@dataclass
class _TextFile:
    """How a delimited text file is stored: compression (by magic bytes), byte-order mark, encodings to try."""

    path: Path
    compression: str | None
    bom: bytes
    candidates: list[str]
    head: bytes  # the first bytes after decompression
    why: str | None = None  # how the encoding was found, for the note

    def open(self) -> IO[bytes]:
        """The file's bytes, decompressed, after its byte-order mark."""
        fh = _open_decompressed(self.path, self.compression)
        fh.read(len(self.bom))
        return fh


def _open_decompressed(path: Path, compression: str | None) -> IO[bytes]:
    if compression == "gzip":
        return gzip.open(path, "rb")
    if compression == "bz2":
        return bz2.open(path, "rb")
    if compression == "xz":
        return lzma.open(path, "rb")
    if compression == "zip":
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.namelist() if not m.endswith("/")]
        if any(m.startswith("xl/") for m in members):
            raise Unreadable("is an Excel workbook, not delimited text: set `format: excel` (or name it .xlsx)")
        if len(members) != 1:
            raise Unreadable(f"is a zip archive of {len(members)} files; unpack it and point sources at the files")
        return archive.open(members[0])
    if compression == "zstd":
        raise Unreadable("is zstd-compressed, which the workbook does not read; unpack it (unzstd) first")
    return open(path, "rb")


def _text_file(path: Path, opts) -> _TextFile:
    """Compression by magic bytes, then the encoding: read.encoding, else a byte-order mark, else the pattern of
    NUL bytes (UTF-16/32 without a mark), else UTF-8, cp1252, latin-1 in turn."""
    with open(path, "rb") as fh:
        magic = fh.read(8)
    compression = next((name for sig, name in _MAGIC if magic.startswith(sig)), None)
    try:
        with _open_decompressed(path, compression) as fh:
            head = fh.read(_SNIFF_BYTES)
    except _DAMAGED as err:
        raise Unreadable(_damaged(compression, err)) from None
    bom, from_bom = next(((sig, enc) for sig, enc in _BOMS if head.startswith(sig)), (b"", None))
    if opts.encoding is not None:
        given = opts.encoding.lower().replace("_", "-")
        keep = bom if from_bom and (given.replace("-sig", "") == from_bom or from_bom == "utf-8") else b""
        return _TextFile(path, compression, keep, [opts.encoding], head[len(keep) :])
    if from_bom == "utf-8":  # a UTF-8 mark, but Excel on Windows may have written cp1252 after it
        return _TextFile(
            path, compression, bom, ["utf-8", "cp1252", "latin-1"], head[len(bom) :], "a UTF-8 byte-order mark"
        )
    if from_bom:
        return _TextFile(path, compression, bom, [from_bom], head[len(bom) :], f"its byte-order mark ({from_bom})")
    by_nuls = _nul_pattern(head)
    if by_nuls:
        return _TextFile(path, compression, b"", [by_nuls], head, f"its NUL bytes ({by_nuls}, no byte-order mark)")
    if b"\x00" in head[:4096]:
        raise Unreadable(
            "holds NUL bytes, so it is not delimited text (a binary file, or an export saved in another format?); "
            "save it as CSV, or set read.encoding if it is UTF-16 or UTF-32"
        )
    return _TextFile(path, compression, b"", ["utf-8", "cp1252", "latin-1"], head)


def _nul_pattern(head: bytes) -> str | None:
    """UTF-16 or UTF-32 told by where the NUL bytes of mostly-ASCII text fall; None when they do not say."""
    sample = head[: 4096 - 4096 % 4]
    if len(sample) < 8 or sample.count(0) < len(sample) // 4:
        return None
    zero = [sum(1 for b in sample[i::4] if b == 0) / max(1, len(sample[i::4])) for i in range(4)]
    high, low = (lambda i: zero[i] > 0.9), (lambda i: zero[i] < 0.5)
    if low(0) and high(1) and high(2) and high(3):
        return "utf-32-le"
    if high(0) and high(1) and high(2) and low(3):
        return "utf-32-be"
    if low(0) and high(1) and low(2) and high(3):
        return "utf-16-le"
    if high(0) and low(1) and high(2) and low(3):
        return "utf-16-be"
    return None


def _damaged(compression: str | None, err: Exception) -> str:
    what = f"{compression} data" if compression else "file"
    return f"the {what} ends early or is damaged ({type(err).__name__}: {err}); copy or download the file again" + (
        " (it may have been cut short)" if isinstance(err, EOFError) else ""
    )


def _read_text(path: Path, fmt: str, opts, notes: list[str]) -> pd.DataFrame:
    """Read a delimited text file as strings; compression, encoding and delimiter are detected when not given (and
    noted). The file lines of the rows are kept in df.attrs["file_lines"] when a quoted value spans lines."""
    tf, delimiter = text_setup(path, fmt, opts, notes)
    last_error: UnicodeDecodeError | None = None
    for encoding in tf.candidates:
        try:
            df = _read_csv(tf, opts, encoding, delimiter)
        except UnicodeDecodeError as err:
            last_error = err
            continue
        if opts.encoding is None:
            note_encoding(path, tf, encoding, last_error, notes)
        _check_header(df, tf, encoding, delimiter, opts)
        _mark_spanning_rows(df, tf, delimiter, opts)
        return df
    raise undecodable(opts, last_error)


def text_setup(path: Path, fmt: str, opts, notes: list[str]) -> tuple[_TextFile, str]:
    """How a delimited text file is stored and its delimiter, before its rows are read (compression, a name that
    says otherwise and a delimiter other than a comma noted); read.skip_rows checked against its lines."""
    tf = _text_file(path, opts)
    if tf.compression and (tf.compression != "gzip" or path.suffix.lower() != ".gz"):
        notes.append(f"{display(path)}: {tf.compression}-compressed (though named {path.name}); read so")
    if opts.skip_rows:
        _check_skip_rows(tf, opts.skip_rows)
    return tf, _delimiter(path, fmt, opts, tf, notes)


def undecodable(opts, err: UnicodeDecodeError) -> Unreadable:
    """The error when no encoding to try reads the file (`err`: the last one's)."""
    return Unreadable(
        f"cannot be read as {opts.encoding or 'utf-8'} text ({err.reason} at byte {err.start}); "
        "set read.encoding, e.g. 'cp1252' or 'latin-1' for files saved by Excel on Windows"
    )


def lines_above(files: list[Path], opts, n: int) -> bool:
    """True when the delimited text files hold more than `n` lines together (newline bytes, decompressed): counted
    only as far as `n`, so that a large file is not read to its end to tell that it is large."""
    count = 0
    for path in files:
        count += _line_breaks(_text_file(path, opts), stop=n - count)
        if count > n:
            return True
    return False


def same_headers(files: list[Path], fmt: str, opts) -> bool:
    """True when the delimited text files have one header, as pandas reads it in the first encoding to try (the
    first lines only)."""
    headers = []
    for path in files:
        tf, delimiter = text_setup(path, fmt, opts, [])
        with csv_errors(tf, opts, delimiter), tf.open() as fh:
            columns = pd.read_csv(fh, nrows=0, **csv_options(opts, tf.candidates[0], delimiter)).columns
        headers.append([str(c) for c in columns])
    return all(h == headers[0] for h in headers)


def _read_json_lines(path: Path, opts) -> pd.DataFrame:
    """A JSON-lines file (compression and encoding detected as for delimited text) as a frame of strings."""
    tf = _text_file(path, opts)
    with json_errors(tf), tf.open() as fh:
        return jsonlines.read(fh, tf.candidates[0])


def json_text(path: Path, opts) -> _TextFile:
    """How a JSON-lines file is stored (compression, byte-order mark, the encoding read: the first to try)."""
    return _text_file(path, opts)


@contextmanager
def json_errors(tf: _TextFile) -> Iterator[None]:
    """What goes wrong while a JSON-lines file is read, as Unreadable saying what to do (one encoding only)."""
    try:
        yield
    except jsonlines.NotJsonLines as err:
        raise Unreadable(str(err)) from None
    except UnicodeDecodeError as err:
        raise Unreadable(
            f"is not {tf.candidates[0]} text ({err.reason} at byte {err.start}); set read.encoding"
        ) from None
    except _DAMAGED as err:
        raise Unreadable(_damaged(tf.compression, err)) from None


def note_encoding(path: Path, tf: _TextFile, encoding: str, error: UnicodeDecodeError | None, notes: list) -> None:
    if tf.why and encoding == tf.candidates[0] and encoding != "utf-8":
        notes.append(f"{display(path)}: read as {encoding}, told by {tf.why} (set read.encoding to override)")
    elif error is not None:
        mark = " after its UTF-8 byte-order mark" if tf.bom == b"\xef\xbb\xbf" else ""
        notes.append(
            f"{display(path)}: not UTF-8{mark} ({error.reason} at byte {error.start}); "
            f"read as {encoding} (set read.encoding to override)"
        )


def _check_skip_rows(tf: _TextFile, skip_rows: int) -> None:
    """read.skip_rows must leave lines to read (pandas would build a list of every row number to skip)."""
    lines, chunk = 0, b""
    try:
        with tf.open() as fh:
            for piece in iter(lambda: fh.read(1 << 20), b""):
                chunk = piece
                lines += chunk.count(b"\n")
                if lines > skip_rows:
                    return
            lines += 0 if not chunk or chunk.endswith(b"\n") else 1
    except _DAMAGED as err:
        raise Unreadable(_damaged(tf.compression, err)) from None
    raise Unreadable(
        f"read.skip_rows is {skip_rows:,}, but the file has only {lines:,} {'line' if lines == 1 else 'lines'}; "
        "set read.skip_rows to the number of lines above the header"
    )


def _encodings(given: str | None) -> list[str]:
    """The encodings to try in turn: the one given, else UTF-8, cp1252, latin-1."""
    if given is None:
        return ["utf-8", "cp1252", "latin-1"]
    return [given]


def _delimiter(path: Path, fmt: str, opts, tf: _TextFile, notes: list[str]) -> str:
    """read.delimiter, a tab for TSV, else sniffed (and noted when not a comma)."""
    if opts.delimiter is not None:
        return opts.delimiter
    if fmt == "tsv":
        return "\t"
    delimiter = _sniff_delimiter(_head_lines(tf, tf.candidates[0], opts.skip_rows))
    if delimiter != ",":
        notes.append(
            f"{display(path)}: delimiter {_name_delimiter(delimiter)} detected (set read.delimiter to override)"
        )
    return delimiter


def _head_lines(tf: _TextFile, encoding: str, skip_rows: int) -> list[str]:
    """The first lines of the file after skip_rows (a cut last line left out)."""
    try:
        sample = tf.head.decode(encoding, errors="replace")
    except LookupError:
        return []
    lines = sample.splitlines()[skip_rows:]
    if len(tf.head) >= _SNIFF_BYTES - len(tf.bom) and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    return lines


def _separator(delimiter: str) -> str:
    return r"\s+" if delimiter in ("whitespace", r"\s+") else ("\t" if delimiter in ("tab", "\\t") else delimiter)


def _read_csv(tf: _TextFile, opts, encoding: str, delimiter: str) -> pd.DataFrame:
    """One attempt at reading the file; raises UnicodeDecodeError for the wrong encoding, else Unreadable."""
    with csv_errors(tf, opts, delimiter), tf.open() as fh:
        return pd.read_csv(fh, **csv_options(opts, encoding, delimiter))


def csv_options(opts, encoding: str, delimiter: str) -> dict[str, Any]:
    """The options of pandas' C parser for a delimited text file: every value a string, as written."""
    sep = _separator(delimiter)
    return {
        "sep": sep,
        "dtype": "string",
        "keep_default_na": False,
        "na_values": [],
        "skip_blank_lines": sep == r"\s+",
        "skiprows": opts.skip_rows,
        "encoding": encoding,
        "encoding_errors": "strict",
        "index_col": False,
        "compression": None,
        "engine": "c",
        "header": 0 if opts.header else None,
        "names": opts.names if opts.names else None,
    }


@contextmanager
def csv_errors(tf: _TextFile, opts, delimiter: str) -> Iterator[None]:
    """What goes wrong while pandas parses the text, as Unreadable saying what to do (UnicodeDecodeError passes:
    the next encoding is tried)."""
    try:
        yield
    except UnicodeDecodeError:
        raise
    except LookupError:
        raise Unreadable(
            f"unknown encoding {opts.encoding!r} in read.encoding; try 'utf-8', 'cp1252' or 'latin-1'"
        ) from None
    except pd.errors.EmptyDataError:
        raise Unreadable("the file is empty: expected a header row with the column names") from None
    except pd.errors.ParserError as err:
        detail = str(err).removeprefix("Error tokenizing data. C error: ").strip()
        if "EOF inside string" in detail:
            raise Unreadable(
                f'a quote (") opens a value that never closes ({detail}); close or remove that quote in the file'
            ) from None
        raise Unreadable(
            f"cannot be split into columns with the delimiter {_name_delimiter(delimiter)}: "
            f"{detail}; check read.delimiter and that text containing the delimiter is quoted"
        ) from None
    except _DAMAGED as err:
        raise Unreadable(_damaged(tf.compression, err)) from None
    except (OSError, ValueError) as err:
        raise Unreadable(f"cannot be read: {err}") from None


def _check_header(df: pd.DataFrame, tf: _TextFile, encoding: str, delimiter: str, opts) -> None:
    """Two columns with the same name are an error (pandas would silently rename the second 'x.1')."""
    duplicates = header_problem(df, tf, encoding, delimiter, opts)
    if duplicates:
        raise Unreadable(duplicates)


def header_problem(df: pd.DataFrame, tf: _TextFile, encoding: str, delimiter: str, opts) -> str | None:
    """The message when the header names a column twice, else None (`df`: the rows read, or the first of them)."""
    if not opts.header:
        names = list(opts.names or [])
    elif not any(re.search(r"\.\d+$", str(c)) for c in df.columns):
        return None
    else:
        line = next(iter(_head_lines(tf, encoding, opts.skip_rows)), "")
        sep = _separator(delimiter)
        names = line.split() if sep == r"\s+" else next(csv.reader([line], delimiter=sep), [])
    return _duplicates(names)


def _duplicates(names: list[str]) -> str | None:
    """A message naming the header's repeated column names and their positions, or None."""
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        seen.setdefault(str(name).strip(), []).append(i)
    repeated = {n: where for n, where in seen.items() if len(where) > 1}
    if not repeated:
        return None
    shown = "; ".join(f"'{n}' in columns {', '.join(map(str, w))}" for n, w in repeated.items())
    return (
        f"the header names the same column more than once ({shown}); which one is meant cannot be told: "
        "rename or remove the copies in the export"
    )


def _mark_spanning_rows(df: pd.DataFrame, tf: _TextFile, delimiter: str, opts) -> None:
    """Quoted values that span lines: keep each row's file line (df.attrs["file_lines"]), and refuse a quote
    that swallows whole rows (a quote left open that closes lines later), which would lose rows without a word."""
    if not len(df) or not any(is_text(df[c]) for c in df.columns):
        return
    if _line_breaks(tf) <= len(df) + (1 if opts.header else 0) + opts.skip_rows:
        return  # one line per row: no value spans lines (counting bytes is much faster than scanning values)
    breaks = value_breaks(df)
    if not breaks.any():
        return
    first = (1 if opts.header else 0) + opts.skip_rows + 1
    lines = first + np.arange(len(df)) + np.concatenate([[0], np.cumsum(breaks)[:-1]])
    df.attrs["file_lines"] = lines
    swallowed = swallowed_rows(df, breaks, lines, delimiter)
    if swallowed:
        raise Unreadable(swallowed)


def value_breaks(df: pd.DataFrame) -> np.ndarray:
    """How many line breaks each row's values hold (quoted values spanning lines)."""
    breaks = np.zeros(len(df), dtype=np.int64)
    for c in df.columns:
        if is_text(df[c]):
            breaks += df[c].str.count("\n").fillna(0).to_numpy(dtype=np.int64)
    return breaks


def swallowed_rows(df: pd.DataFrame, breaks: np.ndarray, lines: np.ndarray, delimiter: str) -> str | None:
    """The message for the first value whose quote takes in lines that look like rows of their own, else None
    (`breaks`, `lines`: each row's line breaks and file line)."""
    text_cols = [c for c in df.columns if is_text(df[c])]
    ncols = len(df.columns)
    sep = _separator(delimiter)
    for row in np.flatnonzero(breaks):
        for c in text_cols:
            value = df.iat[row, df.columns.get_loc(c)]
            if isinstance(value, str) and "\n" in value and _swallows_rows(value, sep, ncols):
                return (
                    f"line {lines[row]}: a quote (\") opens a value in column '{c}' that runs on to line "
                    f"{lines[row] + value.count(chr(10))}, taking in {value.count(chr(10))} "
                    f"{'line that looks' if value.count(chr(10)) == 1 else 'lines that look'} like rows of their own; "
                    "those rows would be lost: close or remove that quote in the file"
                )
    return None


def _line_breaks(tf: _TextFile, stop: int | None = None) -> int:
    """How many newline bytes the file holds (an upper bound of its line breaks in any encoding); with `stop`,
    counted only until there are more than `stop` (the rest of a large file is not read)."""
    count = 0
    with tf.open() as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            count += chunk.count(b"\n")
            if stop is not None and count > stop:
                break
    return count


def _swallows_rows(value: str, sep: str, ncols: int) -> bool:
    """True when a line inside the value holds as many delimiters as a row of the file."""
    if ncols < 2 or sep == r"\s+":
        return False
    return any(line.count(sep) >= ncols - 1 for line in value.split("\n")[1:])


def _sniff_delimiter(lines: list[str]) -> str:
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


# --- Parquet and Excel -------------------------------------------------------------------------


def parquet_header(path: Path) -> tuple[list[str], int]:
    """(column names, row count) of a Parquet file, from its metadata."""
    try:
        meta = pq.ParquetFile(path)
        names, rows = list(meta.schema_arrow.names), meta.metadata.num_rows
    except (pa.ArrowException, OSError, ValueError) as err:
        raise Unreadable(f"cannot be read as Parquet: {err}") from None
    duplicates = _duplicates(names)
    if duplicates:
        raise Unreadable(duplicates)
    return names, rows


def _read_parquet(path: Path, columns: list[str]) -> pd.DataFrame:
    try:
        table = pq.read_table(path, columns=columns)
        return table.to_pandas(types_mapper=arrow_dtypes, ignore_metadata=True)
    except (pa.ArrowException, OSError, ValueError) as err:
        raise Unreadable(f"cannot be read as Parquet: {err}") from None


def _check_excel_header(path: Path, opts, sheet, df: pd.DataFrame) -> None:
    """Two columns of a sheet with the same header are an error (pandas renames the second 'x.1')."""
    if not opts.header or not any(re.search(r"\.\d+$", str(c)) for c in df.columns):
        return
    first = pd.read_excel(path, sheet_name=sheet, header=None, nrows=1, skiprows=opts.skip_rows, dtype=object)
    duplicates = _duplicates([str(v) for v in first.iloc[0].tolist()]) if len(first) else None
    if duplicates:
        raise Unreadable(duplicates + (f" (sheet {sheet})" if isinstance(sheet, str) else ""))


def _read_excel(path: Path, opts) -> list[tuple[str | None, pd.DataFrame]]:
    """[(sheet name or None, frame of strings)]: one sheet (read.sheet, default the first) or every sheet ('*')."""
    every = opts.sheet == "*"
    try:
        read = pd.read_excel(
            path,
            sheet_name=None if every else (opts.sheet if opts.sheet is not None else 0),
            dtype=object,
            keep_default_na=False,
            na_values=[],
            skiprows=opts.skip_rows,
            header=0 if opts.header else None,
            names=opts.names,
        )
    except ImportError as err:
        m = re.search(r"'([A-Za-z0-9_\-]+)'", str(err))
        package = m.group(1) if m else "openpyxl"
        raise Unreadable(
            f"reading Excel files needs the {package} package, which is not installed: "
            f"`pip install {package}`, or save the sheet as CSV and point sources at that"
        ) from None
    except Exception as err:  # noqa: BLE001 - the Excel readers raise many kinds of errors
        raise Unreadable(f"cannot be read as an Excel workbook: {err}") from None
    for name, df in read.items() if every else [(opts.sheet, read)]:
        _check_excel_header(path, opts, name if name is not None else 0, df)
    # Cells keep their Excel types until here; as text, dates read as ISO ("2025-01-03 00:00:00").
    if every:
        return [(str(name), df.astype("string")) for name, df in read.items()]
    return [(None, read.astype("string"))]
