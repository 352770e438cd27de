"""Win-back: who is slipping away, who is worth winning back, and when to stop?"""

from __future__ import annotations

import pandas as pd

from ..engine import Tables
from ..i18n import N_, Text, count, days, money, number, share
from ..metrics import churn
from ..metrics.orders import average_order_value
from ..privacy import pseudonymise_frame
from .base import Chart, Evidence, NotEnoughData, Options, check

TOP_ROWS = 20  # customers listed in an evidence table

# Reasons a customer should not get win-back messages (winback.suppression), as the report names them.
DEFAULTED, BAD_REVIEW, BOTH = "did not pay", "bad review", "both"


def _winbacks(tables, channel: str | None = None) -> pd.DataFrame:
    """Win-back messages (customer_id, channel, sent_at) as a small pandas frame."""
    m = tables["messages"]
    m = m.filter((m.message_type == "winback") & m.customer_id.notnull())
    if channel:
        m = m.filter(m.channel == channel)
    df = m.select("customer_id", "channel", "sent_at").to_pandas()
    df["customer_id"] = df["customer_id"].astype(str)
    return df


def _contacted_after(last: pd.Series, msgs: pd.DataFrame) -> pd.Series:
    """Per customer of `last` (customer_id -> last order time): was any of `msgs` sent after it?"""
    got = msgs.assign(last=msgs["customer_id"].map(last))
    got = got[got["sent_at"] > got["last"]]
    return pd.Series(last.index.isin(got["customer_id"].unique()), index=last.index)


class ChurnRiskOptions(Options):
    """Churn risk: tunables beside the control points."""

    lapsed_from_days: int = 100
    lapsed_to_days: int = 400
    min_orders: int = 2
    min_lapsed: int = 20
    min_buyers: int = churn.PREREQUISITES["min_buyers"]
    min_history_days: int = churn.PREREQUISITES["min_history_days"]
    min_orders_last_30_days: int = churn.PREREQUISITES["min_orders_last_30_days"]
    min_three_order_customers: int = churn.PREREQUISITES["min_three_order_customers"]


