"""The `lifecycle-audit` command: run an audit, validate a client's files, list the checks, generate a demo shop.

Each command imports the library parts it needs when it runs (marked "fast start"): pandas, ibis and
papermill take seconds to import, and `lifecycle-audit --help` should not wait for them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.table import Table

from . import paths, stages
from .errors import AuditError, ParamsError, SourceError

app = typer.Typer(
    help="Audit an online shop's customer lifecycle from its data exports and render an HTML report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ParamsArg = Annotated[str, typer.Argument(help="the params file, relative to the project root or absolute")]


def _console(stderr: bool = False):
    # Not a terminal (CI, pipes, tests): do not wrap check ids or file names at 80 columns.
    probe = Console(stderr=stderr)
    return Console(stderr=stderr, width=None if probe.is_terminal else 200, highlight=False, soft_wrap=False)


def _fail(message: str, code: int) -> None:
    """Print a clean message (no traceback) to stderr and exit with `code`."""
    err = _console(stderr=True)
    for line in str(message).splitlines() or [""]:
        err.print(line, markup=False, soft_wrap=True)
    raise typer.Exit(code)


_STATE = {"debug": False}


@app.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="show the traceback of an unexpected error instead of logging it")
    ] = False,
) -> None:
    """Audit an online shop's customer lifecycle from its data exports and render an HTML report."""
    _STATE["debug"] = debug


def _traceback_log(command: str) -> Path:
    """Write the current exception's traceback to .cache/logs/ and return the file."""
    folder = paths.CACHE / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    log.write_text(traceback.format_exc(), encoding="utf-8")
    return log


def _guarded(command):
    """A command that answers an unexpected error with one line (the traceback in a log, or shown with --debug)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.ClickException, KeyboardInterrupt):
            raise
        except AuditError as err:
            _fail(str(err), 2)
        except Exception as err:
            if _STATE["debug"]:
                raise
            try:
                where = f"the traceback is in {_traceback_log(command.__name__)}"
            except OSError:
                where = "the traceback could not be logged"
            first = (str(err).splitlines() or [""])[0][:200]
            _fail(
                f"lifecycle-audit {command.__name__} stopped on an unexpected error ({type(err).__name__}: {first}); "
                f"{where}; rerun with --debug to see it here, and please report it",
                1,
            )

    return wrapper


def _prepared_before(params) -> bool:
    """Whether the client's canonical tables were prepared before (a folder of them holds its accounting)."""
    try:
        return any((folder / "accounting.json").is_file() for folder in params.tables_path.iterdir())
    except OSError:
        return False


def _problems(err: SourceError) -> str:
    problems = getattr(err, "problems", None) or []
    lines = [str(p) for p in problems] or [str(err)]
    return "\n".join(["the client's data does not meet the contract:"] + [f"  {line}" for line in lines])


