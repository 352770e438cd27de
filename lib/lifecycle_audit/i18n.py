"""The report's languages: message catalogs (en, de, id), the current locale, and lazy Text.

Check code never formats numbers or picks a language. It states a sentence as an English msgid
with typed placeholders — ``Text("{n} of {total} carts", n=count(3972), total=count(4900))`` —
and the report renders it in the client's locale: the msgid through the catalog, each value with
Babel (1,234.5 · 1.234,5 · 81.3% · 81,3 % · €12,345 · 12.345 € · Rp12.345).

Declarations (check titles, advice, sources, stage names) stay plain English strings in the code;
they are msgids too and are translated when rendered (``tr``). ``pybabel extract -F babel.cfg``
finds all of them (see i18n_extract.py), and tests/test_i18n.py fails on any msgid without a de
or id translation.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from . import fmt
from .lang import BABEL_LOCALES, checked, current, use

LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it now (it is translated when rendered)."""
    return msgid


# ---------------------------------------------------------------- catalogs


@functools.cache
def catalog(locale: str):
    """The locale's catalog, read from its committed .po file.

    Read at runtime with Babel instead of compiling .mo files: the .po is the single source of truth,
    there is no build step to forget (papermill kernels, an editable install and a fresh clone all
    see the same text), and reading a few hundred messages takes milliseconds once per process.
    """
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return None
    with path.open("rb") as fh:
        return read_po(fh, locale=BABEL_LOCALES[locale])


@functools.cache
def _messages(locale: str) -> dict[str, str]:
    cat = catalog(locale)
    if cat is None:
        return {}
    return {m.id: m.string for m in cat if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def gettext(msgid: str, locale: str | None = None) -> str:
    """The translation of `msgid` in `locale` (the one in effect by default); English is the msgid itself.

    A msgid missing from a catalog prints in English here; tests/test_i18n.py makes that a test failure.
    """
    locale = checked(locale or current())
    if locale == "en" or not msgid:
        return msgid
    return _messages(locale).get(msgid, msgid)


_ = gettext


def tr(text: Any, locale: str | None = None, currency: str | None = None) -> Any:
    """Anything the report shows as text, in the locale: a Text, its dict form, a msgid, or None."""
    if text is None:
        return None
    if isinstance(text, Text):
        return text.render(locale, currency)
    if isinstance(text, dict) and "msgid" in text:
        return Text.from_dict(text).render(locale, currency)
    if isinstance(text, str):
        return gettext(text, locale)
    return str(text)


def value(v: Any, unit: str | None, currency: str | None = None, locale: str | None = None) -> str:
    """A finding's value by its unit in the locale, its words translated: "81.3%", "€12,345", "2.5 per week"."""
    return fmt.value(v, unit, currency, locale, per_week=gettext("{n} per week", locale))


def axis(v: float, unit: str | None, currency: str | None = None, locale: str | None = None) -> str:
    """A chart's tick label in the locale: "60%", "€12K", "3 d" (fmt.axis with the short words translated)."""
    return fmt.axis(v, unit, currency, locale, day=gettext("{n} d", locale), hour=gettext("{n} h", locale))


# ---------------------------------------------------------------- typed values and lazy text

KINDS = ("share", "money", "count", "number", "days", "hours", "term", "date", "text")


@dataclass(frozen=True)
class Value:
    """A number (or word) inside a Text, formatted at render time by its kind."""

    kind: str
    value: Any
    decimals: int | None = None

    def render(self, locale: str | None = None, currency: str | None = None) -> str:
        with use(locale, currency):
            k, v, d = self.kind, self.value, self.decimals
            if k == "share":
                return fmt.percent(v, d)
            if k == "money":
                return fmt.money(v, None, d)  # the currency in effect (set just above)
            if k == "count":
                return fmt.number(v, 0 if d is None else d)
            if k in ("days", "hours"):
                return fmt.value(v, k)
            if k == "term":
                return term(v)
            if k == "date":
                return fmt.date(v)
            return fmt.number(v, d)

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind, "value": _plain(self.value)}
        if self.decimals is not None:
            d["decimals"] = self.decimals
        return d


