"""GA4 BigQuery export, flattened (one row per event): events.

event_name maps onto the contract's event types (page_view, view_item -> product_view, add_to_cart,
begin_checkout, purchase, sign_up); other GA4 events (session_start, scroll, user_engagement, ...)
are excluded as `other_event` and counted; a purchase fired again (the same user and item within a minute,
sources.doubles) is excluded as `doubled_purchase`, counted once. session_id = user_pseudo_id + ga_session_id; the channel
comes from traffic source medium/source; page_type from the page location's path. Timestamps are
event_timestamp (microseconds since 1970, UTC) converted into `timezone` (default UTC).
rejected (bad data): no user_pseudo_id or ga_session_id, an unreadable timestamp.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..doubles import DESCRIPTIONS, DOUBLE_SECONDS, DOUBLED_PURCHASE, repeats_within
from .base import Built, Options, Preset, Reason, first_reason, number, register, text

EVENTS = {
    "page_view": "page_view",
    "view_item": "product_view",
    "add_to_cart": "add_to_cart",
    "begin_checkout": "begin_checkout",
    "purchase": "purchase",
    "sign_up": "sign_up",
}
PAID_SOCIAL = ("facebook", "instagram", "tiktok", "pinterest", "linkedin", "twitter", "snapchat")


class GA4Options(Options):
    event_map: dict[str, str] = EVENTS
    timezone: str | None = None


def channel(medium: pd.Series, source: pd.Series) -> pd.Series:
    m = medium.str.lower().fillna("")
    s = source.str.lower().fillna("")
    social = s.str.contains("|".join(PAID_SOCIAL))
    out = np.select(
        [
            m.isin(["cpc", "ppc", "paid"]) & social,
            m.isin(["cpc", "ppc", "paidsearch"]),
            m.eq("organic"),
            m.isin(["paid_social", "paidsocial"]),
            m.eq("social") | social,
            m.isin(["email", "e-mail", "newsletter"]),
            m.eq("referral"),
            m.eq("affiliate"),
            m.isin(["display", "cpm", "banner"]),
            m.isin(["(none)", "none", ""]) & s.isin(["(direct)", "direct", ""]),
        ],
        [
            "paid_social",
            "paid_search",
            "organic_search",
            "paid_social",
            "organic_social",
            "email",
            "referral",
            "affiliate",
            "display",
            "direct",
        ],
        "unknown",
    )
    return pd.Series(out, index=medium.index, dtype="string")


def page_type(location: pd.Series) -> pd.Series:
    path = location.str.replace(r"^[a-z]+://[^/]+", "", regex=True).str.split("?").str[0].str.lower().fillna("")
    out = np.select(
        [
            path.isin(["", "/"]),
            path.str.contains(r"/(?:product|products|p|item)/"),
            path.str.contains(r"/cart"),
            path.str.contains(r"/checkout"),
            path.str.contains(r"/(?:collections?|category|categories|c|shop)/"),
            path.str.contains(r"/(?:landing|lp|campaign)/"),
            path.str.contains(r"/(?:blog|pages|about|help)"),
        ],
        ["home", "product", "cart", "checkout", "category", "landing", "content"],
        "other",
    )
    return pd.Series(out, index=location.index, dtype="string").mask(location.isna())


def _supplied_channel(medium: pd.Series, source: pd.Series) -> pd.Series:
    """The channel, or empty on every row when the export carries neither medium nor source (not supplied)."""
    if medium.isna().all() and source.isna().all():
        return pd.Series(pd.NA, index=medium.index, dtype="string")
    return channel(medium, source)


def build(data: pd.DataFrame, opts: GA4Options, ctx) -> Built:
    name = text(data["event_name"])
    user = text(data["user_pseudo_id"])
    session = text(data["ga_session_id"])
    micros = number(data["event_timestamp"])
    when = pd.to_datetime(micros, unit="us", utc=True, errors="coerce")
    when = when.dt.tz_convert(opts.timezone).dt.tz_localize(None) if opts.timezone else when.dt.tz_localize(None)
    kind = name.map(opts.event_map).astype("string")
    status = first_reason(
        len(data),
        [
            ("no_user", user.isna().to_numpy()),
            ("no_session", session.isna().to_numpy()),
            ("unreadable_timestamp", when.isna().to_numpy()),
            ("other_event", kind.isna().to_numpy()),
        ],
    )
    purchase = (kind == "purchase").fillna(False).to_numpy(dtype=bool)
    again = repeats_within([user, text(data["item_id"])], when, (status == "") & purchase, DOUBLE_SECONDS)
    status[again] = DOUBLED_PURCHASE
    used = status == ""
    device = text(data["device_category"]).str.lower()
    events = pd.DataFrame(
        {
            "session_id": (user + "." + session)[used].to_numpy(),
            "customer_id": text(data["user_id"])[used].to_numpy(),
            "anonymous_id": user[used].to_numpy(),
            "event_time": when[used].to_numpy(),
            "event_type": kind[used].to_numpy(),
            "page_type": page_type(text(data["page_location"]))[used].to_numpy(),
            "channel": _supplied_channel(text(data["medium"]), text(data["source"]))[used].to_numpy(),
            "device": device.where(device.isin(["desktop", "mobile", "tablet"]) | device.isna(), "other")[
                used
            ].to_numpy(),
            "product_id": text(data["item_id"])[used].to_numpy(),
            "category": text(data["item_category"])[used].to_numpy(),
        }
    )
    return Built(tables={"events": events}, status=status)


PRESET = register(
    Preset(
        name="ga4_events",
        title="GA4 BigQuery export, flattened (one row per event)",
        yields=("events",),
        fields={
            "event_name": "event_name",
            "event_timestamp": "event_timestamp",
            "user_pseudo_id": "user_pseudo_id",
            "user_id": "user_id",
            "ga_session_id": "ga_session_id",
            "source": "traffic_source_source",
            "medium": "traffic_source_medium",
            "device_category": "device_category",
            "page_location": "page_location",
            "item_id": "item_id",
            "item_category": "item_category",
        },
        required=("event_name", "event_timestamp", "user_pseudo_id", "ga_session_id"),
        reasons=(
            Reason("no_user", "rejected", "no user_pseudo_id", "user_pseudo_id"),
            Reason("no_session", "rejected", "no ga_session_id", "ga_session_id"),
            Reason(
                "unreadable_timestamp", "rejected", "event_timestamp is not microseconds since 1970", "event_timestamp"
            ),
            Reason(DOUBLED_PURCHASE, "excluded", DESCRIPTIONS[DOUBLED_PURCHASE], "item_id"),
            Reason(
                "other_event",
                "excluded",
                "a GA4 event the audit does not use (session_start, scroll, ...)",
                "event_name",
            ),
        ),
        options=GA4Options,
        build=build,
        signature=("event_name", "event_timestamp", "user_pseudo_id", "ga_session_id"),
        template="ga4_events",
        personal=("user_pseudo_id", "user_id"),
    )
)
