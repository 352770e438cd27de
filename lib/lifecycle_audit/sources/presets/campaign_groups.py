"""Campaign files with control groups: one row per customer a tested campaign was planned for, with the group in
the shop's own words (a "Kontrollgruppe" column of ja/nein, a group of "holdout"/"mailed", an A/B split).

Yields the contract's `campaign_members` table. The group is read case-insensitively through `options.groups`
({their word: treatment or control}; common English and German words by default, e.g. control, holdout,
Kontrollgruppe -> control; treatment, test, mailed, Versand -> treatment); a yes/no flag is mapped with `values:`
({group: {ja: control, nein: treatment}}), which `lifecycle-audit init` proposes from the column's name.

rejected (bad data): no campaign or customer, an assignment date that cannot be read, a group that is neither
(map it; an empty one is the `empty_group` when the column marks only one group), a customer in two groups of the same campaign (every row of that customer and campaign).
excluded (the rules): repeated_member: the same customer, campaign and group listed again (counted once).
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import field_validator

from ... import contract
from .base import Built, Options, Preset, Reason, first_reason, number, register, text, timestamp

GROUPS = {
    **dict.fromkeys(
        ("control", "control group", "controlgroup", "ctrl", "cg", "holdout", "hold-out", "hold out", "held out",
         "kontrolle", "kontrollgruppe", "kg", "nicht versendet", "not sent", "not mailed"),
        "control",
    ),
    **dict.fromkeys(
        ("treatment", "treated", "test", "test group", "testgruppe", "target", "target group", "zielgruppe",
         "mailed", "sent", "versendet", "versand", "exposed", "aktion"),
        "treatment",
    ),
}  # fmt: skip


class CampaignGroupOptions(Options):
    groups: dict[str, str] = GROUPS  # their word (any case) -> treatment or control
    date_format: str | None = None  # default: detected
    empty_group: Literal["treatment", "control"] | None = None  # an empty flag (a column that marks one group)

    @field_validator("groups")
    @classmethod
    def _onto_assignments(cls, groups: dict[str, str]) -> dict[str, str]:
        wrong = sorted({v for v in groups.values() if v not in contract.ASSIGNMENTS})
        if wrong:
            raise ValueError(f"maps onto {', '.join(map(repr, wrong))}; a group is treatment or control")
        return groups


def build(data: pd.DataFrame, opts: CampaignGroupOptions, ctx) -> Built:
    """campaign_members from the campaign file's rows; every row used, excluded or rejected."""
    groups = {k.strip().lower(): v for k, v in opts.groups.items()}
    raw_group = text(data["group"])
    f = {
        "campaign_id": text(data["campaign_id"]),
        "customer_id": text(data["customer_id"]).str.replace(r"\.0$", "", regex=True),
        "assignment": raw_group.str.lower().map(lambda v: groups.get(v, v) if isinstance(v, str) else v),
        "variant": text(data["variant"]),
        "assigned_at": timestamp(data["assigned_at"], opts.date_format),
        "control_share": number(data["control_share"]),
        "cost": number(data["cost"]),
    }
    f["assignment"] = f["assignment"].astype("string")
    if opts.empty_group is not None:
        f["assignment"] = f["assignment"].fillna(opts.empty_group)
    status = first_reason(len(data), _rules(f))
    used = status == ""
    members = pd.DataFrame({name: values[used].to_numpy() for name, values in f.items()})
    counts = members["assignment"].value_counts()
    notes = [
        f"campaign_members from {len(data):,} rows: {int(used.sum()):,} used "
        f"({int(counts.get('treatment', 0)):,} treatment, {int(counts.get('control', 0)):,} control) in "
        f"{members['campaign_id'].nunique():,} campaigns"
    ]
    return Built(tables={"campaign_members": members}, status=status, notes=notes)


def _rules(f: dict[str, pd.Series]) -> list:
    """The rules in order, each (label, mask)."""
    pair = pd.DataFrame({"c": f["campaign_id"], "k": f["customer_id"]})
    known = f["assignment"].isin(contract.ASSIGNMENTS).fillna(False)
    both = pd.DataFrame({**pair, "a": f["assignment"].where(known)})
    groups_per_pair = both.groupby(["c", "k"], dropna=False)["a"].transform("nunique")
    return [
        ("missing_campaign", f["campaign_id"].isna().to_numpy()),
        ("missing_customer", f["customer_id"].isna().to_numpy()),
        ("unreadable_date", f["assigned_at"].isna().to_numpy()),
        ("unknown_group", ~known.to_numpy()),
        ("conflicting_groups", (groups_per_pair > 1).to_numpy()),
        ("repeated_member", pd.DataFrame({**pair, "a": f["assignment"]}).duplicated().to_numpy()),
    ]


PRESET = register(
    Preset(
        name="campaign_groups",
        title="Campaign file with control groups (one row per customer and campaign)",
        yields=("campaign_members",),
        fields={
            "campaign_id": "campaign_id",
            "customer_id": "customer_id",
            "group": "group",
            "variant": "variant",
            "assigned_at": "assigned_at",
            "control_share": "control_share",
            "cost": "cost",
        },
        required=("campaign_id", "customer_id", "group", "assigned_at"),
        reasons=(
            Reason("missing_campaign", "rejected", "no campaign", "campaign_id"),
            Reason("missing_customer", "rejected", "no customer", "customer_id"),
            Reason(
                "unreadable_date",
                "rejected",
                "an assignment date that cannot be read (set options.date_format)",
                "assigned_at",
            ),
            Reason(
                "unknown_group",
                "rejected",
                "a group that is neither treatment nor control: map it under values: {group: {their word: control}}",
                "group",
            ),
            Reason(
                "conflicting_groups",
                "rejected",
                "a customer in both the treatment and the control group of one campaign",
                "customer_id",
            ),
            Reason("repeated_member", "excluded", "the same customer, campaign and group listed again", "customer_id"),
        ),
        options=CampaignGroupOptions,
        build=build,
        signature=("campaign_id", "customer_id", "group", "assigned_at"),
        template="campaign_groups",
        personal=("customer_id",),
    )
)
