"""The small API the stage notebooks use: open an audit, run a stage's checks, show and save findings.

One failure never costs the other results: in a run, `Audit.run_stage` saves the stage's findings as soon as
they are computed, and each view cell of a notebook runs inside `with audit.view():`, which turns an exception
into a plain note on the page (the exception goes to the run's log) and lets the notebook go on. In a run the
"lifecycle_audit" logger writes to the stage's log (the file the runner names in paths.RUN_LOG_ENV).
"""

from __future__ import annotations

import html
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown, display

from . import checks, engine, findings, fmt, i18n, lang, paths, sources, stages
from . import params as params_mod
from .checks import Chart, NotEnoughData
from .errors import NoEvidence, ParamsError
from .findings import Finding
from .metrics import stored
from .metrics.lifetime import FitFailed
from .params import Params
from .report import chart_cache, evidence
from .report.cards import finding_html
from .sources import Prepared

# Prepared tables per params file (and its modification time) within one Python process, so that
# re-running `open_audit` in a notebook does not prepare the same data again.
_PREPARED: dict[tuple[str, float], Prepared] = {}
# The findings folder of the run the audit opened last belongs to ("" in an interactive notebook): show()
# links each card to its evidence CSV only in a run, where Audit.save writes those CSVs.
_RUN: dict[str, str] = {}
log = logging.getLogger(__name__)
VIEW_FAILED = i18n.N_("This view could not be shown because of an unexpected error; the details are in the run's log.")
CARD_FAILED = i18n.N_(
    "This finding could not be drawn because of an unexpected error; the details are in the run's log."
)