def _plain(v: Any) -> Any:
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def share(v: Any, decimals: int | None = None) -> Value:
    """A share in [0, 1], printed as a percentage."""
    return Value("share", v, decimals)


def money(v: Any, decimals: int | None = None) -> Value:
    """An amount in the report's currency."""
    return Value("money", v, decimals)


def count(v: Any) -> Value:
    """A whole number: 3,972 · 3.972."""
    return Value("count", v)


def number(v: Any, decimals: int | None = None) -> Value:
    """A number with the given (or automatic) decimals."""
    return Value("number", v, decimals)


def days(v: Any) -> Value:
    return Value("days", v)


def hours(v: Any) -> Value:
    return Value("hours", v)


def word(v: Any) -> Value:
    """A value from the data's vocabulary (a device, a page type, a channel), translated when known."""
    return Value("term", v)


@dataclass(frozen=True, init=False, eq=False)
class Text:
    """A sentence to show in the report: an English msgid with named placeholders and typed values.

    ``Text("{n} carts were left", n=count(1200))`` renders as "1,200 carts were left" in en and
    "1.200 Warenkörbe wurden stehen gelassen" in de. Params may be Values, nested Texts, numbers or strings.
    """

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def __init__(self, msgid: str, **params: Any) -> None:
        object.__setattr__(self, "msgid", msgid)
        object.__setattr__(self, "params", params)

    def render(self, locale: str | None = None, currency: str | None = None) -> str:
        with use(locale, currency):
            values = {k: _render_param(v) for k, v in self.params.items()}
            template = gettext(self.msgid)
            try:
                return template.format(**values)
            except (KeyError, IndexError, ValueError):  # a broken translation must not hide the finding
                return self.msgid.format(**values)

    def __str__(self) -> str:
        return self.render()

    # In code and tests a Text reads like its English rendering: "carts" in text, text == "…".
    def __contains__(self, part: str) -> bool:
        return part in self.render()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Text):
            return self.to_dict() == other.to_dict()
        if isinstance(other, str):
            return self.render("en") == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.msgid)

    def __add__(self, other: Any) -> Text:  # "summary" + "." style concatenation keeps the text lazy
        return Text("{a}{b}", a=self, b=other)

    def to_dict(self) -> dict[str, Any]:
        return {"msgid": self.msgid, "params": {k: _param_dict(v) for k, v in self.params.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Text:
        return cls(d["msgid"], **{k: _param_from(v) for k, v in (d.get("params") or {}).items()})


def _render_param(v: Any) -> str:
    if isinstance(v, (Value, Text)):
        return v.render()
    if isinstance(v, dict):
        return _render_param(_param_from(v))
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (int, float)) or hasattr(v, "item"):
        return fmt.number(v)
    return str(v)


def _param_dict(v: Any) -> Any:
    if isinstance(v, Value):
        return v.to_dict()
    if isinstance(v, Text):
        return {"kind": "text", **v.to_dict()}
    return _plain(v)


def _param_from(v: Any) -> Any:
    if isinstance(v, dict) and (v.get("kind") == "text" or "msgid" in v):
        return Text.from_dict(v)
    if isinstance(v, dict) and "kind" in v:
        return Value(v["kind"], v.get("value"), v.get("decimals"))
    return v


def placeholders(message: str) -> set[str]:
    """The named placeholders of a msgid or msgstr: "{n} of {total}" -> {"n", "total"}."""
    return set(re.findall(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)[^{}]*\}", message))


# ---------------------------------------------------------------- narrative: Markdown cells of the notebooks

# A notebook's prose is written in Markdown cells, in English; the stage page shows it in the report's language.
# Each block of a cell is one msgid: a paragraph (its lines folded into one), a heading line with its "## ", or one
# item of a list (without its marker). A fenced code block is never translated. `pybabel extract` (i18n_extract)
# and the page (report.render) split a cell the same way, here.
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_ITEM = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)(.*)$")


