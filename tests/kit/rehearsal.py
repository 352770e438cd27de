"""Small client folders with a known number of bad rows, for `validate` rehearsing `run`.

Plain exports (customers.csv, orders.csv) and a transaction-lines export in the Online Retail layout (the
transaction_lines preset), written at test time; every bad row is planted on purpose, so each test knows how
many rows are used and how many rejected, and why.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import yaml

from tests.kit.small_runs import notebook

CUSTOMERS_HEADER = "customer_id,first_seen_at,acquisition_channel\n"
ORDERS_HEADER = "order_id,customer_id,order_time,revenue\n"
LINES_HEADER = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"


def plain_shop(
    folder: Path, *, customers: int = 100, orders: int = 200, bad_orders: int = 0, social: int = 0
) -> dict[str, int]:
    """customers.csv and orders.csv in `folder`: `bad_orders` orders with a revenue that is not a number, and
    `social` customers with the channel 'social' (not a contract value) whose orders point at them.

    Orders go round the customers (order i belongs to customer i % customers), so the first `social` customers
    own orders // customers orders each. Returns the files' rows.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(customers):
        channel = "social" if i < social else ("email" if i % 2 else "paid_search")
        rows.append(f"C{i},2025-01-{1 + i % 28:02d} 09:00:00,{channel}\n")
    (folder / "customers.csv").write_text(CUSTOMERS_HEADER + "".join(rows), encoding="utf-8")
    lines = []
    for i in range(orders):
        revenue = "ten" if i >= orders - bad_orders else f"{10 + i % 50}.50"
        lines.append(f"O{i},C{i % customers},2025-02-{1 + i % 28:02d} 12:00:00,{revenue}\n")
    (folder / "orders.csv").write_text(ORDERS_HEADER + "".join(lines), encoding="utf-8")
    return {"customers.csv": customers, "orders.csv": orders}


def retail_lines(folder: Path, *, lines: int = 100, bad: int = 0, cancelled: int = 0) -> dict[str, int]:
    """lines.csv in the Online Retail layout: `bad` lines with a quantity written out ('two', rejected as bad
    data) and `cancelled` cancellation lines (excluded by the preset's rules, not bad data)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(lines):
        invoice, quantity = f"5{i // 2:05d}", str(1 + i % 5)
        if i < cancelled:
            invoice, quantity = f"C5{i:05d}", "-1"
        elif i >= lines - bad:
            quantity = "two"
        out.append(
            f"{invoice},{20000 + i},ITEM {i},{quantity},2025-03-{1 + i % 28:02d} 10:{i % 60:02d}:00,"
            f"{2 + i % 7}.95,{13000 + i % 40},United Kingdom\n"
        )
    (folder / "lines.csv").write_text(LINES_HEADER + "".join(out), encoding="utf-8")
    return {"lines.csv": lines}


def params_file(folder: Path, client: str, sources: dict, **extra) -> Path:
    """A params file in `folder` reading `folder/data`, writing reports under `folder/reports`."""
    data = {
        "client": client,
        "data_dir": str(folder / "data"),
        "sources": sources,
        "output": str(folder / "reports"),
        **extra,
    }
    path = folder / f"{client}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def quick_notebooks(folder: Path) -> Path:
    """A notebooks folder whose data-health stage is one trivial cell: a run then costs seconds, and what it
    decides about the data (go, or stop with exit 2) is what the rehearsal is compared with."""
    nbs = folder / "notebooks"
    nbs.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook("x = 1"), nbs / "00_data_health.ipynb")
    return nbs
