"""Retention: after the first order, do customers hear from the shop, come back, get help to start?"""

from __future__ import annotations

import ibis
import pandas as pd

from ...engine import Tables
from ...i18n import N_, Text, count, days, money, share
from ...metrics import cohorts, presence
from ...metrics.orders import average_order_value
from .. import windows
from ..base import Chart, Evidence, NotEnoughData, Options, check

# ---------------------------------------------------------------- part A: after the order

# Days from an order to the customer's next marketing message, in the order the report shows them (TERMS words).
GAP_GROUPS = ((7, "within 7 days"), (30, "8–30 days"), (60, "31–60 days"), (90, "61–90 days"))
NO_CONTACT = "none within 90 days"
MARKETING = ("promo", "newsletter")
ONBOARDED, NOT_ONBOARDED = "onboarded", "not onboarded"


def _opted_in(tables, t):
    """`t` restricted to customers who may be e-mailed, when the customers table says who they are."""
    if presence.has_values(tables, "customers", "email_opt_in"):  # absent or empty on every row: unknown
        cu = tables["customers"]
        ok = cu.filter(cu.email_opt_in.fill_null(False)).select(oid=cu.customer_id)
        t = t.semi_join(ok, t.customer_id == ok.oid)
    return t


def _orders_with_next_contact(tables, min_age_days: int):
    """Orders older than `min_age_days` of customers who may be e-mailed: days to the customer's next marketing
    message (promo or newsletter; NaN when none within 90 days) and whether they ordered again within 90 days."""
    _, end = tables.period
    o = tables["orders"]
    o = o.filter(o.customer_id.notnull() & (o.order_time < end - pd.Timedelta(days=min_age_days)))
    o = _opted_in(tables, o).select("order_id", "customer_id", "order_time")
    m = tables["messages"]
    m = m.filter(m.message_type.isin(MARKETING)).select(mcust=m.customer_id, sent_at=m.sent_at)
    j = o.join(
        m, [o.customer_id == m.mcust, m.sent_at > o.order_time, m.sent_at <= o.order_time + ibis.interval(days=90)]
    )
    contact = j.group_by("order_id").aggregate(next_sent=j.sent_at.min())
    o2 = tables["orders"].select(ncust="customer_id", next_at="order_time")
    k = o.join(
        o2, [o.customer_id == o2.ncust, o2.next_at > o.order_time, o2.next_at <= o.order_time + ibis.interval(days=90)]
    )
    again = k.group_by("order_id").aggregate(next_order=k.next_at.min())
    out = o.left_join(contact, "order_id").drop("order_id_right")
    out = out.left_join(again, "order_id").drop("order_id_right")
    df = out.select("order_id", "order_time", "next_sent", "next_order").to_pandas()
    df["gap_days"] = (df["next_sent"] - df["order_time"]).dt.total_seconds() / 86400
    df["ordered_again_90d"] = df["next_order"].notna()
    return df


def _clearly_higher(a: float, n_a: int, b: float, n_b: int, z: float = 1.96) -> bool:
    """Whether rate `a` (of n_a) is above rate `b` (of n_b) by more than chance (a two-proportion z-test):
    money at stake is only claimed for a difference the data can tell from noise."""
    pooled = (a * n_a + b * n_b) / (n_a + n_b)
    se = (pooled * (1 - pooled) * (1 / n_a + 1 / n_b)) ** 0.5
    return se > 0 and (a - b) / se > z


def _opted_in_orders(tables) -> int:
    """How many orders customers who may be e-mailed placed, whatever their age (under_contacting's base)."""
    o = tables["orders"]
    return int(_opted_in(tables, o.filter(o.customer_id.notnull())).count().to_pandas())


def _gap_group(gap_days: pd.Series) -> pd.Series:
    labels = pd.Series(NO_CONTACT, index=gap_days.index)
    for limit, label in reversed(GAP_GROUPS):
        labels[gap_days <= limit] = label
    return labels


class UnderContactingOptions(Options):
    """Under contacting: tunables beside the control points."""

    window_days: int = 30
    min_orders: int = 100
    min_group: int = 30


