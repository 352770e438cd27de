"""Retention: do the campaigns change what customers do? Lift over a control group held out at random.

Per tested campaign (campaign_members: treatment with its variant, or control) and variant: the share of customers
who visit and who order within `window_days` of the assignment, and their revenue, treated against control. The
difference of the order rates with Newcombe's hybrid score interval decides: a lift when the interval lies above
zero, no lift when it rules out a lift of `min_lift` or more, and too few customers to tell otherwise (a warning,
never a failure: an underpowered test proves nothing). The visit rate (Newcombe) and revenue per customer (seeded
bootstrap) are shown beside it (metrics.lift). Before a result is trusted, the groups' sizes are tested against the
planned split (sample-ratio mismatch) and the groups' orders in the `pre_days` before the assignment are compared
(balance).
"""

from __future__ import annotations

import math
import zlib

import ibis
import numpy as np
import pandas as pd

from ...engine import Tables
from ...i18n import N_, Text, count, money, share
from ...metrics import lift, presence
from ..base import WORKBOOK, Chart, Evidence, NotEnoughData, Options, check, cite, rate

LIFT, NO_LIFT, WORSE, TOO_SMALL, NO_CONTROL, UNMEASURED = (
    "lift",
    "no lift",
    "worse than another variant",
    "too few customers to tell",
    "no control group",
    "not measured",
)
UNSURE = "no lift shown, too few customers to rule one out"
SRM, IMBALANCE = "groups not in the planned split", "groups differed before the send"
ALL = "all"  # the variant of a campaign sent in one version
MIN_BUYERS = 5  # fewer buyers in a group: a bootstrap of its revenue cannot show the uncertainty (no interval)
Z999 = 3.2905  # two-sided 99.9 %: a difference chance does not explain (balance before the send, worse variants)


class CampaignIncrementalityOptions(Options):
    """Campaign incrementality: tunables beside the control points."""

    window_days: int = 14
    pre_days: int = 90
    min_control: int = 50
    min_lift: float = 0.02
    srm_p: float = 0.001
    max_imbalance: float = 0.1
    draws: int = 2000
    saved: float = rate(
        0.5,
        "share of the cost of a campaign without measurable lift that stopping or reworking it saves",
        WORKBOOK,
        "default",
    )
    switched: float = rate(
        0.5,
        "share of the revenue gap to the better variant that sending the better one wins in the next sends",
        WORKBOOK,
        "default",
    )


