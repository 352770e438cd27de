"""Languages and locale formats: every msgid translated in de and id, Text renders per locale, Babel formats."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from lifecycle_audit import checks, fmt, i18n, i18n_extract, lang, paths, stages
from lifecycle_audit.checks import Chart
from lifecycle_audit.findings import Finding
from lifecycle_audit.i18n import Text, count, money, share, word
from lifecycle_audit.report import cards, theme

ROOT = paths.ROOT if hasattr(paths, "ROOT") else Path(__file__).resolve().parents[1]
TRANSLATED = ("de", "id")


def extracted() -> dict[str, str]:
    """msgid -> where it was found, by the same extraction `pybabel extract -F babel.cfg` does."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        for m in message if isinstance(message, tuple) else (message,):
            if m:
                found.setdefault(m, f"{filename}:{lineno}")
    return found


def declared() -> set[str]:
    """Every English text the code declares for the report, collected from the objects themselves."""
    out: set[str] = set()
    for spec in checks.specs():
        out |= {spec.title, spec.failure_title, spec.description, spec.source, *spec.advice}
    out |= set(stages.TITLES.values()) | set(stages.QUESTIONS.values())
    out |= set(i18n.COLUMNS.values()) | set(i18n.TERMS.values())
    out |= {word for _sym, word in theme.BADGES.values()} | {b.word for b in theme.BANDS}
    return out


@pytest.fixture(scope="module")
def msgids() -> dict[str, str]:
    return extracted()


def test_extraction_finds_every_declared_text(msgids):
    missing = sorted(declared() - set(msgids))
    assert not missing, f"declared texts the babel.cfg extraction does not see: {missing}"


def test_extraction_covers_code_templates_and_notebooks(msgids):
    where = "\n".join(msgids.values())
    for part in (
        "checks/conversion/",
        "report/templates/index.html.j2",
        "notebooks/03_conversion.ipynb",
        "report/render.py",
        "i18n.py",
    ):
        assert part in where, part
    assert "## Findings" in msgids  # notebook narrative, from its Markdown cells


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_msgid_has_a_translation_with_the_same_placeholders(msgids, locale):
    path = i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        cat = read_po(fh, locale=locale)
    problems = []
    for msgid, where in sorted(msgids.items()):
        m = cat.get(msgid)
        if m is None:
            problems.append(f"missing: {msgid!r} ({where})")
        elif not m.string:
            problems.append(f"empty: {msgid!r}")
        elif m.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif i18n.placeholders(m.string) != i18n.placeholders(msgid):
            problems.append(f"placeholders differ: {msgid!r} -> {m.string!r}")
    assert not problems, f"{locale}: {len(problems)} problem(s) in {path.name}:\n" + "\n".join(problems)


def test_text_renders_in_each_locale_and_survives_json():
    t = Text(
        "{abandoned} of {total} carts ({rate}) were not bought within {days} days; worst on {device} ({worst}).",
        abandoned=count(3972),
        total=count(4900),
        rate=share(0.8106, 1),
        days=count(7),
        device=word("mobile"),
        worst=share(0.864, 1),
    )
    assert t.render("en") == "3,972 of 4,900 carts (81.1%) were not bought within 7 days; worst on mobile (86.4%)."
    assert t.render("de") == (
        "3.972 von 4.900 Warenkörben (81,1\u00a0%) wurden nicht innerhalb von 7 Tagen gekauft; "
        "am schlechtesten auf Mobil (86,4\u00a0%)."
    )
    assert t.render("id").startswith("3.972 dari 4.900 keranjang (81,1%)")
    back = Text.from_dict(json.loads(json.dumps(t.to_dict())))
    assert back.render("de") == t.render("de") and back == t


def test_money_and_nested_text_follow_the_currency():
    t = Text(
        "{a}; {b}",
        a=Text(
            "{n} carts not reminded within 4 h × the share of reminded carts that end in an order, as an automated "
            "flow's placed-order rate ({rate}) × average order value ({aov}), over the period analysed",
            n=count(1200),
            rate=share(0.0171),
            aov=money(1234567.891, 2),
        ),
        b=Text(
            "capped at {share} of the revenue of the period analysed ({revenue}); the estimate was {amount}",
            share=share(0.2, 0),
            revenue=money(5_000_000, 0),
            amount=money(1234567.891, 0),
        ),
    )
    de = t.render("de", "EUR")
    assert "1.234.567,89\u00a0€" in de and "Warenkörbe ohne Erinnerung" in de and "begrenzt auf 20\u00a0%" in de
    assert "Rp1.234.567,89" in t.render("id", "IDR") and "dibatasi pada" in t.render("id", "IDR")
    assert "$1,234,567.89" in t.render("en", "USD")


@pytest.mark.parametrize(
    "locale, expected",
    [
        ("en", ("1,234.5", "81.3%", "€12,345", "$1,234.56", "March 5, 2026", "12.5 days")),
        ("de", ("1.234,5", "81,3\u00a0%", "12.345\u00a0€", "1.234,56\u00a0$", "5. März 2026", "12,5 Tage")),
        ("id", ("1.234,5", "81,3%", "€12.345", "US$1.234,56", "5 Maret 2026", "12,5 hari")),
    ],
)
def test_fmt_follows_the_locale(locale, expected):
    with lang.use(locale):
        got = (
            fmt.number(1234.5),
            fmt.percent(0.813),
            fmt.money(12345, "EUR"),
            fmt.money(1234.56, "USD", 2),
            fmt.date(dt.date(2026, 3, 5), "long"),
            i18n.value(12.5, "days"),
        )
    assert got == expected