@dataclass
class Audit:
    """One audit as a notebook sees it: the params, the canonical tables, and their accounting (sources.Prepared)."""

    params: Params
    tables: engine.Tables
    prepared: Prepared | None = None
    tables_dir: Path | None = None
    found: dict[str, Finding] = field(default_factory=dict, repr=False)  # the latest finding of each check run

    def run_stage(self, stage: str) -> list[Finding]:
        """Every implemented check of `stage` on this audit's tables, with the client's threshold overrides;
        in a run, saved at once (Audit.save), so that nothing a later cell does can lose them."""
        stages.known(stage)
        found = findings.run_stage(stage, self.tables, self.params.thresholds)
        self.found.update({f.check_id: f for f in found})
        self.save(stage, found, _RUN.get("findings_dir"))
        return found

    def finding(self, check_id: str) -> Finding:
        """The finding of one check (its card in JupyterLab): the one run_stage found, else the check run now."""
        if check_id not in self.found:
            spec = checks.get(check_id)  # an unknown id: CheckError naming the known checks
            self.found[check_id] = findings.run_check(spec, self.tables, self.params.thresholds.get(check_id))
        return self.found[check_id]

    def evidence(self, check_id: str) -> pd.DataFrame:
        """A check's evidence table as a DataFrame to keep working with (a copy: changing it changes no finding):
        the table behind the finding's card, with the data's own column names and values (a run's report and
        evidence CSVs show customer ids as pseudonyms). NoEvidence, with the reason, when the check was not run
        or raised."""
        f = self.finding(check_id)
        if f.table is None:
            why = i18n.tr(f.reason) if f.reason is not None else "it produced no table"
            raise NoEvidence(f"{check_id} has no evidence ({f.status}): {why}")
        return f.table.copy()

    def options(self, check_id: str) -> checks.Options:
        """A check's typed options with the client's overrides (a view uses the same settings as its check)."""
        return findings.options(checks.get(check_id), self.params.thresholds.get(check_id))

    @contextmanager
    def view(self) -> Iterator[None]:
        """Run one view of a notebook (a table, a chart) so that its failure costs nothing else: data too thin
        for it shows the plain reason, any other exception shows a plain note (the exception goes to the
        run's log) and the notebook goes on."""
        try:
            yield
        except (NotEnoughData, FitFailed) as err:
            display(Markdown("_" + html.escape(i18n.tr(err.text)) + "_"))
        except Exception as err:  # one view must not stop the stage (logged)
            log.error("a view raised %s: %s", type(err).__name__, err, exc_info=err)
            display(Markdown("_" + html.escape(i18n.gettext(VIEW_FAILED)) + "_"))

    def save(self, stage: str, findings: Iterable[Finding], findings_dir: str | os.PathLike | None) -> Path | None:
        """Write the findings to findings_dir/<stage>.json for the runner, and each finding's evidence table to
        findings_dir/../evidence/<check_id>.csv (the CSVs the cards link to); nothing when findings_dir is empty."""
        stages.known(stage)
        if not findings_dir:
            return None
        folder = Path(findings_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stage}.json"
        text = json.dumps([f.to_dict() for f in findings], indent=1, ensure_ascii=False, default=str)
        evidence.write_evidence(json.loads(text), folder.parent)  # the tables as findings.json will hold them
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # the runner never sees half a file
        return path

    def table(
        self,
        data: pd.DataFrame,
        *,
        shares: Iterable[str] = (),
        money: Iterable[str] = (),
        counts: Iterable[str] = (),
        dates: Iterable[str] = (),
        empty: str = "Nothing to show.",
    ) -> None:
        """Display a small DataFrame as the report prints it: shares as %, money in the client's currency,
        dates as days, yes/no for true/false, "–" for missing; text left-aligned, numbers right-aligned."""

        if data.empty:
            display(Markdown(f"_{i18n.tr(empty)}_"))
            return
        formats: dict[str, Any] = {c: fmt.percent for c in shares}
        formats.update({c: (lambda v, cur=self.params.currency: fmt.money(v, cur)) for c in money})
        formats.update({c: fmt.number for c in counts})
        formats.update(
            {c: (lambda v: fmt.DASH if fmt.missing(v) or v == "" else fmt.date(pd.Timestamp(v).date())) for c in dates}
        )
        flags = [c for c in data.columns if c not in formats and pd.api.types.is_bool_dtype(data[c])]
        formats.update({c: (lambda v: fmt.DASH if fmt.missing(v) else i18n.term("yes" if v else "no")) for c in flags})
        formats.update(
            {
                c: (lambda v: fmt.DASH if fmt.missing(v) else _word(v))
                for c in data.columns
                if c not in formats and not pd.api.types.is_numeric_dtype(data[c])
            }
        )
        formats.update(
            {c: fmt.number for c in data.columns if c not in formats and pd.api.types.is_numeric_dtype(data[c])}
        )
        numeric = (
            set(shares)
            | set(money)
            | set(counts)
            | {c for c in data.columns if c not in formats and pd.api.types.is_numeric_dtype(data[c])}
        )
        text = [c for c in data.columns if c not in numeric]
        # escape="html": text from the client's data ("<script>" in a campaign name) is shown, never run
        styler = (
            data.style.format({c: f for c, f in formats.items() if c in data.columns}, na_rep=fmt.DASH, escape="html")
            .hide(axis="index")
            .set_properties(subset=text, **{"text-align": "left"})
            .set_table_styles(
                [{"selector": f"th.col{data.columns.get_loc(c)}", "props": [("text-align", "left")]} for c in text]
            )
        )
        # Column labels in the report's language ("bounce_rate" -> "Absprungrate"); the data keeps its names.
        display(styler.relabel_index([i18n.column(c) for c in data.columns], axis="columns"))

    def plot(
        self,
        data: pd.DataFrame,
        x: str,
        y: str | list[str],
        *,
        title: str,
        kind: str = "bar",
        x_label: str = "",
        y_label: str = "",
        unit: str = "share",
        hue: str | None = None,
    ) -> None:
        """Display a chart of `data` in the report's theme (inline SVG, nothing left open in pyplot)."""

        chart = Chart(
            kind=kind, data=data, x=x, y=y, title=title, x_label=x_label, y_label=y_label, y_unit=unit, hue=hue
        )
        # in the audit's language and currency (open_audit set them); drawn only when no run before drew it
        display(HTML(chart_cache.svg(chart)))


def _period(p: Params) -> tuple[Any, Any] | None:
    if p.period.start is None and p.period.end is None:
        return None
    return (p.period.start, p.period.end)


def _prepare(p: Params, params_path: Path) -> Prepared:
    """Generate the demo shop if asked for and absent, then prepare the canonical tables (once per process)."""
    key = (str(params_path), params_path.stat().st_mtime if params_path.exists() else 0.0)
    if key not in _PREPARED:
        sources.ensure_demo_data(p)
        _PREPARED[key] = sources.prepare(p)
    return _PREPARED[key]


