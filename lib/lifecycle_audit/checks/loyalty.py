"""Loyalty: are the best customers recognised, and do they recommend the shop?"""

from __future__ import annotations

import pandas as pd

from ..engine import Tables
from ..i18n import N_, Text, count, money, number, share
from ..metrics.rfm import customer_rfm
from ..privacy import pseudonymise_frame
from . import windows
from .base import Chart, Evidence, NotEnoughData, Options, check

# Groups shown in tables and charts (words of i18n.TERMS).
MEMBER, NOT_MEMBER = "loyalty member", "not a member"
REFERRED, OTHERS = "referred", "not referred"


def _years(tables) -> float:
    start, end = tables.period
    return max((end - start).days, 1) / 365.25


def _promoters(tables) -> pd.DataFrame | None:
    """NPS promoters (score 9–10) with when they answered; None without surveys."""
    if not tables.has("surveys"):
        return None
    s = tables["surveys"]
    if "scale" in s.columns:
        s = s.filter(s.scale == "nps")
    s = s.filter(s.score >= 9)
    s = s.filter(s.customer_id.notnull())
    return s.group_by("customer_id").aggregate(answered_at=s.responded_at.min()).to_pandas()


def _asked_after(tables, who: pd.DataFrame, message_type: str) -> float | None:
    """Share of `who` (customer_id, answered_at) sent a `message_type` message after answering."""
    if who is None or who.empty or not tables.has("messages"):
        return None
    m = tables["messages"]
    m = m.filter(m.message_type == message_type)
    sent = m.group_by("customer_id").aggregate(last_sent=m.sent_at.max()).to_pandas()
    j = who.merge(sent, on="customer_id", how="left")
    answered = pd.to_datetime(j["answered_at"])
    asked = j["last_sent"].notna() & (answered.isna() | (pd.to_datetime(j["last_sent"]) >= answered))
    return float(asked.mean())


# ---------------------------------------------------------------- unrecognised loyal customers


class UnrecognisedLoyalOptions(Options):
    """Unrecognised loyal: tunables beside the control points."""

    min_orders: int = 3
    min_loyal: int = 10
    top_n: int = 20
    lapse_days: int = 90


