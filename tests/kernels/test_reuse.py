"""A worker keeps one kernel for the stages it executes in turn: each stage finds it as a new kernel would be, a
stage that kills its kernel or times out fails alone, and the next stage gets a new kernel."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from lifecycle_audit import paths
from lifecycle_audit.kernels import pool
from tests.kit.small_runs import notebook

# What a stage sees when it starts, as one JSON line, then what it leaves behind for the next stage to find: a
# variable, a module's attribute, a pyplot figure, an environment variable, another working directory, and garbage
# in a reference cycle (collected before the kernel freezes what survives: gc.freeze).
LOOK = """
import gc, json, os, sys
import lifecycle_audit.workbook as wb
plt = sys.modules.get("matplotlib.pyplot")
print(json.dumps({
    "garbage": [ref() is not None for ref in getattr(sys, "_left_over_refs", [])],
    "frozen": gc.get_freeze_count() > 0,
    "count": get_ipython().execution_count,
    "variable": "left_over" in globals(),
    "module": getattr(wb, "LEFT_OVER", None),
    "figures": len(plt.get_fignums()) if plt else 0,
    "env": os.environ.get("LEFT_OVER"),
    "cwd": os.getcwd(),
    "log": os.environ.get("LIFECYCLE_AUDIT_LOG"),
}))
"""
LEAVE = """
left_over = 1
import weakref
class Cycle: pass
garbage = Cycle()
garbage.me = garbage  # freed only by a collection
sys._left_over_refs = [weakref.ref(garbage)]
wb.LEFT_OVER = 1
import matplotlib.pyplot as plt
plt.figure()
os.environ["LEFT_OVER"] = "1"
os.chdir("/")
os.write(2, ("said by " + STAGE + "\\n").encode())
"""


def _jobs(tmp_path: Path, cells: dict[str, list[str]], timeouts: dict[str, int] | None = None) -> list[dict]:
    """One job per stage name, in order, each a notebook of the given cells after LOOK; a cell may take 60 s
    unless `timeouts` gives the stage another limit."""
    (tmp_path / "work").mkdir(exist_ok=True)
    jobs = []
    for name, extra in cells.items():
        nb = notebook(f"STAGE = {name!r}", LOOK, *extra)
        nbformat.write(nb, tmp_path / f"{name}.in.ipynb")
        jobs.append(
            {
                "stage": name,
                "name": name,
                "input": str(tmp_path / f"{name}.in.ipynb"),
                "output": str(tmp_path / f"{name}.ipynb"),
                "log": str(tmp_path / "logs" / f"{name}.log"),
                "cwd": str(tmp_path / "work"),
                "start_timeout": 60,
                "execution_timeout": (timeouts or {}).get(name, 60),
                "parameters": {"params_file": "x"},
            }
        )
    return jobs


def _run(jobs: list[dict], workers: int) -> dict[str, dict]:
    """The jobs through a pool of `workers`, their kernels warmed first as a run warms them."""
    w = pool.start_workers(workers)
    try:
        pool.warm_kernels(w.pool, workers, str(paths.ROOT), 60)
        return pool.execute_all(w.pool, w.queue, jobs, [j["name"] for j in jobs], None, lambda r: None)
    finally:
        w.stop()


def _seen(tmp_path: Path, name: str) -> dict:
    """What the stage's LOOK cell printed."""
    nb = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
    look = next(c for c in nb.cells if c.cell_type == "code" and c.source == LOOK)
    return json.loads("".join(o["text"] for o in look.outputs if o.get("name") == "stdout"))


@pytest.mark.e2e
def test_a_kept_kernel_is_new_to_every_stage_and_one_that_died_or_timed_out_is_replaced(tmp_path):
    """One worker, six stages: the first two share a kernel and each finds it new; a stage that kills its kernel
    or times out fails alone, and the stage after it passes in a new kernel. One run for all of it (each kernel
    takes seconds to start)."""
    cells = {
        "first": [LEAVE],
        "second": [LEAVE],
        "dies": ["import os\nos._exit(3)"],
        "after_death": [LEAVE],
        "hangs": ["import time\ntime.sleep(60)"],
        "after_timeout": [],
    }
    # Only the hanging stage has a short limit: the others' cells (the library imported afresh) must not time out
    # on a loaded machine.
    results = _run(_jobs(tmp_path, cells, timeouts={"hangs": 3}), workers=1)
    status = {n: (r["status"], r["cell"]) for n, r in results.items()}
    assert status == {
        "first": ("done", None),
        "second": ("done", None),
        "dies": ("failed", 5),
        "after_death": ("done", None),
        "hangs": ("failed", 5),
        "after_timeout": ("done", None),
    }
    assert "DeadKernelError" in results["dies"]["error"] and "timed out" in results["hangs"]["error"]
    kernel = {n: r["kernel"] for n, r in results.items()}
    assert kernel["first"] == kernel["second"]  # kept
    assert kernel["dies"] is None and kernel["hangs"] is None  # a kernel that failed its stage is not kept
    assert len({kernel["second"], kernel["after_death"], kernel["after_timeout"]}) == 3

    seen = {n: _seen(tmp_path, n) for n in ("first", "second", "after_death", "after_timeout")}
    assert seen["second"]["garbage"] == [False]  # the first stage's garbage was collected, not frozen
    for n, s in seen.items():  # every stage finds what the first found: nothing the one before left behind
        assert not any(s.pop("garbage")), n
        assert s == {**seen["first"], "log": str(tmp_path / "logs" / f"{n}.log")}, n
    first = seen["first"]
    assert (first["variable"], first["module"], first["figures"], first["env"]) == (False, None, 0, None)
    assert first["frozen"]
    assert first["cwd"] == str(tmp_path / "work")
    cells = nbformat.read(tmp_path / "second.ipynb", as_version=4).cells
    assert [c.execution_count for c in cells if c.cell_type == "code"] == [1, 2, 3, 4, 5]
    for n in ("first", "second", "after_death"):  # each log holds what its own stage printed, nothing of another
        log = (tmp_path / "logs" / f"{n}.log").read_text(encoding="utf-8")
        assert log.count("said by ") == 1 and f"said by {n}" in log, (n, log)
