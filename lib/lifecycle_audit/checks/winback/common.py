"""Win-back: what its checks share: the win-back messages sent and what the messages table says of each lapsed
customer."""

from __future__ import annotations

import pandas as pd

from ...metrics import churn, presence

TOP_ROWS = 20  # customers listed in an evidence table
OTHER_CHANNELS = ("postal", "sms", "push")  # where a customer whose e-mail no longer works can still be reached
NOT_MARKETING = ("transactional", "thank_you")  # receipts and order confirmations: not a win-back attempt


def winbacks(tables, channel: str | None = None) -> pd.DataFrame:
    """Win-back messages (customer_id, channel, sent_at) as a small pandas frame."""
    m = tables["messages"]
    m = m.filter((m.message_type == "winback") & m.customer_id.notnull())
    if channel:
        m = m.filter(m.channel == channel)
    df = m.select("customer_id", "channel", "sent_at").to_pandas()
    df["customer_id"] = df["customer_id"].astype(str)
    return df


def lapsed_contacts(tables, lo: float, hi: float) -> pd.DataFrame:
    """What the messages and customers tables say of each customer whose last order is `lo` to `hi` days before
    the end of the period (churn.lapsed; a few more customers a day either side, so that the caller picks the
    exact ones from the order history). Index customer_id; columns:

    - last_winback, last_email_winback: the latest win-back message (any channel, e-mail) — a message sent
      after the last order is one whose time is later than it, exactly when the latest one is;
    - last_other_marketing: the latest marketing message (not a receipt or a thank-you; a message of no type
      counts) on post, SMS or push;
    - email_dead: an e-mail of theirs was unsubscribed from or bounced; sms_or_push: they were sent an SMS or a
      push message (either at any time);
    - opted_in: e-mail opt-in (False for a customer the customers table does not list; the column is left out
      when the customers table does not say who opted in), postal_address (False without the column).

    One query over the messages and the customers of the lapsed customers alone, computed once per audit and
    window: the checks never bring the messages, or the customers' sets, into pandas."""
    return tables.derived(f"winback.lapsed_contacts{(float(lo), float(hi))}", lambda t: _lapsed_contacts(t, lo, hi))


def _lapsed_contacts(tables, lo: float, hi: float) -> pd.DataFrame:
    end = churn.end_of(tables)
    o = tables["orders"]
    o = o.filter(o.customer_id.notnull())
    last = o.group_by("customer_id").aggregate(last_order=o.order_time.max())
    last = last.filter(
        (last.last_order >= end - pd.Timedelta(days=hi + 1)) & (last.last_order < end - pd.Timedelta(days=lo - 1))
    )
    m = tables["messages"]
    m = m.filter(m.customer_id.notnull()).semi_join(last, "customer_id")
    email = m.channel == "email"
    dead = m.unsubscribed_at.notnull()
    if "bounced" in m.columns:
        dead = dead | m.bounced.fill_null(False)
    winback = m.message_type == "winback"
    marketing = m.message_type.isnull() | ~m.message_type.isin(NOT_MARKETING)
    flags = m.group_by("customer_id").aggregate(
        last_winback=m.sent_at.max(where=winback),
        last_email_winback=m.sent_at.max(where=winback & email),
        last_other_marketing=m.sent_at.max(where=m.channel.isin(OTHER_CHANNELS) & marketing),
        dead_emails=m.count(where=email & dead),
        sms_or_push=m.count(where=m.channel.isin(("sms", "push"))),
    )
    out = last.select("customer_id").left_join(flags, "customer_id").drop("customer_id_right")
    agg = {}
    if tables.has("customers"):
        cu = tables["customers"]
        cu = cu.filter(cu.customer_id.notnull()).semi_join(last, "customer_id")
        if presence.has_values(tables, "customers", "email_opt_in"):  # absent or empty on every row: unknown
            agg["opted_in"] = cu.count(where=cu.email_opt_in.fill_null(False))
        if "has_postal_address" in cu.columns:
            agg["postal_address"] = cu.count(where=cu.has_postal_address.fill_null(False))
        if agg:  # a customer listed twice has what any of their rows says
            out = out.left_join(cu.group_by("customer_id").aggregate(**agg), "customer_id").drop("customer_id_right")
    df = out.to_pandas()
    df.index = pd.Index(df.pop("customer_id").astype(str), name="customer_id")
    for col in ("last_winback", "last_email_winback", "last_other_marketing"):
        df[col] = pd.to_datetime(df[col])
    for col in ("dead_emails", "sms_or_push", *agg):
        df[col] = pd.to_numeric(df[col]).fillna(0) > 0  # counted rows; no row at all: none
    if "postal_address" not in df:
        df["postal_address"] = False
    return df.rename(columns={"dead_emails": "email_dead"})
