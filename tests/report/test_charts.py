"""Every chart kind is drawn by seaborn in the project's theme: the colour-blind-safe palette in series order, the
report's fonts in the SVG, the reference line, the data's order, nothing random, the caller's settings untouched,
and labels that fit in English, German and Indonesian."""

from __future__ import annotations

import itertools
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
import seaborn as sns
from matplotlib.colors import to_hex

from lifecycle_audit import lang, workbook
from lifecycle_audit.findings import Chart
from lifecycle_audit.i18n import Text
from lifecycle_audit.report import chart_theme, charts
from lifecycle_audit.report.theme import page_css


def _funnel(**kw) -> Chart:
    """The checkout funnel's chart: steps by device, as conversion.checkout_funnel draws it."""
    data = pd.DataFrame(
        {
            "step": ["add to cart"] * 3 + ["begin checkout"] * 3 + ["purchase"] * 3,
            "device": ["mobile", "desktop", "tablet"] * 3,
            "step_rate": [0.52, 0.50, 0.53, 0.64, 0.43, 0.40, 0.25, 0.60, 0.31],
        }
    )
    spec = dict(
        kind="bar",
        data=data,
        x="step",
        y="step_rate",
        hue="device",
        title=Text("Visits of known customers reaching each step from the one before, by device"),
        x_label=Text("Step reached"),
        y_label=Text("Share of visits at the step before"),
        y_unit="share",
        reference=0.45,
        reference_label=Text("good"),
    )
    return Chart(**{**spec, **kw})


def _monthly(values: dict[str, list[float]] | None = None) -> Chart:
    """reach.untracked_traffic's chart: two shares by month, with the good level as reference."""
    values = values or {"untracked_sessions": [0.41, 0.43, 0.40, 0.42], "untracked_customers": [0.47, 0.44, 0.35, 0.44]}
    months = pd.date_range("2026-01-01", periods=len(next(iter(values.values()))), freq="MS")
    return Chart(
        kind="line",
        data=pd.DataFrame({"month": months, **values}),
        x="month",
        y=list(values),
        title=Text("Visits and new customers with no recorded channel, by month"),
        x_label=Text("Month"),
        y_label=Text("Share with unknown channel"),
        y_unit="share",
        reference=0.05,
        reference_label=Text("good"),
    )


def _roas() -> Chart:
    """A notebook's horizontal bars: one series, channels in the data's (not the alphabet's) order."""
    return Chart(
        kind="barh",
        data=pd.DataFrame({"channel": ["social", "email", "affiliate"], "roas": [1.4, 6.2, 0.8]}),
        x="channel",
        y="roas",
        title="Return on ad spend by channel",
        x_label="Channel",
        y_label="Revenue per euro spent",
        y_unit="number",
        reference=1.0,
        reference_label="Break-even",
    )


KINDS = {"bar": _funnel, "barh": _roas, "line": _monthly}


def _spy(monkeypatch, name: str) -> list[dict]:
    calls: list[dict] = []
    real = getattr(sns, name)

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(sns, name, spy)
    return calls


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_drawn_by_seaborn_with_nothing_estimated(kind, monkeypatch):
    calls = {name: _spy(monkeypatch, name) for name in ("barplot", "lineplot")}
    ax = charts.draw(KINDS[kind]()).axes[0]
    used = "lineplot" if kind == "line" else "barplot"
    assert len(calls[used]) == 1 and not calls[{"lineplot": "barplot", "barplot": "lineplot"}[used]]
    assert calls[used][0]["errorbar"] is None  # no bootstrap: the same picture every run
    # no error bars: beside the bars or the two lines of data, the axes hold only the reference line
    reference = charts.tr(KINDS[kind]().reference_label)
    others = [line for line in ax.get_lines() if line.get_label() != reference]
    assert len(ax.get_lines()) - len(others) == 1
    assert [len(line.get_xdata()) for line in others] == ([4, 4] if kind == "line" else [])


