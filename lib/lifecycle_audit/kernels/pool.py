"""The process pool that executes stage notebooks: what a worker does, and how the run follows its workers.

A worker process executes one notebook at a time with papermill (execute_stage) in the kernel it keeps for the
stages it executes in turn (kernel.Kernel: started once, made fresh before each stage, replaced when a stage
killed it or timed out); a failing cell is recorded, never raised. execute_all submits the jobs and follows them
with the live progress table. Workers are spawned clean and import this package and papermill only, so this
module imports nothing heavy at the top.
"""

from __future__ import annotations

import atexit
import ctypes
import multiprocessing as mp
import os
import queue as queue_mod
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import nbformat

from ..paths import ROOT, RUN_LOG_ENV
from .kernel import KERNEL, Kernel
from .progress import Progress

# What every kernel prints on start; it says nothing about the run (the kernel listens on localhost only).
_KERNEL_NOISE = ("Kernel is running over TCP without encryption",)

# The folder holding the lifecycle_audit package: the kernels import the same library from it.
LIB_DIR = Path(__file__).resolve().parent.parent.parent

_QUEUE = None
# The kernel this worker keeps between stages (None before the first and after one that could not be trusted).
_KERNEL: Kernel | None = None


def die_with_parent(parent: int) -> None:
    """Have the kernel end this process when its parent dies (Linux: PR_SET_PDEATHSIG); without it a run killed
    with SIGKILL left its idle workers behind. The kernels a worker starts follow their own parent (ipykernel's
    parent poller), so they end with it."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - not glibc/musl: the parent's shutdown still ends us
            return
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def _worker_init(queue, lib_dir: str, root: str, parent: int | None = None) -> None:
    """Set up a worker: the kernels it starts import this same library; papermill is imported once, here."""
    global _QUEUE
    if parent is not None:
        die_with_parent(parent)
    _QUEUE = queue
    pythonpath = os.environ.get("PYTHONPATH", "")
    installed = Path(lib_dir).name in ("site-packages", "dist-packages")  # the kernel finds it there anyway
    if not installed and lib_dir not in pythonpath.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (lib_dir, pythonpath) if p)
    os.environ["LIFECYCLE_AUDIT_ROOT"] = root
    # Plots must land in the executed notebook, whatever backend the caller's environment names.
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugger warning in every kernel
    atexit.register(_drop_kernel)  # the pool shuts down: its kernels go with it
    import papermill  # noqa: F401, PLC0415 - the slow import (about 2 s), paid once per worker, never by the parent


def _warm() -> None:
    """A no-op task: submitting one per worker starts the workers (and their imports) early."""


def warm_kernel(cwd: str, timeout: float) -> str | None:
    """A task that starts this worker's kernel (and its imports) ahead of its first stage; the kernel's id, or
    None when it did not start (the first stage then starts one and reports why)."""
    global _KERNEL
    if _KERNEL is None:
        try:
            _KERNEL = Kernel.start(cwd, timeout)
        except Exception:  # noqa: BLE001 - said by the first stage, which tries again
            return None
    return _KERNEL.id


KERNEL_START_SECONDS = 120  # how long a kernel may take to start (runner.run's start_timeout by default)


def warm_kernels(pool: ProcessPoolExecutor, jobs: int, cwd: str, timeout: float) -> None:
    """Have each of the pool's `jobs` workers start its kernel now, before the stages are submitted (a worker
    that has one keeps it).

    The runner calls this once the data is known to be fit, the command earlier for a client whose data was
    prepared before: a run the data stops ends its workers at once (Workers.stop(unused=True)) rather than wait
    for kernels it does not use."""
    for _ in range(jobs):
        pool.submit(warm_kernel, cwd, timeout)


class Workers(NamedTuple):
    """A started pool of `jobs` workers and the queue they report on."""

    pool: ProcessPoolExecutor
    queue: Any
    jobs: int

    def stop(self, unused: bool = False) -> None:
        """Wait for the work handed out to finish (the rest is cancelled), end the workers, close the queue.
        unused: nothing was handed out (the run stopped before its first step); the workers are ended at once
        rather than waited for through their imports (1-4 s for a misspelt params file)."""
        if unused:
            # ProcessPoolExecutor has no public way to end its workers before Python 3.14 (terminate_workers)
            for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.queue.close()


def start_workers(jobs: int) -> Workers:
    """A pool of `jobs` workers for the library as installed or checked out here (the command starts it before
    importing the runner: the workers' own imports then overlap the runner's, about 1 s)."""
    return Workers(*start(jobs, str(LIB_DIR), str(ROOT)), jobs)


def start(jobs: int, lib_dir: str, root: str) -> tuple[ProcessPoolExecutor, Any]:
    """A pool of `jobs` spawned workers, already starting, and the queue they report "running" on."""
    # spawn: the workers start clean (no copy of DuckDB's threads or a live display), and import
    # nothing but this package and papermill.
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=ctx, initializer=_worker_init, initargs=(queue, lib_dir, root, os.getpid())
    )
    for _ in range(jobs):
        pool.submit(_warm)
    return pool, queue


def _stopped_at(path: Path) -> tuple[int | None, int | None]:
    """(execution count, index) of the last cell that started: where a timeout or a dying kernel stopped the run."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - a half-written notebook says nothing about where it stopped
        return None, None
    started = [i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("papermill", {}).get("start_time")]
    if not started:
        return None, None
    i = started[-1]
    return nb.cells[i].get("execution_count"), i


