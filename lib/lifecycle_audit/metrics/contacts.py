"""Contact frequency: how many messages each customer gets per week, and how they react to it."""

from __future__ import annotations

import pandas as pd

from .. import contract
from ..engine import Tables
from . import presence

# Messages a customer does not experience as "being contacted": receipts and order confirmations.
NOT_CONTACTS = ("transactional", "thank_you")
# The need of a check judging contact frequency (checks.base notation): e-mails that are contacts.
MARKETING_EMAILS = "messages.channel=email&message_type=" + "|".join(
    t for t in contract.MESSAGE_TYPES if t not in NOT_CONTACTS
)
BAND_CAP = 5  # weeks with 5 or more contacts are pooled as "5+"


def _contact_weeks(tables: Tables):
    m = tables["messages"]
    m = m.filter(~m.message_type.isin(NOT_CONTACTS) & m.customer_id.notnull())
    email = m.channel == "email"
    # counted with a filter, not summed: DuckDB sums booleans into 128-bit integers, which is slower
    w = m.group_by([m.customer_id, m.sent_at.truncate("W").name("week")]).aggregate(
        contacts=m.count(),
        emails=m.count(where=email),
        unsubscribes=m.count(where=email & m.unsubscribed_at.notnull()),
        complaints=m.count(where=email & m.complained_at.notnull()),
    )
    return w.mutate(band=w.contacts.clip(upper=BAND_CAP)).cache()


def contact_weeks(tables: Tables):
    """One row per customer and week with a contact message: `contacts` (every channel), `band` (capped at 5),
    and that week's `emails`, `unsubscribes` and `complaints` (e-mails only). Aggregated once, so the figures by
    band never go back to the single messages."""
    return tables.derived("contact_weeks", _contact_weeks)


def by_band(tables: Tables):
    """Per weekly-contact band: customer-weeks, messages, unsubscribes and complaints (e-mail only)."""
    w = contact_weeks(tables)
    w = w.filter(w.emails > 0)
    recorded = presence.has_values(tables, "messages", "complained_at")  # empty on every row: not recorded
    # Customers per band counted as the groups of (band, customer): a second group-by, not a count(distinct),
    # which holds every customer of every band at once.
    per = dict(weeks=w.count(), messages=w.emails.sum(), unsubscribes=w.unsubscribes.sum())
    if recorded:
        per["complaints"] = w.complaints.sum()
    c = w.group_by([w.band, w.customer_id]).aggregate(**per)
    agg = dict(messages=c.messages.sum(), unsubscribes=c.unsubscribes.sum())
    if recorded:
        agg["complaints"] = c.complaints.sum()
    agg.update(customer_weeks=c.weeks.sum(), customers=c.count())
    out = c.group_by(c.band).aggregate(**agg).order_by("band").to_pandas()
    out["unsubscribe_rate"] = out["unsubscribes"] / out["messages"]
    if "complaints" in out:
        out["complaint_rate"] = out["complaints"] / out["messages"]
    return out


def customers_above(tables: Tables, contacts: int) -> tuple[int, int]:
    """Customers sent a marketing e-mail in a week in which they got `contacts` or more contact messages (every
    channel), and customers sent any contact message: from the customer-weeks, one group-by per customer."""
    w = contact_weeks(tables)
    per = w.group_by("customer_id").aggregate(most=w.contacts.max(where=w.emails > 0))
    out = per.aggregate(above=per.count(where=per.most >= contacts), contacted=per.count()).to_pandas()
    return int(out["above"].iloc[0]), int(out["contacted"].iloc[0])


def band_label(band: int) -> str:
    """A weekly-contact band as a table shows it: "0", "1", ..., "5+"."""
    return f"{band}+" if band >= BAND_CAP else str(band)


def weeks_by_band(tables: Tables) -> pd.DataFrame:
    """Customer-weeks by the number of contact messages (every channel; receipts and thank-yous not counted) the
    customer received that week: `contacts_per_week` ("1" ... "5+"), `customer_weeks` and their `share`."""
    weeks = contact_weeks(tables)
    out = weeks.group_by("band").agg(customer_weeks=weeks.count()).order_by("band").to_pandas()
    out["customer_weeks"] = out["customer_weeks"].astype("int64")
    out.insert(0, "contacts_per_week", out.pop("band").map(band_label))
    out["share"] = out["customer_weeks"] / out["customer_weeks"].sum()
    return out