def test_a_notebooks_chart_is_drawn_by_the_same_seaborn_code(monkeypatch):
    calls = _spy(monkeypatch, "barplot")
    shown: list = []
    monkeypatch.setattr(workbook, "display", shown.append)
    data = pd.DataFrame({"channel": ["social", "email"], "roas": [1.4, 6.2]})
    audit = workbook.Audit(params=None, tables=None)  # plot needs neither
    with lang.use("de", "EUR"):
        audit.plot(data, "channel", "roas", title="Return on ad spend", kind="barh", unit="number")
    assert len(calls) == 1 and calls[0]["errorbar"] is None
    (markup,) = [item.data for item in shown]
    assert markup.startswith("<svg") and "E-Mail" in markup  # in the audit's language
    assert f"fill: {chart_theme.PALETTE[0].lower()}" in markup
    stack = chart_theme.REPORT_FONTS.replace('"', "'")
    assert f"font-family: {stack}" in markup


def test_the_same_chart_gives_the_same_svg():
    # Only the ids matplotlib gives clip paths and markers differ between two drawings (random: unique on a page).
    def drawn() -> str:
        return re.sub(r"\b[mp][0-9a-f]{10}\b", "id", charts.svg(_funnel()))

    assert drawn() == drawn()


def test_bar_series_take_the_palette_in_the_data_order():
    ax = charts.draw(_funnel()).axes[0]
    # devices in the order they first appear (mobile before desktop), each one colour of the palette
    colours = [{to_hex(bar.get_facecolor()).upper() for bar in container} for container in ax.containers]
    assert colours == [{c} for c in chart_theme.PALETTE[:3]]
    assert [round(bar.get_height(), 2) for bar in ax.containers[0]] == [0.52, 0.64, 0.25]  # mobile, step by step
    assert [t.get_text() for t in ax.get_xticklabels()] == ["add to cart", "begin checkout", "purchase"]
    legend = ax.figure.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["mobile", "desktop", "tablet", "good"]


def test_horizontal_bars_keep_the_first_row_on_top():
    ax = charts.draw(_roas()).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["social", "e-mail", "affiliate"]
    widths = [bar.get_width() for bar in ax.containers[0]]
    assert widths == pytest.approx([1.4, 6.2, 0.8])
    tops = [bar.get_y() for bar in ax.containers[0]]
    assert ax.yaxis_inverted() and tops == sorted(tops)  # the first row has the smallest y: drawn on top
    assert ax.get_lines()[0].get_xdata()[0] == 1.0  # the reference runs across the values, upright


def test_line_series_differ_by_colour_dash_and_marker():
    ax = charts.draw(_monthly()).axes[0]
    first, second, reference = ax.get_lines()
    assert to_hex(first.get_color()).upper() == chart_theme.PALETTE[0]
    assert to_hex(second.get_color()).upper() == chart_theme.PALETTE[1]
    assert first.get_linestyle() == "-" and second.get_linestyle() == "--"
    assert first.get_marker() != second.get_marker()
    assert list(second.get_ydata()) == pytest.approx([0.47, 0.44, 0.35, 0.44])  # the data's order
    assert reference.get_ydata()[0] == 0.05 and to_hex(reference.get_color()).upper() == chart_theme.REFERENCE


def test_a_missing_value_leaves_a_gap_in_its_line():
    chart = _monthly({"untracked_sessions": [0.4, 0.5, np.nan, 0.3, 0.2]})
    lines = [line for line in charts.draw(chart).axes[0].get_lines() if line.get_label().startswith("_child")]
    assert [list(line.get_ydata()) for line in lines] == [[0.4, 0.5], [0.3, 0.2]]
    assert {to_hex(line.get_color()).upper() for line in lines} == {chart_theme.PALETTE[0]}


def test_category_lines_keep_the_data_order():
    data = pd.DataFrame({"week": ["w3", "w1", "w2"], "rate": [0.3, 0.1, 0.2]})
    chart = Chart(kind="line", data=data, x="week", y="rate", title="T", x_label="Week", y_label="Rate")
    ax = charts.draw(chart).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["w3", "w1", "w2"]
    assert list(ax.get_lines()[0].get_ydata()) == pytest.approx([0.3, 0.1, 0.2])


def test_drawing_leaves_the_callers_matplotlib_and_seaborn_settings_alone():
    before, palette = dict(matplotlib.rcParams), sns.color_palette()
    for make in KINDS.values():
        charts.svg(make())
    after = dict(matplotlib.rcParams)
    assert {k: v for k, v in after.items() if before.get(k) != v} == {}
    assert sns.color_palette() == palette


