"""Acquisition: the homepage and landing pages give visitors a reason and a first step."""

from __future__ import annotations

from ...engine import Tables
from ...i18n import N_, Text, count, money, number, share, word
from ...metrics.orders import average_order_value
from ...metrics.sessions import sessions
from ..base import LITTLEDATA, Chart, Evidence, NotEnoughData, Options, check, cite, rate


class HomepageValuePropositionOptions(Options):
    """Homepage value proposition: tunables beside the control points."""

    min_sessions: int = 200
    conversion: float = rate(
        0.014, "share of visits that end in an order (average e-commerce conversion rate)", LITTLEDATA, "secondary"
    )


@check(
    id="acquisition.homepage_value_proposition",
    stage="acquisition",
    title="The homepage gives visitors a reason and a first step",
    failure_title="Most visitors leave the homepage without a next step",
    needs=("events.page_type=home",),
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
        "Compare with the entry pages that keep visitors: what they show first is a good start for the homepage.",
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
    by = (
        s.group_by("landing")
        .aggregate(
            sessions=s.count(),
            bounces=s.bounced.sum(),
            purchases=(s.purchases > 0).sum(),
            median_seconds_to_next=s.seconds_to_next.median(),
        )
        .to_pandas()
    )
    home = by[by["landing"] == "home"]
    n_home = int(home["sessions"].sum())
    if n_home < o.min_sessions:
        raise NotEnoughData(
            Text(
                "needs at least {min} visits that land on the homepage (page_type 'home' as "
                "the first event); found {found}",
                min=count(o.min_sessions),
                found=count(n_home),
            )
        )
    by["bounce_rate"] = by["bounces"] / by["sessions"]
    by["next_step"] = 1 - by["bounce_rate"]
    engaged = by["sessions"] - by["bounces"]
    by["purchase_rate_engaged"] = by["purchases"] / engaged.where(engaged > 0)
    by = by.sort_values("sessions", ascending=False).reset_index(drop=True)
    table = by[["landing", "sessions", "bounce_rate", "next_step", "median_seconds_to_next", "purchase_rate_engaged"]]

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
        at_stake = kept * min(float(buy), o.conversion) * aov
        method = Text(
            "homepage visits that would stay at a {target} bounce rate ({kept}) × the purchase rate of a visit "
            "({rate}; {buy} of homepage visits that go on end in a purchase here, the lower of the two is used) × "
            "average order value ({aov}), over the period analysed",
            rate=cite(o, "conversion"),
            target=share(target, 0),
            kept=count(kept),
            buy=share(buy, 1),
            aov=money(aov, 2),
        )
    chart = Chart(
        kind="bar",
        data=table,
        x="landing",
        y="bounce_rate",
        title=Text("Visits that end on the page they landed on, by landing page type"),
        x_label=Text("Landing page type"),
        y_label=Text("Bounce rate"),
        y_unit="share",
        reference=o.good,
        reference_label=Text("good"),
    )
    summary = Text("{rate} of {n} visits landing on the homepage ended there", rate=share(rate, 1), n=count(n_home))
    if other_rate is not None:
        summary += Text(", against {rate} on the other entry pages", rate=share(other_rate, 1))
    secs = h["median_seconds_to_next"]
    if secs == secs:
        summary += Text("; those who went on took a median {secs} s to their first step", secs=number(secs, 0))
    return Evidence(
        value=rate,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details={"home_sessions": n_home, "home_bounce": rate, "other_bounce": other_rate, "next_step": 1 - rate},
        summary=summary + ".",
    )


# Channels the shop pays for per visit or per click; their visitors came for a specific ad or offer.
PAID_CHANNELS = ("paid_search", "paid_social", "display", "affiliate")
PAID, UNPAID = "paid", "unpaid"


class LandingPageMatchOptions(Options):
    """Landing page match: tunables beside the control points."""

    min_sessions: int = 200
    min_group: int = 30
    conversion: float = rate(
        0.014, "share of visits that end in an order (average e-commerce conversion rate)", LITTLEDATA, "secondary"
    )


@check(
    id="acquisition.landing_page_match",
    stage="acquisition",
    title="Paid visitors land on pages that keep them",
    failure_title="Paid visitors land on pages that do not match what brought them",
    needs=("events.channel=paid_search|paid_social|display|affiliate", "events.page_type"),
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
    by = (
        s.group_by(["traffic", "channel", "landing"])
        .aggregate(
            sessions=s.count(),
            bounces=s.bounced.sum(),
            purchases=(s.purchases > 0).sum(),
        )
        .to_pandas()
    )
    off = by[by["landing"] != "home"]
    paid = off[off["traffic"] == PAID]
    n_paid = int(paid["sessions"].sum())
    if n_paid < o.min_sessions:
        raise NotEnoughData(
            Text(
                "needs at least {min} visits from paid channels that land off the homepage; found {found}",
                min=count(o.min_sessions),
                found=count(n_paid),
            )
        )
    rate = float(paid["bounces"].sum() / n_paid)
    unpaid = off[off["traffic"] == UNPAID]
    n_unpaid = int(unpaid["sessions"].sum())
    unpaid_rate = float(unpaid["bounces"].sum() / n_unpaid) if n_unpaid >= o.min_group else None

    # Evidence: bounce by channel and landing page type, paid first, worst first.
    table = by[by["sessions"] >= o.min_group].assign(bounce_rate=lambda d: d["bounces"] / d["sessions"])
    # channel and landing break ties of the rate: the same order whatever order the engine returned the groups in
    table = table.sort_values(
        ["traffic", "bounce_rate", "channel", "landing"], ascending=[True, False, True, True]
    ).reset_index(drop=True)
    table = table[["traffic", "channel", "landing", "sessions", "bounce_rate"]]
    # Chart: paid vs unpaid bounce by landing page type.
    grouped = by.groupby(["landing", "traffic"], as_index=False)[["sessions", "bounces"]].sum()
    grouped = grouped[grouped["sessions"] >= o.min_group]
    grouped = grouped.assign(bounce_rate=grouped["bounces"] / grouped["sessions"])
    order = grouped[grouped["traffic"] == PAID].sort_values("bounce_rate", ascending=False)["landing"].tolist()
    grouped["_o"] = grouped["landing"].map({k: i for i, k in enumerate(order)}).fillna(len(order))
    grouped = grouped.sort_values(["_o", "traffic"]).drop(columns="_o").reset_index(drop=True)
    chart = Chart(
        kind="bar",
        data=grouped[["landing", "traffic", "bounce_rate"]],
        x="landing",
        y="bounce_rate",
        hue="traffic",
        title=Text("Visits that end on the page they landed on: paid against unpaid traffic"),
        x_label=Text("Landing page type"),
        y_label=Text("Bounce rate"),
        y_unit="share",
        reference=o.good,
        reference_label=Text("good"),
    )

    # Money: paid visits that would stay at the better of the benchmark and the shop's own unpaid landings,
    # times how often an engaged paid visit buys, times the average order value.
    target = min(o.good, unpaid_rate) if unpaid_rate is not None else o.good
    kept = max(0.0, rate - target) * n_paid
    engaged = n_paid - int(paid["bounces"].sum())
    buy = paid["purchases"].sum() / engaged if engaged > 0 else None
    aov = average_order_value(tables)
    at_stake = method = None
    if aov and buy is not None:
        at_stake = kept * min(float(buy), o.conversion) * aov
        method = Text(
            "paid visits landing off the homepage that would stay at a {target} bounce rate ({kept}) × the "
            "purchase rate of a visit ({rate}; {buy} of paid visits that go on end in a purchase here, the lower "
            "of the two is used) × average order value ({aov}), over the period analysed",
            rate=cite(o, "conversion"),
            target=share(target, 0),
            kept=count(kept),
            buy=share(buy, 1),
            aov=money(aov, 2),
        )
    paid_off = table[(table["traffic"] == PAID) & (table["landing"] != "home")]
    worst = paid_off.iloc[0] if len(paid_off) else None
    summary = Text(
        "{rate} of {n} paid visits landing off the homepage ended on the page they landed on",
        rate=share(rate, 1),
        n=count(n_paid),
    )
    if unpaid_rate is not None:
        summary += Text(
            ", against {rate} of unpaid visits landing on the same kinds of page", rate=share(unpaid_rate, 1)
        )
    if worst is not None:
        summary += Text(
            "; worst: {channel} on the {page} ({worst})",
            channel=word(worst["channel"]),
            page=word(worst["landing"]),
            worst=share(worst["bounce_rate"], 1),
        )
    return Evidence(
        value=rate,
        table=table,
        chart=chart,
        at_stake=at_stake,
        at_stake_method=method,
        details={
            "paid_sessions": n_paid,
            "paid_bounce": rate,
            "unpaid_sessions": n_unpaid,
            "unpaid_bounce": unpaid_rate,
            "gap": None if unpaid_rate is None else rate - unpaid_rate,
        },
        summary=summary + ".",
    )


# Groups of price changes by size, in the order the chart shows them.