@check(
    id="retention.under_contacting",
    stage="retention",
    title="Customers keep hearing from the shop after they buy",
    failure_title="Customers hear nothing from the shop for weeks after they buy",
    needs=("orders.customer_id", "messages.message_type=promo|newsletter"),
    better="lower",
    good=0.10,
    poor=0.40,
    unit="share",
    source="Workbook default (no published benchmark for this measure): a shop that keeps in touch sends its "
    "newsletter or an offer to nearly every buyer within a month, so one order in ten left without "
    "one is good and four in ten is poor",
    description="Share of orders by customers who may be e-mailed after which the customer received no "
    "marketing message (newsletter or offer) in the following days; how long until the next one "
    "came, and whether customers who heard from the shop ordered again more often.",
    advice=(
        "Stay in touch after every order: let each purchase start a follow-up sequence in the e-mail tool "
        "or CRM, so that no buyer goes a month without hearing from the shop.",
        "Make the follow-up personal: you know what the customer bought, so recommend related products and "
        "share news and offers that fit them.",
        "Keep regular updates going — newsletters, promotions for a further purchase, news about the shop — "
        "relevant and at a relevant moment, without tipping into over-contacting.",
    ),
    columns={
        "first_contact": N_("Next newsletter or offer"),
    },
    options=UnderContactingOptions,
)
def under_contacting(tables: Tables, o: UnderContactingOptions) -> Evidence:
    windows.require(tables, int(o.window_days), "window_days")
    window = int(o.window_days)
    df = _orders_with_next_contact(tables, window)
    if len(df) < o.min_orders:
        raise NotEnoughData(
            Text(
                "needs at least {min} orders older than {days} days by customers who may be e-mailed; found {found}",
                min=count(o.min_orders),
                days=count(window),
                found=count(len(df)),
            )
        )
    uncontacted = ~(df["gap_days"] <= window)
    rate = float(uncontacted.mean())
    df["first_contact"] = pd.Categorical(
        _gap_group(df["gap_days"]), [label for _, label in GAP_GROUPS] + [NO_CONTACT], ordered=True
    )
    table = df.groupby("first_contact", observed=False).agg(orders=("order_id", "size")).reset_index()
    table["share"] = table["orders"] / len(df)
    table["first_contact"] = table["first_contact"].astype(str)

    # Money at stake: how much more often customers who heard from the shop ordered again within 90 days.
    _, end = tables.period
    old = df[df["order_time"] < end - pd.Timedelta(days=90)]
    reached, missed = old.loc[~uncontacted.loc[old.index]], old.loc[uncontacted.loc[old.index]]
    details = {
        "orders": len(df),
        "uncontacted": int(uncontacted.sum()),
        "window_days": window,
        "median_days_to_next_message": float(df["gap_days"].median()) if df["gap_days"].notna().any() else None,
    }
    windows.judged_on(details, tables, window, len(df), _opted_in_orders(tables))
    at_stake = method = None
    aov = average_order_value(tables)
    if len(reached) >= o.min_group and len(missed) >= o.min_group and aov:
        r_in, r_out = float(reached["ordered_again_90d"].mean()), float(missed["ordered_again_90d"].mean())
        details.update(reorder_contacted=r_in, reorder_uncontacted=r_out)
        if rate > o.good and _clearly_higher(r_in, len(reached), r_out, len(missed)):
            at_stake = int(uncontacted.sum()) * (r_in - r_out) * aov
            method = Text(
                "{n} orders without a marketing message within {days} days × the gap in orders again "
                "within 90 days between contacted ({a}) and uncontacted buyers ({b}) × average order "
                "value ({aov}), over the period analysed",
                n=count(uncontacted.sum()),
                days=count(window),
                a=share(r_in, 1),
                b=share(r_out, 1),
                aov=money(aov, 2),
            )
    summary = Text(
        "{n} of {total} orders ({rate}) were followed by no newsletter or offer within {days} days",
        n=count(uncontacted.sum()),
        total=count(len(df)),
        rate=share(rate, 1),
        days=count(window),
    )
    if details["median_days_to_next_message"] is not None:
        summary += Text(
            "; the next one came after a median {d}", d=days(round(details["median_days_to_next_message"], 1))
        )
    chart = Chart(
        kind="bar",
        data=table,
        x="first_contact",
        y="share",
        title=Text("Orders by days until the customer's next newsletter or offer"),
        x_label=Text("Next marketing message after the order"),
        y_label=Text("Share of orders"),
        y_unit="share",
    )
    return Evidence(
        value=rate,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details=details,
        summary=summary + ".",
    )


class RepeatPurchaseOptions(Options):
    """Repeat purchase: tunables beside the control points."""

    window_days: int = 180
    short_window_days: int = 90
    min_customers: int = 100


