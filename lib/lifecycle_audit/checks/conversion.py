"""Conversion: do interested visitors actually buy, and what is lost on the way?"""

from __future__ import annotations

import ibis
import pandas as pd

from ..engine import Tables
from ..i18n import N_, Text, count, days, hours, money, number, share, word
from ..metrics import funnel
from ..metrics.carts import carts
from ..metrics.orders import average_order_value
from .base import Chart, Evidence, NotEnoughData, Options, check

# Reminder timing groups, in the order the report shows them.
PROMPT, SAME_DAY, LATE, NONE = "within 4 h", "4–24 h", "after 24 h", "not reminded"


class CartAbandonmentOptions(Options):
    """Cart abandonment: tunables beside the control points."""

    window_days: int = 7
    min_carts: int = 100


@check(
    id="conversion.cart_abandonment",
    stage="conversion",
    title="Shoppers complete the carts they start",
    failure_title="Most carts are abandoned",
    needs=("events",),
    better="lower",
    good=0.65,
    poor=0.75,
    unit="share",
    source="Baymard Institute: 69.82 % average online cart abandonment (46 studies); "
           "good and poor sit five points either side of that average",
    description="Share of carts (visits with an add-to-cart) that the same visitor did not buy "
                "within the window, by device and by how far the shopper got.",
    advice=(
        "Follow up every abandoned cart automatically: a reminder that names the product left in the "
        "cart, sent within hours, and a second one when the first is not opened.",
        "Walk through the purchase process yourself on a phone and remove every step that is not needed: "
        "the more steps, the more shoppers give up.",
        "Remove purchase barriers where shoppers stall, e.g. a chat that answers questions during checkout, "
        "clear delivery costs and times before the cart.",
        "Start with the device whose carts are abandoned most.",
    ),
    columns={
        "abandoned": N_("Abandoned"),
        "abandonment": N_("Abandonment rate"),
        "share_reaching_checkout": N_("Share reaching checkout"),
    },
    options=CartAbandonmentOptions,
)
def cart_abandonment(tables: Tables, o: CartAbandonmentOptions) -> Evidence:
    c = carts(tables, int(o.window_days))
    by = c.group_by("device").aggregate(
        carts=c.count(),
        abandoned=c.abandoned.sum(),
        abandoned_after_checkout=(c.abandoned & c.reached_checkout).sum(),
    ).to_pandas()
    total = int(by["carts"].sum())
    if total < o.min_carts:
        raise NotEnoughData(Text("needs at least {min} carts (visits with an add-to-cart) to judge; the events "
                                 "hold {found}", min=count(o.min_carts), found=count(total)))
    abandoned = int(by["abandoned"].sum())
    rate = abandoned / total
    table = by.assign(abandonment=by["abandoned"] / by["carts"],
                      share_reaching_checkout=by["abandoned_after_checkout"] / by["abandoned"].where(by["abandoned"] > 0))
    table = table.sort_values("carts", ascending=False).reset_index(drop=True)
    table = table[["device", "carts", "abandoned", "abandonment", "share_reaching_checkout"]]
    aov = average_order_value(tables)
    at_stake = method = None
    if aov:
        excess = max(0.0, rate - o.good) * total
        at_stake = excess * aov
        method = Text("carts beyond a {good} abandonment rate ({excess} carts) × average order value ({aov}), "
                      "over the period analysed", good=share(o.good, 0), excess=count(excess), aov=money(aov, 2))
    worst = table.loc[table["abandonment"].idxmax()]
    chart = Chart(kind="bar", data=table, x="device", y="abandonment",
                  title=Text("Carts not bought within {days} days, by device", days=count(o.window_days)),
                  x_label=Text("Device"), y_label=Text("Carts abandoned"), y_unit="share",
                  reference=o.good, reference_label=Text("good"))
    return Evidence(
        value=rate, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
        details={"carts": total, "abandoned": abandoned, "worst_device": worst["device"],
                 "worst_rate": float(worst["abandonment"]), "window_days": int(o.window_days)},
        summary=Text("{abandoned} of {total} carts ({rate}) were not bought within {days} days; worst on "
                     "{device} ({worst}).", abandoned=count(abandoned), total=count(total), rate=share(rate, 1),
                     days=count(o.window_days), device=word(worst["device"]), worst=share(worst["abandonment"], 1)),
    )


# --- the purchase funnel ---------------------------------------------------------------------------

class CheckoutFunnelOptions(Options):
    """Checkout funnel: tunables beside the control points."""

    min_sessions: int = 300