def normalise(paragraph: str) -> str:
    """A paragraph as its msgid: indentation, line breaks and outer blanks do not matter."""
    return re.sub(r"\s*\n\s*", " ", paragraph.strip())


def _blocks(text: str) -> list[list[str]]:
    """The lines of a Markdown text grouped into blocks: split at blank lines, a heading line alone, a fenced code
    block whole (blank lines inside it included)."""
    blocks: list[list[str]] = [[]]
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            if not fenced and blocks[-1]:
                blocks.append([])
            fenced = not fenced
            blocks[-1].append(line)
            if not fenced:
                blocks.append([])
        elif fenced:
            blocks[-1].append(line)
        elif not line.strip():
            blocks.append([])
        elif _HEADING.match(line):
            blocks += [[line], []]
        else:
            blocks[-1].append(line)
    return [b for b in blocks if b]


def _items(block: list[str]) -> list[tuple[str, list[str]]] | None:
    """A list block as (marker, lines) per item; None when the block is not a list."""
    if not _ITEM.match(block[0]):
        return None
    items: list[tuple[str, list[str]]] = []
    for line in block:
        m = _ITEM.match(line)
        if m:
            items.append((m.group(1), [m.group(2)]))
        else:
            items[-1][1].append(line)
    return items


def markdown_messages(text: str) -> list[str]:
    """The msgids of a Markdown text (a notebook's Markdown cell), in order."""
    out: list[str] = []
    for block in _blocks(text):
        if _FENCE.match(block[0]):
            continue
        items = _items(block)
        out += [normalise("\n".join(lines)) for _m, lines in items] if items else [normalise("\n".join(block))]
    return [m for m in out if m]


def _translated(lines: list[str], locale: str | None) -> str:
    """A paragraph in the locale; as written (line breaks kept) when the catalog has nothing else for it."""
    msgid = normalise("\n".join(lines))
    said = gettext(msgid, locale)
    return "\n".join(lines) if said == msgid else said


def markdown(text: str, locale: str | None = None) -> str:
    """A Markdown text (a notebook's Markdown cell) in the locale, block by block, through the message catalog."""
    if checked(locale or current()) == "en":
        return text
    out = []
    for block in _blocks(text):
        items = None if _FENCE.match(block[0]) else _items(block)
        if _FENCE.match(block[0]):
            out.append("\n".join(block))
        elif items:
            out.append("\n".join(marker + _translated(lines, locale) for marker, lines in items))
        else:
            out.append(_translated(block, locale))
    return "\n\n".join(out)


# ---------------------------------------------------------------- labels of table columns and data values

