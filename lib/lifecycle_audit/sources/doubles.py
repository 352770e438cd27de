"""Doubled purchases: the same purchase recorded twice, set aside as "excluded by rule" and counted once.

Analytics tags fire a purchase event again when the confirmation page is reloaded or the tag sits on the page
twice; exports repeat an order's row. Counted as they come, a one-time buyer becomes a repeat customer (in a
GA4 export, of 202 customers with three or more orders only 33 bought on three different days).

A duplicate, precisely:
- events (plain mapping, and the GA4 preset): a purchase event of the same person (customer_id, else
  anonymous_id, else session_id; GA4: user_pseudo_id) for the same product (product_id / item_id, both empty
  counting as the same), at most DOUBLE_SECONDS after the previous such event. The first is kept.
- orders: a row repeating an earlier row's order_id with the same customer_id and revenue (the same order
  recorded twice, whatever its time). An order_id repeated with another customer or amount is a conflict,
  rejected as bad data (duplicate_key), not a double.
Each excluded row is named in the accounting with its count and example rows (rows in = used + excluded by a
rule + rejected); the data-health page lists them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

DOUBLE_SECONDS = 60  # a person buying the same product again within a minute is the same purchase, fired twice
DOUBLED_EVENT = "doubled_event"
REPEATED_ORDER = "repeated_order"
DOUBLED_PURCHASE = "doubled_purchase"  # the GA4 preset's label for DOUBLED_EVENT
KINDS = (DOUBLED_EVENT, REPEATED_ORDER, DOUBLED_PURCHASE)
DESCRIPTIONS = {
    DOUBLED_EVENT: (
        f"a purchase event fired again: the same person and product within {DOUBLE_SECONDS} seconds of the "
        "previous one (counted once)"
    ),
    DOUBLED_PURCHASE: (
        f"a purchase event fired again: the same user_pseudo_id and item_id within {DOUBLE_SECONDS} seconds of "
        "the previous one (counted once)"
    ),
    REPEATED_ORDER: "the same order recorded again: its order_id, customer_id and revenue repeat an earlier row "
    "(counted once)",
}


def repeats_within(keys: Sequence[pd.Series], time: pd.Series, candidates: np.ndarray, seconds: float) -> np.ndarray:
    """True for each candidate row whose `keys` equal the previous candidate row's (in time order) and whose
    `time` is at most `seconds` after it; empty keys count as equal. The first of each run stays False."""
    out = np.zeros(len(time), dtype=bool)
    if not candidates.any():
        return out
    pos = np.flatnonzero(candidates)
    cols = {f"k{i}": k.iloc[pos].astype("string").fillna("\x00").to_numpy() for i, k in enumerate(keys)}
    df = pd.DataFrame({**cols, "t": pd.to_datetime(time.iloc[pos]).to_numpy(), "pos": pos})
    df = df.sort_values([*cols, "t"], kind="stable")
    same = np.ones(len(df), dtype=bool)
    for c in cols:
        v = df[c].to_numpy()
        same[1:] &= v[1:] == v[:-1]
    same[0] = False
    gap = df["t"].diff().dt.total_seconds().to_numpy()
    hit = same & (gap <= seconds)
    out[df["pos"].to_numpy()[hit]] = True
    return out


def doubled_events(df: pd.DataFrame, alive: np.ndarray) -> np.ndarray:
    """Among the `alive` rows of a canonical events frame: the purchase events fired again (see the module)."""
    person = df["customer_id"].astype("string").fillna(df["anonymous_id"].astype("string")).fillna(df["session_id"])
    product = df["product_id"] if "product_id" in df else pd.Series(pd.NA, index=df.index, dtype="string")
    purchase = (df["event_type"] == "purchase").fillna(False).to_numpy(dtype=bool)
    candidates = alive & purchase & df["event_time"].notna().to_numpy()
    return repeats_within([person, product], df["event_time"], candidates, DOUBLE_SECONDS)


def repeated_orders(df: pd.DataFrame, alive: np.ndarray) -> np.ndarray:
    """Among the `alive` rows of a canonical orders frame: rows repeating an earlier order (see the module)."""
    out = np.zeros(len(df), dtype=bool)
    keys = ["order_id", "customer_id", "revenue"]
    out[alive] = df.loc[alive, keys].astype("string").fillna("\x00").duplicated(keep="first").to_numpy(dtype=bool)
    return out