def _masked(prepared: Prepared) -> Prepared:
    """A copy whose problems show identifier values (customer ids, e-mail addresses) masked: notebooks end up in
    reports, and a report never shows a customer identifier unmasked."""
    loads = {name: replace(load, problems=[p.masked() for p in load.problems]) for name, load in prepared.loads.items()}
    return replace(prepared, loads=loads)


def _accounting(folder: Path) -> Prepared | None:
    """The accounting sources.prepare stored beside the canonical tables (accounting.json), if any."""
    file = folder / "accounting.json"
    if not file.is_file():
        return None
    return _masked(Prepared.from_dict(json.loads(file.read_text(encoding="utf-8")), folder))


def open_audit(
    params_file: str = "params/demo.yaml",
    tables_dir: str = "",
    findings_dir: str = "",
    period_start: str = "",
    period_end: str = "",
) -> Audit:
    """Open an audit in a notebook.

    params_file: the params file, relative to the project root (or absolute).
    tables_dir: canonical tables already prepared by the runner; empty: generate the demo data if
    needed and prepare the tables here, so that a notebook also runs on its own in JupyterLab.
    findings_dir: the run's findings folder, given by the runner: the notebook is part of a run, and the
    cards show() draws link to the evidence CSVs that Audit.save writes beside it; empty: no links.
    period_start, period_end: the first and last day to analyse ("2025-01-01"), replacing the params file's
    `period:` for this audit (an analyst looking at another period); empty: as the params file says.
    """
    _RUN["findings_dir"] = str(findings_dir or "")
    _log_to_run(os.environ.get(paths.RUN_LOG_ENV, ""))
    params_path = paths.resolve(params_file)
    p = with_period(params_mod.load(params_path), period_start, period_end)
    findings.check_thresholds(p)
    prepared = None
    if tables_dir:
        folder = paths.resolve(tables_dir)
        if not folder.is_dir():
            raise FileNotFoundError(f"tables_dir {folder} does not exist; leave it empty to prepare the tables here")
        prepared = _accounting(folder)
    else:
        prepared = _masked(_prepare(p, params_path))
        folder = Path(prepared.folder)
    tables = engine.Tables.from_folder(
        folder,
        backend=p.engine.backend,
        url=p.engine.connection_url() if p.engine.backend == "pyspark" else None,  # DuckDB runs in-process
        period=_period(p),
        currency=p.currency,
        warmup_days=p.period.warmup_days,
    )
    stored.attach(tables, folder)  # the sessions and first orders computed once when the data was prepared
    if p.engine.backend == "duckdb":
        _hold_memory(tables)
    lang.set_locale(p.locale, p.currency)  # cards, tables, charts and say() speak the client's language
    chart_cache.use(paths.CACHE / "charts")  # a chart an earlier run drew from the same data is not drawn again
    return Audit(params=p, tables=tables, prepared=prepared, tables_dir=folder)


# The memory a stage's DuckDB may use before it spills to disk. By default DuckDB takes up to 80 % of the machine:
# at a million customers the conversion stage alone grew to 4.5 GB (1.3 GB with this limit, no slower), and two
# stages run side by side.
KERNEL_MEMORY = "1GB"


def _hold_memory(tables: engine.Tables) -> None:
    """Hold the audit's DuckDB to KERNEL_MEMORY, spilling into a folder of this process under .cache (DuckDB makes
    it when it first spills and removes it when it closes)."""
    spill = str(paths.CACHE / f".spill-{os.getpid()}").replace("'", "''")
    tables.con.raw_sql(f"SET memory_limit = '{KERNEL_MEMORY}'")
    tables.con.raw_sql(f"SET temp_directory = '{spill}'")


def with_period(p: Params, start: str = "", end: str = "") -> Params:
    """The params with the analysis period's first and/or last day replaced (ISO dates); unchanged when both are
    empty. ParamsError when a day cannot be read or the start is after the end."""
    if not (start or end):
        return p
    given = {k: v for k, v in (("start", start), ("end", end)) if v}
    try:
        period = params_mod.Period.model_validate({**p.period.model_dump(), **given})
    except ValueError as err:
        raise ParamsError(f"period_start/period_end: {err}") from err
    return p.model_copy(update={"period": period})


