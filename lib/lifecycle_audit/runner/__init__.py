"""Run an audit: prepare the data, execute the stage notebooks with papermill, assemble the run folder.

run() is a list of named steps over one Run object, each timed into the manifest's timings:
load the params, start the workers, prepare the data, make the run folder, execute the stages
(each stage page is rendered as soon as its notebook is done), collect the findings, write the index,
scrub the folder, export the single file and the PDF, write the manifest. A failed stage never
destroys the rest of a run. lifecycle_audit.kernels holds the worker processes' side and the live table.

The spawned workers import lifecycle_audit.kernels only, never this package, so the layers a run needs in the
parent (params, findings, sources, privacy, report) are imported here at the top.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import importlib
import json
import math
import multiprocessing as mp
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from rich.console import Console

from .. import compare as compare_mod
from .. import engine, lang, paths, privacy, scoring, sources
from .. import findings as findings_mod
from .. import params as params_mod
from ..errors import AuditError, RunError
from ..kernels import pool as pool_mod
from ..metrics import stored
from ..report import comparison, evidence, export, render
from ..stages import NOTEBOOKS as NOTEBOOK_NAMES
from ..stages import QUESTIONS as STAGE_QUESTIONS
from ..stages import STAGES
from ..stages import TITLES as STAGE_TITLES
from .manifest import package_versions, period, rows, write_json

__all__ = ["Run", "RunResult", "new_run_id", "run", "select_stages"]

# Expected seconds per stage on the demo shop, used to start the longest first when no earlier run
# of the client says better (a long stage started last would leave one worker idle at the end).
_EXPECTED = {
    "conversion": 9,
    "retention": 9,
    "acquisition": 8,
    "loyalty": 8,
    "reach": 7,
    "winback": 6,
    "data_health": 5,
}
# The memory DuckDB may use while storing the derived tables (sessions from every event) before it spills to disk.
DERIVE_MEMORY = "1GB"
_FAILURE_KEYS = ("stage", "notebook", "cell", "cell_index", "error")


@dataclass
class RunResult:
    """What a run produced: its folder, the index page, failed stages, all findings, and how long it took."""

    run_dir: Path
    index: Path
    failed: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    single_file: Path | None = None  # report.html: the whole report in one file (run(single_file=True))
    pdf: Path | None = None  # report.pdf (run(pdf=True))
    export_errors: list[str] = field(default_factory=list)  # e.g. the PDF could not be printed

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class Run:
    """One run as its steps see it: what was asked, and what each step has made so far."""

    params: params_mod.Params
    params_path: Path
    chosen: list[str]  # stage ids in lifecycle order
    notebooks_dir: Path
    jobs: int
    asked_run_id: str | None = None
    compare_with: Path | None = None  # the run the index compares with (default: the client's previous run)
    start_timeout: int = pool_mod.KERNEL_START_SECONDS
    execution_timeout: int = 900
    single_file: bool = False
    pdf: bool = False
    console: Any = None  # a rich Console when progress is shown, else None
    clock: float = field(default_factory=time.perf_counter)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().astimezone())
    # made by the steps
    workers: pool_mod.Workers | None = None
    prepared: sources.Prepared | None = None
    run_id: str = ""
    run_dir: Path = Path()
    run_info: dict[str, Any] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    stage_rows: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    scrubbed: dict[Path, bytes] = field(default_factory=dict)  # files scrubbed so far (privacy.scrub_files)
    single_path: Path | None = None
    pdf_path: Path | None = None
    comparison: compare_mod.Comparison | None = None
    export_errors: list[str] = field(default_factory=list)
    timings: dict[str, Any] = field(default_factory=dict)
    stages_done: int = 0
    chart_import: threading.Thread | None = None  # imports the charts for the trend page while a worker is idle

    @property
    def page_of(self) -> dict[str, str]:
        return {s: f"{NOTEBOOK_NAMES[s]}.html" for s in self.chosen}

    @property
    def findings_dir(self) -> Path:
        return self.run_dir / "findings"

    @property
    def start_seconds(self) -> int:
        """How long a kernel may take to start, in whole seconds (nbclient takes whole seconds)."""
        return max(1, math.ceil(self.start_timeout))

    def say(self, message: str) -> None:
        """A line of the progress display (nothing when progress is off)."""
        if self.console is not None:
            self.console.print(message, highlight=False)

    def note(self, message: str) -> None:
        """An indented plain line under the current step (nothing when progress is off)."""
        if self.console is not None:
            self.console.print(f"  {message}", markup=False, highlight=False, soft_wrap=True)

    def result(self) -> RunResult:
        return RunResult(
            run_dir=self.run_dir,
            index=self.run_dir / "index.html",
            failed=self.failed,
            findings=self.findings,
            seconds=self.timings["total"],
            single_file=self.single_path,
            pdf=self.pdf_path,
            export_errors=self.export_errors,
        )


@contextmanager
def _timed(r: Run, key: str) -> Iterator[None]:
    """Time the block into r.timings[key], in seconds with two decimals."""
    started = time.perf_counter()
    yield
    r.timings[key] = round(time.perf_counter() - started, 2)


# --------------------------------------------------------------------------------------------
# Names and folders.


def new_run_id(output_dir: str | os.PathLike, now: dt.datetime | None = None) -> str:
    """A run id "YYYYMMDD-HHMMSS", with "-2", "-3", ... appended when taken: a run never overwrites an earlier one."""
    base = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    out = Path(output_dir)
    candidate, n = base, 1
    while (out / candidate).exists() or partial_dir(out, candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def partial_dir(output_dir: Path, run_id: str) -> Path:
    """Where a run is written until it is complete: a hidden folder beside the one it becomes."""
    return Path(output_dir) / f".{run_id}.partial"


def _make_run_dir(output_dir: Path, run_id: str | None) -> tuple[str, Path]:
    """Create the run's partial folder atomically (two runs started in the same second get different folders).

    The run is written there and renamed to its run id when complete (`_complete`): a folder named by a run id
    is always a whole run; a run that was killed leaves only its `.<run id>.partial` folder behind."""
    output_dir.mkdir(parents=True, exist_ok=True)
    if run_id is not None:
        folder = partial_dir(output_dir, run_id)
        if (output_dir / run_id).exists():
            raise RunError(
                f"run folder {output_dir / run_id} exists already; a run never overwrites an earlier one"
            ) from None
        try:
            folder.mkdir()
        except FileExistsError:
            raise RunError(f"a run named {run_id} is being written in {folder}; choose another --run-id") from None
        return run_id, folder
    for _ in range(1000):
        rid = new_run_id(output_dir)
        try:
            partial_dir(output_dir, rid).mkdir()
            return rid, partial_dir(output_dir, rid)
        except FileExistsError:  # taken between the check and the mkdir
            continue
    raise RunError(f"could not find a free run folder in {output_dir}")  # pragma: no cover


def _complete(r: Run) -> None:
    """The run is whole: its partial folder takes the run id's name (one rename, never a half-written folder)."""
    final = r.run_dir.parent / r.run_id
    if final.exists():  # pragma: no cover - names are reserved through their partial folder
        raise RunError(f"run folder {final} appeared while the run was written; the run is in {r.run_dir}")
    r.run_dir.rename(final)
    r.single_path = final / r.single_path.name if r.single_path else None
    r.pdf_path = final / r.pdf_path.name if r.pdf_path else None
    r.run_dir = final