@check(
    id="retention.campaign_incrementality",
    stage="retention",
    title="Campaigns change what customers do",
    failure_title="Campaigns cost money and change nothing measurable",
    needs=("campaign_members.assignment=control", "orders"),
    better="lower",
    good=0.02,
    poor=0.05,
    unit="share",
    source="workbook default: every campaign with a cost that shows no lift over its control group is a finding; "
    "lift by Newcombe's hybrid score interval (Statistics in Medicine 1998), sample ratio by chi-square",
    description="Per campaign with a control group held out at random, and per variant: the share of customers who "
    "visit and who order within two weeks of the send, treated against control, with 95 % intervals (Newcombe's "
    "hybrid score for rates, a bootstrap for revenue per customer), and the incremental revenue. The value is the "
    "share of the tested customers in campaigns with a cost whose order rate shows no lift (the interval rules out "
    "a lift of two points or more), or who got a variant clearly worse than another. A campaign whose interval "
    "is too wide to tell, and groups out of their planned split or different before the send, make the finding "
    "a warning. Beside them: the campaigns sent without a control group, with their volume.",
    advice=(
        "Test tactics until the data shows which work, and spend only on those: stop or rework a campaign whose "
        "customers buy no more than the control group, and send the better variant to everybody.",
        "Hold out a random 5–10 % of every campaign's audience (the control group, sent nothing) and record who "
        "was held out; only then can the shop tell what a campaign brings rather than what would have happened "
        "anyway.",
        "When the groups are out of their planned split or differed before the send, fix the assignment (random, "
        "recorded before the send, nobody moved afterwards) before trusting the result.",
    ),
    columns={
        "campaign_id": N_("Campaign"),
        "variant": N_("Variant"),
        "verdict": N_("Verdict"),
        "caveat": N_("Caveat"),
        "treated": N_("Treated"),
        "control": N_("Control"),
        "visit_rate_treated": N_("Visit rate, treated"),
        "visit_rate_control": N_("Visit rate, control"),
        "visit_lift": N_("Visit lift"),
        "conversion_rate_treated": N_("Order rate, treated"),
        "conversion_rate_control": N_("Order rate, control"),
        "conversion_lift": N_("Order-rate lift"),
        "conversion_lift_low": N_("Order-rate lift, low (95 %)"),
        "conversion_lift_high": N_("Order-rate lift, high (95 %)"),
        "revenue_per_customer_lift": N_("Revenue per customer, lift"),
        "revenue_per_customer_lift_low": N_("Revenue per customer, lift low (95 %)"),
        "revenue_per_customer_lift_high": N_("Revenue per customer, lift high (95 %)"),
        "incremental_revenue": N_("Incremental revenue"),
        "cost": N_("Cost"),
        "message_type": N_("Kind of message"),
        "campaigns": N_("Campaigns"),
        "messages": N_("Messages"),
        "customers": N_("Customers"),
    },
    terms={
        LIFT: N_("lift"),
        NO_LIFT: N_("no lift"),
        WORSE: N_("worse than another variant"),
        TOO_SMALL: N_("too few customers to tell"),
        UNSURE: N_("no lift shown, too few customers to rule one out"),
        NO_CONTROL: N_("no control group"),
        UNMEASURED: N_("not measured"),
        SRM: N_("groups not in the planned split"),
        IMBALANCE: N_("groups differed before the send"),
        ALL: N_("all"),
    },
    options=CampaignIncrementalityOptions,
)
def campaign_incrementality(tables: Tables, o: CampaignIncrementalityOptions) -> Evidence:
    m = member_outcomes(tables, o.window_days, o.pre_days)
    rows = [r for _, g in m.groupby("campaign_id", sort=True) for r in _campaign_rows(g, o)]
    tested = pd.DataFrame(rows)
    judged = tested[tested["verdict"].isin((LIFT, NO_LIFT, UNSURE, WORSE))] if len(tested) else tested
    if not len(judged):
        raise NotEnoughData(
            Text(
                "needs a campaign with at least {min} customers in its control group; the largest has {found}",
                min=count(o.min_control),
                found=count(int(tested["control"].max()) if len(tested) else 0),
            )
        )
    value = _value(judged, o)
    unmeasured = unmeasured_campaigns(tables, set(tested["campaign_id"]))
    table = pd.concat([tested, unmeasured], ignore_index=True) if len(unmeasured) else tested
    first = [c for c in ("campaign_id", "variant", "verdict", "caveat", "message_type") if c in table]
    table = table[first + [c for c in table.columns if c not in first]]
    at_stake, method = _at_stake(judged, o)
    details = _details(judged, unmeasured, tables)
    return Evidence(
        value=value,
        table=table,
        chart=_chart(judged),
        at_stake=at_stake,
        at_stake_method=method,
        details=details,
        summary=_summary(judged, unmeasured, details),
    )


# ---------------------------------------------------------------- outcomes per member


