"""Numbers, percentages, money and dates as the report prints them, in the report's locale (Babel).

The locale and currency in effect come from lang (lang.use / lang.set_locale; the runner and
workbook.open_audit set them from params.locale and params.currency): en 1,234.5 · €12,345 · 81.3%;
de 1.234,5 · 12.345 € · 81,3 %; id 1.234,5 · Rp12.345 · 81,3%.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_compact_decimal, format_currency, format_decimal, format_percent, get_currency_symbol
from babel.units import format_unit

from . import lang

DASH = "–"  # what a missing value prints as


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


def _loc(locale: str | None = None) -> str:
    return lang.babel_locale(locale)


def _with_decimals(pattern: str, decimals: int) -> str:
    """A Babel pattern ("#,##0.00 ¤", "#,##0 %") with exactly `decimals` fraction digits."""
    core = pattern.split(";")[0]
    i = core.index("0")
    j = i
    while j < len(core) and core[j] in "0.#":
        j += 1
    digits = "0" + ("." + "0" * decimals if decimals else "")
    return core[:i] + digits + core[j:]


def _pattern(kind: str, locale: str | None) -> str:
    loc = Locale.parse(_loc(locale))
    if kind == "currency":
        return loc.currency_formats["standard"].pattern
    return loc.percent_formats[None].pattern


def number(value: Any, decimals: int | None = None, locale: str | None = None) -> str:
    """1234.5 -> "1,234.5" (en), "1.234,5" (de, id); whole numbers without decimals; missing -> "–"."""
    if missing(value):
        return DASH
    v = _as_float(value)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    d = _auto_decimals(v) if decimals is None else decimals
    return format_decimal(round(v, d), format="#,##0" + ("." + "0" * d if d else ""), locale=_loc(locale))


def percent(value: Any, decimals: int | None = None, locale: str | None = None) -> str:
    """A share in [0, 1] as a percentage: 0.8134 -> "81.3%" (en), "81,3 %" (de); below 1 % two significant digits."""
    if missing(value):
        return DASH
    v = _as_float(value)
    p = v * 100
    if decimals is None:
        decimals = 0 if float(round(p, 1)).is_integer() else 1
        if abs(p) < 1 and not float(round(p, 6)).is_integer():
            decimals = max(2, 1 - math.floor(math.log10(abs(p))))  # 0.52 %, 0.3 %, 0.0012 %
            p_r = round(p, decimals)
            s = f"{p_r:.{decimals}f}".rstrip("0").rstrip(".")
            decimals = len(s.split(".")[1]) if "." in s else 0
    return format_percent(v, format=_with_decimals(_pattern("percent", locale), decimals), locale=_loc(locale))


def currency_symbol(currency: str = "EUR", locale: str | None = None) -> str:
    """The locale's symbol for the currency: "€", "$", "Rp"; the code where the locale has none."""
    return get_currency_symbol(currency.upper(), locale=_loc(locale))


def money(value: Any, currency: str | None = None, decimals: int | None = None, locale: str | None = None) -> str:
    """12345 -> "€12,345" (en), "12.345 €" (de), IDR "Rp12.345" (id); amounts under 100 keep their cents."""
    if missing(value):
        return DASH
    v = _as_float(value)
    if decimals is None:
        decimals = 0 if abs(v) >= 100 or float(v).is_integer() else 2
    code = (currency or lang.currency()).upper()
    out = format_currency(
        v,
        code,
        format=_with_decimals(_pattern("currency", locale), decimals),
        locale=_loc(locale),
        currency_digits=False,
    )
    # A currency the locale has no symbol for prints as its code: keep it apart from the digits ("SEK 1,000").
    return re.sub(rf"{code}(?=[\d-])", code + "\u00a0", out) if code in out else out


def _unit(v: float, unit: str, locale: str | None, length: str = "long") -> str:
    d = _auto_decimals(v)
    return format_unit(
        round(v, d), unit, length=length, format="#,##0" + ("." + "0" * d if d else ""), locale=_loc(locale)
    )


def value(
    value: Any, unit: str | None, currency: str | None = None, locale: str | None = None, per_week: str = "{n} per week"
) -> str:
    """A finding's value by its unit (see checks.UNITS): share/rate -> "81.3%", money -> "€12,345", days -> "12.5 days".

    per_week: the sentence a weekly frequency prints in ("{n} per week"); i18n.value passes it translated."""
    if missing(value):
        return DASH
    v = _as_float(value)
    if unit in ("share", "rate"):
        return percent(v, locale=locale)
    if unit == "money":
        return money(v, currency, locale=locale)
    if unit == "days":
        return _unit(v, "duration-day", locale)
    if unit == "hours":
        return _unit(v, "duration-hour", locale)
    if unit == "count":
        return number(v, 0, locale) if float(v).is_integer() else number(v, locale=locale)
    if unit == "per_week":
        return per_week.format(n=number(v, locale=locale))
    if unit == "ratio":
        return number(v, 2, locale)
    return number(v, locale=locale)


def axis(
    value: float,
    unit: str | None,
    currency: str | None = None,
    locale: str | None = None,
    day: str = "{n} d",
    hour: str = "{n} h",
) -> str:
    """A short tick label for a chart axis: "60%", "€12K", "1,2 Mio. €", "3 d", "12,000".

    day, hour: the short forms of days and hours ("{n} d"); i18n.axis passes them translated."""
    v = float(value)
    loc = _loc(locale)
    if unit in ("share", "rate"):
        p = v * 100
        d = 0 if float(round(p, 6)).is_integer() else 1
        return format_percent(v, format=_with_decimals(_pattern("percent", locale), d), locale=loc)
    if unit == "money":
        cur = (currency or lang.currency()).upper()
        if abs(v) >= 10_000:
            # the locale's compact form of the amount ("12K", "12.000", "12 rb"), placed where the locale puts money
            short = format_compact_decimal(v, format_type="short", locale=loc, fraction_digits=1)
            if short.replace("-", "").isdigit():  # no short form in this locale (de thousands): group the digits
                short = number(v, 0, locale)
            return _with_symbol(short, cur, locale)
        return money(v, cur, 0 if float(v).is_integer() else 2, locale)
    d = 0 if float(round(v, 6)).is_integer() else _auto_decimals(v)
    n = format_decimal(round(v, d), format="#,##0" + ("." + "0" * d if d else ""), locale=loc)
    if unit == "days":
        return day.format(n=n)
    if unit == "hours":
        return hour.format(n=n)
    return n


def _with_symbol(amount: str, currency: str, locale: str | None) -> str:
    pattern = _pattern("currency", locale)
    sym = currency_symbol(currency, locale)
    core = pattern.split(";")[0]
    before = core.strip().startswith("¤")
    if before:
        return f"{sym}\u00a0{amount}" if sym.isalpha() and len(sym) > 2 else f"{sym}{amount}"  # "SEK 12K", "€12K"
    return f"{amount}\u00a0{sym}"


def date(value: Any, length: str = "medium", locale: str | None = None) -> str:
    """A date in the locale: "Mar 5, 2026" · "05.03.2026" · "5 Mar 2026" (length="long": "5. März 2026");
    a datetime with a time of day keeps it ("14:30"); strings pass through."""
    if missing(value):
        return DASH
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    loc = _loc(locale)
    if isinstance(value, _dt.datetime):
        day = format_date(value.date(), length, locale=loc)
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return day
        return f"{day} {format_time(value.time(), 'short', locale=loc)}"
    if isinstance(value, _dt.date):
        return format_date(value, length, locale=loc)
    return str(value)
