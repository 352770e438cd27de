"""The worker side of a run: a kernel that dies while starting is started again; any other failure is kept."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from lifecycle_audit.kernels import pool

DIED = "Kernel died before replying to kernel_info"


def _job(tmp_path: Path) -> dict:
    return {
        "name": "06_winback",
        "stage": "winback",
        "input": str(tmp_path / "in.ipynb"),
        "output": str(tmp_path / "out.ipynb"),
        "log": str(tmp_path / "logs" / "06_winback.log"),
        "parameters": {},
        "start_timeout": 5,
        "execution_timeout": 5,
        "cwd": str(tmp_path),
    }


def _papermill_like(failures: list[Exception], started_cell: bool = False):
    """An execute step that writes the output notebook first, as papermill does, then fails with each error given
    in turn (the cell marked as started when `started_cell`), then succeeds."""
    calls = []

    def execute(pm, job, output: Path) -> None:
        calls.append(1)
        cell = nbformat.v4.new_code_cell("1")
        if started_cell:
            cell.metadata["papermill"] = {"start_time": "2026-12-03T00:00:00"}
        nbformat.write(nbformat.v4.new_notebook(cells=[cell]), output)
        if failures:
            raise failures.pop(0)

    return execute, calls


def test_a_kernel_that_dies_while_starting_is_started_again_and_the_log_says_so(tmp_path, monkeypatch):
    execute, calls = _papermill_like([RuntimeError(DIED), RuntimeError(DIED)])
    monkeypatch.setattr(pool, "_execute", execute)
    result = pool.execute_stage(_job(tmp_path))
    assert result["status"] == "done" and result["error"] is None and len(calls) == 3
    assert (tmp_path / "logs" / "06_winback.log").read_text().count("starting it again") == 2


def test_a_kernel_that_keeps_dying_fails_the_stage_after_the_last_attempt(tmp_path, monkeypatch):
    execute, calls = _papermill_like([RuntimeError(DIED)] * pool.START_ATTEMPTS)
    monkeypatch.setattr(pool, "_execute", execute)
    result = pool.execute_stage(_job(tmp_path))
    assert result["status"] == "failed" and DIED in result["error"] and len(calls) == pool.START_ATTEMPTS


@pytest.mark.parametrize(
    "error, started_cell",
    [
        (RuntimeError("Kernel didn't respond in 5 seconds"), False),  # another failure: not a start race
        (RuntimeError(DIED), True),  # a cell had started: running it again could repeat its work
    ],
)
def test_other_failures_are_not_tried_again(tmp_path, monkeypatch, error, started_cell):
    execute, calls = _papermill_like([error], started_cell=started_cell)
    monkeypatch.setattr(pool, "_execute", execute)
    result = pool.execute_stage(_job(tmp_path))
    assert result["status"] == "failed" and len(calls) == 1