@check(
    id="winback.churn_risk",
    stage="winback",
    title="Valuable customers slipping away are noticed",
    failure_title="Valuable customers slip away without a win-back message",
    needs=("orders", "messages"),
    better="higher",
    good=0.8,
    poor=0.4,
    unit="share",
    source="Workbook default: four in five lapsing repeat customers reached by a win-back message is good, "
    "fewer than two in five is poor (no published benchmark for this share). The lifetime model runs "
    "only on data meeting Klaviyo's prerequisites for predictive lifetime value: at least 500 customers "
    "with orders, 180 days of order history, orders in the last 30 days and some customers with three "
    "or more orders",
    description="Share of repeat customers (two or more orders, e-mail opt-in where known) whose last order "
    "was 100 to 400 days ago and who were sent a win-back message after it; a BG/NBD model fitted "
    "on the shop's orders gives each customer's probability of still being active, and a "
    "Gamma-Gamma model the revenue at risk.",
    advice=(
        "Set up a win-back flow that starts automatically when a customer has not ordered for longer than "
        "usual, and let it cover repeat customers, not only one-time buyers.",
        "Review the customers with the lowest probability of still being active and the most revenue at "
        "risk every month, and contact them personally first.",
        "Ask the customers you cannot win back why they stopped buying: their answers help improve "
        "everything from acquisition to the after-sales phase.",
    ),
    columns={
        "p_alive": N_("Probability still active"),
        "expected_value": N_("Expected order value"),
        "revenue_at_risk": N_("Revenue at risk"),
        "probability_alive": N_("Probability still active"),
        "contacted": N_("Sent a win-back"),
        "contacted_share": N_("Share sent a win-back"),
    },
    options=ChurnRiskOptions,
)
def churn_risk(tables: Tables, o: ChurnRiskOptions) -> Evidence:
    pre = churn.prerequisites(tables)
    if not churn.lifetime_ready(tables, {k: getattr(o, k) for k in churn.PREREQUISITES}):
        raise NotEnoughData(
            Text(
                "a lifetime model needs at least {buyers} customers with orders, {history} of order history, "
                "{three} customers with three or more orders and at least {recent} orders in the last 30 days "
                "(Klaviyo's prerequisites); found {f_buyers}, {f_history}, {f_three} and {f_recent}",
                buyers=count(o.min_buyers),
                history=days(o.min_history_days),
                recent=count(o.min_orders_last_30_days),
                three=count(o.min_three_order_customers),
                f_buyers=count(pre["customers_with_orders"]),
                f_history=days(pre["history_days"]),
                f_recent=count(pre["orders_last_30_days"]),
                f_three=count(pre["customers_3_plus_orders"]),
            )
        )
    lo, hi = o.lapsed_from_days, o.lapsed_to_days
    lap = churn.lapsed(tables, lo, hi)
    lap = lap[lap["orders"] >= o.min_orders]
    reachable = churn.opted_in(tables)
    if reachable is not None:
        lap = lap[lap.index.isin(reachable)]
    if len(lap) < o.min_lapsed:
        raise NotEnoughData(
            Text(
                "needs at least {min} repeat customers whose last order was {lo} to {hi} days ago; found {found}",
                min=count(o.min_lapsed),
                lo=count(lo),
                hi=count(hi),
                found=count(len(lap)),
            )
        )
    fit = churn.lifetime_fit(tables)
    lap = lap.join(fit.customers)
    lap["contacted"] = _contacted_after(lap["last_order"], _winbacks(tables))
    rate = float(lap["contacted"].mean())
    missed = lap[~lap["contacted"]]
    at_stake = float(missed["revenue_at_risk"].sum())
    method = Text(
        "for each of the {n} lapsing repeat customers sent no win-back: (1 − probability still active, "
        "BG/NBD) × purchases expected in the next 12 months if still active (BG/NBD) × expected order "
        "value (Gamma-Gamma); the revenue the shop loses over a year if they have gone",
        n=count(len(missed)),
    )
    lap["alive_band"] = churn.alive_band(lap["p_alive"])
    by_band = (
        lap.groupby("alive_band", observed=False)
        .agg(customers=("contacted", "size"), contacted=("contacted", "sum"))
        .reset_index()
    )
    by_band["contacted_share"] = by_band["contacted"] / by_band["customers"].where(by_band["customers"] > 0)
    by_band = by_band.rename(columns={"alive_band": "probability_alive"})
    by_band["probability_alive"] = by_band["probability_alive"].astype(str)
    chart = Chart(
        kind="bar",
        data=by_band,
        x="probability_alive",
        y="contacted_share",
        title=Text("Lapsing repeat customers sent a win-back, by probability of still being active"),
        x_label=Text("Probability still active (BG/NBD)"),
        y_label=Text("Sent a win-back message"),
        y_unit="share",
        reference=o.good,
        reference_label=Text("good"),
    )
    top = (
        missed.sort_index().sort_values("revenue_at_risk", ascending=False, kind="stable").head(TOP_ROWS).reset_index()
    )
    table = pd.DataFrame(
        {
            "customer_id": top["customer_id"],
            "orders": top["orders"].astype(int),
            "days_since_last_order": top["days_since_last_order"].round().astype(int),
            "p_alive": top["p_alive"],
            "expected_value": top["expected_value"],
            "revenue_at_risk": top["revenue_at_risk"],
        }
    )
    table = pseudonymise_frame(table)
    all_risk = float(fit.customers["revenue_at_risk"].sum())
    details = {
        "lapsed_repeat_customers": int(len(lap)),
        "contacted": int(lap["contacted"].sum()),
        "not_contacted": int(len(missed)),
        "median_p_alive_not_contacted": float(missed["p_alive"].median()) if len(missed) else None,
        "revenue_at_risk_all_customers": all_risk,
        "fit_seconds": round(fit.fit_seconds, 3),
        "model_params": fit.params,
        "prerequisites": pre,
    }
    summary = Text(
        "{n} of {total} repeat customers whose last order was {lo} to {hi} days ago were sent a win-back "
        "message ({rate}); the {missed} others hold {risk} of revenue at risk.",
        n=count(lap["contacted"].sum()),
        total=count(len(lap)),
        rate=share(rate, 0),
        lo=count(lo),
        hi=count(hi),
        missed=count(len(missed)),
        risk=money(at_stake, 0),
    )
    return Evidence(
        value=rate,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details=details,
        summary=summary,
    )


