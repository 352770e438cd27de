"""Draw a Chart (data) with seaborn, in the project's theme (chart_theme), as a matplotlib figure and as inline SVG.

Every kind (bar, barh, line; one series or several, by `hue` or by a list of `y` columns) goes through seaborn on
an Axes of a figure of our own: no pyplot, no random error bars (errorbar=None), the data's order kept."""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable
from html import escape

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .. import fmt, i18n, lang
from ..checks import Chart
from ..i18n import column, term, tr
from . import chart_theme
from .chart_theme import MUTED, REFERENCE

FIGSIZE = (7.0, 3.6)
KINDS = ("bar", "barh", "line")
# Category labels wrap onto LABEL_LINES lines of about LABEL_WIDTH characters; only what is longer still is
# shortened with "…" (the evidence table under the chart holds the whole text).
LABEL_WIDTH, LABEL_LINES = 18, 3
EDGE_PX = 4  # text keeps this far from the figure's edge
TITLE_LINE_IN = 0.2  # the figure grows by this much for every line its title wraps onto


def _t(text) -> str:
    """Text shown literally: matplotlib would read a pair of "$" as mathematics."""
    return str(text).replace("$", r"\$")


def shorten(text: str, width: int) -> str:
    """`text` cut to at most `width` characters at a word boundary, ending in "…" when cut."""
    if len(text) <= width:
        return text
    cut = text[: width - 1].rstrip()
    head = cut.rsplit(" ", 1)[0] if " " in cut else cut  # a single long word is cut inside it
    return head.rstrip(" ,;:–-") + "…"


def wrap_label(text: str, width: int = LABEL_WIDTH, lines: int = LABEL_LINES) -> str:
    """A category label on at most `lines` lines of about `width` characters; the rest shortened with "…"."""
    wrapped = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [text]
    if len(wrapped) > lines:
        wrapped = [*wrapped[: lines - 1], shorten(" ".join(wrapped[lines - 1 :]), width)]
    return "\n".join(wrapped)


def wrap_to_fit(text: str, fits: Callable[[str], bool]) -> str:
    """`text` wrapped at spaces so that each line `fits` (a word too long for any line keeps a line of its own)."""
    lines: list[str] = []
    for word in text.split():
        if lines and fits(f"{lines[-1]} {word}"):
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return "\n".join(lines)


def _short(label, width: int = LABEL_WIDTH) -> str:
    s = fmt.date(label) if isinstance(label, (pd.Timestamp, np.datetime64)) else term(label)
    return _t(wrap_label(s, width))


def _series(chart: Chart) -> pd.DataFrame:
    """The data in wide form: one row per x value (in the data's order), one column per series."""
    df = chart.data
    ys = [chart.y] if isinstance(chart.y, str) else list(chart.y)
    if chart.hue:
        y = ys[0]
        x_order = pd.unique(df[chart.x])
        hue_order = pd.unique(df[chart.hue])
        wide = df.pivot_table(
            index=chart.x, columns=chart.hue, values=y, aggfunc="first", dropna=False, observed=True, sort=False
        ).reindex(index=x_order, columns=hue_order)
        wide.columns = [term(c) for c in wide.columns]
    else:
        wide = df.set_index(chart.x)[ys]
        wide.columns = [column(c) for c in ys] if len(ys) > 1 else [tr(chart.y_label) or column(ys[0])]
    return wide.apply(pd.to_numeric, errors="coerce")


def _value_formatter(unit: str, currency: str) -> FuncFormatter:
    # Ticks are formatted when the figure is saved, maybe outside the block that set the locale: keep it now.
    locale = lang.current()
    # Every layout pass formats every tick again (Babel, some 40 µs a label): each value is formatted once.
    labels: dict[float, str] = {}

    def label(v: float, _pos) -> str:
        if v not in labels:
            labels[v] = i18n.axis(v, unit, currency, locale)
        return labels[v]

    return FuncFormatter(label)


def _is_time(index: pd.Index) -> bool:
    return pd.api.types.is_datetime64_any_dtype(index)


def draw(chart: Chart, currency: str | None = None, locale: str | None = None) -> Figure:
    """The chart as a matplotlib Figure (not registered with pyplot, so a notebook never shows it by accident).

    Titles, labels and category names are rendered in `locale` (default: the one in effect), money in
    `currency` (default: the one in effect)."""
    with lang.use(locale, currency):
        return _draw(chart, lang.currency())


