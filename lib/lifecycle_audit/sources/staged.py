"""A large table's passed rows staged on disk as Parquet, never whole in memory (see sources.stream).

The rows that passed the per-row checks are appended batch by batch to a staging file, each with its data row
number (ROW). The checks that compare rows (doubles, repeated keys, references) read only the columns they need
and set rows aside by number (`drop`); `write` copies the rows kept into the canonical table, batch by batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROW = "__row"  # each staged row's data row number (0-based, as RawRead.frame.index)
KEY = "__key"  # for a table with a key: the key as the examples show it (the client's value)
BATCH_ROWS = 1_000_000  # rows read from the staging file at once
_QUICK = {"compression": "none", "use_dictionary": False, "write_statistics": False}  # staging: read once or twice


def arrow_dtypes(t: pa.DataType):
    """The pandas dtype a staged Arrow column reads as: the canonical frame's (strings, nullable ints, booleans)."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype("pyarrow")
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    return None


@dataclass
class Staged:
    """The staged rows of one table: the file, its contract columns, and the rows set aside since staging."""

    path: Path
    columns: list[str]
    rows: int = 0
    dropped: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # sorted row numbers
    end: int = 0  # one past the largest row number staged
    _writer: pq.ParquetWriter | None = field(default=None, repr=False)
    _canonical: pa.Schema | None = field(default=None, repr=False)  # the contract columns as pandas writes them

    def __len__(self) -> int:
        return self.rows - len(self.dropped)

    def append(self, df: pd.DataFrame, extra: dict[str, pd.Series] | None = None) -> None:
        """Append the rows of `df` (index: their row numbers) with their ROW number and `extra` columns."""
        frame = df.reset_index(drop=True)
        if self._canonical is None:
            self._canonical = pa.Schema.from_pandas(frame, preserve_index=False)
        frame[ROW] = df.index.to_numpy(dtype=np.int64)
        for name, values in (extra or {}).items():
            frame[name] = values.reset_index(drop=True)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema, **_QUICK)
        self._writer.write_table(table.cast(self._writer.schema))
        self.rows += len(df)
        if len(df):
            self.end = max(self.end, int(df.index.max()) + 1)

    def close(self) -> None:
        """Finish the staging file (an empty one when no row passed)."""
        if self._writer is None:
            empty = pd.DataFrame({c: pd.Series(dtype="string") for c in self.columns})
            self.append(empty)
        self._writer.close()

    def drop(self, rows) -> None:
        """Set the rows numbered `rows` aside: they are not written to the canonical table."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows):
            self.dropped = np.union1d(self.dropped, rows)

    def batches(self, columns: list[str]) -> Iterator[pa.Table]:
        """The kept rows, batch by batch, in `columns` (ROW added)."""
        wanted = list(dict.fromkeys([*columns, ROW]))
        # Rows are numbered from 0: a row is kept where a mask over all the numbers says so. (pc.is_in built a
        # hash set of the dropped numbers again for every batch: 21 s of 44 batches at 1 M customers.)
        kept = None
        if len(self.dropped):
            kept = np.ones(max(self.end, int(self.dropped[-1]) + 1), dtype=bool)
            kept[self.dropped] = False
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=BATCH_ROWS, columns=wanted):
            table = pa.Table.from_batches([batch])
            if kept is not None:
                table = table.filter(kept[table[ROW].to_numpy()])
            yield table

    def read(self, columns: list[str], keep: Callable[[pa.Table], pa.Array] | None = None) -> pd.DataFrame:
        """The kept rows' `columns` as a frame indexed by row number; with `keep`, only the rows it selects in
        each batch (so that a few rows of a large table are never read whole)."""
        parts = [table.filter(keep(table)) if keep else table for table in self.batches(columns)]
        table = pa.concat_tables(parts) if parts else pa.table({c: pa.array([], pa.string()) for c in [*columns, ROW]})
        df = table.to_pandas(types_mapper=arrow_dtypes)
        return df.set_index(ROW).rename_axis(None)[columns]

    def column(self, name: str) -> pd.Series:
        """One column of the kept rows (for the rows of other tables pointing at this one)."""
        return self.read([name])[name]

    def extremes(self, column: str) -> pd.DataFrame:
        """The smallest and largest value of `column` over the kept rows, as a two-row frame (or none)."""
        lows, highs = [], []
        for table in self.batches([column]):
            found = pc.min_max(table[column])
            if found["min"].is_valid:
                lows.append(found["min"].as_py())
                highs.append(found["max"].as_py())
        values = [min(lows), max(highs)] if lows else []
        return pd.DataFrame({column: pd.Series(pd.to_datetime(values), dtype="datetime64[us]")})

    def write(self, dest: Path) -> None:
        """Copy the kept rows into the canonical table at `dest`, batch by batch, without the staging columns."""
        out = self._canonical
        with pq.ParquetWriter(dest, out) as writer:
            for table in self.batches(out.names):
                writer.write_table(table.select(out.names).cast(out))