def _winbacks_with_age(tables) -> pd.DataFrame:
    """Every win-back message with the days since the customer's previous order and whether the customer
    ordered again within the reactivation window (added by the caller)."""
    wb = _winbacks(tables).sort_values("sent_at")
    od = tables["orders"]
    od = od.filter(od.customer_id.notnull()).select("customer_id", "order_time").to_pandas()
    od["customer_id"] = od["customer_id"].astype(str)
    od = od.sort_values("order_time")
    prev = pd.merge_asof(
        wb,
        od.rename(columns={"order_time": "previous_order"}),
        left_on="sent_at",
        right_on="previous_order",
        by="customer_id",
        direction="backward",
    )
    nxt = pd.merge_asof(
        wb,
        od.rename(columns={"order_time": "next_order"}),
        left_on="sent_at",
        right_on="next_order",
        by="customer_id",
        direction="forward",
    )
    prev["next_order"] = nxt["next_order"].to_numpy()
    prev["days_since"] = (prev["sent_at"] - prev["previous_order"]).dt.total_seconds() / 86400
    return prev


CUTOFF_BANDS = tuple(zip((-1, 90, 180, 365), (90, 180, 365, float("inf")), churn.AGE_BANDS, strict=False))


class RecontactCutoffOptions(Options):
    """Recontact cutoff: tunables beside the control points."""

    cutoff_days: int = 180
    reactivation_days: int = 30
    min_messages: int = 50


@check(
    id="winback.recontact_cutoff",
    stage="winback",
    title="Re-contacting stops when it no longer pays",
    failure_title="Win-back messages go on long after customers stopped buying",
    needs=("orders", "messages"),
    better="lower",
    good=0.02,
    poor=0.1,
    unit="share",
    source="Klaviyo Help Center: a sunset flow stops e-mailing the inactive after about 3 months of inactivity "
    "for daily senders, 6 months for monthly senders; the workbook cuts off at 180 days and holds 2 % of "
    "win-back messages beyond it as good, 10 % as poor",
    description="Share of win-back messages sent more than 180 days after the customer's previous order, and the "
    "reactivation rate (an order within 30 days of the message) by time since the last order.",
    advice=(
        "Decide from your own reactivation rates when re-contacting no longer pays, and end the win-back flow "
        "there: a sunset after about three to six months without an order.",
        "Move customers past the cut-off into a sunset segment: a last message asking whether they still want "
        "to hear from you, then stop.",
        "Ask the customers who do not come back for qualitative feedback on why they stopped buying.",
    ),
    columns={
        "reactivation_rate": N_("Reactivation rate"),
    },
    options=RecontactCutoffOptions,
)
def recontact_cutoff(tables: Tables, o: RecontactCutoffOptions) -> Evidence:
    wb = _winbacks_with_age(tables)
    wb = wb[wb["previous_order"].notna()]
    if len(wb) < o.min_messages:
        raise NotEnoughData(
            Text(
                "needs at least {min} win-back messages sent after an order; found {found}",
                min=count(o.min_messages),
                found=count(len(wb)),
            )
        )
    cutoff, window = float(o.cutoff_days), float(o.reactivation_days)
    end = churn.end_of(tables)
    wb["reactivated"] = (wb["next_order"] - wb["sent_at"]) <= pd.Timedelta(days=window)
    judged = wb["sent_at"] <= end - pd.Timedelta(days=window)  # the window has passed
    late = wb["days_since"] > cutoff
    rate = float(late.mean())
    rows = []
    for lo, hi, label in CUTOFF_BANDS:
        sel = (wb["days_since"] > lo) & (wb["days_since"] <= hi)
        j = sel & judged
        rows.append(
            {
                "since_last_order": label,
                "messages": int(sel.sum()),
                "customers": int(wb.loc[sel, "customer_id"].nunique()),
                "reactivation_rate": float(wb.loc[j, "reactivated"].mean()) if j.any() else None,
            }
        )
    table = pd.DataFrame(rows)
    chart = Chart(
        kind="bar",
        data=table,
        x="since_last_order",
        y="reactivation_rate",
        title=Text(
            "Customers ordering within {days} days of a win-back message, by time since their last order",
            days=count(window),
        ),
        x_label=Text("Time since the last order when the message was sent"),
        y_label=Text("Reactivated"),
        y_unit="share",
    )
    before = wb[~late & judged]
    after = wb[late & judged]
    details = {
        "messages": int(len(wb)),
        "beyond_cutoff": int(late.sum()),
        "cutoff_days": cutoff,
        "reactivation_before_cutoff": float(before["reactivated"].mean()) if len(before) else None,
        "reactivation_beyond_cutoff": float(after["reactivated"].mean()) if len(after) else None,
        "customers_beyond_cutoff": int(wb.loc[late, "customer_id"].nunique()),
    }
    summary = Text(
        "{n} of {total} win-back messages ({rate}) were sent more than {cutoff} days after the customer's last order.",
        n=count(late.sum()),
        total=count(len(wb)),
        rate=share(rate, 0),
        cutoff=count(cutoff),
    )
    if len(before) and len(after):
        summary = Text(
            "{a} Within {window} days, {before} of customers contacted before the cut-off ordered "
            "again, {after} of those contacted after it.",
            a=summary,
            window=count(window),
            before=share(details["reactivation_before_cutoff"], 1),
            after=share(details["reactivation_beyond_cutoff"], 1),
        )
    return Evidence(value=rate, table=table, chart=chart, details=details, summary=summary)


