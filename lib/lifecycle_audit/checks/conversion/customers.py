"""Conversion: customers asked what they need, thanked for every order, offered what they came for."""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from ...engine import Tables
from ...i18n import N_, Text, count, days, hours, money, number, share, word
from ...metrics.orders import average_order_value
from ...metrics.sessions import AGGREGATE_BACKENDS
from .. import windows
from ..base import WORKBOOK, Chart, Evidence, NotEnoughData, Options, check, cite, rate

# Reminder timing groups, in the order the report shows them.
PROMPT, SAME_DAY, LATE, NONE = "within 4 h", "4–24 h", "after 24 h", "not reminded"


# --- asking customers ------------------------------------------------------------------------------


class CustomerResearchOptions(Options):
    """Customer research: tunables beside the control points."""

    months: int = 12
    min_customers: int = 100


@check(
    id="conversion.customer_research",
    stage="conversion",
    title="Active customers are asked what they need",
    failure_title="Few active customers have been asked what they need in the last 12 months",
    needs=("orders.customer_id", "surveys"),
    better="higher",
    good=0.7,
    poor=0.3,
    unit="share",
    source="Workbook default (no published benchmark for survey coverage): seven in ten customers who "
    "ordered in the last 12 months asked at least once in that time is good, fewer than three in ten "
    "is poor; a yearly survey of all active customers meets it",
    description="Share of customers with an order in the last 12 months who were sent a survey in that time; "
    "how many answered, and how long ago each kind of survey was last sent.",
    advice=(
        "Ask existing customers regularly what they need and want now: a short survey to every active "
        "customer at least once a year, not only after a support ticket.",
        "Ask about the whole purchase journey, from the ad and the landing page to the product page, the "
        "cart and what happens after the order, and about their preferences.",
        "Use the answers together with the purchase history to decide what to offer to whom.",
    ),
    columns={
        "scale": N_("Survey"),
        "surveys": N_("Surveys sent"),
        "share_of_active": N_("Share of active customers"),
        "responses": N_("Responses"),
        "response_rate": N_("Response rate"),
        "last_sent": N_("Last sent"),
        "days_since_last": N_("Days since the last"),
    },
    options=CustomerResearchOptions,
)
def customer_research(tables: Tables, o: CustomerResearchOptions) -> Evidence:
    windows.require(tables, windows.months_in_days(o.months), "months")
    end = tables.period[1]
    since = end - pd.Timedelta(days=round(o.months * 365 / 12))
    od = tables["orders"]
    active = (
        od.filter((od.order_time >= since) & od.order_time.notnull() & od.customer_id.notnull())
        .select("customer_id")
        .distinct()
    )
    sv = tables["surveys"]
    recent = sv.filter((sv.sent_at >= since) & (sv.sent_at <= end))
    asked = recent.select(sid=recent.customer_id).distinct()
    n_active = int(active.count().to_pandas())
    if n_active < o.min_customers:
        raise NotEnoughData(
            Text(
                "needs at least {min} customers with an order in the last {months} months; found {found}",
                min=count(o.min_customers),
                months=count(o.months),
                found=count(n_active),
            )
        )
    j = active.left_join(asked, active.customer_id == asked.sid)
    n_asked = int(j.sid.notnull().sum().to_pandas())
    value = n_asked / n_active

    scale = sv.scale.fill_null("other") if "scale" in sv.columns else ibis.literal("other")
    sv2 = sv.mutate(scale=scale)
    rec2 = sv2.filter((sv2.sent_at >= since) & (sv2.sent_at <= end))
    by = rec2.group_by("scale").aggregate(surveys=rec2.count(), responses=rec2.responded_at.notnull().sum())
    last = sv2.group_by("scale").aggregate(last_sent=sv2.sent_at.max())
    per_scale = rec2.select("scale", sid=rec2.customer_id).distinct()
    pj = per_scale.semi_join(active, per_scale.sid == active.customer_id)
    reach = pj.group_by("scale").aggregate(customers=pj.count())
    table = last.left_join(by, "scale").drop("scale_right").left_join(reach, "scale").drop("scale_right").to_pandas()
    for c in ("surveys", "responses", "customers"):
        table[c] = table[c].fillna(0).astype("int64")
    table["share_of_active"] = table["customers"] / n_active
    table["response_rate"] = table["responses"] / table["surveys"].where(table["surveys"] > 0)
    table["days_since_last"] = (end - pd.to_datetime(table["last_sent"])).dt.days
    table["last_sent"] = pd.to_datetime(table["last_sent"]).dt.date
    table = table.sort_values("surveys", ascending=False).reset_index(drop=True)
    table = table[
        [
            "scale",
            "surveys",
            "customers",
            "share_of_active",
            "responses",
            "response_rate",
            "last_sent",
            "days_since_last",
        ]
    ]

    sent = int(table["surveys"].sum())
    response = float(table["responses"].sum() / sent) if sent else None
    last_any = sv.sent_at.max().to_pandas()
    since_last = int((end - pd.Timestamp(last_any)).days) if last_any is not None and last_any == last_any else None

    mo = sv2.filter(sv2.sent_at <= end)
    mo = mo.mutate(month=mo.sent_at.truncate("M"))
    monthly = mo.group_by(["month", "scale"]).aggregate(surveys=mo.count()).order_by("month").to_pandas()
    monthly["month"] = pd.to_datetime(monthly["month"]).dt.strftime("%Y-%m")
    chart = Chart(
        kind="bar",
        data=monthly,
        x="month",
        y="surveys",
        hue="scale",
        title=Text("Surveys sent per month, by kind of survey"),
        x_label=Text("Month sent"),
        y_label=Text("Surveys sent"),
        y_unit="count",
    )
    summary = Text(
        "{asked} of {active} customers who ordered in the last {months} months ({rate}) were sent a "
        "survey in that time",
        asked=count(n_asked),
        active=count(n_active),
        months=count(o.months),
        rate=share(value, 1),
    )
    if response is not None:
        summary += Text("; {rate} of those surveys were answered", rate=share(response, 0))
    if since_last is not None:
        summary += Text("; the last survey went out {days} before the end of the data", days=days(since_last))
    stale = table[table["days_since_last"] > o.months * 365 / 12].sort_values("days_since_last")
    if len(stale):
        row = stale.iloc[-1]
        summary += Text(
            "; no {scale} survey for {days}", scale=word(row["scale"]), days=days(int(row["days_since_last"]))
        )
    return Evidence(
        value=value,
        table=table,
        chart=chart,
        details={
            "active_customers": n_active,
            "surveyed": n_asked,
            "surveys_sent": sent,
            "response_rate": response,
            "days_since_last_survey": since_last,
        },
        summary=summary + ".",
    )


