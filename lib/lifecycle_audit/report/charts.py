"""Draw a Chart (data) as a matplotlib figure and as inline SVG: one calm theme for every chart."""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable
from html import escape

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .. import fmt, i18n, lang
from ..checks import Chart
from ..i18n import column, term, tr

# Calm colours whose lightness differs enough to tell the series apart in greyscale (dark, light, mid, ...).
PALETTE = ("#2E5A87", "#E0A24E", "#6E9F8D", "#A9473F", "#A9C3DE", "#4D4D4D")
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")
INK, MUTED, GRID, REFERENCE = "#1F2328", "#59636E", "#E3E6EA", "#333333"
FIGSIZE = (7.0, 3.6)
KINDS = ("bar", "barh", "line")
# Category labels wrap onto LABEL_LINES lines of about LABEL_WIDTH characters; only what is longer still is
# shortened with "…" (the evidence table under the chart holds the whole text).
LABEL_WIDTH, LABEL_LINES = 18, 3
EDGE_PX = 4  # text keeps this far from the figure's edge
TITLE_LINE_IN = 0.2  # the figure grows by this much for every line its title wraps onto

# Applied while drawing and while saving; never changes the caller's global matplotlib settings.
# Text stays text in the SVG (searchable, accessible) and names only installed or generic fonts: nothing is fetched.
_RC = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial", "Liberation Sans"],
    "font.size": 9,
    "axes.edgecolor": "#9AA3AD",
    "axes.labelcolor": MUTED,
    "axes.titlecolor": INK,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 10,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "text.color": INK,
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


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
    return FuncFormatter(lambda v, _pos: i18n.axis(v, unit, currency, locale))


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
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=FIGSIZE, layout="constrained")
        FigureCanvasAgg(fig)  # a canvas that measures text, for fit_text
        ax = fig.add_subplot()
        title = ax.set_title(_t(tr(chart.title)), loc="left")
        horizontal = chart.kind == "barh"
        # x_label names the axis of the x column, y_label the axis of the values, whichever way the bars run.
        (ax.set_ylabel if horizontal else ax.set_xlabel)(_t(tr(chart.x_label) or ""))
        (ax.set_xlabel if horizontal else ax.set_ylabel)(_t(tr(chart.y_label) or ""))
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        value_axis = ax.xaxis if horizontal else ax.yaxis
        value_axis.set_major_formatter(_value_formatter(chart.y_unit, currency))
        if chart.y_unit == "count":
            value_axis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, axis="x" if horizontal else "y", color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)

        wide = _series(chart) if len(chart.data) else pd.DataFrame()
        if wide.empty or not wide.notna().any().any():
            ax.text(
                0.5, 0.5, i18n.gettext("No data to show"), transform=ax.transAxes, ha="center", va="center", color=MUTED
            )
            ax.set_xticks([])
            ax.set_yticks([])
        elif chart.kind == "line":
            _lines(ax, wide)
        else:
            _bars(ax, wide, horizontal)

        if chart.reference is not None:
            line = ax.axvline if horizontal else ax.axhline
            line(
                chart.reference,
                color=REFERENCE,
                linestyle=(0, (5, 3)),
                linewidth=1.2,
                zorder=3,
                label=_t(tr(chart.reference_label) or i18n.gettext("Threshold")),
            )
        handles, labels = ax.get_legend_handles_labels()
        if len(wide.columns) > 1 or chart.reference is not None:
            _legend(fig, handles, labels)
        fit_text(fig, ax, title)
    return fig


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
    run past its edge; the figure grows by a line for every line the title gains."""
    for _ in range(2):  # a label that wraps takes room from the other axis: measure again once
        fig.draw_without_rendering()
        wrap_text(ax.xaxis.label, ax.bbox.width)
        wrap_text(ax.yaxis.label, ax.bbox.height, along="height")  # turned by 90°: its length runs up the axes
    fig.draw_without_rendering()
    lines = title.get_text().count("\n")
    wrap_text(title, fig.bbox.width - EDGE_PX - title.get_window_extent().x0)
    grown = title.get_text().count("\n") - lines
    if grown > 0:
        fig.set_figheight(fig.get_figheight() + grown * TITLE_LINE_IN)


def wrap_text(text: Text, room_px: float, along: str = "width") -> None:
    """Wrap a matplotlib Text at spaces so that no line is longer than `room_px` (its width, or its height for
    text turned upright)."""
    whole = text.get_text()

    def length(candidate: str) -> float:
        text.set_text(candidate)
        box = text.get_window_extent()
        return box.height if along == "height" else box.width

    if not whole or length(whole) <= room_px:
        text.set_text(whole)
        return
    text.set_text(wrap_to_fit(whole, lambda line: length(line) <= room_px))


def _bars(ax, wide: pd.DataFrame, horizontal: bool) -> None:
    n, k = len(wide.index), len(wide.columns)
    pos = np.arange(n)
    width = 0.8 / k
    for i, col in enumerate(wide.columns):
        offset = (i - (k - 1) / 2) * width
        values = wide[col].to_numpy(dtype=float)
        style = dict(color=PALETTE[i % len(PALETTE)], label=_t(col), zorder=2, edgecolor="white", linewidth=0.6)
        if horizontal:
            ax.barh(pos + offset, values, height=width, **style)
        else:
            ax.bar(pos + offset, values, width=width, **style)
    if horizontal:
        ax.set_yticks(pos, [_short(v, LABEL_WIDTH + 4) for v in wide.index])
        ax.invert_yaxis()  # the first row on top, as in the table
        ax.tick_params(axis="y", length=0)
    else:
        # Each category gets its share of the axis, in characters (about 84 fit across the chart).
        width = max(10, min(30, 84 // max(n, 1) - 2))
        labels = [_short(v, width) for v in wide.index]
        ax.set_xticks(pos, labels)
        ax.tick_params(axis="x", length=0)
        if n > 6 or max((len(line) for s in labels for line in s.split("\n")), default=0) > width:
            for label in ax.get_xticklabels():
                label.set_rotation(30)
                label.set_horizontalalignment("right")


def _lines(ax, wide: pd.DataFrame) -> None:
    index = wide.index
    time = _is_time(index)
    numeric = not time and pd.api.types.is_numeric_dtype(index)
    xs = index if (time or numeric) else np.arange(len(index))
    for i, col in enumerate(wide.columns):
        ax.plot(
            xs,
            wide[col].to_numpy(dtype=float),
            color=PALETTE[i % len(PALETTE)],
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            linewidth=1.8,
            zorder=2,
            label=_t(col),
            marker=MARKERS[i % len(MARKERS)] if len(index) <= 24 else None,
            markersize=4,
        )
    if time:
        locator = mdates.AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    elif not numeric:
        step = max(1, int(np.ceil(len(index) / 10)))
        ax.set_xticks(xs[::step], [_short(v) for v in index[::step]])
        if max((len(str(v)) for v in index), default=0) > 8:
            for label in ax.get_xticklabels():
                label.set_rotation(30)
                label.set_horizontalalignment("right")


_XML_DECL = re.compile(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_ROOT = re.compile(r"<svg\b[^>]*>", re.S)
_ID = re.compile(r'\s+id="([^"]*)"')


def svg(chart: Chart, currency: str | None = None, locale: str | None = None) -> str:
    """The chart as inline <svg> markup: scales to its container, titled for screen readers, nothing fetched."""
    with lang.use(locale, currency):
        fig = draw(chart)
        buf = io.StringIO()
        try:
            with matplotlib.rc_context(_RC):
                # "tight": the picture takes in every text it holds, whatever the fonts measured
                fig.savefig(
                    buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight", pad_inches=0.08
                )
        finally:
            fig.clear()
        title = escape(tr(chart.title))
    markup = _METADATA.sub("", _XML_DECL.sub("", buf.getvalue()))
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
