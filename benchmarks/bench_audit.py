"""Audit wall time: median of full `run` calls on a generated shop (tables prepared once, then cached).

Run on demand: `.venv/bin/python benchmarks/bench_audit.py [customers] [repeats]`. Reports go to a
temporary folder, so nothing accumulates under reports/.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from lifecycle_audit import paths, runner

CUSTOMERS = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = yaml.safe_load(paths.DEMO_PARAMS.read_text())
        data.update(client=f"bench{CUSTOMERS}", data_dir=str(paths.DATA / f"bench-{CUSTOMERS}"), output=tmp)
        data["demo"]["customers"] = CUSTOMERS
        params_file = Path(tmp) / "bench.yaml"
        params_file.write_text(yaml.safe_dump(data))
        start = time.perf_counter()
        runner.run(params_file, progress=False)
        first = time.perf_counter() - start
        times = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            result = runner.run(params_file, progress=False)
            times.append(time.perf_counter() - start)
        print(
            f"audit of {CUSTOMERS:,} customers: first run {first:.1f} s (generates and prepares the data); "
            f"then median {statistics.median(times):.1f} s of {REPEATS} (min {min(times):.1f}, max {max(times):.1f}); "
            f"{len(result.findings)} findings, {len(result.failed)} failed stages"
        )


if __name__ == "__main__":
    main()
