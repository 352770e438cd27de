"""Peak memory and time of preparing a large JSON-lines events export, read whole and read in batches.

Run on demand, one step at a time (the machine is shared; memory figures do not depend on the load, times do):

    .venv/bin/python benchmarks/jsonl_memory.py write 100000 DIR     # the demo shop's events as DIR/events.jsonl.gz
    /usr/bin/time -v .venv/bin/python benchmarks/jsonl_memory.py prepare DIR batched   # sources.stream's batches
    /usr/bin/time -v .venv/bin/python benchmarks/jsonl_memory.py prepare DIR whole     # the same, read whole

`write` generates the shop with the project's synth module (chunk by chunk, the events only kept) and writes each
event as one JSON object per line, gzip-compressed, nulls as JSON null, times as ISO text, the session id nested
(`context.session_id`, as Segment nests it) and mapped back in the params. `prepare` validates and stores that one
table in a fresh cache (no references checked: the other tables are not supplied) and prints the rows read and
used; `whole` raises sources.stream.STREAM_ROWS above the table's rows, so that it is read as one frame.
"""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from lifecycle_audit import params, paths, sources, synth
from lifecycle_audit.sources import stream


def write(customers: int, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = 0
    with gzip.open(folder / "events.jsonl.gz", "wt", encoding="utf-8", compresslevel=6) as out:
        for tables in synth.chunks(customers):
            events = tables["events"]
            for column in events.columns:
                if pd.api.types.is_datetime64_any_dtype(events[column]):
                    events[column] = events[column].dt.strftime("%Y-%m-%d %H:%M:%S")
            for record in events.astype(object).where(events.notna(), None).to_dict("records"):
                record["context"] = {"session_id": record.pop("session_id")}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            rows += len(events)
    print(f"{rows:,} events of {customers:,} customers in {folder / 'events.jsonl.gz'}")


def prepare(folder: Path, mode: str) -> None:
    if mode == "whole":
        stream.STREAM_ROWS = 1 << 40
    source = {"file": "events.jsonl.gz", "columns": {"session_id": "context.session_id"}}
    p = params.from_dict({"client": "jsonl", "data_dir": str(folder), "sources": {"events": source}})
    with tempfile.TemporaryDirectory() as tmp:
        paths.CACHE = Path(tmp)
        started = time.perf_counter()
        prepared = sources.prepare(p, max_rejected_share=1.0)
        load = prepared.loads["events"]
        print(f"{mode}: prepared in {time.perf_counter() - started:.1f} s: {load.rows_in:,} rows in, "
              f"{load.rows_used:,} used, rejected {load.rejected}, excluded {load.excluded}")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        prepare(Path(sys.argv[2]), sys.argv[3])
