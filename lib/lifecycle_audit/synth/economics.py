"""The generated shop's P&L: revenue, marketing spend by channel, orders, order value, conversion and repeat rate.

It says whether a demo shop's economics are those of a plausible shop (BENCHMARKS.md: conversion about 1–5 %,
repeat purchase 21–36 %; marketing spend: 5–30 % of revenue, see docs/planted_mistakes.md). Plain pandas over the contract tables:

    python -m lifecycle_audit.synth.economics data/demo                      # a generated (or any) shop's folder
    python -m lifecycle_audit.synth.economics --customers 5000 --seed 1 --profile healthy
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from .generate import generate

TABLES = ("orders", "events", "spend", "customers")


def pnl(frames: dict[str, pd.DataFrame]) -> dict[str, object]:
    """The shop's P&L over its orders' span: figures by name (money in the shop's currency, rates as shares)."""
    o, s = frames["orders"], frames.get("spend")
    revenue = float(o["revenue"].sum())
    per_buyer = o.dropna(subset=["customer_id"]).groupby("customer_id").size()
    spend = s.groupby("channel")["amount"].sum().sort_values(ascending=False) if s is not None else pd.Series()
    ev = frames.get("events")
    sessions = int(ev["session_id"].nunique()) if ev is not None else None
    out: dict[str, object] = {
        "period": f"{o['order_time'].min():%Y-%m-%d} – {o['order_time'].max():%Y-%m-%d}",
        "customers": len(frames["customers"]) if "customers" in frames else None,
        "buyers": int(len(per_buyer)),
        "orders": int(len(o)),
        "revenue": revenue,
        "average_order_value": revenue / len(o) if len(o) else None,
        "sessions": sessions,
        "conversion": len(o) / sessions if sessions else None,
        "repeat_purchase_rate": float((per_buyer >= 2).mean()) if len(per_buyer) else None,
        "marketing_spend": float(spend.sum()),
        "spend_share_of_revenue": float(spend.sum()) / revenue if revenue else None,
    }
    out.update({f"spend_{ch}": float(v) for ch, v in spend.items()})
    return out


def read_folder(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The tables the P&L reads, from a folder of Parquet files (as the generator writes them)."""
    folder = Path(folder)
    return {t: pd.read_parquet(folder / f"{t}.parquet") for t in TABLES if (folder / f"{t}.parquet").exists()}


def show(figures: dict[str, object]) -> str:
    """The P&L as aligned lines."""
    lines = []
    for k, v in figures.items():
        if isinstance(v, float):
            v = f"{v:.1%}" if k in ("conversion", "repeat_purchase_rate", "spend_share_of_revenue") else f"{v:,.0f}"
        lines.append(f"{k:28s} {v}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the P&L of a shop's folder, or of a shop generated on the spot."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?")
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--profile", default="planted")
    a = ap.parse_args(argv)
    frames = read_folder(a.folder) if a.folder else generate(customers=a.customers, seed=a.seed, profile=a.profile)
    print(show(pnl(frames)))


if __name__ == "__main__":
    main()