def select_stages(stages: list[str] | None) -> list[str]:
    """Stage ids in lifecycle order; each given as a stage ("conversion"), a notebook ("03_conversion") or a number."""
    if not stages:
        return list(STAGES)
    by_name = {name: stage for stage, name in NOTEBOOK_NAMES.items()}
    by_number = {str(i): stage for i, stage in enumerate(STAGES)} | {f"{i:02d}": s for i, s in enumerate(STAGES)}
    chosen: set[str] = set()
    for s in stages:
        key = s.strip().lower().replace("-", "_").removesuffix(".ipynb")
        key = {"win_back": "winback", "health": "data_health"}.get(key, key)
        stage = key if key in STAGES else by_name.get(key) or by_number.get(key)
        if stage is None:
            raise RunError(
                f"unknown stage {s!r}; the stages are: {', '.join(STAGES)} "
                f"(or their notebooks {', '.join(NOTEBOOK_NAMES.values())})"
            )
        chosen.add(stage)
    return [s for s in STAGES if s in chosen]


def _longest_first(chosen: list[str], output_dir: Path) -> list[str]:
    """The stages ordered by their duration in the client's latest run (else by a fixed guess), longest first."""
    expected = dict(_EXPECTED)
    try:
        latest = max(output_dir.glob("*/manifest.json"), key=lambda f: f.stat().st_mtime)
        stages = json.loads(latest.read_text(encoding="utf-8")).get("timings", {}).get("stages", {})
        for stage, name in NOTEBOOK_NAMES.items():
            if isinstance(stages.get(name), (int, float)):
                expected[stage] = stages[name]
    except (ValueError, OSError, AttributeError):  # no earlier run, or an unreadable manifest
        pass
    return sorted(chosen, key=lambda s: -expected.get(s, 0))


