"""The command starts the stage workers before it imports the runner; the run takes them, or ends them when it
cannot use them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from lifecycle_audit import runner
from lifecycle_audit.cli import app
from lifecycle_audit.errors import RunError
from lifecycle_audit.kernels import pool


def _processes(workers: pool.Workers) -> list:
    return list(workers.pool._processes.values())


def test_a_run_that_cannot_start_ends_the_workers_it_was_given():
    workers = pool.start_workers(2)
    started = _processes(workers)
    assert len(started) == 2
    with pytest.raises(RunError, match="unknown stage 'nope'"):
        runner.run("params/demo.yaml", stages=["nope"], workers=workers, progress=False)
    for process in started:
        process.join(timeout=30)
        assert not process.is_alive()


def test_workers_of_another_number_are_replaced_by_the_run_s_own():
    given = pool.start_workers(1)
    first = _processes(given)
    r = SimpleNamespace(jobs=2, workers=None)
    runner._start_workers(r, given)
    try:
        assert r.workers.pool is not given.pool
        assert r.workers.pool._max_workers == 2
        for process in first:
            process.join(timeout=30)
            assert not process.is_alive()
    finally:
        r.workers.stop()


def test_workers_of_the_same_number_are_taken():
    given = pool.start_workers(2)
    r = SimpleNamespace(jobs=2, workers=None)
    runner._start_workers(r, given)
    try:
        assert r.workers is given
    finally:
        given.stop()


def test_the_command_says_a_missing_params_file_before_starting_any_worker(monkeypatch, tmp_path):
    started = []
    monkeypatch.setattr(pool, "start_workers", lambda jobs: started.append(jobs))
    result = CliRunner().invoke(app, ["run", str(tmp_path / "no-such.yaml")])
    assert result.exit_code == 2
    assert "params file not found" in result.output
    assert started == []


def test_the_command_starts_one_worker_per_stage_at_most(monkeypatch):
    asked = []

    def start(jobs):
        asked.append(jobs)
        raise RunError("stopped here")  # the test needs only the number asked for

    monkeypatch.setattr(pool, "start_workers", start)
    result = CliRunner().invoke(app, ["run", "params/demo.yaml", "--stage", "conversion", "-j", "2"])
    assert result.exit_code == 2 and "stopped here" in result.output
    assert asked == [1]
