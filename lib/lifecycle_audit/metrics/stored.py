"""Derived tables that several stages need, computed once when the data is prepared and stored as Parquet.

The sessions (rebuilt from the events by the reach, acquisition and conversion stages alike), each customer's
first orders and every table's profile (the grouped query by which each stage's checks learn which columns and
kinds the data holds: metrics.presence) are written into `derived/` beside the canonical tables by `store` (the
runner calls it after preparing the data); every stage's kernel then reads them with `attach` instead of computing
them again, and keeps them on disk instead of in memory. A file's name carries a fingerprint of the code that made
it, so a changed definition is computed afresh, never read stale; without a stored file a measure is computed as
before.

Each engine computes and reads its own: DuckDB writes one Parquet file per table (`<key>.<fingerprint>.parquet`),
Spark a folder of part files written by its executors (`<key>.<fingerprint>.pyspark.parquet`, on the shared
tables folder a cluster reads). Neither reads the other's: the rows are the same (tests/test_spark_e2e.py), but
the column types each engine writes are its own.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import ibis.expr.operations as ops
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import contract
from ..engine import Tables
from . import cohorts, presence, sessions

FOLDER = "derived"
BATCH_ROWS = 500_000  # rows handed from the engine to the Parquet file at once
# Rows of the table a derived table is grouped from that one pass of the engine takes. DuckDB cannot spill the
# states of the sessions' aggregate (the landing row's values and the two earliest times per session) to disk:
# at 1,000,000 customers (44 M events, 18.6 M sessions) one pass needs 3.4 GB and fails within the 1 GB the run
# gives it. Measured there (load 1.7-1.9): parts of 5 M events take 54 s and 1.5 GB (86 s of CPU), of 2.5 M 53 s
# and 1.09 GB (83 s), of 1.25 M 59 s and 0.98 GB: smaller parts hold less and cost about the same.
PART_ROWS = 2_500_000
PART = "__part"  # the column naming a row's part while the split table is written out part by part
SPLIT_ROWS = 500_000  # rows of the split table ordered by part at once
_QUICK = {"compression": "none", "use_dictionary": False, "write_statistics": False}  # a part file: read once


class Derived(NamedTuple):
    """How a stored derived table is made: from which tables, by which expression, defined in which module (its
    fingerprint names the file), and split how when large: (table, column) whose hashed values divide the rows
    into parts of about PART_ROWS that never share a group (None: always in one pass)."""

    needs: tuple[str, ...]
    rows: Callable
    module: Path
    split: tuple[str, str] | None = None
    also: tuple[Path, ...] = ()  # other modules whose code the fingerprint covers


STORED: dict[str, Derived] = {
    "sessions": Derived(("events",), sessions.session_rows, Path(sessions.__file__), ("events", "session_id")),
    "first_orders": Derived(("orders",), cohorts.first_order_rows, Path(cohorts.__file__)),
    # a few rows per table; which columns are kinds, and so the grouping, is the contract's
    **{
        presence.stored_key(name): Derived(
            (name,),
            functools.partial(presence.profile_rows, name=name),
            Path(presence.__file__),
            None,
            (Path(contract.__file__),),
        )
        for name in contract.TABLE_ORDER
    },
}


def _fingerprint(spec: Derived) -> str:
    h = hashlib.sha256()
    for module in (spec.module, *spec.also):
        h.update(module.read_bytes())
    return h.hexdigest()[:12]


def stored_path(folder: str | Path, key: str, backend: str = "duckdb") -> Path:
    """Where derived table `key` of the canonical tables in `folder` is stored by the current code on `backend`
    (DuckDB: a file; Spark: a folder of part files)."""
    engine = "" if backend == "duckdb" else f".{backend}"
    return Path(folder) / FOLDER / f"{key}.{_fingerprint(STORED[key])}{engine}.parquet"


def missing(folder: str | Path, backend: str = "duckdb") -> list[str]:
    """The derived tables the canonical tables in `folder` allow and lack for the current code on `backend` (the
    files alone tell: nothing is opened, so a run on tables prepared and derived earlier starts no engine for
    this)."""
    folder = Path(folder)
    return [
        key
        for key, spec in STORED.items()
        if all((folder / f"{name}.parquet").is_file() for name in spec.needs)
        and not stored_path(folder, key, backend).exists()
    ]


def store(tables: Tables, folder: str | Path) -> list[str]:
    """Compute and write every stored derived table the tables allow and `folder` lacks; returns their keys.

    Each is written by the engine straight to Parquet (never held whole in memory), under a temporary name and
    renamed into place, so a concurrent run sees a whole table or none: on DuckDB part by part when large
    (PART_ROWS); on Spark by its own writer, a part file per task (it spills what does not fit in memory)."""
    written = []
    backend = tables.con.name
    for key, spec in STORED.items():
        path = stored_path(folder, key, backend)
        if path.exists() or not all(tables.has(name) for name in spec.needs):
            continue
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            if backend == "duckdb":
                _write(spec.rows(tables), _parts(tables, spec, path.parent), tmp)
            else:
                tables.con.to_parquet(spec.rows(tables), tmp)
            _move_into_place(tmp, path)
        finally:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            tmp.unlink(missing_ok=True)
        written.append(key)
    return written


def store_folder(folder: str | Path, backend: str, url: str | None = None) -> list[str]:
    """`store` for the canonical tables in `folder`, opened on `backend` (at `url`) and closed again: the runner
    calls it in a process of its own for Spark, whose JVM (and the heap it grew to build the sessions) ends with
    that process instead of staying beside the stages' own."""
    tables = Tables.from_folder(folder, backend=backend, url=url)
    try:
        return store(tables, folder)
    finally:
        tables.con.disconnect()


