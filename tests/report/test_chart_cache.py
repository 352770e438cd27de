"""A chart is drawn once per key: the same chart again is read from the folder, and anything that changes its
picture (data, fields, language, currency, the drawing code) draws it afresh."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from lifecycle_audit import lang
from lifecycle_audit.findings import Chart
from lifecycle_audit.i18n import Text
from lifecycle_audit.report import chart_cache, charts
from lifecycle_audit.report.cards import finding_html


def _chart(**kw) -> Chart:
    spec = dict(
        kind="bar",
        data=pd.DataFrame({"step": ["cart", "checkout", "purchase"], "rate": [0.5, 0.4, 0.25]}),
        x="step",
        y="rate",
        title=Text("Visits reaching each step"),
        x_label=Text("Step"),
        y_label=Text("Share"),
    )
    return Chart(**{**spec, **kw})


@pytest.fixture
def drawn(tmp_path, monkeypatch):
    """Charts kept in a fresh folder; the list of the charts actually drawn."""
    calls: list[Chart] = []

    def draw(chart, currency):
        calls.append(chart)
        return charts.svg(chart, currency)

    monkeypatch.setattr(chart_cache, "_draw", draw)
    monkeypatch.setattr(chart_cache, "_pruned", False)
    previous = chart_cache.folder()
    chart_cache.use(tmp_path / "charts")
    yield calls
    chart_cache.use(previous)


def test_the_same_chart_is_drawn_once_and_read_back_as_drawn(drawn, tmp_path):
    first = chart_cache.svg(_chart(), "EUR")
    again = chart_cache.svg(_chart(), "EUR")  # equal data in another frame
    assert len(drawn) == 1
    assert again == first
    assert first.startswith("<svg") and "Visits reaching each step" in first
    assert [p.suffix for p in (tmp_path / "charts").iterdir()] == [".svg"]  # no temporary file left


@pytest.mark.parametrize(
    "changed",
    [
        {"data": pd.DataFrame({"step": ["cart", "checkout", "purchase"], "rate": [0.5, 0.4, 0.26]})},
        {"data": pd.DataFrame({"step": ["cart", "checkout", "paid"], "rate": [0.5, 0.4, 0.25]})},
        {"kind": "barh"},
        {"title": Text("Another title")},
        {"reference": 0.3},
        {"y_unit": "count"},
    ],
    ids=["value", "label", "kind", "title", "reference", "unit"],
)
def test_a_chart_that_differs_in_anything_is_drawn_again(drawn, changed):
    chart_cache.svg(_chart(), "EUR")
    chart_cache.svg(_chart(**changed), "EUR")
    assert len(drawn) == 2


def test_the_language_and_the_currency_are_part_of_the_key(drawn):
    chart = _chart(y_unit="money")
    euro = chart_cache.svg(chart, "EUR")
    dollar = chart_cache.svg(chart, "USD")
    with lang.use("de"):
        german = chart_cache.svg(chart, "EUR")
        with lang.use(currency="USD"):
            german_dollar = chart_cache.svg(chart)  # the currency in effect
            assert chart_cache.svg(chart, "USD") == german_dollar
    assert len(drawn) == 4
    assert len({euro, dollar, german, german_dollar}) == 4


def test_changed_drawing_code_draws_afresh(drawn, monkeypatch, tmp_path):
    chart_cache.svg(_chart(), "EUR")
    changed = tmp_path / "charts_changed.py"
    changed.write_bytes(charts.__file__.encode() + b"\n# a changed line\n")
    monkeypatch.setattr(chart_cache, "_SOURCES", (*chart_cache._SOURCES[1:], changed))
    chart_cache._fingerprint.cache_clear()
    try:
        chart_cache.svg(_chart(), "EUR")
    finally:
        chart_cache._fingerprint.cache_clear()
    assert len(drawn) == 2


def test_without_a_folder_every_chart_is_drawn(drawn):
    chart_cache.use(None)
    chart_cache.svg(_chart(), "EUR")
    chart_cache.svg(_chart(), "EUR")
    assert len(drawn) == 2


def test_a_folder_that_cannot_be_written_only_costs_a_redraw(drawn, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    chart_cache.use(blocked / "charts")
    assert chart_cache.svg(_chart(), "EUR").startswith("<svg")
    assert chart_cache.svg(_chart(), "EUR").startswith("<svg")
    assert len(drawn) == 2
    assert not blocked.with_name("charts").exists()


def test_a_card_shows_the_kept_chart(drawn):
    # a finding as findings.json holds it (a card takes either), with the chart it draws
    finding = {"check_id": "conversion.checkout_funnel", "stage": "conversion", "title": "t", "status": "fail"}
    finding["chart"] = _chart()
    cards = [finding_html(finding) for _ in range(2)]
    assert len(drawn) == 1
    assert cards[0] == cards[1]
    assert chart_cache.svg(_chart(), lang.currency()) in cards[0]


def test_prune_keeps_the_charts_used_last(tmp_path):
    for i in range(5):
        f = tmp_path / f"{i}.svg"
        f.write_text("<svg/>")
        os.utime(f, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / ".4.svg.1.tmp").write_text("being written")
    assert chart_cache.prune(tmp_path, keep=2) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [".4.svg.1.tmp", "3.svg", "4.svg"]


def test_a_chart_read_back_counts_as_used(drawn, tmp_path):
    chart_cache.svg(_chart(), "EUR")
    (kept,) = (tmp_path / "charts").iterdir()
    os.utime(kept, (1_000_000, 1_000_000))
    chart_cache.svg(_chart(), "EUR")
    assert kept.stat().st_mtime > 1_000_000
