"""The params file as a typed model: client, period, currency, locale, sources, thresholds, output."""

from __future__ import annotations

import codecs
import datetime as dt
import os
import re
import zoneinfo
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import contract, paths
from .errors import ParamsError

FORMATS = ("csv", "tsv", "parquet", "excel", "jsonl")
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xls": "excel",
    ".gz": "csv",
    # raw tracking logs (Segment, Snowplow): one JSON object per line
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
# Keys that look like secrets must never sit in a params file: they would end up in reports.
_SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "credential")
# Days at the start of the orders in which a customer's first order in the data is not taken as their first
# purchase (they may have bought before the export begins): about one purchase cycle of a frequent buyer. On a
# grocery loyalty panel 80 % of the customers that looked new had their first basket in the panel's first month.
WARMUP_DAYS = 30


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReadOptions(_Strict):
    """How to read a client file; anything left empty is detected (and the detection noted) or defaulted."""

    delimiter: str | None = Field(None, description="',', ';', tab, '|' or 'whitespace'; empty: detected")
    encoding: str | None = Field(
        None,
        description="e.g. utf-8, cp1252, latin-1; empty: UTF-8 (with or without BOM), else cp1252, else latin-1, noted",
    )
    decimal: str | None = Field(
        None, description="decimal mark; empty: '.', or ',' for a column written German-style (1.234,56), noted"
    )
    thousands: str | None = None
    date_format: str | None = Field(
        None,
        description="strftime format, e.g. %d.%m.%Y %H:%M, or 'excel' for Excel serial day numbers; empty: detected",
    )
    sheet: str | int | None = Field(None, description="Excel sheet name or index")
    skip_rows: int = Field(0, ge=0)
    header: bool = Field(True, description="false: the file has no header row; name its columns in `names`")
    names: list[str] | None = Field(None, description="column names for a file without a header row")

    @model_validator(mode="after")
    def _names(self) -> ReadOptions:
        if not self.header and not self.names:
            raise ValueError("read.header is false: list the file's columns in read.names")
        return self

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        """An encoding Python knows (a typo here would otherwise surface deep inside the reader)."""
        if value is None:
            return value
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(
                f"read.encoding {value!r} is not an encoding Python knows; use e.g. utf-8, cp1252, latin-1 or utf-16"
            ) from None
        return value

    @field_validator("date_format")
    @classmethod
    def _known_directives(cls, value: str | None) -> str | None:
        """Only strftime directives the date parser understands (e.g. %d %m %Y %H %M %S), or 'excel'."""
        if value is None or value == "excel":
            return value
        bad = [m.group(0) for m in _DIRECTIVE.finditer(value) if m.group(1) not in _DIRECTIVES]
        if bad or (value.endswith("%") and not value.endswith("%%")):
            raise ValueError(
                f"read.date_format {value!r} holds {', '.join(repr(d) for d in bad) or 'a lone %'}, which is not a "
                "date directive; use e.g. '%d.%m.%Y %H:%M' (%d day, %m month, %Y year, %H hour, %M minute, %S "
                "second) or 'excel'"
            )
        return value


# The strptime directives pandas' date parser understands.
_DIRECTIVES = frozenset("aAbBcdfGHIjmMpSuUVwWxXyYzZ%")
_DIRECTIVE = re.compile(r"%[-#]?(.)")
# A derived expression is short arithmetic: longer ones, or deeper brackets, are no mapping anyone writes.
MAX_DERIVED_CHARS = 500
MAX_DERIVED_DEPTH = 20


_DERIVED = re.compile(r"^[\w .()+\-*/]+$")

# --- Mapping real exports (issue 10): JSON paths, value patterns, item arrays ---
JSON_MARK = ".$"  # "column.$.path": the value at `path` inside the JSON text of `column`
PATTERN_PREFIX = "re:"  # a values: key starting so is a regular expression
_JSON_PATH = re.compile(r"^(\.[^.\[\]]+|\[\d+\])*$")


