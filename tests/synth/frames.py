"""Reading the generated tables as an audit would: sessions, carts, ends of the period (plain pandas,
independent of the generator), shared by the measures of several test modules."""

from __future__ import annotations

import pandas as pd

PAID_CHANNELS = ["paid_search", "paid_social", "display", "affiliate"]
EARNED = ["organic_search", "organic_social", "referral"]


def end_of(t) -> pd.Timestamp:
    """The day after the last event."""
    return t["events"]["event_time"].max().normalize() + pd.Timedelta(days=1)


def first_sessions(events: pd.DataFrame) -> pd.DataFrame:
    """The first event of every session."""
    return events.drop_duplicates("session_id")


def sessions(events: pd.DataFrame) -> pd.DataFrame:
    """One row per session: events, landing page, first event type, bounce (a lone page view)."""
    ev = events.sort_values(["session_id", "event_time"], kind="stable")
    s = ev.groupby("session_id").agg(
        n=("event_type", "size"), landing=("page_type", "first"), first_type=("event_type", "first")
    )
    s["bounce"] = (s["n"] == 1) & (s["first_type"] == "page_view")
    return s


def home_measures(events):
    """Bounce of home-page landings, of other landings, and the home next-step share."""
    s = sessions(events)
    home = s[s["landing"] == "home"]
    other = s[s["landing"].isin(["landing", "category", "product", "content"])]
    return home["bounce"].mean(), other["bounce"].mean(), (home["n"] > 1).mean()


def carts(events, days=7):
    """One row per session with an add_to_cart; abandoned = no purchase by that visitor within
    `days` days after the (first) add_to_cart."""
    ev = events.assign(visitor=events["customer_id"].fillna(events["anonymous_id"]))
    c = (
        ev[ev["event_type"] == "add_to_cart"]
        .groupby("session_id")
        .agg(
            t=("event_time", "min"),
            visitor=("visitor", "first"),
            customer_id=("customer_id", "first"),
            device=("device", "first"),
        )
        .reset_index()
        .sort_values("t")
    )
    buys = ev.loc[ev["event_type"] == "purchase", ["visitor", "event_time"]].sort_values("event_time")
    c = pd.merge_asof(
        c,
        buys.rename(columns={"event_time": "bought_at"}),
        left_on="t",
        right_on="bought_at",
        by="visitor",
        direction="forward",
        tolerance=pd.Timedelta(days=days),
    )
    return c.assign(abandoned=c["bought_at"].isna())


def reminder_measures(t):
    """Of abandoned carts by opted-in customers: share reminded within 24 h, share reminded at
    all within 7 days, share of reminded carts that got a second reminder."""
    c = carts(t["events"])
    opted = t["customers"].set_index("customer_id")["email_opt_in"]
    ab = c[c["abandoned"] & c["customer_id"].notna()]
    ab = ab[ab["customer_id"].map(opted).fillna(False).astype(bool)].sort_values("t")
    rem = t["messages"].loc[t["messages"]["message_type"] == "abandoned_cart", ["customer_id", "sent_at"]]
    rem = rem.sort_values("sent_at")
    first = pd.merge_asof(
        ab,
        rem.rename(columns={"sent_at": "r1"}),
        left_on="t",
        right_on="r1",
        by="customer_id",
        direction="forward",
        tolerance=pd.Timedelta(days=7),
    )
    delay = first["r1"] - first["t"]
    reminded = first.dropna(subset=["r1"])
    reminded = reminded.assign(after=reminded["r1"] + pd.Timedelta(seconds=1)).sort_values("after")
    second = pd.merge_asof(
        reminded,
        rem.rename(columns={"sent_at": "r2"}),
        left_on="after",
        right_on="r2",
        by="customer_id",
        direction="forward",
        tolerance=pd.Timedelta(hours=36),
    )
    return (
        (delay <= pd.Timedelta(hours=24)).mean(),
        first["r1"].notna().mean(),
        second["r2"].notna().mean() if len(second) else 0.0,
    )


def unsubscribe_rate(messages):
    """Share of e-mails unsubscribed from."""
    email = messages[messages["channel"] == "email"]
    return email["unsubscribed_at"].notna().mean()


def lapsed(t, lo=100, hi=400):
    """Customers whose last order is `lo` to `hi` days before the end: id -> last order time."""
    end = end_of(t)
    last = t["orders"].groupby("customer_id")["order_time"].max()
    return last[(last < end - pd.Timedelta(days=lo)) & (last >= end - pd.Timedelta(days=hi))]