# --- thanking every order --------------------------------------------------------------------------


class ThankYouOptions(Options):
    """Thank you: tunables beside the control points."""

    within_days: int = 1
    min_orders: int = 50


@check(
    id="conversion.thank_you",
    stage="conversion",
    title="Every order is followed by a thank-you",
    failure_title="Many orders get no thank-you",
    needs=("orders.customer_id", "messages.message_type=thank_you"),
    better="higher",
    good=0.98,
    poor=0.8,
    unit="share",
    source="Workbook default (no published benchmark): a thank-you is sent automatically, so nearly every "
    "order (98 %) should get one within a day; fewer than four in five means the automation is missing "
    "or broken",
    description="Share of orders by known customers that were followed by a thank-you message to the customer "
    "within a day, by month.",
    advice=(
        "Follow every purchase with a thank-you e-mail: it deepens the relationship and motivates the "
        "customer to come back.",
        "Send it automatically from your shop system or CRM, triggered by the order, so that no order is missed.",
        "Use it to help the customer onward, e.g. with related products or how to reach you with questions.",
    ),
    columns={
        "thanked": N_("Thanked"),
        "thanked_share": N_("Share thanked"),
        "median_hours": N_("Median hours"),
    },
    options=ThankYouOptions,
)
def thank_you(tables: Tables, o: ThankYouOptions) -> Evidence:
    windows.require(tables, int(o.within_days), "within_days")
    within = int(o.within_days)
    end = tables.period[1]
    od = tables["orders"]
    od = od.filter(od.customer_id.notnull() & (od.order_time <= end - pd.Timedelta(days=within)))
    m = tables["messages"]
    th = m.filter(m.message_type == "thank_you").select(tcust=m.customer_id, sent_at=m.sent_at)
    j = od.join(
        th,
        [
            od.customer_id == th.tcust,
            th.sent_at >= od.order_time,
            th.sent_at <= od.order_time + ibis.interval(days=within),
        ],
        how="left",
    )
    per = j.group_by(["order_id", "order_time"]).aggregate(thanked_at=j.sent_at.min())
    df = per.to_pandas()
    if len(df) < o.min_orders:
        raise NotEnoughData(
            Text(
                "needs at least {min} orders by known customers older than {days}; found {found}",
                min=count(o.min_orders),
                days=days(within),
                found=count(len(df)),
            )
        )
    df["thanked"] = df["thanked_at"].notna()
    df["hours"] = (df["thanked_at"] - df["order_time"]).dt.total_seconds() / 3600
    df["month"] = pd.to_datetime(df["order_time"]).dt.strftime("%Y-%m")
    table = (
        df.groupby("month")
        .agg(orders=("order_id", "size"), thanked=("thanked", "sum"), median_hours=("hours", "median"))
        .reset_index()
    )
    table["thanked"] = table["thanked"].astype("int64")
    table["thanked_share"] = table["thanked"] / table["orders"]
    table = table[["month", "orders", "thanked", "thanked_share", "median_hours"]]
    n, n_thanked = len(df), int(df["thanked"].sum())
    value = n_thanked / n
    chart = Chart(
        kind="line",
        data=table,
        x="month",
        y="thanked_share",
        title=Text("Orders thanked within {days}, by month of the order", days=days(within)),
        x_label=Text("Month of the order"),
        y_label=Text("Orders thanked"),
        y_unit="share",
        reference=o.good,
        reference_label=Text("good"),
    )
    summary = Text(
        "{thanked} of {n} orders ({rate}) were followed by a thank-you within {days}",
        thanked=count(n_thanked),
        n=count(n),
        rate=share(value, 1),
        days=days(within),
    )
    med = df["hours"].median()
    if med == med and med < 1:
        summary += Text(", after a median {minutes} min", minutes=number(float(med) * 60, 0))
    elif med == med:
        summary += Text(", after a median {hours}", hours=hours(round(float(med), 1)))
    details = {
        "orders": n,
        "thanked": n_thanked,
        "unthanked": n - n_thanked,
        "median_hours": None if med != med else float(med),
    }
    known = tables["orders"].filter(lambda t: t.customer_id.notnull()).count().to_pandas()
    windows.judged_on(details, tables, within, n, int(known))  # orders of the last day(s) are left out
    return Evidence(value=value, table=table, chart=chart, details=details, summary=summary + ".")


