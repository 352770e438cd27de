"""The report's language and currency in effect: one setting per process, narrowed for a block with `use`.

Everything that prints for the client (numbers, money, dates, translated text) asks here which
language and currency are in effect: `use(locale, currency)` sets them for a block (the runner and
the renderers), `set_locale` sets the process default (a notebook kernel, once, in
workbook.open_audit). A notebook kernel may run each cell in a copy of the context, so the default
is kept in a plain module variable and the block settings in context variables above it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

LOCALES = ("en", "de", "id")
# The Babel locale each report language formats with.
BABEL_LOCALES = {"en": "en_US", "de": "de_DE", "id": "id_ID"}

_locale: contextvars.ContextVar[str | None] = contextvars.ContextVar("la_locale", default=None)
_currency: contextvars.ContextVar[str | None] = contextvars.ContextVar("la_currency", default=None)
_DEFAULT = {"locale": "en", "currency": "EUR"}


def current() -> str:
    """The report language in effect: "en", "de" or "id"."""
    return _locale.get() or _DEFAULT["locale"]


def currency() -> str:
    """The ISO currency code in effect (money is printed in it)."""
    return _currency.get() or _DEFAULT["currency"]


def checked(locale: str | None) -> str:
    """A report language from "de", "de_DE" or "de-DE"; ValueError for one the report does not speak."""
    locale = (locale or "en").split("_")[0].split("-")[0].lower()
    if locale not in LOCALES:
        raise ValueError(f"unknown report language {locale!r}; the report speaks {', '.join(LOCALES)}")
    return locale


def set_locale(locale: str | None = None, currency: str | None = None) -> None:
    """Set the language (and currency) for what follows, e.g. once in a notebook (workbook.open_audit does)."""
    if locale is not None:
        _DEFAULT["locale"] = checked(locale)
    if currency is not None:
        _DEFAULT["currency"] = currency.upper()


@contextlib.contextmanager
def use(locale: str | None = None, currency: str | None = None) -> Iterator[None]:
    """Render in `locale` (and `currency`) inside the block; None keeps the one in effect."""
    tokens = []
    if locale is not None:
        tokens.append((_locale, _locale.set(checked(locale))))
    if currency is not None:
        tokens.append((_currency, _currency.set(currency.upper())))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def babel_locale(locale: str | None = None) -> str:
    """The Babel locale of `locale` (default: the one in effect): "de" -> "de_DE"."""
    return BABEL_LOCALES[checked(locale or current())]
