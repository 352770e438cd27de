"""Derived tables that several stages need, computed once when the data is prepared and stored as Parquet.

The sessions (rebuilt from the events by the reach, acquisition and conversion stages alike) and each customer's
first orders are written into `derived/` beside the canonical tables by `store` (the runner calls it after
preparing the data); every stage's kernel then reads them with `attach` instead of computing them again, and
keeps them on disk instead of in memory. A file's name carries a fingerprint of the code that made it, so a
changed definition is computed afresh, never read stale; without a stored file a measure is computed as before.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from ..engine import Tables
from . import cohorts, sessions

FOLDER = "derived"
BATCH_ROWS = 500_000  # rows handed from the engine to the Parquet file at once
# key of Tables.derived -> (the tables it needs, the uncomputed expression, the module that defines it)
STORED: dict[str, tuple[tuple[str, ...], Callable, Path]] = {
    "sessions": (("events",), sessions.session_rows, Path(sessions.__file__)),
    "first_orders": (("orders",), cohorts.first_order_rows, Path(cohorts.__file__)),
}


def _fingerprint(module: Path) -> str:
    return hashlib.sha256(module.read_bytes()).hexdigest()[:12]


def stored_path(folder: str | Path, key: str) -> Path:
    """Where derived table `key` of the canonical tables in `folder` is stored by the current code."""
    return Path(folder) / FOLDER / f"{key}.{_fingerprint(STORED[key][2])}.parquet"


def store(tables: Tables, folder: str | Path) -> list[str]:
    """Compute and write every stored derived table the tables allow and `folder` lacks; returns their keys.

    Each is written by the engine straight to Parquet (never held whole in memory) under a temporary name and
    renamed into place, so a concurrent run sees a whole file or none."""
    written = []
    for key, (needs, rows, _) in STORED.items():
        path = stored_path(folder, key)
        if path.is_file() or not all(tables.has(name) for name in needs):
            continue
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            _write(rows(tables), tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(key)
    return written


def _write(expr, path: Path) -> None:
    """Write the expression's rows to Parquet batch by batch, in the types the expression promises (DuckDB sums
    booleans to 128-bit integers, which its own Parquet writer would keep as floating point)."""
    schema = expr.schema().to_pyarrow()
    with expr.to_pyarrow_batches(chunk_size=BATCH_ROWS) as batches, pq.ParquetWriter(path, schema) as writer:
        for batch in batches:
            writer.write_batch(batch.cast(schema) if batch.schema != schema else batch)


def attach(tables: Tables, folder: str | Path) -> list[str]:
    """Have `tables` read the derived tables stored for the current code in `folder`; returns their keys."""
    found = []
    for key in STORED:
        path = stored_path(folder, key)
        if path.is_file():
            tables.use_derived(key, path)
            found.append(key)
    return found
