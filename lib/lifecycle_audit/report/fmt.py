"""Numbers, percentages, money and dates as the report prints them (English for now; one place to localise)."""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

DASH = "–"  # what a missing value prints as

# Currencies whose symbol goes in front of the amount; any other code prints as "SEK 1,234".
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "IDR": "Rp", "AUD": "A$", "CAD": "C$"}


def missing(value: Any) -> bool:
    """True for None, NaN, NaT and pandas' NA."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT; pd.NA raises TypeError on bool()
    except TypeError:
        return True


def _as_float(value: Any) -> float:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    return float(value)


def _auto_decimals(v: float) -> int:
    a = abs(v)
    if a == 0 or float(a).is_integer():
        return 0
    if a >= 10:
        return 1
    if a >= 0.1:
        return 2
    return 3


def number(value: Any, decimals: int | None = None) -> str:
    """1234.5 -> "1,234.5"; whole numbers without decimals; missing -> "–"."""
    if missing(value):
        return DASH
    v = _as_float(value)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    d = _auto_decimals(v) if decimals is None else decimals
    return f"{v:,.{d}f}"


def percent(value: Any, decimals: int | None = None) -> str:
    """A share in [0, 1] as a percentage: 0.8134 -> "81.3 %"; below 1 % with two decimals."""
    if missing(value):
        return DASH
    p = _as_float(value) * 100
    if decimals is None:
        if abs(p) < 1 and not float(round(p, 6)).is_integer():
            d = max(2, 1 - math.floor(math.log10(abs(p))))  # two significant digits: 0.52 %, 0.3 %, 0.0012 %
            if abs(round(p, d)) < 1:
                return f"{p:.{d}f}".rstrip("0").rstrip(".") + " %"
        decimals = 0 if float(round(p, 1)).is_integer() else 1
    return f"{p:,.{decimals}f} %"


def currency_symbol(currency: str = "EUR") -> str:
    """"€" for EUR, "$" for USD; the code and a space for currencies without a listed symbol."""
    return SYMBOLS.get(currency.upper(), currency.upper() + " ")


def money(value: Any, currency: str = "EUR", decimals: int | None = None) -> str:
    """12345 -> "€12,345"; amounts under 100 keep their cents ("€5.81"); negative as "-€1,234"."""
    if missing(value):
        return DASH
    v = _as_float(value)
    if decimals is None:
        decimals = 0 if abs(v) >= 100 or float(v).is_integer() else 2
    sign = "-" if v < 0 else ""
    return f"{sign}{currency_symbol(currency)}{abs(v):,.{decimals}f}"


def _plural(v: float, one: str, many: str) -> str:
    return one if v == 1 else many


def value(value: Any, unit: str | None, currency: str = "EUR") -> str:
    """A finding's value by its unit (see findings.UNITS): share/rate -> "81.3 %", money -> "€12,345", days -> "12.5 days"."""
    if missing(value):
        return DASH
    v = _as_float(value)
    if unit in ("share", "rate"):
        return percent(v)
    if unit == "money":
        return money(v, currency)
    if unit == "days":
        return f"{number(v)} {_plural(v, 'day', 'days')}"
    if unit == "hours":
        return f"{number(v)} {_plural(v, 'hour', 'hours')}"
    if unit == "count":
        return number(v, 0) if float(v).is_integer() else number(v)
    if unit == "per_week":
        return f"{number(v)} per week"
    if unit == "ratio":
        return number(v, 2)
    return number(v)


def axis(value: float, unit: str | None, currency: str = "EUR") -> str:
    """A short tick label for a chart axis: "60%", "€12k", "€1.2M", "3 d", "4 h", "12,000"."""
    v = float(value)
    if unit in ("share", "rate"):
        p = v * 100
        return f"{p:,.{0 if float(round(p, 6)).is_integer() else 1}f}%"
    if unit == "money":
        sym, a = currency_symbol(currency), abs(v)
        sign = "-" if v < 0 else ""
        if a >= 1_000_000:
            return f"{sign}{sym}{a / 1_000_000:,.{0 if (a / 1_000_000).is_integer() else 1}f}M"
        if a >= 10_000:
            return f"{sign}{sym}{a / 1_000:,.{0 if (a / 1_000).is_integer() else 1}f}k"
        return f"{sign}{sym}{a:,.{0 if float(a).is_integer() else 2}f}"
    suffix = {"days": " d", "hours": " h"}.get(unit or "", "")
    return f"{v:,.{0 if float(round(v, 6)).is_integer() else _auto_decimals(v)}f}{suffix}"


def date(value: Any) -> str:
    """A date as "2026-03-05" (a datetime with a time of day keeps "14:30"); strings pass through."""
    if missing(value):
        return DASH
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, _dt.datetime):
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value)