# --------------------------------------------------------------------------------------------
# What the manifest and the pages say about the run.


def _run_info(r: Run) -> dict[str, Any]:
    """What the pages show about the run (render's run_info)."""
    p = r.params
    return {
        "client": p.display_name,
        "client_name": p.display_name,
        "run_id": r.run_id,
        "generated_at": r.started_at.replace(tzinfo=None),
        "period": period(p, r.prepared),
        "stages": [{"stage": s, "title": STAGE_TITLES[s], "file": r.page_of[s]} for s in r.chosen],
        "failed_stages": r.failed,  # filled in as stages finish; a stage page shows its own failure
        "versions": package_versions(),
        "tables": {
            name: {"rows": load.rows_in, "rejected": load.rows_rejected} for name, load in r.prepared.loads.items()
        },
    }


# --------------------------------------------------------------------------------------------
# The steps.


def _load(
    params_file: str | os.PathLike | None,
    stages: list[str] | None,
    jobs: int,
    notebooks_dir: str | os.PathLike | None,
    progress: bool,
    console,
    **options: Any,
) -> Run:
    """Read the params and check what was asked (stages, notebooks, a browser for the PDF) before anything runs."""

    clock = time.perf_counter()
    params_path = paths.resolve(params_file) if params_file else paths.DEMO_PARAMS
    p = params_mod.load(params_path)
    findings_mod.check_thresholds(p)
    chosen = select_stages(stages)
    nb_dir = paths.resolve(notebooks_dir) if notebooks_dir else paths.NOTEBOOKS
    missing = [f"{NOTEBOOK_NAMES[s]}.ipynb" for s in chosen if not (nb_dir / f"{NOTEBOOK_NAMES[s]}.ipynb").exists()]
    if missing:
        raise RunError(f"stage notebook(s) missing in {nb_dir}: {', '.join(missing)}")
    if options.get("pdf") and export.find_chromium() is None:
        raise export.BrowserMissing(
            export._missing_message().replace(
                " The HTML report was written; only the PDF is missing.", " Nothing was run."
            )
        )
    if options.get("compare_with"):  # a run named to compare with must exist before anything runs
        options["compare_with"] = compare_mod.find_run(str(options["compare_with"]), p.output_path)
    _check_run_id(options.get("asked_run_id"))
    _check_writable(p.output_path)
    if progress and console is None:
        console = Console(stderr=True)
    return Run(
        params=p,
        params_path=params_path,
        chosen=chosen,
        notebooks_dir=nb_dir,
        jobs=max(1, min(int(jobs), len(chosen))),
        console=console if progress else None,
        clock=clock,
        **options,
    )