def member_outcomes(tables: Tables, window_days: int, pre_days: int) -> pd.DataFrame:
    """One row per campaign member: campaign_id, customer_id, assignment, variant, cost, control_share and, within
    `window_days` of the assignment, visits (sessions), ordered (bool) and revenue; pre_ordered: an order in the
    `pre_days` before it."""
    m = tables["campaign_members"]
    cols = [c for c in ("variant", "cost", "control_share") if c in m.columns]
    keys = m.select("campaign_id", "customer_id", "assignment", "assigned_at", *cols)
    od = tables["orders"]
    od = od.filter(od.customer_id.notnull()).select(oc=od.customer_id, ot=od.order_time, rev=od.revenue)
    after = (od.ot >= keys.assigned_at) & (od.ot < keys.assigned_at + ibis.interval(days=window_days))
    before = (od.ot < keys.assigned_at) & (od.ot >= keys.assigned_at - ibis.interval(days=pre_days))
    j = keys.select("campaign_id", "customer_id", "assigned_at").join(od, [keys.customer_id == od.oc, after | before])
    in_window = j.ot >= j.assigned_at
    by = j.group_by(["campaign_id", "customer_id"]).aggregate(
        orders=j.ot.count(where=in_window), revenue=j.rev.sum(where=in_window), pre_orders=j.ot.count(where=~in_window)
    )
    df = keys.to_pandas().merge(by.to_pandas(), on=["campaign_id", "customer_id"], how="left")
    df["visits"] = _visits(tables, keys, window_days)(df)
    df["ordered"] = df["orders"].fillna(0) > 0
    df["pre_ordered"] = df["pre_orders"].fillna(0) > 0
    df["revenue"] = df["revenue"].fillna(0.0).astype(float)
    df["variant"] = df["variant"].fillna(ALL).astype(str) if "variant" in df else ALL
    return df


def _visits(tables: Tables, keys, window_days: int):
    """A function giving each member's sessions in the window (NaN for all when no events name customers)."""
    if not _events_name_customers(tables):
        return lambda df: np.nan
    k = keys.select("campaign_id", "customer_id", "assigned_at")
    span = k.aggregate(first=k.assigned_at.min(), last=k.assigned_at.max()).to_pandas().iloc[0]
    if pd.isna(span["first"]):  # nobody assigned at a known time: no window to look in
        return lambda df: np.zeros(len(df))
    ev = tables["events"]
    # only the events between the first assignment and the end of the last window can fall in a window: the
    # filter reaches the scan, so the join meets those, not every event of the period
    ev = ev.filter(
        ev.customer_id.notnull()
        & ev.session_id.notnull()
        & (ev.event_time >= pd.Timestamp(span["first"]))
        & (ev.event_time < pd.Timestamp(span["last"]) + pd.Timedelta(days=window_days))
    )
    ev = ev.select(ec=ev.customer_id, sid=ev.session_id, et=ev.event_time)
    j = k.join(
        ev, [k.customer_id == ev.ec, ev.et >= k.assigned_at, ev.et < k.assigned_at + ibis.interval(days=window_days)]
    )
    # a member's sessions counted as the groups of (member, session), not by a count(distinct) per member
    s = j.group_by(["campaign_id", "customer_id", "sid"]).aggregate()
    by = s.group_by(["campaign_id", "customer_id"]).aggregate(visits=s.count()).to_pandas()

    def visits(df: pd.DataFrame) -> pd.Series:
        out = df[["campaign_id", "customer_id"]].merge(by, on=["campaign_id", "customer_id"], how="left")
        return out["visits"].fillna(0).to_numpy()

    return visits


def _events_name_customers(tables: Tables) -> bool:
    """Whether any event names its customer (presence.has_values), asked of the first such row: the events'
    profile groups all their rows, which this check needs for nothing else."""
    if not tables.has("events"):
        return False
    ev = tables["events"]
    if "customer_id" not in ev.columns:
        return False
    return len(ev.filter(ev.customer_id.notnull()).select("customer_id").limit(1).to_pandas()) > 0


# ---------------------------------------------------------------- per campaign and variant


def _campaign_rows(g: pd.DataFrame, o: CampaignIncrementalityOptions) -> list[dict]:
    """The rows of one campaign: each variant against the control group, then the verdict of each."""
    control, treated = g[g["assignment"] == "control"], g[g["assignment"] == "treatment"]
    campaign = str(g["campaign_id"].iloc[0])
    caveat = _caveat(control, treated, g, o)
    cost = float(g["cost"].sum()) if "cost" in g and g["cost"].notna().any() else math.nan
    rows = []
    for variant, t in treated.groupby("variant", sort=True):
        row = _compare(campaign, str(variant), t, control, o)
        share_of_cost = len(t) / max(len(treated), 1)
        row.update(cost=cost * share_of_cost, caveat=caveat)
        rows.append(row)
    _mark_worse(rows, treated, o)
    return rows


