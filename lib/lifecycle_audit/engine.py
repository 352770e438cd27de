"""Where canonical tables live and queries run: Ibis over an in-process DuckDB by default."""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import ibis
import pandas as pd

from . import contract
from .params import WARMUP_DAYS


def connect(backend: str = "duckdb", url: str | None = None):
    """An Ibis connection. DuckDB runs in-process; the same expressions run on Spark when asked: `url` is the
    Spark master (a cluster's spark://host:7077, yarn, k8s://...), local mode on this machine when empty."""
    if backend == "duckdb":
        return ibis.duckdb.connect()
    if backend == "pyspark":
        return ibis.pyspark.connect(spark_session(url))
    raise ValueError(f"unknown engine backend {backend!r}")


# ---------------------------------------------------------------------------------------------------- Spark

SPARK_LOCAL_MASTER = "local[*]"
# Spark settings for every master. Timestamps: the canonical tables hold wall-clock times without a zone, which
# Spark reads as instants of its session zone; UTC keeps them the values DuckDB sees (months, days, hours).
SPARK_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}


def local_driver_memory() -> str:
    """The local driver's heap: a quarter of the machine's memory, at least 2 GB and at most 8 GB. In local mode
    the driver does all the work, and with 2 GB the cached sessions of 300,000 customers spilled to disk ("Not
    enough space to cache"): building them took 53.9 s (103 CPU s) with 2 GB, 47.6 s (93 CPU s) with 6 GB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a POSIX system: the former fixed size
        return "2g"
    return f"{min(8, max(2, total // 4 // 2**30))}g"


# Local mode only (a cluster's own settings win there): the audit runs many small queries, and Spark's 200
# shuffle partitions make each aggregate 200 tasks on a laptop's cores; no web UI; the driver bound to the
# loopback address (nothing listens on the network); the driver's memory sized to the machine.
SPARK_LOCAL_CONF = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.memory": local_driver_memory(),
    # The cached sessions are kept uncompressed: compressing them took about a third of building them (300,000
    # customers: 73.5 and 86.9 CPU s to build uncompressed, 100.8 and 113.1 compressed), for several times the
    # memory (about 0.8 GB there, 2.6 GB estimated at 1,000,000 customers: beyond the cache's share of the heap
    # Spark spills the rest to disk, slower but the same rows).
    "spark.sql.inMemoryColumnarStorage.compressed": "false",
    # Joins of a large table with one of up to 64 MB (a customer table, a shop's per-customer aggregates) broadcast
    # the small side instead of shuffling and sorting both, and no task waits for a "local" slot (in local mode every
    # slot is): at 300,000 customers every check took 103.0 and 104.2 s against 107.0 and 110.1 s, alternating,
    # the joining checks (first purchase, relevance, contact frequency, carts) gaining most.
    "spark.sql.autoBroadcastJoinThreshold": str(64 * 2**20),
    "spark.locality.wait": "0",
}


def spark_settings(url: str | None = None) -> tuple[str, dict[str, str]]:
    """The Spark master and the settings a session gets: local mode with SPARK_LOCAL_CONF when `url` is empty
    or a local[...] master, else the cluster's URL with SPARK_CONF only."""
    master = url or SPARK_LOCAL_MASTER
    conf = dict(SPARK_CONF)
    if master.startswith("local"):
        conf.update(SPARK_LOCAL_CONF)
    return master, conf


def spark_session(url: str | None = None):
    """The Spark session of this process (spark_settings); one per process, reused by every audit it opens."""
    from pyspark.sql import SparkSession  # noqa: PLC0415 - pyspark is an optional extra (`make spark`)

    master, conf = spark_settings(url)
    if master.startswith("local"):
        # Spark picks the machine's network address before reading any setting (and says so on stderr)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName("lifecycle-audit").master(master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


# Parquet column types as Spark reads them (ParquetToSparkSchemaConverter, with timestamps without a zone read as
# TIMESTAMP_NTZ, Spark's default): the types the canonical tables are written in.
SPARK_PARQUET_TYPES = {
    "string": "StringType",
    "large_string": "StringType",
    "bool": "BooleanType",
    "int32": "IntegerType",
    "int64": "LongType",
    "float": "FloatType",
    "double": "DoubleType",
    "date32[day]": "DateType",
    "timestamp[ms]": "TimestampNTZType",
    "timestamp[us]": "TimestampNTZType",
}


def spark_parquet_schema(path: str | Path):
    """The schema Spark would infer for a Parquet file (or a folder of part files Spark wrote), read from its
    footer here; None when a column's type is not in SPARK_PARQUET_TYPES or the file is not readable from this
    process (Spark then infers it itself)."""
    import pyarrow.parquet as pq  # noqa: PLC0415 - only for Spark
    from pyspark.sql import types  # noqa: PLC0415 - pyspark is an optional extra (`make spark`)

    path = Path(path)
    if path.is_dir():  # written by Spark (a stored derived table): its part files share one schema
        path = next(iter(sorted(path.glob("part-*.parquet"))), path)
    try:
        schema = pq.read_schema(path)
    except (OSError, ValueError):  # a folder on a cluster's filesystem, or not Parquet: Spark says what is wrong
        return None
    names = [SPARK_PARQUET_TYPES.get(str(f.type)) for f in schema]
    if None in names:
        return None
    return types.StructType(
        [types.StructField(f.name, getattr(types, n)(), True) for f, n in zip(schema, names, strict=True)]
    )


