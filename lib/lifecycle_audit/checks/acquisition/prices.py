"""Acquisition: price rises that drive customers away."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from ...engine import Tables
from ...i18n import N_, Text, count, money, number, share
from .. import windows
from ..base import Chart, Evidence, NotEnoughData, Options, check

PRICE_BANDS = ("price cut", "rise under 10 %", "rise 10–20 %", "rise 20–30 %", "rise 30 % or more")


def _price_band(change: float) -> str:
    if change < 0:
        return PRICE_BANDS[0]
    for upper, band in ((0.10, PRICE_BANDS[1]), (0.20, PRICE_BANDS[2]), (0.30, PRICE_BANDS[3])):
        if change < upper:
            return band
    return PRICE_BANDS[4]


def price_changes(tables, window_days: int) -> pd.DataFrame:
    """Every price change whose windows of `window_days` before and after lie inside the period, with the
    product's units sold in each window and the shop's units in the same windows (its trend)."""
    pr = tables["prices"].to_pandas().sort_values(["product_id", "valid_from"])
    pr["old_price"] = pr.groupby("product_id")["price"].shift()
    ch = pr[pr["old_price"].notna() & (pr["price"] != pr["old_price"])].rename(columns={"price": "new_price"})
    start, end = tables.period
    w = pd.Timedelta(days=window_days)
    at = pd.to_datetime(ch["valid_from"])
    ch = ch[(at - w >= start) & (at + w <= end)].reset_index(drop=True)
    if ch.empty:
        return ch.assign(units_before=[], units_after=[], shop_before=[], shop_after=[])
    ch["valid_from"] = pd.to_datetime(ch["valid_from"]).astype("datetime64[us]")
    ol, od = tables["order_lines"], tables["orders"]
    lines = ol.join(od.select("order_id", "order_time"), "order_id").select("product_id", "quantity", "order_time")
    c = ibis.memtable(ch[["product_id", "valid_from"]].assign(_i=range(len(ch))))
    j = lines.join(
        c,
        [
            lines.product_id == c.product_id,
            lines.order_time >= c.valid_from - ibis.interval(days=window_days),
            lines.order_time < c.valid_from + ibis.interval(days=window_days),
        ],
    )
    own = (
        j.group_by("_i")
        .aggregate(
            units_before=(j.order_time < j.valid_from).ifelse(j.quantity, 0).sum(),
            units_after=(j.order_time >= j.valid_from).ifelse(j.quantity, 0).sum(),
        )
        .to_pandas()
        .set_index("_i")
    )
    ch = ch.join(own).fillna({"units_before": 0, "units_after": 0})
    # The shop's trend: all units in the same windows (traffic grows, Christmas comes).
    daily = lines.group_by(day=lines.order_time.truncate("D")).aggregate(units=lines.quantity.sum()).to_pandas()
    daily = daily.set_index(pd.to_datetime(daily["day"]))["units"].sort_index()
    cum = daily.cumsum()

    def units_until(t):  # units sold before day t
        i = cum.index.searchsorted(t, side="left")
        return float(cum.iloc[i - 1]) if i > 0 else 0.0

    ch["shop_before"] = [units_until(t) - units_until(t - w) for t in ch["valid_from"]]
    ch["shop_after"] = [units_until(t + w) - units_until(t) for t in ch["valid_from"]]
    return ch


class PriceSensitivityOptions(Options):
    """Price sensitivity: tunables beside the control points."""

    window_days: int = 90
    min_units: int = 200


@check(
    id="acquisition.price_sensitivity",
    stage="acquisition",
    title="Price rises keep their customers",
    failure_title="Price rises drive customers away",
    needs=("prices", "order_lines", "orders"),
    better="higher",
    good=0.7,
    poor=0.55,
    unit="ratio",
    source="Workbook default, no published benchmark: units of a product in the 90 days after a price rise over "
    "the 90 days before, relative to the shop's own trend. A typical rise of 10–15 % at a price "
    "elasticity near −1.2 keeps about 0.85 of demand; 0.7 is good (room for the noise of a few hundred "
    "units), 0.55 is poor — demand falls much faster than the rise adds per unit, so the rise loses revenue",
    description="Units sold of each product in the 90 days after a price change against the 90 days before, "
    "divided by the same ratio for all units of the shop (its trend and season); pooled over price "
    "rises as the headline, with the price elasticity estimated from every change.",
    advice=(
        "Customers are price-sensitive: before raising a price, test it on a few products and watch whether "
        "their sales fall behind the rest of the shop.",
        "Where a rise cost more demand than it brought, take it back or soften it with a bundle, free shipping "
        "or a loyalty discount for existing customers.",
        "Give customers reasons that outweigh the price — service, range, reviews — so that a competitor cannot "
        "cut their lifecycle short on price alone.",
        "Raise prices in small steps rather than one large jump, and announce them to regular customers.",
    ),
    columns={
        "product_id": N_("Product"),
        "changed_on": N_("Changed on"),
        "old_price": N_("Old price"),
        "new_price": N_("New price"),
        "change": N_("Price change (%)"),
        "units_before": N_("Units before"),
        "units_after": N_("Units after"),
        "trend": N_("Shop trend"),
        "demand_ratio": N_("Demand after / before"),
        "price_change_band": N_("Price change"),
    },
    options=PriceSensitivityOptions,
    bounded=False,
)
def price_sensitivity(tables: Tables, o: PriceSensitivityOptions) -> Evidence:
    windows.require(tables, 2 * int(o.window_days), "window_days")  # a window before and one after
    window = int(o.window_days)
    ch = price_changes(tables, window)
    rises = ch[ch["new_price"] > ch["old_price"]] if len(ch) else ch
    units = float(rises["units_before"].sum() + rises["units_after"].sum()) if len(rises) else 0.0
    if units < o.min_units:
        raise NotEnoughData(
            Text(
                "needs at least {min} units sold in the {days} days before and after price rises "
                "(rises whose windows lie inside the period) to tell a price effect from noise; "
                "found {found} units around {rises} rises",
                min=count(o.min_units),
                days=count(window),
                found=count(units),
                rises=count(len(rises)),
            )
        )
    ch = ch.assign(
        price_change=ch["new_price"] / ch["old_price"] - 1,
        trend=ch["shop_after"] / ch["shop_before"].where(ch["shop_before"] > 0),
    )
    ch["demand_ratio"] = (ch["units_after"] / ch["units_before"].where(ch["units_before"] > 0)) / ch["trend"]
    r = ch[ch["price_change"] > 0]
    own = r["units_after"].sum() / r["units_before"].sum()
    trend = r["shop_after"].sum() / r["shop_before"].sum()
    ratio = float(own / trend)

    # Elasticity: log demand change (trend-corrected, smoothed for empty windows) on log price change,
    # through the origin, weighted by the units behind each change.
    ok = ch[ch["trend"].notna() & (ch["trend"] > 0)]
    x = np.log(ok["new_price"] / ok["old_price"])
    y = np.log((ok["units_after"] + 0.5) / (ok["units_before"] + 0.5) / ok["trend"])
    wt = ok["units_before"] + ok["units_after"]
    elasticity = float((wt * x * y).sum() / (wt * x * x).sum()) if (wt * x * x).sum() > 0 else None

    # Money: units the rises lost below a good ratio, at the new prices.
    expected = o.good * r["units_before"] * r["shop_after"] / r["shop_before"]
    lost = max(0.0, float(expected.sum() - r["units_after"].sum()))
    price = (
        float((r["new_price"] * r["units_before"]).sum() / r["units_before"].sum())
        if r["units_before"].sum() > 0
        else float(r["new_price"].mean())
    )
    at_stake = lost * price
    method = Text(
        "units the {rises} price rises sold in the {days} days after them below a {good} demand ratio "
        "({lost} units) × their mean new price ({price})",
        rises=count(len(r)),
        days=count(window),
        good=number(o.good, 2),
        lost=count(lost),
        price=money(price, 2),
    )

    ch["price_change_band"] = ch["price_change"].round(6).map(_price_band)
    bands = (
        ch[ch["trend"].notna()]
        .groupby("price_change_band")
        .agg(
            changes=("product_id", "size"),
            units_before=("units_before", "sum"),
            units_after=("units_after", "sum"),
            shop_before=("shop_before", "sum"),
            shop_after=("shop_after", "sum"),
        )
    )
    bands = bands.reindex([b for b in PRICE_BANDS if b in bands.index])
    bands["demand_ratio"] = (bands["units_after"] / bands["units_before"].where(bands["units_before"] > 0)) / (
        bands["shop_after"] / bands["shop_before"]
    )
    bands = bands.reset_index()
    chart = Chart(
        kind="bar",
        data=bands[["price_change_band", "demand_ratio"]],
        x="price_change_band",
        y="demand_ratio",
        title=Text(
            "Demand in the {days} days after a price change over the {days} days before, "
            "corrected for the shop's trend",
            days=count(window),
        ),
        x_label=Text("Price change"),
        y_label=Text("Demand after / before (1 = unchanged)"),
        y_unit="ratio",
        reference=o.good,
        reference_label=Text("good"),
    )
    # "change" in percent: a column named after a price would print as money.
    table = ch.assign(changed_on=ch["valid_from"].dt.date, change=(ch["price_change"] * 100).round(1))
    table = table.sort_values(["change", "demand_ratio"], ascending=[False, True]).reset_index(drop=True)
    table = table[
        [
            "product_id",
            "changed_on",
            "old_price",
            "new_price",
            "change",
            "units_before",
            "units_after",
            "trend",
            "demand_ratio",
        ]
    ]
    summary = Text(
        "After {rises} price rises (a median {rise}), the products sold {ratio} times their units of "
        "the {days} days before, relative to the shop's trend",
        rises=count(len(r)),
        rise=share(r["price_change"].median(), 0),
        ratio=number(ratio, 2),
        days=count(window),
    )
    if elasticity is not None:
        summary += Text(
            "; estimated price elasticity {e} over {n} price changes", e=number(elasticity, 1), n=count(len(ok))
        )
    return Evidence(
        value=ratio,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details={
            "rises": len(r),
            "changes": len(ch),
            "units_in_windows": units,
            "own_ratio": float(own),
            "trend_ratio": float(trend),
            "elasticity": elasticity,
            "lost_units": lost,
        },
        summary=summary + ".",
    )
