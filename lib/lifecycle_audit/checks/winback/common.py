"""Win-back: what its checks share: the win-back messages sent, and who was contacted after a date."""

from __future__ import annotations

import pandas as pd

TOP_ROWS = 20  # customers listed in an evidence table


def winbacks(tables, channel: str | None = None) -> pd.DataFrame:
    """Win-back messages (customer_id, channel, sent_at) as a small pandas frame."""
    m = tables["messages"]
    m = m.filter((m.message_type == "winback") & m.customer_id.notnull())
    if channel:
        m = m.filter(m.channel == channel)
    df = m.select("customer_id", "channel", "sent_at").to_pandas()
    df["customer_id"] = df["customer_id"].astype(str)
    return df


def contacted_after(last: pd.Series, msgs: pd.DataFrame) -> pd.Series:
    """Per customer of `last` (customer_id -> last order time): was any of `msgs` sent after it?"""
    if last.empty or msgs.empty:  # mapping onto an empty series would give the wrong dtype
        return pd.Series(False, index=last.index, dtype=bool)
    got = msgs.assign(last=msgs["customer_id"].map(last))
    got = got[got["sent_at"] > got["last"]]
    return pd.Series(last.index.isin(got["customer_id"].unique()), index=last.index)