def _read_parquet(con, path: Path, name: str):
    """A canonical table from its Parquet file. On Spark with the schema given: Spark otherwise infers it by a
    job of its own per file (about 0.5 s each, a dozen tables at every opening)."""
    if con.name == "pyspark":
        schema = spark_parquet_schema(path)
        if schema is not None:
            con._session.read.schema(schema).parquet(str(path)).createOrReplaceTempView(name)
            return con.table(name)
    return con.read_parquet(path, table_name=name)


class _Opening(NamedTuple):
    """A table not opened yet: `open()` opens it."""

    open: Callable[[], Any]


class Tables:
    """The canonical tables of one audit, as Ibis tables, plus derived data computed once and reused."""

    def __init__(
        self,
        con,
        available: dict[str, Any],
        period: tuple[dt.date, dt.date] | None = None,
        currency: str = "EUR",
        warmup_days: int = WARMUP_DAYS,
    ):
        self.con = con
        self._tables = available
        self.currency = currency
        self.warmup_days = warmup_days  # see params.Period.warmup_days and metrics.cohorts.first_time_buyers
        self._period = period
        self._derived: dict[str, Any] = {}
        self._stored: set[str] = set()  # derived data read from a file (use_derived), not computed here

    @classmethod
    def from_folder(cls, folder: str | Path, backend: str = "duckdb", url: str | None = None, **kw) -> Tables:
        """Open every <table>.parquet of a canonical-table folder (written by sources.prepare); `url`: where the
        backend runs (connect)."""
        folder = Path(folder)
        con = connect(backend, url)
        available = {}
        for name in contract.TABLE_ORDER:
            path = folder / f"{name}.parquet"
            if path.exists():
                # opened when first asked for: a stage reads a few of the twelve tables, and opening one (its
                # schema read, a view made) took 10-20 ms on DuckDB, more on Spark
                available[name] = _Opening(functools.partial(_read_parquet, con, path, name))
        return cls(con, available, **kw)

    @classmethod
    def from_frames(cls, frames: dict[str, pd.DataFrame], **kw) -> Tables:
        """Tables from in-memory DataFrames (tests, notebooks exploring a slice)."""
        con = connect()
        available = {}
        for name, df in frames.items():
            contract.table(name)
            available[name] = con.create_table(name, df)
        return cls(con, available, **kw)

    def has(self, name: str) -> bool:
        return name in self._tables

    def __getitem__(self, name: str):
        if name not in self._tables:
            raise KeyError(f"the {name} table was not supplied")
        table = self._tables[name]
        if isinstance(table, _Opening):
            table = self._tables[name] = table.open()
        return table

    @property
    def names(self) -> list[str]:
        return list(self._tables)

    def derived(self, key: str, compute: Callable[[Tables], Any]) -> Any:
        """Shared derived data (sessions, carts, ...): computed on first use, then reused by every check."""
        if key not in self._derived:
            self._derived[key] = compute(self)
        elif isinstance(self._derived[key], _Opening):
            self._derived[key] = self._derived[key].open()
        return self._derived[key]

    def with_table(self, name: str, table: Any) -> Tables:
        """These tables with `name` replaced by `table` (a part of it, say), on the same connection and period;
        nothing derived is carried over."""
        return Tables(
            self.con,
            {**self._tables, name: table},
            period=self._period,
            currency=self.currency,
            warmup_days=self.warmup_days,
        )

    def use_derived(self, key: str, path: str | Path) -> None:
        """Take derived data `key` from a Parquet file computed earlier (metrics.stored), instead of computing it
        (the file is opened when first asked for)."""
        name = "derived_" + re.sub(r"\W", "_", key)  # a profile's key has a dot, which Spark reads as a database
        self._derived[key] = _Opening(functools.partial(_read_parquet, self.con, Path(path), name))
        self._stored.add(key)

    def is_stored(self, key: str) -> bool:
        """Whether derived data `key` is read from a file computed earlier (use_derived): asking for it is cheap."""
        return key in self._stored

    @cached_property
    def period(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The analysis period: as given in params, else the span of orders (or events, or messages)."""
        if self._period and all(self._period):
            return pd.Timestamp(self._period[0]), pd.Timestamp(self._period[1]) + pd.Timedelta(days=1)
        for name in ("orders", "events", "messages"):
            if self.has(name):
                col = contract.TABLES[name].time_column
                t = self[name]
                row = t.aggregate(lo=t[col].min(), hi=t[col].max()).to_pandas().iloc[0]
                lo, hi = row["lo"], row["hi"]
                if self._period and self._period[0]:
                    lo = pd.Timestamp(self._period[0])
                if self._period and self._period[1]:
                    hi = pd.Timestamp(self._period[1]) + pd.Timedelta(days=1)
                return pd.Timestamp(lo), pd.Timestamp(hi)
        raise ValueError("no dated table supplied; set period in params")
