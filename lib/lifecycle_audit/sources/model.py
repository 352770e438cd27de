"""The accounting of reading the sources: Problem, TableLoad, InputFile and Prepared, and their JSON form."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, contract, privacy
from .messages import mask_value, row_message

Progress = Callable[[str], None] | None

# Bump when the canonical output of the sources package changes, so cached tables are rebuilt.
FORMAT_VERSION = 5  # 3: doubled purchases excluded by rule (sources.doubles); 4: dates out of range rejected, paths relative to data_dir
# 5: rows pointing at a rejected row are rejected as parent_rejected, blamed on its cause

KINDS = (
    "missing_file",
    "unreadable",
    "missing_column",  # file level: the table cannot be used
    "wrong_type",
    "unparsable_date",
    "null_value",
    "not_allowed",
    "negative",
    "date_out_of_range",
    "duplicate_key",
    "dangling_reference",  # row level: those rows are rejected
    "parent_rejected",  # row level: pointing at a row the other table rejected (blamed on that row's cause)
    "bad_json",  # a JSON column's text is not JSON (sources.shaping)
    "no_items",  # a row whose `items:` array is empty or absent yields no item
)
FILE_KINDS = frozenset({"missing_file", "unreadable", "missing_column"})
BLANK_ROW = "blank_row"  # rejected[] reason for all-empty rows (not a problem)
REPEATED_HEADER = "repeated_header"  # rejected[] reason for header rows repeated inside the data (not a problem)
NOT_DATA = (BLANK_ROW, REPEATED_HEADER)
TOO_MANY_REJECTED = "too_many_rejected"  # kind of the summary problem prepare raises with
USED = ""  # a row's status (per-file accounting) when it was used

MAX_EXAMPLES = 5

# Columns whose values identify a person: masked in to_dict() (the manifest travels with the report).
PERSONAL = frozenset({"customer_id", "anonymous_id", "referrer_id", "referred_customer_id"})


@dataclass
class Problem:
    """One thing wrong with a client file: a whole file (fatal) or some of its rows (rejected)."""

    table: str
    file: str  # as shown to the consultant (relative to the project root when inside it)
    column: str | None  # contract column (key columns joined by ', ')
    kind: str  # one of KINDS (or "too_many_rejected" for prepare's summary)
    message: str  # the whole story after the file name: column, count, examples, expected
    count: int = 0  # rows affected (0 for file-level problems)
    examples: list[int] = field(default_factory=list)  # 1-based data row numbers, up to 5
    example_values: list[str] = field(default_factory=list)  # the values in those rows, up to 40 chars
    fatal: bool = False
    client_column: str | None = None  # the client's column name(s)
    what: str = field(default="", repr=False)  # e.g. "have a date that cannot be read"
    expected: str = field(default="", repr=False)
    line_offset: int | None = field(default=None, repr=False)  # file line = row + offset (text files)
    example_files: list[str] = field(default_factory=list, repr=False)  # several input files: each example's file
    example_lines: list[int] = field(default_factory=list, repr=False)  # file lines, when not row + line_offset

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"

    def masked(self) -> Problem:
        """A copy whose example values are masked when they identify a person (for files that travel)."""
        personal = self.column is not None and any(c.strip() in PERSONAL for c in self.column.split(","))
        if not self.example_values:
            return self
        values = [mask_value(v) if personal or "@" in v else privacy.mask_text(v) for v in self.example_values]
        if values == self.example_values:
            return self
        new = dataclasses.replace(self, example_values=values)
        new.message = row_message(new)
        return new

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        return dataclasses.asdict(self)


def file_problem(
    table: str, file: str, kind: str, message: str, column: str | None = None, client_column: str | None = None
) -> Problem:
    """A problem that makes a whole file unusable (fatal, no rows counted)."""
    return Problem(
        table=table, file=file, column=column, kind=kind, message=message, fatal=True, client_column=client_column
    )


@dataclass
class TableLoad:
    """The accounting for one input table: what came in, what was used, what was rejected and why."""

    table: str
    file: str
    sha256: str
    rows_in: int
    rows_used: int
    rejected: dict[str, int]  # reason (Problem.kind or "blank_row") -> rows; each row counted once
    problems: list[Problem]
    date_min: str | None  # range of the contract time_column over the used rows (ISO)
    date_max: str | None
    format: str | None = None
    mapping: dict[str, str | None] = field(default_factory=dict)  # contract column -> client column (None: absent)
    notes: list[str] = field(default_factory=list)  # things decided on the consultant's behalf (delimiter, date layout)
    line_offset: int | None = None  # text files: file line = data row + line_offset
    parts: list[list] = field(default_factory=list)  # several input files: [file, first global row] each
    excluded: dict[str, int] = field(default_factory=dict)  # rows set aside by a rule (sources.doubles) -> rows
    exclusions: list[dict[str, Any]] = field(default_factory=list)  # each rule's reason: rows, description, examples
    # what each value mapping matched, by its note (not kept: a table read in batches adds them up)
    value_tallies: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, metadata={"kept": False})

    @classmethod
    def empty(
        cls,
        table: str,
        file: str,
        sha256: str = "",
        rows_in: int = 0,
        problems: list[Problem] | None = None,
        format: str | None = None,
    ) -> TableLoad:
        """The accounting of a table before (or without) reading it: nothing used, nothing rejected yet."""
        return cls(
            table=table,
            file=file,
            sha256=sha256,
            rows_in=rows_in,
            rows_used=0,
            rejected={},
            problems=list(problems or []),
            date_min=None,
            date_max=None,
            format=format,
        )

    @property
    def usable(self) -> bool:
        return not any(p.fatal for p in self.problems)

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def rejected_share(self) -> float:
        """Share of the data rows rejected (blank rows do not count as data)."""
        blank = self.rejected.get(BLANK_ROW, 0) + self.rejected.get(REPEATED_HEADER, 0)
        rows = self.rows_in - blank
        return (self.rows_rejected - blank) / rows if rows else 0.0

    def masked(self) -> TableLoad:
        """A copy whose problems show no customer identifiers or e-mail addresses."""
        return dataclasses.replace(self, problems=[p.masked() for p in self.problems])

    def to_dict(self, mask: bool = True) -> dict[str, Any]:
        """JSON-safe fields, with `usable`; example values masked unless mask=False."""
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "problems" and f.metadata.get("kept", True)
        }
        out["usable"] = self.usable
        out["problems"] = [(p.masked() if mask else p).to_dict() for p in self.problems]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableLoad:
        """The inverse of to_dict (unknown keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in data.items() if k in names}
        kw["problems"] = [Problem(**p) for p in data.get("problems", [])]
        return cls(**kw)