@app.command()
@_guarded
def run(
    params: ParamsArg = "params/demo.yaml",
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="stage notebooks run at a time")] = 2,
    stage: Annotated[
        list[str] | None, typer.Option("--stage", "-s", help="run only this stage (repeatable), e.g. conversion")
    ] = None,
    run_id: Annotated[str | None, typer.Option(help="name of the run folder (default: date and time)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress display")] = False,
    notebooks: Annotated[
        str | None, typer.Option(help="folder of stage notebooks to use instead of the project's notebooks/")
    ] = None,
    single_file: Annotated[
        bool, typer.Option("--single-file", help="also write report.html: index and every stage page in one file")
    ] = False,
    pdf: Annotated[bool, typer.Option("--pdf", help="also write report.pdf (needs Chromium)")] = False,
    compare_with: Annotated[
        str | None,
        typer.Option(
            "--compare", help="the run (id or folder) the index compares with; default: the client's previous run"
        ),
    ] = None,
) -> None:
    """Run the audit and print the path of the report's index.html (last line)."""
    from . import params as params_mod  # noqa: PLC0415 - fast start
    from .kernels import pool  # noqa: PLC0415 - fast start

    try:
        # A missing or broken params file is said at once, before any worker starts (the run reads it again).
        loaded = params_mod.load(paths.resolve(params))
        # The stage workers start next: their own imports then overlap the runner's (about 1 s); the run takes
        # them when it uses as many (one per stage at most) and stops them whatever happens.
        workers = pool.start_workers(max(1, min(jobs, len(set(stage or stages.STAGES)))))
        if _prepared_before(loaded):
            # Data prepared for this client before most likely passes again: the kernels start now, while the
            # runner is imported and the tables are found, rather than once the data is known to be fit. A run the
            # data stops ends its workers and their kernels at once (runner._stop_workers).
            pool.warm_kernels(workers.pool, workers.jobs, str(paths.ROOT), pool.KERNEL_START_SECONDS)
        from . import runner  # noqa: PLC0415 - fast start

        result = runner.run(
            params,
            jobs=jobs,
            stages=stage or None,
            run_id=run_id,
            progress=not quiet,
            notebooks_dir=notebooks,
            single_file=single_file,
            pdf=pdf,
            compare_with=compare_with,
            workers=workers,
        )
    except SourceError as err:
        _fail(_problems(err), 2)
    except AuditError as err:  # the params file, an unknown stage, a run folder that exists: nothing ran
        _fail(str(err), 2)
    err_console = _console(stderr=True)
    for f in result.failed:
        where = f" at cell {f['cell']}" if f.get("cell") is not None else ""
        err_console.print(f"stage {f['notebook']} failed{where}: {f['error']}", markup=False, soft_wrap=True)
    for message in result.export_errors:
        err_console.print(message, markup=False, soft_wrap=True)
    for f in result.findings:
        if f.get("status") == "error":  # the report says so in plain words; the consultant gets the log
            log = result.run_dir / "logs" / f"{stages.NOTEBOOKS.get(f.get('stage'), f.get('stage'))}.log"
            err_console.print(
                f"check {f['check_id']} stopped on an error ({(f.get('details') or {}).get('exception', 'unknown')}); "
                f"the traceback is in {log}",
                markup=False,
                soft_wrap=True,
            )
    if not quiet:
        err_console.print(
            f"{len(result.findings):,} {'finding' if len(result.findings) == 1 else 'findings'} in "
            f"{result.seconds:.1f} s; report in {result.run_dir}",
            markup=False,
            soft_wrap=True,
        )
        for extra in (result.single_file, result.pdf):
            if extra is not None:
                err_console.print(f"  {extra.name}: {extra}", markup=False, soft_wrap=True)
    typer.echo(str(result.index.resolve()))
    if result.failed or result.export_errors:
        raise typer.Exit(1)


def _date_range(load) -> str:
    lo, hi = getattr(load, "date_min", None), getattr(load, "date_max", None)
    if lo is None and hi is None:
        return ""
    fmt = lambda v: str(v.date() if hasattr(v, "date") and callable(v.date) else v)[:10] if v is not None else "?"  # noqa: E731
    return f"{fmt(lo)} – {fmt(hi)}"


@app.command()
@_guarded
def validate(params: ParamsArg = "params/demo.yaml") -> None:
    """Rehearse `run` on the client's files: what would stop the audit, what would only be noted.

    Exit codes: 0 the run would go ahead (rejected rows within the share allowed are noted), 1 the data would
    stop the run, 2 the params file is wrong. The decision is the one `run` makes (sources.judge).
    """
    from . import findings, sources  # noqa: PLC0415 - fast start
    from . import params as params_mod  # noqa: PLC0415 - fast start

    try:
        p = params_mod.load(params)
        findings.check_thresholds(p)
    except ParamsError as err:
        _fail(str(err), 2)
    try:
        prepared, verdict = sources.rehearse(p)
    except SourceError as err:
        _fail(_problems(err), 1)
    except AuditError as err:
        _fail(str(err), 2)
    out = _console()
    out.print(_inputs_table(p, prepared))
    out.print(_tables_table(prepared))
    _print_verdict(out, verdict)
    if not verdict.go:
        raise typer.Exit(1)


