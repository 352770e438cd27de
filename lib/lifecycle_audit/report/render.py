"""Findings, stage notebooks and the index as self-contained HTML pages (rendering only: no metric is computed here).

Every page opens from disk without a network: the stylesheet is inlined, charts are inline SVG,
images are data: URIs, and any outside address left in a notebook's output is taken out of its
src/href/url() attribute before the page is rendered (see report/clean.py). Templates live in report/templates/ and autoescape.

`run_info`, read by stage_html and index_html (every key optional unless marked):
    client          the client's name, shown in every header
    run_id          the run's id
    generated_at    when the run was made (str or datetime)
    period          "2025-01-01 – 2025-12-31", or {"start", "end"}, or a (start, end) pair
    stages          [{"stage", "title", "file"}] in page order: the navigation (needed for links)
    failed_stages   [{"stage", "cell", "error"}]: stages whose notebook stopped
    tables          {name: rows} or {name: {"rows", "rejected"}} or [{"table", "rows", "rejected"}]
    versions        {package: version}
    overall_score   0..100; when absent the index shows scoring.overall_score of the stage scores
    top             how many findings "Top findings" lists (default 10)
"""

from __future__ import annotations

import copy
import datetime as _dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from .. import __version__, fmt, i18n, lang, scoring
from ..findings import MAX_SHARE, Coverage, as_dicts, coverage, total_at_stake
from ..i18n import N_, Text, tr
from ..stages import QUESTIONS as STAGE_QUESTIONS
from ..stages import TITLES as STAGE_TITLES
from ..stages import page as _stage_file
from . import clean
from .comparison import section_html as comparison_section
from .theme import BANDS, TEMPLATES, anchor, environment, page_css

DROP_CELL_TAGS = {"parameters", "injected-parameters", "remove-cell", "remove_cell", "papermill-error-cell-tag"}
DROP_OUTPUT_TAGS = {"remove-output", "remove_output", "hide", "hide-output"}
# Text-only outputs that are matplotlib's reprs, not content ("<Figure size 700x360 with 1 Axes>").
_MPL_REPR = re.compile(r"^\s*\[?<(Figure|matplotlib\.|Axes)|^\s*(Text|Line2D)\(")

# ---------------------------------------------------------------- run information shared by the pages


def _period(p: Any) -> str | None:
    if p is None or p == "":
        return None
    if isinstance(p, dict):
        p = (p.get("start"), p.get("end"))
    if isinstance(p, (list, tuple)) and len(p) == 2:
        return f"{fmt.date(_day(p[0]), 'long')} – {fmt.date(_day(p[1]), 'long')}"
    return str(p)


def _day(v: Any) -> Any:
    """An ISO date string ("2025-01-31") as a date, so that it prints in the locale; anything else as it is."""
    if isinstance(v, str):
        try:
            return _dt.date.fromisoformat(v[:10])
        except ValueError:
            return v
    return v


def _when(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, _dt.datetime):
        return fmt.date(v, "long")
    return str(v)


def _stage_title(stage: str, given: str | None = None) -> str:
    return tr(given or STAGE_TITLES.get(stage, i18n.pretty(stage)))


def _run_context(run_info: dict) -> dict[str, Any]:
    nav = [
        {
            "stage": s["stage"],
            "title": _stage_title(s["stage"], s.get("title")),
            "file": s.get("file") or _stage_file(s["stage"]),
        }
        for s in run_info.get("stages") or []
    ]
    return {
        "client": run_info.get("client") or i18n.gettext("the shop"),
        "run_id": run_info.get("run_id"),
        "generated_at": _when(run_info.get("generated_at")),
        "period": _period(run_info.get("period")),
        "stages": nav,
        "version": __version__,
    }


# ---------------------------------------------------------------- stage pages


def _keep_output(output: dict) -> bool:
    if output.get("output_type") == "stream":
        return output.get("name") != "stderr"  # warnings and logs are for the consultant, not the client
    data = output.get("data") or {}
    if output.get("output_type") in ("execute_result", "display_data"):
        shown = set(data) - {"text/plain"}
        if not shown and _MPL_REPR.match("".join(data.get("text/plain", ""))):
            return False
        if shown and shown <= {"application/vnd.jupyter.widget-view+json", "application/javascript"}:
            return False
    return True