@dataclass
class InputFile:
    """The accounting for one input file: rows in = rows used + rows excluded + rows rejected, always.

    excluded: rows set aside on purpose (a preset's rules, e.g. cancellations; blank and repeated header
    rows) -- expected, not counted against max_rejected_share. rejected: rows that are bad data.
    reasons: one entry per reason: {reason, category ("excluded"/"rejected"), rows, description, examples}.
    """

    source: str  # the sources entry
    file: str
    sha256: str
    tables: list[str]
    rows_in: int
    rows_used: int
    excluded: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    preset: str | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_excluded(self) -> int:
        return sum(self.excluded.values())

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.rows_used + self.rows_excluded + self.rows_rejected

    @property
    def rejected_share(self) -> float:
        data = self.rows_in - sum(self.excluded.get(k, 0) for k in NOT_DATA)
        return self.rows_rejected / data if data else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields, with `balanced`."""
        out = dataclasses.asdict(self)
        out["balanced"] = self.balanced
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputFile:
        """The inverse of to_dict (unknown keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Prepared:
    """The outcome of reading every source: the accounting, and (after prepare) the canonical folder."""

    folder: Path | None
    loads: dict[str, TableLoad]
    key: str | None = None
    reused: bool = False  # True when prepare found the folder complete and read nothing
    inputs: list[InputFile] = field(default_factory=list)  # per input file: rows in, used, excluded, rejected

    @property
    def problems(self) -> list[Problem]:
        return [p for load in self.loads.values() for p in load.problems]

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.problems if p.fatal]

    @property
    def usable(self) -> list[str]:
        """The tables that can be used, in contract order."""
        return [t for t in contract.TABLE_ORDER if t in self.loads and self.loads[t].usable]

    def path(self, table: str) -> Path:
        """The canonical Parquet file of a table (after prepare)."""
        if self.folder is None:
            raise ValueError("nothing was written: check_sources only validates; call prepare for the tables")
        return self.folder / f"{table}.parquet"

    def masked(self) -> Prepared:
        """A copy whose problem examples show no customer identifiers or e-mail addresses."""
        return dataclasses.replace(self, loads={name: load.masked() for name, load in self.loads.items()})

    def to_dict(self, mask: bool = True) -> dict[str, Any]:
        """JSON-safe accounting for manifest.json; identifier values in examples are masked unless mask=False."""
        return {
            "folder": str(self.folder) if self.folder else None,
            "key": self.key,
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            "tables": {name: load.to_dict(mask=mask) for name, load in self.loads.items()},
            "inputs": [i.to_dict() for i in self.inputs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path | None = None) -> Prepared:
        """The inverse of to_dict; `folder` is where the tables are."""
        loads = {name: TableLoad.from_dict(d) for name, d in data["tables"].items()}
        inputs = [InputFile.from_dict(d) for d in data.get("inputs", [])]
        return cls(folder=folder, loads=loads, key=data.get("key"), inputs=inputs)
