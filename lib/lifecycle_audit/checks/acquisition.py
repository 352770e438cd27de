"""Acquisition: once visitors arrive, does the site give them a reason and a first step?"""

from __future__ import annotations

from ..findings import Chart, Evidence
from ..i18n import Text, count, money, number, share
from ..metrics.orders import average_order_value
from ..metrics.sessions import sessions
from .registry import NotEnoughData, check


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
    options={"min_sessions": 200},
)
def homepage_value_proposition(tables, o) -> Evidence:
    s = sessions(tables)
    by = s.group_by("landing").aggregate(
        sessions=s.count(),
        bounces=s.bounced.sum(),
        purchases=(s.purchases > 0).sum(),
        median_seconds_to_next=s.seconds_to_next.median(),
    ).to_pandas()
    home = by[by["landing"] == "home"]
    n_home = int(home["sessions"].sum())
    if n_home < o["min_sessions"]:
        raise NotEnoughData(Text("needs at least {min} visits that land on the homepage (page_type 'home' as "
                                 "the first event); found {found}", min=count(o["min_sessions"]), found=count(n_home)))
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
    target = min(o["good"], other_rate) if other_rate is not None else o["good"]
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
                  reference=o["good"], reference_label=Text("good"))
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