def _caveat(control: pd.DataFrame, treated: pd.DataFrame, g: pd.DataFrame, o: CampaignIncrementalityOptions):
    """Why the campaign's result cannot be trusted (sample-ratio mismatch, imbalance before the send), or None."""
    if len(control) < o.min_control or not len(treated):
        return None
    planned = g["control_share"].dropna() if "control_share" in g else pd.Series(dtype=float)
    split = float(planned.median()) if len(planned) else math.nan
    if 0 < split < 1 and lift.sample_ratio_mismatch(len(treated), len(control), split) < o.srm_p:
        return SRM
    before = lift.newcombe(
        int(treated["pre_ordered"].sum()), len(treated), int(control["pre_ordered"].sum()), len(control), Z999
    )
    smd = lift.standardised_difference(treated["pre_ordered"], control["pre_ordered"])
    if (before.above_zero or before.below_zero) and abs(smd) > o.max_imbalance:
        return IMBALANCE
    return None


def _compare(campaign: str, variant: str, t: pd.DataFrame, c: pd.DataFrame, o: CampaignIncrementalityOptions):
    """One variant against the control group: rates, lifts with their intervals, incremental revenue, verdict."""
    row: dict = {"campaign_id": campaign, "variant": variant, "treated": len(t), "control": len(c)}
    if len(c) < o.min_control:
        return row | {"verdict": NO_CONTROL if not len(c) else TOO_SMALL}
    conv = lift.newcombe(int(t["ordered"].sum()), len(t), int(c["ordered"].sum()), len(c))
    seed = zlib.crc32(f"{campaign}/{variant}".encode())
    rev = lift.bootstrap_mean_difference(t["revenue"].to_numpy(), c["revenue"].to_numpy(), o.draws, seed)
    row.update(
        conversion_rate_treated=float(t["ordered"].mean()),
        conversion_rate_control=float(c["ordered"].mean()),
        conversion_lift=conv.estimate,
        conversion_lift_low=conv.low,
        conversion_lift_high=conv.high,
        revenue_per_customer_lift=rev.estimate,
        revenue_per_customer_lift_low=rev.low if _enough_buyers(t, c) else math.nan,
        revenue_per_customer_lift_high=rev.high if _enough_buyers(t, c) else math.nan,
        incremental_revenue=rev.estimate * len(t),
        verdict=LIFT if conv.above_zero else NO_LIFT if conv.high < o.min_lift else UNSURE,
    )
    if t["visits"].notna().all() and c["visits"].notna().all():
        visit = lift.newcombe(int((t["visits"] > 0).sum()), len(t), int((c["visits"] > 0).sum()), len(c))
        row.update(
            visit_rate_treated=float((t["visits"] > 0).mean()),
            visit_rate_control=float((c["visits"] > 0).mean()),
            visit_lift=visit.estimate,
        )
    return row


def _enough_buyers(t: pd.DataFrame, c: pd.DataFrame) -> bool:
    """Both groups have MIN_BUYERS buyers or more: a group whose revenue is all zeros resamples to zero every time,
    and its percentile interval would look certain where it is not."""
    return min(int((t["revenue"] > 0).sum()), int((c["revenue"] > 0).sum())) >= MIN_BUYERS


