"""Read the client's files, apply the column mapping, validate against the contract, store canonical tables.

The flow for one table (`load_table`): read the file (CSV/TSV as text, so every value can be judged
and reported; Parquet and Excel through pandas/pyarrow), pick the contract's columns through the
params mapping, coerce each to its contract type, and reject the rows that break the contract:
values that cannot be parsed, empty values where the contract needs one, values outside a closed
vocabulary, negative amounts, repeated keys. `check_sources` does that for every table and then
rejects rows that point at a customer (or order) the other table does not have. `prepare` stores
the result as canonical Parquet in a content-addressed cache folder, with the accounting beside it.

Purchases recorded twice (doubles: a purchase event fired again, an order row repeated) are not bad data:
they are excluded by a rule, counted once, under `excluded`. Every rejected or excluded row is counted under
exactly one reason (its first), so for a usable table ``rows_in == rows_used + sum(excluded.values()) +
sum(rejected.values())``. Client files are opened read-only.

The rooms:

- model: Problem, TableLoad, InputFile, Prepared and their JSON form.
- messages: what the consultant reads about a file (row problems, missing files and columns).
- coerce: client values to contract types (dates, numbers, yes/no, vocabularies).
- read: a source's files as they are (encodings, delimiters, Excel, Parquet, blank and repeated header rows).
- mapping: which client column feeds each contract column; constants, derived columns, value maps.
- doubles: what a purchase recorded twice is, for plain tables and the GA4 preset.
- validate: contract validation of one table, and the references between tables.
- stream, staged: a large Parquet table read and checked in batches, its passed rows staged on disk; the same
  verdicts as one frame gives.
- accounting: per input file, rows in = used + excluded + rejected.
- cache: the content-keyed folder of canonical Parquet tables.
- presets: transforms from the exports consultants get (invoice lines, GA4, Shopify, ...) to contract tables.
- entries: the tables each sources entry yields; the params checks only the presets can make.
- prepare: one table, all tables, the too-many-rejected rule (`judge`: the one decision validate and run share),
  the canonical tables prepared.
- demo: the generated demo shop.
"""

from __future__ import annotations

from ..errors import SourceError
from .demo import DEMO_STAMP, ensure_demo_data
from .entries import check_params, table_sources
from .model import (
    BLANK_ROW,
    FILE_KINDS,
    FORMAT_VERSION,
    KINDS,
    NOT_DATA,
    REPEATED_HEADER,
    TOO_MANY_REJECTED,
    InputFile,
    Prepared,
    Problem,
    TableLoad,
)
from .prepare import Verdict, check_sources, judge, load_table, prepare, rehearse, rejections
from .read import RawRead, SourceFileError, read_source

__all__ = [
    "BLANK_ROW",
    "DEMO_STAMP",
    "FILE_KINDS",
    "FORMAT_VERSION",
    "KINDS",
    "NOT_DATA",
    "REPEATED_HEADER",
    "TOO_MANY_REJECTED",
    "InputFile",
    "Prepared",
    "Problem",
    "RawRead",
    "SourceError",
    "SourceFileError",
    "TableLoad",
    "Verdict",
    "check_params",
    "check_sources",
    "ensure_demo_data",
    "judge",
    "load_table",
    "prepare",
    "read_source",
    "rehearse",
    "rejections",
    "table_sources",
]
