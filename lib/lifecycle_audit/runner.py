"""Run an audit: prepare the data, execute the stage notebooks with papermill, assemble the run folder."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import time
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import i18n, paths
from .stages import NOTEBOOKS as NOTEBOOK_NAMES
from .stages import QUESTIONS as STAGE_QUESTIONS
from .stages import STAGES
from .stages import TITLES as STAGE_TITLES
from .errors import AuditError, RunError

KERNEL = "python3"
# Packages whose versions go into the manifest (distribution names).
VERSIONED = ("lifecycle-audit", "pandas", "ibis-framework", "duckdb", "papermill", "nbconvert", "matplotlib")


@dataclass
class RunResult:
    """What a run produced: its folder, the index page, failed stages, all findings, and how long it took."""

    run_dir: Path
    index: Path
    failed: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    single_file: Path | None = None   # report.html: the whole report in one file (run(single_file=True))
    pdf: Path | None = None           # report.pdf (run(pdf=True))
    export_errors: list[str] = field(default_factory=list)  # e.g. the PDF could not be printed

    @property
    def ok(self) -> bool:
        return not self.failed


def new_run_id(output_dir: str | os.PathLike, now: dt.datetime | None = None) -> str:
    """A run id "YYYYMMDD-HHMMSS", with "-2", "-3", ... appended when taken: a run never overwrites an earlier one."""
    base = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    out = Path(output_dir)
    candidate, n = base, 1
    while (out / candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _make_run_dir(output_dir: Path, run_id: str | None) -> tuple[str, Path]:
    """Create the run folder atomically (two runs started in the same second get different folders)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    if run_id is not None:
        folder = output_dir / run_id
        try:
            folder.mkdir()
        except FileExistsError:
            raise RunError(f"run folder {folder} exists already; a run never overwrites an earlier one") from None
        return run_id, folder
    for _ in range(1000):
        rid = new_run_id(output_dir)
        try:
            (output_dir / rid).mkdir()
            return rid, output_dir / rid
        except FileExistsError:  # taken between the check and the mkdir
            continue
    raise RunError(f"could not find a free run folder in {output_dir}")  # pragma: no cover


def select_stages(stages: list[str] | None) -> list[str]:
    """Stage ids in lifecycle order; each given as a stage ("conversion"), a notebook name ("03_conversion") or its number."""
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
            raise RunError(f"unknown stage {s!r}; the stages are: {', '.join(STAGES)} "
                           f"(or their notebooks {', '.join(NOTEBOOK_NAMES.values())})")
        chosen.add(stage)
    return [s for s in STAGES if s in chosen]


# --------------------------------------------------------------------------------------------
# Executing one notebook: runs in a worker process (one notebook per process at a time).

_QUEUE = None


def _worker_init(queue, lib_dir: str, root: str) -> None:
    """Set up a worker: the kernels it starts import this same library; papermill is imported once, here."""
    global _QUEUE
    _QUEUE = queue
    pythonpath = os.environ.get("PYTHONPATH", "")
    installed = Path(lib_dir).name in ("site-packages", "dist-packages")  # the kernel finds it there anyway
    if not installed and lib_dir not in pythonpath.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (lib_dir, pythonpath) if p)
    os.environ["LIFECYCLE_AUDIT_ROOT"] = root
    # Plots must land in the executed notebook, whatever backend the caller's environment names.
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugger warning in every kernel
    import papermill  # noqa: F401 - the slow import (about 1-2 s), paid once per worker
    import nbformat  # noqa: F401


def _warm() -> None:
    """A no-op task: submitting one per worker starts the workers (and their imports) early."""


def _stopped_at(path: Path) -> tuple[int | None, int | None]:
    """(execution count, index) of the last cell that started: where a timeout or a dying kernel stopped the run."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return None, None
    started = [i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("papermill", {}).get("start_time")]
    if not started:
        return None, None
    i = started[-1]
    return nb.cells[i].get("execution_count"), i


def scrub_parameters(path: str | os.PathLike) -> None:
    """Remove the injected parameters from an executed notebook: the metadata copy and the injected cell's source."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata.get("papermill", {}).pop("parameters", None)
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = "# Parameters injected by the runner (not kept in this copy)."
            cell.outputs = []
    nbformat.write(nb, path)


# What every kernel prints on start; it says nothing about the run (the kernel listens on localhost only).
_KERNEL_NOISE = ("Kernel is running over TCP without encryption",)


