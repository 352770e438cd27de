"""The params file: a strict, typed model with errors that say where and what."""

import subprocess
import sys

import pytest

from lifecycle_audit import params, paths
from lifecycle_audit.errors import ParamsError

BASE = {
    "client": "acme",
    "data_dir": "data/acme",
    "sources": {"orders": {"file": "orders.csv", "columns": {"order_id": "Bestellnummer"}}},
}


def load(**changes):
    return params.from_dict({**BASE, **changes}, "acme.yaml")


def test_demo_and_healthy_params_load():
    demo = params.load()
    assert (
        demo.client == "demo"
        and demo.demo.profile == "planted"
        and set(demo.sources)
        == {
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
        }
    )
    assert demo.data_path == paths.ROOT / "data" / "demo"
    assert params.load("params/healthy.yaml").demo.profile == "healthy"


def test_defaults_and_paths():
    p = load()
    assert (p.currency, p.locale, p.output) == ("EUR", "en", "reports")
    assert p.source_path("orders") == paths.ROOT / "data" / "acme" / "orders.csv"
    assert p.sources["orders"].file_format == "csv"
    assert p.output_path == paths.ROOT / "reports" / "acme"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"clinet": "x"}, "clinet: Extra inputs are not permitted"),
        ({"locale": "fr"}, "locale: Input should be 'en', 'de' or 'id'"),
        ({"currency": "euro"}, "currency"),
        ({"sources": {"ordres": {"file": "o.csv"}}}, "unknown table 'ordres'"),
        ({"sources": {"orders": {"file": "o.csv", "columns": {"order_nr": "X"}}}}, "not a column of orders"),
        ({"period": {"start": "2026-05-01", "end": "2026-01-01"}}, "is after its end"),
        ({"period": {"warmup_days": -1}}, "period.warmup_days: Input should be greater than or equal to 0"),
    ],
)
def test_mistakes_in_params_name_their_place(changes, message):
    with pytest.raises(ParamsError) as err:
        load(**changes)
    assert message in str(err.value) and "acme.yaml" in str(err.value)


def test_secrets_are_refused_and_read_from_the_environment(monkeypatch):
    with pytest.raises(ParamsError, match=r"engine\.password: secrets do not belong"):
        load(engine={"password": "hunter2"})
    p = load(engine={"backend": "duckdb", "connection_env": "ACME_WAREHOUSE_URL"})
    with pytest.raises(ParamsError, match="ACME_WAREHOUSE_URL"):
        p.engine.connection_url()
    monkeypatch.setenv("ACME_WAREHOUSE_URL", "duckdb:///tmp/x.db")
    assert p.engine.connection_url() == "duckdb:///tmp/x.db"
    assert "duckdb:///tmp/x.db" not in p.model_dump_json()


def test_threshold_overrides_are_kept(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(
        "client: acme\ndata_dir: data/acme\nthresholds:\n  conversion.cart_abandonment: {good: 0.5, poor: 0.6}\n"
    )
    assert params.load(f).thresholds["conversion.cart_abandonment"] == {"good": 0.5, "poor": 0.6}
    with pytest.raises(ParamsError, match="not found"):
        params.load(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("client: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        params.load(tmp_path / "bad.yaml")


def test_params_neither_import_nor_need_the_sources():
    code = (
        "import sys; from lifecycle_audit import params; "
        "params.from_dict({'client': 'a', 'data_dir': 'd', 'sources': {"
        "'x': {'preset': 'transaction_lines', 'file': 'a.csv', 'options': {'guest_line': 'keep'}}}}); "
        "print(sorted(m for m in sys.modules if m.startswith('lifecycle_audit.sources')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # a preset entry's options are checked by sources.check_params