def _log_to_run(file: str) -> None:
    """Send the "lifecycle_audit" logger (a check's or a view's exception) to the run's log file; without one (a
    notebook opened by hand) Python prints such errors to the notebook's stderr, for the analyst."""
    root = logging.getLogger("lifecycle_audit")
    for handler in [h for h in root.handlers if getattr(h, "_la_run_log", False)]:
        root.removeHandler(handler)
        handler.close()
    if not file:
        root.propagate = True
        return
    Path(file).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(file, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._la_run_log = True  # type: ignore[attr-defined] - ours, replaced when another audit opens
    root.addHandler(handler)
    root.propagate = False  # never to a handler that writes into the notebook's output


def _word(v: Any) -> str:
    """A text cell: a word of the data's vocabulary or a report msgid (a stage name) in the report's language."""
    s = str(v)
    t = i18n.term(s)
    if t != s:
        return t
    # Only the report's own words are translated: a client's value that happens to equal a msgid
    # (a campaign called "Orders") is data and stays as it is.
    return i18n.gettext(s) if s in stages.TITLES.values() else s


def say(*paragraphs: str) -> None:
    """Show the notebook's narrative in the report's language: each argument is one Markdown paragraph
    (or a "## heading"), written in English in the notebook and translated through the message catalog."""

    display(Markdown("\n\n".join(i18n.gettext(normalise(p)) for p in paragraphs)))


def normalise(paragraph: str) -> str:
    """A paragraph as its msgid: indentation, line breaks and outer blanks do not matter (as in Markdown cells)."""

    return i18n.normalise(paragraph)


_GROUPS = (
    (("fail",), i18n.N_("Failed"), True),
    (("warn",), i18n.N_("Warnings"), True),
    (("error",), i18n.N_("Error"), True),
    (("pass",), i18n.N_("Passed"), False),
    (("not_run",), i18n.N_("Not applicable"), False),
)


def _status(f: Finding | dict) -> str:
    return f["status"] if isinstance(f, dict) else f.status


def _csv_link(f: Finding | dict) -> dict[str, Any] | None:
    """In a run, the card's link to its evidence CSV ({"href", "rows"}); None in an interactive notebook."""
    if not _RUN.get("findings_dir"):
        return None
    check_id, table = (f["check_id"], f.get("table")) if isinstance(f, dict) else (f.check_id, f.table)
    return evidence.csv_link(check_id, table)


def _card(f: Finding | dict, money: str) -> str:
    """One finding's card; a card that cannot be drawn becomes a plain note (the exception goes to the log)."""
    try:
        return finding_html(f, money, csv=_csv_link(f))
    except Exception as err:  # one card must not hide the others (logged)
        check_id = f["check_id"] if isinstance(f, dict) else f.check_id
        log.error("the card of %s raised %s: %s", check_id, type(err).__name__, err, exc_info=err)
        return f'<p class="la-f-note"><em>{html.escape(i18n.gettext(CARD_FAILED))}</em></p>'


def show(findings: Finding | Iterable[Finding], currency: str | None = None) -> None:
    """Display each finding as its report card, in the audit's currency; returns nothing, so a cell ending
    with it prints no repr. Any pyplot figure opened while drawing is closed, so the inline backend does not
    show a chart a second time under the cards."""

    items = [findings] if isinstance(findings, Finding) else list(findings)
    if not items:
        display(Markdown("_" + i18n.gettext("No findings to show.") + "_"))
        return
    plt = sys.modules.get("matplotlib.pyplot")  # only if something imported it: the cards draw without pyplot
    before = set(plt.get_fignums()) if plt else set()
    money = currency or lang.currency()
    # As Lighthouse groups its audits: failed and warnings open, errors open, passed and not run collapsed.
    for statuses, title, is_open in _GROUPS:
        group = [f for f in items if _status(f) in statuses]
        if not group:
            continue
        cards = "".join(_card(f, money) for f in group)
        display(
            HTML(
                f'<details class="la-group la-findings"{" open" if is_open else ""}>'
                f"<summary>{html.escape(i18n.gettext(title))} ({len(group)})</summary>{cards}</details>"
            )
        )
    if plt:
        for num in set(plt.get_fignums()) - before:
            plt.close(num)