def scrub_parameters(path: str | os.PathLike) -> None:
    """Remove the injected parameters from an executed notebook: the metadata copy and the injected cell's source."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.get("papermill", {}).pop("parameters", None)
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = "# Parameters injected by the runner (not kept in this copy)."
            cell.outputs = []
    nbformat.write(nb, path)


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
    saved = send_output(log)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, was in zip((1, 2), saved, strict=True):
            os.dup2(was, fd)
            os.close(was)
    _tidy_log(log)


def send_output(log: str | os.PathLike) -> tuple[int, int]:
    """Append this process's standard output and error to `log`: the file descriptors, so that a process started
    from here (a kernel, a JVM) writes there too. Returns the descriptors they were, to put back. Also the
    initializer of the process that stores the derived tables on Spark (runner), whose JVM logs to the console."""
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
    return saved


def _tidy_log(log: Path) -> None:
    """Drop the lines every kernel prints from `log`; remove it when nothing else is left."""
    lines = [
        line
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.strip() and not any(noise in line for noise in _KERNEL_NOISE)
    ]
    if lines:
        log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        log.unlink()


def _failure_text(err: Exception) -> str:
    """ "TimeoutError: first line of the message" (or the type alone when there is no message)."""
    message = str(err).strip()
    return f"{type(err).__name__}: {message.splitlines()[0] if message else ''}".rstrip(": ")


# A kernel picks its ports before it binds them, so two kernels starting at once on one machine can pick the same
# port and one dies before it answers ("Address already in use"; jupyter_client's ports are chosen that way).
# Nothing has run then: the stage is started again, up to this many times in all.
START_ATTEMPTS = 3


def _died_at_start(err: Exception, output: Path) -> bool:
    """Whether the kernel died before it answered, so that no cell ran and starting again loses nothing."""
    return "Kernel died before replying to kernel_info" in str(err) and (
        not output.exists() or _stopped_at(output) == (None, None)
    )


def _drop_kernel() -> None:
    """Stop this worker's kernel (it is not reused), moving what it printed into the current stage's log."""
    global _KERNEL
    if _KERNEL is not None:
        kernel, _KERNEL = _KERNEL, None
        _move_output(kernel)
        kernel.stop()


def _move_output(kernel: Kernel | None) -> None:
    """What the kernel printed since the last stage, to the stage's log."""
    if kernel is not None and (data := kernel.output()):
        _to_log(data)


def _to_log(data: bytes) -> None:
    """To this process's stdout, which _redirected points at the stage's log while a stage runs."""
    os.write(1, data)


def _kernel_for(job: dict[str, Any]) -> Kernel:
    """This worker's kernel, started if there is none, made fresh for the job's stage."""
    global _KERNEL
    if _KERNEL is not None and not _KERNEL.alive():
        _drop_kernel()
    if _KERNEL is None:
        _KERNEL = Kernel.start(job["cwd"], job["start_timeout"], said=_to_log)
    _KERNEL.freshen(job["cwd"], RUN_LOG_ENV, job.get("log"), job["start_timeout"])
    return _KERNEL


def _execute(pm, job: dict[str, Any], output: Path) -> None:
    """Execute the job's notebook in this worker's kernel. A cell that raised leaves the kernel fit for the next
    stage; any other failure (it died, a cell timed out, it could not be made fresh) stops it."""
    from papermill.exceptions import PapermillExecutionError  # noqa: PLC0415 - workers only

    try:
        kernel = _kernel_for(job)
        pm.execute_notebook(
            job["input"],
            str(output),
            parameters=job["parameters"],
            kernel_name=KERNEL,
            start_timeout=job["start_timeout"],
            execution_timeout=job["execution_timeout"],
            cwd=job["cwd"],
            progress_bar=False,
            log_output=False,
            km=kernel.km,  # ours: nbclient neither starts nor stops it
        )
    except PapermillExecutionError:
        raise
    except BaseException:
        _drop_kernel()
        raise


