"""Win-back: valuable customers slipping away are noticed, and re-contacting stops when it no longer pays."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from pydantic import Field, NonNegativeFloat

from ...engine import Tables
from ...i18n import N_, Text, count, days, money, share
from ...metrics import churn, lifetime
from ...privacy import pseudonymise_frame
from .. import windows
from ..base import KLAVIYO_FLOWS, Chart, Evidence, NotEnoughData, Options, check, cite, rate
from .common import TOP_ROWS, lapsed_contacts, winbacks


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
    won_back: float = rate(
        0.0171,
        "share of lapsing customers a win-back flow brings back to order (median flow placed-order rate)",
        KLAVIYO_FLOWS,
    )
    # Tried in turn until the lifetime models converge; none converging: the check is not run.
    penalizers: Annotated[tuple[NonNegativeFloat, ...], Field(min_length=1)] = lifetime.PENALIZERS


@check(
    id="winback.churn_risk",
    stage="winback",
    title="Valuable customers slipping away are noticed",
    failure_title="Valuable customers slip away without a win-back message",
    needs=("orders.customer_id", "messages.message_type=winback"),
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
    windows.require(tables, int(o.lapsed_from_days), "lapsed_from_days")
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
    said = lapsed_contacts(tables, lo, hi)
    if "opted_in" in said:  # the customers table says who may be e-mailed
        lap = lap[said.loc[lap.index, "opted_in"].to_numpy()]
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
    try:
        fit = churn.lifetime_fit(tables, o.penalizers)
    except lifetime.FitFailed as err:
        raise NotEnoughData(err.text) from err
    lap = lap.join(fit.customers)
    lap["contacted"] = said.loc[lap.index, "last_winback"] > lap["last_order"]
    rate = float(lap["contacted"].mean())
    missed = lap[~lap["contacted"]]
    at_risk = float(missed["revenue_at_risk"].sum())
    at_stake = at_risk * o.won_back
    method = Text(
        "for each of the {n} lapsing repeat customers sent no win-back: (1 − probability still active, "
        "BG/NBD) × purchases expected in the next 12 months if still active (BG/NBD) × expected order "
        "value (Gamma-Gamma), the revenue the shop loses over a year if they have gone ({risk}), × the share "
        "of lapsing customers a win-back flow brings back ({rate})",
        n=count(len(missed)),
        risk=money(at_risk, 0),
        rate=cite(o, "won_back"),
    )
    if fit.retried:
        method = Text(
            "{method}. The models found a stable estimate only with a penalizer of {penalizer} (smoothing that "
            "pulls each customer's estimate towards the shop's average), so the figure is a cautious one",
            method=method,
            penalizer=lifetime.penalizer_value(max(fit.penalizers.values())),
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
        "penalizers": fit.penalizers,
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
    wb = winbacks(tables).sort_values("sent_at")
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
    needs=("orders.customer_id", "messages.message_type=winback"),
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
    windows.require(tables, int(o.cutoff_days), "cutoff_days")
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
