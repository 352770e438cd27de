"""Reading a source's files as they are: encodings, delimiters, Excel, Parquet, folders, blank and repeated header rows."""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ParamsError
from .coerce import is_text
from .messages import display, listing, missing_file_message
from .model import BLANK_ROW, REPEATED_HEADER, Progress

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
                notes.append(_other_columns_note(label, list(df.columns), header, infos[0]["file"]))
            df, info = _without_blank_rows(df, label, sha, fmt, start=sum(i["rows_in"] for i in infos))
            infos.append(info)
            parts.append(df)
    return _joined(parts, header, fmt0, infos, line_offset)


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
    names, _ = parquet_header(path)
    want = [c for c in columns if c in names] if columns is not None else names
    return [(shown, _read_parquet(path, want))], None


def _other_columns_note(label: str, columns: list[str], header: list[str], first: str) -> str:
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
    blank = blank_rows(df)
    again = repeated_header(df)
    info[BLANK_ROW] = int(blank.sum())
    info[REPEATED_HEADER] = int((again & ~blank).sum())
    if blank.any() or again.any():
        df = df[~(blank | again)]
    return df, info


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


def _read_text(path: Path, fmt: str, opts, notes: list[str]) -> pd.DataFrame:
    """Read a delimited text file as strings; encoding and delimiter are detected when not given (and noted)."""
    candidates = _encodings(opts.encoding)
    delimiter = _delimiter(path, fmt, opts, candidates[0], notes)
    last_error: UnicodeDecodeError | None = None
    for encoding in candidates:
        try:
            df = _read_csv(path, opts, encoding, delimiter)
        except UnicodeDecodeError as err:
            last_error = err
            continue
        if opts.encoding is None and encoding != "utf-8-sig":
            notes.append(
                f"{display(path)}: not UTF-8 ({last_error.reason} at byte {last_error.start}); "
                f"read as {encoding} (set read.encoding to override)"
            )
        return df
    err = last_error
    raise Unreadable(
        f"cannot be read as {opts.encoding or 'utf-8'} text ({err.reason} at byte {err.start}); "
        "set read.encoding, e.g. 'cp1252' or 'latin-1' for files saved by Excel on Windows"
    ) from None


def _encodings(given: str | None) -> list[str]:
    """The encodings to try in turn: the one given (UTF-8 with or without BOM), else UTF-8, cp1252, latin-1."""
    if given is None:
        return ["utf-8-sig", "cp1252", "latin-1"]
    return ["utf-8-sig" if given.lower().replace("_", "-") in ("utf-8", "utf8") else given]


def _delimiter(path: Path, fmt: str, opts, encoding: str, notes: list[str]) -> str:
    """read.delimiter, a tab for TSV, else sniffed (and noted when not a comma)."""
    if opts.delimiter is not None:
        return opts.delimiter
    if fmt == "tsv":
        return "\t"
    delimiter = _sniff_delimiter(path, encoding, opts.skip_rows)
    if delimiter != ",":
        notes.append(
            f"{display(path)}: delimiter {_name_delimiter(delimiter)} detected (set read.delimiter to override)"
        )
    return delimiter


def _read_csv(path: Path, opts, encoding: str, delimiter: str) -> pd.DataFrame:
    """One attempt at reading the file; raises UnicodeDecodeError for the wrong encoding, else Unreadable."""
    sep = r"\s+" if delimiter in ("whitespace", r"\s+") else ("\t" if delimiter in ("tab", "\\t") else delimiter)
    try:
        return pd.read_csv(
            path,
            sep=sep,
            dtype="string",
            keep_default_na=False,
            na_values=[],
            skip_blank_lines=sep == r"\s+",
            skiprows=opts.skip_rows,
            encoding=encoding,
            encoding_errors="strict",
            index_col=False,
            compression="infer",
            engine="c",
            header=0 if opts.header else None,
            names=opts.names if opts.names else None,
        )
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
        raise Unreadable(
            f"cannot be split into columns with the delimiter {_name_delimiter(delimiter)}: "
            f"{detail}; check read.delimiter and that text containing the delimiter is quoted"
        ) from None
    except (OSError, ValueError) as err:
        raise Unreadable(f"cannot be read: {err}") from None


def _sniff_delimiter(path: Path, encoding: str, skip_rows: int) -> str:
    lines = _sample_lines(path, encoding, skip_rows)
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


def _sample_lines(path: Path, encoding: str, skip_rows: int) -> list[str]:
    """The first lines of the file after skip_rows (a cut last line left out); none if it cannot be opened."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding=encoding, errors="replace", newline="") as fh:
            sample = fh.read(_SNIFF_BYTES)
    except OSError:
        return []
    lines = sample.splitlines()[skip_rows:]
    if len(sample) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    return lines


def _name_delimiter(d: str) -> str:
    return {"\t": "tab", ",": "','", ";": "';'", "|": "'|'", "whitespace": "whitespace"}.get(d, repr(d))


# --- Parquet and Excel -------------------------------------------------------------------------


def _arrow_type_mapper(t: pa.DataType):
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype("pyarrow")
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    return None


def parquet_header(path: Path) -> tuple[list[str], int]:
    """(column names, row count) of a Parquet file, from its metadata."""
    try:
        meta = pq.ParquetFile(path)
        return list(meta.schema_arrow.names), meta.metadata.num_rows
    except (pa.ArrowException, OSError, ValueError) as err:
        raise Unreadable(f"cannot be read as Parquet: {err}") from None


def _read_parquet(path: Path, columns: list[str]) -> pd.DataFrame:
    try:
        table = pq.read_table(path, columns=columns)
        return table.to_pandas(types_mapper=_arrow_type_mapper, ignore_metadata=True)
    except (pa.ArrowException, OSError, ValueError) as err:
        raise Unreadable(f"cannot be read as Parquet: {err}") from None


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
    # Cells keep their Excel types until here; as text, dates read as ISO ("2025-01-03 00:00:00").
    if every:
        return [(str(name), df.astype("string")) for name, df in read.items()]
    return [(None, read.astype("string"))]
