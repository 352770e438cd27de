"""What the consultant reads about a client file: row problems, missing files and columns, shown values."""

from __future__ import annotations

import contextvars
import difflib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from .. import contract, paths

MAX_VALUE_CHARS = 40


def listing(items: list[str], limit: int = 30) -> str:
    """The items joined by commas, the ones past `limit` counted ("and 4 more")."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# --- English grammar: every count and article in the messages goes through these -------------------------

# Words starting with a vowel letter but a consonant sound ("a unique key", "a user id").
_CONSONANT_SOUNDS = ("uni", "use", "usa", "usu", "one", "eu")


def article(word: str) -> str:
    """The word with its indefinite article: "an order_id", "a customer_id", "a unique key"."""
    w = word.strip("'\"`").lower()
    vowel = w[:1] in ("a", "e", "i", "o", "u") and not w.startswith(_CONSONANT_SOUNDS)
    return f"{'an' if vowel else 'a'} {word}"


def plural(n: int, word: str, words: str | None = None) -> str:
    """The count with its noun: "1 row", "1,234 rows", "1 entry" / "2 entries" (give `words` when not +s)."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def verb(n: int, one: str, many: str) -> str:
    """The verb agreeing with a count: verb(1, "was", "were") -> "was"."""
    return one if n == 1 else many


def show_value(v: Any) -> str:
    """A cell value as an example: empty for missing values, cut to MAX_VALUE_CHARS."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    text = str(v)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def mask_value(value: str) -> str:
    """An identifier or e-mail address with most of it starred out."""
    if not value:
        return value
    if "@" in value:
        user, _, domain = value.partition("@")
        return (user[:1] + "***@" + domain) if domain else "***"
    keep = 2 if len(value) >= 6 else 0
    return value[:keep] + "*" * (len(value) - keep)


def pct(share: float) -> str:
    """A share as a percentage, with two decimals below 0.1%."""
    return f"{share:.1%}" if share >= 0.001 else f"{share:.2%}"


_BASE: contextvars.ContextVar[Path | None] = contextvars.ContextVar("data_dir", default=None)


@contextmanager
def shown_from(data_dir: Path) -> Iterator[None]:
    """Meanwhile, paths inside `data_dir` are shown relative to it: the report names the client's files as they
    know them, never the consultant's folders."""
    token = _BASE.set(Path(data_dir).resolve())
    try:
        yield
    finally:
        _BASE.reset(token)


def display(path: Path) -> str:
    """A path as shown: relative to the data folder being read (see shown_from), else to the project root when
    inside it, else as given."""
    resolved = Path(path).resolve()
    for base in (_BASE.get(), paths.ROOT):
        if base is not None and resolved.is_relative_to(base) and resolved != base:
            return str(resolved.relative_to(base))
    return str(path)


def loose(value: str) -> str:
    """A spelling without case, spaces, dashes or slashes ("Paid Search" ~ "paid_search")."""
    return re.sub(r"[\s\-/]+", "_", str(value).strip().lower())


# --- row problems ------------------------------------------------------------------------------


def row_message(p) -> str:
    """The whole story of a row problem (a sources.model.Problem): column, count, examples, expected."""
    plural = p.count != 1
    what = p.what if plural else _singular(p.what)
    return f"{_row_head(p)}: {p.count:,} row{'s' if plural else ''} {what}, {_row_examples(p)}; expected {p.expected}"


def preset_message(reason: dict[str, Any]) -> str:
    """The story of a preset's rejected rows: count, what is wrong, the export's field, example rows and values."""
    n, column = reason["rows"], reason.get("column")
    examples = reason.get("examples") or []
    values = [v for v in reason.get("values") or [] if v != ""]
    where = f" (field {column})" if column else ""
    text = f"{plural(n, 'row')} rejected{where}: {reason['description']}"
    if examples:
        text += f", e.g. {'row' if len(examples) == 1 else 'rows'} " + ", ".join(map(str, examples))
        if values:
            text += f" ({'value' if len(values) == 1 else 'values'} " + ", ".join(f"'{v}'" for v in values) + ")"
    return text


def blame(cause, personal: bool = False) -> str:
    """What rows pointing at a rejected row are told (the `expected` of their problem): why their row in the other
    table was rejected (`cause`, that table's sources.model.Problem) and how to fix it; not a suggestion that the
    exports were cut at different dates. `personal`: the cause's values identify a person (masked)."""
    value = next((v for v in cause.example_values if v != ""), None)
    if value is not None and (personal or "@" in value):
        value = mask_value(value)
    what = cause.what if cause.count != 1 else _singular(cause.what)
    example = f" (e.g. '{value}')" if value is not None else ""
    return (
        f"the {cause.table} row to be usable: {plural(cause.count, 'row')} of column '{cause.client_column}' "
        f"(contract {cause.table}.{cause.column}) {what}{example}, where the contract expects {cause.expected}; "
        "fix that and these rows are used too"
    )


def _row_head(p) -> str:
    if p.column and "," in p.column:  # a key of several columns
        clients = ", ".join(f"'{c.strip()}'" for c in (p.client_column or p.column).split(","))
        return f"columns {clients} (contract {p.table} key {' + '.join(c.strip() for c in p.column.split(','))})"
    return f"column '{p.client_column}' (contract {p.table}.{p.column})"