def _inputs_table(p, prepared) -> Table:
    """Per input file as supplied (a preset's raw export, not only the tables built from it): rows in = used +
    excluded by a rule + rejected as bad data, as the data-health page shows them."""
    table = Table(title=f"{p.display_name}: files in {p.data_path}", title_justify="left")
    for col, justify in (
        ("source", "left"),
        ("file", "left"),
        ("tables", "left"),
        ("rows in", "right"),
        ("used", "right"),
        ("excluded", "right"),
        ("rejected", "right"),
    ):
        table.add_column(col, justify=justify, overflow="fold")
    for i in prepared.inputs:
        source = f"{i.source} ({i.preset})" if i.preset else i.source
        table.add_row(
            source,
            Path(str(i.file)).name,
            ", ".join(i.tables),
            f"{i.rows_in:,}",
            f"{i.rows_used:,}",
            f"{i.rows_excluded:,}",
            f"{i.rows_rejected:,}",
        )
    return table


def _tables_table(prepared) -> Table:
    """Per contract table built: rows, used, rejected per reason, dates."""
    table = Table(title="contract tables", title_justify="left")
    for col, justify in (
        ("table", "left"),
        ("file", "left"),
        ("rows in", "right"),
        ("used", "right"),
        ("rejected", "left"),
        ("dates", "left"),
    ):
        table.add_column(col, justify=justify, overflow="fold")
    for name, load in prepared.loads.items():
        rejected = "; ".join(f"{reason}: {n:,}" for reason, n in load.rejected.items() if n) or "none"
        table.add_row(
            name, Path(str(load.file)).name, f"{load.rows_in:,}", f"{load.rows_used:,}", rejected, _date_range(load)
        )
    return table


def _print_verdict(out, verdict) -> None:
    """What would stop the run, what would only be noted, and the decision in one line."""
    from .sources.messages import plural  # noqa: PLC0415 - fast start

    if verdict.stops:
        out.print(f"would stop the run ({plural(len(verdict.stops), 'problem')}):", style="bold red")
        for prob in verdict.stops:
            out.print(f"  {prob}", markup=False, soft_wrap=True)
    if verdict.noted:
        out.print(
            f"noted, within the share allowed ({plural(len(verdict.noted), 'problem')}; those rows are left out):",
            style="yellow",
        )
        for prob in verdict.noted:
            out.print(f"  {prob}", markup=False, soft_wrap=True)
    if not verdict.stops and not verdict.noted:
        out.print("no problems found: `lifecycle-audit run` would go ahead", style="green")
    elif verdict.go:
        out.print("`lifecycle-audit run` would go ahead", style="green")
    else:
        out.print("`lifecycle-audit run` would stop (exit 1): fix the problems above first", style="bold red")


@app.command()
@_guarded
def checks() -> None:
    """List the checks: stage, id, title and the tables each needs."""
    from . import checks as checks_mod  # noqa: PLC0415 - fast start

    specs = checks_mod.specs()
    table = Table(title="The checks", title_justify="left")
    for col in ("stage", "id", "title", "needs"):
        table.add_column(col, no_wrap=col == "id", overflow="fold")
    for spec in specs:
        table.add_row(spec.stage, spec.id, spec.title, ", ".join(spec.needs))
    out = _console()
    out.print(table)
    out.print(f"{len(specs)} checks in {len({s.stage for s in specs})} stages")


