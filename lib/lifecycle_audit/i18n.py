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

import contextlib
import contextvars
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

LOCALES = ("en", "de", "id")
# The Babel locale each report language formats with.
BABEL_LOCALES = {"en": "en_US", "de": "de_DE", "id": "id_ID"}
LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"

# `use` sets these for a block; `set_locale` sets the process default below them. (A notebook kernel may run
# each cell in a copy of the context, so a setting meant to last is kept in a plain module default.)
_locale: contextvars.ContextVar[str | None] = contextvars.ContextVar("la_locale", default=None)
_currency: contextvars.ContextVar[str | None] = contextvars.ContextVar("la_currency", default=None)
_DEFAULT = {"locale": "en", "currency": "EUR"}


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it now (it is translated when rendered)."""
    return msgid


# ---------------------------------------------------------------- the current locale

def current() -> str:
    """The report language in effect: "en", "de" or "id"."""
    return _locale.get() or _DEFAULT["locale"]


def currency() -> str:
    """The ISO currency code in effect (money is printed in it)."""
    return _currency.get() or _DEFAULT["currency"]


def _checked(locale: str | None) -> str:
    locale = (locale or "en").split("_")[0].split("-")[0].lower()
    if locale not in LOCALES:
        raise ValueError(f"unknown report language {locale!r}; the report speaks {', '.join(LOCALES)}")
    return locale


def set_locale(locale: str | None = None, currency: str | None = None) -> None:
    """Set the language (and currency) for what follows, e.g. once in a notebook (workbook.open_audit does)."""
    if locale is not None:
        _DEFAULT["locale"] = _checked(locale)
    if currency is not None:
        _DEFAULT["currency"] = currency.upper()


@contextlib.contextmanager
def use(locale: str | None = None, currency: str | None = None) -> Iterator[None]:
    """Render in `locale` (and `currency`) inside the block; None keeps the one in effect."""
    tokens = []
    if locale is not None:
        tokens.append((_locale, _locale.set(_checked(locale))))
    if currency is not None:
        tokens.append((_currency, _currency.set(currency.upper())))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def babel_locale(locale: str | None = None) -> str:
    return BABEL_LOCALES[_checked(locale or current())]


# ---------------------------------------------------------------- catalogs

@functools.lru_cache(maxsize=None)
def catalog(locale: str):
    """The locale's catalog, read from its committed .po file.

    Read at runtime with Babel instead of compiling .mo files: the .po is the single source of truth,
    there is no build step to forget (papermill kernels, an editable install and a fresh clone all
    see the same text), and reading a few hundred messages takes milliseconds once per process.
    """
    from babel.messages.pofile import read_po

    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return None
    with path.open("rb") as fh:
        return read_po(fh, locale=BABEL_LOCALES[locale])


@functools.lru_cache(maxsize=None)
def _messages(locale: str) -> dict[str, str]:
    cat = catalog(locale)
    if cat is None:
        return {}
    return {m.id: m.string for m in cat
            if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def gettext(msgid: str, locale: str | None = None) -> str:
    """The translation of `msgid` in `locale` (the one in effect by default); English is the msgid itself.

    A msgid missing from a catalog prints in English here; tests/test_i18n.py makes that a test failure.
    """
    locale = _checked(locale or current())
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


# ---------------------------------------------------------------- typed values and lazy text

KINDS = ("share", "money", "count", "number", "days", "hours", "term", "date", "text")


@dataclass(frozen=True)
class Value:
    """A number (or word) inside a Text, formatted at render time by its kind."""

    kind: str
    value: Any
    decimals: int | None = None

    def render(self, locale: str | None = None, currency: str | None = None) -> str:
        from .report import fmt

        with use(locale, currency):
            k, v, d = self.kind, self.value, self.decimals
            if k == "share":
                return fmt.percent(v, d)
            if k == "money":
                return fmt.money(v, None, d)  # the currency in effect (set just above)
            if k == "count":
                return fmt.number(v, 0 if d is None else d)
            if k == "days":
                return fmt.value(v, "days")
            if k == "hours":
                return fmt.value(v, "hours")
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

    def __add__(self, other: Any) -> "Text":  # "summary" + "." style concatenation keeps the text lazy
        return Text("{a}{b}", a=self, b=other)

    def to_dict(self) -> dict[str, Any]:
        return {"msgid": self.msgid, "params": {k: _param_dict(v) for k, v in self.params.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Text":
        return cls(d["msgid"], **{k: _param_from(v) for k, v in (d.get("params") or {}).items()})


def _render_param(v: Any) -> str:
    from .report import fmt

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


# ---------------------------------------------------------------- labels of table columns and data values

# Evidence and notebook table columns -> their English label (a msgid). A column not listed prints
# as its name with spaces; tests/test_i18n.py fails when a check's evidence has an unlisted column.
COLUMNS = {
    "landing": N_("Landing page type"),
    "sessions": N_("Sessions"),
    "bounce_rate": N_("Bounce rate"),
    "next_step": N_("Next step taken"),
    "median_seconds_to_next": N_("Median seconds to the next step"),
    "purchase_rate_engaged": N_("Purchase rate of visits that go on"),
    "device": N_("Device"),
    "carts": N_("Carts"),
    "abandoned": N_("Abandoned"),
    "abandonment": N_("Abandonment rate"),
    "share_reaching_checkout": N_("Share reaching checkout"),
    "reminder": N_("First reminder"),
    "recovered": N_("Recovered"),
    "recovery_rate": N_("Recovery rate"),
    "contacts_per_week": N_("Contacts per week"),
    "customers": N_("Customers"),
    "customer_weeks": N_("Customer-weeks"),
    "messages": N_("Messages"),
    "unsubscribe_rate": N_("Unsubscribe rate"),
    "complaint_rate": N_("Complaint rate"),
    "channel": N_("Channel"),
    "share": N_("Share"),
    "step": N_("Step"),
    "share_of_sessions": N_("Share of sessions"),
    "orders": N_("Orders"),
    "rating": N_("Rating"),
    "reviews": N_("Reviews"),
    "month": N_("Month"),
    # loyalty
    "customer_id": N_("Customer"),
    "revenue": N_("Revenue"),
    "days_since_last_order": N_("Days since the last order"),
    "thank_yous": N_("Thank-yous received"),
    "group": N_("Group"),
    "orders_per_customer": N_("Orders per customer"),
    "revenue_per_customer": N_("Revenue per customer"),
    "reviews_per_order": N_("Reviews per order"),
    "segment": N_("Segment"),
    "share_of_customers": N_("Share of customers"),
    "share_of_revenue": N_("Share of revenue"),
    # retention (part A)
    "first_contact": N_("Next newsletter or offer"),
    "new_customers": N_("New customers"),
    "second_order_90d": N_("Second order within 90 days"),
    "second_order_180d": N_("Second order within 180 days"),
    "onboarding": N_("Onboarding"),
    "first_orders": N_("First orders"),
    "customers_observed": N_("Customers observed 180 days"),
    "second_order_rate": N_("Second order rate"),
    "month 1": N_("Month 1"), "month 2": N_("Month 2"), "month 3": N_("Month 3"),
    "month 4": N_("Month 4"), "month 5": N_("Month 5"), "month 6": N_("Month 6"),
    "status": N_("Status"),
    "table": N_("Table"),
    "file": N_("File"),
    "rows_in": N_("Rows in"),
    "rows_used": N_("Rows used"),
    "rows_rejected": N_("Rows rejected"),
    "rows_excluded": N_("Rows excluded"),
    "reason": N_("Reason"),
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
    "missing": N_("Missing tables"),
    "tables": N_("Tables"),
    "id": N_("Check"),
    "data supplied": N_("Data supplied"),
    "ready": N_("Ready"),
    "cannot run": N_("Cannot run"),
    "not built yet": N_("Not built yet"),
    # acquisition: landing_page_match, price_sensitivity, time_to_first_purchase
    "traffic": N_("Traffic"), "product_id": N_("Product"), "changed_on": N_("Changed on"),
    "old_price": N_("Old price"), "new_price": N_("New price"), "change": N_("Price change (%)"),
    "units_before": N_("Units before"), "units_after": N_("Units after"), "trend": N_("Shop trend"),
    "demand_ratio": N_("Demand after / before"), "price_change_band": N_("Price change"),
    "days_to_first_order": N_("Days from first visit to first order"),
    "share_of_first_orders": N_("Share of first orders"), "welcome_messages": N_("Welcome messages"),
    "share_of_welcome_messages": N_("Share of welcome messages"),
    "late_opted": N_("Opted-in customers deciding late"), "welcomed_rate": N_("Share welcomed in step"),
    "visits": N_("Visits"), "sign_ups": N_("Sign-ups"), "sign_up_rate": N_("Sign-up rate"),
    "cumulative_share": N_("Ordered by then"),
    # reach (untracked_traffic, channel_concentration, acquisition_cost, earned_reach)
    "untracked_sessions": N_("Visits without a channel"), "untracked_customers": N_("New customers without a channel"),
    "share_first_months": N_("Share in the first months"), "share_last_months": N_("Share in the last months"),
    "spend": N_("Spend"), "cost_per_customer": N_("Cost per new customer"), "value_12m": N_("12-month revenue per customer"),
    "value_per_cost": N_("Revenue per unit of cost"), "unrecovered": N_("Spend not recovered"),
    "channel_group": N_("Channel group"), "first_visit_bounce": N_("First visit bounced"),
    "first_visit_events": N_("Events in the first visit"), "first_visit_purchase": N_("Bought on the first visit"),
    # conversion: funnel, customer research, thank-you, relevance
    "step_rate": N_("Share of visits at the step before"), "share_of_start": N_("Share of product-view visits"),
    "gap_to_best": N_("Rate against the best device"), "scale": N_("Survey"), "surveys": N_("Surveys sent"),
    "share_of_active": N_("Share of active customers"), "responses": N_("Responses"),
    "response_rate": N_("Response rate"), "last_sent": N_("Last sent"), "days_since_last": N_("Days since the last"),
    "thanked": N_("Thanked"), "thanked_share": N_("Share thanked"), "median_hours": N_("Median hours"),
    "offer": N_("Offer"), "click_rate": N_("Click rate"), "click_to_open": N_("Clicks per open"),
    # retention part B (support_responsiveness, silent_dissatisfaction)
    "first_response": N_("First response"),
    "tickets": N_("Tickets"),
    "share_of_tickets": N_("Share of tickets"),
    "median_resolution_hours": N_("Median hours to resolution"),
    "mean_handoffs": N_("Hand-offs per ticket"),
    "mean_csat": N_("Mean CSAT"),
    "churn_rate": N_("No order in the following 180 days"),
    "survey_score": N_("Survey answer"),
    "low_scores": N_("Low scores"),
    "followed_up": N_("Followed up"),
    "follow_up_rate": N_("Follow-up rate"),
    "median_hours_to_follow_up": N_("Median hours to the follow-up"),
    "marketed_not_followed": N_("Sent marketing instead"),
    # retention part B (expansion)
    "first_category": N_("Category of the first order"),
    "share_of_first_buyers": N_("Share of first-time buyers"),
    "ordered_again_180d": N_("Ordered again within 180 days"),
    "cross_sell_rate": N_("Cross-sell rate"),
    "customers_observed_12m": N_("Customers observed 12 months"),
    "value_first_12m": N_("Revenue in the 12 months from the first order"),
    "main_channel": N_("Main acquisition channel"),
    "main_channel_share": N_("Share from the main channel"),
    # win-back
    "p_alive": N_("Probability still active"), "probability_alive": N_("Probability still active"),
    "expected_value": N_("Expected order value"), "revenue_at_risk": N_("Revenue at risk"),
    "contacted": N_("Sent a win-back"), "contacted_share": N_("Share sent a win-back"),
    "since_last_order": N_("Time since the last order"), "reactivation_rate": N_("Reactivation rate"),
    "tried": N_("Contacted on another channel"), "tried_share": N_("Share contacted on another channel"),
    "0–90 days": N_("0–90 days"), "91–180 days": N_("91–180 days"), "181–365 days": N_("181–365 days"),
    "over 365 days": N_("over 365 days"),
}

# Words of the data's vocabulary shown in tables and on chart axes (contract values and the checks' groups).
TERMS = {
    # page types
    "home": N_("homepage"), "landing": N_("landing page"), "category": N_("category page"),
    "product": N_("product page"), "cart": N_("cart"), "checkout": N_("checkout"), "content": N_("content page"),
    "other": N_("other"),
    # devices
    "desktop": N_("desktop"), "mobile": N_("mobile"), "tablet": N_("tablet"),
    # channels
    "organic_search": N_("organic search"), "paid_search": N_("paid search"), "paid_social": N_("paid social"),
    "organic_social": N_("organic social"), "email": N_("e-mail"), "referral": N_("referral"),
    "direct": N_("direct"), "affiliate": N_("affiliate"), "display": N_("display ads"), "unknown": N_("unknown"),
    # funnel steps (notebooks)
    "visit": N_("visit"), "product view": N_("product view"), "add to cart": N_("add to cart"),
    "begin checkout": N_("begin checkout"), "purchase": N_("purchase"),
    # reminder timing groups (conversion.abandoned_cart_recovery)
    "within 4 h": N_("within 4 h"), "4–24 h": N_("4–24 h"), "after 24 h": N_("after 24 h"),
    # first-response groups (retention.support_responsiveness)
    "within 1 h": N_("within 1 h"), "1–4 h": N_("1–4 h"), "4–12 h": N_("4–12 h"), "12–24 h": N_("12–24 h"),
    "no response": N_("no response"),
    "not reminded": N_("not reminded"),
    # survey kinds and offer groups (conversion.customer_research, conversion.relevance)
    "nps": N_("NPS"), "csat": N_("CSAT"), "matches their interest": N_("matches their interest"),
    "does not match": N_("does not match"), "no viewing history": N_("no viewing history"),
    # loyalty groups and RFM segments
    "loyalty member": N_("loyalty member"), "not a member": N_("not a member"), "referred": N_("referred"),
    "not referred": N_("not referred"), "premium": N_("premium"), "top spender": N_("top spender"),
    "repeat": N_("repeat"), "at risk": N_("at risk"), "inactive": N_("inactive"), "one-time": N_("one-time"),
    # retention (part A): days to the next marketing message, onboarding, lifecycle split
    "within 7 days": N_("within 7 days"), "8–30 days": N_("8–30 days"), "31–60 days": N_("31–60 days"),
    "61–90 days": N_("61–90 days"), "none within 90 days": N_("none within 90 days"),
    "onboarded": N_("onboarded"), "not onboarded": N_("not onboarded"),
    "new": N_("new"), "returning": N_("returning"), "resurrecting": N_("resurrecting"), "dormant": N_("dormant"),
    # win-back: probability-alive and last-order bands, reasons to leave a customer alone
    "below 25 %": N_("below 25 %"), "25–50 %": N_("25–50 %"), "50–75 %": N_("50–75 %"),
    "75 % and above": N_("75 % and above"), "0–90 days": N_("0–90 days"), "91–180 days": N_("91–180 days"),
    "181–365 days": N_("181–365 days"), "over 365 days": N_("over 365 days"), "did not pay": N_("did not pay"),
    "bad review": N_("bad review"), "both": N_("both"),
    # acquisition: traffic, price-change and days-to-first-order groups ("paid" is reach's)
    "unpaid": N_("unpaid"), "price cut": N_("price cut"),
    "rise under 10 %": N_("rise under 10 %"), "rise 10–20 %": N_("rise 10–20 %"), "rise 20–30 %": N_("rise 20–30 %"),
    "rise 30 % or more": N_("rise 30 % or more"), "same day": N_("same day"), "1–6 days": N_("1–6 days"),
    "7–13 days": N_("7–13 days"), "14–29 days": N_("14–29 days"), "30–59 days": N_("30–59 days"),
    "60–89 days": N_("60–89 days"), "90 days or more": N_("90 days or more"),
    # reach: channel groups (earned_reach)
    "earned": N_("earned"), "paid": N_("paid"),
    # data health
    "not supplied": N_("not supplied"), "ready": N_("ready"), "cannot run": N_("cannot run"),
    "not built yet": N_("not built yet"), "yes": N_("yes"), "no": N_("no"),
}


def _pretty(name: Any) -> str:
    s = str(name).replace("_", " ").strip()
    return s[:1].upper() + s[1:]


def column(name: Any, locale: str | None = None) -> str:
    """A table column's label in the locale: "bounce_rate" -> "Bounce rate" · "Absprungrate"."""
    label = COLUMNS.get(str(name))
    return gettext(label, locale) if label else _pretty(name)


def term(value: Any, locale: str | None = None) -> str:
    """A data value in the locale when it is a known word ("mobile" -> "Mobil"), else as it is."""
    label = TERMS.get(str(value)) if isinstance(value, str) else None
    return gettext(label, locale) if label else str(value)