def split_json(client: str) -> tuple[str, str | None]:
    """(column, path) of 'column.$.path' ('column.$' alone: the whole value); (client, None) for a plain name."""
    base, mark, path = client.partition(JSON_MARK)
    if not mark or not base or (path and path[0] not in ".["):
        return client, None
    return base, path


def check_json_path(where: str, client: str) -> None:
    """A JSON path is dotted keys and [n] indexes after the column's '.$' ('event_params.$.items[0].price')."""
    _, path = split_json(client)
    if path is not None and not _JSON_PATH.match(path):
        raise ValueError(
            f"{where}: {client!r} is not a JSON path; write the column, '.$', then keys and [n] indexes, e.g. "
            "'event_params.$.revenue' or 'payload.$.items[0].price'"
        )


class Items(_Strict):
    """One order line (or other row) per element of a JSON array: fields of the row repeat on every item."""

    column: str = Field(description="the JSON column holding the array, or 'column.$.path' to an array inside it")
    fields: dict[str, str] = Field(
        description="contract column -> path inside one item (e.g. item_id, price, details.qty)"
    )

    @model_validator(mode="after")
    def _paths(self) -> Items:
        check_json_path("items.column", self.column if JSON_MARK in self.column else self.column + ".$")
        for col, path in self.fields.items():
            check_json_path(f"items.fields.{col}", "item.$" + ("" if path.startswith("[") else ".") + path)
        return self


def check_mapping(src: Any) -> None:
    """Column alternatives, JSON paths and value patterns of one source are well formed, else a ValueError."""
    for col, client in src.columns.items():
        names = client if isinstance(client, list) else [client]
        if not names:
            raise ValueError(f"columns.{col}: an empty list; give the client's column, or a list of alternatives")
        if isinstance(client, list) and src.preset is not None:
            raise ValueError(f"columns.{col}: a preset takes one column name per field, not a list")
        for name in names:
            check_json_path(f"columns.{col}", name)
    for col, mapping in src.values.items():
        for key in mapping:
            if str(key).startswith(PATTERN_PREFIX):
                try:
                    re.compile(str(key)[len(PATTERN_PREFIX) :])
                except re.error as err:
                    raise ValueError(
                        f"values.{col}: the pattern {key!r} is not a regular expression ({err}); write e.g. "
                        "'re:^google' (or 're:(?i)facebook' to ignore case)"
                    ) from None
    if (src.ids or src.items) and src.preset is not None:
        raise ValueError("`ids:` and `items:` belong to a plain mapping, not to a preset's entry")
    for col, parts in src.ids.items():
        if isinstance(parts, list) and not parts:
            raise ValueError(f"ids.{col}: list the columns whose values make the id, or write row_number")


# --- raw web hits (sources/web.py): sessions, channel, page type and device derived on the events table ---------


class WebChannelRule(_Strict):
    """One channel rule: when every condition holds (an exact value, any case, or "re:<regex>"), the channel."""

    when: dict[Literal["source", "medium", "campaign", "referrer"], str] = Field(
        min_length=1, description="source / medium / campaign (UTM) or referrer (its host) -> value or re:<regex>"
    )
    channel: Literal[contract.CHANNELS]  # type: ignore[valid-type]


class WebOptions(_Strict):
    """Derive the events table's session_id, channel, page_type and device from raw web hits (sources/web.py).

    Columns the mapping supplies itself (columns / constants / derived) are kept; the others are derived.
    """

    url: str | None = Field(None, description="their column holding the page URL (page type, UTM parameters)")
    referrer: str | None = Field(None, description="their column holding the referrer (channel)")
    user_agent: str | None = Field(None, description="their column holding the user agent (device)")
    session_gap_minutes: float = Field(30, gt=0, le=24 * 60, description="inactivity that ends a session")
    new_session_on_campaign_change: bool = True
    channel_rules: list[WebChannelRule] = Field(default_factory=list, description="first, before GA4's defaults")
    page_types: dict[str, Literal[contract.PAGE_TYPES]] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="path prefix or re:<regex> -> page type, before the defaults"
    )
    internal_hosts: list[str] = Field(default_factory=list, description="the shop's other hosts (not referrers)")


