"""The params file as a typed model: client, period, currency, locale, sources, thresholds, output."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import contract, paths
from .errors import CheckError, ParamsError

FORMATS = ("csv", "tsv", "parquet", "excel")
SUFFIX_FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
                  ".xlsx": "excel", ".xls": "excel", ".gz": "csv"}
# Keys that look like secrets must never sit in a params file: they would end up in reports.
_SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "credential")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReadOptions(_Strict):
    """How to read a delimited text file; anything left empty is detected or defaulted."""

    delimiter: str | None = None
    encoding: str = "utf-8"
    decimal: str = "."
    thousands: str | None = None
    date_format: str | None = Field(None, description="strftime format, e.g. %d.%m.%Y %H:%M")
    sheet: str | int | None = Field(None, description="Excel sheet name or index")
    skip_rows: int = 0


class Source(_Strict):
    """Where one contract table comes from and how the client's columns map onto it."""

    file: str = Field(description="path to the client's file, relative to data_dir")
    format: Literal["csv", "tsv", "parquet", "excel"] | None = None
    columns: dict[str, str] = Field(default_factory=dict,
                                    description="contract column -> client column; unmapped columns keep their name")
    read: ReadOptions = Field(default_factory=ReadOptions)

    @property
    def file_format(self) -> str:
        if self.format:
            return self.format
        suffix = Path(self.file).suffix.lower()
        if suffix not in SUFFIX_FORMATS:
            raise ParamsError(f"cannot tell the format of {self.file!r} from its suffix; set `format:` "
                              f"to one of {', '.join(FORMATS)}")
        return SUFFIX_FORMATS[suffix]


class Period(_Strict):
    """The analysis period; defaults to the span of the orders (or events) supplied."""

    start: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Period":
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"period start {self.start} is after its end {self.end}")
        return self


class Demo(_Strict):
    """A generated shop: its data is created in data_dir when absent."""

    customers: int = Field(5000, ge=200, le=2_000_000)
    seed: int = 7
    profile: Literal["planted", "healthy"] = "planted"
    mistakes: list[str] | None = None


class Engine(_Strict):
    """Where queries run. Credentials come only from environment variables, named here."""

    backend: Literal["duckdb", "pyspark"] = "duckdb"
    connection_env: str | None = Field(None, description="name of the environment variable holding the connection URL")

    def connection_url(self) -> str | None:
        if not self.connection_env:
            return None
        value = os.environ.get(self.connection_env)
        if value is None:
            raise ParamsError(f"engine.connection_env names {self.connection_env!r}, which is not set in the environment")
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
    thresholds: dict[str, dict[str, float]] = Field(default_factory=dict)
    output: str = "reports"
    engine: Engine = Field(default_factory=Engine)
    demo: Demo | None = None
    source_file: str | None = Field(None, exclude=True, description="where this was loaded from")

    @field_validator("sources")
    @classmethod
    def _known_tables(cls, sources: dict[str, Source]) -> dict[str, Source]:
        for name, src in sources.items():
            if name not in contract.TABLES:
                raise ValueError(f"unknown table {name!r} in sources; the contract has: {', '.join(contract.TABLES)}")
            table = contract.TABLES[name]
            for canonical in src.columns:
                if canonical not in table.column_names:
                    raise ValueError(f"sources.{name}.columns maps {canonical!r}, which is not a column of {name}; "
                                     f"its columns are: {', '.join(table.column_names)}")
        return sources

    @field_validator("thresholds")
    @classmethod
    def _known_checks(cls, thresholds: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        from .checks import registry  # late: the registry imports the check modules

        for check_id, options in thresholds.items():
            try:
                registry.validate_options(check_id, options)
            except CheckError as err:
                raise ValueError(str(err).removeprefix(f"thresholds.{check_id}: ")) from None
        return thresholds

    @property
    def display_name(self) -> str:
        return self.client_name or self.client

    @property
    def data_path(self) -> Path:
        return paths.resolve(self.data_dir)

    @property
    def output_path(self) -> Path:
        return paths.resolve(self.output) / self.client

    def source_path(self, table: str) -> Path:
        return paths.resolve(self.sources[table].file, self.data_path)


def _reject_secrets(node: Any, where: str = "") -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}" if where else str(key)
            if any(word in str(key).lower() for word in _SECRET_WORDS):
                raise ParamsError(f"{here}: secrets do not belong in a params file (it is copied into every report); "
                                  "put the value in an environment variable and name that variable instead")
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


def load(path: str | os.PathLike | None = None) -> Params:
    """Read and validate a params file (the demo's by default)."""
    file = paths.resolve(path) if path else paths.DEMO_PARAMS
    if not file.exists():
        raise ParamsError(f"params file not found: {file}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ParamsError(f"{file}: not valid YAML: {err}") from None
    return from_dict(data, str(file))
