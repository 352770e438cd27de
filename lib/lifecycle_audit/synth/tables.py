"""The contract tables: the generated shop's arrays turned into frames with ids, vocabularies and dtypes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..contract import (
    CHANNELS,
    DEVICES,
    EVENT_TYPES,
    MESSAGE_CHANNELS,
    MESSAGE_TYPES,
    PAGE_TYPES,
    PANDAS_DTYPES,
    SURVEY_SCALES,
    TABLES,
)
from .catalog import CATEGORIES, CATS_OF_PRODUCT, Catalog
from .clock import DAY, WEEK, Clock
from .customers import COUNTRIES, Customers
from .experiments import CONTROL_SHARE, COST, VARIANTS, Members
from .orders import Orders
from .outbox import FLOWS, Outbox
from .service import Reviews
from .support import Support


@dataclass
class Shop:
    """Everything the tables are made of (codes and seconds since the start)."""

    clock: Clock
    cat: Catalog
    cust: Customers
    ses: dict  # all sessions: cust, anon, start, channel, device
    e: dict  # all events: sidx, t, etype, page, prod
    o: Orders
    box: Outbox
    campaign_vocab: pa.Array
    postal: np.ndarray  # per customer: has a postal address
    default: np.ndarray  # per customer: did not pay
    loyal: np.ndarray  # per customer: loyalty member since (NA: not)
    reviews: Reviews
    support: Support
    referrer: np.ndarray
    referred: np.ndarray
    paid: np.ndarray  # spend: channel codes ...
    amount: np.ndarray  # ... and amount per day and channel
    channel_seen: np.ndarray  # per session, as the analytics export records it
    acq_seen: np.ndarray  # per customer, as recorded
    members: Members  # the tested campaigns' members


def ids(prefix: str, n: int, width: int) -> pa.Array:
    """n ids like C000001: the prefix and a zero-padded number from 1."""
    numbers = pa.array(np.arange(1, n + 1)).cast(pa.string())
    digits = pc.utf8_lpad(numbers, max(width, len(str(n))), padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def take(values, codes) -> pd.Series:
    """String column from a vocabulary (list or Arrow array) and codes; -1 -> null."""
    values = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    codes = np.asarray(codes, dtype=np.int64)
    return pd.Series(pd.arrays.ArrowStringArray(values.take(pa.array(codes, mask=codes < 0))))


def bools(x, null=None) -> pd.Series:
    """Nullable boolean column (`null`: where it is null)."""
    x = np.asarray(x, bool)
    return pd.Series(pd.arrays.BooleanArray(x, np.zeros(len(x), bool) if null is None else null))


def frame(name: str, cols: dict) -> pd.DataFrame:
    """The table with the contract's columns, in order, in the contract's dtypes."""
    tbl = TABLES[name]
    df = pd.DataFrame({c: cols[c] for c in tbl.column_names})
    for col in tbl.columns:
        want = PANDAS_DTYPES[col.kind]
        if str(df[col.name].dtype) != want:
            df[col.name] = df[col.name].astype(want)
    return df


def campaign_names(clock: Clock) -> tuple[pa.Array, dict]:
    """Campaign ids: the flows, one newsletter per week, one promo per day and category."""
    weeks = (clock.T - clock.monday0) // WEEK + 1
    monday = clock.start + pd.to_timedelta(clock.monday0 + np.arange(weeks) * WEEK, unit="s")
    iso = monday.isocalendar()
    newsletters = [f"NL-{y}-W{w:02d}" for y, w in zip(iso.year, iso.week, strict=False)]
    days = pd.date_range(clock.start, periods=clock.days, freq="D").strftime("%Y%m%d")
    promos = [f"PR-{d}-{c}" for d in days for c in CATEGORIES]
    offsets = {"newsletter": len(FLOWS), "promo": len(FLOWS) + weeks}
    return pa.array(list(FLOWS) + newsletters + promos, pa.string()), offsets


@dataclass
class Ids:
    """The ids of customers (in the order of their first visit), orders and products."""

    by_seen: np.ndarray  # customers in the order of first_seen_at (C000001 is the oldest)
    cust: pa.Array  # per customer index: its id
    order: pa.Array
    prod: pa.Array

    @classmethod
    def of(cls, shop: Shop) -> Ids:
        """The ids of the shop's customers (sign-ups included), orders and products."""
        n = len(shop.cust.t0)
        by_seen = np.argsort(shop.cust.t0, kind="stable")
        id_rank = np.empty(n, np.int64)
        id_rank[by_seen] = np.arange(n)
        return cls(by_seen, ids("C", n, 6).take(pa.array(id_rank)), ids("O", len(shop.o), 7), ids("P", shop.cat.n, 4))