class Source(_Strict):
    """Where one contract table (or, with a preset, several) comes from and how the client's data maps onto it.

    `file` is a file, a folder (every file in it, e.g. monthly exports) or a glob pattern; `files` lists
    several. Without a preset the key under `sources:` is the contract table; with one it names the
    export and the preset says which tables it yields.
    """

    file: str | None = Field(None, description="file, folder or glob pattern, relative to data_dir")
    files: list[str] | None = Field(None, description="several files (or folders, or patterns), read as one")
    format: Literal["csv", "tsv", "parquet", "excel", "jsonl"] | None = None
    columns: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="contract column -> client column (or a list of alternatives, the first a file has is used; "
        "'column.$.path' reads a value inside a JSON column); unmapped columns keep their name",
    )
    values: dict[str, dict[str, str | None]] = Field(
        default_factory=dict,
        description="contract column -> {their value: contract value}; keys starting 're:' are regular "
        "expressions, tried after the exact keys in the order written; unlisted values "
        "pass unchanged (and are judged by the contract)",
    )
    constants: dict[str, str | float | int | bool | None] = Field(
        default_factory=dict, description="contract column -> one value for every row"
    )
    derived: dict[str, str] = Field(
        default_factory=dict,
        description="contract column -> arithmetic over the client's columns, "
        "e.g. 'Quantity * Price'; names with spaces in backticks",
    )
    timezone: str | None = Field(
        None,
        description="IANA zone the file's times are written in (or to convert "
        "times with an offset into); canonical times are the shop's "
        "local wall-clock time",
    )
    read: ReadOptions = Field(default_factory=ReadOptions)
    preset: str | None = Field(None, description="a preset transform (params/templates/ holds one per preset)")
    options: dict[str, Any] = Field(default_factory=dict, description="the preset's options")
    tables: list[str] | None = Field(None, description="with a preset: only these of the tables it yields")
    # --- rejected share per source (validate rehearses run) ---
    max_rejected_share: float | None = Field(
        None,
        ge=0,
        le=1,
        description=(
            "largest share of this source's rows (each input file of a preset, the table of a plain mapping, and "
            "the tables it yields) that may be rejected as bad data before the audit stops; default: the "
            "params file's max_rejected_share"
        ),
    )
    # raw web hits (sources/web.py): on the events table, sessions / channel / page type / device derived
    web: WebOptions | None = Field(None, description="events only: derive sessions, channel, page type, device")
    # --- Mapping real exports (issue 10): ids a file does not have, arrays of items in a JSON column ---
    ids: dict[str, list[str] | Literal["row_number"]] = Field(
        default_factory=dict,
        description="contract column -> the client's columns joined by '|' into one id, or row_number (the "
        "row's 1-based number over the source's files, where each row is one customer)",
    )
    items: Items | None = Field(
        None, description="one row per item of a JSON array (e.g. a purchase's items) instead of one per row"
    )

    @model_validator(mode="after")
    def _real_export_mapping(self) -> Source:
        """Alternatives, JSON paths, value patterns, ids and items that can be checked without the files."""
        check_mapping(self)
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Source:
        if not self.file and not self.files:
            raise ValueError("give `file:` (a file, folder or pattern) or `files:`")
        if self.file and self.files:
            raise ValueError("give `file:` or `files:`, not both")
        if self.preset is None and (self.options or self.tables):
            raise ValueError("`options:` and `tables:` belong to a preset; set `preset:` or remove them")
        given = [set(self.columns), set(self.constants), set(self.derived), set(self.ids), self.item_columns]
        twice = {c for i, a in enumerate(given) for b in given[i + 1 :] for c in a & b}
        if twice:
            raise ValueError(
                f"column(s) {', '.join(sorted(twice))} are given more than once (columns / constants / derived / ids "
                "/ items.fields)"
            )
        for column, expr in self.derived.items():
            _check_derived(column, expr)
        if self.timezone:
            try:
                zoneinfo.ZoneInfo(self.timezone)
            except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError
                raise ValueError(
                    f"timezone {self.timezone!r} is not an IANA time zone name (e.g. Europe/Berlin, Asia/Jakarta, UTC)"
                ) from None
        return self

    @property
    def patterns(self) -> list[str]:
        return list(self.files) if self.files else [self.file]

    @property
    def item_columns(self) -> set[str]:
        """The contract columns read from each item of `items:` (empty without it)."""
        return set(self.items.fields) if self.items else set()

    def format_of(self, path: str | os.PathLike) -> str:
        if self.format:
            return self.format
        suffixes = [s.lower() for s in Path(path).suffixes]
        suffix = (
            suffixes[-2]
            if len(suffixes) >= 2 and suffixes[-1] in (".gz", ".zip", ".bz2")
            else (suffixes[-1] if suffixes else "")
        )
        if suffix not in SUFFIX_FORMATS:
            raise ParamsError(
                f"cannot tell the format of {Path(path).name!r} from its suffix; set `format:` "
                f"to one of {', '.join(FORMATS)}"
            )
        return SUFFIX_FORMATS[suffix]

    @property
    def file_format(self) -> str:
        return self.format_of(self.patterns[0])