def _move_into_place(tmp: Path, path: Path) -> None:
    """Rename the written table into place; when another run put the same table there meanwhile (a folder cannot be
    renamed over a folder), theirs is kept: it holds the same rows."""
    try:
        os.replace(tmp, path)
    except OSError:
        if not path.exists():
            raise


def _parts(tables: Tables, spec: Derived, folder: Path) -> Iterator:
    """The derived table's rows as expressions, one per part, or the whole in one.

    A part is the split table's rows whose hashed split column falls into it (a group, one session say, lies
    wholly in one part). The split table is written once into one Parquet file per part (in a temporary folder
    under `folder`, removed when done), so that each part reads its own rows only: filtering the whole table for
    each part decoded all 44 M events eight times at 1,000,000 customers."""
    n = 1
    if spec.split is not None:
        name = spec.split[0]
        n = max(1, math.ceil(int(tables[name].count().to_pyarrow().as_py()) / PART_ROWS))
    if n == 1:
        yield spec.rows(tables)
        return
    with tempfile.TemporaryDirectory(prefix=".parts-", dir=folder) as tmp:
        for path in _split(tables, spec, n, Path(tmp)):
            yield spec.rows(tables.with_table(name, tables.con.read_parquet(path)))


def _split(tables: Tables, spec: Derived, n: int, folder: Path) -> list[Path]:
    """Write the split table into `n` Parquet files in `folder`, a part each, in one pass: each batch the engine
    hands over is ordered by part and its slices appended to their files, uncompressed and without dictionaries
    (each file is read once, next). Only the columns the derived table reads are written.

    Measured at 1,000,000 customers (44 M events, 18 parts, load 4-6): DuckDB's own partitioned writer
    (COPY ... PARTITION_BY) took 38-54 s of wall and 44 s of CPU for these columns, 46-76 s with every column;
    this 30 s and 28 s."""
    name, column = spec.split
    t = tables[name]
    used = {f.name for f in spec.rows(tables).op().find(ops.Field) if f.rel == t.op()}
    columns = [c for c in t.columns if c in used]
    part = ((t[column].hash() % n + n) % n).cast("int64")  # the hash is signed; a null has a hash too
    paths = [folder / f"{i}.parquet" for i in range(n)]
    writers: dict[int, pq.ParquetWriter] = {}
    try:
        with t.select(*columns, **{PART: part}).to_pyarrow_batches(chunk_size=SPLIT_ROWS) as batches:
            for batch in batches:
                parts = batch.column(PART).to_numpy()
                counts = np.bincount(parts, minlength=n)
                rows = batch.select(columns).take(pa.array(np.argsort(parts, kind="stable")))
                start = 0
                for i in np.flatnonzero(counts).tolist():
                    if i not in writers:
                        writers[i] = pq.ParquetWriter(paths[i], rows.schema, **_QUICK)
                    writers[i].write_batch(rows.slice(start, int(counts[i])))
                    start += int(counts[i])
    finally:
        for writer in writers.values():
            writer.close()
        # Arrow keeps the batches' memory in its pool: handed back before the engine groups the parts (batches of
        # 1 M rows kept, the store peaked at 1.14-1.31 GB against 1.05 GB with DuckDB's writer)
        pa.default_memory_pool().release_unused()
    return [paths[i] for i in sorted(writers)]  # a part no row fell into has no file


def _write(expr, parts, path: Path) -> None:
    """Write the rows of each part to one Parquet file batch by batch, in the types the expression promises
    (DuckDB sums booleans to 128-bit integers, which its own Parquet writer would keep as floating point)."""
    schema = expr.schema().to_pyarrow()
    with pq.ParquetWriter(path, schema) as writer:
        for part in parts:
            with part.to_pyarrow_batches(chunk_size=BATCH_ROWS) as batches:
                for batch in batches:
                    writer.write_batch(batch.cast(schema) if batch.schema != schema else batch)


def attach(tables: Tables, folder: str | Path) -> list[str]:
    """Have `tables` read the derived tables stored for the current code in `folder`; returns their keys."""
    found = []
    for key in STORED:
        path = stored_path(folder, key, tables.con.name)
        if path.exists():
            tables.use_derived(key, path)
            found.append(key)
    return found
