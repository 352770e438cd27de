"""Reach: do the right people find the shop, through which channels, at what cost?"""

from __future__ import annotations

import ibis
import pandas as pd

from ..engine import Tables
from ..i18n import N_, Text, count, money, number, share, word
from ..metrics.channels import (
    EARNED_CHANNELS,
    UNKNOWN,
    channel_group,
    first_visits,
    new_customers_by_channel,
    new_customers_by_month,
    untracked,
)
from ..metrics.sessions import sessions
from . import windows
from .base import WORKBOOK, Chart, Evidence, NotEnoughData, Options, check, cite, rate


def _paid_spend(tables) -> pd.DataFrame:
    """Spend per channel over the period (channels with a positive total): columns channel, spend."""
    sp = tables["spend"]
    by = sp.group_by(channel=sp.channel.fill_null(UNKNOWN)).aggregate(spend=sp.amount.sum()).to_pandas()
    by["spend"] = by["spend"].astype(float)
    return by[by["spend"] > 0].reset_index(drop=True)


# ----------------------------------------------------------------------------------- untracked traffic


class UntrackedTrafficOptions(Options):
    """Untracked traffic: tunables beside the control points."""

    min_sessions: int = 500
    misspent: float = rate(
        0.1,
        "share of the spend whose result cannot be traced that goes to the wrong channels and could be saved",
        WORKBOOK,
        "default",
    )


@check(
    id="reach.untracked_traffic",
    stage="reach",
    title="Where visitors come from is tracked",
    failure_title="The shop does not know where many of its visitors come from",
    needs=("events.channel",),
    better="lower",
    good=0.05,
    poor=0.20,
    unit="share",
    source="Workbook default (no published benchmark): a shop that tags its links and campaigns leaves only "
    'a few percent of visits without a source, like the "unassigned" traffic of Google Analytics; '
    "5 % is good, one visit in five without a source is poor",
    description="Share of visits whose channel (where the visitor came from) is not recorded, by month; and "
    "the share of new customers whose first-touch channel is unknown.",
    advice=(
        "Set up tracking that records where every visit comes from: a web analytics tool on every page and "
        "UTM tags on every link in ads, e-mails, social posts and partner sites.",
        "Store the channel of a new customer's first visit in the customer record at sign-up or first order, "
        "so each acquisition can be traced back to the tactic that produced it.",
        "Where tracking cannot reach, ask new customers how they heard of the shop (one question at checkout).",
        "Check the months where the unknown share jumps: a broken tag or an untagged campaign usually starts "
        "on a specific date.",
    ),
    columns={
        "untracked_sessions": N_("Visits without a channel"),
        "untracked_customers": N_("New customers without a channel"),
    },
    options=UntrackedTrafficOptions,
)
def untracked_traffic(tables: Tables, o: UntrackedTrafficOptions) -> Evidence:
    s = sessions(tables)
    # Counted per month and channel first: the channel's labels are read once per channel and month, not on
    # every visit (millions of rows at a large shop).
    s = s.group_by(month=s.started_at.truncate("M"), channel=s.channel).aggregate(n=s.count())
    by = s.group_by("month").aggregate(sessions=s.n.sum(), untracked=s.n.sum(where=untracked(s.channel))).to_pandas()
    by["sessions"] = by["sessions"].astype("int64")
    by["untracked"] = by["untracked"].fillna(0).astype("int64")
    total = int(by["sessions"].sum())
    if total < o.min_sessions:
        raise NotEnoughData(
            Text(
                "needs at least {min} visits (sessions in the events) to judge; found {found}",
                min=count(o.min_sessions),
                found=count(total),
            )
        )
    n_untracked = int(by["untracked"].sum())
    rate = n_untracked / total
    by["month"] = pd.to_datetime(by["month"])
    by["untracked_sessions"] = by["untracked"] / by["sessions"]
    table = by[["month", "sessions", "untracked_sessions"]]
    cust_rate = None
    if tables.has("customers"):
        m = new_customers_by_month(tables)
        per = m.assign(unknown=m["customers"].where(m["channel"] == UNKNOWN, 0)).groupby("month", as_index=False)
        per = per.agg(new_customers=("customers", "sum"), unknown=("unknown", "sum"))
        per["untracked_customers"] = per["unknown"] / per["new_customers"]
        if per["new_customers"].sum():
            cust_rate = float(per["unknown"].sum() / per["new_customers"].sum())
        table = table.merge(per[["month", "new_customers", "untracked_customers"]], on="month", how="outer")
    table = table.sort_values("month").reset_index(drop=True)
    table["month"] = table["month"].dt.strftime("%Y-%m")

    at_stake = method = None
    if tables.has("spend"):
        spend = float(_paid_spend(tables)["spend"].sum())
        if spend > 0:
            blind = cust_rate if cust_rate is not None else rate
            at_stake = blind * spend * o.misspent
            method = Text(
                "marketing spend over the period ({spend}) × the share of {what} whose channel is unknown "
                "({rate}): spend whose result cannot be traced to the channel that produced it × the share of "
                "it that goes to the wrong channels ({misspent})",
                spend=money(spend, 0),
                rate=share(blind, 1),
                misspent=cite(o, "misspent"),
                what=Text("new customers") if cust_rate is not None else Text("visits"),
            )
    ys = ["untracked_sessions", "untracked_customers"] if cust_rate is not None else "untracked_sessions"
    chart = Chart(
        kind="line",
        data=table,
        x="month",
        y=ys,
        title=Text("Visits and new customers with no recorded channel, by month"),
        x_label=Text("Month"),
        y_label=Text("Share with unknown channel"),
        y_unit="share",
        reference=o.good,
        reference_label=Text("good"),
    )
    summary = Text(
        "{n} of {total} visits ({rate}) have no recorded channel",
        n=count(n_untracked),
        total=count(total),
        rate=share(rate, 1),
    )
    if cust_rate is not None:
        summary += Text("; the first-touch channel of {rate} of new customers is unknown", rate=share(cust_rate, 1))
    return Evidence(
        value=rate,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details={
            "sessions": total,
            "untracked_sessions": n_untracked,
            "session_share": rate,
            "customer_share": cust_rate,
        },
        summary=summary + ".",
    )