def execute_stage(job: dict[str, Any]) -> dict[str, Any]:
    """Execute one stage notebook with papermill; a failing cell is recorded, not raised."""
    import papermill as pm  # noqa: PLC0415 - workers only (about 2 s to import)
    from papermill.exceptions import PapermillExecutionError  # noqa: PLC0415 - workers only

    name, output = job["name"], Path(job["output"])
    if _QUEUE is not None:
        _QUEUE.put((name, "running", time.time()))
    started = time.perf_counter()
    result: dict[str, Any] = {
        "stage": job["stage"],
        "notebook": name,
        "status": "done",
        "cell": None,
        "cell_index": None,
        "error": None,
        "kernel": None,
    }
    log = Path(job["log"]) if job.get("log") else None
    try:
        with _redirected(log):
            try:
                for attempt in range(1, START_ATTEMPTS + 1):
                    try:
                        _execute(pm, job, output)
                        break
                    except RuntimeError as err:
                        if attempt == START_ATTEMPTS or not _died_at_start(err, output):
                            raise
                        # To the descriptor, which _redirected points at the stage's log (sys.stderr may be wrapped).
                        msg = f"the kernel died while starting ({_failure_text(err)}); starting it again\n"
                        os.write(2, msg.encode())
            finally:
                result["kernel"] = _KERNEL.id if _KERNEL is not None else None
                _move_output(_KERNEL)
    except PapermillExecutionError as err:
        result.update(
            status="failed",
            cell=err.exec_count if err.exec_count is not None else err.cell_index,
            cell_index=err.cell_index,
            error=f"{err.ename}: {err.evalue}",
        )
    except Exception as err:  # noqa: BLE001 - kernel did not start, a cell timed out, the kernel died, ...
        count, index = _stopped_at(output) if output.exists() else (None, None)
        result.update(
            status="failed", cell=count if count is not None else index, cell_index=index, error=_failure_text(err)
        )
    result["seconds"] = round(time.perf_counter() - started, 2)
    if output.exists():
        try:
            scrub_parameters(output)
        except Exception as err:  # noqa: BLE001 # pragma: no cover - a notebook papermill wrote is readable
            result.update(status="failed", error=f"could not scrub parameters: {err}")
    return result


# --------------------------------------------------------------------------------------------
# The parent's side: submit the jobs, follow them.


def _died(job: dict[str, Any], err: Exception) -> dict[str, Any]:
    """The result of a job whose worker process itself died."""
    return {
        "stage": job["stage"],
        "notebook": job["name"],
        "status": "failed",
        "cell": None,
        "cell_index": None,
        "error": f"{type(err).__name__}: {err}",
        "seconds": None,
    }


def _note_running(queue, prog: Progress) -> None:
    """Mark the stages the workers said they started."""
    while True:
        try:
            name, state, at = queue.get_nowait()
        except (queue_mod.Empty, OSError, ValueError):
            return
        if prog.state.get(name) == "queued":
            prog.set(name, state, at=at)


def execute_all(
    pool: ProcessPoolExecutor,
    queue,
    jobs: list[dict[str, Any]],
    names: list[str],
    console,
    finished: Callable[[dict[str, Any]], None],
) -> dict[str, dict[str, Any]]:
    """Submit `jobs` in their order, follow them until all are done, call finished(result) for each.

    names: the notebooks as the progress table lists them (lifecycle order). Returns {stage: result}.
    """
    futures: dict[Future, dict[str, Any]] = {pool.submit(execute_stage, job): job for job in jobs}
    results: dict[str, dict[str, Any]] = {}
    with Progress(names, console) as prog:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            _note_running(queue, prog)
            for fut in done:
                job = futures[fut]
                try:
                    r = fut.result()
                except Exception as err:  # noqa: BLE001 - the worker process itself died
                    r = _died(job, err)
                results[job["stage"]] = r
                prog.set(job["name"], r["status"], seconds=r.get("seconds"))
                finished(r)  # renders the page; a rendering failure turns the stage into a failed one
                if prog.state[job["name"]] != r["status"]:
                    prog.set(job["name"], r["status"])
            prog.refresh()
    return results
