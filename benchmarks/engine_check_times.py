"""Each check's time on one engine (DuckDB or Spark local) over a folder of canonical tables, to find where an
engine's time goes and which checks it runs worst against the other.

Run on demand, printing figures (not a test):

    .venv/bin/python benchmarks/engine_check_times.py <tables folder> <duckdb|pyspark> [alone|order] [out.json]

`order` (the default) runs every check of every stage in the report's order on one set of tables, as
benchmarks/spark_vs_duckdb.py does, so a check reuses what an earlier one derived (sessions, carts, ...) and its
time is what it adds to the run. `alone` opens fresh tables for each check (on the same engine: Spark's JVM is
started once, its cached tables dropped between checks), so the time is what the check costs on its own. The
opening (Spark: starting the JVM) is timed apart. CPU seconds count this process and its children (Spark's JVM),
every thread, user and system. `out.json` keeps the rows, to compare two engines or two versions check by check.
"""

from __future__ import annotations

import json
import os
import sys
import time

from measures import cpu_seconds  # benchmarks/measures.py, beside this file (on the path as a script's folder)

from lifecycle_audit import checks, engine, findings, stages


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        sys.exit(__doc__)
    folder, backend, *rest = argv
    mode = rest[0] if rest else "order"
    out = rest[1] if len(rest) > 1 else None
    wall, cpu = time.perf_counter(), cpu_seconds()
    tables = engine.Tables.from_folder(folder, backend=backend)
    rows = [{"check": "(open)", "stage": "", "wall": time.perf_counter() - wall, "cpu": cpu_seconds() - cpu}]
    print(f"{rows[0]['wall']:8.2f} s  (open), load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    for stage in stages.CHECKED:
        for spec in checks.specs(stage):
            if mode == "alone":
                if backend == "pyspark":
                    tables.con._session.catalog.clearCache()
                tables = engine.Tables.from_folder(folder, backend=backend)
            wall, cpu = time.perf_counter(), cpu_seconds()
            f = findings.run_check(spec, tables)
            rows.append(
                {
                    "check": spec.id,
                    "stage": stage,
                    "wall": time.perf_counter() - wall,
                    "cpu": cpu_seconds() - cpu,
                    "status": f.status,
                }
            )
            print(f"{rows[-1]['wall']:8.2f} s  {spec.id} {f.status}", file=sys.stderr, flush=True)
    print(f"\n{'wall s':>8} {'CPU s':>8}  {'check':<42} status")
    for r in sorted(rows, key=lambda r: -r["wall"]):
        print(f"{r['wall']:8.2f} {r['cpu']:8.2f}  {r['check']:<42} {r.get('status', '')}")
    print(
        f"{sum(r['wall'] for r in rows):8.2f} {sum(r['cpu'] for r in rows):8.2f}  all ({mode}), load {os.getloadavg()}"
    )
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
