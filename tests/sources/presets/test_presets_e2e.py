"""From the folder a shop sends to the report, with no pandas in between: `init` on the folder, `validate` on the
params file it wrote, then `run` of the stage the data feeds, for a GA4 item-level purchase export and for a
loyalty-card panel with a campaign file holding control groups.

What the test changes in the params file init wrote, through YAML: the DECIDE value a consultant must fill (the
date of day 1 of a day-numbered panel) and `output:` (the reports go to the test's folder, not the project's).
For every input file the run's manifest accounts rows in = used + excluded + rejected, as the generator planted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lifecycle_audit import paths
from lifecycle_audit.cli import app
from tests.kit import exports

cli = CliRunner()


def init_validate_run(tmp_path: Path, monkeypatch, files: list[exports.Export], decide: dict, stage: str) -> dict:
    """init -> (the DECIDE lines filled) -> validate -> run --stage: the run's manifest."""
    monkeypatch.setattr(paths, "PARAMS", tmp_path / "params")
    (tmp_path / "params").mkdir()
    folder = tmp_path / "exports"
    folder.mkdir()
    for e in files:
        (folder / e.name).write_bytes(e.content if isinstance(e.content, bytes) else e.content.encode("utf-8"))
    result = cli.invoke(app, ["init", "shop", "--from", str(folder)])
    assert result.exit_code == 0, result.output
    assert "not recognised" not in result.output, result.output
    target = tmp_path / "params" / "shop.yaml"
    data = yaml.safe_load(target.read_text(encoding="utf-8"))
    for entry, options in decide.items():
        data["sources"][entry]["options"].update(options)
    data["output"] = str(tmp_path / "reports")
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    result = cli.invoke(app, ["validate", str(target)])
    assert result.exit_code == 0, result.output
    result = cli.invoke(app, ["run", str(target), "--stage", stage, "--quiet", "--run-id", "e2e"])
    assert result.exit_code == 0, result.output
    run_dir = Path(result.stdout.strip().splitlines()[-1]).parent
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert [s["status"] for s in manifest["stages"]] == ["done"], manifest["stages"]
    manifest["findings_of_stage"] = json.loads((run_dir / "findings.json").read_text(encoding="utf-8"))
    return manifest


def accounted(manifest: dict, files: list[exports.Export]) -> None:
    """Each file's rows in = used + excluded + rejected, with the reasons its generator planted."""
    inputs = {Path(i["file"]).name: i for i in manifest["inputs"]["inputs"]}
    for e in files:
        i = inputs[e.name]
        assert i["balanced"] and i["rows_in"] == i["rows_used"] + sum(i["excluded"].values()) + sum(
            i["rejected"].values()
        )
        assert (i["rows_in"], i["rows_used"], i["excluded"], i["rejected"]) == (
            e.rows_in,
            e.used,
            e.excluded,
            e.rejected,
        )


@pytest.mark.e2e
def test_a_ga4_item_level_purchase_export_goes_in_as_it_comes(tmp_path, monkeypatch):
    ga4 = exports.ga4_purchases()
    manifest = init_validate_run(tmp_path, monkeypatch, [ga4], {}, "retention")
    accounted(manifest, [ga4])
    assert manifest["rows"]["orders"]["rows_used"] > 0


@pytest.mark.e2e
def test_a_loyalty_panel_and_a_campaign_file_with_control_groups_go_in_as_they_come(tmp_path, monkeypatch):
    panel = exports.loyalty_panel(cards=400)  # a control group of at least 50 per campaign, as the check needs
    campaigns = exports.campaign_file(panel.cards)
    decide = {"transaction_data": {"day_one": "2024-01-01"}}
    manifest = init_validate_run(tmp_path, monkeypatch, [panel, campaigns], decide, "retention")
    accounted(manifest, [panel, campaigns])
    assert manifest["rows"]["campaign_members"]["rows_used"] == campaigns.used
    lift = [f for f in manifest["findings_of_stage"] if f["check_id"] == "retention.campaign_incrementality"]
    assert [f["status"] for f in lift] in (["pass"], ["warn"], ["fail"]), lift
