"""Retention: after the first order, are customers onboarded, served and contacted well?"""

from __future__ import annotations

import ibis
import pandas as pd

from ..engine import Tables
from ..i18n import N_, Text, count, days, hours, money, number, share
from ..metrics import cohorts
from ..metrics import expansion as _expansion
from ..metrics import support as _support
from ..metrics.contacts import BAND_CAP, by_band, messages_with_frequency
from ..metrics.orders import average_order_value, revenue_per_customer_year
from .base import Chart, Evidence, NotEnoughData, Options, check


def _band_label(band: int) -> str:
    return f"{band}+" if band >= BAND_CAP else str(band)


class OverContactingOptions(Options):
    """Over contacting: tunables beside the control points."""

    min_messages: int = 1000
    turn_factor: float = 2.0
    min_band_messages: int = 300


@check(
    id="retention.over_contacting",
    stage="retention",
    title="Customers are not contacted until they unsubscribe",
    failure_title="Customers are contacted so often that they unsubscribe",
    needs=("messages",),
    better="lower",
    good=0.003,
    poor=0.01,
    unit="share",
    source="Klaviyo Help Center, campaign performance bands: unsubscribe rate below 0.3 % is healthy, "
           "above 1 % needs attention",
    description="Unsubscribe rate per marketing e-mail, by how many messages the customer received that "
                "week; the weekly frequency at which unsubscribes turn up, and the customers contacted above it.",
    advice=(
        "Cap the frequency: no customer should get more marketing messages a week than the frequency where "
        "unsubscribes turn up (e-mail tools offer a cap, e.g. skip anyone mailed in the last 16 hours).",
        "Send only what is relevant to the customer, based on what they browsed and bought, at a relevant "
        "moment — fewer, better messages keep the list alive.",
        "Stay in touch often enough to be remembered, not so often that the brand annoys: test a lower "
        "frequency on the most-contacted segment and compare unsubscribes and orders.",
    ),
    columns={
        "contacts_per_week": N_("Contacts per week"),
        "customer_weeks": N_("Customer-weeks"),
        "unsubscribe_rate": N_("Unsubscribe rate"),
        "complaint_rate": N_("Complaint rate"),
    },
    options=OverContactingOptions,
)
def over_contacting(tables: Tables, o: OverContactingOptions) -> Evidence:
    bands = by_band(tables)
    total = int(bands["messages"].sum()) if len(bands) else 0
    if total < o.min_messages:
        raise NotEnoughData(Text("needs at least {min} marketing e-mails to judge; found {found}",
                                 min=count(o.min_messages), found=count(total)))
    rate = float(bands["unsubscribes"].sum() / total)
    base = float(bands.iloc[0]["unsubscribe_rate"])
    # The turn: the lowest weekly frequency whose unsubscribe rate is both clearly above the base
    # (turn_factor × the rate at the lowest frequency) and above the healthy band, measured on
    # enough messages that a handful of unsubscribes cannot make one.
    above = bands[(bands["band"] > bands.iloc[0]["band"])
                  & (bands["messages"] >= o.min_band_messages)
                  & (bands["unsubscribe_rate"] >= o.turn_factor * base)
                  & (bands["unsubscribe_rate"] >= o.good)]
    turn = int(above["band"].min()) if len(above) else None
    table = bands.assign(contacts_per_week=bands["band"].map(_band_label))
    cols = ["contacts_per_week", "customers", "customer_weeks", "messages", "unsubscribe_rate"]
    if "complaint_rate" in table:
        cols.append("complaint_rate")
    table = table[cols]

    details = {"messages": total, "unsubscribe_rate": rate, "base_rate": base, "turn": turn}
    at_stake = method = None
    summary = Text("{rate} of {total} marketing e-mails led to an unsubscribe; at one contact a week the rate is "
                   "{base}", rate=share(rate, 2), total=count(total), base=share(base, 2))
    if turn is not None:
        m = messages_with_frequency(tables)
        hot = m.filter((m.channel == "email") & (m.contacts >= turn))
        n_customers = int(hot.customer_id.nunique().to_pandas())
        contacted = int(m.customer_id.nunique().to_pandas())
        over = bands[bands["band"] >= turn]
        excess = float((over["messages"] * (over["unsubscribe_rate"] - base)).clip(lower=0).sum())
        details.update(customers_above_turn=n_customers, share_above_turn=n_customers / max(contacted, 1),
                       excess_unsubscribes=excess)
        summary += Text("; from {turn} contacts a week it climbs to {rate}, and {n} customers ({share} of those "
                        "contacted) were contacted that often", turn=_band_label(turn),
                        rate=share(above.iloc[0]["unsubscribe_rate"], 2), n=count(n_customers),
                        share=share(n_customers / max(contacted, 1), 0))
        value = revenue_per_customer_year(tables)
        if value:
            at_stake = excess * value
            method = Text("unsubscribes beyond the rate at one contact a week ({excess}) × revenue per customer per "
                          "year ({value}): the yearly revenue of customers the shop can no longer e-mail (an upper "
                          "bound)", excess=count(excess), value=money(value, 2))
    chart = Chart(kind="bar", data=table, x="contacts_per_week", y="unsubscribe_rate",
                  title=Text("Unsubscribes per marketing e-mail, by contacts the customer got that week"),
                  x_label=Text("Messages to the customer that week"), y_label=Text("Unsubscribe rate"),
                  y_unit="share", reference=o.good, reference_label=Text("healthy"))
    return Evidence(value=rate, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details=details, summary=summary + ".")