def _bracket_depth(expr: str) -> int:
    """The deepest nesting of round brackets in `expr` (-1 when they do not balance)."""
    depth = deepest = 0
    for ch in expr:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            return -1
        deepest = max(deepest, depth)
    return deepest if depth == 0 else -1


def _check_derived(column: str, expr: str) -> None:
    """A derived expression is short arithmetic over columns with balanced brackets, else a ValueError."""
    shown = expr if len(expr) <= 60 else expr[:57] + "..."
    if len(expr) > MAX_DERIVED_CHARS:
        raise ValueError(f"derived.{column}: {len(expr):,} characters, more than the {MAX_DERIVED_CHARS} allowed")
    if not _DERIVED.match(expr.replace("`", "")):
        raise ValueError(
            f"derived.{column}: {shown!r} is not arithmetic over columns "
            "(allowed: column names, numbers, + - * / and brackets)"
        )
    depth = _bracket_depth(re.sub(r"`[^`]*`", "c", expr))
    if depth < 0:
        raise ValueError(f"derived.{column}: {shown!r}: the brackets do not balance")
    if depth > MAX_DERIVED_DEPTH:
        raise ValueError(f"derived.{column}: brackets nested {depth} deep, more than the {MAX_DERIVED_DEPTH} allowed")


# The earliest date an online shop's export holds (sources rejects rows dated before it, and later than a year
# after today); the analysis period is held to the same range.
EARLIEST_DATE = dt.date(1990, 1, 1)


class Period(_Strict):
    """The analysis period; defaults to the span of the orders (or events) supplied."""

    start: dt.date | None = None
    end: dt.date | None = None
    warmup_days: int = Field(
        WARMUP_DAYS,
        ge=0,
        le=3650,
        description=(
            "days at the start of the orders whose first-time buyers are not counted as such: a customer first "
            "seen there may have bought before the data begins (unless the customers table shows them signing up "
            "inside the data before that order); 0 takes every first order in the data as a first purchase"
        ),
    )

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"period start {self.start} is after its end {self.end}")
        latest = dt.date.today() + dt.timedelta(days=366)
        for name, day in (("start", self.start), ("end", self.end)):
            if day is not None and not EARLIEST_DATE <= day <= latest:
                raise ValueError(
                    f"period.{name} {day} is outside the dates an export can hold ({EARLIEST_DATE} to {latest}, a "
                    "year after today)"
                )
        return self


