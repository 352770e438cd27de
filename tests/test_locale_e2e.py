"""The demo audit rendered in German and Indonesian: text, numbers, money and dates in the client's locale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lifecycle_audit import checks
from tests.kit.locale_runs import locale_dir, locale_run


def _pages(run_dir: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in run_dir.glob("*.html")}


def _english_advice() -> list[str]:
    return [a for spec in checks.specs() for a in spec.advice]


@pytest.mark.e2e
def test_demo_report_in_german(tmp_path_factory):
    run_dir = locale_run(locale_dir(tmp_path_factory), "de", "EUR")
    pages = _pages(run_dir)
    index, conversion = pages["index.html"], pages["03_conversion.html"]
    assert '<html lang="de">' in index
    assert "Kundenlebenszyklus-Audit von Testladen de" in index and "Wichtigste Befunde" in index
    # money: digits grouped with ".", a decimal comma, "€" after the amount
    assert re.search(r"\d{1,3}(\.\d{3})*\u00a0€", index), "no German-formatted euro amount on the index"
    assert re.search(r"\d+,\d\u00a0%", conversion), "no German percentage with a decimal comma"
    # dates: a German month name in the audited period
    assert re.search(
        r"\d{1,2}\. (Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|"
        r"Dezember) \d{4}",
        index,
    )
    # a translated check title and advice, translated narrative, table headers and chart titles
    assert "Die meisten Warenkörbe werden abgebrochen" in index + conversion
    assert "Was zu tun ist" in conversion and "Fassen Sie jeden abgebrochenen Warenkorb" in conversion
    assert "Dieses Kapitel begleitet Käufer" in conversion and "## " not in conversion
    assert "Abbruchquote" in conversion and "Nicht innerhalb von 7 Tagen gekaufte Warenkörbe" in conversion
    for page, html in pages.items():
        for sentence in _english_advice():
            assert sentence not in html, f"{page}: English advice left: {sentence}"
        for english in ("What to do", "Threshold source", "at stake.", "One card per check", "Top findings"):
            assert english not in html, f"{page}: {english!r}"


@pytest.mark.e2e
def test_demo_report_in_indonesian_with_rupiah(tmp_path_factory):
    run_dir = locale_run(locale_dir(tmp_path_factory), "id", "IDR")
    pages = _pages(run_dir)
    index, retention = pages["index.html"], pages["04_retention.html"]
    assert '<html lang="id">' in index and "Audit siklus hidup pelanggan" in index
    assert re.search(r"Rp\d{1,3}(\.\d{3})*", index), "no rupiah amount on the index"
    assert "€" not in index
    assert re.search(
        r"\d{1,2} (Januari|Februari|Maret|April|Mei|Juni|Juli|Agustus|September|Oktober|November|"
        r"Desember) \d{4}",
        index,
    )
    assert "Pelanggan dihubungi begitu sering hingga berhenti berlangganan" in index + retention
    assert "Yang perlu dilakukan" in retention and "Batasi frekuensinya" in retention
    for page, html in pages.items():
        for sentence in _english_advice():
            assert sentence not in html, f"{page}: English advice left: {sentence}"