_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _check_run_id(run_id: str | None) -> None:
    """A run id names one folder under reports/<client>/: a plain name, never a path."""
    if run_id is not None and (not _RUN_ID.fullmatch(run_id) or ".." in run_id):
        raise RunError(
            f"--run-id {run_id!r}: use a plain name of letters, digits, '.', '-' and '_' (up to 100, no '..'); "
            "it names the run's folder under the client's reports"
        )


def _check_writable(folder: Path) -> None:
    """Fail before any work when the report cannot be written (the folder made, a file created in it)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        raise RunError(
            f"cannot write the report into {folder} ({err.strerror or err}); set `output:` in the params file to a "
            "folder you can write, or fix its permissions. Nothing was run."
        ) from None


def _start_workers(r: Run, workers: pool_mod.Workers | None = None) -> None:
    """Start the workers now: their papermill import overlaps with preparing the data. Workers the caller started
    earlier (the command starts them before importing this module) are taken if there are as many as the run
    uses, else stopped and replaced."""
    if workers is not None and workers.jobs == r.jobs:
        r.workers = workers
        return
    if workers is not None:
        workers.stop(unused=True)
    r.workers = pool_mod.start_workers(r.jobs)


def _stop_workers(r: Run) -> None:
    """Stop the workers: after the stages, once their work is done; before any stage (the data stopped the run,
    the run folder could not be made), at once, kernels starting or not."""
    if r.workers is not None:
        r.workers.stop(unused=not r.results)


def _prepare_data(r: Run) -> None:
    """Generate the demo shop if asked for and absent, then check and convert the client's data."""

    r.say(f"[bold]{r.params.display_name}[/]: preparing the data")
    with _timed(r, "prepare"):
        note = r.note if r.console is not None else None
        sources.ensure_demo_data(r.params, progress=note)
        r.prepared = sources.prepare(r.params, progress=note)
        _release_memory()
    _warm_kernels(r)
    with _timed(r, "derive"):
        _store_derived(r)


def _warm_kernels(r: Run) -> None:
    """The data is fit: each worker starts its kernel and imports the workbook now (a worker whose kernel the
    command started already keeps it), while the derived tables are stored and the run folder made, so that the
    first stages wait for it little. Not earlier for a client seen first: starting a kernel and its imports takes
    7-9 s of CPU per worker on a machine under load 7 (about a third of that when quiet), spent for nothing by a
    run the data stops (a rejected file, a wrong column; the rehearsal and hostile tests make many). Such a run
    took 2.6-3.0 s with kernels started here, 5.4-8.9 s with kernels started with the pool and waited for; a run
    stopped before its stages now ends its workers at once (_stop_workers)."""
    pool_mod.warm_kernels(r.workers.pool, r.jobs, str(paths.ROOT), r.start_seconds)


def _release_memory() -> None:
    """Hand back to the system the memory that reading the client's files took (Arrow keeps freed memory in its
    pool, glibc in its free lists): at 100,000 customers the run's own process held 1.1 GB through every stage
    after preparing, 0.14 GB after this."""
    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # not glibc: Arrow's pool was the most of it
            ctypes.CDLL(None).malloc_trim(0)


def _store_derived(r: Run) -> None:
    """The derived tables several stages share (sessions, first orders), computed once and stored beside the
    canonical tables, so that no stage's kernel computes them again (metrics.stored)."""
    backend = r.params.engine.backend
    if not stored.missing(r.prepared.folder, backend):
        return  # tables derived by an earlier run are kept
    if backend != "duckdb":
        written = _store_derived_apart(r, backend)
    else:
        written = _store_derived_here(r)
    if written:
        profiles = [key for key in written if key.startswith("presence.")]
        named = [key for key in written if key not in profiles]
        if profiles:
            named.append(f"the profiles of {len(profiles)} tables")
        r.note(f"stored the derived tables {', '.join(named)} beside the canonical tables")