def scrub_notebook(nb):
    """A copy of the notebook fit to show a client: parameter cells (and their secrets), papermill's metadata,
    raw cells, stderr and matplotlib reprs gone; cells tagged remove-output/hide without outputs."""
    nb = copy.deepcopy(nb)
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags") or [])
        if tags & DROP_CELL_TAGS or cell.cell_type == "raw":
            continue
        cell.metadata = {"tags": sorted(tags)} if tags else {}
        if cell.cell_type == "code":
            cell.source = ""  # never rendered, and now never at hand either
            cell.outputs = [] if tags & DROP_OUTPUT_TAGS else [o for o in cell.outputs if _keep_output(o)]
            if not cell.outputs:
                continue
        cells.append(cell)
    nb.cells = cells
    return nb


def translate_markdown(nb):
    """A copy of the notebook whose Markdown cells read in the report's language (lang in effect): the chapter's
    prose is written in English in the notebook and goes through the message catalog block by block
    (i18n.markdown; `make messages` extracts the same blocks)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = i18n.markdown(cell.source)
    return nb


def _body_html(nb) -> str:
    from nbconvert import HTMLExporter  # noqa: PLC0415 - loads only when a stage page is rendered, not in kernels

    exporter = HTMLExporter(
        template_name="classic",
        template_file=str(TEMPLATES / "nb_body.html.j2"),
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        anchor_link_text="",
        embed_images=False,
    )
    exporter.environment.globals["_"] = i18n.gettext  # the failure banner speaks the report's language
    exporter.register_filter("la_clean", clean.clean_html)  # markdown, once it is html: see report/clean.py
    # nbconvert passes its output through BeautifulSoup, which lower-cases attribute names ("viewbox");
    # browsers restore the case of SVG attributes when they parse HTML, so the charts still scale.
    body, _resources = exporter.from_notebook_node(nb)
    return body


def stage_html(executed_notebook_path: str | Path, stage: str, run_info: dict) -> str:
    """One stage page from an executed notebook: outputs and text only, with the report's header and navigation.

    The notebook's outputs are in the report's language already (its kernel set it: cards, tables, workbook.say);
    its Markdown cells are translated here, and the page around them is rendered, in the language and currency
    in effect (lang.use)."""
    # nbformat validates with jsonschema, whose format checkers build a grammar on import (1.6-2 s of CPU): loaded
    # only when a stage page is rendered, like nbconvert, so the seven kernels of every run do not pay for it.
    import nbformat  # noqa: PLC0415 - heavy, not needed in kernels (they import this module for the cards)

    nb = nbformat.read(str(executed_notebook_path), as_version=4)
    # A safety net: outputs offline and inert, and any customer's e-mail address that reached one masked.
    body = _body_html(clean.clean_outputs(translate_markdown(scrub_notebook(nb))))
    run = _run_context(run_info)
    given = next((s for s in run_info.get("stages") or [] if s.get("stage") == stage), {})
    info = {
        "stage": stage,
        "title": _stage_title(stage, given.get("title")),
        "question": tr(given.get("question") or STAGE_QUESTIONS.get(stage)),
    }
    failed = [f for f in run_info.get("failed_stages") or [] if f.get("stage") == stage]
    html = (
        environment()
        .get_template("stage.html.j2")
        .render(css=Markup(page_css()), run=run, current=stage, stage=info, failed=failed, body=Markup(body))
    )
    return html


# ---------------------------------------------------------------- the index page


def _tables(t: Any) -> list[dict[str, str]]:
    if not t:
        return []
    if isinstance(t, dict):
        t = [{"table": k, **(v if isinstance(v, dict) else {"rows": v})} for k, v in t.items()]
    out = []
    for row in t:
        out.append(
            {
                "table": row.get("table") or row.get("name"),
                "rows": fmt.number(row.get("rows"), 0),
                "rejected": fmt.number(row.get("rejected"), 0),
            }
        )
    return out


def _rank_key(r: dict) -> tuple:
    """Money at stake, largest first (none last), then score, lowest first."""
    return (r["at_stake_raw"] is None, -(r["at_stake_raw"] or 0), r["score"] if r["score"] is not None else 101)


_COUNT_WORDS = (
    ("fail", N_("{n} failed")),
    ("warn", N_("{n} warnings")),
    ("pass", N_("{n} passed")),
    ("not_run", N_("{n} not run")),
    ("error", N_("{n} errors")),
)
_COUNT_WORD_ONE = {"warn": N_("{n} warning"), "error": N_("{n} error")}  # "1 warnings" is not English


def _counts(rows: Iterable[dict]) -> str:
    rows = list(rows)
    parts = []
    for key, words in _COUNT_WORDS:
        n = sum(1 for r in rows if r["status"] == key)
        if n:
            parts.append(Text(_COUNT_WORD_ONE.get(key, words) if n == 1 else words, n=n).render())
    return " · ".join(parts)


def _coverage_gauge(c: Coverage) -> dict[str, Any]:
    """The data-health gauge: the share of the catalogue the data could judge, and the inputs that would unlock
    the most checks (computed by findings.coverage; only worded here)."""
    if c.score is None:
        return {}
    lines = []
    for need, alone, among in c.unlocks:
        if alone:
            words = N_("supply {need}: +1 check") if alone == 1 else N_("supply {need}: +{n} checks")
            lines.append(Text(words, need=need, n=alone))
        else:
            words = N_("{need}: needed by 1 check, with other missing data")
            if among > 1:
                words = N_("{need}: needed by {n} checks, with other missing data")
            lines.append(Text(words, need=need, n=among))
    judged = Text(N_("{judged} of {checks} checks could be judged"), judged=c.judged, checks=c.checks)
    return {"coverage": c.score, "coverage_text": judged.render(), "unlocks": [_breakable(t.render()) for t in lines]}


def _breakable(text: str) -> Markup:
    """Text whose long data names (customers.loyalty_member_since) may wrap after . _ & | = in a narrow card."""
    out = str(escape(text))
    for mark in (".", "_", "&amp;", "|", "="):
        out = out.replace(mark, mark + "<wbr>")
    return Markup(out)


def _stakes(found: list[Any]) -> str | None:
    """The sentence on what the findings' money at stake comes to together (findings.total_at_stake counts it)."""
    t = total_at_stake(found)
    if not t.findings:
        return None
    if t.revenue is None:
        return Text(
            "Money at stake: {total} in {n} findings. The figures overlap (the same customers' orders can appear "
            "in several) and are not additive: without the period's revenue this is their plain sum, an upper "
            "bound.",
            total=i18n.money(t.total, 0),
            n=i18n.count(t.findings),
        ).render()
    return Text(
        "Money at stake: {total} in {n} findings, {share} of the revenue of the period analysed ({revenue}). The "
        "figures overlap (the same customers' orders can appear in several), so they are not added: each claims a "
        "share of the revenue, and revenue claimed by more than one is counted once (their plain sum would be "
        "{plain}). No finding claims more than {cap} of the period's revenue.",
        total=i18n.money(t.total, 0),
        n=i18n.count(t.findings),
        share=i18n.share(t.share, 1),
        revenue=i18n.money(t.revenue, 0),
        plain=i18n.money(t.plain_sum, 0),
        cap=i18n.share(MAX_SHARE, 0),
    ).render()