def _row_examples(p) -> str:
    if p.example_files:
        rows = ", ".join(f"{r} of {Path(f).name}" for r, f in zip(p.examples, p.example_files, strict=False))
    else:
        rows = ", ".join(str(r) for r in p.examples)
    where = f"e.g. row{'s' if len(p.examples) > 1 else ''} {rows}"
    extra = []
    if p.example_values and any(v != "" for v in p.example_values):
        extra.append(
            "value" + ("s " if len(p.example_values) > 1 else " ") + ", ".join(f"'{v}'" for v in p.example_values)
        )
    if p.example_lines:
        extra.append("file line" + ("s " if len(p.example_lines) > 1 else " ") + ", ".join(map(str, p.example_lines)))
    elif p.line_offset is not None and p.examples:
        extra.append(
            "file line" + ("s " if len(p.examples) > 1 else " ") + ", ".join(str(r + p.line_offset) for r in p.examples)
        )
    return where + (f" ({'; '.join(extra)})" if extra else "")


def _singular(what: str) -> str:
    for plural, single in (("have ", "has "), ("are ", "is "), ("repeat ", "repeats "), ("point ", "points ")):
        if what.startswith(plural):
            return single + what[len(plural) :]
    return what


def type_words(col: contract.Column, opts, bad_values: pd.Series) -> tuple[str, str]:
    """(what is wrong, what was expected) for values that could not be converted to the column's kind."""
    if col.kind in (contract.TIMESTAMP, contract.DATE):
        return "have a date that cannot be read", _date_expected(opts)
    if col.kind == contract.BOOL:
        return ("have a value that is not yes/no", "true/false, yes/no, y/n, 1/0 or ja/nein (any case)")
    what = (
        "have a value that is not a whole number" if col.kind == contract.INT else "have a value that is not a number"
    )
    return what, _number_expected(col, opts, bad_values)


def _date_expected(opts) -> str:
    if opts.date_format:
        return f"dates in the layout '{opts.date_format}' (read.date_format)"
    return (
        "dates like 2025-03-31 or 2025-03-31 14:05:00 (ISO 8601) or 31.03.2025; "
        "for another layout set read.date_format, e.g. '%d/%m/%Y %H:%M'"
    )


def _number_expected(col: contract.Column, opts, bad_values: pd.Series) -> str:
    number = "a whole number" if col.kind == contract.INT else "a number"
    layout = f"decimal mark '{opts.decimal or '.'}'" + (
        f", thousands separator '{opts.thousands}'" if opts.thousands else ", no thousands separator"
    )
    expected = f"{number} ({layout}; set read.decimal / read.thousands for another layout)"
    sample = bad_values.dropna().astype(str).head(200)
    if (opts.decimal or ".") == "." and len(sample) and sample.str.fullmatch(r"\s*-?\d+,\d+\s*").mean() > 0.5:
        expected += "; these look like decimal commas: set read.decimal: ','"
    return expected


# --- whole files -------------------------------------------------------------------------------


def missing_file_message(params, name: str, path: Path) -> str:
    """Where the file of sources[name] was looked for, and the names it may have meant."""
    src = params.sources[name]
    given = f"sources.{name}.{'file' if src.file else 'files'} is '{src.file or src.files}'"
    if path.is_dir():
        return (
            f"is a folder with no files in it ({given}; a folder's files are read, its subfolders are not); "
            "point it at the folder holding the exports, or at the file itself"
        )
    if path.exists() and not path.is_file():
        return (
            f"is not a regular file but a named pipe, socket or device ({given}); the workbook reads files only: "
            "save the export as a file and point sources at it"
        )
    message = (
        f"file not found (the {name} {'source' if src.preset else 'table'}; sources.{name}."
        f"{'file' if src.file else 'files'} is '{src.file or src.files}', "
        f"looked in {display(path.parent)})"
    )
    if not path.parent.is_dir():
        return message + f"; the folder {display(path.parent)} does not exist: check data_dir"
    present = sorted(p.name for p in path.parent.iterdir() if p.is_file() and not p.name.startswith("."))
    close = difflib.get_close_matches(path.name, present, n=3, cutoff=0.5)
    if close:
        return message + "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    if present:
        return message + "; that folder holds: " + listing(present)
    return message


def missing_column_message(table: str, column: str, client: str, src, header: list[str], fmt: str) -> str:
    """A required column is not in the file: the file's columns, the likeliest one meant, how to map it."""
    mapped = column in src.columns
    head = f"column '{client}' (contract {table}.{column}) is missing" + (
        ""
        if mapped
        else f": sources.{table}.columns does not map {column}, so a column named '{column}' was looked for"
    )
    message = f"{head}; the file's columns are: " + listing([f"'{h}'" for h in header])
    close = _closest_free_column(column, client, src, header)
    if close:
        message += f"; did you mean '{close}'? (sources.{table}.columns: {{{column}: '{close}'}})"
    else:
        message += f"; map it in sources.{table}.columns ({column}: <the client's column name>)"
    if fmt in ("csv", "tsv") and len(header) == 1 and any(d in header[0] for d in ";,\t|"):
        message += "; the header was read as a single column: is read.delimiter right?"
    return message


def _closest_free_column(column: str, client: str, src, header: list[str]) -> str | None:
    """The file's column most like the one looked for, among those the mapping does not give elsewhere.

    A column the mapping already gives to another contract column is no candidate: suggesting the
    order number as the order date only sends the consultant round in circles.
    """
    taken = {their for ours, their in src.columns.items() if ours != column}
    free = list(dict.fromkeys(h for h in header if h not in taken))
    norm = {loose(h): h for h in free}
    close = difflib.get_close_matches(client, free, n=1, cutoff=0.6)
    if not close:
        close = [norm[m] for m in difflib.get_close_matches(loose(client), list(norm), n=1, cutoff=0.6)]
    if not close:  # "Datum" inside "Bestelldatum": one name contains the other
        close = [h for h in free if len(h) >= 3 and (loose(h) in loose(client) or loose(client) in loose(h))][:1]
    if not close and client != column:
        close = difflib.get_close_matches(column, free, n=1, cutoff=0.6)
    return close[0] if close else None