# ----------------------------------------------------------------------------------- channel concentration


class ChannelConcentrationOptions(Options):
    """Channel concentration: tunables beside the control points."""

    min_customers: int = 200
    recent_months: int = 3


@check(
    id="reach.channel_concentration",
    stage="reach",
    title="New customers come through several channels",
    failure_title="One channel brings most new customers",
    needs=("customers.acquisition_channel",),
    better="lower",
    good=0.35,
    poor=0.55,
    unit="share",
    source="Workbook default (no published benchmark): when one channel brings more than half of the new "
    "customers, a price change or a ban on that one platform stops the shop's growth; a largest "
    "channel at about a third of new customers is good",
    description="Share of new customers (with a known first-touch channel) brought by the largest channel, "
    "the mix of channels, and how the largest channel's share moved month by month.",
    advice=(
        "Try other tactics next to the channel that carries everything: test search engine optimisation, "
        "social media, partnerships or a referral programme one after another.",
        "Set aside a modest part of the budget for these tests, and measure each by the customers it brings "
        "and what they cost.",
        "Keep what works and stop what does not: the data from the tests shows which tactics reach the audience best.",
    ),
    columns={
        "share_first_months": N_("Share in the first months"),
        "share_last_months": N_("Share in the last months"),
    },
    options=ChannelConcentrationOptions,
)
def channel_concentration(tables: Tables, o: ChannelConcentrationOptions) -> Evidence:
    windows.require(tables, windows.months_in_days(o.recent_months), "recent_months")
    by = new_customers_by_channel(tables)
    known = by[by["channel"] != UNKNOWN]
    n_known = int(known["customers"].sum())
    if n_known < o.min_customers:
        raise NotEnoughData(
            Text(
                "needs at least {min} customers with a known first-touch channel (acquisition_channel); found {found}",
                min=count(o.min_customers),
                found=count(n_known),
            )
        )
    top = known.iloc[0]
    top_channel, top_share = str(top["channel"]), float(top["share"])

    m = new_customers_by_month(tables)
    m = m[m["channel"] != UNKNOWN]
    months = sorted(m["month"].unique())
    k = max(1, int(o.recent_months))

    def shares(ms) -> pd.Series:
        part = m[m["month"].isin(ms)].groupby("channel")["customers"].sum()
        return part / part.sum() if part.sum() else part

    first, last = shares(months[:k]), shares(months[-k:])
    table = known[["channel", "customers", "share"]].copy()
    table["share_first_months"] = table["channel"].map(first).fillna(0.0)
    table["share_last_months"] = table["channel"].map(last).fillna(0.0)
    table = table.reset_index(drop=True)

    monthly = m.groupby("month", as_index=False)["customers"].sum().rename(columns={"customers": "new_customers"})
    tm = m[m["channel"] == top_channel][["month", "customers"]]
    monthly = monthly.merge(tm, on="month", how="left").fillna({"customers": 0})
    monthly["share"] = monthly["customers"] / monthly["new_customers"]
    monthly["month"] = pd.to_datetime(monthly["month"]).dt.strftime("%Y-%m")
    chart = Chart(
        kind="line",
        data=monthly,
        x="month",
        y="share",
        title=Text(
            "Share of new customers brought by {channel}, the largest channel, by month", channel=word(top_channel)
        ),
        x_label=Text("Month"),
        y_label=Text("Share of new customers"),
        y_unit="share",
        reference=o.good,
        reference_label=Text("good"),
    )
    trend_from, trend_to = float(first.get(top_channel, 0.0)), float(last.get(top_channel, 0.0))
    summary = Text(
        "{channel} brought {rate} of the {n} new customers whose channel is known ({k} channels in "
        "all); its share moved from {first} in the first {months} months to {last} in the last {months}",
        channel=word(top_channel),
        rate=share(top_share, 1),
        n=count(n_known),
        k=count(len(known)),
        first=share(trend_from, 0),
        last=share(trend_to, 0),
        months=count(k),
    )
    return Evidence(
        value=top_share,
        table=table,
        chart=chart,
        details={
            "top_channel": top_channel,
            "top_share": top_share,
            "channels": len(known),
            "known_customers": n_known,
            "top_share_first": trend_from,
            "top_share_last": trend_to,
        },
        summary=summary + ".",
    )