class Demo(_Strict):
    """A generated shop: its data is created in data_dir when absent."""

    customers: int = Field(5000, ge=200, le=2_000_000)
    seed: int = 7
    profile: Literal["planted", "healthy"] = "planted"
    mistakes: list[str] | None = None
    fix: list[str] | None = None  # planted mistakes left out, as if the shop had fixed them (synth.mistakes.fixed)


class Engine(_Strict):
    """Where queries run. Credentials come only from environment variables, named here."""

    backend: Literal["duckdb", "pyspark"] = "duckdb"
    connection_env: str | None = Field(
        None,
        description="name of the environment variable holding the connection URL (pyspark: the master, e.g. "
        "spark://host:7077; unset or empty: local mode on this machine)",
    )
    tables_dir: str | None = Field(
        None,
        description="where the canonical tables are stored (default: the project's .cache/): for a Spark cluster, "
        "a folder every executor reads at the same path (a shared mount)",
    )

    def tables_root(self) -> Path | None:
        """The folder the canonical tables go under, when the params name one (absolute, or from the project root)."""
        return paths.resolve(self.tables_dir) if self.tables_dir else None

    def connection_url(self) -> str | None:
        if not self.connection_env:
            return None
        value = os.environ.get(self.connection_env)
        if value is None:
            raise ParamsError(
                f"engine.connection_env names {self.connection_env!r}, which is not set in the environment"
            )
        return value


