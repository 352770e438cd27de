"""Text that runs long (German, Indonesian, a client's values) wraps or is cut with the whole kept, never clipped:
chart titles, axis labels, category labels and legends, and the cells of notebook tables."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit.findings import Chart
from lifecycle_audit.report import charts, clean

LONG_TITLE = (
    "Bestellungen nach Tagen bis zum nächsten Newsletter oder Angebot an den Kunden, nach Monat der Erstbestellung"
)


def _chart(title: str = "Orders", x_label: str = "Days", y_label: str = "Orders", **kw) -> Chart:
    data = kw.pop("data", pd.DataFrame({"bucket": ["within 7 days", "8–30 days", "none"], "share": [0.1, 0.2, 0.7]}))
    return Chart(
        kind=kw.pop("kind", "bar"),
        data=data,
        x=kw.pop("x", "bucket"),
        y=kw.pop("y", "share"),
        title=title,
        x_label=x_label,
        y_label=y_label,
        y_unit="share",
        **kw,
    )


def _inside(fig, artist) -> bool:
    box, page = artist.get_window_extent(), fig.bbox
    return page.x0 - 0.5 <= box.x0 and box.x1 <= page.x1 + 0.5


def test_a_long_title_wraps_inside_the_chart_which_grows_for_it():
    fig = charts.draw(_chart(LONG_TITLE))
    title = fig.axes[0].title if fig.axes[0].get_title() else fig.axes[0]._left_title
    fig.draw_without_rendering()
    assert "\n" in title.get_text() and title.get_text().replace("\n", " ") == LONG_TITLE
    assert _inside(fig, title)
    assert fig.get_figheight() > charts.FIGSIZE[1]


def test_a_short_title_stays_on_one_line_at_the_usual_size():
    fig = charts.draw(_chart("Orders by day"))
    assert fig.axes[0].get_title(loc="left") == "Orders by day"
    assert tuple(fig.get_size_inches()) == pytest.approx(charts.FIGSIZE)


def test_axis_labels_wrap_to_the_length_of_their_axis():
    y_label = "Anteil der Bestellungen, die innerhalb von neunzig Tagen nach der ersten Bestellung eingingen"
    fig = charts.draw(_chart(y_label=y_label, x_label="Nächste Marketing-Nachricht nach der Bestellung " * 3))
    ax = fig.axes[0]
    fig.draw_without_rendering()
    assert "\n" in ax.get_ylabel() and ax.yaxis.label.get_window_extent().height <= ax.bbox.height + 0.5
    assert "\n" in ax.get_xlabel() and ax.xaxis.label.get_window_extent().width <= ax.bbox.width + 0.5


def test_category_labels_wrap_and_only_what_is_still_longer_is_shortened():
    assert charts.wrap_label("keine innerhalb von 90 Tagen", 14) == "keine\ninnerhalb von\n90 Tagen"
    assert charts.wrap_label("mobile", 14) == "mobile"
    very_long = "Kunden ohne funktionierende E-Mail-Adresse, die über einen anderen Kanal angesprochen wurden"
    label = charts.wrap_label(very_long, 18)
    assert len(label.split("\n")) == charts.LABEL_LINES and label.endswith("…")
    assert all(len(line) <= 18 for line in label.split("\n"))
    assert very_long.startswith(label.replace("\n", " ").removesuffix("…"))
    assert charts.shorten("Rückgewinnungsnachrichtenempfänger", 10) == "Rückgewin…"


def test_the_evidence_keeps_the_whole_category_the_chart_shortens():
    long = "Kunden ohne funktionierende E-Mail-Adresse, die über einen anderen Kanal angesprochen wurden"
    chart = _chart(data=pd.DataFrame({"bucket": [long, "andere"], "share": [0.3, 0.7]}))
    ticks = [t.get_text() for t in charts.draw(chart).axes[0].get_xticklabels()]
    assert ticks[0].endswith("…") and ticks[1] == "andere"
    assert chart.data["bucket"].iloc[0] == long  # the table under the chart is drawn from the same data


def test_a_legend_of_long_series_names_takes_fewer_columns_to_fit():
    names = [f"Kundengruppe mit sehr langem Namen Nummer {i}" for i in range(4)]
    data = pd.DataFrame({"month": ["Jan"] * 4 + ["Feb"] * 4, "group": names * 2, "share": [0.1] * 8})
    fig = charts.draw(_chart(data=data, x="month", y="share", hue="group"))
    legend = fig.legends[0]
    fig.draw_without_rendering()
    assert legend._ncols < 4 and _inside(fig, legend)


def test_wrap_to_fit_keeps_every_word_and_a_word_too_long_on_its_own_line():
    text = "a bb ccc Donaudampfschifffahrt e"
    wrapped = charts.wrap_to_fit(text, lambda line: len(line) <= 8)
    assert wrapped == "a bb ccc\nDonaudampfschifffahrt\ne"
    assert charts.wrap_to_fit("short", lambda line: len(line) <= 8) == "short"


def test_the_svg_holds_all_of_a_long_title():
    markup = charts.svg(_chart(LONG_TITLE))
    for word in ("Bestellungen", "Kunden,", "Erstbestellung"):
        assert word in markup
    assert "…" not in markup


# ---------------------------------------------------------------- long values in notebook tables


def test_long_cell_values_are_cut_with_the_whole_value_as_tooltip():
    message = (
        "column 'channel' (contract messages.channel): 1 row has a value outside the allowed list, e.g. row 6 "
        "(value '&lt;script&gt;alert(1)&lt;/script&gt;'); expected one of: email, push, sms, postal"
    )
    html = (
        "<table><tr><td>/srv/clients/acme/exports/2026/bestellungen_2026.csv</td>"
        f"<td>{message}</td><td>mobile</td><td><a href='x.csv'>{'long link text ' * 12}</a></td></tr></table>"
    )
    out = clean.clean_html(html)
    assert '<span class="la-cut" title="/srv/clients/acme/exports/2026/bestellungen_2026.csv">' in out
    assert "/srv/clients…/bestellungen_2026.csv</span>" in out
    assert "expected one of: email, push, sms, postal" in out.split("title=")[2]  # whole in the tooltip
    assert "<script>" not in out  # still escaped, in the tooltip too
    assert "<td>mobile</td>" in out  # short values stay as they are
    assert out.count("la-cut") == 2  # a cell with markup inside is left alone


def test_cut_value_leaves_ordinary_text_alone():
    assert clean.cut_value("Rows rejected: 3") == "Rows rejected: 3"
    cut = clean.cut_value("word " * 40)
    assert len(cut) <= clean.CELL_CHARS and cut.endswith("…")
