"""Charts drawn once: a chart's SVG kept on disk under a key made of everything that draws it.

An audit run again on the same data (another threshold, another period end, a notebook re-executed in JupyterLab)
draws the same charts again. The demo shop's run draws 41 of them, about 5 s of CPU, and the first chart of every
kernel imports seaborn, matplotlib and scipy (about 2.5 s of CPU). With a folder set (`use`; the workbook sets
paths.CACHE/charts when it opens an audit) `svg` returns the SVG a run before drew for the same key, and imports
the drawing libraries only when it has to draw.

The key is a hash of:
- the chart's fields and data, pickled (equal bytes are equal charts; data that pickles differently but is equal
  is merely drawn again);
- the language and the currency in effect;
- the source of every module that draws or words a chart, and the translations;
- the versions of the libraries that draw (matplotlib ships the font every text is measured with, DejaVu Sans).
A change to any of these draws afresh, so a stale chart is never shown. A file is written whole under a temporary
name and renamed into place, so two kernels drawing the same chart at once never read half of one. The folder keeps
the MAX_FILES charts used last; older ones are removed when a chart is stored.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import pickle
from importlib import metadata
from pathlib import Path

from .. import lang

log = logging.getLogger(__name__)

MAX_FILES = 2000  # about 60 MB of SVG; a client's run stores some 40
SUFFIX = ".svg"
_HERE = Path(__file__).resolve().parent
_PACKAGE = _HERE.parent
# What a chart's picture depends on besides its data: the drawing, the theme, the number and date formats and the
# words (column names, terms, translations).
_SOURCES = (
    _HERE / "charts.py",
    _HERE / "chart_theme.py",
    _PACKAGE / "fmt.py",
    _PACKAGE / "i18n.py",
    _PACKAGE / "lang.py",
)
_LIBRARIES = ("matplotlib", "seaborn", "pandas", "numpy", "babel")

_folder: Path | None = None
_pruned = False  # the folder is trimmed once per process, on its first store


def use(folder: str | os.PathLike | None) -> None:
    """Keep charts in `folder` from now on (created when the first chart is stored); None: draw every chart."""
    global _folder
    _folder = Path(folder) if folder is not None else None


def folder() -> Path | None:
    """The folder charts are kept in, or None when every chart is drawn."""
    return _folder


def svg(chart, currency: str | None = None) -> str:
    """The chart as inline <svg> markup (report.charts.svg), drawn only when no run before drew the same."""
    if _folder is None:
        return _draw(chart, currency)
    try:
        path = _folder / f"{key(chart, currency)}{SUFFIX}"
    except (pickle.PicklingError, TypeError, AttributeError) as err:  # data that cannot be keyed is drawn
        log.debug("chart not keyed (%s): drawn", err)
        return _draw(chart, currency)
    with contextlib.suppress(OSError):
        markup = path.read_text(encoding="utf-8")
        with contextlib.suppress(OSError):
            os.utime(path)  # used now: kept longer than the charts no run asks for
        return markup
    markup = _draw(chart, currency)
    _store(path, markup)
    return markup


def key(chart, currency: str | None = None) -> str:
    """The hash naming the file of `chart` drawn in the language in effect and `currency` (default: in effect)."""
    fields = {name: getattr(chart, name) for name in chart.FIELDS}
    h = hashlib.sha256(_fingerprint().encode())
    h.update(f"{lang.current()}|{(currency or lang.currency()).upper()}|".encode())
    h.update(pickle.dumps((fields, chart.data), protocol=5))
    return h.hexdigest()[:40]


def _draw(chart, currency: str | None) -> str:
    from .charts import svg as draw_svg  # noqa: PLC0415 - matplotlib loads only when a chart is drawn

    return draw_svg(chart, currency)


@functools.lru_cache(maxsize=1)
def _fingerprint() -> str:
    h = hashlib.sha256()
    for source in _SOURCES:
        h.update(source.read_bytes())
    for catalog in sorted((_PACKAGE / "locales").rglob("*.mo")):
        h.update(catalog.relative_to(_PACKAGE).as_posix().encode())
        h.update(catalog.read_bytes())
    for name in _LIBRARIES:
        h.update(f"{name}={metadata.version(name)};".encode())
    return h.hexdigest()


def _store(path: Path, markup: str) -> None:
    """Write the chart's file whole and rename it into place; a folder that cannot be written only costs a redraw."""
    global _pruned
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(markup, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        log.debug("chart not kept in %s: %s", path.parent, err)
        with contextlib.suppress(OSError):
            tmp.unlink()
        return
    if not _pruned:
        _pruned = True
        prune(path.parent)


def prune(folder: Path, keep: int | None = None) -> int:
    """Remove all but the `keep` (MAX_FILES) charts used last from `folder`; the number removed."""
    keep = MAX_FILES if keep is None else keep
    files = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.name.endswith(SUFFIX) and not entry.name.startswith("."):
                with contextlib.suppress(OSError):
                    files.append((entry.stat().st_mtime, entry.path))
    if len(files) <= keep:
        return 0
    files.sort(reverse=True)
    removed = 0
    for _mtime, file in files[keep:]:
        with contextlib.suppress(OSError):
            os.unlink(file)
            removed += 1
    return removed
