"""The notebooks' API: open an audit on a small generated shop, run a stage, save."""

from __future__ import annotations

import json

import pytest
import yaml

from lifecycle_audit import checks, sources, workbook
from lifecycle_audit import params as params_mod
from lifecycle_audit.findings import Finding

ALL_TABLES = (
    "customers",
    "events",
    "orders",
    "order_lines",
    "messages",
    "tickets",
    "surveys",
    "reviews",
    "referrals",
    "spend",
    "prices",
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A params file for a small planted shop under a temporary folder, and its prepared tables."""
    folder = tmp_path_factory.mktemp("shop")
    file = folder / "tiny.yaml"
    file.write_text(
        yaml.safe_dump(
            {
                "client": "tiny-workbook",
                "currency": "EUR",
                "data_dir": str(folder / "data"),
                "demo": {"customers": 400, "seed": 3, "profile": "planted"},
                "sources": {t: {"file": f"{t}.parquet"} for t in ALL_TABLES},
                "output": str(folder / "reports"),
            }
        ),
        encoding="utf-8",
    )
    p = params_mod.load(file)
    sources.ensure_demo_data(p)
    return file, sources.prepare(p)


def test_open_audit_prepares_the_tables_when_no_folder_is_given(shop):
    file, prepared = shop
    audit = workbook.open_audit(str(file))
    assert audit.prepared is not None and audit.tables_dir == prepared.folder
    assert set(audit.tables.names) == set(ALL_TABLES)
    assert audit.params.client == "tiny-workbook"


def test_open_audit_reads_the_runners_folder_with_its_accounting(shop):
    file, prepared = shop
    audit = workbook.open_audit(str(file), str(prepared.folder))
    assert audit.tables.has("orders")
    assert audit.prepared is not None
    assert audit.prepared.loads["orders"].rows_used == prepared.loads["orders"].rows_used


def test_open_audit_says_when_the_folder_is_missing(shop, tmp_path):
    file, _ = shop
    with pytest.raises(FileNotFoundError, match="leave it empty"):
        workbook.open_audit(str(file), str(tmp_path / "nowhere"))


def test_run_stage_and_save(shop, tmp_path):
    file, prepared = shop
    audit = workbook.open_audit(str(file), str(prepared.folder))
    found = audit.run_stage("conversion")
    assert [f.check_id for f in found] == [s.id for s in checks.specs("conversion")]
    assert audit.save("conversion", found, "") is None
    saved = audit.save("conversion", found, str(tmp_path / "findings"))
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert saved.name == "conversion.json" and len(data) == len(found)
    assert {d["check_id"] for d in data} == {f.check_id for f in found}
    with pytest.raises(ValueError, match="unknown stage"):
        audit.run_stage("checkout")


def test_show_groups_cards_failed_first_and_folds_passed_and_not_run(monkeypatch):
    shown = []
    monkeypatch.setattr(workbook, "display", lambda obj: shown.append(obj.data))

    def finding(check_id, status):
        return Finding(
            check_id=check_id,
            stage="conversion",
            title=check_id,
            status=status,
            score=None if status == "not_run" else 40,
            reason="no data" if status == "not_run" else None,
        )

    workbook.show(
        [
            finding("conversion.a", "pass"),
            finding("conversion.b", "not_run"),
            finding("conversion.c", "fail"),
            finding("conversion.d", "warn"),
        ]
    )
    groups = [
        (html.split("<summary>")[1].split("</summary>")[0], "open>" in html.split("<summary>")[0]) for html in shown
    ]
    assert groups == [
        ("Failed (1)", True),
        ("Warnings (1)", True),
        ("Passed (1)", False),
        ("Not applicable (1)", False),
    ]
    assert 'id="conversion-c"' in shown[0] and 'id="conversion-a"' in shown[2]


def test_the_warm_up_set_in_params_reaches_the_tables(shop, tmp_path):
    file, prepared = shop
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    assert workbook.open_audit(str(file), str(prepared.folder)).tables.warmup_days == params_mod.WARMUP_DAYS == 30
    custom = tmp_path / "tiny.yaml"
    custom.write_text(yaml.safe_dump({**data, "period": {"warmup_days": 7}}), encoding="utf-8")
    assert workbook.open_audit(str(custom), str(prepared.folder)).tables.warmup_days == 7
