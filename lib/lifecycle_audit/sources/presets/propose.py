"""What `lifecycle-audit init` proposes for exports whose columns carry the shop's own names: a preset found by the
usual names of its fields (card number, Kartennummer, Bon-Nr; campaign, Kontrollgruppe), the `columns:` that map
them, and what the file's values say: a day-numbered panel needs the date of day 1, a yes/no control flag is mapped
by what its column's name says it flags.

Each recogniser is one function, `(path, header) -> Proposal | None`, listed in RECOGNISERS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .base import Preset
from .registry import get

YES = ("ja", "j", "yes", "y", "true", "wahr", "1", "x")
NO = ("nein", "n", "no", "false", "falsch", "0", "-")
CONTROL_WORDS = ("control", "kontroll", "holdout", "heldout", "ausgeschlossen", "ctrl", "nicht")
TREATMENT_WORDS = ("treatment", "treated", "test", "target", "ziel", "mailed", "sent", "versendet", "exposed")
OTHER = {"control": "treatment", "treatment": "control"}
SAMPLE_ROWS = 200_000  # rows read to propose value maps


@dataclass
class Proposal:
    """A preset for a file, how well its fields were found, and the params lines that finish the entry."""

    preset: Preset
    score: float  # share of the preset's required fields found
    columns: dict[str, str] = field(default_factory=dict)  # field -> their column, where not the preset's default
    lines: list[str] = field(default_factory=list)  # further lines of the entry (values:, options:), indented

    def entry_lines(self) -> list[str]:
        """The entry's `columns:` line and its further lines."""
        out = []
        if self.columns:
            mapped = ", ".join(f"{k}: {_scalar(v)}" for k, v in self.columns.items())
            out.append(f"    columns: {{{mapped}}}  # found by their usual names; check them")
        return out + self.lines


def norm(name: str) -> str:
    """A column name compared without case, spaces and punctuation: 'Bon-Nr.' -> 'bonnr'."""
    folded = name.strip().lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    return re.sub(r"[^a-z0-9]", "", folded)


LOYALTY_NAMES = {
    "card_id": ("household_key", "card_id", "card_number", "card_no", "loyalty_card", "card", "kartennummer",
                "karten_nr", "kundenkarte", "karte", "member_id", "customer_id", "kundennummer", "kunde"),
    "basket_id": ("basket_id", "basket", "receipt_id", "receipt_no", "receipt", "bon_nr", "bonnummer", "bon",
                  "belegnummer", "beleg", "kassenbon", "transaction_id"),
    "day": ("day", "date", "datum", "transaction_date", "purchase_date", "kaufdatum", "tag"),
    "time": ("trans_time", "time", "uhrzeit", "zeit"),
    "store_id": ("store_id", "store", "filiale", "filialnummer", "markt", "shop"),
    "product_id": ("product_id", "product", "sku", "artikelnummer", "artikel", "item_id", "item", "ean", "plu"),
    "category": ("commodity_desc", "category", "kategorie", "warengruppe"),
    "quantity": ("quantity", "qty", "menge", "anzahl", "stueck"),
    "amount": ("sales_value", "amount", "sales", "umsatz", "betrag", "line_total", "value", "wert"),
    "discount": ("retail_disc", "discount", "rabatt"),
    "member_since": ("member_since", "kunde_seit", "mitglied_seit", "karte_seit", "card_issued", "registered",
                     "registration_date", "anmeldedatum"),
}  # fmt: skip
CAMPAIGN_NAMES = {
    "campaign_id": ("campaign_id", "campaign", "campaign_name", "kampagne", "aktion", "aktionsname", "mailing"),
    "customer_id": ("customer_id", "customer", "kundennummer", "kundennr", "kunde", "card_number", "kartennummer",
                    "household_key", "member_id", "contact_id", "user_id"),
    "group": ("group", "gruppe", "assignment", "control_group", "kontrollgruppe", "control", "holdout", "hold_out",
              "is_control", "treatment", "test_group", "testgruppe", "zielgruppe", "ab_group"),
    "assigned_at": ("assigned_at", "send_date", "sent_at", "versanddatum", "campaign_date", "mailing_date", "date",
                    "datum", "versand"),
    "variant": ("variant", "variante", "version", "ab_variant"),
    "cost": ("cost", "kosten", "cost_per_contact", "porto"),
    "control_share": ("control_share", "kontrollanteil", "holdout_share"),
}  # fmt: skip