@check(
    id="conversion.checkout_funnel",
    stage="conversion",
    title="Every device gets shoppers through each step of the purchase",
    failure_title="One step of the purchase loses far more shoppers on one device",
    needs=("events",),
    better="higher",
    good=0.85,
    poor=0.65,
    unit="ratio",
    source="Workbook default: a funnel step where a device keeps fewer than 85 % as many shoppers as the "
           "best device is worth fixing, fewer than 65 % is a broken step. Industry averages do not fit here: "
           "Baymard reports 85.65 % cart abandonment on mobile against 69.82 % overall (secondary), a gap "
           "that mixes browsing habits with broken steps; the shop's own best device is the fairer yardstick",
    description="Visits of known customers from product view to add to cart, checkout and purchase, by device: "
                "the share of visits at each step that reach the next one, and, for the worst step, how the "
                "weakest device compares with the best (1 = as good).",
    advice=(
        "Look at your purchase workflow step by step and track how many customers drop out before the "
        "purchase is complete: the step and device shown here is where shoppers get stuck.",
        "Go through that step yourself on that device, e.g. pay with a phone, and fix what fails or "
        "confuses: a broken payment form or an unclear next step makes shoppers give up.",
        "Cut every step the purchase does not need: the more steps, the more likely the customer gives up.",
        "Remove purchase barriers at the step, e.g. a chat that answers questions right away.",
    ),
    columns={
        "step": N_("Step"),
        "step_rate": N_("Share of visits at the step before"),
        "share_of_start": N_("Share of product-view visits"),
        "gap_to_best": N_("Rate against the best device"),
    },
    options=CheckoutFunnelOptions,
)
def checkout_funnel(tables: Tables, o: CheckoutFunnelOptions) -> Evidence:
    f = funnel.by_device(tables, known_only=True)
    prev = f.groupby("device")["sessions"].shift(1)
    f = f.assign(entering=prev)
    steps = f[f["entering"].notna()]
    judged = steps[steps["entering"] >= o.min_sessions].copy()
    if judged.empty or judged.groupby("step")["device"].nunique().max() < 2:
        biggest = int(steps.groupby("device")["entering"].min().max()) if len(steps) else 0
        raise NotEnoughData(Text("needs at least {min} visits of known customers at every step on two devices "
                                 "to compare them; the best-covered device has {found}",
                                 min=count(o.min_sessions), found=count(biggest)))
    judged = judged[judged.groupby("step")["device"].transform("nunique") >= 2]
    best = judged.groupby("step")["step_rate"].transform("max")
    judged["gap_to_best"] = judged["step_rate"] / best.where(best > 0)
    worst = judged.loc[judged["gap_to_best"].idxmin()]
    value = float(worst["gap_to_best"])
    best_rate = float(judged.loc[judged["step"] == worst["step"], "step_rate"].max())
    best_device = judged.loc[(judged["step"] == worst["step"]) & (judged["step_rate"] == best_rate), "device"].iloc[0]

    table = f.merge(judged[["device", "step", "gap_to_best"]], on=["device", "step"], how="left")
    table = table[["device", "step", "sessions", "step_rate", "share_of_start", "gap_to_best"]]

    # Money: shoppers the worst step would keep at the best device's rate, who then finish the purchase as
    # often as this device's shoppers past that step do, at the average order value.
    aov = average_order_value(tables)
    at_stake = method = None
    dev = f[f["device"] == worst["device"]].set_index("step")["sessions"]
    finish = float(dev.iloc[-1] / dev[worst["step"]]) if dev[worst["step"]] > 0 else 0.0
    target = o.good * best_rate
    gap = max(0.0, target - float(worst["step_rate"]))
    lost = float(worst["entering"]) * gap
    if aov:
        at_stake = lost * finish * aov
        method = Text("visits that reached the step before {step} on {device} ({entering}) × the shortfall of "
                      "its rate against {good} of the best device's ({gap}) × the share of {device} visits past "
                      "that step that end in a purchase ({finish}) × average order value ({aov}), over the "
                      "period analysed", step=word(worst["step"]), device=word(worst["device"]),
                      entering=count(worst["entering"]), good=share(o.good, 0), gap=share(gap, 1),
                      finish=share(finish, 0), aov=money(aov, 2))
    chart_data = judged[["device", "step", "step_rate"]]
    chart = Chart(kind="bar", data=chart_data, x="step", y="step_rate", hue="device",
                  title=Text("Visits of known customers reaching each step from the one before, by device"),
                  x_label=Text("Step reached"), y_label=Text("Share of visits at the step before"),
                  y_unit="share")
    overall = f.groupby("step", sort=False)["sessions"].sum()
    whole = float(overall.iloc[-1] / overall.iloc[0]) if overall.iloc[0] else None
    summary = Text("The worst step is {step} on {device}: {rate} of visits at the step before get there, against "
                   "{best} on {best_device} ({gap} as good)", step=word(worst["step"]), device=word(worst["device"]),
                   rate=share(worst["step_rate"], 1), best=share(best_rate, 1), best_device=word(best_device),
                   gap=share(value, 0))
    if whole is not None:
        summary += Text("; {whole} of known customers' visits with a product view end in a purchase",
                        whole=share(whole, 1))
    return Evidence(value=value, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details={"worst_step": worst["step"], "worst_device": worst["device"],
                             "worst_rate": float(worst["step_rate"]), "best_device": best_device,
                             "best_rate": best_rate, "lost_visits": lost, "view_to_purchase": whole},
                    summary=summary + ".")