def _draw(chart: Chart, currency: str) -> Figure:
    if chart.kind not in KINDS:
        raise ValueError(f"unknown chart kind {chart.kind!r}; the report draws {', '.join(KINDS)}")
    with chart_theme.applied():
        fig = Figure(figsize=FIGSIZE, layout="constrained")
        FigureCanvasAgg(fig)  # a canvas that measures text, for fit_text
        ax = fig.add_subplot()
        horizontal = chart.kind == "barh"
        wide = _series(chart) if len(chart.data) else pd.DataFrame()
        # seaborn names unnamed axes after its data columns, first measuring every tick label to decide whether
        # the name shows (a fifth of the drawing): named here, they are named again in _label_axes
        ax.set_xlabel(" ")
        ax.set_ylabel(" ")
        if wide.empty or not wide.notna().any().any():
            _no_data(ax)
        elif chart.kind == "line":
            _lines(ax, wide)
        else:
            _bars(ax, wide, horizontal)
        handles, labels = _series_legend(ax)
        if chart.reference is not None:
            handles.append(_reference(ax, chart, horizontal))
            labels.append(handles[-1].get_label())
        # After seaborn, which names the axes after its data columns and sets its own grid.
        title = _label_axes(ax, chart, horizontal, currency)
        if len(wide.columns) > 1 or chart.reference is not None:
            _legend(fig, handles, labels)
        fit_text(fig, ax, title)
    return fig


def _label_axes(ax, chart: Chart, horizontal: bool, currency: str) -> Text:
    """Title, axis labels, the value axis's locale-aware ticks and its grid; returns the title."""
    # y=1: the title sits on the axes' top, where matplotlib would put it (no tick labels above the axes); given
    # explicitly, matplotlib does not measure the whole value axis again in every layout pass to place it.
    title = ax.set_title(_t(tr(chart.title)), loc="left", y=1.0)
    # x_label names the axis of the x column, y_label the axis of the values, whichever way the bars run.
    (ax.set_ylabel if horizontal else ax.set_xlabel)(_t(tr(chart.x_label) or ""))
    (ax.set_xlabel if horizontal else ax.set_ylabel)(_t(tr(chart.y_label) or ""))
    sns.despine(ax=ax)
    value_axis, other_axis = (ax.xaxis, ax.yaxis) if horizontal else (ax.yaxis, ax.xaxis)
    value_axis.set_major_formatter(_value_formatter(chart.y_unit, currency))
    if chart.y_unit == "count":
        value_axis.set_major_locator(MaxNLocator(integer=True))
    value_axis.grid(True)
    other_axis.grid(False)
    ax.set_axisbelow(True)
    return title


def _no_data(ax) -> None:
    ax.text(0.5, 0.5, i18n.gettext("No data to show"), transform=ax.transAxes, ha="center", va="center", color=MUTED)
    ax.set_xticks([])
    ax.set_yticks([])


def _reference(ax, chart: Chart, horizontal: bool):
    """The threshold as a dashed line across the values, labelled for the legend."""
    line = ax.axvline if horizontal else ax.axhline
    return line(
        chart.reference,
        color=REFERENCE,
        linestyle=chart_theme.REFERENCE_DASH,
        linewidth=1.2,
        zorder=3,
        label=_t(tr(chart.reference_label) or i18n.gettext("Threshold")),
    )


def _series_legend(ax) -> tuple[list, list[str]]:
    """The legend entries seaborn made for the series (taken off the axes: the legend goes under the chart)."""
    legend = ax.get_legend()
    if legend is None:
        return [], []
    handles, labels = list(legend.legend_handles), [t.get_text() for t in legend.get_texts()]
    legend.remove()
    for artist in [*ax.lines, *ax.patches]:  # seaborn's empty stand-ins for the legend entries
        if artist.get_label() in labels and _empty(artist):
            artist.remove()
    return handles, labels


def _empty(artist) -> bool:
    if hasattr(artist, "get_xdata"):
        return len(artist.get_xdata()) == 0
    return artist.get_width() == 0 and artist.get_height() == 0


