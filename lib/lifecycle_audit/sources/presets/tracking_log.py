"""A raw tracking log of the Segment / Snowplow kind (one row per hit, no sessions): events, orders, order lines.

Each row is a page view or a tracked event with a time, an anonymous id and/or a user id, the page URL, the
referrer and the user agent. The event's name (Segment: `event`, else `type`; Snowplow: `event`) maps onto the
contract's event types (EVENTS; `event_map` adds or overrides names); other hits (identify, page pings,
custom events) are excluded as `other_event` and counted, but still keep their visitor's session alive.

Derived by sources.web: sessions from inactivity (`session_gap_minutes`, 30 by default) and campaign change,
the session's channel from UTM parameters and referrer (GA4's default channel grouping; `channel_rules` first),
page type from the URL (`page_types` first), device from the user agent (or a device column the log carries).
What the log does not carry stays empty ("not supplied"): no URL and no referrer, no channel.

Purchase events that carry an order id and a revenue also yield the orders table (one order per order id,
customer_id = the user id), and their products array (Segment's `properties.products`: product_id or sku,
price, quantity, category) the order lines. A purchase fired again (the same visitor and product within a minute) is excluded
as `doubled_event` and counted once.
rejected (bad data): neither anonymous id nor user id, an unreadable timestamp.
"""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from ... import contract
from ...params import WebChannelRule
from .. import web
from ..doubles import DESCRIPTIONS, DOUBLE_SECONDS, DOUBLED_EVENT, repeats_within
from .base import Built, Options, Preset, Reason, first_reason, number, register, text, timestamp

# Event names of Segment's e-commerce spec, Snowplow and GA4, written lower case with single spaces.
EVENTS = {
    "page": "page_view",
    "page view": "page_view",
    "pageview": "page_view",
    "screen": "page_view",
    "product viewed": "product_view",
    "view item": "product_view",
    "product view": "product_view",
    "product added": "add_to_cart",
    "add to cart": "add_to_cart",
    "checkout started": "begin_checkout",
    "begin checkout": "begin_checkout",
    "order completed": "purchase",
    "purchase": "purchase",
    "transaction": "purchase",
    "signed up": "sign_up",
    "sign up": "sign_up",
}
ChannelRule = WebChannelRule  # the same rules as a plain events mapping's `web:` (params.WebOptions)


class TrackingLogOptions(Options):
    """Options of the tracking_log preset."""

    session_gap_minutes: float = Field(web.SESSION_GAP_MINUTES, gt=0, le=24 * 60)
    new_session_on_campaign_change: bool = True
    channel_rules: list[ChannelRule] = Field(default_factory=list)
    page_types: dict[str, Literal[contract.PAGE_TYPES]] = Field(default_factory=dict)  # type: ignore[valid-type]
    internal_hosts: list[str] = Field(default_factory=list)  # the shop's other hosts (checkout, payment pages)
    stitch_customer_ids: bool = True  # an anonymous id tied to exactly one user id: all its hits get that customer
    event_map: dict[str, Literal[contract.EVENT_TYPES] | None] = Field(default_factory=dict)  # type: ignore[valid-type]
    timezone: str | None = None

    @field_validator("event_map")
    @classmethod
    def _normal_names(cls, value: dict) -> dict:
        return {_normal(k): v for k, v in value.items()}


def _normal(name: str) -> str:
    """An event name compared loosely: lower case, "_", "-" and "." as spaces ("Order_Completed" = "order completed")."""
    return " ".join(str(name).lower().replace("_", " ").replace("-", " ").replace(".", " ").split())


def _supplied(s: pd.Series) -> bool:
    """Whether the log carries this field at all (a value on at least one row)."""
    return bool(s.notna().any())


def event_types(name: pd.Series, extra: dict) -> pd.Series:
    """The contract event type of each hit's name (<NA> for hits the audit does not use)."""
    table = {**EVENTS, **extra}
    names = pd.unique(name.dropna())  # each distinct name looked up once
    return name.map({n: table.get(_normal(n)) for n in names}).astype("string")


def _channels(data: pd.DataFrame, opts: TrackingLogOptions) -> tuple[pd.Series, pd.DataFrame | None]:
    """Per hit its own channel, and its traffic source (None when the log carries neither URL nor referrer)."""
    url, ref = text(data["url"]), text(data["referrer"])
    tagged = [f for f in ("utm_source", "utm_medium", "utm_campaign") if _supplied(text(data[f]))]
    if not (_supplied(url) or _supplied(ref) or tagged):
        return web.empty_channel(len(data)), None
    src = web.traffic_source(url, ref, opts.internal_hosts)
    for f in tagged:  # UTM values in columns of their own (Snowplow's mkt_*) win over the URL's
        col = text(data[f]).str.lower()
        src[f.removeprefix("utm_")] = col.fillna(src[f.removeprefix("utm_")]).astype("string")
        src["new"] |= col.notna().to_numpy()
    rules = [r.model_dump() for r in opts.channel_rules]
    return web.channel_of(src, rules), src