@contextmanager
def _redirected(log: Path | None):
    """Send this process's stdout/stderr (and so the kernel's, which inherits them) to `log` meanwhile.

    Kernels chatter on stderr (start-up warnings, library deprecations); that belongs in the run's
    logs, not between the lines of the progress display. Lines every kernel prints are dropped, and
    a log left empty is removed.
    """
    if log is None:
        yield
        return
    import sys

    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
    lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
             if line.strip() and not any(noise in line for noise in _KERNEL_NOISE)]
    if lines:
        log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        log.unlink()


def execute_stage(job: dict[str, Any]) -> dict[str, Any]:
    """Execute one stage notebook with papermill; a failing cell is recorded, not raised."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    name, output = job["name"], Path(job["output"])
    if _QUEUE is not None:
        _QUEUE.put((name, "running", time.time()))
    started = time.perf_counter()
    result: dict[str, Any] = {"stage": job["stage"], "notebook": name, "status": "done",
                              "cell": None, "cell_index": None, "error": None}
    log = Path(job["log"]) if job.get("log") else None
    try:
        with _redirected(log):
            pm.execute_notebook(
                job["input"], str(output), parameters=job["parameters"], kernel_name=KERNEL,
                start_timeout=job["start_timeout"], execution_timeout=job["execution_timeout"],
                cwd=job["cwd"], progress_bar=False, log_output=False,
                # Every cell has finished and its outputs are saved: stop the kernel at once instead of
                # waiting about a second for a polite shutdown.
                shutdown_kernel="immediate",
            )
    except PapermillExecutionError as err:
        result.update(status="failed", cell=err.exec_count if err.exec_count is not None else err.cell_index,
                      cell_index=err.cell_index, error=f"{err.ename}: {err.evalue}")
    except Exception as err:  # kernel did not start, a cell timed out, the kernel died, ...
        count, index = _stopped_at(output) if output.exists() else (None, None)
        result.update(status="failed", cell=count if count is not None else index, cell_index=index,
                      error=f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
                      .rstrip(": "))
    result["seconds"] = round(time.perf_counter() - started, 2)
    if output.exists():
        try:
            scrub_parameters(output)
        except Exception as err:  # pragma: no cover - a notebook papermill wrote is readable
            result.update(status="failed", error=f"could not scrub parameters: {err}")
    return result


# --------------------------------------------------------------------------------------------
# Progress display.

class _Progress:
    """A live table: each stage queued, running, done or failed, with its seconds."""

    def __init__(self, names: list[str], console=None):
        self.names = names
        self.state = {n: "queued" for n in names}
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}
        self.live = None
        self.console = console
        if console is not None and console.is_terminal:
            from rich.live import Live

            self.live = Live(self._render(), console=console, refresh_per_second=4, transient=False)

    def _render(self):
        from rich.table import Table

        colours = {"queued": "dim", "running": "yellow", "done": "green", "failed": "bold red"}
        table = Table(box=None, show_header=False, padding=(0, 2))
        now = time.time()
        for n in self.names:
            st = self.state[n]
            secs = self.seconds.get(n)
            if secs is None and n in self.started:
                secs = now - self.started[n]
            table.add_row(n, f"[{colours[st]}]{st}[/]", f"{secs:5.1f} s" if secs is not None else "")
        return table

    def set(self, name: str, state: str, at: float | None = None, seconds: float | None = None) -> None:
        self.state[name] = state
        if state == "running":
            self.started[name] = at or time.time()
        if seconds is not None:
            self.seconds[name] = seconds
        if self.live is None and self.console is not None:  # not a terminal (CI, a pipe): one line per change
            secs = f" {seconds:.1f} s" if seconds is not None else ""
            self.console.print(f"  {name:<16} {state}{secs}", markup=False, highlight=False)
        self.refresh()

    def refresh(self) -> None:
        if self.live is not None:
            self.live.update(self._render())

    def __enter__(self):
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc):
        if self.live is not None:
            self.live.update(self._render())
            self.live.__exit__(*exc)


# --------------------------------------------------------------------------------------------
# The run.

def package_versions() -> dict[str, str]:
    """Python and the packages that shape a report, for the manifest and the report's footer."""
    from importlib import metadata

    from . import __version__

    versions = {"python": platform.python_version()}
    for dist in VERSIONED:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = __version__ if dist == "lifecycle-audit" else "not installed"
    return versions


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _period(p, prepared) -> dict[str, str | None]:
    """The analysis period: as set in params, else the span of the orders (or events, or messages) supplied."""
    start, end = p.period.start, p.period.end
    if start is None or end is None:
        for name in ("orders", "events", "messages"):
            load = prepared.loads.get(name)
            if load is not None and load.date_min is not None:
                start = start or load.date_min
                end = end or load.date_max
                break
    fmt = lambda v: _iso(v)[:10] if v is not None else None  # noqa: E731
    return {"start": fmt(start), "end": fmt(end)}