# Table columns shared by several checks, the notebooks' views and the data-health stage -> their English label
# (a msgid). A check declares the labels of its own evidence columns beside its logic (`columns=` in @check; they
# join this mapping through add_labels). A column not listed prints as its name with spaces; tests/test_i18n.py
# fails when a check's evidence has an unlisted column.
COLUMNS = {
    "landing": N_("Landing page type"),
    "sessions": N_("Sessions"),
    "bounce_rate": N_("Bounce rate"),
    "device": N_("Device"),
    "carts": N_("Carts"),
    "customers": N_("Customers"),
    "messages": N_("Messages"),
    "channel": N_("Channel"),
    "share": N_("Share"),
    "share_of_sessions": N_("Share of sessions"),
    "orders": N_("Orders"),
    "month": N_("Month"),
    "customer_id": N_("Customer"),
    "revenue": N_("Revenue"),
    "days_since_last_order": N_("Days since the last order"),
    "group": N_("Group"),
    "segment": N_("Segment"),
    "share_of_customers": N_("Share of customers"),
    "share_of_revenue": N_("Share of revenue"),
    "new_customers": N_("New customers"),
    "first_orders": N_("First orders"),
    "month 1": N_("Month 1"),
    "month 2": N_("Month 2"),
    "month 3": N_("Month 3"),
    "month 4": N_("Month 4"),
    "month 5": N_("Month 5"),
    "month 6": N_("Month 6"),
    "status": N_("Status"),
    "table": N_("Table"),
    "file": N_("File"),
    "rows_in": N_("Rows in"),
    "rows_used": N_("Rows used"),
    "rows_rejected": N_("Rows rejected"),
    "rows_excluded": N_("Rows excluded"),
    "what": N_("What"),
    "balanced": N_("Balanced"),
    "category": N_("Category"),
    "preset": N_("Preset"),
    "from": N_("From"),
    "to": N_("To"),
    "usable": N_("Usable"),
    "column": N_("Column"),
    "problem": N_("Problem"),
    "rows": N_("Rows"),
    "example_rows": N_("Example rows"),
    "fatal": N_("Fatal"),
    "message": N_("Message"),
    "stage": N_("Stage"),
    "check": N_("Check"),
    "title": N_("Title"),
    "needs": N_("Needs"),
    "state": N_("State"),
    "missing": N_("Missing data"),
    "reason": N_("Reason"),
    "filled": N_("Filled"),
    "distinct": N_("Distinct values"),
    "kinds": N_("Kinds and their rows"),
    "tables": N_("Tables"),
    "id": N_("Check"),
    "data supplied": N_("Data supplied"),
    "ready": N_("Ready"),
    "cannot run": N_("Cannot run"),
    "not built yet": N_("Not built yet"),
    "cumulative_share": N_("Ordered by then"),
    "since_last_order": N_("Time since the last order"),
    "0–90 days": N_("0–90 days"),
    "91–180 days": N_("91–180 days"),
    "181–365 days": N_("181–365 days"),
    "over 365 days": N_("over 365 days"),
}

