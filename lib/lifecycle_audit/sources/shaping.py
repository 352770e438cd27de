"""Mapping real exports before the contract checks: a column's alternatives chosen per file (schema drift), values
read inside JSON columns, ids a file does not have, and one row per item of a JSON array.

`shape` turns a source's rows and mapping into rows and a mapping of plain column names, so the contract checks
(validate.validate_frame) read them as they read any file. What it cannot use is said per file (a file that has
none of a column's alternatives) or per row (text that is not JSON, a purchase without items), never as empty
values further on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import contract
from ..params import JSON_MARK, split_json
from .messages import listing
from .model import Problem, TableLoad, file_problem
from .read import RawRead

ROW_NUMBER = "row_number"
SHAPED_KINDS = ("bad_json", "no_items")  # the rejections of shaping, made before any column is checked
ID_SEPARATOR = "|"  # ids: {customer_id: [store, card_no]} -> "12|40017"
_BAD = object()  # a value that is not JSON
_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


@dataclass
class Shaped:
    """The rows and the mapping the contract checks read, and what shaping found wrong."""

    raw: RawRead
    src: Any  # params.Source with one plain column name (of raw.frame) per mapped contract column
    missing: list[Problem] = field(default_factory=list)  # files lacking a column: the table cannot be used
    rejections: list[dict[str, Any]] = field(default_factory=list)  # keyword arguments of a row rejection
    _bad_json: dict[str, tuple[str, np.ndarray, pd.Series]] = field(default_factory=dict)


def needs_shaping(src, raw: RawRead) -> bool:
    """True when the mapping asks for more than one plain column per contract column, or several files are read."""
    plain = all(isinstance(c, str) and split_json(c)[1] is None for c in src.columns.values())
    return not plain or bool(src.ids) or src.items is not None or len(raw.files) > 1


def shape(name: str, raw: RawRead, src, load: TableLoad) -> Shaped:
    """The rows of table `name` with every alternative, JSON path, id and item resolved into a plain column."""
    if not needs_shaping(src, raw):
        return Shaped(raw=raw, src=src)
    out = Shaped(raw=_copied(raw), src=src)
    columns: dict[str, str] = {}
    if src.items is not None:
        columns.update(_explode(name, out, load))
    codes = out.raw.file_codes()
    for col in contract.table(name).columns:
        if col.name in src.constants or col.name in src.derived or col.name in columns:
            continue
        if col.name in src.ids:
            columns[col.name] = _make_id(name, col.name, src.ids[col.name], out)
            continue
        given = src.columns.get(col.name, col.name)
        label = _resolve(name, col, given, out, codes)
        if label is not None or col.name in src.columns:
            columns[col.name] = label if label is not None else given
    for base, (column, mask, values) in out._bad_json.items():
        out.rejections.append(_bad_json_rejection(base, column, mask, values))
    out.raw.header = list(out.raw.frame.columns)
    out.src = src.model_copy(update={"columns": columns, "ids": {}, "items": None})
    return out


def _copied(raw: RawRead) -> RawRead:
    """A RawRead whose frame can take new columns without touching the one read."""
    return RawRead(
        frame=raw.frame.copy(deep=False),
        header=list(raw.header),
        fmt=raw.fmt,
        files=[dict(f) for f in raw.files],
        text=raw.text,
        line_offset=raw.line_offset,
        row_lines=raw.row_lines,
    )


# --- a column's alternatives, chosen per file ----------------------------------------------------


def _find(header: list[str], client: str) -> str | None:
    """The header's column of that name (or of that name once surrounding spaces are dropped)."""
    if client in header:
        return client
    return next((h for h in header if h.strip() == client.strip()), None)


def _resolve(name: str, col: contract.Column, given: str | list[str], out: Shaped, codes: np.ndarray) -> str | None:
    """The frame column holding contract column `col`: per file the first alternative it has; files lacking them all
    are problems when the column is required. None: leave it to the plain mapping (absent everywhere)."""
    alts = given if isinstance(given, list) else [given]
    headers = [f.get("columns", out.raw.header) for f in out.raw.files]
    choice = [next((a for a in alts if _find(h, split_json(a)[0]) is not None), None) for h in headers]
    if all(c is None for c in choice):
        if isinstance(given, list) and col.required:
            out.missing.extend(_lacking(name, col.name, alts, out.raw.files, range(len(headers)), headers))
        return None if not isinstance(given, list) else alts[0]
    if len(set(choice)) == 1 and split_json(choice[0])[1] is None:
        return _find(out.raw.frame.columns.tolist(), choice[0])
    lacking = [k for k, c in enumerate(choice) if c is None]
    if lacking and col.required:
        out.missing.extend(_lacking(name, col.name, alts, out.raw.files, lacking, headers))
        return alts[0]
    frame = out.raw.frame
    values = pd.Series(pd.NA, index=frame.index, dtype="string")
    used = list(dict.fromkeys(c for c in choice if c is not None))
    for alt in used:
        rows = np.isin(codes, [k for k, c in enumerate(choice) if c == alt])
        values[rows] = _values_of(col.name, alt, out, rows)
    label = " | ".join(used)
    frame[label] = values
    return label