# --- offers that match what customers came for -----------------------------------------------------

MATCHING, NOT_MATCHING, NO_HISTORY = "matches their interest", "does not match", "no viewing history"


_MOST_VIEWED = dt.Struct({"fewer": dt.int64, "category": dt.string})


@ibis.udf.agg.builtin(name="min")
def _most_viewed(arg: _MOST_VIEWED) -> _MOST_VIEWED:
    """DuckDB: the smallest struct, field by field: the most views (fewest negated), the first category on a tie."""


def _top_category(tables: Tables, per):
    """Each customer's most viewed category (of two viewed as often, the first in byte order): vcust,
    top_category. One group-by on DuckDB (sessions.AGGREGATE_BACKENDS), a window ranking elsewhere."""
    if tables.con.name in AGGREGATE_BACKENDS:
        top = per.group_by("customer_id").aggregate(
            _m=_most_viewed(ibis.struct({"fewer": -per.views, "category": per.category}))
        )
        return top.select(vcust=top.customer_id, top_category=top._m["category"])
    w = ibis.window(group_by=per.customer_id, order_by=[ibis.desc(per.views), per.category])
    top = per.mutate(_rn=ibis.row_number().over(w))
    return top.filter(top._rn == 0).select(vcust=top.customer_id, top_category=top.category)


class RelevanceOptions(Options):
    """Relevance: tunables beside the control points."""

    order_days: int = 7
    min_offers: int = 200
    click_order: float = rate(
        0.05,
        "share of the extra offer clicks that are extra orders, not orders the customer would place anyway",
        WORKBOOK,
        "default",
    )