def _reminded_carts(tables, window_days: int):
    """Carts left at the end of a visit by known (and, where known, opted-in) customers, with their reminders."""
    c = carts(tables, window_days)
    c = c.filter(c.left & c.customer_id.notnull())
    if tables.has("customers"):
        cu = tables["customers"]
        if "email_opt_in" in cu.columns:
            reachable = cu.filter(cu.email_opt_in.fill_null(False)).select(rid=cu.customer_id)
            c = c.semi_join(reachable, c.customer_id == reachable.rid)
    m = tables["messages"]
    r = m.filter(m.message_type == "abandoned_cart").select(
        rcust=m.customer_id, sent_at=m.sent_at, opened_at=m.opened_at)
    j = c.join(r, [c.customer_id == r.rcust, r.sent_at >= c.cart_at,
                   r.sent_at <= c.cart_at + ibis.interval(days=window_days)], how="left")
    per = j.group_by("session_id").aggregate(
        first_sent=j.sent_at.min(),
        reminders=j.sent_at.count(),
        first_opened=j.opened_at.argmin(j.sent_at),
    )
    out = c.left_join(per, "session_id").drop("session_id_right")
    return out.select("session_id", "device", "cart_at", "bought_at", "first_sent", "reminders",
                      "first_opened").to_pandas()


class AbandonedCartRecoveryOptions(Options):
    """Abandoned cart recovery: tunables beside the control points."""

    window_days: int = 7
    min_carts: int = 50
    min_group: int = 30


