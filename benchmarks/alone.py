"""The two steps before the stage notebooks, each timed alone on a large shop (run under /usr/bin/time -v for CPU
and peak memory; one at a time on a shared machine).

    PYTHONPATH=$PWD/lib:$PWD .venv/bin/python benchmarks/alone.py prepare data/bench/1000000/bench.yaml
    PYTHONPATH=$PWD/lib:$PWD .venv/bin/python benchmarks/alone.py derive <a copy of the canonical tables' folder>

`prepare` drops the client's prepared tables first, so the files are read, checked and written again; `derive`
drops the folder's derived/ tables and stores them as the runner does (DuckDB held to DERIVE_MEMORY, spilling to
a folder beside the tables). Either prints its seconds; `derive` writes into the folder it is given.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from lifecycle_audit import engine, params, paths, sources
from lifecycle_audit.metrics import stored
from lifecycle_audit.runner import DERIVE_MEMORY


def prepare(params_file: str) -> None:
    p = params.load(params_file)
    shutil.rmtree(paths.CACHE / "tables" / p.client, ignore_errors=True)
    started = time.perf_counter()
    prepared = sources.prepare(p)
    rows = prepared.loads["events"].rows_used if "events" in prepared.loads else None
    print(f"prepare {time.perf_counter() - started:.1f} s, {rows:,} events, tables in {prepared.folder}")


def derive(folder: str) -> None:
    folder = Path(folder)
    shutil.rmtree(folder / stored.FOLDER, ignore_errors=True)
    started = time.perf_counter()
    tables = engine.Tables.from_folder(folder)
    try:
        with tempfile.TemporaryDirectory(dir=folder, prefix=".spill-") as spill:
            tables.con.raw_sql(f"SET memory_limit = '{DERIVE_MEMORY}'")
            tables.con.raw_sql("SET enable_progress_bar = false")
            tables.con.raw_sql("SET temp_directory = '{}'".format(spill.replace("'", "''")))
            written = stored.store(tables, folder)
    finally:
        tables.con.disconnect()
    print(f"derive {time.perf_counter() - started:.1f} s, stored {', '.join(written)} (parts of {stored.PART_ROWS:,})")


if __name__ == "__main__":
    {"prepare": prepare, "derive": derive}[sys.argv[1]](sys.argv[2])