# ---------------------------------------------------------------- part A: after the order

# Days from an order to the customer's next marketing message, in the order the report shows them (TERMS words).
GAP_GROUPS = ((7, "within 7 days"), (30, "8–30 days"), (60, "31–60 days"), (90, "61–90 days"))
NO_CONTACT = "none within 90 days"
MARKETING = ("promo", "newsletter")
ONBOARDED, NOT_ONBOARDED = "onboarded", "not onboarded"


def _opted_in(tables, t):
    """`t` restricted to customers who may be e-mailed, when the customers table says who they are."""
    if tables.has("customers") and "email_opt_in" in tables["customers"].columns:
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
    j = o.join(m, [o.customer_id == m.mcust, m.sent_at > o.order_time,
                   m.sent_at <= o.order_time + ibis.interval(days=90)])
    contact = j.group_by("order_id").aggregate(next_sent=j.sent_at.min())
    o2 = tables["orders"].select(ncust="customer_id", next_at="order_time")
    k = o.join(o2, [o.customer_id == o2.ncust, o2.next_at > o.order_time,
                    o2.next_at <= o.order_time + ibis.interval(days=90)])
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
    needs=("orders", "messages"),
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
    window = int(o.window_days)
    df = _orders_with_next_contact(tables, window)
    if len(df) < o.min_orders:
        raise NotEnoughData(Text("needs at least {min} orders older than {days} days by customers who may be "
                                 "e-mailed; found {found}", min=count(o.min_orders), days=count(window),
                                 found=count(len(df))))
    uncontacted = ~(df["gap_days"] <= window)
    rate = float(uncontacted.mean())
    df["first_contact"] = pd.Categorical(_gap_group(df["gap_days"]),
                                         [label for _, label in GAP_GROUPS] + [NO_CONTACT], ordered=True)
    table = df.groupby("first_contact", observed=False).agg(orders=("order_id", "size")).reset_index()
    table["share"] = table["orders"] / len(df)
    table["first_contact"] = table["first_contact"].astype(str)

    # Money at stake: how much more often customers who heard from the shop ordered again within 90 days.
    _, end = tables.period
    old = df[df["order_time"] < end - pd.Timedelta(days=90)]
    reached, missed = old.loc[~uncontacted.loc[old.index]], old.loc[uncontacted.loc[old.index]]
    details = {"orders": len(df), "uncontacted": int(uncontacted.sum()), "window_days": window,
               "median_days_to_next_message": float(df["gap_days"].median()) if df["gap_days"].notna().any()
               else None}
    at_stake = method = None
    aov = average_order_value(tables)
    if len(reached) >= o.min_group and len(missed) >= o.min_group and aov:
        r_in, r_out = float(reached["ordered_again_90d"].mean()), float(missed["ordered_again_90d"].mean())
        details.update(reorder_contacted=r_in, reorder_uncontacted=r_out)
        if rate > o.good and _clearly_higher(r_in, len(reached), r_out, len(missed)):
            at_stake = int(uncontacted.sum()) * (r_in - r_out) * aov
            method = Text("{n} orders without a marketing message within {days} days × the gap in orders again "
                          "within 90 days between contacted ({a}) and uncontacted buyers ({b}) × average order "
                          "value ({aov}), over the period analysed", n=count(uncontacted.sum()), days=count(window),
                          a=share(r_in, 1), b=share(r_out, 1), aov=money(aov, 2))
    summary = Text("{n} of {total} orders ({rate}) were followed by no newsletter or offer within {days} days",
                   n=count(uncontacted.sum()), total=count(len(df)), rate=share(rate, 1), days=count(window))
    if details["median_days_to_next_message"] is not None:
        summary += Text("; the next one came after a median {d}",
                        d=days(round(details["median_days_to_next_message"], 1)))
    chart = Chart(kind="bar", data=table, x="first_contact", y="share",
                  title=Text("Orders by days until the customer's next newsletter or offer"),
                  x_label=Text("Next marketing message after the order"), y_label=Text("Share of orders"),
                  y_unit="share")
    return Evidence(value=rate, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details=details, summary=summary + ".")


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
    needs=("orders",),
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
    window, short = int(o.window_days), int(o.short_window_days)
    rate, n = cohorts.second_order_rate(tables, window)
    if n < o.min_customers:
        raise NotEnoughData(Text("needs at least {min} customers whose first order is {days} days old or more; "
                                 "found {found}", min=count(o.min_customers), days=count(window),
                                 found=count(n)))
    short_rate, short_n = cohorts.second_order_rate(tables, short)
    table = cohorts.cohort_second_orders(tables, (short, window))
    long_col = f"second_order_{window}d"
    details = {"customers": n, "second_order_rate": rate, "window_days": window,
               "short_window_days": short, "short_rate": short_rate, "short_customers": short_n}
    at_stake = method = None
    aov = average_order_value(tables)
    if aov and rate < o.good:
        missing = (o.good - rate) * n
        at_stake = missing * aov
        method = Text("second orders missing to a {good} second-order rate ({n} of {total} first-time buyers) × "
                      "average order value ({aov}); only the second order is counted, not the ones after it",
                      good=share(o.good, 0), n=count(missing), total=count(n), aov=money(aov, 2))
    summary = Text("{rate} of {n} first-time buyers ordered again within {days} days", rate=share(rate, 1),
                   n=count(n), days=count(window))
    if short_rate is not None:
        summary += Text(", {short_rate} within {short} days", short_rate=share(short_rate, 1), short=count(short))
    chart = Chart(kind="bar", data=table.dropna(subset=[long_col]), x="month", y=long_col,
                  title=Text("First-time buyers who ordered again within {days} days, by month of first order",
                             days=count(window)),
                  x_label=Text("Month of first order"), y_label=Text("Second order rate"), y_unit="share",
                  reference=o.good, reference_label=Text("good"))
    return Evidence(value=rate, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details=details, summary=summary + ".")


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
    needs=("orders", "messages"),
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
    window, repeat = int(o.window_days), int(o.repeat_days)
    _, end = tables.period
    f = cohorts.first_orders(tables)
    f = f.filter(f.first_at < end - pd.Timedelta(days=window))
    m = tables["messages"]
    m = m.filter(m.message_type == "onboarding").select(mcust=m.customer_id, sent_at=m.sent_at)
    j = f.join(m, [f.customer_id == m.mcust, m.sent_at >= f.first_at,
                   m.sent_at <= f.first_at + ibis.interval(days=window)])
    got = j.group_by("customer_id").aggregate(onboarded_at=j.sent_at.min())
    df = f.left_join(got, "customer_id").select("first_at", "second_at", "onboarded_at").to_pandas()
    if len(df) < o.min_orders:
        raise NotEnoughData(Text("needs at least {min} first orders older than {days} days; found {found}",
                                 min=count(o.min_orders), days=count(window), found=count(len(df))))
    onboarded = df["onboarded_at"].notna()
    rate = float(onboarded.mean())
    mature = df["first_at"] <= end - pd.Timedelta(days=repeat)
    again = df["second_at"].notna() & (df["second_at"] - df["first_at"] <= pd.Timedelta(days=repeat))
    rows = []
    for label, mask in ((ONBOARDED, onboarded), (NOT_ONBOARDED, ~onboarded)):
        base = mask & mature
        rows.append({"onboarding": label, "first_orders": int(mask.sum()), "customers_observed": int(base.sum()),
                     "second_order_rate": float(again[base].mean()) if base.any() else float("nan")})
    table = pd.DataFrame(rows)
    details = {"first_orders": len(df), "onboarded": int(onboarded.sum()), "window_days": window}
    at_stake = method = None
    aov = average_order_value(tables)
    n_in, n_out = table["customers_observed"]
    r_in, r_out = table["second_order_rate"]
    summary = Text("{n} of {total} first orders ({rate}) were followed by onboarding within {days} days",
                   n=count(onboarded.sum()), total=count(len(df)), rate=share(rate, 1), days=count(window))
    if n_in >= o.min_group and n_out >= o.min_group:
        details.update(second_order_onboarded=r_in, second_order_not_onboarded=r_out)
        summary += Text("; {a} of onboarded and {b} of other first-time buyers ordered again within {repeat} days",
                        a=share(r_in, 1), b=share(r_out, 1), repeat=count(repeat))
        if aov and rate < o.good and _clearly_higher(r_in, n_in, r_out, n_out):
            at_stake = int((~onboarded).sum()) * (r_in - r_out) * aov
            method = Text("{n} first orders without onboarding × the gap in second orders within {repeat} days "
                          "between onboarded ({a}) and other first-time buyers ({b}) × average order value ({aov})",
                          n=count((~onboarded).sum()), repeat=count(repeat), a=share(r_in, 1), b=share(r_out, 1),
                          aov=money(aov, 2))
    chart = Chart(kind="bar", data=table.dropna(subset=["second_order_rate"]), x="onboarding",
                  y="second_order_rate",
                  title=Text("Second orders within {days} days, with and without onboarding after the first order",
                             days=count(repeat)),
                  x_label=Text("Onboarding within a week of the first order"), y_label=Text("Second order rate"),
                  y_unit="share")
    return Evidence(value=rate, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details=details, summary=summary + ".")