GA4_NAMES = {
    "event_date": ("event_date", "date"),
    "event_timestamp": ("event_timestamp",),
    "event_name": ("event_name",),
    "transaction_id": ("transaction_id", "ecommerce.transaction_id", "transaction"),
    "user_pseudo_id": ("user_pseudo_id", "client_id", "ga_client_id"),
    "user_id": ("user_id",),
    "item_id": ("item_id", "items.item_id"),
    "item_name": ("item_name", "items.item_name"),
    "item_category": ("item_category", "items.item_category"),
    "price": ("price", "items.price", "item_price"),
    "quantity": ("quantity", "items.quantity", "item_quantity", "items_purchased"),
    "currency": ("currency",),
}
ITEM_REVENUE = ("item_revenue", "items.item_revenue")


def find_fields(header: list[str], names: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """{field: the file's column} for each field whose usual names the header holds (a column used once)."""
    by_norm = {}
    for h in header:
        by_norm.setdefault(norm(h), h)
    found: dict[str, str] = {}
    for fld, aliases in names.items():
        for alias in aliases:
            column = by_norm.get(norm(alias))
            if column is not None and column not in found.values():
                found[fld] = column
                break
    return found


def _matched(
    preset: Preset, header: list[str], names: dict[str, tuple[str, ...]], given: tuple[str, ...] = ()
) -> Proposal | None:
    """The proposal when every required field of the preset was found (but those the entry may `give` otherwise),
    with the columns that differ from its own."""
    found = find_fields(header, names)
    if not all(f in found for f in preset.required if f not in given):
        return None
    columns = {f: c for f, c in found.items() if c != preset.fields[f]}
    return Proposal(preset=preset, score=1.0, columns=columns)


def ga4_purchases(path: Path, header: list[str]) -> Proposal | None:
    """A GA4 item-level purchase export, flat or with BigQuery's `items.` names; an export with the item's revenue
    instead of its price gets the price derived (`item_revenue / quantity`)."""
    preset = get("ga4_purchases")
    found = find_fields(header, GA4_NAMES)
    revenue = find_fields(header, {"revenue": ITEM_REVENUE}).get("revenue")
    derived = {}
    if "price" not in found and revenue is not None and "quantity" in found:
        derived["price"] = f"{_name(revenue)} / {_name(found['quantity'])}"
        found["price"] = revenue
    if not all(f in found for f in preset.required):
        return None
    columns = {f: c for f, c in found.items() if c != preset.fields[f] and f not in derived}
    proposal = Proposal(preset=preset, score=1.0, columns=columns)
    if derived:
        proposal.lines.append(
            f"    derived: {{price: {_scalar(derived['price'])}}}  # the unit price from the item's revenue"
        )
    return proposal


def _name(column: str) -> str:
    """A column as a derived expression names it: in backticks unless it is a plain name."""
    return column if re.fullmatch(r"[A-Za-z_][\w.]*", column) else f"`{column}`"


def loyalty_panel(path: Path, header: list[str]) -> Proposal | None:
    """A loyalty-card panel: card, basket, day, product, quantity and amount; day numbers need the date of day 1."""
    proposal = _matched(get("loyalty_panel"), header, LOYALTY_NAMES)
    if proposal is None:
        return None
    day = proposal.columns.get("day", proposal.preset.fields["day"])
    sample = _column(path, day).dropna().astype(str).str.strip()
    if len(sample) and sample.str.fullmatch(r"\d{1,5}").all():
        proposal.lines += [
            "    options:",
            f"      day_one: null  # DECIDE: {_scalar(day)} counts days (from {sample.astype(int).min()} to "
            f"{sample.astype(int).max()}); the date of day 1, e.g. 2024-01-01",
        ]
    return proposal


def campaign_groups(path: Path, header: list[str]) -> Proposal | None:
    """A campaign file with control groups; the group column's values mapped by what its name says it flags."""
    proposal = _matched(get("campaign_groups"), header, CAMPAIGN_NAMES, given=("assigned_at",))
    if proposal is None:
        return None
    if "assigned_at" not in proposal.columns and proposal.preset.fields["assigned_at"] not in header:
        proposal.lines.append(
            "    constants: {assigned_at: null}  # DECIDE: the file has no date: the day the campaign went out "
            "(one campaign per entry)"
        )
    column = proposal.columns.get("group", proposal.preset.fields["group"])
    sample = _column(path, column).astype("string").str.strip()
    values = sorted(set(sample.dropna()) - {""})
    mapped, open_ = group_values(column, values)
    flags = flagged(column)
    if flags and (sample.isna() | (sample == "")).any():
        proposal.lines += [
            "    options:",
            f"      empty_group: {OTHER[flags]}  # DECIDE: check; an empty {_scalar(column)} is taken as not flagged",
        ]
    if mapped:
        shown = ", ".join(f"{_scalar(k)}: {v}" for k, v in mapped.items())
        proposal.lines += [
            "    values:",
            f"      group: {{{shown}}}  # DECIDE: check; from the column {_scalar(column)}",
        ]
    if open_:
        proposal.lines.append(
            f"    # DECIDE: {', '.join(_scalar(v) for v in open_[:10])} in {_scalar(column)}: neither treatment nor "
            "control; map them under values: {group: {their word: treatment or control}}"
        )
    return proposal


def group_values(column: str, values: list[str]) -> tuple[dict[str, str], list[str]]:
    """({their value: treatment or control}, the values left open) for a group column's values.

    A yes/no flag means what the column's name says it flags (Kontrollgruppe: ja -> control; mailed: yes ->
    treatment); other values are mapped when they are one of the preset's common words; the rest stay open."""
    preset_words = get("campaign_groups").options().groups
    words = {k.lower(): v for k, v in preset_words.items()}
    flags, other = flagged(column), OTHER
    mapped, open_ = {}, []
    for v in values:
        low = v.lower()
        if flags and low in YES:
            mapped[v] = flags
        elif flags and low in NO:
            mapped[v] = other[flags]
        elif low in words:
            mapped[v] = words[low]
        else:
            open_.append(v)
    return mapped, open_


def flagged(column: str) -> str | None:
    """The group a yes/no column flags by its name (Kontrollgruppe, holdout: control; mailed, test: treatment)."""
    name = norm(column)
    if any(w in name for w in CONTROL_WORDS):
        return "control"
    if any(w in name for w in TREATMENT_WORDS):
        return "treatment"
    return None


RECOGNISERS: list[Callable[[Path, list[str]], Proposal | None]] = [ga4_purchases, loyalty_panel, campaign_groups]


def propose(path: Path, header: list[str]) -> Proposal | None:
    """The first recogniser's proposal for the file, or None."""
    for recogniser in RECOGNISERS:
        proposal = recogniser(path, header)
        if proposal is not None:
            return proposal
    return None


def _column(path: Path, column: str) -> pd.Series:
    """Up to SAMPLE_ROWS values of one column of a file, as text (empty when it cannot be read)."""
    name = path.name.lower()
    try:
        if name.endswith((".xlsx", ".xls")):
            return pd.read_excel(path, usecols=[column], dtype=str, nrows=SAMPLE_ROWS)[column]
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path, columns=[column])[column].astype("string").head(SAMPLE_ROWS)
        for enc in ("utf-8-sig", "cp1252"):
            try:
                frame = pd.read_csv(path, sep=None, engine="python", encoding=enc, dtype=str, nrows=SAMPLE_ROWS)
                frame.columns = [str(c).strip() for c in frame.columns]
                return frame[column]
            except UnicodeDecodeError:
                continue
    except Exception:  # noqa: BLE001 - no proposal for the values of a file that cannot be read
        pass
    return pd.Series([], dtype="string")


def _scalar(value: str) -> str:
    """`value` as one YAML scalar on one line (quoted when the dumper needs to)."""
    return (
        yaml.dump(value, Dumper=yaml.SafeDumper, default_flow_style=True, width=1 << 30)
        .strip()
        .removesuffix("...")
        .strip()
    )
