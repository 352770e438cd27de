"""Retention: customers start with the products that keep them longest."""

from __future__ import annotations

from ...engine import Tables
from ...i18n import N_, Text, count, money, share
from ...metrics import expansion as _expansion
from ...metrics.orders import average_order_value
from ..base import Chart, Evidence, NotEnoughData, Options, check


class ExpansionOptions(Options):
    """Expansion: tunables beside the control points."""

    value_days: int = 365
    repeat_days: int = 180
    min_repeat_customers: int = 50
    min_group: int = 20


@check(
    id="retention.expansion",
    stage="retention",
    title="Customers start with the products that keep them longest",
    failure_title="Customers stay with the product they started with",
    needs=("orders.customer_id", "order_lines.category"),
    better="higher",
    good=0.45,
    poor=0.25,
    unit="share",
    source="Workbook default (no published benchmark for a shop's cross-sell rate): 45 % of returning customers "
    "buying from a category their first order did not have is good, 25 % is poor, set between the demo "
    "shop's healthy (54–58 %) and door-opener (5–13 %) figures; a shop selling a single category cannot "
    "be judged",
    description="Share of returning customers whose later orders include a category their first order did not "
    "(cross-sell); by the category of the first order: how many start there, through which channel, "
    "how many order again within 180 days, and their observed value in the 12 months after the "
    "first order.",
    advice=(
        "Find the first product that brings the most valuable customers, not just the most customers: the "
        "product that acquires customers is not necessarily the one with the highest lifetime value.",
        "After the first order, recommend related products from other categories, based on what the customer "
        "bought — a CRM or e-mail tool can do it per customer.",
        "Give first-time buyers of a weak door-opener category a reason to come back for something else, e.g. an "
        "offer on a complementary category with the follow-up message.",
        "Point acquisition (ads, landing pages) at the first products whose buyers come back, and watch how "
        "often a discount code is needed: used too often it stops working.",
    ),
    columns={
        "first_category": N_("Category of the first order"),
        "share_of_first_buyers": N_("Share of first-time buyers"),
        "ordered_again_180d": N_("Ordered again within 180 days"),
        "cross_sell_rate": N_("Cross-sell rate"),
        "customers_observed_12m": N_("Customers observed 12 months"),
        "value_first_12m": N_("Revenue in the 12 months from the first order"),
        "main_channel": N_("Main acquisition channel"),
        "main_channel_share": N_("Share from the main channel"),
    },
    options=ExpansionOptions,
)
def expansion(tables: Tables, o: ExpansionOptions) -> Evidence:
    df = _expansion.first_products(tables, int(o.value_days), int(o.repeat_days))
    cats = df["first_category"].dropna().nunique()
    if cats < 2:
        raise NotEnoughData(
            Text("needs order lines with at least 2 product categories; found {found}", found=count(cats))
        )
    judged = df["cross_sold"].dropna()
    if len(judged) < o.min_repeat_customers:
        raise NotEnoughData(
            Text(
                "needs at least {min} customers with a second order to judge; found {found}",
                min=count(o.min_repeat_customers),
                found=count(len(judged)),
            )
        )
    rate = float(judged.astype(bool).mean())
    d = df.dropna(subset=["first_category"])
    agg = dict(
        customers=("customer_id", "size"),
        ordered_again_180d=("ordered_again", "mean"),
        cross_sell_rate=("cross_sold", "mean"),
        customers_observed_12m=("value", "count"),
        value_first_12m=("value", "mean"),
    )
    table = d.groupby("first_category").agg(**agg).reset_index()
    table = table.astype({c: float for c in ("ordered_again_180d", "cross_sell_rate", "value_first_12m")})
    table.insert(2, "share_of_first_buyers", table["customers"] / len(d))
    table.loc[table["customers_observed_12m"] < o.min_group, "value_first_12m"] = float("nan")
    if "acquisition_channel" in d:
        top = d.groupby("first_category")["acquisition_channel"].agg(lambda s: s.value_counts().index[0])
        top_share = d.groupby("first_category")["acquisition_channel"].agg(
            lambda s: s.value_counts(normalize=True).iloc[0]
        )
        table["main_channel"] = table["first_category"].map(top)
        table["main_channel_share"] = table["first_category"].map(top_share).astype(float)
    table = table.sort_values("customers", ascending=False).reset_index(drop=True)

    overall_repeat = d["ordered_again"].dropna()
    overall_repeat = float(overall_repeat.astype(bool).mean()) if len(overall_repeat) else None
    # The weakest large door-opener: among first categories with enough customers, the lowest second-order rate.
    big = table[table["customers"] >= o.min_group].dropna(subset=["ordered_again_180d"])
    weakest = big.loc[big["ordered_again_180d"].idxmin()] if len(big) else None
    details = {
        "repeat_customers": len(judged),
        "cross_sold": int(judged.astype(bool).sum()),
        "categories": cats,
        "first_time_buyers": len(df),
        "second_order_rate": overall_repeat,
    }
    summary = Text(
        "{n} of {total} customers who ordered again ({rate}) bought from a category their first order did not have",
        n=count(int(judged.astype(bool).sum())),
        total=count(len(judged)),
        rate=share(rate, 0),
    )
    # Named only when it clearly trails the shop (a quarter below its second-order rate), not by chance.
    if weakest is not None and overall_repeat and weakest["ordered_again_180d"] < 0.75 * overall_repeat:
        details.update(
            weakest_category=weakest["first_category"],
            weakest_share=float(weakest["share_of_first_buyers"]),
            weakest_second_order_rate=float(weakest["ordered_again_180d"]),
        )
        summary += Text(
            "; {share} of first orders are {category}, whose buyers order again within {days} days least "
            "often ({weak}, against {overall} overall)",
            share=share(weakest["share_of_first_buyers"], 0),
            category=str(weakest["first_category"]),
            days=count(o.repeat_days),
            weak=share(weakest["ordered_again_180d"], 0),
            overall=share(overall_repeat, 0),
        )
    # The most common first category against all other first-time buyers: value in the `repeat_days` from the
    # first order (docs/planted_mistakes.md: 12 months needs 15 months of history, so the shorter window).
    observed = d.dropna(subset=["value_short"])
    if len(observed):
        top = observed["first_category"].value_counts().index[0]
        mine, rest = (
            observed.loc[observed["first_category"] == top, "value_short"],
            observed.loc[observed["first_category"] != top, "value_short"],
        )
        if len(mine) >= o.min_group and len(rest) >= o.min_group and rest.mean() > 0:
            ratio = float(mine.mean() / rest.mean())
            details.update(top_first_category=top, top_value_ratio=ratio)
            summary += Text(
                "; customers who start with {category}, the most common first category, bring {ratio} of "
                "the revenue of the others in the {days} days from their first order",
                category=str(top),
                ratio=share(ratio, 0),
                days=count(o.repeat_days),
            )
    at_stake = method = None
    aov = average_order_value(tables)
    missing = max(0.0, o.good - rate) * len(judged)
    if aov and missing > 0:
        at_stake = missing * aov
        method = Text(
            "returning customers short of a {good} cross-sell rate ({n}) × average order value ({aov}): one "
            "order from another category each, over the period analysed",
            good=share(o.good, 0),
            n=count(missing),
            aov=money(aov, 2),
        )
    chart = Chart(
        kind="bar",
        data=table,
        x="first_category",
        y="ordered_again_180d",
        title=Text(
            "Customers who ordered again within {days} days, by the category of their first order",
            days=count(o.repeat_days),
        ),
        x_label=Text("Category of the first order"),
        y_label=Text("Ordered again"),
        y_unit="share",
        reference=overall_repeat,
        reference_label=Text("all customers"),
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