# ---------------------------------------------------------------- part B: support, silent dissatisfaction, expansion

class SupportResponsivenessOptions(Options):
    """Support responsiveness: tunables beside the control points."""

    min_tickets: int = 30
    churn_days: int = 180
    min_group: int = 30
    bad_handoffs: int = 2


@check(
    id="retention.support_responsiveness",
    stage="retention",
    title="Support answers fast and does not pass customers around",
    failure_title="Support answers slowly or passes customers around",
    needs=("tickets", "orders"),
    better="lower",
    good=4.0,
    poor=12.0,
    unit="hours",
    source="SuperOffice (2018): companies answer customer e-mails in 12 hours on average, and a reply "
           "within 1 hour is the recommended standard (Toister); workbook default: a median first response "
           "within 4 hours (half a working day) is good, the 12-hour average is poor",
    description="Median hours from a ticket being opened to the first response; resolution time, hand-offs "
                "per ticket, and how many customers stop ordering after a slow or passed-around ticket "
                "compared with a good one.",
    advice=(
        "Set a response-time target (e.g. first answer within 4 hours, within 1 hour for e-mail at best) and "
        "staff and route tickets so that it is met: a customer who needs you and gets no answer feels neglected.",
        "Give the first agent what they need to solve the problem themselves: every hand-off from one agent to "
        "the next is a reason to leave.",
        "Treat a difficult ticket as a chance: keep the customer informed while the problem is worked on, "
        "listen to them, and follow up personally once it is solved.",
        "Be proactive: publish FAQs and answer the questions most tickets ask before customers have to write.",
    ),
    columns={
        "first_response": N_("First response"),
        "tickets": N_("Tickets"),
        "share_of_tickets": N_("Share of tickets"),
        "median_resolution_hours": N_("Median hours to resolution"),
        "mean_handoffs": N_("Hand-offs per ticket"),
        "mean_csat": N_("Mean CSAT"),
        "churn_rate": N_("No order in the following 180 days"),
    },
    options=SupportResponsivenessOptions,
)
def support_responsiveness(tables: Tables, o: SupportResponsivenessOptions) -> Evidence:
    df = _support.tickets(tables, int(o.churn_days))
    answered = df["response_hours"].notna()
    if int(answered.sum()) < o.min_tickets:
        raise NotEnoughData(Text("needs at least {min} answered support tickets to judge; found {found}",
                                 min=count(o.min_tickets), found=count(int(answered.sum()))))
    median = float(df.loc[answered, "response_hours"].median())
    resolution = df["resolution_hours"].median()
    handoffs = df["handoffs"].mean()
    # A bad ticket: no answer, an answer slower than the poor control point, or passed on `bad_handoffs` times.
    bad = df["response_hours"].isna() | (df["response_hours"] > o.poor) | (df["handoffs"] >= o.bad_handoffs)
    df = df.assign(bad=bad)
    table = df.groupby("response_group", observed=False).agg(
        tickets=("ticket_id", "size"), median_resolution_hours=("resolution_hours", "median"),
        mean_handoffs=("handoffs", "mean"), mean_csat=("csat", "mean"), churn_rate=("churned", "mean"),
    ).reset_index().rename(columns={"response_group": "first_response"})
    table.insert(2, "share_of_tickets", table["tickets"] / len(df))
    table["first_response"] = table["first_response"].astype(str)
    table = table[table["tickets"] > 0].reset_index(drop=True)
    table = table.astype({c: float for c in ("median_resolution_hours", "mean_handoffs", "mean_csat", "churn_rate")})
    if df["csat"].isna().all():
        table = table.drop(columns="mean_csat")
    if df["handoffs"].isna().all():
        table = table.drop(columns="mean_handoffs")

    judged = df[df["churned"].notna()]
    jb, jg = judged[judged["bad"]], judged[~judged["bad"]]
    churn_bad = float(jb["churned"].mean()) if len(jb) else None
    churn_good = float(jg["churned"].mean()) if len(jg) else None
    details = {"tickets": len(df), "answered": int(answered.sum()), "median_response_hours": median,
               "median_resolution_hours": None if pd.isna(resolution) else float(resolution),
               "mean_handoffs": None if pd.isna(handoffs) else float(handoffs),
               "bad_tickets": int(bad.sum()), "bad_share": float(bad.mean()),
               "churn_after_bad": churn_bad, "churn_after_good": churn_good,
               "judged_bad": len(jb), "judged_good": len(jg)}
    summary = Text("{n} support tickets were first answered after a median {median}", n=count(len(df)),
                   median=hours(round(median, 1)))
    if not pd.isna(resolution):
        summary += Text(" and resolved after a median {resolution}", resolution=hours(round(float(resolution), 1)))
    if not pd.isna(handoffs):
        summary += Text("; a ticket was passed on {handoffs} times on average", handoffs=number(float(handoffs), 2))
    summary += Text("; {bad} of them ({share}) were slow, unanswered or passed on repeatedly",
                    bad=count(int(bad.sum())), share=share(float(bad.mean()), 0))
    at_stake = method = None
    if len(jb) >= o.min_group and len(jg) >= o.min_group:
        summary += Text("; {bad} of customers stopped ordering for {days} days after such a ticket, {good} after "
                        "a good one", bad=share(churn_bad, 0), good=share(churn_good, 0), days=count(o.churn_days))
        value = revenue_per_customer_year(tables)
        excess = churn_bad - churn_good
        customers = int(df.loc[df["bad"], "customer_id"].nunique())
        if value and excess > 0:
            at_stake = customers * excess * value
            method = Text("customers with a bad ticket ({n}) × how many more of them stopped ordering than after a "
                          "good ticket ({excess}) × revenue per customer per year ({value})", n=count(customers),
                          excess=share(excess, 1), value=money(value, 2))
    chart = Chart(kind="bar", data=table, x="first_response", y="tickets",
                  title=Text("Support tickets by time to the first response"),
                  x_label=Text("First response"), y_label=Text("Tickets"), y_unit="count")
    return Evidence(value=median, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details=details, summary=summary + ".")


