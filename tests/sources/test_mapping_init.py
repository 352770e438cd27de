"""`init` on a folder of daily event files: one pattern, the renamed column's alternatives; then validate and run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lifecycle_audit import params, paths
from lifecycle_audit.cli import app
from lifecycle_audit.sources.presets import detect
from tests.kit.daily_events import BAD_DATE_IN, BLANK_LINE_IN, DAYS, daily_event_folder


def names(*files: str) -> list[Path]:
    return [Path(f) for f in files]


def test_files_differing_by_a_date_stamp_are_one_pattern():
    files = names("events_20240101.csv", "events_20240102.csv", "orders.csv", "sales_2024-01-01.csv")
    assert detect.group_files(files) == [
        ("events_*.csv", files[:2]),
        ("orders.csv", [files[2]]),
        ("sales_2024-01-01.csv", [files[3]]),
    ]


def test_a_pattern_matches_no_file_outside_its_group():
    files = names("events_20240101.csv", "events_20240102.csv", "events_summary.csv")
    assert detect.group_files(files)[0] == ("events_[0-9]*.csv", files[:2])


def test_a_column_renamed_partway_becomes_alternatives_and_unrelated_changes_do_not():
    headers = [["a", "client_id", "x"], ["a", "client_id", "x"], ["a", "clientId", "y"], ["a", "clientId", "y"]]
    columns, renamed = detect.drift(headers)
    assert renamed == [["client_id", "clientId"]]
    assert columns == ["a", "client_id", "x", "y"]  # x -> y are not alike: two columns, no alternatives


def test_a_column_present_in_every_file_is_no_rename():
    assert detect.drift([["id", "t"], ["id", "t"]]) == (["id", "t"], [])


@pytest.mark.e2e
def test_init_validate_run_on_a_folder_of_daily_event_files(tmp_path, monkeypatch):
    """The params file init writes works unedited (only `output:` is pointed into the test's folder): validate names
    the one bad row and says run will go ahead, run does, and every file balances: rows in = used + excluded +
    rejected."""
    monkeypatch.setattr(paths, "PARAMS", tmp_path / "params")
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    (tmp_path / "params").mkdir()
    exports = tmp_path / "exports"
    written = daily_event_folder(exports)
    cli = CliRunner()

    result = cli.invoke(app, ["init", "daily", "--from", str(exports)])
    assert result.exit_code == 0, result.output
    target = tmp_path / "params" / "daily.yaml"
    data = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert [s.get("file") for s in data["sources"].values()].count("events_*.csv") == 1
    assert data["sources"]["events"]["columns"] == {"customer_id": ["client_id", "clientId"]}
    assert len(data["sources"]) == 4  # customers, events, order_lines, orders: not 14 event entries
    data["output"] = str(tmp_path / "reports")  # where the test keeps its reports; nothing else is edited
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    result = cli.invoke(app, ["validate", str(target)])
    # the one unreadable date is named by file and row, within the share allowed; no file lacks a column
    assert result.exit_code == 0 and "would go ahead" in result.output, result.output
    assert "row 4 of events_20240110.csv" in result.output and "lacks column" not in result.output

    result = cli.invoke(app, ["run", str(target), "--quiet", "--stage", "data_health"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(next((tmp_path / "reports" / "daily").glob("*/manifest.json")).read_text())
    inputs = {Path(i["file"]).name: i for i in manifest["inputs"]["inputs"]}
    assert set(inputs) == set(written) and sum(name.startswith("events_") for name in inputs) == DAYS
    for name, i in inputs.items():
        excluded, rejected = sum(i["excluded"].values()), sum(i["rejected"].values())
        assert i["rows_in"] == written[name] == i["rows_used"] + excluded + rejected, (name, i)
    assert inputs[BLANK_LINE_IN]["excluded"] == {"blank_row": 1} and inputs[BAD_DATE_IN]["rejected"] == {
        "unparsable_date": 1
    }
    assert sum(i["rows_used"] for i in inputs.values()) == sum(written.values()) - 2
    assert params.load(target).sources["events"].file == "events_*.csv"