def test_rupiah_and_axis_labels():
    assert fmt.money(1234567, "IDR", locale="id") == "Rp1.234.567"
    assert i18n.axis(1_200_000, "money", "EUR", locale="de") == "1,2\u00a0Mio.\u00a0€"
    assert i18n.axis(0.25, "share", locale="de") == "25\u00a0%"


def test_unknown_locale_is_refused():
    with pytest.raises(ValueError, match="en, de, id"):
        lang.set_locale("fr")


def _finding() -> Finding:
    spec = checks.get("conversion.cart_abandonment")
    table = pd.DataFrame({"device": ["mobile", "desktop"], "carts": [3400, 1200], "abandonment": [0.864, 0.62]})
    return Finding(
        check_id=spec.id,
        stage=spec.stage,
        title=spec.failure_title,
        status="fail",
        score=23,
        value=0.813,
        unit="share",
        good=spec.good,
        poor=spec.poor,
        better=spec.better,
        source=spec.source,
        description=spec.description,
        advice=list(spec.advice),
        summary=Text("{rate} of {n} visits landing on the homepage ended there", rate=share(0.5), n=count(10)),
        table=table,
        at_stake=12345.6,
        at_stake_method=Text(
            "carts beyond a {good} abandonment rate ({excess} carts) × average order "
            "value ({aov}), over the period analysed",
            good=share(0.65, 0),
            excess=count(700),
            aov=money(64.5, 2),
        ),
        chart=Chart(
            kind="bar",
            data=table,
            x="device",
            y="abandonment",
            title=Text("Carts not bought within {days} days, by device", days=count(7)),
            x_label=Text("Device"),
            y_label=Text("Carts abandoned"),
            reference=0.65,
            reference_label=Text("good"),
        ),
    )


@pytest.mark.parametrize("as_dict", [False, True])
def test_card_in_german_has_no_english_left(as_dict):
    f = _finding()
    html = cards.finding_html(f.to_dict() if as_dict else f, "EUR", locale="de")
    for text in (
        "Die meisten Warenkörbe werden abgebrochen",
        "Was zu tun ist",
        "Quelle des Schwellenwerts",
        "12.346\u00a0€ auf dem Spiel",
        "Abbruchquote",
        "Mobil",
        "gut ≤ 65\u00a0%",
        "Nicht innerhalb von 7 Tagen gekaufte Warenkörbe",
        "64,50\u00a0€",
    ):
        assert text in html, text
    for english in (
        "Most carts are abandoned",
        "What to do",
        "Follow up every abandoned cart",
        "at stake",
        "Threshold source",
        "Evidence",
    ):
        assert english not in html, english


def test_card_in_indonesian_with_rupiah():
    html = cards.finding_html(_finding(), "IDR", locale="id")
    assert "Sebagian besar keranjang ditinggalkan" in html and "Rp12.346 dipertaruhkan" in html
    assert "Yang perlu dilakukan" in html and "seluler" in html


CHAPTER = """## How far visits get

The share of all sessions that reach
each step on the way to an order.
## The funnel by device
- known customers only,
  split by device
- anonymous visitors left out

```python
audit.evidence("conversion.checkout_funnel")
```"""


def test_markdown_cells_are_split_into_the_msgids_the_page_translates():
    assert i18n.markdown_messages(CHAPTER) == [
        "## How far visits get",
        "The share of all sessions that reach each step on the way to an order.",
        "## The funnel by device",
        "known customers only, split by device",
        "anonymous visitors left out",
    ]  # the code block is not a message


def test_extract_notebook_reads_markdown_cells_but_not_the_title_the_page_leaves_out():
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {"tags": ["remove-cell"]}, "source": "# 3 · Conversion"},
            {"cell_type": "markdown", "metadata": {}, "source": CHAPTER.splitlines(keepends=True)},
            {"cell_type": "code", "metadata": {}, "source": 'workbook.say("No events table was supplied.")'},
        ]
    }
    found = [m for _line, _fn, m, _c in i18n_extract.extract_notebook(io.BytesIO(json.dumps(nb).encode()), [], [], {})]
    assert found == [*i18n.markdown_messages(CHAPTER), "No events table was supplied."]


def test_markdown_reads_in_the_locale_block_by_block_and_keeps_what_it_cannot_translate():
    text = "## Findings\n\nOne card per check: what it measured, the threshold it was held against and where that\nthreshold comes from, the evidence, the money at stake where it can be estimated, and what to do. A check\nwhose data was not supplied says so instead of guessing.\n\n- not a msgid\n- nor this\n\n```\n## Findings\n```"
    de = i18n.markdown(text, "de")
    blocks = de.split("\n\n")
    assert blocks[0] == "## Befunde"
    assert blocks[1] == i18n.gettext(i18n.normalise(text.split("\n\n")[1]), "de") and "Schwellenwert" in blocks[1]
    assert blocks[2] == "- not a msgid\n- nor this"  # kept as written, list and all
    assert blocks[3] == "```\n## Findings\n```"  # code is never translated
    assert i18n.markdown(text, "en") == text