class SilentDissatisfactionOptions(Options):
    """Silent dissatisfaction: tunables beside the control points."""

    follow_days: int = 3
    min_low_scores: int = 20
    min_group: int = 30


@check(
    id="retention.silent_dissatisfaction",
    stage="retention",
    title="Unhappy customers are followed up",
    failure_title="Unhappy customers are left without a follow-up",
    needs=("surveys", "tickets", "messages"),
    better="higher",
    good=0.8,
    poor=0.4,
    unit="share",
    source="Zendesk CX Trends 2020: 50 % of customers switch to a competitor after one bad experience, 80 % after "
           "several; workbook default: four in five detractors called back within 3 days is good, fewer than two "
           "in five is poor",
    description="Share of low survey scores (NPS 0–6; CSAT 1–2 where no NPS survey is run) followed within 3 days "
                "by a contact with support (a call-back ticket), and how many of the others got marketing messages "
                "instead.",
    advice=(
        "Call back every detractor within a day or two: a low score is the moment a customer tells you they are "
        "quietly unhappy, and the chance to turn a difficult situation into trust.",
        "Listen first, then tell them what is being done about their problem and follow up until it is solved; "
        "meet or call them personally where possible.",
        "Pause promotions to customers with an open complaint: a sales e-mail in reply to a low score shows that "
        "nobody listened.",
        "Use customer-satisfaction surveys routinely after orders and tickets to find customers who are silently "
        "dissatisfied.",
    ),
    columns={
        "survey_score": N_("Survey answer"),
        "low_scores": N_("Low scores"),
        "followed_up": N_("Followed up"),
        "follow_up_rate": N_("Follow-up rate"),
        "median_hours_to_follow_up": N_("Median hours to the follow-up"),
        "marketed_not_followed": N_("Sent marketing instead"),
    },
    options=SilentDissatisfactionOptions,
)
def silent_dissatisfaction(tables: Tables, o: SilentDissatisfactionOptions) -> Evidence:
    days = int(o.follow_days)
    df = _support.low_scores(tables, days)
    nps = df[df["scale"] == "nps"]
    # CSAT answers stand in only for a shop that runs no NPS survey at all: a shop that runs NPS rarely
    # is judged on its NPS (too few answers: not run), never on the CSAT sent after support tickets,
    # whose unhappy answers are a support matter that silent_dissatisfaction would misread.
    s = tables["surveys"]
    runs_nps = int(s.filter(s.scale == "nps").count().to_pandas()) > 0
    judged = nps if runs_nps else df
    if len(judged) < o.min_low_scores:
        raise NotEnoughData(Text("needs at least {min} low survey answers (NPS 0–6 or CSAT 1–2) to judge; found "
                                 "{found}", min=count(o.min_low_scores), found=count(len(judged))))
    rate = float(judged["followed_up"].mean())
    agg = dict(low_scores=("survey_id", "size"), followed_up=("followed_up", "sum"),
               median_hours_to_follow_up=("hours_to_follow_up", "median"))
    marketed = "marketed" in df
    if marketed:
        df = df.assign(marketed_not_followed=df["marketed"] & ~df["followed_up"])
        agg["marketed_not_followed"] = ("marketed_not_followed", "sum")
    table = df.groupby("group").agg(**agg).reset_index().rename(columns={"group": "survey_score"})
    table.insert(3, "follow_up_rate", table["followed_up"] / table["low_scores"])
    table["median_hours_to_follow_up"] = table["median_hours_to_follow_up"].astype(float)
    order = {"NPS 0–3": 0, "NPS 4–6": 1, "CSAT 1–2": 2}
    table = table.sort_values("survey_score", key=lambda s: s.map(order)).reset_index(drop=True)

    missed = int((~judged["followed_up"]).sum())
    scale = "NPS" if judged is nps else "NPS / CSAT"
    details = {"low_scores": len(judged), "followed_up": int(judged["followed_up"].sum()), "not_followed_up": missed,
               "scale": scale, "follow_days": days}
    summary = Text("{n} of {total} unhappy survey answers ({scale}) were followed by a contact with support within "
                   "{days} days ({rate})", n=count(int(judged["followed_up"].sum())), total=count(len(judged)),
                   scale=scale, days=count(days), rate=share(rate, 0))
    if marketed:
        mk = int((judged["marketed"] & ~judged["followed_up"]).sum())
        details["marketed_not_followed_up"] = mk
        if missed:
            summary += Text("; {mk} of the {missed} left alone got a marketing message in those days instead",
                            mk=count(mk), missed=count(missed))
    at_stake = method = None
    value = revenue_per_customer_year(tables)
    customers = int(judged.loc[~judged["followed_up"], "customer_id"].nunique())
    if value and customers:
        switch = 0.5
        at_stake = customers * switch * value
        method = Text("unhappy customers nobody followed up ({n}) × the share who switch to a competitor after one "
                      "bad experience ({switch}, Zendesk CX Trends 2020) × revenue per customer per year ({value}): "
                      "an upper bound", n=count(customers), switch=share(switch, 0), value=money(value, 2))
    chart = Chart(kind="bar", data=table, x="survey_score", y="follow_up_rate",
                  title=Text("Low survey scores followed up by support within {days} days", days=count(days)),
                  x_label=Text("Survey answer"), y_label=Text("Followed up"), y_unit="share",
                  reference=o.good, reference_label=Text("good"))
    return Evidence(value=rate, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details=details, summary=summary + ".")