@check(
    id="loyalty.unrecognised_loyal",
    stage="loyalty",
    title="The best customers are recognised and rewarded",
    failure_title="The best customers are treated like one-off buyers",
    needs=("orders.customer_id", "customers.loyalty_member_since"),
    better="lower",
    good=0.10,
    poor=0.40,
    unit="share",
    source="Workbook default (no published benchmark for this share): the seed articles call failing to "
    "recognise loyal customers one of the biggest lifecycle mistakes, so at most one in ten customers "
    "with three or more orders left outside the loyalty programme is good, four in ten is poor",
    description="Share of customers with three or more orders in the period who are not in the loyalty "
    "programme; the evidence lists the most valuable of them with how recently they bought and "
    "whether they were ever thanked.",
    advice=(
        "Keep track of your loyal customers: flag every customer at their third order and move them into a "
        "special customer category with its own perks.",
        "Reward loyalty with something one-off buyers do not get, e.g. an exclusive discount or points that "
        "turn into free products.",
        "Thank your best customers personally and stay in touch on a personal level, not only with the "
        "newsletter everyone receives.",
        "Start with the customers listed here: they buy often and spend most, but nothing sets them apart.",
    ),
    columns={
        "active": N_("Still active"),
        "thank_yous": N_("Thank-yous received"),
    },
    options=UnrecognisedLoyalOptions,
)
def unrecognised_loyal(tables: Tables, o: UnrecognisedLoyalOptions) -> Evidence:
    rfm = customer_rfm(tables)
    loyal = rfm[rfm["orders"] >= o.min_orders].copy()
    if len(loyal) < o.min_loyal:
        raise NotEnoughData(
            Text(
                "needs at least {min} customers with {orders} or more orders to judge; the orders hold {found}",
                min=count(o.min_loyal),
                orders=count(o.min_orders),
                found=count(len(loyal)),
            )
        )
    end = tables.period[1]
    cu = tables["customers"]
    members = cu.filter(cu.loyalty_member_since.notnull()).select("customer_id", "loyalty_member_since").to_pandas()
    members = members[pd.to_datetime(members["loyalty_member_since"]) < end]
    loyal["member"] = loyal["customer_id"].isin(set(members["customer_id"]))
    if tables.has("messages"):
        m = tables["messages"]
        m = m.filter(m.message_type == "thank_you")
        thanks = m.group_by("customer_id").aggregate(thank_yous=m.count()).to_pandas()
        loyal = loyal.merge(thanks, on="customer_id", how="left")
        loyal["thank_yous"] = loyal["thank_yous"].fillna(0).astype(int)
    n = len(loyal)
    unrec = loyal[~loyal["member"]].sort_values(["revenue", "customer_id"], ascending=[False, True], kind="stable")
    rate = len(unrec) / n

    cols = ["customer_id", "orders", "revenue", "recency_days"] + (["thank_yous"] if "thank_yous" in loyal else [])
    table = unrec.head(int(o.top_n))[cols].rename(columns={"recency_days": "days_since_last_order"})
    table["days_since_last_order"] = table["days_since_last_order"].round().astype(int)
    table = pseudonymise_frame(table.reset_index(drop=True))

    loyal["group"] = loyal["member"].map({True: MEMBER, False: NOT_MEMBER})
    loyal["active"] = loyal["recency_days"] <= o.lapse_days
    groups = loyal.groupby("group").agg(
        customers=("customer_id", "size"), revenue=("revenue", "sum"), active=("active", "mean")
    )
    groups = groups.reindex([MEMBER, NOT_MEMBER]).fillna(0).reset_index()
    groups["customers"] = groups["customers"].astype(int)
    chart = Chart(
        kind="bar",
        data=groups,
        x="group",
        y="customers",
        title=Text(
            "Customers with {orders} or more orders, in the loyalty programme or not", orders=count(o.min_orders)
        ),
        x_label=Text("Loyalty programme"),
        y_label=Text("Customers"),
        y_unit="count",
    )

    years = _years(tables)
    value_year = float(loyal["revenue"].mean()) / years
    excess = max(0.0, len(unrec) - o.good * n)
    at_stake = excess * value_year if excess else 0.0
    method = Text(
        "loyal customers outside the programme beyond a {good} share ({excess} customers) × the "
        "yearly revenue of a customer with {orders} or more orders ({value}): the revenue that "
        "depends on customers nothing sets apart",
        good=share(o.good, 0),
        excess=count(excess),
        orders=count(o.min_orders),
        value=money(value_year, 0),
    )
    never_thanked = int((unrec["thank_yous"] == 0).sum()) if "thank_yous" in unrec else None
    lapsed = float((unrec["recency_days"] > o.lapse_days).mean()) if len(unrec) else 0.0
    summary = Text(
        "{n} of {total} customers with {orders} or more orders ({rate}) are not in the loyalty "
        "programme; {lapsed} of them have not ordered for {days} days",
        n=count(len(unrec)),
        total=count(n),
        orders=count(o.min_orders),
        rate=share(rate, 1),
        lapsed=share(lapsed, 0),
        days=count(o.lapse_days),
    )
    if never_thanked is not None:
        summary += Text("; {k} were never sent a thank-you", k=count(never_thanked))
    details = {
        "loyal_customers": n,
        "unrecognised": len(unrec),
        "unrecognised_lapsed": lapsed,
        "never_thanked": never_thanked,
        "yearly_value": value_year,
    }
    return Evidence(
        value=rate,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details=details,
        summary=summary + ".",
    )


# ---------------------------------------------------------------- referrals


class ReferralsOptions(Options):
    """Referrals: tunables beside the control points."""

    min_buyers: int = 200