# ----------------------------------------------------------------------------------- acquisition cost


class AcquisitionCostOptions(Options):
    """Acquisition cost: tunables beside the control points."""

    min_customers: int = 50
    value_days: int = 365
    saved: float = rate(
        0.5,
        "share of the spend a channel does not earn back that cutting it saves (cuts lose some customers)",
        WORKBOOK,
        "default",
    )


@check(
    id="reach.acquisition_cost",
    stage="reach",
    title="Acquiring a customer costs less than the customer returns",
    failure_title="New customers cost more to acquire than they bring back",
    needs=("spend", "customers.acquisition_channel", "orders.customer_id"),
    better="higher",
    good=3.0,
    poor=1.0,
    unit="ratio",
    bounded=False,
    source="Workbook default (no published benchmark in the workbook's sources): the common rule of thumb that "
    "a customer should bring back three times what they cost is taken as good; below 1 the shop pays "
    "more for a customer than the customer spends in a year, which is poor even before margins",
    description="Per paid channel: spend over the period divided by the new customers it brought (cost per "
    "new customer), against what those customers spent in their first 12 months; the headline is "
    "12-month revenue per unit of acquisition cost over all paid channels. New customers whose channel "
    "is unknown are counted in each channel's proportion.",
    advice=(
        "Measure every paid channel by what a new customer costs there and what that customer spends in a "
        "year, and move budget from the channels that return less than they cost to those that return more.",
        "Awareness bought with ads is the most expensive way to reach people: plan it with a marketing plan "
        "and clear goals, and aim ads at the buyer personas most likely to become customers.",
        "Build reach that does not cost per visit — search engine optimisation, content worth finding, "
        "referrals — so that paid acquisition is not the only way in.",
        "Raise what a new customer brings back (a welcome series, a second-order offer) before spending "
        "more to acquire them.",
    ),
    columns={
        "spend": N_("Spend"),
        "cost_per_customer": N_("Cost per new customer"),
        "value_12m": N_("12-month revenue per customer"),
        "value_per_cost": N_("Revenue per unit of cost"),
        "unrecovered": N_("Spend not recovered"),
    },
    options=AcquisitionCostOptions,
)
def acquisition_cost(tables: Tables, o: AcquisitionCostOptions) -> Evidence:
    windows.require(tables, int(o.value_days), "value_days")
    sp = _paid_spend(tables)
    paid = list(sp["channel"])
    cu = tables["customers"]
    pc = cu.filter(cu.acquisition_channel.isin(paid) & cu.first_seen_at.notnull()).select(
        "customer_id", "first_seen_at", channel=cu.acquisition_channel
    )
    od = tables["orders"]
    od = od.filter(od.customer_id.notnull())
    ov = od.select(oc=od.customer_id, order_time=od.order_time, revenue=od.revenue)
    j = pc.left_join(
        ov,
        [
            pc.customer_id == ov.oc,
            ov.order_time >= pc.first_seen_at,
            ov.order_time < pc.first_seen_at + ibis.interval(days=int(o.value_days)),
        ],
    )
    per = j.group_by(["customer_id", "channel"]).aggregate(value=j.revenue.sum().fill_null(0))
    by = per.group_by("channel").aggregate(new_customers=per.count(), revenue=per.value.sum()).to_pandas()
    n_paid = int(by["new_customers"].sum()) if len(by) else 0
    if n_paid < o.min_customers:
        raise NotEnoughData(
            Text(
                "needs at least {min} customers whose first-touch channel is one the spend table "
                "pays for ({channels}); found {found}",
                min=count(o.min_customers),
                channels=", ".join(paid) or "–",
                found=count(n_paid),
            )
        )
    # Customers whose first-touch channel is unknown were bought by the same spend: spread them over the
    # channels as the known ones are, or untracked traffic would make every channel look too expensive.
    mix = new_customers_by_channel(tables)
    unknown = float(mix.loc[mix["channel"] == UNKNOWN, "customers"].sum()) / float(mix["customers"].sum())
    scale = 1.0 / (1.0 - unknown) if unknown < 1 else 1.0
    table = sp.merge(by, on="channel", how="left").fillna({"new_customers": 0, "revenue": 0.0})
    table["new_customers"] = table["new_customers"].astype(int)
    table["revenue"] = table["revenue"].astype(float)
    nc = table["new_customers"].where(table["new_customers"] > 0)
    table["cost_per_customer"] = table["spend"] / (nc * scale)
    table["value_12m"] = table["revenue"] / nc
    table["value_per_cost"] = table["value_12m"] / table["cost_per_customer"]
    table["unrecovered"] = (table["spend"] - table["revenue"] * scale).clip(lower=0)
    table = table.sort_values("spend", ascending=False).reset_index(drop=True)

    spend, revenue = float(table["spend"].sum()), float(table["revenue"].sum())
    cac, value = spend / (n_paid * scale), revenue / n_paid
    ratio = value / cac
    unrecovered = float(table["unrecovered"].sum())
    at_stake = unrecovered * o.saved
    method = Text(
        "per paid channel, spend over the period minus the revenue its new customers brought in their "
        "first 12 months, summed over the channels where spend is higher ({amount}; revenue, not margin, "
        "so the true loss is larger) × the share of it that cutting those channels saves ({rate})",
        amount=money(unrecovered, 0),
        rate=cite(o, "saved"),
    )
    if unknown > 0:
        method += Text(
            "; the {rate} of new customers with an unknown channel are counted in each channel's proportion",
            rate=share(unknown, 1),
        )
    out = table[
        ["channel", "spend", "new_customers", "cost_per_customer", "value_12m", "value_per_cost", "unrecovered"]
    ]
    chart = Chart(
        kind="bar",
        data=out,
        x="channel",
        y="value_per_cost",
        title=Text("12-month revenue of new customers per unit of acquisition cost, by paid channel"),
        x_label=Text("First-touch channel"),
        y_label=Text("Revenue per unit of cost"),
        y_unit="ratio",
        reference=o.good,
        reference_label=Text("good"),
    )
    worst = out.loc[out["value_per_cost"].idxmin()]
    summary = Text(
        "A new customer from paid channels cost {cac} and brought {value} in their first 12 months, "
        "{ratio} times the cost; weakest: {channel} ({worst} times)",
        cac=money(cac, 2),
        value=money(value, 2),
        ratio=number(ratio, 2),
        channel=word(worst["channel"]),
        worst=number(worst["value_per_cost"], 2),
    )
    return Evidence(
        value=ratio,
        table=out,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details={
            "spend": spend,
            "paid_customers": n_paid,
            "cac": cac,
            "value_12m": value,
            "ratio": ratio,
            "worst_channel": worst["channel"],
            "unknown_channel_share": unknown,
        },
        summary=summary + ".",
    )