def customers_table(shop: Shop, i: Ids) -> pd.DataFrame:
    """customers: one row per customer, in the order of their first visit."""
    ts, cust, by = shop.clock.ts, shop.cust, i.by_seen
    return frame(
        "customers",
        {
            "customer_id": take(i.cust, by),
            "first_seen_at": ts(cust.t0[by]),
            "acquisition_channel": take(CHANNELS, shop.acq_seen[by]),
            "country": take(COUNTRIES, cust.country[by]),
            "email_opt_in": bools(cust.opt_in[by]),
            "has_postal_address": bools(shop.postal[by]),
            "loyalty_member_since": ts(shop.loyal[by]),
            "payment_default": bools(shop.default[by]),
        },
    )


def events_table(shop: Shop, i: Ids) -> pd.DataFrame:
    """events: by session (S00000001 is the earliest visit), then time."""
    ses, e, cust = shop.ses, shop.e, shop.cust
    ses_no = np.empty(len(ses["start"]), np.int64)
    ses_no[np.argsort(ses["start"], kind="stable")] = np.arange(len(ses_no))
    eo = np.lexsort((e["t"], ses_no[e["sidx"]]))
    si = e["sidx"][eo]
    # a sign-up from an anonymous visit: the events before the sign_up carry no customer_id
    ev_cust = ses["cust"][si]
    known = np.maximum(ev_cust, 0)
    ev_cust = np.where((ev_cust >= 0) & cust.lead[known] & (e["t"][eo] < cust.t0[known]), -1, ev_cust)
    return frame(
        "events",
        {
            "session_id": take(ids("S", len(ses_no), 8), ses_no[si]),
            "customer_id": take(i.cust, ev_cust),
            "anonymous_id": take(ids("A", int(ses["anon"].max()) + 1, 8), ses["anon"][si]),
            "event_time": shop.clock.ts(e["t"][eo]),
            "event_type": take(EVENT_TYPES, e["etype"][eo]),
            "page_type": take(PAGE_TYPES, e["page"][eo]),
            "channel": take(CHANNELS, shop.channel_seen[si]),
            "device": take(DEVICES, ses["device"][si]),
            "product_id": take(i.prod, e["prod"][eo]),
            "category": take(CATEGORIES, CATS_OF_PRODUCT[e["prod"][eo]]),
        },
    )


def orders_table(shop: Shop, i: Ids) -> pd.DataFrame:
    """orders: in the order of time."""
    o = shop.o
    return frame(
        "orders",
        {
            "order_id": take(i.order, np.arange(len(o))),
            "customer_id": take(i.cust, o.cust),
            "order_time": shop.clock.ts(o.t),
            "revenue": o.revenue,
            "discount": o.discount,
            "currency": take(["EUR"], np.zeros(len(o), np.int64)),
        },
    )


def order_lines_table(shop: Shop, i: Ids) -> pd.DataFrame:
    """order_lines: by order, in the order of the cart."""
    o = shop.o
    return frame(
        "order_lines",
        {
            "order_id": take(i.order, o.line_o),
            "product_id": take(i.prod, o.line_p),
            "category": take(CATEGORIES, CATS_OF_PRODUCT[o.line_p]),
            "unit_price": o.line_price,
            "quantity": o.line_qty,
        },
    )


def messages_table(shop: Shop, i: Ids) -> pd.DataFrame:
    """messages: by time sent, customer and type."""
    m = shop.box.frame()
    mo = np.lexsort((m["mtype"], m["cust"], m["sent"]))
    m = {k: v[mo] for k, v in m.items()}
    n_m, ts = len(mo), shop.clock.ts
    return frame(
        "messages",
        {
            "message_id": take(ids("M", n_m, 9), np.arange(n_m)),
            "customer_id": take(i.cust, m["cust"]),
            "channel": take(MESSAGE_CHANNELS, m["channel"]),
            "campaign_id": take(shop.campaign_vocab, m["campaign"]),
            "message_type": take(MESSAGE_TYPES, m["mtype"]),
            "category": take(CATEGORIES, m["category"]),
            "sent_at": ts(m["sent"]),
            "opened_at": ts(m["opened"]),
            "clicked_at": ts(m["clicked"]),
            "unsubscribed_at": ts(m["unsub"]),
            "complained_at": ts(m["complained"]),
            "bounced": bools(m["bounced"] == 1, null=m["bounced"] < 0),
        },
    )