@check(
    id="conversion.abandoned_cart_recovery",
    stage="conversion",
    title="Abandoned carts are reminded promptly and followed up",
    failure_title="Abandoned carts are not reminded, or too late",
    needs=("events", "messages", "orders"),
    better="higher",
    good=0.75,
    poor=0.40,
    unit="share",
    source="Klaviyo: abandoned-cart flows send the first reminder about 4 hours after the cart is left "
           "(community guidance, secondary); workbook default: three in four reachable carts reminded "
           "within 24 hours is good, fewer than two in five is poor",
    description="Share of carts left by known, reachable customers that received an abandoned-cart "
                "reminder within 24 hours; how fast, whether unopened reminders were followed up, "
                "and how many more carts reminded ones recover.",
    advice=(
        "Set up an automated abandoned-cart flow that starts when a known customer leaves a cart and stops "
        "when they order.",
        "Send the first reminder within a few hours, while the purchase is still on their mind, and name "
        "the product left in the cart.",
        "Track the first e-mail: when it is not opened, send a follow-up reminder a day later.",
        "Make the reminder attractive, e.g. show that stock is running low.",
    ),
    columns={
        "reminder": N_("First reminder"),
        "recovered": N_("Recovered"),
        "recovery_rate": N_("Recovery rate"),
    },
    options=AbandonedCartRecoveryOptions,
)
def abandoned_cart_recovery(tables: Tables, o: AbandonedCartRecoveryOptions) -> Evidence:
    window = int(o.window_days)
    df = _reminded_carts(tables, window)
    if len(df) < o.min_carts:
        raise NotEnoughData(Text("needs at least {min} carts left by known, reachable customers; found {found}",
                                 min=count(o.min_carts), found=count(len(df))))
    delay_h = (df["first_sent"] - df["cart_at"]).dt.total_seconds() / 3600
    group = pd.Series(NONE, index=df.index)
    group[delay_h <= 24] = SAME_DAY
    group[delay_h <= 4] = PROMPT
    group[delay_h > 24] = LATE
    df = df.assign(group=pd.Categorical(group, [PROMPT, SAME_DAY, LATE, NONE], ordered=True),
                   recovered=df["bought_at"].notna())
    table = df.groupby("group", observed=False).agg(carts=("session_id", "size"),
                                                    recovered=("recovered", "sum")).reset_index()
    table["recovery_rate"] = table["recovered"] / table["carts"].where(table["carts"] > 0)
    table = table.rename(columns={"group": "reminder"})
    table["reminder"] = table["reminder"].astype(str)

    within_24h = float((delay_h <= 24).mean())
    reminded = df["first_sent"].notna()
    unopened = reminded & df["first_opened"].isna()
    follow_up = float((df.loc[unopened, "reminders"] >= 2).mean()) if unopened.any() else None
    base = df.loc[~reminded, "recovered"].mean() if (~reminded).any() else 0.0
    prompt = df.loc[delay_h <= 4, "recovered"]
    aov = average_order_value(tables) or 0.0
    not_prompt = int((~(delay_h <= 4)).sum())
    if len(prompt) >= o.min_group:
        uplift = max(0.0, float(prompt.mean()) - float(base))
        how = Text("the recovery rate of carts reminded within 4 h here ({prompt}) over that of carts not "
                   "reminded ({base})", prompt=share(prompt.mean(), 1), base=share(base, 1))
    else:
        uplift = 0.0171
        how = Text("too few promptly reminded carts here to measure, so the median placed-order rate of "
                   "automated flows ({rate}, Klaviyo Benchmark Report 2024)", rate=share(uplift, 2))
    at_stake = not_prompt * uplift * aov
    method = Text("{n} carts not reminded within 4 h × {how} × average order value ({aov}), over the period "
                  "analysed", n=count(not_prompt), how=how, aov=money(aov, 2))
    chart = Chart(kind="bar", data=table, x="reminder", y="recovery_rate",
                  title=Text("Abandoned carts bought within {days} days, by when the first reminder came",
                             days=count(window)),
                  x_label=Text("First reminder after the cart was left"), y_label=Text("Carts recovered"),
                  y_unit="share")
    median_delay = float(delay_h.median()) if reminded.any() else None
    details = {"carts": len(df), "reminded": int(reminded.sum()), "reminded_within_24h": within_24h,
               "median_delay_hours": median_delay, "follow_up_rate": follow_up,
               "recovery_reminded_within_4h": float(prompt.mean()) if len(prompt) else None,
               "recovery_not_reminded": float(base)}
    summary = Text("{n} of {total} carts left by reachable customers were reminded ({rate}); {within} within "
                   "24 h", n=count(reminded.sum()), total=count(len(df)), rate=share(reminded.mean(), 1),
                   within=share(within_24h, 1))
    if median_delay is not None:
        summary += Text(", the first reminder after a median {delay}", delay=hours(round(median_delay, 1)))
    if follow_up is not None:
        summary += Text("; {rate} of unopened reminders were followed up", rate=share(follow_up, 0))
    return Evidence(value=within_24h, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details=details, summary=summary + ".")


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
    needs=("orders", "surveys"),
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
    end = tables.period[1]
    since = end - pd.Timedelta(days=round(o.months * 365 / 12))
    od = tables["orders"]
    active = od.filter((od.order_time >= since) & od.order_time.notnull() & od.customer_id.notnull()) \
        .select("customer_id").distinct()
    sv = tables["surveys"]
    recent = sv.filter((sv.sent_at >= since) & (sv.sent_at <= end))
    asked = recent.select(sid=recent.customer_id).distinct()
    n_active = int(active.count().to_pandas())
    if n_active < o.min_customers:
        raise NotEnoughData(Text("needs at least {min} customers with an order in the last {months} months; "
                                 "found {found}", min=count(o.min_customers), months=count(o.months),
                                 found=count(n_active)))
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
    table = last.left_join(by, "scale").drop("scale_right").left_join(reach, "scale").drop("scale_right") \
        .to_pandas()
    for c in ("surveys", "responses", "customers"):
        table[c] = table[c].fillna(0).astype("int64")
    table["share_of_active"] = table["customers"] / n_active
    table["response_rate"] = table["responses"] / table["surveys"].where(table["surveys"] > 0)
    table["days_since_last"] = (end - pd.to_datetime(table["last_sent"])).dt.days
    table["last_sent"] = pd.to_datetime(table["last_sent"]).dt.date
    table = table.sort_values("surveys", ascending=False).reset_index(drop=True)
    table = table[["scale", "surveys", "customers", "share_of_active", "responses", "response_rate",
                   "last_sent", "days_since_last"]]

    sent = int(table["surveys"].sum())
    response = float(table["responses"].sum() / sent) if sent else None
    last_any = sv.sent_at.max().to_pandas()
    since_last = int((end - pd.Timestamp(last_any)).days) if last_any is not None and last_any == last_any else None

    mo = sv2.filter(sv2.sent_at <= end)
    mo = mo.mutate(month=mo.sent_at.truncate("M"))
    monthly = mo.group_by(["month", "scale"]).aggregate(surveys=mo.count()).order_by("month").to_pandas()
    monthly["month"] = pd.to_datetime(monthly["month"]).dt.strftime("%Y-%m")
    chart = Chart(kind="bar", data=monthly, x="month", y="surveys", hue="scale",
                  title=Text("Surveys sent per month, by kind of survey"),
                  x_label=Text("Month sent"), y_label=Text("Surveys sent"), y_unit="count")
    summary = Text("{asked} of {active} customers who ordered in the last {months} months ({rate}) were sent a "
                   "survey in that time", asked=count(n_asked), active=count(n_active), months=count(o.months),
                   rate=share(value, 1))
    if response is not None:
        summary += Text("; {rate} of those surveys were answered", rate=share(response, 0))
    if since_last is not None:
        summary += Text("; the last survey went out {days} before the end of the data", days=days(since_last))
    stale = table[table["days_since_last"] > o.months * 365 / 12].sort_values("days_since_last")
    if len(stale):
        row = stale.iloc[-1]
        summary += Text("; no {scale} survey for {days}", scale=word(row["scale"]), days=days(int(row["days_since_last"])))
    return Evidence(value=value, table=table, chart=chart,
                    details={"active_customers": n_active, "surveyed": n_asked, "surveys_sent": sent,
                             "response_rate": response, "days_since_last_survey": since_last},
                    summary=summary + ".")


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
    needs=("orders", "messages"),
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
        "Send it automatically from your shop system or CRM, triggered by the order, so that no order is "
        "missed.",
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
    within = int(o.within_days)
    end = tables.period[1]
    od = tables["orders"]
    od = od.filter(od.customer_id.notnull() & (od.order_time <= end - pd.Timedelta(days=within)))
    m = tables["messages"]
    th = m.filter(m.message_type == "thank_you").select(tcust=m.customer_id, sent_at=m.sent_at)
    j = od.join(th, [od.customer_id == th.tcust, th.sent_at >= od.order_time,
                     th.sent_at <= od.order_time + ibis.interval(days=within)], how="left")
    per = j.group_by(["order_id", "order_time"]).aggregate(thanked_at=j.sent_at.min())
    df = per.to_pandas()
    if len(df) < o.min_orders:
        raise NotEnoughData(Text("needs at least {min} orders by known customers older than {days}; found {found}",
                                 min=count(o.min_orders), days=days(within), found=count(len(df))))
    df["thanked"] = df["thanked_at"].notna()
    df["hours"] = (df["thanked_at"] - df["order_time"]).dt.total_seconds() / 3600
    df["month"] = pd.to_datetime(df["order_time"]).dt.strftime("%Y-%m")
    table = df.groupby("month").agg(orders=("order_id", "size"), thanked=("thanked", "sum"),
                                    median_hours=("hours", "median")).reset_index()
    table["thanked"] = table["thanked"].astype("int64")
    table["thanked_share"] = table["thanked"] / table["orders"]
    table = table[["month", "orders", "thanked", "thanked_share", "median_hours"]]
    n, n_thanked = len(df), int(df["thanked"].sum())
    value = n_thanked / n
    chart = Chart(kind="line", data=table, x="month", y="thanked_share",
                  title=Text("Orders thanked within {days}, by month of the order", days=days(within)),
                  x_label=Text("Month of the order"), y_label=Text("Orders thanked"), y_unit="share",
                  reference=o.good, reference_label=Text("good"))
    summary = Text("{thanked} of {n} orders ({rate}) were followed by a thank-you within {days}",
                   thanked=count(n_thanked), n=count(n), rate=share(value, 1), days=days(within))
    med = df["hours"].median()
    if med == med and med < 1:
        summary += Text(", after a median {minutes} min", minutes=number(float(med) * 60, 0))
    elif med == med:
        summary += Text(", after a median {hours}", hours=hours(round(float(med), 1)))
    return Evidence(value=value, table=table, chart=chart,
                    details={"orders": n, "thanked": n_thanked, "unthanked": n - n_thanked,
                             "median_hours": None if med != med else float(med)},
                    summary=summary + ".")