class SuppressionOptions(Options):
    """Suppression: tunables beside the control points."""

    bad_rating: int = 2
    min_messages: int = 50


@check(
    id="winback.suppression",
    stage="winback",
    title="Customers who left bad reviews or did not pay are not chased",
    failure_title="Win-back messages go to customers who left bad reviews or did not pay",
    needs=("reviews", "customers", "messages"),
    better="lower",
    good=0.5,
    poor=5,
    unit="count",
    source="Workbook default, no published benchmark: any such message is a finding (the source article: "
    "customers who left bad reviews or did not pay are not to be re-contacted); half a message per 1,000 "
    "win-back messages is good, 5 per 1,000 is poor",
    description="Win-back messages per 1,000 sent to customers marked as not having paid (payment default) or "
    "who had left a review of 1 or 2 stars before the message.",
    advice=(
        "Exclude customers who did not pay from every win-back flow and campaign: a suppression list kept in "
        "sync with your payment data.",
        "Exclude customers who left a bad review (1 or 2 stars) too: there is no point annoying them further; "
        "answer their review and solve the problem instead.",
        "Check the exclusions of each win-back flow after every change to it.",
    ),
    columns={
        "reason": N_("Reason"),
    },
    options=SuppressionOptions,
)
def suppression(tables: Tables, o: SuppressionOptions) -> Evidence:
    wb = _winbacks(tables)
    if len(wb) < o.min_messages:
        raise NotEnoughData(
            Text(
                "needs at least {min} win-back messages; found {found}", min=count(o.min_messages), found=count(len(wb))
            )
        )
    cu = tables["customers"]
    defaulted = set()
    if "payment_default" in cu.columns:
        ids = cu.filter(cu.payment_default.fill_null(False)).select("customer_id").to_pandas()["customer_id"]
        defaulted = set(ids.astype(str))
    rv = tables["reviews"]
    rv = rv.filter((rv.rating <= o.bad_rating) & rv.customer_id.notnull())
    bad = rv.group_by("customer_id").aggregate(first_bad=rv.created_at.min()).to_pandas()
    first_bad = dict(zip(bad["customer_id"].astype(str), bad["first_bad"], strict=False))
    wb["defaulted"] = wb["customer_id"].isin(defaulted)
    # A plain dict: pandas 3 cannot map onto a datetime Series when some customers have no bad review.
    first_bad_at = pd.to_datetime(wb["customer_id"].astype(str).map(first_bad), errors="coerce")
    wb["bad_review"] = first_bad_at.notna() & (wb["sent_at"] > first_bad_at)
    flagged = wb[wb["defaulted"] | wb["bad_review"]].copy()
    per_1000 = 1000 * len(flagged) / len(wb)
    flagged["reason"] = BOTH
    flagged.loc[~flagged["bad_review"], "reason"] = DEFAULTED
    flagged.loc[~flagged["defaulted"], "reason"] = BAD_REVIEW
    reasons = pd.DataFrame({"reason": [DEFAULTED, BAD_REVIEW, BOTH]})
    agg = flagged.groupby("reason").agg(customers=("customer_id", "nunique"), messages=("sent_at", "size"))
    by_reason = reasons.join(agg, on="reason").fillna(0)
    by_reason[["customers", "messages"]] = by_reason[["customers", "messages"]].astype(int)
    chart = Chart(
        kind="bar",
        data=by_reason,
        x="reason",
        y="messages",
        title=Text("Win-back messages to customers who should have been left alone, by reason"),
        x_label=Text("Reason to leave the customer alone"),
        y_label=Text("Win-back messages"),
        y_unit="count",
    )
    per = flagged.groupby(["customer_id", "reason"]).agg(messages=("sent_at", "size"), last_sent=("sent_at", "max"))
    per = (
        per.sort_index()
        .reset_index()
        .sort_values(["messages", "last_sent"], ascending=False, kind="stable")
        .head(TOP_ROWS)
    )
    table = pseudonymise_frame(per[["customer_id", "reason", "messages"]].reset_index(drop=True))
    if table.empty:
        table = by_reason
    details = {
        "winback_messages": int(len(wb)),
        "to_suppressed": int(len(flagged)),
        "customers": int(flagged["customer_id"].nunique()),
        "to_defaulted": int(flagged["defaulted"].sum()),
        "to_bad_reviewers": int(flagged["bad_review"].sum()),
        "by_reason": by_reason.to_dict("records"),
    }
    summary = Text(
        "{n} of {total} win-back messages ({rate} per 1,000) went to {customers} customers who had not "
        "paid or had left a review of {rating} stars or fewer.",
        n=count(len(flagged)),
        total=count(len(wb)),
        rate=number(per_1000, 1),
        customers=count(details["customers"]),
        rating=count(o.bad_rating),
    )
    return Evidence(value=per_1000, table=table, chart=chart, details=details, summary=summary)