def _rows(prepared) -> dict[str, dict[str, Any]]:
    return {name: {"file": str(load.file), "rows_in": load.rows_in, "rows_used": load.rows_used,
                   "rows_rejected": load.rows_rejected, "rejected": dict(load.rejected)}
            for name, load in prepared.loads.items()}


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def _mp_context():
    import multiprocessing as mp

    # spawn: the workers start clean (no copy of DuckDB's threads or a live display), and import
    # nothing but this module and papermill.
    return mp.get_context("spawn")


# Expected seconds per stage on the demo shop, used to start the longest first when no earlier run
# of the client says better (a long stage started last would leave one worker idle at the end).
_EXPECTED = {"conversion": 9, "retention": 9, "acquisition": 8, "loyalty": 8, "reach": 7, "winback": 6,
             "data_health": 5}


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


def run(params_file: str | os.PathLike | None = None, *, jobs: int = 2, stages: list[str] | None = None,
        run_id: str | None = None, progress: bool = True, start_timeout: int = 120, execution_timeout: int = 900,
        notebooks_dir: str | os.PathLike | None = None, console=None, single_file: bool = False,
        pdf: bool = False) -> RunResult:
    """Run the audit described by a params file and assemble reports/<client>/<run-id>/.

    Data problems (params.ParamsError, errors.SourceError) are raised before anything is written.
    A failing stage notebook does not stop the others: it is listed in RunResult.failed.
    notebooks_dir replaces the project's notebooks/ folder (tests, customised notebooks).
    single_file: also write report.html, the whole report in one file; pdf: also write report.pdf
    (needs Chromium: report.export.BrowserMissing is raised before anything runs when there is none).
    """
    from . import findings as findings_mod
    from . import params as params_mod
    from . import privacy, sources
    from .report import export

    t0 = time.perf_counter()
    started_at = dt.datetime.now().astimezone()
    params_path = paths.resolve(params_file) if params_file else paths.DEMO_PARAMS
    p = params_mod.load(params_path)
    findings_mod.check_thresholds(p)
    chosen = select_stages(stages)
    nb_dir = paths.resolve(notebooks_dir) if notebooks_dir else paths.NOTEBOOKS
    missing = [f"{NOTEBOOK_NAMES[s]}.ipynb" for s in chosen if not (nb_dir / f"{NOTEBOOK_NAMES[s]}.ipynb").exists()]
    if missing:
        raise RunError(f"stage notebook(s) missing in {nb_dir}: {', '.join(missing)}")
    jobs = max(1, min(int(jobs), len(chosen)))
    if pdf and export.find_chromium() is None:
        raise export.BrowserMissing(export._missing_message().replace(" The HTML report was written; only the PDF is "
                                                                      "missing.", " Nothing was run."))
    if progress and console is None:
        from rich.console import Console

        console = Console(stderr=True)
    say = (lambda msg: console.print(msg, highlight=False)) if progress else (lambda msg: None)  # noqa: E731

    # Start the workers now: their papermill import overlaps with preparing the data.
    ctx = _mp_context()
    queue = ctx.Queue()
    lib_dir = str(Path(__file__).resolve().parent.parent)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                               initargs=(queue, lib_dir, str(paths.ROOT)))
    timings: dict[str, Any] = {}
    failed: list[dict[str, Any]] = []
    page_of = {s: f"{NOTEBOOK_NAMES[s]}.html" for s in chosen}
    try:
        for _ in range(jobs):
            pool.submit(_warm)
        say(f"[bold]{p.display_name}[/]: preparing the data")
        t = time.perf_counter()
        note = ((lambda message: console.print(f"  {message}", markup=False, highlight=False, soft_wrap=True))
                if progress else None)
        sources.ensure_demo_data(p, progress=note)
        prepared = sources.prepare(p, progress=note)
        timings["prepare"] = round(time.perf_counter() - t, 2)

        order = _longest_first(chosen, p.output_path)
        rid, run_dir = _make_run_dir(p.output_path, run_id)
        (run_dir / "notebooks").mkdir()
        findings_dir = run_dir / "findings"
        findings_dir.mkdir()
        versions = package_versions()
        run_info = {
            "client": p.display_name,
            "client_name": p.display_name,
            "run_id": rid,
            "generated_at": started_at.replace(tzinfo=None),
            "period": _period(p, prepared),
            "currency": p.currency,
            "locale": p.locale,
            "stages": [{"stage": s, "title": STAGE_TITLES[s], "file": page_of[s]} for s in chosen],
            "failed_stages": failed,   # filled in as stages finish; a stage page shows its own failure
            "versions": versions,
            "tables": {name: {"rows": load.rows_in, "rejected": load.rows_rejected}
                       for name, load in prepared.loads.items()},
        }
        say(f"run {rid}: {len(chosen)} stage(s), {jobs} at a time")

        def finished(r: dict[str, Any]) -> None:
            """A stage is done: note a failure, then render its page while the other stages still run."""
            s = r["stage"]
            if r["status"] == "failed":
                failed.append({k: r.get(k) for k in ("stage", "notebook", "cell", "cell_index", "error")})
            executed = run_dir / "notebooks" / f"{NOTEBOOK_NAMES[s]}.ipynb"
            if not executed.exists():  # nothing ran (the kernel did not start): a page with the text and the error
                executed = nb_dir / f"{NOTEBOOK_NAMES[s]}.ipynb"
            started = time.perf_counter()
            try:
                from .report import render

                links = {}
                stage_findings = findings_dir / f"{s}.json"
                if stage_findings.exists():  # each finding's full evidence table as a CSV the card links to
                    links = export.write_evidence(json.loads(stage_findings.read_text(encoding="utf-8")), run_dir)
                with i18n.use(p.locale, p.currency):  # the CSV links speak the report's language
                    page = export.link_evidence(render.stage_html(executed, s, run_info), links)
                render.write_page(run_dir / page_of[s], page)
            except Exception as err:
                if r["status"] != "failed":
                    r.update(status="failed", error=f"rendering the page failed: {type(err).__name__}: {err}")
                    failed.append({k: r.get(k) for k in ("stage", "notebook", "cell", "cell_index", "error")})
            r["render_seconds"] = round(time.perf_counter() - started, 2)

        t = time.perf_counter()
        results = _execute_all(pool, queue, order, chosen, nb_dir, run_dir, params_path, Path(prepared.folder),
                               findings_dir, start_timeout, execution_timeout, console if progress else None,
                               finished)
        timings["notebooks"] = round(time.perf_counter() - t, 2)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        queue.close()
    logs = run_dir / "logs"
    if logs.is_dir() and not any(logs.iterdir()):
        logs.rmdir()

    # Findings, index, manifest.
    from .report import render

    t = time.perf_counter()
    failed.sort(key=lambda f: STAGES.index(f["stage"]))
    findings: list[dict[str, Any]] = []
    for s in chosen:
        file = findings_dir / f"{s}.json"
        if file.exists():
            for f in json.loads(file.read_text(encoding="utf-8")):
                f["page"] = page_of[s]
                f["table"] = privacy.pseudonymise_records(f.get("table"))
                if f.get("table"):
                    f["evidence_csv"] = export.evidence_file(f["check_id"])
                findings.append(f)
    _write_json(run_dir / "findings.json", findings)

    index_stages = []
    for s in chosen:
        scores = [f["score"] for f in findings if f.get("stage") == s and f.get("score") is not None]
        index_stages.append({
            "stage": s, "title": STAGE_TITLES[s], "question": STAGE_QUESTIONS[s], "file": page_of[s],
            "score": int(round(sum(scores) / len(scores))) if scores else None,
            "status": "failed" if results[s]["status"] == "failed" else "ok",
        })
    index = run_dir / "index.html"
    render.write_page(index, render.index_html(findings, index_stages, run_info))
    timings["index"] = round(time.perf_counter() - t, 2)

    # The safety net: whatever a notebook printed, no credential from the environment, e-mail address or
    # raw customer id stays in the folder. Then the forms the report travels in, made from scrubbed pages.
    t = time.perf_counter()
    secrets = privacy.secret_values(names=[p.engine.connection_env] if p.engine.connection_env else [])
    ids = privacy.known_ids(prepared.folder)
    privacy.scrub_run_folder(run_dir, secrets, ids)
    timings["scrub"] = round(time.perf_counter() - t, 2)
    single_path = pdf_path = None
    if single_file:
        t = time.perf_counter()
        single_path = export.write_single_file(run_dir)
        timings["single_file"] = round(time.perf_counter() - t, 2)
    export_errors: list[str] = []
    if pdf:
        t = time.perf_counter()
        try:
            pdf_path = export.write_pdf(run_dir)
        except AuditError as err:  # the HTML report stands; the command says what went wrong with the PDF
            export_errors.append(str(err))
        timings["pdf"] = round(time.perf_counter() - t, 2)

    seconds = round(time.perf_counter() - t0, 2)
    timings["total"] = seconds
    timings["stages"] = {NOTEBOOK_NAMES[s]: results[s]["seconds"] for s in chosen}
    timings["pages"] = {NOTEBOOK_NAMES[s]: results[s].get("render_seconds") for s in chosen}
    manifest = {
        "run_id": rid,
        "client": p.client,
        "client_name": p.display_name,
        "started": started_at.isoformat(timespec="seconds"),
        "finished": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "params_file": str(params_path),
        "params": p.model_dump(mode="json"),
        "stages": [{**{k: results[s].get(k) for k in ("stage", "notebook", "status", "seconds", "cell", "error")},
                    "page": page_of[s], "score": st["score"]} for s, st in zip(chosen, index_stages)],
        "failed_stages": failed,
        "timings": timings,
        "jobs": jobs,
        "rows": _rows(prepared),
        "inputs": prepared.to_dict(),
        "versions": versions,
        "findings": len(findings),
    }
    _write_json(run_dir / "manifest.json", manifest)
    privacy.scrub_run_folder(run_dir, secrets, ids)   # the manifest too
    return RunResult(run_dir=run_dir, index=index, failed=failed, findings=findings, seconds=seconds,
                     single_file=single_path, pdf=pdf_path, export_errors=export_errors)


