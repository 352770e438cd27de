"""A folder of daily event files as a shop sends them, written from a generated shop: the id column renamed partway,
beside customers, orders and order lines under the contract's names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from tests.kit.frames import shop

DAYS = 14
RENAMED_FROM = 7  # events_20240108.csv on write clientId instead of client_id
BLANK_LINE_IN = "events_20240103.csv"  # one empty line among its rows: excluded, not data
BAD_DATE_IN = "events_20240110.csv"  # one event time no one can read: rejected


def _csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")


def daily_event_folder(folder: Path, customers: int = 300, seed: int = 5) -> dict[str, int]:
    """Write the exports into `folder`; {file name: data rows} of every file written.

    The shop's events are cut into DAYS files named events_20240101.csv ... (in time order, each a slice of the
    shop's history); the customer id is `client_id` in the first RENAMED_FROM files and `clientId` after. One
    file holds an empty line (BLANK_LINE_IN), another an event time that is not a date (BAD_DATE_IN).
    """
    frames = shop("healthy", customers=customers, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = {}
    for table in ("customers", "orders", "order_lines"):
        _csv(frames[table], folder / f"{table}.csv")
        rows[f"{table}.csv"] = len(frames[table])
    events = frames["events"].sort_values("event_time", kind="stable").reset_index(drop=True)
    for day, part in enumerate(np.array_split(np.arange(len(events)), DAYS)):
        name = f"events_{(dt.date(2024, 1, 1) + dt.timedelta(days=day)):%Y%m%d}.csv"
        renamed = "client_id" if day < RENAMED_FROM else "clientId"
        day_events = events.iloc[part].rename(columns={"customer_id": renamed})
        if name == BAD_DATE_IN:
            day_events["event_time"] = day_events["event_time"].astype("string")
            day_events.iloc[3, day_events.columns.get_loc("event_time")] = "31/02/2024 25:61"
        _csv(day_events, folder / name)
        rows[name] = len(part)
        if name == BLANK_LINE_IN:
            lines = (folder / name).read_text(encoding="utf-8").splitlines(keepends=True)
            (folder / name).write_text("".join(lines[:5] + ["\n"] + lines[5:]), encoding="utf-8")
            rows[name] += 1
    return rows