def index_html(
    findings: list[dict], stages: list[dict], run_info: dict, comparison: Any = None, trend: str | None = None
) -> str:
    """The run's front page: scores per stage, what changed since an earlier run (`comparison`, a
    compare.Comparison; `trend` links the trend page), the top findings by money at stake, all checks, the method."""
    currency = lang.currency()
    run = _run_context({**run_info, "stages": run_info.get("stages") or stages})
    files = {s["stage"]: s.get("file") or _stage_file(s["stage"]) for s in stages}
    titles = {s["stage"]: _stage_title(s["stage"], s.get("title")) for s in stages}

    findings = as_dicts(findings)  # once: the coverage and the total at stake read the same dicts
    rows = []
    for f in findings:
        stage = f.get("stage") or f["check_id"].split(".", 1)[0]
        at = f.get("at_stake")
        rows.append(
            {
                "check_id": f["check_id"],
                "stage": stage,
                "stage_title": titles.get(stage, _stage_title(stage)),
                "status": f["status"],
                "ran": f["status"] in ("pass", "warn", "fail"),
                "title": tr(f.get("title")),
                "score": f.get("score"),
                "value": i18n.value(f.get("value"), f.get("unit"), currency),
                "at_stake_raw": None if fmt.missing(at) else float(at),
                "at_stake": None if fmt.missing(at) else fmt.money(at, currency),
                "method": None if fmt.missing(at) else tr(f.get("at_stake_method")),
                "reason": tr(f.get("reason")) if f["status"] in ("not_run", "error") else None,
                "href": f"{f.get('page') or files.get(stage) or _stage_file(stage)}#{anchor(f['check_id'])}",
                "good": f.get("good"),
                "poor": f.get("poor"),
                "better": f.get("better"),
                "unit": f.get("unit"),
                "source": tr(f.get("source")),
            }
        )

    stage_rows = []
    covered = coverage(findings)
    for s in stages:
        mine = [r for r in rows if r["stage"] == s["stage"]]
        stage_rows.append(
            {
                "stage": s["stage"],
                "title": titles[s["stage"]],
                "file": files[s["stage"]],
                "question": tr(s.get("question") or STAGE_QUESTIONS.get(s["stage"], "")),
                "score": s.get("score"),
                "status": s.get("status", "ok"),
                "counts": _counts(mine),
                "errors": sum(1 for r in mine if r["status"] == "error"),
                **(_coverage_gauge(covered) if s["stage"] == "data_health" else {}),
            }
        )

    overall = run_info.get("overall_score")
    if overall is None:  # shown, not measured: scoring says how the stage scores make the overall one
        overall = scoring.overall_score([s["score"] for s in stage_rows])

    ranked = sorted((r for r in rows if r["status"] in ("fail", "warn")), key=_rank_key)
    errors = [r for r in rows if r["status"] == "error"]  # their own group, shown only when there are any
    groups = [
        {"title": i18n.gettext("Failed"), "open": True, "rows": [r for r in ranked if r["status"] == "fail"]},
        {"title": i18n.gettext("Warnings"), "open": True, "rows": [r for r in ranked if r["status"] == "warn"]},
        *([{"title": i18n.gettext("Errors"), "open": True, "rows": errors}] if errors else []),
        {"title": i18n.gettext("Passed"), "open": False, "rows": [r for r in rows if r["status"] == "pass"]},
        {"title": i18n.gettext("Not applicable"), "open": False, "rows": [r for r in rows if r["status"] == "not_run"]},
    ]
    failed = [
        {**f, "title": _stage_title(f.get("stage", "")), "file": files.get(f.get("stage"))}
        for f in run_info.get("failed_stages") or []
    ]
    thresholds, seen = [], set()
    for r in rows:
        if r["good"] is None or r["poor"] is None or r["check_id"] in seen:
            continue
        seen.add(r["check_id"])
        sign_good, sign_poor = {"lower": ("≤ ", "≥ "), "higher": ("≥ ", "≤ ")}.get(r["better"], ("", ""))
        thresholds.append(
            {
                "title": r["title"],
                "source": r["source"],
                "good": sign_good + i18n.value(r["good"], r["unit"], currency),
                "poor": sign_poor + i18n.value(r["poor"], r["unit"], currency),
            }
        )
    tables = _tables(run_info.get("tables"))
    versions = list((run_info.get("versions") or {}).items())

    return (
        environment()
        .get_template("index.html.j2")
        .render(
            css=Markup(page_css()),
            run=run,
            current="index",
            stages=stage_rows,
            overall=overall,
            bands=BANDS,
            top=ranked[: int(run_info.get("top") or 10)],
            stakes=_stakes(findings),
            groups=groups,
            failed_stages=failed,
            not_run=[r for r in rows if r["status"] == "not_run"],
            errors=errors,
            thresholds=thresholds,
            tables=tables,
            tables_have_rejected=any(t["rejected"] != fmt.DASH for t in tables),
            versions=versions,
            comparison=comparison_section(comparison, trend) if comparison is not None else None,
        )
    )


def write_page(path: str | Path, html: str) -> None:
    """Write a page as UTF-8, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
