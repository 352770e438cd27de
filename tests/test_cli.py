"""The `lifecycle-audit` command: checks, validate, and (end to end) run on small generated shops."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from lifecycle_audit import checks, findings, paths, runner, stages
from lifecycle_audit.cli import app
from tests.kit.small_runs import notebook, write_params

cli = CliRunner()
PAGES = [f"{name}.html" for name in stages.NOTEBOOKS.values()]


def last_line(text: str) -> str:
    return [line for line in text.splitlines() if line.strip()][-1].strip()


# ----------------------------------------------------------------------------------------------
# the installed command's exit (cli.main): its code, its output, the exit handlers, then no teardown

_MAIN = """
import atexit, sys, threading, time
from pathlib import Path
from lifecycle_audit import cli
marks = Path(sys.argv[1])
atexit.register(lambda: (marks / "atexit").write_text("ran"))
def late():
    time.sleep(0.3)
    (marks / "thread").write_text("done")
threading.Thread(target=late).start()
class Freed:
    def __del__(self):
        (marks / "teardown").write_text("freed")
kept = Freed()  # freed by the interpreter's module teardown, which the command skips
sys.argv = ["lifecycle-audit", *sys.argv[2:]]
cli.main()
"""


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["checks"], 0, "checks in 6 stages"),
        (["validate", "no-such-params.yaml"], 2, "params file not found"),
        (["no-such-command"], 2, "No such command"),
    ],
)
def test_the_command_exits_with_its_code_after_its_output_threads_and_exit_handlers(tmp_path, args, code, said):
    done = subprocess.run(
        [sys.executable, "-c", _MAIN, str(tmp_path), *args],
        capture_output=True,
        text=True,
        cwd=paths.ROOT,
        timeout=120,
    )
    assert done.returncode == code, done.stderr
    assert said in done.stdout + done.stderr
    assert (tmp_path / "thread").read_text() == "done"  # a thread still working is waited for
    assert (tmp_path / "atexit").read_text() == "ran"  # exit handlers run
    assert not (tmp_path / "teardown").exists()  # and the process ends without the module teardown


# ----------------------------------------------------------------------------------------------
# checks


def test_checks_lists_every_declared_check_once():
    result = cli.invoke(app, ["checks"])
    assert result.exit_code == 0, result.output
    specs = checks.specs()
    lines = result.output.splitlines()
    for spec in specs:
        row = [line for line in lines if re.search(rf"\b{re.escape(spec.id)}\b", line)]
        assert len(row) == 1, f"{spec.id} should be listed once"
    assert f"{len(specs)} checks in {len({s.stage for s in specs})} stages" in result.output


# ----------------------------------------------------------------------------------------------
# validate


def test_validate_names_the_file_and_the_missing_column(tmp_path):
    data = tmp_path / "exports"
    data.mkdir()
    (data / "customers.csv").write_text("customer_id,acquisition_channel\nc1,direct\nc2,email\n", encoding="utf-8")
    params = write_params(tmp_path, "broken", data_dir=data, sources={"customers": {"file": "customers.csv"}})
    result = cli.invoke(app, ["validate", str(params)])
    assert result.exit_code == 1, result.output
    assert "customers.csv" in result.output
    assert "first_seen_at" in result.output
    assert not list(data.glob("*.parquet")), "validate never writes into the client's folder"


def test_validate_reports_a_params_error_without_traceback(tmp_path):
    params = tmp_path / "bad.yaml"
    params.write_text("client: bad\ndata_dir: x\nsourcez: {}\n", encoding="utf-8")
    result = cli.invoke(app, ["validate", str(params)])
    assert result.exit_code == 2
    assert "sourcez" in result.output
    assert "Traceback" not in result.output


def test_run_reports_source_errors_one_per_line_and_writes_nothing(tmp_path):
    data = tmp_path / "exports"
    data.mkdir()
    (data / "customers.csv").write_text("customer_id,acquisition_channel\nc1,direct\n", encoding="utf-8")
    params = write_params(tmp_path, "broken", data_dir=data, sources={"customers": {"file": "customers.csv"}})
    # one job: the run starts its notebook workers before it reads the files, and stops them (after their
    # papermill import) when the files fail; a second worker would add seconds of CPU and prove nothing more
    result = cli.invoke(app, ["run", str(params), "--quiet", "--jobs", "1"])
    assert result.exit_code == 2, result.output
    assert "customers.csv" in result.output and "first_seen_at" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "reports" / "broken").exists() or not any((tmp_path / "reports" / "broken").iterdir())


# ----------------------------------------------------------------------------------------------
# run ids


# ----------------------------------------------------------------------------------------------
# end to end: generated shops through the whole command


def _check_run_folder(run_dir: Path, expect_pages: list[str]) -> dict:
    assert (run_dir / "index.html").is_file()
    for page in expect_pages:
        assert (run_dir / page).is_file(), f"missing stage page {page}"
    findings = json.loads((run_dir / "findings.json").read_text(encoding="utf-8"))
    assert isinstance(findings, list)
    for f in findings:
        assert f["page"] in expect_pages and f["stage"] in stages.STAGES
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    for key in ("run_id", "params", "versions", "rows", "timings", "inputs", "started", "finished", "stages"):
        assert key in manifest, key
    assert manifest["run_id"] == run_dir.name
    assert {"python", "lifecycle-audit", "pandas", "ibis-framework", "duckdb", "papermill"} <= set(manifest["versions"])
    assert manifest["rows"]["orders"]["rows_used"] > 0
    assert manifest["rows"]["orders"]["rows_in"] >= manifest["rows"]["orders"]["rows_used"]
    for name in manifest["timings"]["stages"]:
        assert (run_dir / "notebooks" / f"{name}.ipynb").is_file()
        kept = nbformat.read(run_dir / "notebooks" / f"{name}.ipynb", as_version=4)
        assert "parameters" not in kept.metadata.get("papermill", {})
        assert str(run_dir / "findings") not in json.dumps(kept.cells[:3])
    return {"findings": findings, "manifest": manifest}


@pytest.mark.e2e
@pytest.mark.parametrize("profile", ["planted", "healthy"])
def test_run_on_a_small_generated_shop(tmp_path, profile):
    params = write_params(tmp_path, f"tiny-{profile}", demo={"customers": 1000, "seed": 11, "profile": profile})
    result = cli.invoke(app, ["run", str(params), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    index = Path(last_line(result.stdout))
    assert index.is_absolute() and index.name == "index.html" and index.is_file()
    run_dir = index.parent
    assert run_dir.parent == tmp_path / "reports" / f"tiny-{profile}"
    got = _check_run_folder(run_dir, PAGES)
    assert got["manifest"]["failed_stages"] == []
    statuses = {f["check_id"]: f["status"] for f in got["findings"]}
    assert any(s in ("pass", "warn", "fail") for s in statuses.values()), statuses
    assert "error" not in statuses.values(), statuses
    for page in PAGES:  # every view of the stage notebooks works on the shop: no "could not be shown" note
        assert "could not be shown" not in (run_dir / page).read_text(encoding="utf-8"), page
    if profile == "planted":
        assert "fail" in statuses.values(), f"the planted shop's mistakes should fail a check: {statuses}"
        stakes = findings.total_at_stake(got["findings"])
        assert 0 < stakes.total <= stakes.revenue  # the index states it, counted once
        assert 'class="la-stakes">Money at stake:' in index.read_text(encoding="utf-8")
    else:
        assert "fail" not in statuses.values(), f"the healthy shop should fail no check: {statuses}"
    stage_scores = {s["stage"]: s["score"] for s in got["manifest"]["stages"]}
    assert stage_scores["data_health"] is None  # no findings, no score
    # the client's input folder holds only what the generator wrote
    assert not (tmp_path / "data" / "findings").exists()


@pytest.mark.e2e
def test_a_failing_stage_does_not_stop_the_others(tmp_path):
    params = write_params(tmp_path, "tiny-fail", demo={"customers": 600, "seed": 5, "profile": "planted"})
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    shutil.copy(paths.NOTEBOOKS / "01_reach.ipynb", nbs / "01_reach.ipynb")
    nbformat.write(notebook("x = 1", "{}['no such column']"), nbs / "03_conversion.ipynb")
    result = cli.invoke(
        app, ["run", str(params), "--stage", "reach", "--stage", "conversion", "--notebooks", str(nbs), "--quiet"]
    )
    assert result.exit_code == 1, result.output
    assert re.search(r"stage 03_conversion failed at cell \d+: KeyError: 'no such column'", result.output), (
        result.output
    )
    index = Path(last_line(result.stdout))
    assert index.is_file()
    got = _check_run_folder(index.parent, ["01_reach.html", "03_conversion.html"])
    failed = got["manifest"]["failed_stages"]
    assert [f["notebook"] for f in failed] == ["03_conversion"]
    statuses = {s["notebook"]: s["status"] for s in got["manifest"]["stages"]}
    assert statuses == {"01_reach": "done", "03_conversion": "failed"}


def test_run_names_each_check_that_stopped_on_an_error_and_its_log(tmp_path, monkeypatch):
    found = [
        {"check_id": "reach.channel_concentration", "stage": "reach", "status": "error", "details": {"exception": "E"}},
        {"check_id": "reach.earned_reach", "stage": "reach", "status": "not_run", "details": {}},
    ]
    done = runner.RunResult(run_dir=tmp_path, index=tmp_path / "index.html", findings=found, seconds=1.0)
    monkeypatch.setattr(runner, "run", lambda *a, **kw: done)
    result = cli.invoke(app, ["run", "params/demo.yaml", "--quiet"])
    assert result.exit_code == 0, result.output
    log = tmp_path / "logs" / "01_reach.log"
    assert f"check reach.channel_concentration stopped on an error (E); the traceback is in {log}" in result.output
    assert "earned_reach" not in result.output