def test_the_svg_speaks_in_the_report_fonts_and_fetches_none():
    body = re.search(r"body\.la-page \{[^}]*?font: [^ ]+ ([^;]+);", page_css()).group(1)
    assert " ".join(body.split()) == chart_theme.REPORT_FONTS
    markup = charts.svg(_funnel())
    families = set(re.findall(r"font-family: ([^;\"]*)", markup))
    assert families == {chart_theme.REPORT_FONTS.replace('"', "'")}
    assert "@font-face" not in markup and not re.search(r"url\(\s*[\"']?\s*(?:https?:)?//", markup)


# ---------------------------------------------------------------- colour-blind readers

# Machado, Oliveira & Fernandes (2009), full severity, applied to linear sRGB.
_CVD = {
    "protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}
_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    xyz = _XYZ @ np.clip(linear_rgb, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _closest_pair(colours, deficiency: str) -> float:
    """The smallest colour difference (CIE76 ΔE) between two of `colours` as a reader with `deficiency` sees them."""
    rgb = [np.array([int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)]) for c in colours]
    linear = [np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4) for c in rgb]
    seen = [_lab(np.array(_CVD[deficiency]) @ c) for c in linear]
    return min(float(np.linalg.norm(a - b)) for a, b in itertools.combinations(seen, 2))


@pytest.mark.parametrize("deficiency", sorted(_CVD))
def test_the_palette_stays_apart_for_colour_blind_readers(deficiency):
    assert _closest_pair(chart_theme.PALETTE[:3], deficiency) >= 20  # most charts: up to three series
    assert _closest_pair(chart_theme.PALETTE, deficiency) >= 15
    # the measure catches a palette that fails: matplotlib's default blue, orange, green, red for protan readers
    if deficiency == "protan":
        assert _closest_pair(("#1F77B4", "#FF7F0E", "#2CA02C", "#D62728"), deficiency) < 15


# ---------------------------------------------------------------- labels in every language


def _texts(fig) -> list:
    ax = fig.axes[0]
    return [
        ax._left_title,
        ax.xaxis.label,
        ax.yaxis.label,
        *ax.get_xticklabels(),
        *ax.get_yticklabels(),
        *fig.legends[0].get_texts(),
    ]


@pytest.mark.parametrize("locale", ["en", "de", "id"])
@pytest.mark.parametrize("make", [_funnel, _monthly], ids=["bars", "lines"])
def test_labels_fit_the_chart_in_every_language(make, locale):
    fig = charts.draw(make(), currency="EUR", locale=locale)
    fig.draw_without_rendering()
    page = fig.bbox
    for text in _texts(fig):
        if not text.get_visible() or not text.get_text():
            continue
        box = text.get_window_extent()
        assert page.x0 - 0.5 <= box.x0 and box.x1 <= page.x1 + 0.5, (locale, text.get_text())
        assert page.y0 - 0.5 <= box.y0 and box.y1 <= page.y1 + 0.5, (locale, text.get_text())
    reference = {"en": "good", "de": "gut", "id": "baik"}[locale]
    assert fig.legends[0].get_texts()[-1].get_text() == reference  # the reference line, named in the language


# ---------------------------------------------------------------- text fitted to the final layout

# Words a few pixels long each, so a label can be made to end within a few pixels of a given length.
_WORDS = "Anteil " + "je " * 80


def _bucket_chart(title: str = "Orders", x_label: str = "Days", y_label: str = "Orders") -> Chart:
    data = pd.DataFrame({"bucket": ["within 7 days", "8–30 days", "none"], "share": [0.1, 0.2, 0.7]})
    return Chart(
        kind="bar", data=data, x="bucket", y="share", title=title, x_label=x_label, y_label=y_label, y_unit="share"
    )


def _laid_out(chart: Chart):
    fig = charts.draw(chart)
    fig.draw_without_rendering()
    return fig, fig.axes[0]


def _text_between(text, low: float, high: float, along: str = "width") -> str:
    """The longest start of _WORDS that `text` (a matplotlib Text, for its font and angle) shows at most `high`
    pixels long; it must be longer than `low`, or the test could not tell what it means to."""
    words, best = _WORDS.split(), ""
    for n in range(1, len(words) + 1):
        candidate = " ".join(words[:n])
        text.set_text(candidate)
        box = text.get_window_extent()
        if (box.height if along == "height" else box.width) > high:
            break
        best = candidate
    text.set_text(best)
    box = text.get_window_extent()
    assert (box.height if along == "height" else box.width) > low, "no words end between the two lengths"
    return best