def _mark_worse(rows: list[dict], treated: pd.DataFrame, o: CampaignIncrementalityOptions) -> None:
    """A variant whose order rate is clearly below the best variant's is worse: the 99.9 % Newcombe interval of the
    gap lies below zero (a strict level: the best variant is picked after looking, and two versions that work alike
    differ at 95 % in one test of twenty)."""
    if len(rows) < 2:
        return
    rates = {v: (int(t["ordered"].sum()), len(t)) for v, t in treated.groupby("variant")}
    best = max(rates, key=lambda v: rates[v][0] / max(rates[v][1], 1))
    for row in rows:
        v = row["variant"]
        if v == best or rates[v][1] < o.min_control:
            continue
        gap = lift.newcombe(*rates[v], *rates[best], Z999)
        if gap.below_zero:
            row["verdict"], row["worse_than"] = WORSE, best
            seed = zlib.crc32(f"{row['campaign_id']}/{v}/{best}".encode())
            worse, better = treated[treated["variant"] == v], treated[treated["variant"] == best]
            rev = lift.bootstrap_mean_difference(
                better["revenue"].to_numpy(), worse["revenue"].to_numpy(), o.draws, seed
            )
            row["revenue_gap_low"] = max(rev.low, 0.0)


# ---------------------------------------------------------------- the value, money at stake, the views


def _failing(judged: pd.DataFrame) -> pd.Series:
    """Variants that count against the shop: no lift in a campaign with a cost (or of unknown cost), or worse than
    another variant; results the groups' split or balance put in doubt do not count."""
    costly = judged["cost"].isna() | (judged["cost"] > 0)
    bad = ((judged["verdict"] == NO_LIFT) & costly) | (judged["verdict"] == WORSE)
    return bad & judged["caveat"].isna()


def _value(judged: pd.DataFrame, o: CampaignIncrementalityOptions) -> float:
    """Share of the judged treated customers in failing variants; at least a warning's value when a result is in
    doubt (sample-ratio mismatch or imbalance) or a campaign with a cost showed no lift on too few customers to
    rule one out."""
    value = float(judged.loc[_failing(judged), "treated"].sum() / judged["treated"].sum())
    costly = judged["cost"].isna() | (judged["cost"] > 0)
    if judged["caveat"].notna().any() or ((judged["verdict"] == UNSURE) & costly).any():
        value = max(value, math.sqrt(o.good * o.poor))  # scores between good and poor: a warning
    return value


def _at_stake(judged: pd.DataFrame, o: CampaignIncrementalityOptions):
    """The cost of campaigns without lift × the share stopping them saves, plus the sure part of the revenue gap of
    worse variants × the share switching wins; None when neither applies."""
    bad = judged[_failing(judged)]
    wasted = float(bad.loc[bad["verdict"] == NO_LIFT, "cost"].fillna(0).sum())
    gap = 0.0
    if "revenue_gap_low" in bad:
        worse = bad[bad["verdict"] == WORSE]
        gap = float((worse["revenue_gap_low"].fillna(0) * worse["treated"]).sum())
    parts = []
    if wasted > 0:
        parts.append(
            Text(
                "the cost of the campaigns whose customers bought no more than their control group ({wasted}) × the "
                "share stopping or reworking them saves ({saved})",
                wasted=money(wasted, 0),
                saved=cite(o, "saved"),
            )
        )
    if gap > 0:
        parts.append(
            Text(
                "the revenue the worse variants' customers surely lost (the low end of the 95 % interval of the gap, "
                "{gap}) × the share sending the better variant to everybody wins ({switched})",
                gap=money(gap, 0),
                switched=cite(o, "switched"),
            )
        )
    if not parts:
        return None, None
    method = parts[0] if len(parts) == 1 else Text("{a}; {b}", a=parts[0], b=parts[1])
    return wasted * o.saved + gap * o.switched, method


