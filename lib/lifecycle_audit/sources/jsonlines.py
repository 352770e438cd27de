"""JSON lines (one JSON object per line), as tracking tools export raw events: read into a frame of text.

Segment, Snowplow (enriched events as JSON), RudderStack and most webhooks write one object per line with nested
objects ({"context": {"page": {"url": ...}}}). Each object becomes a row; nested objects are flattened into
dotted column names (`context.page.url`, `properties.revenue`), arrays and values of mixed kinds are kept as
JSON text, everything else as text (the contract's coercion reads numbers and dates from it). An empty line is
a blank row (counted as such); a line that is not a JSON object makes the file unreadable, naming the line.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import IO, Any

import pandas as pd

SUFFIXES = (".jsonl", ".ndjson")


class NotJsonLines(ValueError):
    """A line that is not a JSON object (the message names the line)."""


def flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, str | None]:
    """{dotted name: value as text} of a JSON object; nested objects flattened, arrays kept as JSON text."""
    out: dict[str, str | None] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = json.dumps(value, ensure_ascii=False)
        elif value is None:
            out[name] = None
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out


def records(stream: IO[bytes], encoding: str = "utf-8") -> Iterator[dict[str, str | None]]:
    """Each line of a JSON-lines byte stream as {dotted name: text} (a blank line as {}), in file order; a line that
    is not a JSON object raises NotJsonLines naming it. Lines are told as Python's universal newlines tell them, so
    that row N of a file is its line N, whether the lines are read all at once or some at a time."""
    text = io.TextIOWrapper(stream, encoding=encoding, newline=None)
    for number, line in enumerate(text, start=1):
        line = line.strip()
        if not line:
            yield {}
            continue
        yield flatten(_object(line, number))


def frame(rows: list[dict[str, str | None]], columns: list[str] | None = None) -> pd.DataFrame:
    """The records as a frame of strings (one row per record); with `columns`, those columns in that order (the
    records lacking one: empty), and one row per record even when none of them has a field."""
    df = pd.DataFrame.from_records(rows)
    if columns is None:
        return df.astype("string") if len(df.columns) else df
    return with_columns(df, len(rows), columns)


def with_columns(df: pd.DataFrame, rows: int, columns: list[str]) -> pd.DataFrame:
    """`df`, a frame of `rows` records, as strings with `columns` in that order (a record lacking one: empty). A frame
    of records none of which has a field has no rows: it gets its `rows` back."""
    if len(df) != rows:
        df = pd.DataFrame(index=pd.RangeIndex(rows))
    return df.reindex(columns=columns).astype("string")


def read(stream: IO[bytes], encoding: str = "utf-8") -> pd.DataFrame:
    """The objects of a JSON-lines byte stream as a frame of strings (one row per line, blank lines empty)."""
    return frame(list(records(stream, encoding)))


def _object(line: str, number: int) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise NotJsonLines(
            f"line {number} is not JSON ({err.msg} at character {err.colno}); a JSON-lines file holds one "
            "object per line"
        ) from None
    if not isinstance(obj, dict):
        raise NotJsonLines(f"line {number} holds a JSON {type(obj).__name__}, not an object ({{...}})")
    return obj