class Params(_Strict):
    """A whole params file."""

    client: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="short name, used in folder names")
    client_name: str | None = Field(None, description="the client's name as shown in the report")
    period: Period = Field(default_factory=Period)
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    locale: Literal["en", "de", "id"] = "en"
    data_dir: str = Field(description="folder of the client's files, relative to the project root")
    sources: dict[str, Source] = Field(default_factory=dict)
    max_rejected_share: float = Field(
        0.01,
        ge=0,
        le=1,
        description=(
            "largest share of an input's rows that may be rejected as bad data before the audit stops; rows a "
            "preset excludes by its rules (cancellations, guest lines, ...) do not count"
        ),
    )
    thresholds: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description=(
            "check id -> {option: value}; checked against the checks' declarations by findings.check_thresholds"
        ),
    )
    inputs_outside_data_dir: bool = Field(
        False,
        description=(
            "false (the default): every input file must lie inside data_dir once `..` and symbolic links are "
            "followed; true: sources may name files anywhere"
        ),
    )
    output: str = "reports"
    engine: Engine = Field(default_factory=Engine)
    demo: Demo | None = None
    source_file: str | None = Field(None, exclude=True, description="where this was loaded from")
    # --- Mapping real exports (issue 10): one shop-wide time zone ---
    timezone: str | None = Field(
        None, description="IANA zone of every source's times; a source's own `timezone:` overrides it"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        """The shop-wide zone is an IANA name."""
        if value:
            try:
                zoneinfo.ZoneInfo(value)
            except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError
                raise ValueError(
                    f"timezone {value!r} is not an IANA time zone name (e.g. Europe/Berlin, Asia/Jakarta, UTC)"
                ) from None
        return value

    @model_validator(mode="before")
    @classmethod
    def _shop_timezone(cls, data: Any) -> Any:
        """The shop-wide timezone given to every plain source that names none of its own (a preset's entry takes it
        as its `timezone` option, when it has one: sources.presets.apply)."""
        if not isinstance(data, dict) or not data.get("timezone") or not isinstance(data.get("sources"), dict):
            return data
        sources = {
            name: {**src, "timezone": data["timezone"]}
            if isinstance(src, dict) and not src.get("timezone") and not src.get("preset")
            else src
            for name, src in data["sources"].items()
        }
        return {**data, "sources": sources}

    @field_validator("sources")
    @classmethod
    def _known_tables(cls, sources: dict[str, Source]) -> dict[str, Source]:
        """Plain mappings name contract tables and columns; preset entries are checked by sources.check_params."""
        for name, src in sources.items():
            if src.preset is not None:
                continue
            if name not in contract.TABLES:
                raise ValueError(
                    f"unknown table {name!r} in sources; the contract has: {', '.join(contract.TABLES)} "
                    "(or name a `preset:` to derive tables from an export)"
                )
            table = contract.TABLES[name]
            for part in ("columns", "values", "constants", "derived", "ids", "items.fields"):
                for canonical in src.item_columns if part == "items.fields" else getattr(src, part):
                    if canonical not in table.column_names:
                        raise ValueError(
                            f"sources.{name}.{part} names {canonical!r}, which is not a column of "
                            f"{name}; its columns are: {', '.join(table.column_names)}"
                        )
        return sources

    @field_validator("sources")
    @classmethod
    def _web_on_events(cls, sources: dict[str, Source]) -> dict[str, Source]:
        """`web:` (raw web hits) belongs to a plain mapping of the events table."""
        for name, src in sources.items():
            if src.web is not None and (name != "events" or src.preset is not None):
                raise ValueError(
                    f"sources.{name}.web: derives sessions, channel, page type and device for a plain mapping of "
                    "the events table; for a tracking log with a preset, set them under options:"
                )
        return sources

    @property
    def display_name(self) -> str:
        return self.client_name or self.client

    @property
    def data_path(self) -> Path:
        return paths.resolve(self.data_dir)

    @property
    def output_path(self) -> Path:
        return paths.resolve(self.output) / self.client

    @property
    def tables_path(self) -> Path:
        """The folder holding this client's prepared canonical tables, one subfolder per version of the inputs:
        .cache/tables/<client>, or under engine.tables_dir (a folder a Spark cluster's executors share)."""
        return (self.engine.tables_root() or paths.CACHE) / "tables" / self.client

    def source_path(self, table: str) -> Path:
        """The (first) file, folder or pattern of sources[table], resolved against data_dir."""
        return self._resolved(table, self.sources[table].patterns[0])

    def _resolved(self, name: str, pattern: str) -> Path:
        """`pattern` resolved against data_dir; a symbolic link loop is a ParamsError naming the source."""
        try:
            return paths.resolve(pattern, self.data_path)
        except (RuntimeError, OSError) as err:
            raise ParamsError(
                f"sources.{name}: {pattern!r} cannot be followed ({err}); replace the link by the file"
            ) from None

    def input_files(self, name: str) -> list[Path]:
        """Every file sources[name] reads, in order: folders expanded, patterns globbed (missing: left out)."""
        out: list[Path] = []
        for pattern in self.sources[name].patterns:
            path = self._resolved(name, pattern)
            self._confined(name, pattern, path)
            if any(ch in pattern for ch in "*?["):
                out.extend(sorted(p for p in path.parent.glob(path.name) if p.is_file()))
            elif path.is_dir():
                out.extend(sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith((".", "~$"))))
            elif path.is_file():
                out.append(path)
        for path in out:
            self._confined(
                name, str(path.relative_to(self.data_path)) if path.is_relative_to(self.data_path) else str(path), path
            )
        return list(dict.fromkeys(out))

    def _confined(self, name: str, given: str, path: Path) -> None:
        """Inputs stay inside data_dir (after `..` and symbolic links), unless inputs_outside_data_dir is set."""
        if self.inputs_outside_data_dir:
            return
        home = self.data_path.resolve()
        try:
            where = Path(path).resolve()
        except (RuntimeError, OSError) as err:  # a symbolic link that points at itself, round a loop
            raise ParamsError(
                f"sources.{name}: {given!r} cannot be followed ({err}); replace the link by the file"
            ) from None
        if where != home and not where.is_relative_to(home):
            raise ParamsError(
                f"sources.{name}: {given!r} leads outside data_dir ({home}) to {where}; inputs are read only from "
                "data_dir: move the file there, or set `inputs_outside_data_dir: true` in the params file"
            )


