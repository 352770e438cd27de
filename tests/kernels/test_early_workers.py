"""The command starts the stage workers before it imports the runner; the run takes them, or ends them when it
cannot use them."""

from __future__ import annotations

import time
from types import SimpleNamespace

import psutil
import pytest
from typer.testing import CliRunner

from lifecycle_audit import paths, runner
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


def _ask_to_warm(monkeypatch, tmp_path, prepared: bool) -> list:
    """Run the command for the demo client with its tables folder under tmp_path (prepared before or not) up to
    the runner, and return the kernel starts it asked for."""
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    folder = tmp_path / "cache" / "tables" / "demo" / "0123456789abcdef0123"
    folder.mkdir(parents=True)
    if prepared:
        (folder / "accounting.json").write_text("{}")
    asked, stopped = [], []
    workers = SimpleNamespace(pool="the pool", jobs=2, stop=lambda unused=False: stopped.append(unused))
    monkeypatch.setattr(pool, "start_workers", lambda jobs: workers)
    monkeypatch.setattr(pool, "warm_kernels", lambda *a: asked.append(a))

    def run(*_a, workers, **_kw):
        workers.stop(unused=True)
        raise RunError("stopped here")

    monkeypatch.setattr(runner, "run", run)
    result = CliRunner().invoke(app, ["run", "params/demo.yaml"])
    assert result.exit_code == 2 and "stopped here" in result.output and stopped == [True]
    return asked


def test_the_command_starts_the_kernels_at_once_for_a_client_whose_data_was_prepared_before(monkeypatch, tmp_path):
    assert _ask_to_warm(monkeypatch, tmp_path, prepared=True) == [
        ("the pool", 2, str(paths.ROOT), pool.KERNEL_START_SECONDS)
    ]


def test_the_command_leaves_the_kernels_to_the_run_for_a_client_seen_first(monkeypatch, tmp_path):
    assert _ask_to_warm(monkeypatch, tmp_path, prepared=False) == []


def test_a_run_stopped_before_its_stages_ends_the_workers_and_the_kernels_they_started():
    """The data stops a run whose kernels the command had started: workers and kernels end, none is left behind."""
    workers = pool.start_workers(2)
    pool.warm_kernels(workers.pool, 2, str(paths.ROOT), pool.KERNEL_START_SECONDS)
    deadline = time.monotonic() + 120
    kernels: list[psutil.Process] = []
    while len(kernels) < 2 and time.monotonic() < deadline:  # the kernels' processes, once started
        kernels = [
            child
            for process in _processes(workers)
            for child in psutil.Process(process.pid).children()
            if "ipykernel_launcher" in " ".join(child.cmdline())
        ]
        time.sleep(0.2)
    assert len(kernels) == 2
    started = _processes(workers)
    runner._stop_workers(SimpleNamespace(workers=workers, results={}))
    for process in started:
        assert not process.is_alive()
    _gone, alive = psutil.wait_procs(kernels, timeout=30)
    assert alive == []


@pytest.mark.parametrize(("results", "unused"), [({}, True), ({"reach": {"status": "done"}}, False)])
def test_workers_are_ended_at_once_before_any_stage_and_waited_for_after(results, unused):
    stopped = []
    runner._stop_workers(
        SimpleNamespace(workers=SimpleNamespace(stop=lambda unused: stopped.append(unused)), results=results)
    )
    assert stopped == [unused]