LONG_X = "Nächste Marketing-Nachricht nach der Bestellung " * 3


def test_a_label_that_fits_until_the_other_label_wraps_is_wrapped_on_the_second_pass():
    # The x label wrapping onto more lines makes the axes shorter: a y label as long as the axes were tall before
    # no longer fits, and only a second measurement after the first wrap can see it.
    _fig, ax = _laid_out(_bucket_chart())
    tall = ax.bbox.height
    short = _laid_out(_bucket_chart(x_label=LONG_X))[1].bbox.height
    assert short < tall - 8  # the wrapped x label took a line or more off the axes' height
    y_label = _text_between(ax.yaxis.label, short + 3, tall - 3, along="height")

    _fig, ax = _laid_out(_bucket_chart(y_label=y_label))
    assert ax.get_ylabel() == y_label  # beside a short x label it fits on one line

    _fig, ax = _laid_out(_bucket_chart(x_label=LONG_X, y_label=y_label))
    assert "\n" in ax.get_xlabel()
    assert "\n" in ax.get_ylabel() and ax.get_ylabel().replace("\n", " ") == y_label
    assert ax.yaxis.label.get_window_extent().height <= ax.bbox.height + 0.5


def test_the_title_is_measured_after_the_labels_took_their_room():
    # A y label on two lines moves the axes (and the title, which starts where they start) to the right: a title
    # that fits beside a one-line y label has to wrap beside the two-line one.
    long_y = "Anteil der Bestellungen, die innerhalb von neunzig Tagen nach der ersten Bestellung eingingen"
    fig, ax = _laid_out(_bucket_chart())
    wide = fig.bbox.width - charts.EDGE_PX - ax.bbox.x0
    fig_wrapped, ax_wrapped = _laid_out(_bucket_chart(y_label=long_y))
    assert "\n" in ax_wrapped.get_ylabel()
    narrow = fig_wrapped.bbox.width - charts.EDGE_PX - ax_wrapped.bbox.x0
    assert narrow < wide - 8
    title = _text_between(ax.title if ax.get_title() else ax._left_title, narrow + 3, wide - 3)

    fig, ax = _laid_out(_bucket_chart(title=title))
    assert ax.get_title(loc="left") == title
    assert tuple(fig.get_size_inches()) == pytest.approx(charts.FIGSIZE)

    fig, ax = _laid_out(_bucket_chart(title=title, y_label=long_y))
    assert ax.get_title(loc="left").replace("\n", " ") == title and ax.get_title(loc="left").count("\n") == 1
    assert fig.get_figheight() == pytest.approx(charts.FIGSIZE[1] + charts.TITLE_LINE_IN)
    assert ax._left_title.get_window_extent().x1 <= fig.bbox.x1 - charts.EDGE_PX + 0.5


def test_the_title_sits_above_the_axes_inside_the_figure():
    fig, ax = _laid_out(_bucket_chart(title="Orders by day"))
    box = ax._left_title.get_window_extent()
    assert ax.bbox.y1 < box.y0 and box.y1 <= fig.bbox.y1 + 0.5
    assert box.x0 == pytest.approx(ax.bbox.x0)  # the title starts where the axes start


def test_axes_are_named_by_the_chart_never_after_seaborns_columns():
    _fig, ax = _laid_out(_bucket_chart(x_label="", y_label="Orders"))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("", "Orders")  # not "pos" or "value"
    horizontal = charts.draw(_roas()).axes[0]
    assert (horizontal.get_xlabel(), horizontal.get_ylabel()) == ("Revenue per euro spent", "Channel")


@pytest.mark.parametrize("locale", ["en", "de"])
def test_every_value_tick_is_labelled_with_its_own_value(locale):
    # the labels of the value axis are formatted once per value and kept: each still shows its own value
    chart = _bucket_chart()
    fig = charts.draw(chart, currency="EUR", locale=locale)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    ticks = [(t.get_position()[1], t.get_text()) for t in ax.get_yticklabels() if t.get_visible()]
    assert len(ticks) >= 3
    with lang.use(locale, "EUR"):
        assert [text for _, text in ticks] == [charts.i18n.axis(v, "share", "EUR", locale) for v, _ in ticks]
    assert len({text for _, text in ticks}) == len(ticks)
