"""Win-back: customers who should be left alone are, and lapsed ones are reached on another channel."""

from __future__ import annotations

import pandas as pd

from ...engine import Tables
from ...i18n import N_, Text, count, money, number, share
from ...metrics import churn
from ...metrics.orders import average_order_value
from ...privacy import pseudonymise_frame
from .. import windows
from ..base import KLAVIYO_FLOWS, Chart, Evidence, NotEnoughData, Options, check, cite, rate
from .common import OTHER_CHANNELS, TOP_ROWS, lapsed_contacts, winbacks

DEFAULTED, BAD_REVIEW, BOTH = "did not pay", "bad review", "both"


class SuppressionOptions(Options):
    """Suppression: tunables beside the control points."""

    bad_rating: int = 2
    min_messages: int = 50


@check(
    id="winback.suppression",
    stage="winback",
    title="Customers who left bad reviews or did not pay are not chased",
    failure_title="Win-back messages go to customers who left bad reviews or did not pay",
    needs=("messages.message_type=winback", "reviews", "customers"),
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
    wb = winbacks(tables)
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
    won_back: float = rate(
        0.0171,
        "share of lapsed customers a win-back brings back to order (median placed-order rate of e-mail "
        "flows, taken for other channels too)",
        KLAVIYO_FLOWS,
    )


@check(
    id="winback.channel_fallback",
    stage="winback",
    title="Lapsed customers are reached on another channel when e-mail fails",
    failure_title="Lapsed customers unreachable by e-mail are never tried on another channel",
    needs=("orders.customer_id", "customers", "messages.channel=email"),
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
    windows.require(tables, int(o.lapsed_from_days), "lapsed_from_days")
    lo, hi = o.lapsed_from_days, o.lapsed_to_days
    lap = churn.lapsed(tables, lo, hi)
    said = lapsed_contacts(tables, lo, hi).loc[lap.index]
    last = lap["last_order"]
    dead = said["email_dead"] | (~said["opted_in"] if "opted_in" in said else False)
    # an e-mail win-back that reached the customer after the last order: e-mail still worked for them
    dead &= ~(said["last_email_winback"] > last)
    postal = said["postal_address"]
    target = lap[(dead & (postal | said["sms_or_push"])).to_numpy()]
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
    tried = said.loc[target.index, "last_other_marketing"] > target["last_order"]
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
    fallback = winbacks(tables)
    fallback = fallback[fallback["channel"].isin(OTHER_CHANNELS)]
    on_other = len(fallback) >= o.min_customers
    if not on_other:  # nothing sent on other channels to learn from: the shop's e-mail win-backs stand in
        fallback = winbacks(tables, "email")
    came_back = _reactivation(tables, fallback, o.reactivation_days) if len(fallback) >= o.min_customers else None
    if aov and came_back is not None:
        at_stake = len(missed) * min(came_back, o.won_back) * aov
        which = (
            Text("win-backs on other channels")
            if on_other
            else Text("e-mail win-backs (none were sent on other channels)")
        )
        method = Text(
            "{n} lapsed customers never tried on another channel × the share of lapsed customers a win-back "
            "brings back to order ({won}; {rate} of {which} were followed by an order within {days} days here: "
            "the lower of the two is used) × average order value ({aov})",
            n=count(len(missed)),
            which=which,
            days=count(o.reactivation_days),
            rate=share(came_back, 1),
            won=cite(o, "won_back"),
            aov=money(aov, 2),
        )
    details = {
        "customers": int(len(target)),
        "tried": int(tried.sum()),
        "not_tried": int(len(missed)),
        "with_postal_address": int(postal.loc[target.index].sum()),
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
