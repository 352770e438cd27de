"""The charts' theme, set through seaborn's theme API: one palette that readers with a colour-vision deficiency can
tell apart, the report's fonts, a light grid along the values and the reference line's look.

The theme is a dict of matplotlib settings (`rc()`), applied only while a chart is drawn and saved (`applied()`):
an analyst's own plots in the same notebook keep their settings."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib
import seaborn as sns

# The Okabe–Ito palette (Okabe & Ito, "Color Universal Design", 2008; recommended in Wong, Nature Methods 8:441,
# 2011): chosen so that people with any of the common colour-vision deficiencies (protan, deutan, tritan) still
# tell the colours apart. seaborn's own "colorblind" palette is a recoloured "deep" palette with no such test
# behind it, and its fourth to sixth colours come close for deutan readers. Yellow is left out (too faint on white)
# and black is left to the reference line. The order puts the pairs that stay furthest apart under every deficiency
# first (blue and vermillion, then sky blue: tests/report/test_charts.py measures it), as most charts have two or
# three series; lines add a dash pattern and a marker of their own, so they differ in greyscale too.
PALETTE = ("#0072B2", "#D55E00", "#56B4E9", "#CC79A7", "#E69F00", "#009E73")
DASHES = ("", (3.7, 1.6), (1, 1.65), (6.4, 1.6, 1, 1.6))  # solid, dashed, dotted, dash-dot (seaborn dash specs)
MARKERS = ("o", "s", "^", "D", "v", "P")
INK, MUTED, GRID, REFERENCE = "#1F2328", "#59636E", "#E3E6EA", "#333333"
REFERENCE_DASH = (0, (5, 3))

# The report's font stack (report/style.css, body.la-page), written into every text of the SVG, so a chart speaks
# in the page's font. Text is measured with DejaVu Sans, which ships with matplotlib (the same layout on every
# machine) and is wider than the fonts of the stack, so a label measured to fit still fits. Only installed fonts
# are named: nothing is fetched.
REPORT_FONTS = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "Liberation Sans", sans-serif'
)
MEASURE_FONT = "DejaVu Sans"

FONT_SIZE, TITLE_SIZE, LEGEND_SIZE = 9, 10.5, 8.5

# What the report's charts set beyond seaborn's "whitegrid" style and "paper" context.
_OVERRIDES = {
    "svg.fonttype": "none",  # text stays text in the SVG: searchable, accessible, in the page's font
    "font.family": "sans-serif",
    "font.sans-serif": [MEASURE_FONT],
    "font.size": FONT_SIZE,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "axes.titlesize": TITLE_SIZE,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 10,
    "axes.titlecolor": INK,
    "axes.edgecolor": "#9AA3AD",
    "axes.labelcolor": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "grid.color": GRID,
    "grid.linewidth": 0.8,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "text.color": INK,
    "legend.frameon": False,
    "legend.fontsize": LEGEND_SIZE,
    "legend.title_fontsize": LEGEND_SIZE,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


@functools.lru_cache(maxsize=1)
def rc() -> dict:
    """The theme as matplotlib settings: seaborn's "whitegrid" style and "paper" context, the palette as the colour
    cycle, and the report's overrides."""
    theme = {**sns.axes_style("whitegrid"), **sns.plotting_context("paper")}
    theme["axes.prop_cycle"] = matplotlib.cycler(color=sns.color_palette(PALETTE))
    return {**theme, **_OVERRIDES}


@contextmanager
def applied() -> Iterator[None]:
    """The theme in effect for the duration of the block; the caller's settings come back after it."""
    with matplotlib.rc_context(rc()):
        yield


def colours(n: int) -> list[str]:
    """The colours of `n` series, in order (the palette repeats past its length)."""
    return [PALETTE[i % len(PALETTE)] for i in range(n)]


_FONT_FAMILY = re.compile(r"font-family: [^;\"]*")


def report_fonts(markup: str) -> str:
    """SVG markup whose texts name the report's font stack instead of the font they were measured with."""
    stack = REPORT_FONTS.replace('"', "'")  # inside a style="..." attribute
    return _FONT_FAMILY.sub(f"font-family: {stack}", markup)