@app.command()
@_guarded
def generate(
    customers: Annotated[int, typer.Option(min=200, help="number of customers")] = 5000,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same shop")] = 7,
    profile: Annotated[str, typer.Option(help="planted (mistakes planted on purpose) or healthy")] = "planted",
    mistake: Annotated[
        list[str] | None,
        typer.Option("--mistake", "-m", help="plant only this mistake (repeatable); default: all of the profile"),
    ] = None,
    out: Annotated[str, typer.Option(help="folder to write the shop to, relative to the project root")] = "data/demo",
    fix: Annotated[
        str | None,
        typer.Option(help="leave out these planted mistakes, as if the shop had fixed them: MISTAKE[,MISTAKE]"),
    ] = None,
) -> None:
    """Generate a demo shop (all tables of the data contract) into a folder."""
    from . import synth  # noqa: PLC0415 - fast start

    if profile not in ("planted", "healthy"):
        _fail(f"--profile must be planted or healthy, not {profile!r}", 2)
    folder = paths.resolve(out)
    started = time.perf_counter()
    try:
        chosen = synth.mistakes.fixed(profile, mistake or None, _names(fix))
        # chunk by chunk into the files: the memory needed does not grow with the shop (synth.CHUNK)
        rows = synth.write_generated(folder, customers=customers, seed=seed, profile=profile, mistakes=chosen)
    except AuditError as err:
        _fail(str(err), 2)
    except ValueError as err:  # e.g. an unknown mistake name
        _fail(str(err), 2)
    seconds = time.perf_counter() - started
    console = _console()
    for name, n in rows.items():
        console.print(f"{name:<12} {n:>10,} rows")
    console.print(f"wrote {folder} in {seconds:.1f} s")


def _names(given: str | None) -> list[str] | None:
    """ "a,b" -> ["a", "b"]; nothing -> None."""
    names = [n.strip() for n in (given or "").split(",") if n.strip()]
    return names or None


@app.command(name="compare")
def compare_runs(
    run_a: Annotated[str, typer.Argument(help="the earlier run: a run folder, or a run id under --reports")],
    run_b: Annotated[str, typer.Argument(help="the later run: a run folder, or a run id under --reports")],
    fail_on: Annotated[
        str, typer.Option(help="exit 1 when a check regressed (regressed) or fails in RUN_B (failed)")
    ] = "regressed",
    reports: Annotated[str, typer.Option(help="the reports folder run ids are looked up in")] = "reports",
    locale: Annotated[str | None, typer.Option(help="en, de or id (default: RUN_B's)")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="also list the checks whose status did not change")] = False,
    html: Annotated[str | None, typer.Option(help="also write the comparison as an HTML page to this file")] = None,
) -> None:
    """What changed from RUN_A to RUN_B, per stage and per check; exits 1 when a check regressed (--fail-on)."""
    from . import compare as compare_mod  # noqa: PLC0415 - fast start
    from . import lang  # noqa: PLC0415 - fast start
    from .report import comparison  # noqa: PLC0415 - fast start

    if fail_on not in compare_mod.FAIL_ON:
        _fail(f"--fail-on must be one of {', '.join(compare_mod.FAIL_ON)}, not {fail_on!r}", 2)
    try:
        base = paths.resolve(reports)
        then = compare_mod.load_run(compare_mod.find_run(run_a, base))
        now = compare_mod.load_run(compare_mod.find_run(run_b, base))
        chosen = lang.checked(locale or now.locale or "en")
    except AuditError as err:
        _fail(str(err), 2)
    except ValueError as err:  # an unknown locale
        _fail(str(err), 2)
    result = compare_mod.compare(then, now)
    with lang.use(chosen, now.currency or then.currency or "EUR"):
        _print_comparison(comparison, result, show_all)
        if html:
            target = paths.resolve(html)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(comparison.page_html(result), encoding="utf-8")
            _console().print(target, markup=False)
    raise typer.Exit(result.exit_code(fail_on))