def _long(wide: pd.DataFrame) -> pd.DataFrame:
    """The wide data in seaborn's long form: `pos` (the row's place, so repeated or unsortable x values keep their
    own bar in the data's order), `x` (the row's x value), `series` (its legend label) and `value`."""
    frame = wide.copy()
    frame.columns = [_t(c) for c in frame.columns]
    frame.index.name = None
    long = frame.reset_index(names="x").reset_index(names="pos")
    return long.melt(id_vars=["pos", "x"], var_name="series", value_name="value")


def _legend(fig: Figure, handles: list, labels: list[str]) -> None:
    """The legend under the chart, in as many columns (up to 4) as fit the figure's width."""
    labels = [wrap_label(label, 30) for label in labels]
    room = fig.bbox.width - 2 * EDGE_PX
    for ncols in range(min(len(labels), 4), 0, -1):
        legend = fig.legend(handles, labels, loc="outside lower center", ncols=ncols)
        if ncols == 1 or legend.get_window_extent().width <= room:
            return
        legend.remove()


def fit_text(fig: Figure, ax, title: Text) -> None:
    """Wrap the axis labels and the title to the room the laid-out figure gives them, instead of letting them
    run past its edge; the figure grows by a line for every line the title gains.

    Each measurement is made on the layout as the text then stands: the figure is laid out again only after a
    label changed (a label that wraps takes room from the other axis, and moves where the title starts)."""
    changed = True
    for _ in range(2):  # a label that wraps takes room from the other axis: measure again once
        if not changed:
            break
        _lay_out(fig)
        changed = wrap_text(ax.xaxis.label, ax.bbox.width)
        # turned by 90°: its length runs up the axes
        changed = wrap_text(ax.yaxis.label, ax.bbox.height, along="height") or changed
    if changed:
        _lay_out(fig)
    lines = title.get_text().count("\n")
    wrap_text(title, fig.bbox.width - EDGE_PX - title.get_window_extent().x0)
    grown = title.get_text().count("\n") - lines
    if grown > 0:
        fig.set_figheight(fig.get_figheight() + grown * TITLE_LINE_IN)


def _lay_out(fig: Figure) -> None:
    """Place the axes, labels and legend as drawing would (constrained layout), without drawing: where they
    land is all fit_text measures."""
    fig.get_layout_engine().execute(fig)


def wrap_text(text: Text, room_px: float, along: str = "width") -> bool:
    """Wrap a matplotlib Text at spaces so that no line is longer than `room_px` (its width, or its height for
    text turned upright); whether its text changed."""
    whole = text.get_text()

    def length(candidate: str) -> float:
        text.set_text(candidate)
        box = text.get_window_extent()
        return box.height if along == "height" else box.width

    if not whole or length(whole) <= room_px:
        text.set_text(whole)
        return False
    text.set_text(wrap_to_fit(whole, lambda line: length(line) <= room_px))
    return text.get_text() != whole