def build(data: pd.DataFrame, opts: TrackingLogOptions, ctx) -> Built:
    """The events (and orders) of a raw tracking log."""
    anon, user = text(data["anonymous_id"]), text(data["user_id"])
    visitor = anon.fillna(user)
    if opts.stitch_customer_ids:
        user = _stitched(anon, user, ctx.notes)
    when = timestamp(data["timestamp"], None, opts.timezone)
    kind = event_types(text(data["event"]).fillna(text(data["type"])), opts.event_map)
    status = first_reason(
        len(data),
        [
            ("no_visitor", visitor.isna().to_numpy()),
            ("unreadable_timestamp", when.isna().to_numpy()),
            ("other_event", kind.isna().to_numpy()),
        ],
    )
    product = text(data["product_id"])
    purchase = (kind == "purchase").fillna(False).to_numpy(dtype=bool)
    again = repeats_within([visitor, product], when, (status == "") & purchase, DOUBLE_SECONDS)
    status[again] = DOUBLED_EVENT
    own_channel, src = _channels(data, opts)
    key = web.session_key(ctx.params.client)
    new_source = src["new"] if src is not None and opts.new_session_on_campaign_change else None
    source_key = src["source"] + "/" + src["medium"] + "/" + src["campaign"] if src is not None else None
    session = web.sessions(visitor, when, new_source, source_key, opts.session_gap_minutes, key)
    channel = own_channel
    if src is not None:  # a hit with a source of its own first, then a page, then calls without a page
        page = (text(data["url"]).notna() | text(data["referrer"]).notna()).to_numpy()
        rank = pd.Series(np.where(src["new"].to_numpy(), 0, np.where(page, 1, 2)))
        channel = web.session_channel(session, when, own_channel, rank)
    device = text(data["device"]).str.lower()
    if _supplied(device):
        device = device.where(device.isin(["desktop", "mobile", "tablet"]) | device.isna(), "other")
    else:
        device = web.device_of(text(data["user_agent"]))
    used = status == ""
    events = pd.DataFrame(
        {
            "session_id": session[used].to_numpy(),
            "customer_id": user[used].to_numpy(),
            "anonymous_id": anon[used].to_numpy(),
            "event_time": when[used].to_numpy(),
            "event_type": kind[used].to_numpy(),
            "page_type": web.page_type_of(text(data["url"]), opts.page_types)[used].to_numpy(),
            "channel": channel[used].to_numpy(),
            "device": device[used].to_numpy(),
            "product_id": product[used].to_numpy(),
            "category": text(data["category"])[used].to_numpy(),
        }
    )
    notes = _session_notes(session[used], channel[used], src is not None, opts)
    if opts.timezone is None and text(data["timestamp"]).str.contains(r"(?:Z|[+-]\d\d:?\d\d)$").fillna(False).any():
        notes.append(
            "timestamps carry a UTC offset and are kept as UTC; set options.timezone (e.g. Europe/Berlin) for the "
            "shop's local time"
        )
    orders, lines = _orders(data, user, when, used & purchase, notes)
    return Built(tables={"events": events, "orders": orders, "order_lines": lines}, status=status, notes=notes)


def _stitched(anon: pd.Series, user: pd.Series, notes: list[str]) -> pd.Series:
    """The user id of every hit, filled in on the hits of an anonymous id that is tied to exactly one user id
    (the visits before the login, as an identify call ties them); an anonymous id seen with several user ids (a
    shared device) is left as it is."""
    pairs = pd.DataFrame({"a": anon, "u": user}).dropna().drop_duplicates()
    per = pairs.groupby("a")["u"]
    single = per.first()[per.nunique() == 1]
    filled = user.fillna(anon.map(single)).astype("string")
    added = int(filled.notna().sum() - user.notna().sum())
    if added:
        notes.append(
            f"{added:,} hits before a login given the customer id their anonymous id was later tied to "
            f"({len(single):,} visitors; {int((per.nunique() > 1).sum()):,} anonymous ids with several customers "
            "left as they are)"
        )
    return filled