# Words of the data's vocabulary shown in tables and on chart axes (contract values and the checks' groups).
TERMS = {
    # page types
    "home": N_("homepage"),
    "landing": N_("landing page"),
    "category": N_("category page"),
    "product": N_("product page"),
    "cart": N_("cart"),
    "checkout": N_("checkout"),
    "content": N_("content page"),
    "other": N_("other"),
    # devices
    "desktop": N_("desktop"),
    "mobile": N_("mobile"),
    "tablet": N_("tablet"),
    # channels
    "organic_search": N_("organic search"),
    "paid_search": N_("paid search"),
    "paid_social": N_("paid social"),
    "organic_social": N_("organic social"),
    "email": N_("e-mail"),
    "referral": N_("referral"),
    "direct": N_("direct"),
    "affiliate": N_("affiliate"),
    "display": N_("display ads"),
    "unknown": N_("unknown"),
    # funnel steps (notebooks)
    "visit": N_("visit"),
    "product view": N_("product view"),
    "add to cart": N_("add to cart"),
    "begin checkout": N_("begin checkout"),
    "purchase": N_("purchase"),
    # reminder timing groups (conversion.abandoned_cart_recovery)
    "within 4 h": N_("within 4 h"),
    "4–24 h": N_("4–24 h"),
    "after 24 h": N_("after 24 h"),
    # first-response groups (retention.support_responsiveness)
    "within 1 h": N_("within 1 h"),
    "1–4 h": N_("1–4 h"),
    "4–12 h": N_("4–12 h"),
    "12–24 h": N_("12–24 h"),
    "no response": N_("no response"),
    "not reminded": N_("not reminded"),
    # survey kinds and offer groups (conversion.customer_research, conversion.relevance)
    "nps": N_("NPS"),
    "csat": N_("CSAT"),
    "matches their interest": N_("matches their interest"),
    "does not match": N_("does not match"),
    "no viewing history": N_("no viewing history"),
    # loyalty groups and RFM segments
    "loyalty member": N_("loyalty member"),
    "not a member": N_("not a member"),
    "referred": N_("referred"),
    "not referred": N_("not referred"),
    "premium": N_("premium"),
    "top spender": N_("top spender"),
    "repeat": N_("repeat"),
    "at risk": N_("at risk"),
    "inactive": N_("inactive"),
    "one-time": N_("one-time"),
    # retention (part A): days to the next marketing message, onboarding, lifecycle split
    "within 7 days": N_("within 7 days"),
    "8–30 days": N_("8–30 days"),
    "31–60 days": N_("31–60 days"),
    "61–90 days": N_("61–90 days"),
    "none within 90 days": N_("none within 90 days"),
    "onboarded": N_("onboarded"),
    "not onboarded": N_("not onboarded"),
    "new": N_("new"),
    "returning": N_("returning"),
    "resurrecting": N_("resurrecting"),
    "dormant": N_("dormant"),
    # win-back: probability-alive and last-order bands, reasons to leave a customer alone
    "below 25 %": N_("below 25 %"),
    "25–50 %": N_("25–50 %"),
    "50–75 %": N_("50–75 %"),
    "75 % and above": N_("75 % and above"),
    "0–90 days": N_("0–90 days"),
    "91–180 days": N_("91–180 days"),
    "181–365 days": N_("181–365 days"),
    "over 365 days": N_("over 365 days"),
    "did not pay": N_("did not pay"),
    "bad review": N_("bad review"),
    "both": N_("both"),
    # acquisition: traffic, price-change and days-to-first-order groups ("paid" is reach's)
    "unpaid": N_("unpaid"),
    "price cut": N_("price cut"),
    "rise under 10 %": N_("rise under 10 %"),
    "rise 10–20 %": N_("rise 10–20 %"),
    "rise 20–30 %": N_("rise 20–30 %"),
    "rise 30 % or more": N_("rise 30 % or more"),
    "same day": N_("same day"),
    "1–6 days": N_("1–6 days"),
    "7–13 days": N_("7–13 days"),
    "14–29 days": N_("14–29 days"),
    "30–59 days": N_("30–59 days"),
    "60–89 days": N_("60–89 days"),
    "90 days or more": N_("90 days or more"),
    # reach: channel groups (earned_reach)
    "earned": N_("earned"),
    "paid": N_("paid"),
    # data health
    "not supplied": N_("not supplied"),
    "ready": N_("ready"),
    "cannot run": N_("cannot run"),
    "not built yet": N_("not built yet"),
    "yes": N_("yes"),
    "no": N_("no"),
}


def add_labels(columns: dict[str, str] | None = None, terms: dict[str, str] | None = None, owner: str = "") -> None:
    """Add labels a check declares beside its logic (its evidence columns, the words of its groups).

    A label already known under another msgid is an error: one column name prints one way in every table."""
    for known, new, kind in ((COLUMNS, columns or {}, "column"), (TERMS, terms or {}, "term")):
        for key, msgid in new.items():
            if known.get(key, msgid) != msgid:
                raise ValueError(f"{owner}: the {kind} {key!r} is labelled {msgid!r}, but elsewhere {known[key]!r}")
            known[key] = msgid


def pretty(name: Any) -> str:
    """A column or stage id as words: "bounce_rate" -> "Bounce rate" (where no label is known)."""
    s = str(name).replace("_", " ").strip()
    return s[:1].upper() + s[1:]


def column(name: Any, locale: str | None = None) -> str:
    """A table column's label in the locale: "bounce_rate" -> "Bounce rate" · "Absprungrate"."""
    label = COLUMNS.get(str(name))
    return gettext(label, locale) if label else pretty(name)


def term(value: Any, locale: str | None = None) -> str:
    """A data value in the locale when it is a known word ("mobile" -> "Mobil"), else as it is."""
    label = TERMS.get(str(value)) if isinstance(value, str) else None
    return gettext(label, locale) if label else str(value)