@check(
    id="loyalty.referrals",
    stage="loyalty",
    title="Customers recommend the shop through a referral programme",
    failure_title="Hardly any customer refers others",
    needs=("referrals", "orders.customer_id"),
    better="higher",
    good=0.08,
    poor=0.04,
    unit="share",
    source="Workbook default (no published benchmark in the workbook's sources): a running referral "
    "programme should get at least one buyer in twelve to refer someone (8 %); fewer than one in 25 "
    "(4 %) means advocacy is left unused",
    description="Distinct customers who referred someone, per customer with an order; the value of referred "
    "customers against the others, and how many promoters (NPS 9–10) were never invited to refer.",
    advice=(
        "Create a referral programme that rewards customers for bringing in new business, e.g. a credit for "
        "both the customer and the friend they invite.",
        "Invite customers to refer at the moments they are happiest: after a second order and right after "
        "they give a high score in a survey.",
        "Turn your promoters into brand ambassadors: give them something easy to share and thank them when "
        "a friend buys.",
    ),
    columns={
        "orders_per_customer": N_("Orders per customer"),
        "revenue_per_customer": N_("Revenue per customer"),
    },
    options=ReferralsOptions,
)
def referrals(tables: Tables, o: ReferralsOptions) -> Evidence:
    rfm = customer_rfm(tables)
    buyers = len(rfm)
    if buyers < o.min_buyers:
        raise NotEnoughData(
            Text(
                "needs at least {min} customers with an order to judge; the orders hold {found}",
                min=count(o.min_buyers),
                found=count(buyers),
            )
        )
    r = tables["referrals"]
    ref = r.select("referrer_id", "referred_customer_id").to_pandas()
    referrers = int(ref["referrer_id"].dropna().nunique())
    rate = referrers / buyers
    referred_ids = set(ref["referred_customer_id"].dropna())
    rfm = rfm.assign(group=rfm["customer_id"].isin(referred_ids).map({True: REFERRED, False: OTHERS}))
    table = rfm.groupby("group").agg(
        customers=("customer_id", "size"), orders=("orders", "mean"), revenue=("revenue", "mean")
    )
    table = table.reindex([REFERRED, OTHERS]).reset_index()
    table["customers"] = table["customers"].fillna(0).astype(int)
    table = table.rename(columns={"orders": "orders_per_customer", "revenue": "revenue_per_customer"})
    chart = Chart(
        kind="bar",
        data=table,
        x="group",
        y="revenue_per_customer",
        title=Text("Revenue per customer over the period: referred customers and the others"),
        x_label=Text("Customers"),
        y_label=Text("Revenue per customer"),
        y_unit="money",
    )

    value_ref = table.loc[0, "revenue_per_customer"]
    value_other = table.loc[1, "revenue_per_customer"]
    value = float(value_ref) if pd.notna(value_ref) and table.loc[0, "customers"] >= 10 else float(value_other)
    per_referrer = max(1.0, len(referred_ids) / referrers) if referrers else 1.0
    missing = max(0.0, o.good * buyers - referrers)
    at_stake = missing * per_referrer * value
    method = Text(
        "customers who would refer at a {good} share and do not ({missing}) × new customers per "
        "referrer ({per}) × revenue per referred customer ({value}), over the period analysed",
        good=share(o.good, 0),
        missing=count(missing),
        per=number(per_referrer, 1),
        value=money(value, 0),
    )
    summary = Text(
        "{n} of {total} customers with an order ({rate}) referred someone",
        n=count(referrers),
        total=count(buyers),
        rate=share(rate, 1),
    )
    if pd.notna(value_ref) and pd.notna(value_other):
        summary += Text(
            "; a referred customer spent {ref}, the others {other}",
            ref=money(value_ref, 0),
            other=money(value_other, 0),
        )
    promoters = _promoters(tables)
    asked = _asked_after(tables, promoters, "referral_invite")
    if asked is not None:
        never = int(round((1 - asked) * len(promoters)))
        summary += Text("; {k} of {n} promoters were never invited to refer", k=count(never), n=count(len(promoters)))
    details = {
        "buyers": buyers,
        "referrers": referrers,
        "referred": len(referred_ids),
        "revenue_per_referred": None if pd.isna(value_ref) else float(value_ref),
        "revenue_per_other": None if pd.isna(value_other) else float(value_other),
        "promoters": None if promoters is None else len(promoters),
        "promoters_invited": asked,
    }
    return Evidence(
        value=rate,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details=details,
        summary=summary + ".",
    )


# ---------------------------------------------------------------- reviews


class ReviewsOptions(Options):
    """Reviews: tunables beside the control points."""

    min_orders: int = 200
    settle_days: int = 30


