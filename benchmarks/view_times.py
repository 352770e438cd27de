"""The data-health page's views timed on prepared canonical tables, as the stage's kernel runs them.

Run on demand, printing figures (not a test):

    .venv/bin/python benchmarks/view_times.py <params file> <canonical tables folder> [view ...]

Views: coverage, readiness (health.<view>; all when none is named). Each runs in a fresh audit opened as the
kernel opens it (workbook.open_audit), so the tables' profiles the view reads are part of its time, as they are
for the first view of the page; wall and CPU seconds and the rows of the result are printed, the slowest first.
"""

from __future__ import annotations

import sys
import time

from measures import cpu_seconds  # benchmarks/measures.py, beside this file (on the path as a script's folder)

from lifecycle_audit import health, workbook

VIEWS = {"coverage": health.coverage, "readiness": health.readiness}


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        sys.exit(__doc__)
    params_file, folder, *names = argv
    rows = []
    for name in names or list(VIEWS):
        audit = workbook.open_audit(params_file, tables_dir=folder)
        wall, cpu = time.perf_counter(), cpu_seconds()
        out = VIEWS[name.removeprefix("health.")](audit.tables)
        rows.append(
            (time.perf_counter() - wall, cpu_seconds() - cpu, f"health.{name.removeprefix('health.')}", len(out))
        )
        print(f"{rows[-1][0]:8.2f} s  {rows[-1][2]}", file=sys.stderr, flush=True)
    print(f"\n{'wall s':>8} {'CPU s':>8}  {'view':<20} rows")
    for wall, cpu, view, n in sorted(rows, key=lambda r: -r[0]):
        print(f"{wall:8.2f} {cpu:8.2f}  {view:<20} {n}")


if __name__ == "__main__":
    main(sys.argv[1:])