def _store_derived_apart(r: Run, backend: str) -> list[str]:
    """Spark computes the derived tables where the tables live (the shared tables folder on a cluster), in a
    process of its own: its JVM ends with it rather than stay beside the stages' own. The sessions are then built
    once, not by each of the three stages that read them (300,000 customers: about 25 s of Spark each). A failure
    here stops nothing: each stage computes what it lacks, and says what fails there."""
    folder = Path(r.prepared.folder)
    log = folder / stored.FOLDER / f"{backend}.log"  # Spark's start-up warnings and log lines, not on the display
    log.unlink(missing_ok=True)
    ctx = mp.get_context("spawn")
    try:
        with ProcessPoolExecutor(1, mp_context=ctx, initializer=pool_mod.send_output, initargs=(str(log),)) as apart:
            url = r.params.engine.connection_url()
            return apart.submit(stored.store_folder, str(folder), backend, url).result()
    except Exception as err:  # noqa: BLE001 - any engine failure: the stages compute the tables themselves
        first = (str(err).strip() or type(err).__name__).splitlines()[0][:200]
        r.note(
            f"the derived tables could not be stored on {backend} ({first}; its log: {log}); each stage computes them"
        )
        return []


def _store_derived_here(r: Run) -> list[str]:
    """DuckDB computes the derived tables in this process, within DERIVE_MEMORY."""
    tables = engine.Tables.from_folder(r.prepared.folder)
    paths.CACHE.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=paths.CACHE, prefix=".spill-") as spill:
            # DuckDB takes up to 80 % of the machine by default: held to DERIVE_MEMORY, it spills to disk instead
            # (300,000 customers: 2.4 GB without the limit, 1.3 GB with it, no slower)
            tables.con.raw_sql(f"SET memory_limit = '{DERIVE_MEMORY}'")
            tables.con.raw_sql("SET enable_progress_bar = false")  # the run's own display says what happens
            tables.con.raw_sql("SET temp_directory = '{}'".format(spill.replace("'", "''")))
            return stored.store(tables, r.prepared.folder)
    finally:
        tables.con.disconnect()


def _make_folder(r: Run) -> None:
    """Create reports/<client>/<run-id>/ with its notebooks/ and findings/ folders."""
    r.run_id, r.run_dir = _make_run_dir(r.params.output_path, r.asked_run_id)
    (r.run_dir / "notebooks").mkdir()
    r.findings_dir.mkdir()
    r.run_info = _run_info(r)
    r.say(f"run {r.run_id}: {len(r.chosen)} stage(s), {r.jobs} at a time")


def _job(r: Run, stage: str) -> dict[str, Any]:
    """What a worker needs to execute one stage notebook."""
    name = NOTEBOOK_NAMES[stage]
    return {
        "stage": stage,
        "name": name,
        "input": str(r.notebooks_dir / f"{name}.ipynb"),
        "output": str(r.run_dir / "notebooks" / f"{name}.ipynb"),
        "log": str(r.run_dir / "logs" / f"{name}.log"),
        "cwd": str(paths.ROOT),
        "start_timeout": r.start_seconds,  # nbclient takes whole seconds
        "execution_timeout": max(1, math.ceil(r.execution_timeout)),
        "parameters": {
            "params_file": str(r.params_path),
            "tables_dir": str(r.prepared.folder),
            "findings_dir": str(r.findings_dir),
        },
    }


def _execute_stages(r: Run) -> None:
    """Execute the notebooks, the longest first, rendering each stage's page as soon as it is done."""
    order = _longest_first(r.chosen, r.params.output_path)
    _know_what_to_scrub(r)
    with _timed(r, "notebooks"):
        r.results = pool_mod.execute_all(
            r.workers.pool,
            r.workers.queue,
            [_job(r, s) for s in order],
            [NOTEBOOK_NAMES[s] for s in r.chosen],
            r.console,
            lambda result: _render_stage(r, result),
        )


