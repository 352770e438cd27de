"""Acquisition: visitors leave their contact details, and the welcome keeps pace with their decision."""

from __future__ import annotations

import ibis
import pandas as pd

from ...engine import Tables
from ...i18n import N_, Text, count, money, number, share
from ...metrics.first_purchase import DECISION_BANDS, decision_band, first_orders, first_visits
from ...metrics.orders import average_order_value
from ...metrics.sessions import sessions
from .. import windows
from ..base import KLAVIYO_FLOWS, Chart, Evidence, NotEnoughData, Options, check, cite, rate

WITH_OFFER, WITHOUT_OFFER = "with an incentive", "without an incentive"


def _lead_visits(tables):
    """Visits begun by a visitor the shop did not know yet, each with whether the visitor signed up in it.

    A visit is begun by an unknown visitor when it carries no customer id, or when its customer was created
    (`customers.first_seen_at`) after the visit began. The visitor signed up in it when the customer was
    created during the visit, or when it holds a sign_up event. Analytics tools that back-fill the customer
    id on every event of the visit once the visitor signs up, and tools that record it only from the sign-up
    on, so give the same visits and the same sign-ups."""
    s = sessions(tables)
    cu = tables["customers"]
    cs = cu.select(cid=cu.customer_id, created_at=cu.first_seen_at)
    j = s.left_join(cs, s.customer_id == cs.cid)
    created_later = j.customer_id.notnull() & (j.created_at > j.started_at)
    j = j.mutate(
        unknown=j.customer_id.isnull() | created_later.fill_null(False),
        signed_up=(created_later & (j.created_at <= j.ended_at)).fill_null(False) | (j.sign_ups > 0),
    )
    return j.filter(j.unknown)


def _lead_counts(leads):
    """The visits begun unknown in one pass, counted by landing page, whether the visit bought, whether it signed
    up and the customer it signed up (with the customer's creation): a few rows per signed-up customer, kept for
    the two questions asked of them (sign-ups by landing page, and what the signed-up customers did next), so
    the sessions and customers are joined once, not twice."""
    joined = leads.signed_up & leads.customer_id.notnull() & leads.created_at.notnull()
    none = ibis.null("string")
    g = leads.group_by(
        "landing",
        "signed_up",
        bought=leads.purchases > 0,
        su_customer=ibis.ifelse(joined, leads.customer_id, none),
    ).aggregate(visits=leads.count(), su_at=leads.created_at.min(where=joined))
    return g.cache()


def _sign_ups(tables, counts, order_days: int, end):
    """Visitors who signed up in a visit begun unknown: when (their customer's creation), whether a welcome
    message carried an offer, and whether they placed a first order within `order_days` (only for sign-ups at
    least that long before the end)."""
    su = counts.filter(counts.su_customer.notnull())
    su = su.group_by(customer_id=su.su_customer).aggregate(signed_up_at=su.su_at.min())
    if tables.has("messages"):
        m = tables["messages"]
        welcome = m.filter(m.message_type == "welcome")
        offer = welcome.filter(welcome.campaign_id.lower().contains("offer")).select(oid=welcome.customer_id)
        offer = offer.distinct()
        su = su.left_join(offer, su.customer_id == offer.oid).mutate(offer=lambda t: t.oid.notnull()).drop("oid")
    else:
        su = su.mutate(offer=ibis.literal(False))
    su = su.mutate(eligible=su.signed_up_at <= ibis.literal(end - pd.Timedelta(days=order_days)))
    if tables.has("orders"):
        od = tables["orders"]
        first = (
            od.filter(od.customer_id.notnull()).group_by(fid=od.customer_id).aggregate(first_order=od.order_time.min())
        )
        su = su.left_join(first, su.customer_id == first.fid).drop("fid")
        su = su.mutate(
            ordered=su.first_order.notnull() & (su.first_order <= su.signed_up_at + ibis.interval(days=order_days))
        )
    else:
        su = su.mutate(ordered=ibis.null().cast("boolean"))
    return su.select("customer_id", "signed_up_at", "offer", "eligible", "ordered").to_pandas()