def _execute_all(pool, queue, order, chosen, nb_dir, run_dir, params_path, tables_dir, findings_dir,
                 start_timeout, execution_timeout, console, finished) -> dict[str, dict[str, Any]]:
    """Submit the stage notebooks in `order`, follow them until all are done, call finished(result) for each."""
    import queue as queue_mod

    names = [NOTEBOOK_NAMES[s] for s in chosen]   # displayed in lifecycle order
    stage_of = {NOTEBOOK_NAMES[s]: s for s in chosen}
    futures: dict[Future, str] = {}
    for s in order:
        name = NOTEBOOK_NAMES[s]
        job = {
            "stage": s, "name": name,
            "input": str(nb_dir / f"{name}.ipynb"),
            "output": str(run_dir / "notebooks" / f"{name}.ipynb"),
            "log": str(run_dir / "logs" / f"{name}.log"),
            "cwd": str(paths.ROOT),
            # nbclient takes whole seconds
            "start_timeout": max(1, math.ceil(start_timeout)), "execution_timeout": max(1, math.ceil(execution_timeout)),
            "parameters": {"params_file": str(params_path), "tables_dir": str(tables_dir),
                           "findings_dir": str(findings_dir)},
        }
        futures[pool.submit(execute_stage, job)] = name
    results: dict[str, dict[str, Any]] = {}
    with _Progress(names, console) as prog:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            while True:
                try:
                    name, state, at = queue.get_nowait()
                except (queue_mod.Empty, OSError, ValueError):
                    break
                if prog.state.get(name) == "queued":
                    prog.set(name, state, at=at)
            for fut in done:
                name = futures[fut]
                try:
                    r = fut.result()
                except Exception as err:  # the worker process itself died
                    r = {"stage": stage_of[name], "notebook": name, "status": "failed", "cell": None,
                         "cell_index": None, "error": f"{type(err).__name__}: {err}", "seconds": None}
                results[stage_of[name]] = r
                prog.set(name, r["status"], seconds=r.get("seconds"))
                finished(r)  # renders the page; a rendering failure turns the stage into a failed one
                if prog.state[name] != r["status"]:
                    prog.set(name, r["status"])
            prog.refresh()
    return results
