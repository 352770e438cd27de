"""The runner: run ids, stage names, scrubbed parameters, and (end to end) runs of small generated shops."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import Future
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from lifecycle_audit import checks, params, runner, stages, synth
from lifecycle_audit.kernels import pool
from lifecycle_audit.metrics import stored
from tests.kit import shop
from tests.kit.small_runs import notebook, write_params


def test_new_run_id_never_reuses_a_folder(tmp_path):
    now = dt.datetime(2026, 11, 22, 9, 30, 5)
    assert runner.new_run_id(tmp_path, now) == "20261122-093005"
    (tmp_path / "20261122-093005").mkdir()
    assert runner.new_run_id(tmp_path, now) == "20261122-093005-2"
    (tmp_path / "20261122-093005-2").mkdir()
    assert runner.new_run_id(tmp_path, now) == "20261122-093005-3"


def test_select_stages_accepts_stage_and_notebook_names():
    assert runner.select_stages(None) == list(stages.STAGES)
    assert runner.select_stages(["03_conversion", "reach"]) == ["reach", "conversion"]
    assert runner.select_stages(["win-back", "0"]) == ["data_health", "winback"]
    with pytest.raises(Exception, match="unknown stage"):
        runner.select_stages(["checkout"])


def test_scrub_parameters_removes_injected_values(tmp_path):
    nb = notebook("x = 1")
    injected = new_code_cell('params_file = "/secret/place.yaml"')
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(1, injected)
    nb.metadata["papermill"] = {"parameters": {"params_file": "/secret/place.yaml"}, "input_path": "in.ipynb"}
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    pool.scrub_parameters(path)
    text = path.read_text(encoding="utf-8")
    assert "/secret/place.yaml" not in text
    kept = nbformat.read(path, as_version=4)
    assert "parameters" not in kept.metadata["papermill"]
    assert "injected-parameters" in kept.cells[1].metadata["tags"]


class _FailingProcess:
    """Stands for the process storing the derived tables on Spark, which fails there (Java missing, say)."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, *args):
        done = Future()
        done.set_exception(RuntimeError("[JAVA_GATEWAY_EXITED] Java gateway process exited\nits whole output"))
        return done


def test_spark_failing_to_store_the_derived_tables_stops_nothing_and_says_where_its_log_is(tmp_path, monkeypatch):
    synth.write_shop(shop(customers=200), tmp_path)
    notes: list[str] = []
    r = SimpleNamespace(
        params=SimpleNamespace(engine=params.Engine(backend="pyspark")),
        prepared=SimpleNamespace(folder=tmp_path),
        note=notes.append,
    )
    monkeypatch.setattr(runner, "ProcessPoolExecutor", _FailingProcess)
    runner._store_derived(r)
    assert notes == [
        "the derived tables could not be stored on pyspark ([JAVA_GATEWAY_EXITED] Java gateway process exited; its "
        f"log: {tmp_path / 'derived' / 'pyspark.log'}); each stage computes them"
    ]
    assert stored.missing(tmp_path, "pyspark")[:2] == ["sessions", "first_orders"]  # none stored: each stage computes


@pytest.mark.e2e
def test_two_runs_get_two_folders(tmp_path):
    params = write_params(tmp_path, "tiny-twice", demo={"customers": 300, "seed": 2, "profile": "healthy"})
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    nbformat.write(
        notebook(
            "from lifecycle_audit import workbook",
            "audit = workbook.open_audit(params_file, tables_dir, findings_dir)",
            'saved = audit.save("reach", [], findings_dir)',
        ),
        nbs / "01_reach.ipynb",
    )
    first = runner.run(params, stages=["reach"], notebooks_dir=nbs, progress=False)
    second = runner.run(params, stages=["reach"], notebooks_dir=nbs, progress=False)
    assert first.run_dir != second.run_dir
    assert first.run_dir.is_dir() and second.run_dir.is_dir()
    assert (first.run_dir / "index.html").is_file() and (second.run_dir / "index.html").is_file()
    assert first.failed == [] and second.failed == []
    with pytest.raises(Exception, match="never overwrites"):
        runner.run(params, stages=["reach"], notebooks_dir=nbs, progress=False, run_id=first.run_dir.name)