def _render_stage(r: Run, result: dict[str, Any]) -> None:
    """A stage is done: note a failure, then render its page; a page that cannot be rendered fails the stage."""

    s = result["stage"]
    r.stages_done += 1
    if len(r.chosen) - r.stages_done < r.jobs:
        _import_charts_while_idle(r)
    if result["status"] == "failed":
        r.failed.append({k: result.get(k) for k in _FAILURE_KEYS})
    executed = r.run_dir / "notebooks" / f"{NOTEBOOK_NAMES[s]}.ipynb"
    if not executed.exists():  # nothing ran (the kernel did not start): a page with the text and the error
        executed = r.notebooks_dir / f"{NOTEBOOK_NAMES[s]}.ipynb"
    started = time.perf_counter()
    try:
        render.write_page(r.run_dir / r.page_of[s], render.stage_html(executed, s, r.run_info))
    except Exception as err:  # noqa: BLE001 - a page that cannot be rendered fails its stage, not the run
        if result["status"] != "failed":
            result.update(status="failed", error=f"rendering the page failed: {type(err).__name__}: {err}")
            r.failed.append({k: result.get(k) for k in _FAILURE_KEYS})
    result["render_seconds"] = round(time.perf_counter() - started, 2)
    # scrubbed now, while the other stages run, rather than all at the end (_scrub checks them again)
    stage_files = [executed, r.run_dir / r.page_of[s], r.findings_dir / f"{s}.json"]
    privacy.scrub_files([f for f in stage_files if f.is_relative_to(r.run_dir)], r.secrets, r.ids, r.scrubbed)


def _import_charts_while_idle(r: Run) -> None:
    """Fewer stages remain than workers, so a core is free: import the charts (seaborn, and scipy through it) there
    now, if the index will draw a trend, instead of after the last stage (1.9 s of CPU on a quiet 2-core machine,
    the most of the index step of a client's second run)."""
    if r.chart_import is not None or not (r.compare_with or _has_earlier_run(r)):
        return
    r.chart_import = threading.Thread(target=_import_quietly, args=("..report.charts",))
    r.chart_import.daemon = True
    r.chart_import.start()


def _import_quietly(module: str) -> None:
    """Import ahead of need; a failure is left to the import that needs the module (it raises there, in its step)."""
    with contextlib.suppress(Exception):
        importlib.import_module(module, __package__)


def _has_earlier_run(r: Run) -> bool:
    with contextlib.suppress(OSError, AuditError):
        return compare_mod.previous_run(r.params.output_path, r.run_id, r.started_at) is not None
    return False


def _tidy_logs(r: Run) -> None:
    """Remove the logs folder when no kernel said anything worth keeping."""
    logs = r.run_dir / "logs"
    if logs.is_dir() and not any(logs.iterdir()):
        logs.rmdir()


def _collect_findings(r: Run) -> None:
    """findings/<stage>.json as the notebooks wrote them, into findings.json (tables pseudonymised)."""

    r.failed.sort(key=lambda f: STAGES.index(f["stage"]))
    for s in r.chosen:
        file = r.findings_dir / f"{s}.json"
        if not file.exists():
            continue
        for f in json.loads(file.read_text(encoding="utf-8")):
            f["page"] = r.page_of[s]
            f["table"] = privacy.pseudonymise_records(f.get("table"))
            if f.get("table"):
                f["evidence_csv"] = evidence.evidence_file(f["check_id"])
            f.update(compare_mod.settings(f["check_id"], r.params.thresholds.get(f["check_id"])))
            r.findings.append(f)
    write_json(r.run_dir / "findings.json", r.findings)


