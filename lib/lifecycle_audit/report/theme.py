"""What every page and card shares: the templates, the stylesheet, the status badges and the score bands."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from .. import i18n, lang, scoring
from ..i18n import N_, tr

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STYLESHEET = HERE / "style.css"
TABLE_ROWS = 15  # evidence rows shown on a card

# Status never by colour alone: a symbol and a word with every badge.
BADGES = {
    "fail": ("✗", N_("Fail")),
    "warn": ("!", N_("Warning")),
    "pass": ("✓", N_("Pass")),
    "not_run": ("–", N_("Not run")),
    "error": ("⚠", N_("Error")),
}

# Cells dropped whole (papermill's parameter cells may carry secrets), and cells whose outputs are dropped.


@dataclass(frozen=True)
class Band:
    key: str
    word: str
    symbol: str
    range: str


BANDS = (
    Band("good", N_("Good"), "●", "90–100"),
    Band("average", N_("Needs work"), "■", "50–89"),
    Band("poor", N_("Poor"), "▲", "0–49"),
)
NO_BAND = Band("none", N_("Not run"), "–", N_("nothing ran"))


def band_of(score: float | None) -> Band:
    """Lighthouse's bands on a 0..100 score: Good from 90, Needs work from 50, Poor below; None has no band."""
    if score is None:
        return NO_BAND
    if score >= scoring.PASS_AT * 100:
        return BANDS[0]
    if score >= scoring.WARN_AT * 100:
        return BANDS[1]
    return BANDS[2]


def anchor(check_id: str) -> str:
    """The card's HTML id: "conversion.cart_abandonment" -> "conversion-cart_abandonment"."""
    return check_id.replace(".", "-")


# ---------------------------------------------------------------- templates and stylesheet


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.globals.update(BADGES=BADGES, band_of=band_of, _=_template_gettext, tr=tr, lang=lang.current)
    return env


def _template_gettext(msgid: str, **values: Any) -> str:
    """`{{ _("Score {n}", n=3) }}` in a template: the msgid in the locale in effect, then its placeholders."""
    text = i18n.gettext(msgid)
    return text.format(**values) if values else text


@functools.lru_cache(maxsize=1)
def page_css() -> str:
    """The whole stylesheet, as inlined into every page."""
    return STYLESHEET.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def card_css() -> str:
    """Only the card's rules (between the card:start and card:end markers), minified: a card's own <style>."""
    css = page_css()
    part = css[css.index("/* card:start") : css.index("/* card:end */")]
    part = re.sub(r"/\*.*?\*/", "", part, flags=re.S)
    part = re.sub(r"\s+", " ", part)
    return re.sub(r"\s*([{};:,>])\s*", r"\1", part).strip()
