"""Money at stake on a shop's folder: each failed or warning finding's figure and method line, the findings' total
(overlaps counted once, findings.total_at_stake) and their plain sum, against the revenue of the period.

    .venv/bin/python tools/at_stake.py data/demo          # the demo shop (make demo generates it)

Runs every check on the folder's Parquet tables, as a run does, without the notebooks.
"""

from __future__ import annotations

import sys

import pandas as pd

from lifecycle_audit import checks, findings
from lifecycle_audit.engine import Tables


def main(folder: str) -> None:
    """Print the money at stake of every failed or warning finding, then the totals and the period's revenue."""
    tables = Tables.from_folder(folder)
    found = [findings.run_check(s, tables) for s in checks.specs()]
    money = sorted((f for f in found if f.status in ("fail", "warn") and f.at_stake), key=lambda f: -f.at_stake)
    for f in money:
        print(f"{f.at_stake:>12,.0f}  {f.status:4s}  {f.check_id}\n{'':20s}{f.at_stake_method}")
    revenue = float(pd.read_parquet(f"{folder}/orders.parquet")["revenue"].sum())
    plain = sum(f.at_stake for f in money)
    print(f"\n{len(money)} findings with money at stake; plain sum {plain:,.0f}; revenue of the orders {revenue:,.0f}")
    if hasattr(findings, "total_at_stake"):
        t = findings.total_at_stake(found)
        print(f"total at stake, overlaps counted once: {t.total:,.0f} ({t.share:.1%} of the period's {t.revenue:,.0f})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/demo")