def _orders(
    data: pd.DataFrame, user: pd.Series, when: pd.Series, rows: np.ndarray, notes: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One order per order id among the used purchase events that carry an order id and a readable revenue, and
    the lines of their products arrays."""
    order_id, revenue = text(data["order_id"]), number(data["revenue"])
    take = rows & order_id.notna().to_numpy() & revenue.notna().to_numpy()
    lacking = int((rows & ~take).sum())
    if lacking and _supplied(order_id):
        notes.append(f"{lacking:,} purchase event(s) without an order id or a readable revenue yield no order")
    orders = pd.DataFrame(
        {
            "order_id": order_id[take].to_numpy(),
            "customer_id": user[take].to_numpy(),
            "order_time": when[take].to_numpy(),
            "revenue": revenue[take].to_numpy(),
            "currency": text(data["currency"])[take].to_numpy(),
            "_products": text(data["products"])[take].to_numpy(),
        }
    )
    repeated = orders["order_id"].duplicated()
    if repeated.any():
        notes.append(f"{int(repeated.sum()):,} purchase event(s) repeat an order id already seen: one order kept")
    orders = orders[~repeated].reset_index(drop=True)
    lines = order_lines(orders["order_id"], orders.pop("_products"), notes)
    return orders, lines


LINE_COLUMNS = ("order_id", "product_id", "category", "unit_price", "quantity")


def order_lines(order_id: pd.Series, products: pd.Series, notes: list[str]) -> pd.DataFrame:
    """The order lines in each order's products array (JSON text): product_id (else sku, else id), price,
    quantity (1 when not given) and category; an item without product or readable price is left out, noted."""
    out, skipped = [], 0
    for oid, items in zip(order_id, products, strict=True):
        if pd.isna(items):
            continue
        try:
            parsed = json.loads(items)
        except (TypeError, json.JSONDecodeError):
            parsed = None
        if not isinstance(parsed, list):
            skipped += 1
            continue
        for item in parsed:
            line = _line(oid, item)
            if line is None:
                skipped += 1
            else:
                out.append(line)
    if skipped:
        notes.append(f"{skipped:,} product(s) in purchase events without a product id or a price: no order line")
    lines = pd.DataFrame(out, columns=list(LINE_COLUMNS))
    return lines.astype({"order_id": "string", "product_id": "string", "category": "string", "unit_price": "float64"})


def _line(order_id: str, item) -> tuple | None:
    """One order line from an item of a products array, or None when it names no product or no price."""
    if not isinstance(item, dict):
        return None
    product = next((item[k] for k in ("product_id", "sku", "id") if item.get(k) not in (None, "")), None)
    try:
        price = float(item["price"])
        quantity = int(item.get("quantity", 1) or 1)
    except (KeyError, TypeError, ValueError):
        return None
    if product is None:
        return None
    category = item.get("category")
    return order_id, str(product), None if category in (None, "") else str(category), price, quantity


def _session_notes(session: pd.Series, channel: pd.Series, has_source: bool, opts: TrackingLogOptions) -> list[str]:
    """What the build decided, for the data-health page."""
    notes = [
        f"{session.nunique():,} sessions built from {len(session):,} events: a new session after "
        f"{opts.session_gap_minutes:g} minutes without a hit"
        + (" or when a hit brings a new campaign source" if opts.new_session_on_campaign_change else "")
    ]
    if not has_source:
        notes.append("the log carries neither page URL nor referrer: channel not supplied")
    return notes


PRESET = register(
    Preset(
        name="tracking_log",
        title="Raw tracking log (Segment / Snowplow kind: one row per hit, no sessions)",
        yields=("events", "orders", "order_lines"),
        fields={
            "type": "type",
            "event": "event",
            "timestamp": "timestamp",
            "anonymous_id": "anonymous_id",
            "user_id": "user_id",
            "url": "url",
            "referrer": "referrer",
            "user_agent": "user_agent",
            "utm_source": "utm_source",
            "utm_medium": "utm_medium",
            "utm_campaign": "utm_campaign",
            "device": "device",
            "product_id": "product_id",
            "category": "category",
            "order_id": "order_id",
            "revenue": "revenue",
            "currency": "currency",
            "products": "products",
        },
        required=("timestamp", "anonymous_id"),
        reasons=(
            Reason("no_visitor", "rejected", "neither anonymous id nor user id", "anonymous_id"),
            Reason("unreadable_timestamp", "rejected", "the timestamp cannot be read", "timestamp"),
            Reason(DOUBLED_EVENT, "excluded", DESCRIPTIONS[DOUBLED_EVENT], "product_id"),
            Reason(
                "other_event",
                "excluded",
                "a hit the audit does not use (identify, page ping, a custom event)",
                "event",
            ),
        ),
        options=TrackingLogOptions,
        build=build,
        signature=("timestamp", "anonymous_id", "user_id", "url", "referrer", "user_agent"),
        template="tracking_log",
        personal=("anonymous_id", "user_id"),
    )
)