class ChannelFallbackOptions(Options):
    """Channel fallback: tunables beside the control points."""

    lapsed_from_days: int = 100
    lapsed_to_days: int = 400
    min_customers: int = 20
    reactivation_days: int = 90


@check(
    id="winback.channel_fallback",
    stage="winback",
    title="Lapsed customers are reached on another channel when e-mail fails",
    failure_title="Lapsed customers unreachable by e-mail are never tried on another channel",
    needs=("orders", "customers", "messages"),
    better="higher",
    good=0.8,
    poor=0.3,
    unit="share",
    source="Workbook default, no published benchmark: four in five lapsed customers whose e-mail no longer works "
    "and who gave a postal address (or another channel) contacted there is good, fewer than one in three "
    "is poor; the source article recommends a postal mailing when e-mail no longer works",
    description="Of customers whose last order was 100 to 400 days ago, whose e-mail is dead (no opt-in, "
    "unsubscribed or bounced) and who have another channel (a postal address, or SMS or push "
    "used before), the share contacted on that channel after their last order.",
    advice=(
        "When a lapsed customer cannot be reached by e-mail any more, send the win-back by post to the "
        "address they gave with their order.",
        "Use the other channels you already have (SMS, push) for customers who have agreed to them.",
        "Compare the reactivation of the postal win-back with its cost per customer to decide how far back it pays.",
    ),
    columns={
        "tried": N_("Contacted on another channel"),
        "tried_share": N_("Share contacted on another channel"),
    },
    options=ChannelFallbackOptions,
)
def channel_fallback(tables: Tables, o: ChannelFallbackOptions) -> Evidence:
    lo, hi = o.lapsed_from_days, o.lapsed_to_days
    lap = churn.lapsed(tables, lo, hi)
    m = tables["messages"]
    m = m.filter(m.customer_id.notnull())
    email = m.filter(m.channel == "email")
    dead_by = email.unsubscribed_at.notnull()
    if "bounced" in email.columns:
        dead_by = dead_by | email.bounced.fill_null(False)
    dead_ids = set(email.filter(dead_by).select("customer_id").distinct().to_pandas()["customer_id"].astype(str))
    optin = churn.opted_in(tables)
    dead = lap.index.isin(dead_ids) | (~lap.index.isin(optin) if optin is not None else False)
    # an e-mail win-back that reached the customer after the last order: e-mail still worked for them
    wb_mail = _winbacks(tables, "email")
    dead &= ~_contacted_after(lap["last_order"], wb_mail).to_numpy()
    cu = tables["customers"]
    postal = set()
    if "has_postal_address" in cu.columns:
        ids = cu.filter(cu.has_postal_address.fill_null(False)).select("customer_id").to_pandas()["customer_id"]
        postal = set(ids.astype(str))
    other = m.filter(m.channel.isin(("postal", "sms", "push")))
    other = other.select("customer_id", "channel", "sent_at", "message_type").to_pandas()
    other["customer_id"] = other["customer_id"].astype(str)
    used_before = set(other.loc[other["channel"].isin(("sms", "push")), "customer_id"])
    target = lap[dead & (lap.index.isin(postal) | lap.index.isin(used_before))]
    if len(target) < o.min_customers:
        raise NotEnoughData(
            Text(
                "needs at least {min} customers whose last order was {lo} to {hi} days ago, whose "
                "e-mail no longer works and who have another channel; found {found}",
                min=count(o.min_customers),
                lo=count(lo),
                hi=count(hi),
                found=count(len(target)),
            )
        )
    marketing = other[~other["message_type"].isin(("transactional", "thank_you"))]
    tried = _contacted_after(target["last_order"], marketing)
    rate = float(tried.mean())
    target = target.assign(tried=tried, age=churn.age_band(target["days_since_last_order"]))
    by_age = target.groupby("age", observed=False).agg(customers=("tried", "size"), tried=("tried", "sum"))
    by_age = by_age.reset_index().rename(columns={"age": "since_last_order"})
    by_age["since_last_order"] = by_age["since_last_order"].astype(str)
    by_age = by_age[by_age["customers"] > 0].reset_index(drop=True)
    by_age["tried_share"] = by_age["tried"] / by_age["customers"]
    chart = Chart(
        kind="bar",
        data=by_age,
        x="since_last_order",
        y="tried_share",
        title=Text(
            "Lapsed customers without working e-mail contacted on another channel, by time since their last order"
        ),
        x_label=Text("Time since the last order"),
        y_label=Text("Contacted on another channel"),
        y_unit="share",
        reference=o.good,
        reference_label=Text("good"),
    )
    missed = target[~target["tried"]]
    value = missed["revenue"] / missed["orders"]
    top = (
        missed.assign(order_value=value)
        .sort_index()
        .sort_values("revenue", ascending=False, kind="stable")
        .head(TOP_ROWS)
        .reset_index()
    )
    table = pseudonymise_frame(
        pd.DataFrame(
            {
                "customer_id": top["customer_id"],
                "orders": top["orders"].astype(int),
                "days_since_last_order": top["days_since_last_order"].round().astype(int),
                "revenue": top["revenue"],
            }
        )
    )
    aov = average_order_value(tables)
    at_stake = method = None
    fallback = marketing[marketing["message_type"] == "winback"]
    on_other = len(fallback) >= o.min_customers
    if not on_other:  # nothing sent on other channels to learn from: the shop's e-mail win-backs stand in
        fallback = _winbacks(tables, "email")
    came_back = _reactivation(tables, fallback, o.reactivation_days) if len(fallback) >= o.min_customers else None
    if aov and came_back is not None:
        at_stake = len(missed) * came_back * aov
        which = (
            Text("win-backs on other channels")
            if on_other
            else Text("e-mail win-backs (none were sent on other channels)")
        )
        method = Text(
            "{n} lapsed customers never tried on another channel × the share of {which} followed by an "
            "order within {days} days here ({rate}) × average order value ({aov})",
            n=count(len(missed)),
            which=which,
            days=count(o.reactivation_days),
            rate=share(came_back, 1),
            aov=money(aov, 2),
        )
    details = {
        "customers": int(len(target)),
        "tried": int(tried.sum()),
        "not_tried": int(len(missed)),
        "with_postal_address": int(target.index.isin(postal).sum()),
        "reactivation_other_channels": came_back,
    }
    summary = Text(
        "{n} of {total} customers whose last order was {lo} to {hi} days ago, whose e-mail no longer "
        "works and who have another channel were contacted on it ({rate}).",
        n=count(tried.sum()),
        total=count(len(target)),
        lo=count(lo),
        hi=count(hi),
        rate=share(rate, 0),
    )
    return Evidence(
        value=rate,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details=details,
        summary=summary,
    )


def _reactivation(tables, msgs: pd.DataFrame, window_days: float) -> float | None:
    """Share of `msgs` (customer_id, sent_at) followed by an order of the customer within `window_days`,
    counting only messages whose window has passed."""
    end = churn.end_of(tables)
    msgs = msgs[msgs["sent_at"] <= end - pd.Timedelta(days=window_days)].sort_values("sent_at")
    if msgs.empty:
        return None
    od = tables["orders"]
    od = od.filter(od.customer_id.notnull()).select("customer_id", "order_time").to_pandas()
    od["customer_id"] = od["customer_id"].astype(str)
    nxt = pd.merge_asof(
        msgs[["customer_id", "sent_at"]],
        od.sort_values("order_time"),
        left_on="sent_at",
        right_on="order_time",
        by="customer_id",
        direction="forward",
    )
    return float(((nxt["order_time"] - nxt["sent_at"]) <= pd.Timedelta(days=window_days)).mean())