class ExpansionOptions(Options):
    """Expansion: tunables beside the control points."""

    value_days: int = 365
    repeat_days: int = 180
    min_repeat_customers: int = 50
    min_group: int = 20


@check(
    id="retention.expansion",
    stage="retention",
    title="Customers start with the products that keep them longest",
    failure_title="Customers stay with the product they started with",
    needs=("orders", "order_lines"),
    better="higher",
    good=0.45,
    poor=0.25,
    unit="share",
    source="Workbook default (no published benchmark for a shop's cross-sell rate): 45 % of returning customers "
           "buying from a category their first order did not have is good, 25 % is poor, set between the demo "
           "shop's healthy (54–58 %) and door-opener (5–13 %) figures; a shop selling a single category cannot "
           "be judged",
    description="Share of returning customers whose later orders include a category their first order did not "
                "(cross-sell); by the category of the first order: how many start there, through which channel, "
                "how many order again within 180 days, and their observed value in the 12 months after the "
                "first order.",
    advice=(
        "Find the first product that brings the most valuable customers, not just the most customers: the "
        "product that acquires customers is not necessarily the one with the highest lifetime value.",
        "After the first order, recommend related products from other categories, based on what the customer "
        "bought — a CRM or e-mail tool can do it per customer.",
        "Give first-time buyers of a weak door-opener category a reason to come back for something else, e.g. an "
        "offer on a complementary category with the follow-up message.",
        "Point acquisition (ads, landing pages) at the first products whose buyers come back, and watch how "
        "often a discount code is needed: used too often it stops working.",
    ),
    columns={
        "first_category": N_("Category of the first order"),
        "share_of_first_buyers": N_("Share of first-time buyers"),
        "ordered_again_180d": N_("Ordered again within 180 days"),
        "cross_sell_rate": N_("Cross-sell rate"),
        "customers_observed_12m": N_("Customers observed 12 months"),
        "value_first_12m": N_("Revenue in the 12 months from the first order"),
        "main_channel": N_("Main acquisition channel"),
        "main_channel_share": N_("Share from the main channel"),
    },
    options=ExpansionOptions,
)
def expansion(tables: Tables, o: ExpansionOptions) -> Evidence:
    df = _expansion.first_products(tables, int(o.value_days), int(o.repeat_days))
    cats = df["first_category"].dropna().nunique()
    if cats < 2:
        raise NotEnoughData(Text("needs order lines with at least 2 product categories; found {found}",
                                 found=count(cats)))
    judged = df["cross_sold"].dropna()
    if len(judged) < o.min_repeat_customers:
        raise NotEnoughData(Text("needs at least {min} customers with a second order to judge; found {found}",
                                 min=count(o.min_repeat_customers), found=count(len(judged))))
    rate = float(judged.astype(bool).mean())
    d = df.dropna(subset=["first_category"])
    agg = dict(customers=("customer_id", "size"), ordered_again_180d=("ordered_again", "mean"),
               cross_sell_rate=("cross_sold", "mean"), customers_observed_12m=("value", "count"),
               value_first_12m=("value", "mean"))
    table = d.groupby("first_category").agg(**agg).reset_index()
    table = table.astype({c: float for c in ("ordered_again_180d", "cross_sell_rate", "value_first_12m")})
    table.insert(2, "share_of_first_buyers", table["customers"] / len(d))
    table.loc[table["customers_observed_12m"] < o.min_group, "value_first_12m"] = float("nan")
    if "acquisition_channel" in d:
        top = d.groupby("first_category")["acquisition_channel"].agg(lambda s: s.value_counts().index[0])
        top_share = d.groupby("first_category")["acquisition_channel"].agg(lambda s: s.value_counts(normalize=True).iloc[0])
        table["main_channel"] = table["first_category"].map(top)
        table["main_channel_share"] = table["first_category"].map(top_share).astype(float)
    table = table.sort_values("customers", ascending=False).reset_index(drop=True)

    overall_repeat = d["ordered_again"].dropna()
    overall_repeat = float(overall_repeat.astype(bool).mean()) if len(overall_repeat) else None
    # The weakest large door-opener: among first categories with enough customers, the lowest second-order rate.
    big = table[table["customers"] >= o.min_group].dropna(subset=["ordered_again_180d"])
    weakest = big.loc[big["ordered_again_180d"].idxmin()] if len(big) else None
    details = {"repeat_customers": len(judged), "cross_sold": int(judged.astype(bool).sum()), "categories": cats,
               "first_time_buyers": len(df), "second_order_rate": overall_repeat}
    summary = Text("{n} of {total} customers who ordered again ({rate}) bought from a category their first order did "
                   "not have", n=count(int(judged.astype(bool).sum())), total=count(len(judged)), rate=share(rate, 0))
    # Named only when it clearly trails the shop (a quarter below its second-order rate), not by chance.
    if weakest is not None and overall_repeat and weakest["ordered_again_180d"] < 0.75 * overall_repeat:
        details.update(weakest_category=weakest["first_category"],
                       weakest_share=float(weakest["share_of_first_buyers"]),
                       weakest_second_order_rate=float(weakest["ordered_again_180d"]))
        summary += Text("; {share} of first orders are {category}, whose buyers order again within {days} days least "
                        "often ({weak}, against {overall} overall)", share=share(weakest["share_of_first_buyers"], 0),
                        category=str(weakest["first_category"]), days=count(o.repeat_days),
                        weak=share(weakest["ordered_again_180d"], 0), overall=share(overall_repeat, 0))
    # The most common first category against all other first-time buyers: value in the `repeat_days` from the
    # first order (docs/planted_mistakes.md: 12 months needs 15 months of history, so the shorter window).
    observed = d.dropna(subset=["value_short"])
    if len(observed):
        top = observed["first_category"].value_counts().index[0]
        mine, rest = observed.loc[observed["first_category"] == top, "value_short"], \
            observed.loc[observed["first_category"] != top, "value_short"]
        if len(mine) >= o.min_group and len(rest) >= o.min_group and rest.mean() > 0:
            ratio = float(mine.mean() / rest.mean())
            details.update(top_first_category=top, top_value_ratio=ratio)
            summary += Text("; customers who start with {category}, the most common first category, bring {ratio} of "
                            "the revenue of the others in the {days} days from their first order",
                            category=str(top), ratio=share(ratio, 0), days=count(o.repeat_days))
    at_stake = method = None
    aov = average_order_value(tables)
    missing = max(0.0, o.good - rate) * len(judged)
    if aov and missing > 0:
        at_stake = missing * aov
        method = Text("returning customers short of a {good} cross-sell rate ({n}) × average order value ({aov}): one "
                      "order from another category each, over the period analysed", good=share(o.good, 0),
                      n=count(missing), aov=money(aov, 2))
    chart = Chart(kind="bar", data=table, x="first_category", y="ordered_again_180d",
                  title=Text("Customers who ordered again within {days} days, by the category of their first order",
                             days=count(o.repeat_days)),
                  x_label=Text("Category of the first order"), y_label=Text("Ordered again"), y_unit="share",
                  reference=overall_repeat, reference_label=Text("all customers"))
    return Evidence(value=rate, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details=details, summary=summary + ".")