def _print_comparison(comparison, result, show_all: bool) -> None:
    """The comparison as the terminal shows it: the runs, the notes, the stage scores, the changed checks."""
    from .i18n import gettext as _  # noqa: PLC0415 - fast start

    v, stakes = comparison.view(result), comparison.stake_line(result)
    out = _console()
    out.print(f"{_('Then')}: {_('run {id}').format(id=v.then_id)} · {v.then_when} · {v.then_period}", markup=False)
    out.print(f"{_('Now')}: {_('run {id}').format(id=v.now_id)} · {v.now_when} · {v.now_period}", markup=False)
    for line in (v.overlap, stakes, *v.notes):
        out.print(line, markup=False, soft_wrap=True)
    stages = Table(title=_("Score per stage"), title_justify="left")
    for col in (_("Stage"), _("Score then"), _("Score now"), _("Change")):
        stages.add_column(col, justify="left" if col == _("Stage") else "right")
    for s in v.stages:
        stages.add_row(s["stage"], s["then"], s["now"], s["delta"])
    out.print(stages)
    rows = v.changed + (v.unchanged if show_all else [])
    if rows:
        checks = Table(title=_("Checks"), title_justify="left")
        why = any(r.why for r in rows)  # the last column, shown only when a row has a reason or a note
        for col in comparison.TERMINAL_COLUMNS[: None if why else -1]:
            right = col.startswith(("Value", "Change in"))
            checks.add_column(_(col), justify="right" if right else "left", overflow="fold")
        for r in rows:
            style = {"regressed": "bold red", "fixed": "green", "improved": "green"}.get(r.change)
            checks.add_row(
                f"{r.symbol} {r.change_word}",
                r.stage,
                r.check_id,
                r.status_then_word,
                r.status_now_word,
                r.value_then,
                r.value_now,
                r.value_delta,
                r.stake_delta,
                *([r.why] if why else []),
                style=style,
            )
        out.print(checks)
    else:
        out.print(_("No check changed its status."), markup=False)
    out.print(v.counts, markup=False)


@app.command()
@_guarded
def init(
    client: Annotated[str, typer.Argument(help="the client's short name (lower case), e.g. acme")],
    from_dir: Annotated[str, typer.Option("--from", help="folder of the client's exports")] = "",
    force: Annotated[bool, typer.Option(help="overwrite an existing params file")] = False,
) -> None:
    """Look at the exports in a folder, recognise presets, write params/CLIENT.yaml to finish (DECIDE marks)."""
    from .sources.presets import detect  # noqa: PLC0415 - fast start

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", client):
        _fail(f"client {client!r}: use lower-case letters, digits, - and _ (it names folders)", 2)
    folder = paths.resolve(from_dir or f"data/{client}")
    if not folder.is_dir():
        _fail(f"--from {folder}: not a folder; give the folder holding the client's exports", 2)
    target = paths.PARAMS / f"{client}.yaml"
    if target.exists() and not force:
        _fail(f"{target} exists; pass --force to overwrite it", 2)
    try:
        data_dir = str(folder.relative_to(paths.ROOT))
    except ValueError:
        data_dir = str(folder)
    text, summary = detect.write_params(client, folder, data_dir)
    target.write_text(text, encoding="utf-8")
    out = _console()
    for line in summary:
        out.print(f"  {line}", markup=False)
    out.print(f"wrote {target}; finish the lines marked DECIDE, then: lifecycle-audit validate {target}", markup=False)


def main() -> None:
    """The `lifecycle-audit` command and `python -m lifecycle_audit`: the command's exit code, then a quick exit.

    A run leaves pandas, matplotlib, Ibis and DuckDB loaded, and the interpreter's own teardown frees their
    objects one by one before the process ends: 0.3-0.9 s (more on a busy machine) of waiting after the report's
    path is printed, for nothing the user sees. Once the command is done, the exit handlers run (temporary
    folders removed, multiprocessing's finalizers, anything registered with atexit) and the process ends without
    that teardown. Tests call `app` through Typer's runner, never this."""
    code: int | str | None = 0
    try:
        app()
    except AuditError as err:
        print(str(err), file=sys.stderr)
        code = 2
    except SystemExit as done:  # click ends every command this way, with its exit code
        code = done.code
    if not isinstance(code, int):  # sys.exit("message") prints the message and exits with 1
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    quick_exit(code)


def quick_exit(code: int) -> None:
    """End the process with `code` after flushing the output and running the exit handlers, skipping the
    interpreter's module teardown (see main)."""
    import atexit  # noqa: PLC0415 - only here
    import threading  # noqa: PLC0415

    for thread in threading.enumerate():  # as the interpreter does: its threads that are not daemons finish first
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # undocumented, but exactly what the interpreter's own exit runs
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe (`| head`): nothing more can be said
            stream.flush()
    os._exit(code)
