"""Retention: support that answers fast, and unhappy customers followed up."""

from __future__ import annotations

import pandas as pd

from ...engine import Tables
from ...i18n import N_, Text, count, hours, money, number, share
from ...metrics import support as _support
from ...metrics.orders import revenue_per_customer_year
from .. import windows
from ..base import Chart, Evidence, NotEnoughData, Options, check

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
    needs=("tickets.first_response_at",),
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
        raise NotEnoughData(
            Text(
                "needs at least {min} answered support tickets to judge; found {found}",
                min=count(o.min_tickets),
                found=count(int(answered.sum())),
            )
        )
    median = float(df.loc[answered, "response_hours"].median())
    resolution = df["resolution_hours"].median()
    handoffs = df["handoffs"].mean()
    # A bad ticket: no answer, an answer slower than the poor control point, or passed on `bad_handoffs` times.
    bad = df["response_hours"].isna() | (df["response_hours"] > o.poor) | (df["handoffs"] >= o.bad_handoffs)
    df = df.assign(bad=bad)
    table = (
        df.groupby("response_group", observed=False)
        .agg(
            tickets=("ticket_id", "size"),
            median_resolution_hours=("resolution_hours", "median"),
            mean_handoffs=("handoffs", "mean"),
            mean_csat=("csat", "mean"),
            churn_rate=("churned", "mean"),
        )
        .reset_index()
        .rename(columns={"response_group": "first_response"})
    )
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
    details = {
        "tickets": len(df),
        "answered": int(answered.sum()),
        "median_response_hours": median,
        "median_resolution_hours": None if pd.isna(resolution) else float(resolution),
        "mean_handoffs": None if pd.isna(handoffs) else float(handoffs),
        "bad_tickets": int(bad.sum()),
        "bad_share": float(bad.mean()),
        "churn_after_bad": churn_bad,
        "churn_after_good": churn_good,
        "judged_bad": len(jb),
        "judged_good": len(jg),
    }
    summary = Text(
        "{n} support tickets were first answered after a median {median}",
        n=count(len(df)),
        median=hours(round(median, 1)),
    )
    if not pd.isna(resolution):
        summary += Text(" and resolved after a median {resolution}", resolution=hours(round(float(resolution), 1)))
    if not pd.isna(handoffs):
        summary += Text("; a ticket was passed on {handoffs} times on average", handoffs=number(float(handoffs), 2))
    summary += Text(
        "; {bad} of them ({share}) were slow, unanswered or passed on repeatedly",
        bad=count(int(bad.sum())),
        share=share(float(bad.mean()), 0),
    )
    at_stake = method = None
    if len(jb) >= o.min_group and len(jg) >= o.min_group:
        summary += Text(
            "; {bad} of customers stopped ordering for {days} days after such a ticket, {good} after a good one",
            bad=share(churn_bad, 0),
            good=share(churn_good, 0),
            days=count(o.churn_days),
        )
        value = revenue_per_customer_year(tables)
        excess = churn_bad - churn_good
        customers = int(df.loc[df["bad"], "customer_id"].nunique())
        if value and excess > 0:
            at_stake = customers * excess * value
            method = Text(
                "customers with a bad ticket ({n}) × how many more of them stopped ordering than after a "
                "good ticket ({excess}) × revenue per customer per year ({value})",
                n=count(customers),
                excess=share(excess, 1),
                value=money(value, 2),
            )
    chart = Chart(
        kind="bar",
        data=table,
        x="first_response",
        y="tickets",
        title=Text("Support tickets by time to the first response"),
        x_label=Text("First response"),
        y_label=Text("Tickets"),
        y_unit="count",
    )
    return Evidence(
        value=median,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details=details,
        summary=summary + ".",
    )


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
    needs=("surveys.score", "surveys.responded_at", "tickets"),
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
    windows.require(tables, int(o.follow_days), "follow_days")
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
        raise NotEnoughData(
            Text(
                "needs at least {min} low survey answers (NPS 0–6 or CSAT 1–2) to judge; found {found}",
                min=count(o.min_low_scores),
                found=count(len(judged)),
            )
        )
    rate = float(judged["followed_up"].mean())
    agg = dict(
        low_scores=("survey_id", "size"),
        followed_up=("followed_up", "sum"),
        median_hours_to_follow_up=("hours_to_follow_up", "median"),
    )
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
    details = {
        "low_scores": len(judged),
        "followed_up": int(judged["followed_up"].sum()),
        "not_followed_up": missed,
        "scale": scale,
        "follow_days": days,
    }
    summary = Text(
        "{n} of {total} unhappy survey answers ({scale}) were followed by a contact with support within "
        "{days} days ({rate})",
        n=count(int(judged["followed_up"].sum())),
        total=count(len(judged)),
        scale=scale,
        days=count(days),
        rate=share(rate, 0),
    )
    if marketed:
        mk = int((judged["marketed"] & ~judged["followed_up"]).sum())
        details["marketed_not_followed_up"] = mk
        if missed:
            summary += Text(
                "; {mk} of the {missed} left alone got a marketing message in those days instead",
                mk=count(mk),
                missed=count(missed),
            )
    at_stake = method = None
    value = revenue_per_customer_year(tables)
    customers = int(judged.loc[~judged["followed_up"], "customer_id"].nunique())
    if value and customers:
        switch = 0.5
        at_stake = customers * switch * value
        method = Text(
            "unhappy customers nobody followed up ({n}) × the share who switch to a competitor after one "
            "bad experience ({switch}, Zendesk CX Trends 2020) × revenue per customer per year ({value}): "
            "an upper bound",
            n=count(customers),
            switch=share(switch, 0),
            value=money(value, 2),
        )
    chart = Chart(
        kind="bar",
        data=table,
        x="survey_score",
        y="follow_up_rate",
        title=Text("Low survey scores followed up by support within {days} days", days=count(days)),
        x_label=Text("Survey answer"),
        y_label=Text("Followed up"),
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