def _write_index(r: Run) -> None:
    """Each stage's score (scoring.stage_score of its findings' scores) and status, then index.html."""

    for s in r.chosen:
        r.stage_rows.append(
            {
                "stage": s,
                "title": STAGE_TITLES[s],
                "question": STAGE_QUESTIONS[s],
                "file": r.page_of[s],
                "score": scoring.stage_score([f.get("score") for f in r.findings if f.get("stage") == s]),
                "status": "failed" if r.results[s]["status"] == "failed" else "ok",
            }
        )
    r.run_info["overall_score"] = scoring.overall_score([row["score"] for row in r.stage_rows])
    try:
        trend = _compare(r)
    except Exception as err:  # noqa: BLE001 - the comparison and the trend are extras: the index is written without
        r.comparison, trend = None, None
        r.note(f"no comparison with an earlier run: {type(err).__name__}: {err}")
    render.write_page(
        r.run_dir / "index.html",
        render.index_html(r.findings, r.stage_rows, r.run_info, comparison=r.comparison, trend=trend),
    )


def _this_run(r: Run) -> compare_mod.RunRecord:
    """This run as a comparison reads it: its findings and what its manifest will say (not written yet)."""
    manifest = {
        "run_id": r.run_id,
        "client": r.params.client,
        "client_name": r.params.display_name,
        "started": r.started_at.isoformat(timespec="seconds"),
        "period": r.run_info["period"],
        "params": r.params.model_dump(mode="json"),
        "stages": [{"stage": row["stage"], "score": row["score"]} for row in r.stage_rows],
        "failed_stages": r.failed,
        "versions": r.run_info["versions"],
    }
    return compare_mod.record(r.findings, manifest, folder=r.run_dir)


def _compare(r: Run) -> str | None:
    """Compare the run with the one asked for, else the client's previous run, and write the client's trend page
    (every run so far, this one last) into the run folder; returns the trend page's name, None without history.
    An earlier run that cannot be read is noted and skipped: it never stops this run."""
    now = _this_run(r)
    earlier = r.compare_with or compare_mod.previous_run(r.params.output_path, r.run_id, r.started_at)
    if earlier is None:
        return None
    try:
        r.comparison = compare_mod.compare(compare_mod.load_run(earlier), now)
    except AuditError as err:
        r.note(f"no comparison with {earlier.name}: {err}")
    runs = []
    for folder in compare_mod.history(r.params.output_path):
        if folder.name == r.run_id:
            continue
        try:
            runs.append(compare_mod.load_run(folder))
        except AuditError as err:
            r.note(f"the trend leaves out {folder.name}: {err}")
    info = {**r.run_info, "stages": r.chosen}
    render.write_page(r.run_dir / comparison.TREND_PAGE, comparison.trend_html([*runs, now], info))
    return comparison.TREND_PAGE


def _scrub(r: Run) -> None:
    """The safety net: whatever a notebook printed, no credential from the environment, e-mail address or
    raw customer id stays in the folder."""

    with _timed(r, "scrub"):  # the secrets and ids are known since the stages began (_know_what_to_scrub)
        privacy.scrub_run_folder(r.run_dir, r.secrets, r.ids, r.scrubbed)


def _know_what_to_scrub(r: Run) -> None:
    """The credentials in the environment and the client's customer ids, which no file of the run may show."""
    env = r.params.engine.connection_env
    r.secrets = privacy.secret_values(names=[env] if env else [])
    r.ids = privacy.known_ids(r.prepared.folder)


def _export(r: Run) -> None:
    """The forms the report travels in, made from the scrubbed pages: one HTML file, a PDF."""

    if r.single_file:
        with _timed(r, "single_file"):
            r.single_path = export.write_single_file(r.run_dir)
    if r.pdf:
        with _timed(r, "pdf"):
            try:
                r.pdf_path = export.write_pdf(r.run_dir)
            except AuditError as err:  # the HTML report stands; the command says what went wrong with the PDF
                r.export_errors.append(str(err))