def tickets_table(shop: Shop, i: Ids) -> pd.DataFrame:
    """tickets: by time opened."""
    tk, ts = shop.support.tickets, shop.clock.ts
    to = np.lexsort((tk["c"], tk["t"]))
    return frame(
        "tickets",
        {
            "ticket_id": take(ids("T", len(to), 7), np.arange(len(to))),
            "customer_id": take(i.cust, tk["c"][to]),
            "opened_at": ts(tk["t"][to]),
            "first_response_at": ts(tk["first"][to]),
            "resolved_at": ts(tk["resolved"][to]),
            "handoffs": tk["handoffs"][to],
            "csat": tk["csat"][to],
        },
    )


def surveys_table(shop: Shop, i: Ids) -> pd.DataFrame:
    """surveys: by time sent."""
    sv, ts = shop.support.surveys, shop.clock.ts
    so = np.lexsort((sv["c"], sv["t"]))
    return frame(
        "surveys",
        {
            "survey_id": take(ids("V", len(so), 7), np.arange(len(so))),
            "customer_id": take(i.cust, sv["c"][so]),
            "sent_at": ts(sv["t"][so]),
            "responded_at": ts(sv["rt"][so]),
            "score": sv["score"][so],
            "scale": take(SURVEY_SCALES, sv["scale"][so]),
        },
    )


def reviews_table(shop: Shop, i: Ids) -> pd.DataFrame:
    """reviews: by time written."""
    rv = shop.reviews
    ro = np.lexsort((rv.order, rv.t))
    return frame(
        "reviews",
        {
            "review_id": take(ids("R", len(ro), 7), np.arange(len(ro))),
            "customer_id": take(i.cust, shop.o.cust[rv.order[ro]]),
            "order_id": take(i.order, rv.order[ro]),
            "created_at": shop.clock.ts(rv.t[ro]),
            "rating": rv.rating[ro].astype(float),
        },
    )


def referrals_table(shop: Shop, i: Ids) -> pd.DataFrame:
    """referrals: by the referred customer's first visit."""
    t0 = shop.cust.t0
    fo = np.argsort(t0[shop.referred], kind="stable")
    return frame(
        "referrals",
        {
            "referrer_id": take(i.cust, shop.referrer[fo]),
            "referred_customer_id": take(i.cust, shop.referred[fo]),
            "created_at": shop.clock.ts(t0[shop.referred[fo]]),
        },
    )


def spend_table(shop: Shop, i: Ids) -> pd.DataFrame:
    """spend: per day and paid channel."""
    clock = shop.clock
    return frame(
        "spend",
        {
            "date": clock.ts(np.repeat(np.arange(clock.days) * DAY, len(shop.paid))),
            "channel": take(CHANNELS, np.tile(shop.paid, clock.days)),
            "amount": shop.amount.ravel(),
        },
    )


def prices_table(shop: Shop, i: Ids) -> pd.DataFrame:
    """prices: the list-price history, by product and day."""
    cat = shop.cat
    return frame(
        "prices",
        {
            "product_id": take(i.prod, cat.p_prod),
            "valid_from": shop.clock.ts(cat.p_day * DAY),
            "price": cat.p_price,
        },
    )


def campaign_members_table(shop: Shop, i: Ids) -> pd.DataFrame:
    """campaign_members: by campaign, then time assigned."""
    m = shop.members
    mo = np.lexsort((m.cust, m.t, m.campaign))
    control = m.control[mo]
    return frame(
        "campaign_members",
        {
            "campaign_id": take(shop.campaign_vocab, m.campaign[mo]),
            "customer_id": take(i.cust, m.cust[mo]),
            "assignment": np.where(control, "control", "treatment"),
            "variant": take(VARIANTS, m.variant[mo]),
            "assigned_at": shop.clock.ts(m.t[mo]),
            "control_share": np.full(len(mo), CONTROL_SHARE),
            "cost": np.where(control, 0.0, COST),
        },
    )


BUILDERS = {
    "customers": customers_table,
    "events": events_table,
    "orders": orders_table,
    "order_lines": order_lines_table,
    "messages": messages_table,
    "tickets": tickets_table,
    "surveys": surveys_table,
    "reviews": reviews_table,
    "referrals": referrals_table,
    "spend": spend_table,
    "prices": prices_table,
    "campaign_members": campaign_members_table,
}


def build_tables(shop: Shop) -> dict[str, pd.DataFrame]:
    """Every contract table of the shop, in the contract's order."""
    i = Ids.of(shop)
    return {name: BUILDERS[name](shop, i) for name in TABLES}