def _lacking(name: str, column: str, alts: list[str], files: list[dict], which, headers) -> list[Problem]:
    """A problem per file that has none of the column's alternatives: the names looked for, the file's columns."""
    looked = listing([f"'{a}'" for a in alts])
    return [
        file_problem(
            name,
            files[k]["file"],
            "missing_column",
            f"lacks column {column} (contract {name}.{column}): looked for {looked} "
            f"(sources.{name}.columns.{column}); its columns are: {listing([repr(h) for h in headers[k]])}; add the "
            "name it has to the list of alternatives",
            column=column,
            client_column=alts[0],
        )
        for k in which
    ]


def _values_of(column: str, alt: str, out: Shaped, rows: np.ndarray) -> pd.Series:
    """The text of `alt` in `rows`: a plain column, or the value at a JSON path (bad JSON recorded)."""
    frame = out.raw.frame
    base, path = split_json(alt)
    base = _find(frame.columns.tolist(), base)
    if path is None:
        return frame.loc[rows, base].astype("string")
    parsed = _parsed(frame.loc[rows, base])
    _record_bad(out, base, column, rows, parsed, frame[base])
    return pd.Series([_text(_dig(v, path)) for v in parsed], index=frame.index[rows], dtype="string")


# --- JSON ------------------------------------------------------------------------------------------


def _parsed(values: pd.Series) -> list[Any]:
    """Each value parsed as JSON: None when empty, _BAD when not JSON (each distinct text parsed once)."""
    memo: dict[Any, Any] = {}
    out = []
    for v in values.tolist():
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
            continue
        if isinstance(v, (dict, list)):
            out.append(v)
            continue
        text = str(v)
        if text not in memo:
            memo[text] = _loads(text)
        out.append(memo[text])
    return out