# ----------------------------------------------------------------------------------- earned reach


class EarnedReachOptions(Options):
    """Earned reach: tunables beside the control points."""

    min_customers: int = 200
    closed: float = rate(
        0.2,
        "share of the gap to a good earned share the shop closes in a year (search, social, referrals)",
        WORKBOOK,
        "default",
    )


@check(
    id="reach.earned_reach",
    stage="reach",
    title="The shop is found, not only advertised",
    failure_title="Few new customers find the shop by themselves",
    needs=("customers.acquisition_channel", "events"),
    better="higher",
    good=0.30,
    poor=0.15,
    unit="share",
    source="Workbook default (no published benchmark): organic search, organic social and referrals bringing "
    "about a third of new customers shows a shop people find and recommend; below one in seven, "
    "nearly every customer has to be chased",
    description="Share of new customers (with a known first-touch channel) who came through organic search, "
    "organic social media or a referral; and how engaged each channel's new customers were on "
    "their first visit.",
    advice=(
        "Instead of trying to find customers, let them find you online: create valuable, convincing content "
        "that is worth searching for — content that educates, entertains, or both.",
        "Use word of mouth and user-generated content: invite customers to share photos of what they bought "
        "and show them, as proof that the products are bought, tried and loved.",
        "Start a referral programme that rewards customers for bringing new ones.",
        "Invest in search engine optimisation for the products customers search for most.",
    ),
    columns={
        "channel_group": N_("Channel group"),
        "first_visit_bounce": N_("First visit bounced"),
        "first_visit_events": N_("Events in the first visit"),
        "first_visit_purchase": N_("Bought on the first visit"),
    },
    options=EarnedReachOptions,
)
def earned_reach(tables: Tables, o: EarnedReachOptions) -> Evidence:
    by = new_customers_by_channel(tables)
    known = by[by["channel"] != UNKNOWN].copy()
    n_known = int(known["customers"].sum())
    if n_known < o.min_customers:
        raise NotEnoughData(
            Text(
                "needs at least {min} customers with a known first-touch channel (acquisition_channel); found {found}",
                min=count(o.min_customers),
                found=count(n_known),
            )
        )
    known["channel_group"] = known["channel"].map(channel_group)
    earned = int(known.loc[known["channel_group"] == "earned", "customers"].sum())
    rate = earned / n_known

    # First-visit engagement of each channel's new customers (their first session with their customer id).
    fv = first_visits(tables)
    cu = tables["customers"]
    ca = cu.select(cid=cu.customer_id, acq=cu.acquisition_channel)
    fj = fv.join(ca, fv.customer_id == ca.cid)
    eng = (
        fj.group_by(channel=fj.acq)
        .aggregate(
            first_visits=fj.count(),
            first_visit_bounce=fj.bounced.mean(),
            first_visit_events=fj.events.mean(),
            first_visit_purchase=(fj.purchases > 0).mean(),
        )
        .to_pandas()
    )
    table = known.merge(eng, on="channel", how="left")
    table = table[
        [
            "channel",
            "channel_group",
            "customers",
            "share",
            "first_visit_bounce",
            "first_visit_events",
            "first_visit_purchase",
        ]
    ]

    groups = known.groupby("channel_group", as_index=False)["customers"].sum()
    groups["share"] = groups["customers"] / n_known
    order = {"earned": 0, "paid": 1, "other": 2}
    groups = groups.sort_values("channel_group", key=lambda c: c.map(order)).reset_index(drop=True)
    chart = Chart(
        kind="bar",
        data=groups,
        x="channel_group",
        y="share",
        title=Text(
            "New customers by how they found the shop: earned (organic search, organic social, referral), paid, other"
        ),
        x_label=Text("Channel group"),
        y_label=Text("Share of new customers"),
        y_unit="share",
        reference=o.good,
        reference_label=Text("good (earned)"),
    )

    at_stake = method = None
    if tables.has("spend") and rate < o.good:
        sp = _paid_spend(tables)
        paid_n = int(known.loc[known["channel"].isin(sp["channel"]), "customers"].sum())
        if paid_n:
            known_share = n_known / float(by["customers"].sum())  # unknown-channel customers: spread as known
            cac = float(sp["spend"].sum()) * known_share / paid_n
            missing = (o.good - rate) * n_known
            at_stake = missing * o.closed * cac
            method = Text(
                "new customers the shop would have found for free at a {good} earned share ({n}) × the share of "
                "that gap it closes in a year ({rate}) × what a customer from paid channels cost ({cac}), over the "
                "period analysed",
                rate=cite(o, "closed"),
                good=share(o.good, 0),
                n=count(missing),
                cac=money(cac, 2),
            )
    summary = Text(
        "{n} of {total} new customers with a known channel ({rate}) found the shop through organic "
        "search, organic social media or a referral",
        n=count(earned),
        total=count(n_known),
        rate=share(rate, 1),
    )
    e = table[table["channel_group"] == "earned"]
    p = table[table["channel_group"] == "paid"]
    if len(e) and len(p) and e["first_visit_purchase"].notna().any() and p["first_visit_purchase"].notna().any():
        ep = float((e["first_visit_purchase"] * e["customers"]).sum() / e["customers"].sum())
        pp = float((p["first_visit_purchase"] * p["customers"]).sum() / p["customers"].sum())
        summary += Text(
            "; {earned} of them bought on their first visit, against {paid} of customers from paid channels",
            earned=share(ep, 0),
            paid=share(pp, 0),
        )
    return Evidence(
        value=rate,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details={
            "earned_customers": earned,
            "known_customers": n_known,
            "earned_share": rate,
            "earned_channels": list(EARNED_CHANNELS),
        },
        summary=summary + ".",
    )
