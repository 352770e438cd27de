"""The notebooks' API: open an audit on a small generated shop, run a stage, save."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lifecycle_audit import checks, lang, paths, sources, synth, workbook
from lifecycle_audit import params as params_mod
from lifecycle_audit.engine import Tables
from lifecycle_audit.errors import CheckError, NoEvidence, ParamsError
from lifecycle_audit.findings import Finding
from lifecycle_audit.i18n import Text, count
from lifecycle_audit.metrics import orders
from lifecycle_audit.metrics.lifetime import FitFailed
from tests import kit

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
    "campaign_members",
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


def test_run_stage_saves_the_findings_at_once_in_a_run(shop, tmp_path):
    """In a run, the stage's findings are on disk as soon as they are computed: a later cell that fails
    cannot lose them."""
    file, prepared = shop
    folder = tmp_path / "run" / "findings"
    audit = workbook.open_audit(str(file), str(prepared.folder), str(folder))
    try:
        found = audit.run_stage("reach")
    finally:
        workbook.open_audit(str(file), str(prepared.folder))  # leave no run behind for the other tests
    saved = json.loads((folder / "reach.json").read_text(encoding="utf-8"))
    assert [d["check_id"] for d in saved] == [f.check_id for f in found] == [s.id for s in checks.specs("reach")]


def _view_outputs(monkeypatch) -> list[str]:
    shown: list[str] = []
    monkeypatch.setattr(workbook, "display", lambda obj: shown.append(obj.data))
    return shown


def test_a_view_that_raises_shows_a_plain_note_logs_the_exception_and_the_notebook_goes_on(monkeypatch, caplog):
    shown = _view_outputs(monkeypatch)
    audit = workbook.Audit(params=None, tables=None)
    after = []
    with caplog.at_level(logging.ERROR, logger="lifecycle_audit"), lang.use("de"):
        with audit.view():
            raise ZeroDivisionError("the chart's secret detail")
        after.append("next line")
    assert after == ["next line"]  # the exception did not leave the block
    assert shown == [
        "_Diese Ansicht konnte wegen eines unerwarteten Fehlers nicht angezeigt werden; "
        "die Einzelheiten stehen im Protokoll des Laufs._"
    ]
    assert "ZeroDivisionError" in caplog.text and "the chart's secret detail" in caplog.text
    assert "Traceback" in caplog.text


def test_a_view_on_data_too_thin_for_it_shows_the_plain_reason(monkeypatch):
    shown = _view_outputs(monkeypatch)
    audit = workbook.Audit(params=None, tables=None)
    with audit.view():
        raise checks.NotEnoughData(Text("needs at least {n} orders", n=count(50)))
    with audit.view():
        raise FitFailed(Text("the {model} lifetime model could not be fitted", model="BG/NBD"))
    with audit.view():
        pass  # a view that works shows what it shows, and nothing else
    assert shown == ["_needs at least 50 orders_", "_the BG/NBD lifetime model could not be fitted_"]


def test_a_card_that_cannot_be_drawn_does_not_hide_the_others(monkeypatch, caplog):
    shown = _view_outputs(monkeypatch)
    real = workbook.finding_html

    def broken_for_b(f, *args, **kw):
        if f.check_id == "conversion.b":
            raise KeyError("column")
        return real(f, *args, **kw)

    monkeypatch.setattr(workbook, "finding_html", broken_for_b)
    failed = [
        Finding(check_id=c, stage="conversion", title=c, status="fail", score=10)
        for c in ("conversion.a", "conversion.b")
    ]
    with caplog.at_level(logging.ERROR, logger="lifecycle_audit"):
        workbook.show(failed)
    assert 'id="conversion-a"' in shown[0] and "could not be drawn" in shown[0] and "KeyError" not in shown[0]
    assert "conversion.b" in caplog.text and "KeyError" in caplog.text


def test_the_warm_up_set_in_params_reaches_the_tables(shop, tmp_path):
    file, prepared = shop
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    assert workbook.open_audit(str(file), str(prepared.folder)).tables.warmup_days == params_mod.WARMUP_DAYS == 30
    custom = tmp_path / "tiny.yaml"
    custom.write_text(yaml.safe_dump({**data, "period": {"warmup_days": 7}}), encoding="utf-8")
    assert workbook.open_audit(str(custom), str(prepared.folder)).tables.warmup_days == 7


def test_evidence_is_the_checks_table_as_a_dataframe_to_keep_working_with(shop):
    file, prepared = shop
    audit = workbook.open_audit(str(file), str(prepared.folder))
    found = {f.check_id: f for f in audit.run_stage("conversion")}
    ev = audit.evidence("conversion.cart_abandonment")
    assert isinstance(ev, pd.DataFrame) and not ev.empty
    pd.testing.assert_frame_equal(ev, found["conversion.cart_abandonment"].table)
    ev.loc[:, ev.columns[0]] = None  # the analyst's copy: the finding (its card, its CSV) keeps its evidence
    assert found["conversion.cart_abandonment"].table.iloc[:, 0].notna().all()
    assert audit.finding("conversion.cart_abandonment") is found["conversion.cart_abandonment"]  # not run again
    other = audit.evidence("retention.over_contacting")  # a check of a stage not run yet is run for it
    assert isinstance(other, pd.DataFrame) and audit.finding("retention.over_contacting").table is not None
    assert 'class="la-finding' in audit.finding("conversion.cart_abandonment")._repr_html_()  # a card in JupyterLab
    with pytest.raises(CheckError, match="unknown check"):
        audit.evidence("conversion.nothing")


def test_evidence_of_a_check_that_could_not_run_says_why(shop):
    file, _ = shop
    only_orders = kit.tables(orders=kit.orders(customer_id=["a", "b"], days=[0, 3], revenue=20.0))
    audit = workbook.Audit(params=params_mod.load(file), tables=only_orders)
    with pytest.raises(NoEvidence, match=r"conversion.cart_abandonment has no evidence \(not_run\): .*events"):
        audit.evidence("conversion.cart_abandonment")


def test_an_analyst_can_audit_another_period_from_the_parameters_cell(shop):
    file, prepared = shop
    whole = workbook.open_audit(str(file), str(prepared.folder))
    start, end = whole.tables.period
    later = (start + pd.Timedelta(days=40)).date().isoformat()
    part = workbook.open_audit(str(file), str(prepared.folder), period_start=later)
    assert part.params.period.start.isoformat() == later and part.tables.period == (pd.Timestamp(later), end)
    # the measures follow the period asked for: less of the shop's revenue falls in it
    assert 0 < orders.period_revenue(part.tables) < orders.period_revenue(whole.tables)
    assert workbook.open_audit(str(file), str(prepared.folder)).tables.period == (start, end)  # the file unchanged
    with pytest.raises(ParamsError, match="after its end"):
        workbook.open_audit(str(file), str(prepared.folder), period_start="2030-01-01", period_end="2029-01-01")


def test_an_audits_duckdb_is_held_to_the_kernel_memory_and_spills_under_the_cache():
    t = Tables.from_frames(kit.shop(customers=300))
    before = t.con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]
    workbook._hold_memory(t)
    limit, spill = t.con.raw_sql("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    assert limit != before and limit.endswith("MiB") and float(limit.split()[0]) < 1024  # 1GB, as DuckDB shows it
    assert Path(spill).parent == paths.CACHE
    assert t.con.raw_sql("SELECT count(*) FROM orders").fetchone()[0] > 0  # queries still run


def test_a_table_is_opened_when_first_asked_for(tmp_path):
    """Tables.from_folder knows every table of the folder but opens (reads the schema of) only those asked for."""
    synth.write_shop(kit.shop(customers=200), tmp_path)
    t = Tables.from_folder(tmp_path)
    assert t.has("events") and t.has("orders") and "events" in t.names
    assert t.con.list_tables() == []
    assert t["orders"].count().execute() == len(pd.read_parquet(tmp_path / "orders.parquet"))
    assert t.con.list_tables() == ["orders"]
    assert t["orders"] is t["orders"]  # opened once