class LeadCaptureOptions(Options):
    """Lead capture: tunables beside the control points."""

    min_sessions: int = 1000
    order_days: int = 60
    min_group: int = 30
    first_order: float = rate(
        0.0171,
        "share of new sign-ups a welcome flow brings to a first order (median flow placed-order rate)",
        KLAVIYO_FLOWS,
    )


@check(
    id="acquisition.lead_capture",
    stage="acquisition",
    title="Visitors who do not buy yet leave their contact details",
    failure_title="Visitors who do not buy leave without a way to reach them again",
    needs=("events.customer_id", "customers"),  # sign-ups are known by the customers the visits turn into
    better="higher",
    good=0.01,
    poor=0.003,
    unit="share",
    source="Workbook default (no benchmark in the workbook's sources for sign-up rates): one sign-up in 100 visits "
    "by unknown visitors who do not buy is good, fewer than 3 in 1000 is poor — a shop with a visible "
    "newsletter box and a reason to sign up reaches the first, a shop without one stays near zero",
    description="Share of visits begun by an unknown visitor that end without a purchase but with a sign-up "
    "(the visitor leaves an e-mail address), by landing page type; and, of those who signed up, how "
    "many placed a first order within 60 days, with an incentive (a welcome message carrying an offer, "
    "campaign id containing 'offer') and without.",
    advice=(
        "Offer visitors who are not ready to buy a way to stay in touch: a free newsletter sign-up on the homepage, "
        "the landing pages and the product pages.",
        "Give them a carrot for it: a discount on the first order, free shipping or early access in return for "
        "the e-mail address.",
        "Tailor what follows to the new contact: greet them by name and send content that matches what they "
        "looked at, so the newsletter moves them toward the first order.",
    ),
    columns={
        "visits": N_("Visits"),
        "sign_ups": N_("Sign-ups"),
        "sign_up_rate": N_("Sign-up rate"),
    },
    options=LeadCaptureOptions,
    bounded=False,
)
def lead_capture(tables: Tables, o: LeadCaptureOptions) -> Evidence:
    windows.require(tables, int(o.order_days), "order_days")
    counts = _lead_counts(_lead_visits(tables))
    s = counts.filter(~counts.bought)
    by = s.group_by("landing").aggregate(visits=s.visits.sum(), sign_ups=s.visits.sum(where=s.signed_up)).to_pandas()
    by = by.astype({"visits": "int64"}).fillna({"sign_ups": 0}).astype({"sign_ups": "int64"})
    n = int(by["visits"].sum())
    if n < o.min_sessions:
        raise NotEnoughData(
            Text(
                "needs at least {min} visits begun by unknown visitors (not yet customers when the visit "
                "began) that end without a purchase; found {found}",
                min=count(o.min_sessions),
                found=count(n),
            )
        )
    signed = int(by["sign_ups"].sum())
    rate = signed / n
    by["sign_up_rate"] = by["sign_ups"] / by["visits"]
    table = by.sort_values("visits", ascending=False).reset_index(drop=True)[
        ["landing", "visits", "sign_ups", "sign_up_rate"]
    ]
    days_ = int(o.order_days)
    su = _sign_ups(tables, counts, days_, tables.period[1])
    el = su[su["eligible"] & su["ordered"].notna()]
    groups = {}
    for name, part in ((WITH_OFFER, el[el["offer"]]), (WITHOUT_OFFER, el[~el["offer"]])):
        groups[name] = (len(part), float(part["ordered"].mean()) if len(part) >= o.min_group else None)
    offered = bool(su["offer"].any()) if len(su) else False

    # Money: sign-ups missing against a good rate × how often a welcome flow brings a sign-up to order × AOV.
    aov = average_order_value(tables)
    at_stake = method = None
    missing = max(0.0, o.good - rate) * n
    if aov:
        at_stake = missing * o.first_order * aov
        method = Text(
            "sign-ups missing against a {good} sign-up rate ({missing}) × the share of sign-ups a welcome flow "
            "brings to a first order ({rate}) × average order value ({aov}), over the period analysed",
            good=share(o.good, 0),
            missing=count(missing),
            rate=cite(o, "first_order"),
            aov=money(aov, 2),
        )
    chart = Chart(
        kind="bar",
        data=table,
        x="landing",
        y="sign_up_rate",
        title=Text("Visits by unknown visitors that end in a sign-up rather than nothing, by landing page"),
        x_label=Text("Landing page type"),
        y_label=Text("Sign-up rate"),
        y_unit="share",
        reference=o.good,
        reference_label=Text("good"),
    )
    summary = Text(
        "{signed} of {n} visits by unknown visitors that did not buy ({rate}) ended with a sign-up",
        signed=count(signed),
        n=count(n),
        rate=share(rate, 2),
    )
    (n_with, r_with), (n_without, r_without) = groups[WITH_OFFER], groups[WITHOUT_OFFER]
    if not offered:
        summary += Text("; no welcome message offered an incentive for signing up")
    elif r_with is not None and r_without is not None:
        summary += Text(
            "; {with_} of sign-ups with an incentive placed a first order within {days} days, against "
            "{without} without",
            with_=share(r_with, 0),
            days=count(days_),
            without=share(r_without, 0),
        )
    elif r_with is not None:
        summary += Text(
            "; {with_} of sign-ups with an incentive placed a first order within {days} days",
            with_=share(r_with, 0),
            days=count(days_),
        )
    return Evidence(
        value=rate,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details={
            "visits": n,
            "sign_ups": signed,
            "sign_up_rate": rate,
            "incentive_offered": offered,
            "sign_ups_with_incentive": n_with,
            "first_order_rate_with_incentive": r_with,
            "sign_ups_without_incentive": n_without,
            "first_order_rate_without_incentive": r_without,
            "missing_sign_ups": missing,
        },
        summary=summary + ".",
    )


