"""Retention: customers contacted so often that they unsubscribe."""

from __future__ import annotations

from ...engine import Tables
from ...i18n import N_, Text, count, money, share
from ...metrics.contacts import BAND_CAP, MARKETING_EMAILS, by_band, customers_above
from ...metrics.orders import revenue_per_customer_year
from ..base import WORKBOOK, Chart, Evidence, NotEnoughData, Options, check, cite, rate


def _band_label(band: int) -> str:
    return f"{band}+" if band >= BAND_CAP else str(band)


class OverContactingOptions(Options):
    """Over contacting: tunables beside the control points."""

    min_messages: int = 1000
    turn_factor: float = 2.0
    min_band_messages: int = 300
    email_share: float = rate(
        0.1,
        "share of a customer's yearly revenue that the shop's e-mails bring, lost with the unsubscribe",
        WORKBOOK,
        "default",
    )


@check(
    id="retention.over_contacting",
    stage="retention",
    title="Customers are not contacted until they unsubscribe",
    failure_title="Customers are contacted so often that they unsubscribe",
    needs=(MARKETING_EMAILS, "messages.unsubscribed_at&channel=email"),
    better="lower",
    good=0.003,
    poor=0.01,
    unit="share",
    source="Klaviyo Help Center, campaign performance bands: unsubscribe rate below 0.3 % is healthy, "
    "above 1 % needs attention",
    description="Unsubscribe rate per marketing e-mail, by how many messages the customer received that "
    "week; the weekly frequency at which unsubscribes turn up, and the customers contacted above it.",
    advice=(
        "Cap the frequency: no customer should get more marketing messages a week than the frequency where "
        "unsubscribes turn up (e-mail tools offer a cap, e.g. skip anyone mailed in the last 16 hours).",
        "Send only what is relevant to the customer, based on what they browsed and bought, at a relevant "
        "moment — fewer, better messages keep the list alive.",
        "Stay in touch often enough to be remembered, not so often that the brand annoys: test a lower "
        "frequency on the most-contacted segment and compare unsubscribes and orders.",
    ),
    columns={
        "contacts_per_week": N_("Contacts per week"),
        "customer_weeks": N_("Customer-weeks"),
        "unsubscribe_rate": N_("Unsubscribe rate"),
        "complaint_rate": N_("Complaint rate"),
    },
    options=OverContactingOptions,
)
def over_contacting(tables: Tables, o: OverContactingOptions) -> Evidence:
    bands = by_band(tables)
    total = int(bands["messages"].sum()) if len(bands) else 0
    if total < o.min_messages:
        raise NotEnoughData(
            Text(
                "needs at least {min} marketing e-mails to judge; found {found}",
                min=count(o.min_messages),
                found=count(total),
            )
        )
    rate = float(bands["unsubscribes"].sum() / total)
    base = float(bands.iloc[0]["unsubscribe_rate"])
    # The turn: the lowest weekly frequency whose unsubscribe rate is both clearly above the base
    # (turn_factor × the rate at the lowest frequency) and above the healthy band, measured on
    # enough messages that a handful of unsubscribes cannot make one.
    above = bands[
        (bands["band"] > bands.iloc[0]["band"])
        & (bands["messages"] >= o.min_band_messages)
        & (bands["unsubscribe_rate"] >= o.turn_factor * base)
        & (bands["unsubscribe_rate"] >= o.good)
    ]
    turn = int(above["band"].min()) if len(above) else None
    table = bands.assign(contacts_per_week=bands["band"].map(_band_label))
    cols = ["contacts_per_week", "customers", "customer_weeks", "messages", "unsubscribe_rate"]
    if "complaint_rate" in table:
        cols.append("complaint_rate")
    table = table[cols]

    details = {"messages": total, "unsubscribe_rate": rate, "base_rate": base, "turn": turn}
    at_stake = method = None
    summary = Text(
        "{rate} of {total} marketing e-mails led to an unsubscribe; at one contact a week the rate is {base}",
        rate=share(rate, 2),
        total=count(total),
        base=share(base, 2),
    )
    if turn is not None:
        n_customers, contacted = customers_above(tables, turn)
        over = bands[bands["band"] >= turn]
        excess = float((over["messages"] * (over["unsubscribe_rate"] - base)).clip(lower=0).sum())
        details.update(
            customers_above_turn=n_customers,
            share_above_turn=n_customers / max(contacted, 1),
            excess_unsubscribes=excess,
        )
        summary += Text(
            "; from {turn} contacts a week it climbs to {rate}, and {n} customers ({share} of those "
            "contacted) were contacted that often",
            turn=_band_label(turn),
            rate=share(above.iloc[0]["unsubscribe_rate"], 2),
            n=count(n_customers),
            share=share(n_customers / max(contacted, 1), 0),
        )
        value = revenue_per_customer_year(tables)
        if value:
            at_stake = excess * o.email_share * value
            method = Text(
                "unsubscribes beyond the rate at one contact a week ({excess}) × the share of a customer's "
                "yearly revenue the shop's e-mails bring ({rate}) × revenue per customer per year ({value}): "
                "what the shop loses with the customers it can no longer e-mail",
                rate=cite(o, "email_share"),
                excess=count(excess),
                value=money(value, 2),
            )
    chart = Chart(
        kind="bar",
        data=table,
        x="contacts_per_week",
        y="unsubscribe_rate",
        title=Text("Unsubscribes per marketing e-mail, by contacts the customer got that week"),
        x_label=Text("Messages to the customer that week"),
        y_label=Text("Unsubscribe rate"),
        y_unit="share",
        reference=o.good,
        reference_label=Text("healthy"),
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