@pytest.mark.e2e
def test_a_hanging_cell_is_stopped_by_the_execution_timeout(tmp_path):
    params = write_params(tmp_path, "tiny-slow", demo={"customers": 300, "seed": 2, "profile": "healthy"})
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    nbformat.write(notebook("x = 1", "import time\ntime.sleep(60)"), nbs / "06_winback.ipynb")
    result = runner.run(params, stages=["winback"], notebooks_dir=nbs, progress=False, execution_timeout=2)
    assert [(f["notebook"], f["cell"]) for f in result.failed] == [("06_winback", 4)]
    assert "timed out" in result.failed[0]["error"]
    assert (result.run_dir / "06_winback.html").is_file()


@pytest.mark.e2e
def test_a_check_or_a_view_that_raises_costs_nothing_else(tmp_path):
    """A check that raises is an error in plain words, a view cell that raises is a note, the stage goes on, its
    findings are all kept, and the exceptions are in the stage's log, never on a page."""
    params = write_params(tmp_path, "tiny-robust", demo={"customers": 300, "seed": 2, "profile": "planted"})
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    nbformat.write(
        notebook(
            "from lifecycle_audit import workbook\nfrom lifecycle_audit.checks import reach",
            "audit = workbook.open_audit(params_file, tables_dir, findings_dir)",
            # the measure behind the channel checks raises, as it did on exports without a known channel
            "def broken(tables):\n    raise AttributeError(\"'float' object has no attribute 'where'\")\n\n\n"
            "reach.new_customers_by_channel = broken",
            'findings = audit.run_stage("reach")\nworkbook.show(findings)',
            'with audit.view():\n    raise RuntimeError("the chart exploded")',
            'workbook.say("The notebook went on.")',
        ),
        nbs / "01_reach.ipynb",
    )
    result = runner.run(params, stages=["reach"], notebooks_dir=nbs, progress=False)
    assert result.ok, result.failed
    saved = json.loads((result.run_dir / "findings.json").read_text(encoding="utf-8"))
    assert [f["check_id"] for f in saved] == [s.id for s in checks.specs("reach")]  # none lost
    errors = [f for f in saved if f["status"] == "error"]
    assert "reach.channel_concentration" in {f["check_id"] for f in errors}
    assert {f["details"]["exception"] for f in errors} == {"AttributeError"}
    page = (result.run_dir / "01_reach.html").read_text(encoding="utf-8")
    index = (result.run_dir / "index.html").read_text(encoding="utf-8")
    assert "This view could not be shown because of an unexpected error" in page and "The notebook went on." in page
    assert f"Error ({len(errors)})" in page and "an unexpected error in the workbook stopped this check" in page
    assert f"Errors ({len(errors)})" in index and f"Checks that stopped on an error: {len(errors)}" in index
    for raw in ("the chart exploded", "RuntimeError", "AttributeError", "has no attribute"):
        assert raw not in page and raw not in index, raw
    log = (result.run_dir / "logs" / "01_reach.log").read_text(encoding="utf-8")
    assert "the chart exploded" in log and "reach.channel_concentration" in log and "Traceback" in log
    assert "has no attribute 'where'" in log


@pytest.mark.e2e
def test_seven_stages_on_two_jobs_start_two_kernels_and_each_log_holds_its_own_stage(tmp_path):
    """Each worker keeps one kernel for the stages it executes; what a stage logs lands in that stage's log."""
    params = write_params(tmp_path, "tiny-kept", demo={"customers": 300, "seed": 2, "profile": "healthy"})
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    for stage, name in stages.NOTEBOOKS.items():
        nbformat.write(
            notebook(
                "import logging\nfrom lifecycle_audit import workbook",
                "audit = workbook.open_audit(params_file, tables_dir, findings_dir)",
                f'logging.getLogger("lifecycle_audit.test").error("logged by {name}")\naudit.save("{stage}", [], '
                "findings_dir)",
            ),
            nbs / f"{name}.ipynb",
        )
    result = runner.run(params, jobs=2, notebooks_dir=nbs, progress=False)
    assert result.ok, result.failed
    manifest = json.loads((result.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["stages"]) == 7
    assert len({s["kernel"] for s in manifest["stages"]}) == 2
    for name in stages.NOTEBOOKS.values():
        log = (result.run_dir / "logs" / f"{name}.log").read_text(encoding="utf-8")
        assert log.count("logged by ") == 1 and f"logged by {name}" in log, (name, log)
