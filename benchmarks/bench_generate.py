"""Generator speed and size: median wall time of synth.generate at several shop sizes.

Run on demand (`make bench` or `.venv/bin/python benchmarks/bench_generate.py [sizes...]`); the
machines are shared and noisy, so it prints medians of several runs and the ratio between sizes.
"""

from __future__ import annotations

import statistics
import sys
import time

from lifecycle_audit import synth

SIZES = [int(a) for a in sys.argv[1:]] or [5_000, 20_000, 100_000]
REPEATS = 3


def main() -> None:
    medians = {}
    for size in SIZES:
        times = []
        for seed in range(REPEATS):
            start = time.perf_counter()
            tables = synth.generate(customers=size, seed=seed, profile="planted")
            times.append(time.perf_counter() - start)
        rows = sum(len(t) for t in tables.values())
        medians[size] = statistics.median(times)
        print(
            f"generate {size:>9,} customers: median {medians[size]:6.2f} s of {REPEATS} "
            f"(min {min(times):.2f}, max {max(times):.2f}); {rows:,} rows, "
            f"{len(tables['events']):,} events, {len(tables['messages']):,} messages"
        )
    base = SIZES[0]
    for size in SIZES[1:]:
        print(f"  {size // base}x the customers took {medians[size] / medians[base]:.1f}x the time")


if __name__ == "__main__":
    main()
