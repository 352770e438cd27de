"""Spark local mode against DuckDB: every check of every stage on the same canonical tables, and the findings compared.

Run on demand, with the spark extra installed (`make spark`):
`.venv/bin/python benchmarks/spark_vs_duckdb.py [customers] [repeats] [stored|computed|run]` (default 100,000
customers, 1 repeat, stored). The shop is generated once into .cache/bench-spark/<customers>/ as Parquet; each
engine then runs in a fresh process per repeat (Spark's time includes starting its JVM, as a stage notebook's
kernel does).

- `stored` (as a run does): the engine first computes the derived tables several stages share (sessions, first
  orders, each table's profile) and writes them to Parquet with its own writer (metrics.stored, into a temporary
  folder), then every check reads them from there. The time of that step is printed apart.
- `computed`: every check computes what it needs in the one process (the sessions cached in memory), as a stage's
  kernel does when nothing was stored.
- `run`: the whole audit, `lifecycle-audit run` with the engine set in the params (prepare, the derived tables,
  every stage notebook on two kernels, the report), as a client's first run: the client's prepared tables are
  removed before each. The findings compared are those the runs wrote (scrubbed alike).

Prints the median wall per engine, the ratio, the machine's load (times carry it on a shared machine) and whether
the findings are identical (tests/test_spark_e2e.differences: floats within a relative 1e-9).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from lifecycle_audit import paths, stages

CUSTOMERS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 1
MODE = sys.argv[3] if len(sys.argv) > 3 else "stored"
# One engine's run, in its own process: open the tables, store the derived tables when given a folder for them,
# run every check, write the findings (no timings).
RUN_ONE = """
import json, sys, time
from lifecycle_audit import engine, findings, stages
from lifecycle_audit.metrics import stored
folder, backend, out, derived = sys.argv[1:5]
start = time.perf_counter()
t = engine.Tables.from_folder(folder, backend=backend)
if derived:
    stored.store(t, derived)
    stored.attach(t, derived)
derive = time.perf_counter() - start
found = [f.to_dict(timings=False) for s in stages.CHECKED for f in findings.run_stage(s, t, {})]
json.dump({"derive": derive, "findings": found}, open(out, "w"), default=str)
"""


def shop_folder(customers: int) -> Path:
    """The generated shop's tables as Parquet, written once per size."""
    from lifecycle_audit import synth  # noqa: PLC0415 - only when the shop is not there yet

    folder = paths.CACHE / "bench-spark" / str(customers)
    if not (folder / "orders.parquet").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name, df in synth.generate(customers=customers, seed=7, profile="planted").items():
            df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def run_engine(folder: Path, backend: str) -> dict:
    """One run of every check on `backend`, in a fresh process: its wall, the part of it spent opening the tables
    and storing the derived ones (MODE stored), and its findings."""
    with tempfile.TemporaryDirectory(dir=paths.CACHE) as tmp:  # beside the shop: the derived tables can be large
        out = Path(tmp) / "found.json"
        derived = tmp if MODE == "stored" else ""  # the derived tables go to <tmp>/derived/
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(paths.ROOT / "lib"), str(paths.ROOT)])}
        start = time.perf_counter()  # the engine's output (DuckDB's progress bar, Spark's log) is not shown
        subprocess.run(
            [sys.executable, "-c", RUN_ONE, str(folder), backend, str(out), derived],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - start
        got = json.loads(out.read_text())
    return {"wall": wall, "derive": got["derive"], "findings": got["findings"]}


def run_audit(folder: Path, backend: str) -> dict:
    """The whole audit of the shop in `folder` on `backend`, by the command in a fresh process, as a client's
    first run: its wall, the run's own timings (prepare, derive, notebooks) and the findings of every stage."""
    client = f"spark-vs-duckdb-{backend}"
    shutil.rmtree(paths.CACHE / "tables" / client, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=paths.CACHE) as tmp:
        doc = {
            "client": client,
            "client_name": f"Generated shop of {CUSTOMERS:,} customers",
            "currency": "EUR",
            "locale": "en",
            "data_dir": str(folder),
            "output": str(Path(tmp) / "reports"),
            "sources": {f.stem: {"file": f.name} for f in sorted(folder.glob("*.parquet"))},
            "engine": {"backend": backend},
        }
        params = Path(tmp) / "params.yaml"
        params.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lifecycle_audit", "run", str(params), "-q"], check=True)
        wall = time.perf_counter() - start
        run_dir = next((Path(tmp) / "reports" / client).iterdir())
        timings = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["timings"]
        found = [
            f
            for stage in stages.CHECKED
            for f in json.loads((run_dir / "findings" / f"{stage}.json").read_text(encoding="utf-8"))
        ]
    shutil.rmtree(paths.CACHE / "tables" / client, ignore_errors=True)
    return {"wall": wall, "derive": timings["prepare"] + timings.get("derive", 0.0), "findings": found}


def main() -> None:
    # The e2e test's definition of "identical"; the project root is not on the path of a script run by its file name.
    sys.path.insert(0, str(paths.ROOT))
    from tests.test_spark_e2e import differences  # noqa: PLC0415 - only once the root is on the path

    folder = shop_folder(CUSTOMERS)
    walls: dict[str, list[float]] = {"duckdb": [], "pyspark": []}
    found: dict[str, list] = {}
    for _ in range(REPEATS):
        for backend in walls:
            load = os.getloadavg()[0]
            r = run_audit(folder, backend) if MODE == "run" else run_engine(folder, backend)
            walls[backend].append(r["wall"])
            found[backend] = r["findings"]
            print(
                f"  {backend:8s} {r['wall']:7.1f} s, of which {r['derive']:5.1f} s "
                + ("preparing the data and storing the derived tables" if MODE == "run" else "opening the tables")
                + (" and storing the derived ones" if MODE == "stored" else "")
                + f"  (load {load:.1f} at start, {os.getloadavg()[0]:.1f} at end)"
            )
    duck, spark = (statistics.median(walls[b]) for b in ("duckdb", "pyspark"))
    diff = [d for a, b in zip(found["duckdb"], found["pyspark"], strict=True) for d in differences(a, b, a["check_id"])]
    for backend, got in found.items():  # kept beside the shop, to look into a difference
        (folder / f"findings-{backend}.json").write_text(json.dumps(got, indent=1, default=str), encoding="utf-8")
    (folder / "differences.txt").write_text("".join(d + "\n" for d in diff), encoding="utf-8")
    judged = sum(f["status"] in ("pass", "warn", "fail") for f in found["duckdb"])
    print(
        f"{'the whole audit' if MODE == 'run' else 'every check'} of {CUSTOMERS:,} customers ({MODE}): DuckDB median {duck:.1f} s, Spark local median {spark:.1f} s "
        f"of {REPEATS}: Spark/DuckDB {spark / duck:.1f}x; {len(found['duckdb'])} checks ({judged} judged), "
        + ("findings identical" if not diff else f"{len(diff)} differences: {diff[:5]}")
    )


if __name__ == "__main__":
    main()