@check(
    id="retention.repeat_purchase",
    stage="retention",
    title="First-time buyers come back for a second order",
    failure_title="Most first-time buyers never order again",
    needs=("orders.customer_id",),
    better="higher",
    good=0.28,
    poor=0.15,
    unit="share",
    source="Metrilo survey of online shops: average repeat purchase rate 28 % (21–36 % by niche; secondary); "
    "good at that average, poor at about half of it",
    description="Share of first-time buyers who placed a second order within 180 days of their first "
    "(customers whose first order is at least 180 days old), with the 90-day rate and both rates "
    "by month of first order (the cohort table).",
    advice=(
        "Look at first-time buyers by cohort, the month of their first order: which cohorts come back, and "
        "what they had in common (channel, first product, discount) — then do more of it.",
        "Deepen the relationship after the first purchase with follow-ups, reminders and an offer for a "
        "second purchase, such as a discount code for the next order — but not too often, or it wears out.",
        "Recommend products related to the first purchase, using what the CRM knows about the customer.",
    ),
    columns={
        "second_order_90d": N_("Second order within 90 days"),
        "second_order_180d": N_("Second order within 180 days"),
    },
    options=RepeatPurchaseOptions,
)
def repeat_purchase(tables: Tables, o: RepeatPurchaseOptions) -> Evidence:
    windows.require(tables, int(o.window_days), "window_days")
    window, short = int(o.window_days), int(o.short_window_days)
    rate, n = cohorts.second_order_rate(tables, window)
    if n < o.min_customers:
        raise NotEnoughData(
            Text(
                "needs at least {min} customers whose first order is {days} days old or more; found {found}",
                min=count(o.min_customers),
                days=count(window),
                found=count(n),
            )
        )
    short_rate, short_n = cohorts.second_order_rate(tables, short)
    table = cohorts.cohort_second_orders(tables, (short, window))
    long_col = f"second_order_{window}d"
    details = {
        "customers": n,
        "second_order_rate": rate,
        "window_days": window,
        "short_window_days": short,
        "short_rate": short_rate,
        "short_customers": short_n,
    }
    windows.judged_on(details, tables, window, n, cohorts.first_time_buyer_count(tables))
    details["not_first_time_buyers"] = cohorts.left_censored_count(tables)
    at_stake = method = None
    aov = average_order_value(tables)
    if aov and rate < o.good:
        missing = (o.good - rate) * n
        at_stake = missing * aov
        method = Text(
            "second orders missing to a {good} second-order rate ({n} of {total} first-time buyers) × "
            "average order value ({aov}); only the second order is counted, not the ones after it",
            good=share(o.good, 0),
            n=count(missing),
            total=count(n),
            aov=money(aov, 2),
        )
    summary = Text(
        "{rate} of {n} first-time buyers ordered again within {days} days",
        rate=share(rate, 1),
        n=count(n),
        days=count(window),
    )
    if short_rate is not None:
        summary += Text(", {short_rate} within {short} days", short_rate=share(short_rate, 1), short=count(short))
    chart = Chart(
        kind="bar",
        data=table.dropna(subset=[long_col]),
        x="month",
        y=long_col,
        title=Text(
            "First-time buyers who ordered again within {days} days, by month of first order", days=count(window)
        ),
        x_label=Text("Month of first order"),
        y_label=Text("Second order rate"),
        y_unit="share",
        reference=o.good,
        reference_label=Text("good"),
    )
    return Evidence(
        value=rate,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details=details,
        summary=summary + ".",
    )


class OnboardingOptions(Options):
    """Onboarding: tunables beside the control points."""

    window_days: int = 7
    repeat_days: int = 180
    min_orders: int = 100
    min_group: int = 30