def _reject_secrets(node: Any, where: str = "") -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}" if where else str(key)
            if any(word in str(key).lower() for word in _SECRET_WORDS):
                raise ParamsError(
                    f"{here}: secrets do not belong in a params file (it is copied into every report); "
                    "put the value in an environment variable and name that variable instead"
                )
            _reject_secrets(value, here)


def _format_validation(err: ValidationError, file: str) -> str:
    lines = [f"{file}: {err.error_count()} problem(s)"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def from_dict(data: dict[str, Any], file: str = "<params>") -> Params:
    """Validate a params mapping; every problem is reported with its location."""
    if not isinstance(data, dict):
        raise ParamsError(f"{file}: expected a mapping of settings at the top level, got {type(data).__name__}")
    _reject_secrets(data)
    try:
        return Params.model_validate({**data, "source_file": file})
    except ValidationError as err:
        raise ParamsError(_format_validation(err, file)) from None


# Bounds of a params file: a settings file is small, shallow and uses few YAML aliases. Beyond them it is a
# mistake or an attack (a "billion laughs" of nested aliases expands to more nodes than memory holds).
MAX_PARAMS_BYTES = 1_000_000
MAX_YAML_DEPTH = 40
MAX_YAML_ALIASES = 100
MAX_YAML_NODES = 100_000


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses repeated keys and bounds nesting depth, aliases and expanded size."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):
        """Compose one node, counting aliases and nesting depth."""
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise _Refused(f"more than {MAX_YAML_ALIASES} YAML aliases (*name); write the settings out instead")
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            mark = self.peek_event().start_mark
            raise _Refused(f"line {mark.line + 1}: nested more than {MAX_YAML_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        """A mapping whose keys are each given once (YAML would silently keep the last)."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise _Refused(
                    f"line {key_node.start_mark.line + 1}: the key {key!r} is given twice in the same mapping "
                    f"(first on line {seen[key]}); YAML would keep only the last: remove one"
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


class _Refused(yaml.YAMLError):
    """A params file beyond the loader's bounds, or with a key given twice."""


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many nodes `node` stands for once every alias is written out (shared nodes counted each time)."""
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a node that holds itself counts once
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    else:
        size = 1
    memo[id(node)] = min(size, MAX_YAML_NODES + 1)
    return memo[id(node)]


def parse_yaml(text: str) -> Any:
    """Parse params text with the bounded loader; raises yaml.YAMLError (with the reason) when it refuses."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_YAML_NODES:
            raise _Refused(f"its aliases expand to more than {MAX_YAML_NODES:,} values; write the settings out instead")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _read_params_text(file: Path) -> str:
    """The params file's text, or a ParamsError saying what is wrong with the file itself."""
    if file.is_dir():
        raise ParamsError(f"{file}: is a folder, not a params file; give the path of a .yaml file")
    if not file.exists():
        raise ParamsError(f"params file not found: {file}")
    if not file.is_file():
        raise ParamsError(f"{file}: is not a regular file (a pipe or a device?); give the path of a .yaml file")
    if file.stat().st_size > MAX_PARAMS_BYTES:
        raise ParamsError(
            f"{file}: {file.stat().st_size:,} bytes, more than a params file ever needs ({MAX_PARAMS_BYTES:,}); "
            "is it the right file?"
        )
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ParamsError(
            f"{file}: is not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8 and try again"
        ) from None
    except OSError as err:
        raise ParamsError(f"{file}: cannot be read ({err.strerror or err}); check its permissions") from None


def load(path: str | os.PathLike | None = None) -> Params:
    """Read and validate a params file (the demo's by default)."""
    file = paths.resolve(path) if path else paths.DEMO_PARAMS
    text = _read_params_text(file)
    try:
        data = parse_yaml(text)
    except _Refused as err:
        raise ParamsError(f"{file}: refused: {err}") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{file}: not valid YAML: {err}") from None
    except RecursionError:
        raise ParamsError(f"{file}: refused: nested too deeply to be a params file") from None
    return from_dict(data, str(file))