class TimeToFirstPurchaseOptions(Options):
    """Time to first purchase: tunables beside the control points."""

    decide_days: int = 7
    lookback_days: int = 21
    min_customers: int = 50


@check(
    id="acquisition.time_to_first_purchase",
    stage="acquisition",
    title="Welcome messages reach customers while they are still deciding",
    failure_title="The welcome sequence is over before most customers decide",
    needs=("customers", "orders.customer_id", "messages.message_type=welcome"),
    better="higher",
    good=0.6,
    poor=0.35,
    unit="share",
    source="Workbook default, no published benchmark for the timing: three in five customers who take a week "
    "or more to decide should hear from the welcome sequence in the three weeks before they buy (good), "
    "fewer than one in three is poor. Klaviyo's flow benchmarks (welcome open 50–55 %, click 9–13 %) "
    "show the welcome flow is read, so its timing matters",
    description="Days from a customer's first visit to the first order, and, of opted-in customers who took a "
    "week or more, the share sent a welcome message in the 21 days before that order; when the "
    "welcome messages go out against when customers decide.",
    advice=(
        "Measure how long your customers take from the first visit to the first purchase, and stretch the welcome "
        "sequence over that time instead of sending it all in the first days.",
        "Space the welcome messages out — for example after a few days, two weeks, one, two and three months — "
        "and stop the sequence as soon as the customer orders.",
        "Use the sequence to earn trust while the customer compares: what sets the shop apart, reviews, "
        "guarantees, and help with choosing.",
    ),
    columns={
        "days_to_first_order": N_("Days from first visit to first order"),
        "share_of_first_orders": N_("Share of first orders"),
        "welcome_messages": N_("Welcome messages"),
        "share_of_welcome_messages": N_("Share of welcome messages"),
        "late_opted": N_("Opted-in customers deciding late"),
        "welcomed_rate": N_("Share welcomed in step"),
    },
    options=TimeToFirstPurchaseOptions,
)
def time_to_first_purchase(tables: Tables, o: TimeToFirstPurchaseOptions) -> Evidence:
    windows.require(tables, int(o.decide_days), "decide_days")
    decide, lookback = int(o.decide_days), int(o.lookback_days)
    m = tables["messages"]
    fv = first_visits(tables)
    c = first_orders(tables)
    w = m.filter(m.message_type == "welcome").select(wid=m.customer_id, sent_at=m.sent_at)
    hit = c.join(
        w,
        [c.customer_id == w.wid, w.sent_at < c.first_order, w.sent_at >= c.first_order - ibis.interval(days=lookback)],
    )
    hit = hit.select(hid=hit.customer_id).distinct()
    c = c.left_join(hit, c.customer_id == hit.hid).mutate(welcomed=lambda t: t.hid.notnull()).drop("hid")
    c = c.mutate(band=decision_band(c.days), late=c.days >= decide)
    by = (
        c.group_by("band")
        .aggregate(
            first_orders=c.count(),
            late_all=c.late.sum(),
            late_opted=(c.late & c.opted).sum(),
            welcomed=(c.late & c.opted & c.welcomed).sum(),
        )
        .to_pandas()
    )
    late = int(by["late_opted"].sum())
    if late < o.min_customers:
        raise NotEnoughData(
            Text(
                "needs at least {min} opted-in customers whose first order came {days} or more days "
                "after their first visit; found {found}",
                min=count(o.min_customers),
                days=count(decide),
                found=count(late),
            )
        )
    welcomed = int(by["welcomed"].sum())
    rate = welcomed / late
    # When the welcome messages go out, counted in days since the customer's first visit.
    ws = m.filter(m.message_type == "welcome")
    ws = ws.join(fv.select("customer_id", "first_visit"), "customer_id")
    ws = ws.mutate(days=((ws.sent_at.epoch_seconds() - ws.first_visit.epoch_seconds()) / 86400).clip(lower=0))
    wb = ws.group_by(band=decision_band(ws.days)).aggregate(welcome_messages=ws.count()).to_pandas()
    late_days = c.filter(c.late)
    med = late_days.aggregate(d=late_days.days.median()).to_pandas()["d"].iloc[0]
    med_w = ws.aggregate(d=ws.days.median()).to_pandas()["d"].iloc[0]

    labels = [b[2] for b in DECISION_BANDS]
    table = pd.DataFrame({"band": labels}).merge(by, on="band", how="left").merge(wb, on="band", how="left")
    table = table.fillna(0)
    for col in ("first_orders", "late_opted", "welcomed", "welcome_messages"):
        table[col] = table[col].astype(int)
    table["share_of_first_orders"] = table["first_orders"] / max(table["first_orders"].sum(), 1)
    table["share_of_welcome_messages"] = table["welcome_messages"] / max(table["welcome_messages"].sum(), 1)
    table["welcomed_rate"] = table["welcomed"] / table["late_opted"].where(table["late_opted"] > 0)
    table = table.rename(columns={"band": "days_to_first_order"})
    table = table[
        [
            "days_to_first_order",
            "first_orders",
            "share_of_first_orders",
            "welcome_messages",
            "share_of_welcome_messages",
            "late_opted",
            "welcomed_rate",
        ]
    ]
    chart = Chart(
        kind="bar",
        data=table[["days_to_first_order", "share_of_first_orders", "share_of_welcome_messages"]],
        x="days_to_first_order",
        y=["share_of_first_orders", "share_of_welcome_messages"],
        title=Text("When customers decide and when the welcome messages go out"),
        x_label=Text("Days since the first visit"),
        y_label=Text("Share of first orders / of welcome messages"),
        y_unit="share",
    )
    summary = Text(
        "{welcomed} of {late} opted-in customers who took {days} or more days to their first order "
        "({rate}) were sent a welcome message in the {lookback} days before it",
        welcomed=count(welcomed),
        late=count(late),
        days=count(decide),
        rate=share(rate, 1),
        lookback=count(lookback),
    )
    late_share = float(by["late_all"].sum() / max(by["first_orders"].sum(), 1))
    if med == med:
        summary += Text(
            "; {share} of first orders came {days} or more days after the first visit, a median {med} days after it",
            share=share(late_share, 0),
            days=count(decide),
            med=number(med, 0),
        )
    if med_w == med_w:
        summary += Text(
            ", while the welcome messages went out a median {med} days after the first visit", med=number(med_w, 0)
        )
    return Evidence(
        value=rate,
        table=table,
        chart=chart,
        details={
            "late_deciders": late,
            "welcomed": welcomed,
            "median_days_late_deciders": None if med != med else float(med),
            "median_welcome_day": None if med_w != med_w else float(med_w),
            "share_deciding_late": late_share,
        },
        summary=summary + ".",
    )