@check(
    id="retention.onboarding",
    stage="retention",
    title="First orders are followed by help to get started",
    failure_title="First-time buyers get no help to get started",
    needs=("orders.customer_id", "messages.message_type=onboarding"),
    better="higher",
    good=0.90,
    poor=0.50,
    unit="share",
    source="Workbook default (no published benchmark for this measure): an onboarding flow started by the first "
    "order reaches nearly every first-time buyer, so nine in ten is good and half is poor",
    description="Share of first orders followed by an onboarding message within a week, and how often "
    "first-time buyers with and without onboarding ordered a second time within 180 days.",
    advice=(
        "Start an onboarding sequence with every first order, within days: how to use what was bought, links "
        "to video tutorials, answers to the usual questions.",
        "Be quick: a new customer is unsure until they get value from the purchase; help them use it before "
        "the doubt sets in.",
        "Reach out proactively by e-mail or phone to check in and answer questions about the purchase, and "
        "put FAQs and helpful guides on the site.",
    ),
    columns={
        "onboarding": N_("Onboarding"),
        "customers_observed": N_("Customers observed 180 days"),
        "second_order_rate": N_("Second order rate"),
    },
    options=OnboardingOptions,
)
def onboarding(tables: Tables, o: OnboardingOptions) -> Evidence:
    windows.require(tables, int(o.window_days), "window_days")
    window, repeat = int(o.window_days), int(o.repeat_days)
    _, end = tables.period
    f = cohorts.first_time_buyers(tables)
    f = f.filter(f.first_at < end - pd.Timedelta(days=window))
    m = tables["messages"]
    m = m.filter(m.message_type == "onboarding").select(mcust=m.customer_id, sent_at=m.sent_at)
    j = f.join(
        m, [f.customer_id == m.mcust, m.sent_at >= f.first_at, m.sent_at <= f.first_at + ibis.interval(days=window)]
    )
    got = j.group_by("customer_id").aggregate(onboarded_at=j.sent_at.min())
    df = f.left_join(got, "customer_id").select("first_at", "second_at", "onboarded_at").to_pandas()
    if len(df) < o.min_orders:
        raise NotEnoughData(
            Text(
                "needs at least {min} first orders older than {days} days; found {found}",
                min=count(o.min_orders),
                days=count(window),
                found=count(len(df)),
            )
        )
    onboarded = df["onboarded_at"].notna()
    rate = float(onboarded.mean())
    mature = df["first_at"] <= end - pd.Timedelta(days=repeat)
    again = df["second_at"].notna() & (df["second_at"] - df["first_at"] <= pd.Timedelta(days=repeat))
    rows = []
    for label, mask in ((ONBOARDED, onboarded), (NOT_ONBOARDED, ~onboarded)):
        base = mask & mature
        rows.append(
            {
                "onboarding": label,
                "first_orders": int(mask.sum()),
                "customers_observed": int(base.sum()),
                "second_order_rate": float(again[base].mean()) if base.any() else float("nan"),
            }
        )
    table = pd.DataFrame(rows)
    details = {"first_orders": len(df), "onboarded": int(onboarded.sum()), "window_days": window}
    windows.judged_on(details, tables, window, len(df), cohorts.first_time_buyer_count(tables))
    details["not_first_time_buyers"] = cohorts.left_censored_count(tables)
    at_stake = method = None
    aov = average_order_value(tables)
    n_in, n_out = table["customers_observed"]
    r_in, r_out = table["second_order_rate"]
    summary = Text(
        "{n} of {total} first orders ({rate}) were followed by onboarding within {days} days",
        n=count(onboarded.sum()),
        total=count(len(df)),
        rate=share(rate, 1),
        days=count(window),
    )
    if n_in >= o.min_group and n_out >= o.min_group:
        details.update(second_order_onboarded=r_in, second_order_not_onboarded=r_out)
        summary += Text(
            "; {a} of onboarded and {b} of other first-time buyers ordered again within {repeat} days",
            a=share(r_in, 1),
            b=share(r_out, 1),
            repeat=count(repeat),
        )
        if aov and rate < o.good and _clearly_higher(r_in, n_in, r_out, n_out):
            at_stake = int((~onboarded).sum()) * (r_in - r_out) * aov
            method = Text(
                "{n} first orders without onboarding × the gap in second orders within {repeat} days "
                "between onboarded ({a}) and other first-time buyers ({b}) × average order value ({aov})",
                n=count((~onboarded).sum()),
                repeat=count(repeat),
                a=share(r_in, 1),
                b=share(r_out, 1),
                aov=money(aov, 2),
            )
    chart = Chart(
        kind="bar",
        data=table.dropna(subset=["second_order_rate"]),
        x="onboarding",
        y="second_order_rate",
        title=Text(
            "Second orders within {days} days, with and without onboarding after the first order", days=count(repeat)
        ),
        x_label=Text("Onboarding within a week of the first order"),
        y_label=Text("Second order rate"),
        y_unit="share",
    )
    return Evidence(
        value=rate,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details=details,
        summary=summary + ".",
    )
