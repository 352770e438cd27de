"""Conversion: carts completed, a checkout that loses few shoppers, abandoned carts reminded."""

from __future__ import annotations

import ibis
import pandas as pd

from ...engine import Tables
from ...i18n import N_, Text, count, hours, money, share, word
from ...metrics import funnel, presence
from ...metrics.carts import carts
from ...metrics.orders import average_order_value
from .. import windows
from ..base import KLAVIYO_FLOWS, WORKBOOK, Chart, Evidence, NotEnoughData, Options, check, cite, rate

# Reminder timing groups, in the order the report shows them.
PROMPT, SAME_DAY, LATE, NONE = "within 4 h", "4–24 h", "after 24 h", "not reminded"


class CartAbandonmentOptions(Options):
    """Cart abandonment: tunables beside the control points."""

    window_days: int = 7
    min_carts: int = 100
    recovered: float = rate(
        0.0171, "share of the extra abandoned carts that end in an order (median flow placed-order rate)", KLAVIYO_FLOWS
    )


@check(
    id="conversion.cart_abandonment",
    stage="conversion",
    title="Shoppers complete the carts they start",
    failure_title="Most carts are abandoned",
    needs=("events.event_type=add_to_cart", "events.event_type=purchase"),
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
    windows.require(tables, int(o.window_days), "window_days")
    c = carts(tables, int(o.window_days))
    by = (
        c.group_by("device")
        .aggregate(
            carts=c.count(),
            abandoned=c.abandoned.sum(),
            abandoned_after_checkout=(c.abandoned & c.reached_checkout).sum(),
        )
        .to_pandas()
    )
    total = int(by["carts"].sum())
    if total < o.min_carts:
        raise NotEnoughData(
            Text(
                "needs at least {min} carts (visits with an add-to-cart) to judge; the events hold {found}",
                min=count(o.min_carts),
                found=count(total),
            )
        )
    abandoned = int(by["abandoned"].sum())
    rate = abandoned / total
    table = by.assign(
        abandonment=by["abandoned"] / by["carts"],
        share_reaching_checkout=by["abandoned_after_checkout"] / by["abandoned"].where(by["abandoned"] > 0),
    )
    table = table.sort_values("carts", ascending=False).reset_index(drop=True)
    table = table[["device", "carts", "abandoned", "abandonment", "share_reaching_checkout"]]
    aov = average_order_value(tables)
    at_stake = method = None
    if aov:
        excess = max(0.0, rate - o.good) * total
        at_stake = excess * o.recovered * aov
        method = Text(
            "carts beyond a {good} abandonment rate ({excess} carts) × the share of them that would end in an "
            "order, as an automated flow's placed-order rate ({rate}) × average order value ({aov}), over the "
            "period analysed",
            good=share(o.good, 0),
            excess=count(excess),
            rate=cite(o, "recovered"),
            aov=money(aov, 2),
        )
    worst = table.loc[table["abandonment"].idxmax()]
    chart = Chart(
        kind="bar",
        data=table,
        x="device",
        y="abandonment",
        title=Text("Carts not bought within {days} days, by device", days=count(o.window_days)),
        x_label=Text("Device"),
        y_label=Text("Carts abandoned"),
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
        details={
            "carts": total,
            "abandoned": abandoned,
            "worst_device": worst["device"],
            "worst_rate": float(worst["abandonment"]),
            "window_days": int(o.window_days),
        },
        summary=Text(
            "{abandoned} of {total} carts ({rate}) were not bought within {days} days; worst on {device} ({worst}).",
            abandoned=count(abandoned),
            total=count(total),
            rate=share(rate, 1),
            days=count(o.window_days),
            device=word(worst["device"]),
            worst=share(worst["abandonment"], 1),
        ),
    )


# --- the purchase funnel ---------------------------------------------------------------------------


class CheckoutFunnelOptions(Options):
    """Checkout funnel: tunables beside the control points."""

    min_sessions: int = 300
    fixed: float = rate(
        0.5, "share of the visits lost at the worst step that a fix of that step wins back", WORKBOOK, "default"
    )


@check(
    id="conversion.checkout_funnel",
    stage="conversion",
    title="Every device gets shoppers through each step of the purchase",
    failure_title="One step of the purchase loses far more shoppers on one device",
    needs=(
        "events.customer_id",
        "events.device",
        "events.event_type=product_view",
        "events.event_type=add_to_cart",
        "events.event_type=begin_checkout",
        "events.event_type=purchase",
    ),
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
        raise NotEnoughData(
            Text(
                "needs at least {min} visits of known customers at every step on two devices "
                "to compare them; the best-covered device has {found}",
                min=count(o.min_sessions),
                found=count(biggest),
            )
        )
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
        at_stake = lost * o.fixed * finish * aov
        method = Text(
            "visits that reached the step before {step} on {device} ({entering}) × the shortfall of "
            "its rate against {good} of the best device's ({gap}) × the share of those visits a fix wins back "
            "({fixed}) × the share of {device} visits past that step that end in a purchase ({finish}) × "
            "average order value ({aov}), over the period analysed",
            fixed=cite(o, "fixed"),
            step=word(worst["step"]),
            device=word(worst["device"]),
            entering=count(worst["entering"]),
            good=share(o.good, 0),
            gap=share(gap, 1),
            finish=share(finish, 0),
            aov=money(aov, 2),
        )
    chart_data = judged[["device", "step", "step_rate"]]
    chart = Chart(
        kind="bar",
        data=chart_data,
        x="step",
        y="step_rate",
        hue="device",
        title=Text("Visits of known customers reaching each step from the one before, by device"),
        x_label=Text("Step reached"),
        y_label=Text("Share of visits at the step before"),
        y_unit="share",
    )
    overall = f.groupby("step", sort=False)["sessions"].sum()
    whole = float(overall.iloc[-1] / overall.iloc[0]) if overall.iloc[0] else None
    summary = Text(
        "The worst step is {step} on {device}: {rate} of visits at the step before get there, against "
        "{best} on {best_device} ({gap} as good)",
        step=word(worst["step"]),
        device=word(worst["device"]),
        rate=share(worst["step_rate"], 1),
        best=share(best_rate, 1),
        best_device=word(best_device),
        gap=share(value, 0),
    )
    if whole is not None:
        summary += Text(
            "; {whole} of known customers' visits with a product view end in a purchase", whole=share(whole, 1)
        )
    return Evidence(
        value=value,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details={
            "worst_step": worst["step"],
            "worst_device": worst["device"],
            "worst_rate": float(worst["step_rate"]),
            "best_device": best_device,
            "best_rate": best_rate,
            "lost_visits": lost,
            "view_to_purchase": whole,
        },
        summary=summary + ".",
    )


def _reminded_carts(tables, window_days: int):
    """Carts left at the end of a visit by known (and, where known, opted-in) customers, with their reminders."""
    c = carts(tables, window_days)
    c = c.filter(c.left & c.customer_id.notnull())
    if presence.has_values(tables, "customers", "email_opt_in"):  # absent or empty on every row: unknown
        cu = tables["customers"]
        reachable = cu.filter(cu.email_opt_in.fill_null(False)).select(rid=cu.customer_id)
        c = c.semi_join(reachable, c.customer_id == reachable.rid)
    m = tables["messages"]
    r = m.filter(m.message_type == "abandoned_cart").select(
        rcust=m.customer_id, sent_at=m.sent_at, opened_at=m.opened_at
    )
    j = c.join(
        r,
        [c.customer_id == r.rcust, r.sent_at >= c.cart_at, r.sent_at <= c.cart_at + ibis.interval(days=window_days)],
        how="left",
    )
    # The first reminder's opening: of reminders sent at the same first moment, the earliest opened (an arg-min
    # took whichever the engine met first, which differs between DuckDB's threads and Spark's tasks).
    j = j.mutate(_first_sent=j.sent_at.min().over(group_by=j.session_id))
    per = j.group_by("session_id").aggregate(
        first_sent=j.sent_at.min(),
        reminders=j.sent_at.count(),
        first_opened=j.opened_at.min(where=j.sent_at == j._first_sent),
    )
    out = c.left_join(per, "session_id").drop("session_id_right")
    return out.select(
        "session_id", "device", "cart_at", "bought_at", "first_sent", "reminders", "first_opened"
    ).to_pandas()


class AbandonedCartRecoveryOptions(Options):
    """Abandoned cart recovery: tunables beside the control points."""

    window_days: int = 7
    min_carts: int = 50
    min_group: int = 30
    recovered: float = rate(
        0.0171, "share of reminded abandoned carts that end in an order (median flow placed-order rate)", KLAVIYO_FLOWS
    )


@check(
    id="conversion.abandoned_cart_recovery",
    stage="conversion",
    title="Abandoned carts are reminded promptly and followed up",
    failure_title="Abandoned carts are not reminded, or too late",
    needs=("events.event_type=add_to_cart", "events.customer_id", "messages.message_type=abandoned_cart"),
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
    windows.require(tables, int(o.window_days), "window_days")
    window = int(o.window_days)
    df = _reminded_carts(tables, window)
    if len(df) < o.min_carts:
        raise NotEnoughData(
            Text(
                "needs at least {min} carts left by known, reachable customers; found {found}",
                min=count(o.min_carts),
                found=count(len(df)),
            )
        )
    delay_h = (df["first_sent"] - df["cart_at"]).dt.total_seconds() / 3600
    group = pd.Series(NONE, index=df.index)
    group[delay_h <= 24] = SAME_DAY
    group[delay_h <= 4] = PROMPT
    group[delay_h > 24] = LATE
    df = df.assign(
        group=pd.Categorical(group, [PROMPT, SAME_DAY, LATE, NONE], ordered=True), recovered=df["bought_at"].notna()
    )
    table = (
        df.groupby("group", observed=False)
        .agg(carts=("session_id", "size"), recovered=("recovered", "sum"))
        .reset_index()
    )
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
    at_stake = not_prompt * o.recovered * aov
    method = Text(
        "{n} carts not reminded within 4 h × the share of reminded carts that end in an order, as an automated "
        "flow's placed-order rate ({rate}) × average order value ({aov}), over the period analysed",
        n=count(not_prompt),
        rate=cite(o, "recovered"),
        aov=money(aov, 2),
    )
    chart = Chart(
        kind="bar",
        data=table,
        x="reminder",
        y="recovery_rate",
        title=Text("Abandoned carts bought within {days} days, by when the first reminder came", days=count(window)),
        x_label=Text("First reminder after the cart was left"),
        y_label=Text("Carts recovered"),
        y_unit="share",
    )
    median_delay = float(delay_h.median()) if reminded.any() else None
    details = {
        "carts": len(df),
        "reminded": int(reminded.sum()),
        "reminded_within_24h": within_24h,
        "median_delay_hours": median_delay,
        "follow_up_rate": follow_up,
        "recovery_reminded_within_4h": float(prompt.mean()) if len(prompt) else None,
        "recovery_not_reminded": float(base),
    }
    summary = Text(
        "{n} of {total} carts left by reachable customers were reminded ({rate}); {within} within 24 h",
        n=count(reminded.sum()),
        total=count(len(df)),
        rate=share(reminded.mean(), 1),
        within=share(within_24h, 1),
    )
    if median_delay is not None:
        summary += Text(", the first reminder after a median {delay}", delay=hours(round(median_delay, 1)))
    if follow_up is not None:
        summary += Text("; {rate} of unopened reminders were followed up", rate=share(follow_up, 0))
    return Evidence(
        value=within_24h,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details=details,
        summary=summary + ".",
    )
