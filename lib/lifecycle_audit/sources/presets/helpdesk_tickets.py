"""Helpdesk ticket exports (Zendesk-like): one row per ticket.

Yields tickets. The requester is their external id when present, else a keyed hash of their e-mail.
first_response_at = Created at + First reply time in minutes; handoffs = Group stations - 1;
csat: Satisfaction Score good -> 1, bad -> 0 (offered / unoffered: empty).
rejected (bad data): no ticket id, no requester, an unreadable Created at.
excluded: deleted tickets (Status 'deleted').
"""

from __future__ import annotations

import pandas as pd

from .base import Built, Options, Preset, Reason, first_reason, number, register, text, timestamp


class HelpdeskOptions(Options):
    timezone: str | None = None
    date_format: str | None = None


def build(data: pd.DataFrame, opts: HelpdeskOptions, ctx) -> Built:
    tid = text(data["id"])
    who = text(data["external_id"]).fillna(ctx.pseudonym(text(data["email"])))
    opened = timestamp(data["created_at"], opts.date_format, opts.timezone)
    status = first_reason(
        len(data),
        [
            ("no_ticket_id", tid.isna().to_numpy()),
            ("no_requester", who.isna().to_numpy()),
            ("unreadable_created_at", opened.isna().to_numpy()),
            ("deleted", text(data["status"]).str.lower().eq("deleted").fillna(False).to_numpy()),
        ],
    )
    used = status == ""
    minutes = number(data["first_reply_minutes"])
    score = text(data["satisfaction"]).str.lower().map({"good": 1.0, "bad": 0.0}).astype("float64")
    tickets = pd.DataFrame(
        {
            "ticket_id": tid,
            "customer_id": who,
            "opened_at": opened,
            "first_response_at": opened + pd.to_timedelta(minutes, unit="min"),
            "resolved_at": timestamp(data["solved_at"], opts.date_format, opts.timezone),
            "handoffs": (number(data["group_stations"]) - 1).clip(lower=0),
            "csat": score,
        }
    )[used]
    return Built(tables={"tickets": tickets}, status=status)


PRESET = register(
    Preset(
        name="helpdesk_tickets",
        title="Helpdesk tickets (Zendesk-like export)",
        yields=("tickets",),
        fields={
            "id": "Id",
            "external_id": "Requester external id",
            "email": "Requester email",
            "created_at": "Created at",
            "solved_at": "Solved at",
            "first_reply_minutes": "First reply time in minutes",
            "group_stations": "Group stations",
            "satisfaction": "Satisfaction Score",
            "status": "Status",
        },
        required=("id", "created_at"),
        reasons=(
            Reason("no_ticket_id", "rejected", "no ticket id", "id"),
            Reason("no_requester", "rejected", "no requester id or e-mail", "email"),
            Reason("unreadable_created_at", "rejected", "Created at cannot be read", "created_at"),
            Reason("deleted", "excluded", "a deleted ticket", "status"),
        ),
        options=HelpdeskOptions,
        build=build,
        signature=("Id", "Requester email", "Created at", "Satisfaction Score"),
        template="helpdesk_tickets",
        personal=("email", "external_id"),
    )
)
