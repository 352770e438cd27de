"""Acquisition: once visitors arrive, does the site give them a reason and a first step?"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from ..engine import Tables
from ..i18n import N_, Text, count, money, number, share, word
from ..metrics.first_purchase import DECISION_BANDS, decision_band, first_orders, first_visits
from ..metrics.orders import average_order_value
from ..metrics.sessions import sessions
from .base import Chart, Evidence, NotEnoughData, Options, check


class HomepageValuePropositionOptions(Options):
    """Homepage value proposition: tunables beside the control points."""

    min_sessions: int = 200


@check(
    id="acquisition.homepage_value_proposition",
    stage="acquisition",
    title="The homepage gives visitors a reason and a first step",
    failure_title="Most visitors leave the homepage without a next step",
    needs=("events",),
    better="lower",
    good=0.40,
    poor=0.60,
    unit="share",
    source="HubSpot compilation of bounce-rate benchmarks: retail and e-commerce sites 20–40 % "
           "(secondary); a bounce here is a visit that ends on the page it landed on",
    description="Share of visits landing on the homepage that end there, compared with visits landing on "
                "other pages; how many take a next step, and how quickly.",
    advice=(
        "State on the homepage why someone should buy from you and not elsewhere: what you offer that others "
        "do not — better prices, irresistible deals, a unique range.",
        "Back the claim with proof: customer reviews and ratings on the homepage speak for the shop.",
        "Make the first step obvious: current offers, deals and one clear call to action above the fold, "
        "so a visitor knows where to go next.",
        "Compare with the entry pages that keep visitors: what they show first is a good start for the "
        "homepage.",
    ),
    columns={
        "next_step": N_("Next step taken"),
        "median_seconds_to_next": N_("Median seconds to the next step"),
        "purchase_rate_engaged": N_("Purchase rate of visits that go on"),
    },
    options=HomepageValuePropositionOptions,
)
def homepage_value_proposition(tables: Tables, o: HomepageValuePropositionOptions) -> Evidence:
    s = sessions(tables)
    by = s.group_by("landing").aggregate(
        sessions=s.count(),
        bounces=s.bounced.sum(),
        purchases=(s.purchases > 0).sum(),
        median_seconds_to_next=s.seconds_to_next.median(),
    ).to_pandas()
    home = by[by["landing"] == "home"]
    n_home = int(home["sessions"].sum())
    if n_home < o.min_sessions:
        raise NotEnoughData(Text("needs at least {min} visits that land on the homepage (page_type 'home' as "
                                 "the first event); found {found}", min=count(o.min_sessions), found=count(n_home)))
    by["bounce_rate"] = by["bounces"] / by["sessions"]
    by["next_step"] = 1 - by["bounce_rate"]
    engaged = by["sessions"] - by["bounces"]
    by["purchase_rate_engaged"] = by["purchases"] / engaged.where(engaged > 0)
    by = by.sort_values("sessions", ascending=False).reset_index(drop=True)
    table = by[["landing", "sessions", "bounce_rate", "next_step", "median_seconds_to_next",
                "purchase_rate_engaged"]]

    h = by[by["landing"] == "home"].iloc[0]
    rate = float(h["bounce_rate"])
    others = by[by["landing"] != "home"]
    other_rate = float(others["bounces"].sum() / others["sessions"].sum()) if len(others) else None

    # Money: visits the homepage would keep at the better of the benchmark and the shop's other entry
    # pages, times how often an engaged homepage visit buys, times the average order value.
    target = min(o.good, other_rate) if other_rate is not None else o.good
    kept = max(0.0, rate - target) * n_home
    aov = average_order_value(tables)
    buy = h["purchase_rate_engaged"]
    at_stake = method = None
    if aov and buy == buy:
        at_stake = kept * float(buy) * aov
        method = Text("homepage visits that would stay at a {target} bounce rate ({kept}) × the purchase rate of "
                      "homepage visits that go on ({buy}) × average order value ({aov}), over the period analysed",
                      target=share(target, 0), kept=count(kept), buy=share(buy, 1), aov=money(aov, 2))
    chart = Chart(kind="bar", data=table, x="landing", y="bounce_rate",
                  title=Text("Visits that end on the page they landed on, by landing page type"),
                  x_label=Text("Landing page type"), y_label=Text("Bounce rate"), y_unit="share",
                  reference=o.good, reference_label=Text("good"))
    summary = Text("{rate} of {n} visits landing on the homepage ended there", rate=share(rate, 1), n=count(n_home))
    if other_rate is not None:
        summary += Text(", against {rate} on the other entry pages", rate=share(other_rate, 1))
    secs = h["median_seconds_to_next"]
    if secs == secs:
        summary += Text("; those who went on took a median {secs} s to their first step", secs=number(secs, 0))
    return Evidence(value=rate, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details={"home_sessions": n_home, "home_bounce": rate, "other_bounce": other_rate,
                             "next_step": 1 - rate},
                    summary=summary + ".")


# Channels the shop pays for per visit or per click; their visitors came for a specific ad or offer.
PAID_CHANNELS = ("paid_search", "paid_social", "display", "affiliate")
PAID, UNPAID = "paid", "unpaid"


class LandingPageMatchOptions(Options):
    """Landing page match: tunables beside the control points."""

    min_sessions: int = 200
    min_group: int = 30


@check(
    id="acquisition.landing_page_match",
    stage="acquisition",
    title="Paid visitors land on pages that keep them",
    failure_title="Paid visitors land on pages that do not match what brought them",
    needs=("events",),
    better="lower",
    good=0.40,
    poor=0.60,
    unit="share",
    source="HubSpot compilation of bounce-rate benchmarks: retail and e-commerce sites 20–40 % (secondary); "
           "workbook default: 40 % is good for paid visits that land off the homepage, 60 % is poor — "
           "two in five above the retail range, well below the 70–90 % the same compilation gives for "
           "generic landing pages",
    description="Share of visits from paid channels (search and social ads, display, affiliates) that land "
                "on a page other than the homepage and end there, by landing page type and channel, "
                "compared with unpaid visits landing on the same kind of page.",
    advice=(
        "Build a landing page for each campaign that answers what the ad promised: the product, offer or "
        "keyword the visitor clicked on, not a generic page.",
        "Tie each landing page to the tactic that sends traffic to it: someone who searched for a specific "
        "product should land on that product with reviews, ratings and what sets the shop apart.",
        "Give every landing page one clear next step and check the whole way from the click over the landing "
        "page to the product page and the cart.",
        "Start with the channel and page type that bounce most and carry the most paid visits.",
    ),
    columns={
        "traffic": N_("Traffic"),
    },
    options=LandingPageMatchOptions,
)
def landing_page_match(tables: Tables, o: LandingPageMatchOptions) -> Evidence:
    s = sessions(tables)
    s = s.mutate(traffic=s.channel.isin(PAID_CHANNELS).ifelse(PAID, UNPAID))
    by = s.group_by(["traffic", "channel", "landing"]).aggregate(
        sessions=s.count(),
        bounces=s.bounced.sum(),
        purchases=(s.purchases > 0).sum(),
    ).to_pandas()
    off = by[by["landing"] != "home"]
    paid = off[off["traffic"] == PAID]
    n_paid = int(paid["sessions"].sum())
    if n_paid < o.min_sessions:
        raise NotEnoughData(Text("needs at least {min} visits from paid channels that land off the homepage; "
                                 "found {found}", min=count(o.min_sessions), found=count(n_paid)))
    rate = float(paid["bounces"].sum() / n_paid)
    unpaid = off[off["traffic"] == UNPAID]
    n_unpaid = int(unpaid["sessions"].sum())
    unpaid_rate = float(unpaid["bounces"].sum() / n_unpaid) if n_unpaid >= o.min_group else None

    # Evidence: bounce by channel and landing page type, paid first, worst first.
    table = by[by["sessions"] >= o.min_group].assign(bounce_rate=lambda d: d["bounces"] / d["sessions"])
    table = table.sort_values(["traffic", "bounce_rate"], ascending=[True, False]).reset_index(drop=True)
    table = table[["traffic", "channel", "landing", "sessions", "bounce_rate"]]
    # Chart: paid vs unpaid bounce by landing page type.
    grouped = by.groupby(["landing", "traffic"], as_index=False)[["sessions", "bounces"]].sum()
    grouped = grouped[grouped["sessions"] >= o.min_group]
    grouped = grouped.assign(bounce_rate=grouped["bounces"] / grouped["sessions"])
    order = (grouped[grouped["traffic"] == PAID].sort_values("bounce_rate", ascending=False)["landing"].tolist())
    grouped["_o"] = grouped["landing"].map({k: i for i, k in enumerate(order)}).fillna(len(order))
    grouped = grouped.sort_values(["_o", "traffic"]).drop(columns="_o").reset_index(drop=True)
    chart = Chart(kind="bar", data=grouped[["landing", "traffic", "bounce_rate"]], x="landing", y="bounce_rate",
                  hue="traffic",
                  title=Text("Visits that end on the page they landed on: paid against unpaid traffic"),
                  x_label=Text("Landing page type"), y_label=Text("Bounce rate"), y_unit="share",
                  reference=o.good, reference_label=Text("good"))

    # Money: paid visits that would stay at the better of the benchmark and the shop's own unpaid landings,
    # times how often an engaged paid visit buys, times the average order value.
    target = min(o.good, unpaid_rate) if unpaid_rate is not None else o.good
    kept = max(0.0, rate - target) * n_paid
    engaged = n_paid - int(paid["bounces"].sum())
    buy = paid["purchases"].sum() / engaged if engaged > 0 else None
    aov = average_order_value(tables)
    at_stake = method = None
    if aov and buy is not None:
        at_stake = kept * float(buy) * aov
        method = Text("paid visits landing off the homepage that would stay at a {target} bounce rate ({kept}) × "
                      "the purchase rate of paid visits that go on ({buy}) × average order value ({aov}), over "
                      "the period analysed", target=share(target, 0), kept=count(kept), buy=share(buy, 1),
                      aov=money(aov, 2))
    paid_off = table[(table["traffic"] == PAID) & (table["landing"] != "home")]
    worst = paid_off.iloc[0] if len(paid_off) else None
    summary = Text("{rate} of {n} paid visits landing off the homepage ended on the page they landed on",
                   rate=share(rate, 1), n=count(n_paid))
    if unpaid_rate is not None:
        summary += Text(", against {rate} of unpaid visits landing on the same kinds of page",
                        rate=share(unpaid_rate, 1))
    if worst is not None:
        summary += Text("; worst: {channel} on the {page} ({worst})", channel=word(worst["channel"]),
                        page=word(worst["landing"]), worst=share(worst["bounce_rate"], 1))
    return Evidence(value=rate, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details={"paid_sessions": n_paid, "paid_bounce": rate, "unpaid_sessions": n_unpaid,
                             "unpaid_bounce": unpaid_rate,
                             "gap": None if unpaid_rate is None else rate - unpaid_rate},
                    summary=summary + ".")


# Groups of price changes by size, in the order the chart shows them.
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
    j = lines.join(c, [lines.product_id == c.product_id,
                       lines.order_time >= c.valid_from - ibis.interval(days=window_days),
                       lines.order_time < c.valid_from + ibis.interval(days=window_days)])
    own = j.group_by("_i").aggregate(
        units_before=(j.order_time < j.valid_from).ifelse(j.quantity, 0).sum(),
        units_after=(j.order_time >= j.valid_from).ifelse(j.quantity, 0).sum(),
    ).to_pandas().set_index("_i")
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
    window = int(o.window_days)
    ch = price_changes(tables, window)
    rises = ch[ch["new_price"] > ch["old_price"]] if len(ch) else ch
    units = float(rises["units_before"].sum() + rises["units_after"].sum()) if len(rises) else 0.0
    if units < o.min_units:
        raise NotEnoughData(Text("needs at least {min} units sold in the {days} days before and after price rises "
                                 "(rises whose windows lie inside the period) to tell a price effect from noise; "
                                 "found {found} units around {rises} rises", min=count(o.min_units),
                                 days=count(window), found=count(units), rises=count(len(rises))))
    ch = ch.assign(price_change=ch["new_price"] / ch["old_price"] - 1,
                   trend=ch["shop_after"] / ch["shop_before"].where(ch["shop_before"] > 0))
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
    price = float((r["new_price"] * r["units_before"]).sum() / r["units_before"].sum()) \
        if r["units_before"].sum() > 0 else float(r["new_price"].mean())
    at_stake = lost * price
    method = Text("units the {rises} price rises sold in the {days} days after them below a {good} demand ratio "
                  "({lost} units) × their mean new price ({price})", rises=count(len(r)), days=count(window),
                  good=number(o.good, 2), lost=count(lost), price=money(price, 2))

    ch["price_change_band"] = ch["price_change"].round(6).map(_price_band)
    bands = ch[ch["trend"].notna()].groupby("price_change_band").agg(
        changes=("product_id", "size"), units_before=("units_before", "sum"), units_after=("units_after", "sum"),
        shop_before=("shop_before", "sum"), shop_after=("shop_after", "sum"))
    bands = bands.reindex([b for b in PRICE_BANDS if b in bands.index])
    bands["demand_ratio"] = (bands["units_after"] / bands["units_before"].where(bands["units_before"] > 0)) / \
        (bands["shop_after"] / bands["shop_before"])
    bands = bands.reset_index()
    chart = Chart(kind="bar", data=bands[["price_change_band", "demand_ratio"]], x="price_change_band", y="demand_ratio",
                  title=Text("Demand in the {days} days after a price change over the {days} days before, "
                             "corrected for the shop's trend", days=count(window)),
                  x_label=Text("Price change"), y_label=Text("Demand after / before (1 = unchanged)"),
                  y_unit="ratio", reference=o.good, reference_label=Text("good"))
    # "change" in percent: a column named after a price would print as money.
    table = ch.assign(changed_on=ch["valid_from"].dt.date, change=(ch["price_change"] * 100).round(1))
    table = table.sort_values(["change", "demand_ratio"], ascending=[False, True]).reset_index(drop=True)
    table = table[["product_id", "changed_on", "old_price", "new_price", "change", "units_before",
                   "units_after", "trend", "demand_ratio"]]
    summary = Text("After {rises} price rises (a median {rise}), the products sold {ratio} times their units of "
                   "the {days} days before, relative to the shop's trend", rises=count(len(r)),
                   rise=share(r["price_change"].median(), 0), ratio=number(ratio, 2), days=count(window))
    if elasticity is not None:
        summary += Text("; estimated price elasticity {e} over {n} price changes", e=number(elasticity, 1),
                        n=count(len(ok)))
    return Evidence(value=ratio, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details={"rises": len(r), "changes": len(ch), "units_in_windows": units, "own_ratio": float(own),
                             "trend_ratio": float(trend), "elasticity": elasticity, "lost_units": lost},
                    summary=summary + ".")


WITH_OFFER, WITHOUT_OFFER = "with an incentive", "without an incentive"


def _anonymous_starts(tables):
    """Sessions whose first event carries no customer_id: begun by a visitor the shop did not know yet."""
    ev = tables["events"]
    w = ibis.window(group_by=ev.session_id, order_by=[ev.event_time])
    first = ev.mutate(_rn=ibis.row_number().over(w))
    return first.filter((first._rn == 0) & first.customer_id.isnull()).select("session_id")


def _sign_ups(tables, anon, order_days: int, end):
    """Visitors who signed up in an anonymous visit: when, whether a welcome message carried an offer, and
    whether they placed a first order within `order_days` (only for sign-ups at least that long before the end)."""
    ev, m = tables["events"], tables["messages"]
    su = ev.filter(ev.event_type == "sign_up").semi_join(anon, "session_id")
    su = su.filter(su.customer_id.notnull()).group_by("customer_id").aggregate(signed_up_at=su.event_time.min())
    welcome = m.filter(m.message_type == "welcome")
    offer = welcome.filter(welcome.campaign_id.lower().contains("offer")).select(oid=welcome.customer_id).distinct()
    su = su.left_join(offer, su.customer_id == offer.oid).mutate(offer=lambda t: t.oid.notnull()).drop("oid")
    su = su.mutate(eligible=su.signed_up_at <= ibis.literal(end - pd.Timedelta(days=order_days)))
    if tables.has("orders"):
        od = tables["orders"]
        first = od.filter(od.customer_id.notnull()).group_by(fid=od.customer_id).aggregate(
            first_order=od.order_time.min())
        su = su.left_join(first, su.customer_id == first.fid).drop("fid")
        su = su.mutate(ordered=su.first_order.notnull()
                       & (su.first_order <= su.signed_up_at + ibis.interval(days=order_days)))
    else:
        su = su.mutate(ordered=ibis.null().cast("boolean"))
    return su.select("customer_id", "signed_up_at", "offer", "eligible", "ordered").to_pandas()


class LeadCaptureOptions(Options):
    """Lead capture: tunables beside the control points."""

    min_sessions: int = 1000
    order_days: int = 60
    min_group: int = 30


@check(
    id="acquisition.lead_capture",
    stage="acquisition",
    title="Visitors who do not buy yet leave their contact details",
    failure_title="Visitors who do not buy leave without a way to reach them again",
    needs=("events", "messages"),
    better="higher",
    good=0.01,
    poor=0.003,
    unit="share",
    source="Workbook default (no benchmark in the workbook's sources for sign-up rates): one sign-up in 100 visits "
           "by unknown visitors who do not buy is good, fewer than 3 in 1000 is poor — a shop with a visible "
           "newsletter box and a reason to sign up reaches the first, a shop without one stays near zero",
    description="Share of visits begun by an unknown visitor that end without a purchase but with a sign-up "
                "(the visitor leaves an e-mail address), by landing page type; and, of those who signed up, how "
                "many placed a first order within 60 days, with an incentive (a welcome message carrying an offer, "
                "campaign id containing 'offer') and without.",
    advice=(
        "Offer visitors who are not ready to buy a way to stay in touch: a free newsletter sign-up on the homepage, "
        "the landing pages and the product pages.",
        "Give them a carrot for it: a discount on the first order, free shipping or early access in return for "
        "the e-mail address.",
        "Tailor what follows to the new contact: greet them by name and send content that matches what they "
        "looked at, so the newsletter moves them toward the first order.",
    ),
    columns={
        "visits": N_("Visits"),
        "sign_ups": N_("Sign-ups"),
        "sign_up_rate": N_("Sign-up rate"),
    },
    options=LeadCaptureOptions,
    bounded=False,
)
def lead_capture(tables: Tables, o: LeadCaptureOptions) -> Evidence:
    anon = _anonymous_starts(tables)
    s = sessions(tables).semi_join(anon, "session_id")
    s = s.filter(s.purchases == 0)
    by = s.group_by("landing").aggregate(visits=s.count(), sign_ups=(s.sign_ups > 0).sum()).to_pandas()
    n = int(by["visits"].sum())
    if n < o.min_sessions:
        raise NotEnoughData(Text("needs at least {min} visits begun by unknown visitors (no customer_id on the first "
                                 "event) that end without a purchase; found {found}", min=count(o.min_sessions),
                                 found=count(n)))
    signed = int(by["sign_ups"].sum())
    rate = signed / n
    by["sign_up_rate"] = by["sign_ups"] / by["visits"]
    table = by.sort_values("visits", ascending=False).reset_index(drop=True)[["landing", "visits", "sign_ups",
                                                                                "sign_up_rate"]]
    days_ = int(o.order_days)
    su = _sign_ups(tables, anon, days_, tables.period[1])
    el = su[su["eligible"] & su["ordered"].notna()]
    groups = {}
    for name, part in ((WITH_OFFER, el[el["offer"]]), (WITHOUT_OFFER, el[~el["offer"]])):
        groups[name] = (len(part), float(part["ordered"].mean()) if len(part) >= o.min_group else None)
    offered = bool(su["offer"].any()) if len(su) else False

    # Money: sign-ups missing against a good rate × how often a sign-up places a first order × AOV.
    aov = average_order_value(tables)
    at_stake = method = None
    missing = max(0.0, o.good - rate) * n
    if aov:
        conv = groups[WITH_OFFER][1]
        how = Text("the first-order rate of sign-ups with an incentive here ({rate})", rate=share(conv or 0, 1))
        if conv is None and len(el) >= o.min_group:
            conv = float(el["ordered"].mean())
            how = Text("the first-order rate of sign-ups here ({rate})", rate=share(conv, 1))
        if conv is None:
            conv = 0.0171
            how = Text("too few sign-ups here to measure, so the median placed-order rate of automated flows "
                       "({rate}, Klaviyo Benchmark Report 2024)", rate=share(conv, 2))
        at_stake = missing * conv * aov
        method = Text("sign-ups missing against a {good} sign-up rate ({missing}) × {how} × average order value "
                      "({aov}), over the period analysed", good=share(o.good, 0), missing=count(missing), how=how,
                      aov=money(aov, 2))
    chart = Chart(kind="bar", data=table, x="landing", y="sign_up_rate",
                  title=Text("Visits by unknown visitors that end in a sign-up rather than nothing, by landing page"),
                  x_label=Text("Landing page type"), y_label=Text("Sign-up rate"), y_unit="share",
                  reference=o.good, reference_label=Text("good"))
    summary = Text("{signed} of {n} visits by unknown visitors that did not buy ({rate}) ended with a sign-up",
                   signed=count(signed), n=count(n), rate=share(rate, 2))
    (n_with, r_with), (n_without, r_without) = groups[WITH_OFFER], groups[WITHOUT_OFFER]
    if not offered:
        summary += Text("; no welcome message offered an incentive for signing up")
    elif r_with is not None and r_without is not None:
        summary += Text("; {with_} of sign-ups with an incentive placed a first order within {days} days, against "
                        "{without} without", with_=share(r_with, 0), days=count(days_), without=share(r_without, 0))
    elif r_with is not None:
        summary += Text("; {with_} of sign-ups with an incentive placed a first order within {days} days",
                        with_=share(r_with, 0), days=count(days_))
    return Evidence(value=rate, table=table, chart=chart, at_stake=at_stake, at_stake_method=method,
                    details={"visits": n, "sign_ups": signed, "sign_up_rate": rate, "incentive_offered": offered,
                             "sign_ups_with_incentive": n_with, "first_order_rate_with_incentive": r_with,
                             "sign_ups_without_incentive": n_without, "first_order_rate_without_incentive": r_without,
                             "missing_sign_ups": missing},
                    summary=summary + ".")
class TimeToFirstPurchaseOptions(Options):
    """Time to first purchase: tunables beside the control points."""

    decide_days: int = 7
    lookback_days: int = 21
    min_customers: int = 50


@check(
    id="acquisition.time_to_first_purchase",
    stage="acquisition",
    title="Welcome messages reach customers while they are still deciding",
    failure_title="The welcome sequence is over before most customers decide",
    needs=("customers", "events", "orders", "messages"),
    better="higher",
    good=0.6,
    poor=0.35,
    unit="share",
    source="Workbook default, no published benchmark for the timing: three in five customers who take a week "
           "or more to decide should hear from the welcome sequence in the three weeks before they buy (good), "
           "fewer than one in three is poor. Klaviyo's flow benchmarks (welcome open 50–55 %, click 9–13 %) "
           "show the welcome flow is read, so its timing matters",
    description="Days from a customer's first visit to the first order, and, of opted-in customers who took a "
                "week or more, the share sent a welcome message in the 21 days before that order; when the "
                "welcome messages go out against when customers decide.",
    advice=(
        "Measure how long your customers take from the first visit to the first purchase, and stretch the welcome "
        "sequence over that time instead of sending it all in the first days.",
        "Space the welcome messages out — for example after a few days, two weeks, one, two and three months — "
        "and stop the sequence as soon as the customer orders.",
        "Use the sequence to earn trust while the customer compares: what sets the shop apart, reviews, "
        "guarantees, and help with choosing.",
    ),
    columns={
        "days_to_first_order": N_("Days from first visit to first order"),
        "share_of_first_orders": N_("Share of first orders"),
        "welcome_messages": N_("Welcome messages"),
        "share_of_welcome_messages": N_("Share of welcome messages"),
        "late_opted": N_("Opted-in customers deciding late"),
        "welcomed_rate": N_("Share welcomed in step"),
    },
    options=TimeToFirstPurchaseOptions,
)
def time_to_first_purchase(tables: Tables, o: TimeToFirstPurchaseOptions) -> Evidence:
    decide, lookback = int(o.decide_days), int(o.lookback_days)
    m = tables["messages"]
    fv = first_visits(tables)
    c = first_orders(tables)
    w = m.filter(m.message_type == "welcome").select(wid=m.customer_id, sent_at=m.sent_at)
    hit = c.join(w, [c.customer_id == w.wid, w.sent_at < c.first_order,
                     w.sent_at >= c.first_order - ibis.interval(days=lookback)])
    hit = hit.select(hid=hit.customer_id).distinct()
    c = c.left_join(hit, c.customer_id == hit.hid).mutate(welcomed=lambda t: t.hid.notnull()).drop("hid")
    c = c.mutate(band=decision_band(c.days), late=c.days >= decide)
    by = c.group_by("band").aggregate(
        first_orders=c.count(),
        late_all=c.late.sum(),
        late_opted=(c.late & c.opted).sum(),
        welcomed=(c.late & c.opted & c.welcomed).sum(),
    ).to_pandas()
    late = int(by["late_opted"].sum())
    if late < o.min_customers:
        raise NotEnoughData(Text("needs at least {min} opted-in customers whose first order came {days} or more days "
                                 "after their first visit; found {found}", min=count(o.min_customers),
                                 days=count(decide), found=count(late)))
    welcomed = int(by["welcomed"].sum())
    rate = welcomed / late
    # When the welcome messages go out, counted in days since the customer's first visit.
    ws = m.filter(m.message_type == "welcome")
    ws = ws.join(fv.select("customer_id", "first_visit"), "customer_id")
    ws = ws.mutate(days=((ws.sent_at.epoch_seconds() - ws.first_visit.epoch_seconds()) / 86400).clip(lower=0))
    wb = ws.group_by(band=decision_band(ws.days)).aggregate(welcome_messages=ws.count()).to_pandas()
    late_days = c.filter(c.late)
    med = late_days.aggregate(d=late_days.days.median()).to_pandas()["d"].iloc[0]
    med_w = ws.aggregate(d=ws.days.median()).to_pandas()["d"].iloc[0]

    labels = [b[2] for b in DECISION_BANDS]
    table = pd.DataFrame({"band": labels}).merge(by, on="band", how="left").merge(wb, on="band", how="left")
    table = table.fillna(0)
    for col in ("first_orders", "late_opted", "welcomed", "welcome_messages"):
        table[col] = table[col].astype(int)
    table["share_of_first_orders"] = table["first_orders"] / max(table["first_orders"].sum(), 1)
    table["share_of_welcome_messages"] = table["welcome_messages"] / max(table["welcome_messages"].sum(), 1)
    table["welcomed_rate"] = table["welcomed"] / table["late_opted"].where(table["late_opted"] > 0)
    table = table.rename(columns={"band": "days_to_first_order"})
    table = table[["days_to_first_order", "first_orders", "share_of_first_orders", "welcome_messages",
                   "share_of_welcome_messages", "late_opted", "welcomed_rate"]]
    chart = Chart(kind="bar", data=table[["days_to_first_order", "share_of_first_orders",
                                          "share_of_welcome_messages"]],
                  x="days_to_first_order", y=["share_of_first_orders", "share_of_welcome_messages"],
                  title=Text("When customers decide and when the welcome messages go out"),
                  x_label=Text("Days since the first visit"), y_label=Text("Share of first orders / of welcome messages"),
                  y_unit="share")
    summary = Text("{welcomed} of {late} opted-in customers who took {days} or more days to their first order "
                   "({rate}) were sent a welcome message in the {lookback} days before it",
                   welcomed=count(welcomed), late=count(late), days=count(decide), rate=share(rate, 1),
                   lookback=count(lookback))
    late_share = float(by["late_all"].sum() / max(by["first_orders"].sum(), 1))
    if med == med:
        summary += Text("; {share} of first orders came {days} or more days after the first visit, a median {med} "
                        "days after it", share=share(late_share, 0), days=count(decide), med=number(med, 0))
    if med_w == med_w:
        summary += Text(", while the welcome messages went out a median {med} days after the first visit",
                        med=number(med_w, 0))
    return Evidence(value=rate, table=table, chart=chart,
                    details={"late_deciders": late, "welcomed": welcomed, "median_days_late_deciders":
                             None if med != med else float(med),
                             "median_welcome_day": None if med_w != med_w else float(med_w),
                             "share_deciding_late": late_share},
                    summary=summary + ".")


