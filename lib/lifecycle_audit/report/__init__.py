"""Rendering only: finding cards, stage pages from executed notebooks, the index page, and charts.

The report never computes a metric; it formats what the checks and the runner hand it.
"""

from __future__ import annotations

from .cards import finding_html, set_currency
from .render import index_html, stage_html, write_page

__all__ = ["draw", "svg", "finding_html", "stage_html", "index_html", "write_page", "set_currency"]


def __getattr__(name: str):  # matplotlib is imported only when a chart is drawn
    if name in ("draw", "svg"):
        from . import charts  # noqa: PLC0415 - matplotlib loads only when a chart is drawn

        return getattr(charts, name)
    raise AttributeError(name)