def _manifest(r: Run) -> dict[str, Any]:
    """What was run, on what, with which versions, and how long each part took."""
    p = r.params
    return {
        "run_id": r.run_id,
        "client": p.client,
        "client_name": p.display_name,
        "started": r.started_at.isoformat(timespec="seconds"),
        "finished": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "period": r.run_info["period"],
        "compared_with": r.comparison.then.run_id if r.comparison is not None else None,
        "params_file": str(r.params_path),
        "params": p.model_dump(mode="json"),
        "stages": [
            {
                **{
                    k: r.results[row["stage"]].get(k)
                    for k in ("stage", "notebook", "status", "seconds", "cell", "error", "kernel")
                },
                "page": row["file"],
                "score": row["score"],
            }
            for row in r.stage_rows
        ],
        "failed_stages": r.failed,
        "timings": r.timings,
        "jobs": r.jobs,
        "rows": rows(r.prepared),
        "inputs": r.prepared.to_dict(),
        "versions": r.run_info["versions"],
        "findings": len(r.findings),
    }


def _write_manifest(r: Run) -> None:
    """manifest.json, scrubbed like the rest of the folder."""

    r.timings["total"] = round(time.perf_counter() - r.clock, 2)
    r.timings["stages"] = {NOTEBOOK_NAMES[s]: r.results[s]["seconds"] for s in r.chosen}
    r.timings["pages"] = {NOTEBOOK_NAMES[s]: r.results[s].get("render_seconds") for s in r.chosen}
    write_json(r.run_dir / "manifest.json", _manifest(r))
    privacy.scrub_run_folder(r.run_dir, r.secrets, r.ids, r.scrubbed)


def _steps(r: Run, steps: tuple[Callable[[Run], None], ...]) -> None:
    for step in steps:
        step(r)


def run(
    params_file: str | os.PathLike | None = None,
    *,
    jobs: int = 2,
    stages: list[str] | None = None,
    run_id: str | None = None,
    progress: bool = True,
    start_timeout: int = pool_mod.KERNEL_START_SECONDS,
    execution_timeout: int = 900,
    notebooks_dir: str | os.PathLike | None = None,
    console=None,
    single_file: bool = False,
    pdf: bool = False,
    compare_with: str | os.PathLike | None = None,
    workers: pool_mod.Workers | None = None,
) -> RunResult:
    """Run the audit described by a params file and assemble reports/<client>/<run-id>/.

    Data problems (params.ParamsError, errors.SourceError) are raised before anything is written.
    A failing stage notebook does not stop the others: it is listed in RunResult.failed.
    notebooks_dir replaces the project's notebooks/ folder (tests, customised notebooks).
    single_file: also write report.html, the whole report in one file; pdf: also write report.pdf
    (needs Chromium: report.export.BrowserMissing is raised before anything runs when there is none).
    compare_with: the run the index compares with (a run id of the client, or a run folder); default: the
    client's previous run, if any. The run folder also gets trend.html, the client's trend over all runs.
    workers: the stage workers, already started (pool.start_workers); the run stops them when it ends, also when
    nothing could run.
    """
    try:
        r = _load(
            params_file,
            stages,
            jobs,
            notebooks_dir,
            progress,
            console,
            asked_run_id=run_id,
            start_timeout=start_timeout,
            execution_timeout=execution_timeout,
            single_file=single_file,
            pdf=pdf,
            compare_with=compare_with,
        )
    except BaseException:
        if workers is not None:
            workers.stop(unused=True)
        raise
    # Every page, card, chart and CSV link of the run speaks the client's language and currency: the one
    # setting the report layer reads (a notebook's kernel sets the same through workbook.open_audit).
    with lang.use(r.params.locale, r.params.currency):
        _start_workers(r, workers)
        try:
            _steps(r, (_prepare_data, _make_folder, _execute_stages))
        finally:
            _stop_workers(r)
        _tidy_logs(r)
        with _timed(r, "index"):
            _steps(r, (_collect_findings, _write_index))
        _steps(r, (_scrub, _export, _write_manifest, _complete))
    return r.result()
