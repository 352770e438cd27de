"""`lifecycle-audit compare RUN_A RUN_B`: the comparison in the terminal, and its exit code for a client's CI
(1 when a check regressed, or with --fail-on failed when a check fails in RUN_B; 2 when a run cannot be read)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from lifecycle_audit import runner
from lifecycle_audit.cli import app
from lifecycle_audit.report import comparison
from tests.kit.small_runs import notebook, write_params
from tests.test_compare import CARTS, RELEVANCE, SUPPORT, finding, manifest

cli = CliRunner()


def write_run(reports: Path, run_id: str, rows: list[dict], started: str) -> Path:
    folder = reports / "acme" / run_id
    folder.mkdir(parents=True)
    (folder / "findings.json").write_text(json.dumps(rows), encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps(manifest(run_id, started=started)), encoding="utf-8")
    return folder


@pytest.fixture
def reports(tmp_path) -> Path:
    """Three runs of a client: q1; q2 fixed the offers and kept carts failing; q3 let support regress."""
    base = tmp_path / "reports"
    write_run(
        base,
        "q1",
        [finding(RELEVANCE, "fail", 0.21, at_stake=180.0), finding(SUPPORT, "pass", 2.0), finding(CARTS, "fail", 0.8)],
        "2026-01-05T09:00:00+00:00",
    )
    write_run(
        base,
        "q2",
        [finding(RELEVANCE, "pass", 0.75), finding(SUPPORT, "pass", 2.5), finding(CARTS, "fail", 0.8)],
        "2026-04-05T09:00:00+00:00",
    )
    write_run(
        base,
        "q3",
        [finding(RELEVANCE, "pass", 0.75), finding(SUPPORT, "fail", 30.0), finding(CARTS, "fail", 0.8)],
        "2026-07-05T09:00:00+00:00",
    )
    return base


def test_a_fix_and_nothing_worse_exits_zero_and_names_the_fixed_check(reports):
    result = cli.invoke(app, ["compare", "q1", "q2", "--reports", str(reports)])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if RELEVANCE in x)
    assert "fixed" in line and "Fail" in line and "Pass" in line and "+54.0 pts" in line and "−€180" in line
    assert SUPPORT not in result.output  # unchanged checks only with --all
    assert "1 fixed · 2 unchanged" in result.output
    assert "Conversion" in result.output and "Score per stage" in result.output


def test_a_regression_exits_one(reports):
    result = cli.invoke(app, ["compare", "q2", "q3", "--reports", str(reports)])
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if SUPPORT in x)
    assert "regressed" in line and "+27.5 hours" in line


def test_fail_on_failed_exits_one_while_a_check_still_fails(reports):
    assert cli.invoke(app, ["compare", "q1", "q2", "--reports", str(reports), "--fail-on", "regressed"]).exit_code == 0
    assert cli.invoke(app, ["compare", "q1", "q2", "--reports", str(reports), "--fail-on", "failed"]).exit_code == 1


def test_all_lists_unchanged_checks_and_the_terminal_speaks_the_locale(reports, tmp_path):
    page = tmp_path / "out" / "compare-de.html"
    result = cli.invoke(
        app, ["compare", "q1", "q2", "--reports", str(reports), "--all", "--locale", "de", "--html", str(page)]
    )
    assert result.exit_code == 0, result.output
    assert SUPPORT in result.output and CARTS in result.output
    assert "behoben" in result.output and "Punktzahl je Phase" in result.output and "+54,0 Pp." in result.output
    html = page.read_text(encoding="utf-8")
    assert '<html lang="de">' in html and "Was sich seit Lauf q1 geändert hat" in html


def test_run_folders_can_be_given_as_paths(reports):
    result = cli.invoke(app, ["compare", str(reports / "acme" / "q2"), str(reports / "acme" / "q3")])
    assert result.exit_code == 1, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "q1", "nope"], "no run 'nope'"),
        (["compare", "q1", "q2", "--fail-on", "worse"], "--fail-on must be one of regressed, failed"),
        (["compare", "q1", "q2", "--locale", "fr"], "fr"),
    ],
)
def test_a_run_that_cannot_be_found_or_a_wrong_option_exits_two(reports, args, message):
    result = cli.invoke(app, [*args, "--reports", str(reports)])
    assert result.exit_code == 2
    assert message in result.output


def test_run_passes_the_run_to_compare_with(monkeypatch, tmp_path):
    asked = {}

    def fake_run(*args, **kwargs):
        asked.update(kwargs)
        return runner.RunResult(run_dir=tmp_path, index=tmp_path / "index.html")

    monkeypatch.setattr(runner, "run", fake_run)
    result = cli.invoke(app, ["run", "params/demo.yaml", "--quiet", "--compare", "20260101-090000"])
    assert result.exit_code == 0, result.output
    assert asked["compare_with"] == "20260101-090000"


def test_a_run_to_compare_with_that_does_not_exist_stops_the_run_before_anything_runs(tmp_path):
    params = write_params(tmp_path, "acme", demo={"customers": 300, "seed": 2, "profile": "healthy"})
    result = cli.invoke(app, ["run", str(params), "--quiet", "--compare", "20200101-000000"])
    assert result.exit_code == 2
    assert "no run '20200101-000000'" in result.output
    assert not (tmp_path / "data").exists() and not (tmp_path / "reports" / "acme").exists()


@pytest.mark.e2e
def test_an_unreadable_earlier_run_or_a_failing_trend_never_stops_a_run(tmp_path, monkeypatch):
    params = write_params(tmp_path, "acme", demo={"customers": 300, "seed": 2, "profile": "healthy"})
    broken = tmp_path / "reports" / "acme" / "20200101-000000"
    broken.mkdir(parents=True)
    (broken / "findings.json").write_text("{not json", encoding="utf-8")
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

    def broken_trend(*args, **kwargs):
        raise RuntimeError("the chart code moved")

    monkeypatch.setattr(comparison, "trend_html", broken_trend)
    result = runner.run(params, stages=["reach"], notebooks_dir=nbs, progress=False)
    assert result.ok and result.index.is_file()
    assert 'id="la-compare"' not in result.index.read_text(encoding="utf-8")
    assert not (result.run_dir / "trend.html").exists()
    assert json.loads((result.run_dir / "manifest.json").read_text(encoding="utf-8"))["compared_with"] is None