# --- offers that match what customers came for -----------------------------------------------------

MATCHING, NOT_MATCHING, NO_HISTORY = "matches their interest", "does not match", "no viewing history"


class RelevanceOptions(Options):
    """Relevance: tunables beside the control points."""

    order_days: int = 7
    min_offers: int = 200


@check(
    id="conversion.relevance",
    stage="conversion",
    title="Offers match what customers came for",
    failure_title="Most offers do not match what customers came for",
    needs=("messages", "events"),
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
    ev = tables["events"]
    v = ev.filter((ev.event_type == "product_view") & ev.customer_id.notnull() & ev.category.notnull())
    per = v.group_by(["customer_id", "category"]).aggregate(views=v.count())
    w = ibis.window(group_by=per.customer_id, order_by=[ibis.desc(per.views), per.category])
    top = per.mutate(_rn=ibis.row_number().over(w))
    top = top.filter(top._rn == 0).select(vcust=top.customer_id, top_category=top.category)
    m = tables["messages"]
    pr = m.filter((m.message_type == "promo") & m.category.notnull())
    j = pr.left_join(top, pr.customer_id == top.vcust)
    group = ibis.cases((j.top_category.isnull(), NO_HISTORY), (j.category == j.top_category, MATCHING),
                       else_=NOT_MATCHING)
    j = j.mutate(offer=group)
    by = j.group_by("offer").aggregate(messages=j.count(), opened=j.opened_at.notnull().sum(),
                                       clicked=j.clicked_at.notnull().sum()).to_pandas()
    by = by.set_index("offer").reindex([MATCHING, NOT_MATCHING, NO_HISTORY]).fillna(0).astype("int64").reset_index()
    judged = int(by.loc[by["offer"] != NO_HISTORY, "messages"].sum())
    if judged < o.min_offers:
        raise NotEnoughData(Text("needs at least {min} promotional messages with a category, to customers whose "
                                 "product views show an interest; found {found}", min=count(o.min_offers),
                                 found=count(judged)))
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
        clicks = pr.filter(pr.clicked_at.notnull()).select(mid=pr.message_id, ccust=pr.customer_id,
                                                            clicked_at=pr.clicked_at)
        od = tables["orders"]
        cj = clicks.join(od, [clicks.ccust == od.customer_id, od.order_time >= clicks.clicked_at,
                              od.order_time <= clicks.clicked_at + ibis.interval(days=int(o.order_days))],
                         how="left")
        ordered = cj.group_by("mid").aggregate(o=cj.order_id.count())
        row = ordered.aggregate(n=ordered.count(), buy=(ordered.o > 0).sum()).to_pandas().iloc[0]
        buy_rate = float(row["buy"]) / float(row["n"]) if row["n"] else 0.0
        extra = max(0.0, float(c_match) - float(c_not)) * n_not
        at_stake = extra * buy_rate * aov
        method = Text("offers that would match at a {good} matching share ({n}) × how much more often matching offers are clicked ({gap}) × the "
                      "share of offer clicks followed by an order within {days} ({buy}) × average order value "
                      "({aov}), over the period analysed", good=share(o.good, 0), n=count(n_not),
                      gap=share(max(0.0, float(c_match) - float(c_not)), 2), days=days(int(o.order_days)),
                      buy=share(buy_rate, 1), aov=money(aov, 2))
    chart = Chart(kind="bar", data=table[table["messages"] > 0], x="offer", y="click_rate",
                  title=Text("Promotional messages clicked, by whether the offer matches the category the customer "
                             "viewed most"),
                  x_label=Text("Offer"), y_label=Text("Messages clicked"), y_unit="share")
    summary = Text("{n} of {total} offers ({rate}) were for the category the customer viewed most",
                   n=count(n_match), total=count(judged), rate=share(value, 1))
    if c_match == c_match and c_not == c_not:
        summary += Text("; matching offers were clicked {match} of the time, the others {other}",
                        match=share(c_match, 1), other=share(c_not, 1))
    return Evidence(value=value, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details={"offers": judged, "matching": n_match,
                             "click_rate_matching": None if c_match != c_match else float(c_match),
                             "click_rate_not_matching": None if c_not != c_not else float(c_not)},
                    summary=summary + ".")