@check(
    id="loyalty.reviews",
    stage="loyalty",
    title="Customers are asked for reviews and leave them",
    failure_title="Happy customers are not asked for reviews",
    needs=("reviews.order_id", "orders"),
    better="higher",
    good=0.10,
    poor=0.05,
    unit="share",
    source="Workbook default: Podium (State of Online Reviews 2017) finds 93 % of consumers say reviews "
    "influence their purchases, but publishes no review rate; one review per ten orders is good, "
    "fewer than one per twenty is poor",
    description="Reviews of orders placed more than 30 days before the end of the period, per such order; "
    "the monthly trend of reviews and ratings, and how many promoters were asked for a review.",
    advice=(
        "Ask every customer for a review automatically, about two weeks after the order, when the product "
        "has arrived and been used.",
        "Ask your promoters and fans first, and invite them to review on neutral sites as well as your own.",
        "Keep incentives for reviews modest: the aim is authentic reviews, not bought praise.",
        "Show the reviews on the homepage and product pages: customer reviews speak for the shop.",
    ),
    columns={
        "reviews": N_("Reviews"),
        "reviews_per_order": N_("Reviews per order"),
        "rating": N_("Rating"),
    },
    options=ReviewsOptions,
)
def reviews(tables: Tables, o: ReviewsOptions) -> Evidence:
    windows.require(tables, int(o.settle_days), "settle_days")
    end = tables.period[1]
    cutoff = end - pd.Timedelta(days=int(o.settle_days))
    od = tables["orders"]
    od = od.filter(od.order_time < cutoff).select("order_id", "order_time").to_pandas()
    if len(od) < o.min_orders:
        raise NotEnoughData(
            Text(
                "needs at least {min} orders placed more than {days} days before the end; found {found}",
                min=count(o.min_orders),
                days=count(o.settle_days),
                found=count(len(od)),
            )
        )
    rv = tables["reviews"]
    rv = rv.filter(rv.order_id.notnull()).select("order_id", "rating").to_pandas().drop_duplicates("order_id")
    j = od.merge(rv, on="order_id", how="left")
    j["reviewed"] = j["rating"].notna()
    rate = float(j["reviewed"].mean())
    j["month"] = pd.to_datetime(j["order_time"]).dt.strftime("%Y-%m")
    table = (
        j.groupby("month")
        .agg(orders=("order_id", "size"), reviews=("reviewed", "sum"), rating=("rating", "mean"))
        .reset_index()
    )
    table["reviews_per_order"] = table["reviews"] / table["orders"]
    table["reviews"] = table["reviews"].astype(int)
    table = table[["month", "orders", "reviews", "reviews_per_order", "rating"]]
    chart = Chart(
        kind="line",
        data=table,
        x="month",
        y="reviews_per_order",
        title=Text("Reviews per order, by month of the order"),
        x_label=Text("Month of the order"),
        y_label=Text("Reviews per order"),
        y_unit="share",
        reference=o.good,
        reference_label=Text("good"),
    )
    rated = table.dropna(subset=["rating"])
    half = len(rated) // 2
    early = float(rated["rating"].iloc[:half].mean()) if half else None
    late = float(rated["rating"].iloc[half:].mean()) if half else None
    summary = Text(
        "{n} of {total} orders older than {days} days were reviewed ({rate})",
        n=count(int(j["reviewed"].sum())),
        total=count(len(j)),
        days=count(o.settle_days),
        rate=share(rate, 1),
    )
    if early is not None:
        summary += Text(
            "; the average rating went from {early} in the first half of the period to {late} in the second",
            early=number(early, 2),
            late=number(late, 2),
        )
    asked_orders = None
    if tables.has("messages"):
        m = tables["messages"]
        m = m.filter(m.message_type == "review_request")
        req = m.select("customer_id", "sent_at").to_pandas()
        oc = tables["orders"].select("order_id", "customer_id", "order_time").to_pandas()
        oc = oc[oc["order_id"].isin(set(od["order_id"]))].sort_values("order_time")
        req = req.dropna(subset=["customer_id"]).sort_values("sent_at")
        if len(oc) and len(req):
            mm = pd.merge_asof(
                oc,
                req.rename(columns={"sent_at": "asked_at"}),
                left_on="order_time",
                right_on="asked_at",
                by="customer_id",
                direction="forward",
                tolerance=pd.Timedelta(days=int(o.settle_days)),
            )
            asked_orders = float(mm["asked_at"].notna().mean())
        else:
            asked_orders = 0.0
        summary += Text("; {rate} of orders were followed by a review request", rate=share(asked_orders, 0))
    promoters = _promoters(tables)
    asked = _asked_after(tables, promoters, "review_request")
    if asked is not None:
        summary += Text("; {rate} of promoters were asked for a review after their score", rate=share(asked, 0))
    details = {
        "orders": len(j),
        "reviewed": int(j["reviewed"].sum()),
        "rating_first_half": early,
        "rating_second_half": late,
        "orders_asked": asked_orders,
        "promoters_asked": asked,
    }
    return Evidence(value=rate, table=table, chart=chart, details=details, summary=summary + ".")