def _loads(text: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _BAD


def _dig(value: Any, path: str) -> Any:
    """The value at a path ('.key', '[n]', in turn) inside parsed JSON; None where it is not there."""
    if value is _BAD:
        return None
    for key, index in _TOKEN.findall(path):
        if key and isinstance(value, dict):
            value = value.get(key)
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return None
    return value


def _text(value: Any) -> Any:
    """A JSON value as the text a file would hold (objects and arrays as JSON); pd.NA for null or absent."""
    if value is None:
        return pd.NA
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _record_bad(out: Shaped, base: str, column: str, rows: np.ndarray, parsed: list, values: pd.Series) -> None:
    """Remember the rows of `base` whose text is not JSON (one rejection per JSON column)."""
    bad = np.zeros(len(out.raw.frame), dtype=bool)
    bad[np.flatnonzero(rows)[[v is _BAD for v in parsed]]] = True
    if base in out._bad_json:
        first, mask, _ = out._bad_json[base]
        out._bad_json[base] = (first, mask | bad, values)
    else:
        out._bad_json[base] = (column, bad, values)


def _bad_json_rejection(base: str, column: str, mask: np.ndarray, values: pd.Series) -> dict[str, Any]:
    return {
        "mask": mask,
        "kind": "bad_json",
        "what": f"have text in the JSON column '{base}' that is not JSON",
        "expected": 'JSON text (e.g. {"revenue": 12.5}) or an empty value; the export may have cut or re-quoted it',
        "column": column,
        "raw": values.astype("string"),
        "client": base,
    }


# --- ids a file does not have ----------------------------------------------------------------------


def _make_id(name: str, column: str, spec: str | list[str], out: Shaped) -> str:
    """A frame column with the id: the row's number over the source, or the given columns joined by '|'."""
    frame = out.raw.frame
    if spec == ROW_NUMBER:
        label = "(row number)"
        frame[label] = pd.Series((frame.index + 1).astype(str), index=frame.index, dtype="string")
        return label
    found = [_find(frame.columns.tolist(), part) for part in spec]
    absent = [part for part, f in zip(spec, found, strict=True) if f is None]
    if absent:
        out.missing.append(
            file_problem(
                name,
                out.raw.files[0]["file"] if len(out.raw.files) == 1 else "(all files)",
                "missing_column",
                f"column(s) {listing([repr(a) for a in absent])} (used by sources.{name}.ids.{column}) are missing; "
                f"the columns read are: {listing([repr(h) for h in frame.columns])}",
                column=column,
                client_column=absent[0],
            )
        )
        return spec[0]
    parts = [frame[f].astype("string").str.strip() for f in found]
    joined = parts[0]
    empty = parts[0].isna() | (parts[0] == "")
    for part in parts[1:]:
        joined = joined + ID_SEPARATOR + part
        empty |= part.isna() | (part == "")
    label = " + ".join(spec)
    frame[label] = joined.mask(empty.fillna(True)).astype("string")
    return label


# --- one row per item --------------------------------------------------------------------------------


def _explode(name: str, out: Shaped, load: TableLoad) -> dict[str, str]:
    """One row per element of the items array (the row's other columns repeated); {contract column: frame column}.

    A row whose text is not JSON, or whose array is empty or absent, stays one row, rejected with its reason.
    Row numbers then count items; file lines still point at the row of the file.
    """
    spec = out.src.items
    raw = out.raw
    base, path = split_json(spec.column) if JSON_MARK in spec.column else (spec.column, "")
    found = _find(raw.frame.columns.tolist(), base)
    if found is None:
        out.missing.append(
            file_problem(
                name,
                load.file,
                "missing_column",
                f"column '{base}' (sources.{name}.items.column) is missing; the columns read are: "
                + listing([repr(h) for h in raw.frame.columns]),
                client_column=base,
            )
        )
        return {}
    parsed = _parsed(raw.frame[found])
    arrays = [v if v is _BAD else _dig(v, path or "") for v in parsed]
    counts = np.array([len(a) if isinstance(a, list) and a else 1 for a in arrays], dtype=np.int64)
    items = [item for a in arrays for item in (a if isinstance(a, list) and a else [None])]
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else np.zeros(0, dtype=np.int64)
    positions = np.repeat(np.arange(len(arrays)), counts)
    frame = raw.frame.iloc[positions].copy()
    frame.index = _item_index(raw, positions, out, load)
    columns = {}
    for column, item_path in spec.fields.items():
        label = f"{spec.column}[].{item_path}"
        dotted = item_path if item_path.startswith("[") else "." + item_path
        frame[label] = pd.Series([_text(_dig(item, dotted)) for item in items], index=frame.index, dtype="string")
        columns[column] = label
    out.raw.frame = frame
    out.raw.header = list(frame.columns)
    _reject_rows_without_items(out, name, spec, found, arrays, first, frame)
    return columns


def _item_index(raw: RawRead, positions: np.ndarray, out: Shaped, load: TableLoad) -> pd.Index:
    """New row numbers (items) laid out file by file; each file's rows_in and start, and the file lines, follow."""
    old = raw.frame.index.to_numpy()[positions]
    codes = raw.file_codes(old)
    index = np.zeros(len(old), dtype=np.int64)
    lines = _old_lines(raw, old, codes)
    start = 0
    for k, info in enumerate(out.raw.files):
        mine = codes == k
        not_data = info["rows_in"] - int(np.isin(raw.file_codes(), [k]).sum())
        index[mine] = start + np.arange(int(mine.sum()))
        info["start"], info["rows_in"] = start, int(mine.sum()) + not_data
        start += info["rows_in"]
    if lines is not None:
        out.raw.row_lines = pd.Series(lines, index=index)
    load.rows_in = start
    if load.parts:
        load.parts = [[f["file"], f["start"]] for f in out.raw.files]
    return pd.Index(index)


def _old_lines(raw: RawRead, old: np.ndarray, codes: np.ndarray) -> np.ndarray | None:
    """The file line of each original row (None when the file has no lines, e.g. Parquet)."""
    if raw.row_lines is not None:
        return raw.row_lines.reindex(old).to_numpy(dtype=np.int64)
    if raw.line_offset is None:
        return None
    return old - raw.starts[codes] + 1 + raw.line_offset


def _reject_rows_without_items(out: Shaped, name: str, spec, found: str, arrays: list, first, frame) -> None:
    """The item rows standing for a row whose text is not JSON, or whose array is empty or absent."""
    column = next(iter(spec.fields))
    shown = frame[found].astype("string")
    bad = np.zeros(len(frame), dtype=bool)
    none = np.zeros(len(frame), dtype=bool)
    for i, a in enumerate(arrays):
        if a is _BAD:
            bad[first[i]] = True
        elif not (isinstance(a, list) and a):
            none[first[i]] = True
    if bad.any():
        out.rejections.append(_bad_json_rejection(found, column, bad, shown))
    if none.any():
        out.rejections.append(
            {
                "mask": none,
                "kind": "no_items",
                "what": f"have no items in '{spec.column}' (an empty or absent array), so they yield no {name} row",
                "expected": 'a JSON array of items, e.g. [{"item_id": "A1", "price": 9.5, "quantity": 1}]',
                "column": column,
                "raw": shown,
                "client": spec.column,
            }
        )