def unmeasured_campaigns(tables: Tables, tested: set[str]) -> pd.DataFrame:
    """The campaigns of the messages table without a control group, by kind of message and largest first:
    message_type, campaigns, messages, customers, verdict (a shop sends thousands of daily promos: one row each
    would bury the tested ones)."""
    if not presence.has_values(tables, "messages", "campaign_id"):
        return pd.DataFrame()
    ms = tables["messages"]
    ms = ms.filter(ms.campaign_id.notnull() & ~ms.campaign_id.isin(sorted(tested) or [""]))
    # campaigns and customers per kind of message counted as groups, not by a count(distinct) each
    per_campaign = ms.group_by(["message_type", "campaign_id"]).aggregate(messages=ms.count())
    by = per_campaign.group_by("message_type").aggregate(
        campaigns=per_campaign.count(), messages=per_campaign.messages.sum()
    )
    per_customer = ms.filter(ms.customer_id.notnull()).group_by(["message_type", "customer_id"]).aggregate()
    customers = per_customer.group_by("message_type").aggregate(customers=per_customer.count()).to_pandas()
    by = by.to_pandas().merge(customers, on="message_type", how="left")  # pandas matches an empty type to itself
    by["customers"] = by["customers"].fillna(0).astype("int64")
    by = by.sort_values(["messages", "message_type"], ascending=[False, True])
    return by.assign(verdict=UNMEASURED).reset_index(drop=True)


def _details(judged: pd.DataFrame, unmeasured: pd.DataFrame, tables: Tables) -> dict:
    """Numbers the summary and advice refer to."""
    tested_messages = _messages_of(tables, set(judged["campaign_id"]))
    un = int(unmeasured["messages"].sum()) if len(unmeasured) else 0
    return {
        "campaigns": int(judged["campaign_id"].nunique()),
        "variants": len(judged),
        "failing": int(_failing(judged).sum()),
        "in_doubt": int(judged["caveat"].notna().sum()),
        "unmeasured_campaigns": int(unmeasured["campaigns"].sum()) if len(unmeasured) else 0,
        "unmeasured_messages": un,
        "unmeasured_share": un / (un + tested_messages) if un + tested_messages else None,
    }


def _messages_of(tables: Tables, campaigns: set[str]) -> int:
    """Messages sent in the given campaigns."""
    if not campaigns or not presence.has_values(tables, "messages", "campaign_id"):
        return 0
    ms = tables["messages"]
    return int(ms.filter(ms.campaign_id.isin(sorted(campaigns))).count().to_pandas())


def _summary(judged: pd.DataFrame, unmeasured: pd.DataFrame, d: dict) -> Text:
    """What the data shows, in one sentence (`d`: the details)."""
    lifts = judged[judged["verdict"] == LIFT]
    text = Text(
        "{n} of {total} tested campaign variants raised the order rate over their control group; {failing} cost "
        "money and changed nothing measurable or lost to another variant",
        n=count(len(lifts)),
        total=count(len(judged)),
        failing=count(d["failing"]),
    )
    unsure = int((judged["verdict"] == UNSURE).sum())
    if unsure:
        text += Text("; {n} showed no lift on too few customers to rule one out", n=count(unsure))
    if d["in_doubt"]:
        text += Text(
            "; {n} results are in doubt (groups out of their planned split, or different before the send)",
            n=count(d["in_doubt"]),
        )
    if d["unmeasured_share"] is not None and len(unmeasured):
        text += Text(
            "; {campaigns} campaigns ({share} of the campaign messages) went out without a control group",
            campaigns=count(d["unmeasured_campaigns"]),
            share=share(d["unmeasured_share"], 0),
        )
    return text + "."


def _chart(judged: pd.DataFrame) -> Chart:
    """The order-rate lift of each tested variant with its 95 % interval."""
    data = judged.assign(label=judged["campaign_id"] + " · " + judged["variant"])
    data = data[["label", "conversion_lift_low", "conversion_lift", "conversion_lift_high"]]
    return Chart(
        kind="barh",
        data=data,
        x="label",
        y=["conversion_lift_low", "conversion_lift", "conversion_lift_high"],
        title=Text("Order-rate lift over the control group, with its 95 % interval"),
        x_label=Text("Campaign and variant"),
        y_label=Text("Lift in the share of customers who ordered"),
        y_unit="share",
        reference=0.0,
        reference_label=Text("no lift"),
    )