@check(
    id="conversion.relevance",
    stage="conversion",
    title="Offers match what customers came for",
    failure_title="Most offers do not match what customers came for",
    needs=(
        "events.category&event_type=product_view",
        "events.customer_id",
        "messages.category&message_type=promo",
    ),
    better="higher",
    good=0.6,
    poor=0.35,
    unit="share",
    source="Workbook default (no published benchmark for the share): most offers (60 %) should be for the "
    "category a customer looks at most, fewer than about one in three is poor; for the click rates "
    "shown, Klaviyo's campaign bands call a click rate above 1.2 % healthy and below 0.8 % in need of "
    "attention",
    description="Share of promotional messages whose product category is the category the customer viewed "
    "most, and how often matching and non-matching offers are clicked.",
    advice=(
        "Know your customers well: look at what they view and buy before deciding what to offer them; "
        "someone who came for shoes should not be offered a book.",
        "Segment promotions by each customer's main category of interest and send the matching offer instead "
        "of the same offer to everyone.",
        "Ask for opinions or run surveys to learn preferences the data does not show.",
    ),
    columns={
        "offer": N_("Offer"),
        "click_rate": N_("Click rate"),
        "click_to_open": N_("Clicks per open"),
    },
    options=RelevanceOptions,
)
def relevance(tables: Tables, o: RelevanceOptions) -> Evidence:
    windows.require(tables, int(o.order_days), "order_days")
    ev = tables["events"]
    v = ev.filter((ev.event_type == "product_view") & ev.customer_id.notnull() & ev.category.notnull())
    per = v.group_by(["customer_id", "category"]).aggregate(views=v.count())
    top = _top_category(tables, per)
    m = tables["messages"]
    pr = m.filter((m.message_type == "promo") & m.category.notnull())
    j = pr.left_join(top, pr.customer_id == top.vcust)
    group = ibis.cases(
        (j.top_category.isnull(), NO_HISTORY), (j.category == j.top_category, MATCHING), else_=NOT_MATCHING
    )
    j = j.mutate(offer=group)
    by = (
        j.group_by("offer")
        .aggregate(messages=j.count(), opened=j.opened_at.notnull().sum(), clicked=j.clicked_at.notnull().sum())
        .to_pandas()
    )
    by = by.set_index("offer").reindex([MATCHING, NOT_MATCHING, NO_HISTORY]).fillna(0).astype("int64").reset_index()
    judged = int(by.loc[by["offer"] != NO_HISTORY, "messages"].sum())
    if judged < o.min_offers:
        raise NotEnoughData(
            Text(
                "needs at least {min} promotional messages with a category, to customers whose "
                "product views show an interest; found {found}",
                min=count(o.min_offers),
                found=count(judged),
            )
        )
    n_match = int(by.loc[by["offer"] == MATCHING, "messages"].iloc[0])
    value = n_match / judged
    by["share"] = by["messages"] / judged
    by.loc[by["offer"] == NO_HISTORY, "share"] = float("nan")
    by["click_rate"] = by["messages"].pipe(lambda s: by["clicked"] / s.where(s > 0))
    by["click_to_open"] = by["clicked"] / by["opened"].where(by["opened"] > 0)
    table = by[["offer", "messages", "share", "click_rate", "click_to_open"]]
    rates = table.set_index("offer")["click_rate"]
    c_match, c_not = rates[MATCHING], rates[NOT_MATCHING]

    # Money: the clicks non-matching offers would have drawn at the matching click rate, times the share of
    # promo clicks followed by an order within `order_days`, times the average order value.
    at_stake = method = None
    aov = average_order_value(tables)
    n_not = max(0.0, o.good - value) * judged  # non-matching offers beyond the good share
    if aov and tables.has("orders") and c_match == c_match and c_not == c_not:
        clicks = pr.filter(pr.clicked_at.notnull()).select(
            mid=pr.message_id, ccust=pr.customer_id, clicked_at=pr.clicked_at
        )
        od = tables["orders"]
        cj = clicks.join(
            od,
            [
                clicks.ccust == od.customer_id,
                od.order_time >= clicks.clicked_at,
                od.order_time <= clicks.clicked_at + ibis.interval(days=int(o.order_days)),
            ],
            how="left",
        )
        ordered = cj.group_by("mid").aggregate(o=cj.order_id.count())
        row = ordered.aggregate(n=ordered.count(), buy=(ordered.o > 0).sum()).to_pandas().iloc[0]
        buy_rate = float(row["buy"]) / float(row["n"]) if row["n"] else 0.0
        extra = max(0.0, float(c_match) - float(c_not)) * n_not
        at_stake = extra * min(buy_rate, o.click_order) * aov
        method = Text(
            "offers that would match at a {good} matching share ({n}) × how much more often matching offers are "
            "clicked ({gap}) × the share of the extra clicks that are extra orders ({rate}; {buy} of offer clicks "
            "here are followed by an order within {days}, the lower of the two is used) × average order value "
            "({aov}), over the period analysed",
            rate=cite(o, "click_order"),
            good=share(o.good, 0),
            n=count(n_not),
            gap=share(max(0.0, float(c_match) - float(c_not)), 2),
            days=days(int(o.order_days)),
            buy=share(buy_rate, 1),
            aov=money(aov, 2),
        )
    chart = Chart(
        kind="bar",
        data=table[table["messages"] > 0],
        x="offer",
        y="click_rate",
        title=Text("Promotional messages clicked, by whether the offer matches the category the customer viewed most"),
        x_label=Text("Offer"),
        y_label=Text("Messages clicked"),
        y_unit="share",
    )
    summary = Text(
        "{n} of {total} offers ({rate}) were for the category the customer viewed most",
        n=count(n_match),
        total=count(judged),
        rate=share(value, 1),
    )
    if c_match == c_match and c_not == c_not:
        summary += Text(
            "; matching offers were clicked {match} of the time, the others {other}",
            match=share(c_match, 1),
            other=share(c_not, 1),
        )
    return Evidence(
        value=value,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details={
            "offers": judged,
            "matching": n_match,
            "click_rate_matching": None if c_match != c_match else float(c_match),
            "click_rate_not_matching": None if c_not != c_not else float(c_not),
        },
        summary=summary + ".",
    )