def _bars(ax, wide: pd.DataFrame, horizontal: bool) -> None:
    """Grouped bars with seaborn: one colour of the palette per series, the categories in the data's order."""
    n, series = len(wide.index), [_t(c) for c in wide.columns]
    long = _long(wide)
    pos = np.arange(n)
    sns.barplot(
        data=long,
        x="value" if horizontal else "pos",
        y="pos" if horizontal else "value",
        hue="series",
        order=list(pos),
        hue_order=series,
        palette=dict(zip(series, chart_theme.colours(len(series)), strict=True)),
        orient="y" if horizontal else "x",
        errorbar=None,  # one value per bar: nothing is estimated, nothing is resampled
        saturation=1,  # the palette's colours as they are
        width=0.8,
        edgecolor="white",
        linewidth=0.6,
        zorder=2,
        legend=True,
        ax=ax,
    )
    if horizontal:  # seaborn puts the first category on top, as in the table
        ax.set_yticks(pos, [_short(v, LABEL_WIDTH + 4) for v in wide.index])
        ax.tick_params(axis="y", length=0)
        return
    # Each category gets its share of the axis, in characters (about 84 fit across the chart).
    width = max(10, min(30, 84 // max(n, 1) - 2))
    labels = [_short(v, width) for v in wide.index]
    ax.set_xticks(pos, labels)
    ax.tick_params(axis="x", length=0)
    if n > 6 or max((len(line) for s in labels for line in s.split("\n")), default=0) > width:
        _slant(ax)


def _slant(ax) -> None:
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")


def _lines(ax, wide: pd.DataFrame) -> None:
    """Lines with seaborn: per series a colour, a dash pattern and (up to 24 points) a marker; a missing value
    leaves a gap, as in the data, instead of a line drawn across it."""
    index = wide.index
    time = _is_time(index)
    numeric = not time and pd.api.types.is_numeric_dtype(index)
    series = [_t(c) for c in wide.columns]
    long = _long(wide)
    if not (time or numeric):
        long["x"] = long["pos"]
    # Each run of values between gaps is a unit of its own: seaborn draws it as a separate line.
    long["run"] = long.groupby("series", sort=False)["value"].transform(lambda v: v.isna().cumsum())
    k = len(series)
    sns.lineplot(
        data=long.dropna(subset=["value"]),
        x="x",
        y="value",
        hue="series",
        style="series",
        units="run",
        hue_order=series,
        style_order=series,
        palette=dict(zip(series, chart_theme.colours(k), strict=True)),
        dashes=[chart_theme.DASHES[i % len(chart_theme.DASHES)] for i in range(k)],
        markers=[chart_theme.MARKERS[i % len(chart_theme.MARKERS)] for i in range(k)] if len(index) <= 24 else False,
        estimator=None,  # every point as it is: no averaging, no bootstrap
        errorbar=None,
        sort=False,  # the data's order
        linewidth=1.8,
        markersize=4,
        markeredgewidth=0,
        zorder=2,
        legend=True,
        ax=ax,
    )
    if time:
        locator = mdates.AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    elif not numeric:
        step = max(1, int(np.ceil(len(index) / 10)))
        ticks = np.arange(len(index))[::step]
        ax.set_xticks(ticks, [_short(v) for v in index[::step]])
        if max((len(str(v)) for v in index), default=0) > 8:
            _slant(ax)


def _save_svg(fig: Figure) -> str:
    """The figure as SVG markup, cropped "tight" to every text it holds, whatever the fonts measured.

    savefig draws a figure twice for "tight": once with drawing switched off, to lay it out and measure it, then
    for the picture. The measuring needs only the layout (the bounding box is computed from the laid-out artists
    after it), so that first draw lays the figure out and draws nothing: the same picture, a third less work."""
    draws = 0

    def draw(renderer) -> None:
        nonlocal draws
        draws += 1
        if draws == 1:
            _lay_out(fig)
        else:
            Figure.draw(fig, renderer)

    def save(buf: io.StringIO) -> str:
        metadata = {"Date": None, "Creator": None}
        fig.savefig(buf, format="svg", metadata=metadata, bbox_inches="tight", pad_inches=0.08)
        return buf.getvalue()

    fig.draw = draw
    try:
        markup = save(io.StringIO())
    finally:
        del fig.draw
    if draws != 2:  # a matplotlib that saves in another order: save as it does, in full
        markup = save(io.StringIO())
    return markup


_XML_DECL = re.compile(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_ROOT = re.compile(r"<svg\b[^>]*>", re.S)
_ID = re.compile(r'\s+id="([^"]*)"')


def svg(chart: Chart, currency: str | None = None, locale: str | None = None) -> str:
    """The chart as inline <svg> markup: scales to its container, titled for screen readers, nothing fetched."""
    with lang.use(locale, currency):
        fig = draw(chart)
        with chart_theme.applied():
            saved = _save_svg(fig)
        # fig is not cleared: nothing else holds it, and clearing rebuilt empty axes only to throw them away
        title = escape(tr(chart.title))
    markup = chart_theme.report_fonts(_METADATA.sub("", _XML_DECL.sub("", saved)))
    root = _ROOT.search(markup)
    view_box = re.search(r'viewBox="([^"]+)"', root.group(0))
    new_root = (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'class="la-chart-svg" viewBox="{view_box.group(1)}" width="100%" role="img" '
        f'aria-label="{title}" preserveAspectRatio="xMidYMid meet"><title>{title}</title>'
    )
    markup = (markup[: root.start()] + new_root + markup[root.end() :]).strip()
    # Inline SVGs share the page: scope matplotlib's "*{...}" rule to the chart, and drop element ids
    # nothing refers to ("figure_1", "axes_1" would repeat in every chart on a page).
    markup = markup.replace('<style type="text/css">*{', '<style type="text/css">.la-chart-svg *{')
    used = set(re.findall(r"#([\w.-]+)", markup))
    return _ID.sub(lambda m: m.group(0) if m.group(1) in used else "", markup)
