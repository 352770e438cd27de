"""Each check timed on prepared canonical tables, as a stage's kernel runs it.

Run on demand, printing figures (not a test):

    .venv/bin/python benchmarks/check_times.py <params file> <canonical tables folder> [check or stage ...]

The tables folder is one `lifecycle-audit run` prepared (.cache/tables/<client>/<key>/, with its derived/
tables); the audit is opened as a stage's kernel opens it (workbook.open_audit: the stored sessions and first
orders attached, DuckDB held to the kernel's memory). Each check runs in a fresh audit, so nothing one check
computed is reused by the next and the time is what that check costs on its own; the slowest come first, with
wall and CPU seconds and the finding's status and value, so that a faster version can be compared figure by figure.
"""

from __future__ import annotations

import sys
import time

from measures import cpu_seconds  # benchmarks/measures.py, beside this file (on the path as a script's folder)

from lifecycle_audit import checks, stages, workbook


def _chosen(args: list[str]) -> list[checks.CheckSpec]:
    if not args:
        return checks.specs()
    out = []
    for a in args:
        out.extend(checks.specs(a) if a in stages.STAGES else [checks.get(a)])
    return out


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        sys.exit(__doc__)
    params_file, folder, *names = argv
    rows = []
    for spec in _chosen(names):
        audit = workbook.open_audit(params_file, tables_dir=folder)
        wall, cpu = time.perf_counter(), cpu_seconds()
        f = audit.finding(spec.id)
        rows.append((time.perf_counter() - wall, cpu_seconds() - cpu, spec.id, f.status, f.value))
        print(f"{rows[-1][0]:8.2f} s  {spec.id}", file=sys.stderr, flush=True)
    print(f"\n{'wall s':>8} {'CPU s':>8}  {'check':<42} {'status':<8} value")
    for wall, cpu, check, status, value in sorted(rows, key=lambda r: -r[0]):
        print(f"{wall:8.2f} {cpu:8.2f}  {check:<42} {status:<8} {value}")
    print(f"{sum(r[0] for r in rows):8.2f} {sum(r[1] for r in rows):8.2f}  all {len(rows)} checks")


if __name__ == "__main__":
    main(sys.argv[1:])
