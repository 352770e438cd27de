"""E-mail activity exports (Mailchimp, Klaviyo): one row per recipient event (sent, open, click, ...).

Yields messages: one per recipient and campaign, with the first send, open, click, unsubscribe and
complaint, and whether it bounced. The recipient is their customer id when the export has one, else a
keyed hash of the e-mail address (the address is never stored). message_type is one value for all
(options.message_type; DECIDE per client) or matched from the campaign name (options.message_types:
{regular expression: type}).
excluded: other_event (event types not listed in options.event_map).
rejected (bad data): no recipient, no campaign, an unreadable timestamp.
"""

from __future__ import annotations

import pandas as pd
from pydantic import Field

from .base import Built, Options, Preset, Reason, first_reason, register, text, timestamp

EVENT_MAP = {  # Mailchimp and Klaviyo spellings -> the message lifecycle
    "sent": "sent",
    "send": "sent",
    "received email": "sent",
    "delivered": "sent",
    "open": "opened",
    "opened": "opened",
    "opened email": "opened",
    "click": "clicked",
    "clicked": "clicked",
    "clicked email": "clicked",
    "unsubscribe": "unsubscribed",
    "unsubscribed": "unsubscribed",
    "unsubscribed from list": "unsubscribed",
    "bounce": "bounced",
    "bounced": "bounced",
    "bounced email": "bounced",
    "hard bounce": "bounced",
    "soft bounce": "bounced",
    "abuse": "complained",
    "complaint": "complained",
    "marked email as spam": "complained",
}


class EmailOptions(Options):
    event_map: dict[str, str] = EVENT_MAP
    message_type: str = "newsletter"
    message_types: dict[str, str] = Field(default_factory=dict)
    timezone: str | None = None


def build(data: pd.DataFrame, opts: EmailOptions, ctx) -> Built:
    cid = text(data["customer_id"])
    email = text(data["email"])
    recipient = cid.fillna(ctx.pseudonym(email))
    campaign = text(data["campaign"])
    event = text(data["event"]).str.lower().map(opts.event_map).astype("string")
    when = timestamp(data["timestamp"], None, opts.timezone)
    status = first_reason(
        len(data),
        [
            ("no_recipient", recipient.isna().to_numpy()),
            ("no_campaign", campaign.isna().to_numpy()),
            ("unreadable_timestamp", when.isna().to_numpy()),
            ("other_event", event.isna().to_numpy()),
        ],
    )
    used = status == ""
    ev = pd.DataFrame({"customer_id": recipient, "campaign_id": campaign, "event": event, "t": when})[used]
    wide = ev.pivot_table(index=["customer_id", "campaign_id"], columns="event", values="t", aggfunc="min")
    for col in ("sent", "opened", "clicked", "unsubscribed", "complained", "bounced"):
        if col not in wide:
            wide[col] = pd.NaT
    wide = wide.reset_index()
    sent = wide["sent"].fillna(wide[["opened", "clicked", "unsubscribed", "bounced"]].min(axis=1))
    mtype = pd.Series(opts.message_type, index=wide.index, dtype="string")
    for pattern, kind in opts.message_types.items():
        mtype = mtype.mask(wide["campaign_id"].str.contains(pattern, case=False, regex=True).fillna(False), kind)
    messages = pd.DataFrame(
        {
            "message_id": wide["campaign_id"] + "/" + wide["customer_id"],
            "customer_id": wide["customer_id"],
            "channel": "email",
            "campaign_id": wide["campaign_id"],
            "message_type": mtype,
            "sent_at": sent,
            "opened_at": wide["opened"],
            "clicked_at": wide["clicked"],
            "unsubscribed_at": wide["unsubscribed"],
            "complained_at": wide["complained"],
            "bounced": wide["bounced"].notna(),
        }
    )
    return Built(
        tables={"messages": messages},
        status=status,
        notes=[f"message_type set to '{opts.message_type}' unless matched by options.message_types"],
    )


PRESET = register(
    Preset(
        name="email_activity",
        title="E-mail activity per recipient (Mailchimp / Klaviyo)",
        yields=("messages",),
        fields={
            "email": "Email Address",
            "customer_id": "Customer ID",
            "campaign": "Campaign",
            "event": "Action",
            "timestamp": "Timestamp",
        },
        required=("email", "campaign", "event", "timestamp"),
        reasons=(
            Reason("no_recipient", "rejected", "no e-mail address or customer id", "email"),
            Reason("no_campaign", "rejected", "no campaign", "campaign"),
            Reason("unreadable_timestamp", "rejected", "a timestamp that cannot be read", "timestamp"),
            Reason("other_event", "excluded", "an event type not in options.event_map", "event"),
        ),
        options=EmailOptions,
        build=build,
        signature=("Email Address", "Campaign", "Action", "Timestamp"),
        template="email_activity",
        personal=("email", "customer_id"),
    )
)
