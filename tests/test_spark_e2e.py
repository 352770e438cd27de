"""The same audit on Spark: `engine: {backend: pyspark}` in local mode gives the findings DuckDB gives.

"Identical" means: the same checks with the same status, score, reason, value, money at stake, evidence table and
chart data, where two floats count as equal within a relative 1e-9 (Spark adds floats in another order than DuckDB,
so a sum may differ in its last bits; any real difference is far larger). Needs the spark extra (`make spark`) and
Java 17 or 21; skipped without them, except in CI, which installs both (.ci/run) and must run it.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import ibis.expr.datatypes as dt
import pandas as pd
import pytest
import yaml

from lifecycle_audit import contract, engine, params, privacy, runner, stages, synth, workbook
from lifecycle_audit.metrics import cohorts, presence, sessions, stored
from tests.kit import sorted_rows
from tests.kit.small_runs import write_params

REL_TOL = 1e-9
MASTER_ENV = "LIFECYCLE_AUDIT_TEST_SPARK_MASTER"


def _missing() -> str | None:
    """Why Spark cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (the spark extra: `make spark` or `pip install .[spark]`)"
    if shutil.which("java") is None:
        return "Java is missing (pyspark 4.0 needs Java 17 or 21; Debian: default-jre-headless)"
    return None


def need_spark() -> None:
    """Skip with the reason when Spark cannot run; in CI (which installs it) fail instead: the test must run there."""
    why = _missing()
    if why and os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI must run the Spark end-to-end test: {why}")
    if why:
        pytest.skip(why)


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where two findings (JSON values) differ: floats beyond REL_TOL, anything else not equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}.{k}: only in {'DuckDB' if k in a else 'Spark'}" for k in set(a) ^ set(b)]
        timed = [k for k in a if k in b and str(k).endswith("seconds")]  # how long it took (a model's fit_seconds)
        return out + [d for k in a if k in b and k not in timed for d in differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items on DuckDB, {len(b)} on Spark"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{where}[{i}]")]
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        if a == b or math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12):
            return []
        return [f"{where}: {a!r} on DuckDB, {b!r} on Spark"]
    return [] if a == b else [f"{where}: {a!r} on DuckDB, {b!r} on Spark"]


def test_differences_allow_last_bits_of_float_sums_and_nothing_more():
    duck = {"status": "fail", "value": 2.4993240004327286, "table": [{"n": 3, "share": 0.25}]}
    assert differences(duck, {"status": "fail", "value": 2.4993240004327273, "table": [{"n": 3, "share": 0.25}]}) == []
    assert differences(duck, {"status": "warn", "value": 2.4993240004327286, "table": [{"n": 3, "share": 0.25}]})
    assert differences(duck, {"status": "fail", "value": 2.4994, "table": [{"n": 3, "share": 0.25}]})
    assert differences(duck, {"status": "fail", "value": 2.4993240004327286, "table": [{"n": 4, "share": 0.25}]})
    assert differences(duck, {"status": "fail", "value": 2.4993240004327286, "table": []})
    assert (
        differences({"details": {"fit_seconds": 3.4, "buyers": 9}}, {"details": {"fit_seconds": 0.8, "buyers": 9}})
        == []
    )


def test_spark_runs_locally_unless_a_cluster_is_named():
    master, conf = engine.spark_settings(None)
    assert master == "local[*]"
    assert conf["spark.sql.shuffle.partitions"] == "4" and conf["spark.ui.enabled"] == "false"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    master, conf = engine.spark_settings("spark://audit-cluster:7077")
    assert master == "spark://audit-cluster:7077"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert "spark.sql.shuffle.partitions" not in conf and "spark.driver.host" not in conf  # the cluster's own


def test_params_name_the_master_by_environment_variable_and_a_shared_tables_folder(tmp_path, monkeypatch):
    e = params.Engine(backend="pyspark", connection_env=MASTER_ENV, tables_dir=str(tmp_path / "shared"))
    monkeypatch.setenv(MASTER_ENV, "spark://audit-cluster:7077")
    assert e.connection_url() == "spark://audit-cluster:7077"
    assert e.tables_root() == tmp_path / "shared"
    assert params.Engine().tables_root() is None  # the project's .cache/


def test_spark_opens_each_table_with_the_schema_it_would_infer(tmp_path):
    """On Spark the tables are opened with each Parquet file's schema read from its footer (Spark would run a job per
    file to infer it): that schema must be the one Spark infers, column by column, or a column would be read as
    another type. A type outside SPARK_PARQUET_TYPES, or a file not readable here, is left to Spark's inference."""
    need_spark()
    frames = synth.generate(customers=300, seed=3, profile="planted")
    for name, df in frames.items():
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    spark = engine.spark_session("local[2]")
    for name in frames:
        path = tmp_path / f"{name}.parquet"
        given = engine.spark_parquet_schema(path)
        assert given is not None, name
        assert given == spark.read.parquet(str(path)).schema, name
    odd = tmp_path / "odd" / "orders.parquet"
    odd.parent.mkdir()
    at = pd.Series(pd.to_datetime(["2024-01-01 10:00"]).tz_localize("UTC"))
    pd.DataFrame({"order_id": ["o1"], "placed": at, "n": pd.Series([3], dtype="int8")}).to_parquet(odd, index=False)
    assert engine.spark_parquet_schema(odd) is None
    assert engine.spark_parquet_schema(tmp_path / "absent.parquet") is None
    opened = engine.Tables.from_folder(odd.parent, backend="pyspark")  # inferred by Spark: zoned time, small integer
    assert dict(opened["orders"].schema().items()) == {"order_id": dt.string, "placed": dt.timestamp, "n": dt.int8}
    assert engine.Tables.from_folder(tmp_path, backend="pyspark")["orders"].count().execute() == len(frames["orders"])


def test_spark_stores_the_derived_tables_it_reads_back_as_it_computes_them(tmp_path):
    """Spark writes the derived tables with its own writer (a folder of part files each), named apart from
    DuckDB's; read back with the schema of their footers, they hold the rows Spark computes from the events."""
    need_spark()
    synth.write_shop(synth.generate(customers=400, seed=5, profile="planted"), tmp_path)
    written = stored.store_folder(tmp_path, "pyspark", "local[2]")
    profiles = [presence.stored_key(name) for name in contract.TABLE_ORDER if (tmp_path / f"{name}.parquet").is_file()]
    assert written == ["sessions", "first_orders", *profiles]
    assert all(stored.stored_path(tmp_path, key, "pyspark").is_dir() for key in written)
    assert stored.missing(tmp_path, "pyspark") == []
    assert stored.missing(tmp_path) == written  # DuckDB does not read Spark's: it computes its own
    assert stored.store_folder(tmp_path, "pyspark", "local[2]") == []  # stored once
    reused, fresh = (engine.Tables.from_folder(tmp_path, backend="pyspark") for _ in range(2))
    assert stored.attach(reused, tmp_path) == written
    assert reused.is_stored("sessions") and not fresh.is_stored("sessions")
    pd.testing.assert_frame_equal(
        sorted_rows(sessions.sessions(reused), "session_id"), sorted_rows(sessions.sessions(fresh), "session_id")
    )
    pd.testing.assert_frame_equal(
        sorted_rows(cohorts.first_orders(reused), "customer_id"),
        sorted_rows(cohorts.first_orders(fresh), "customer_id"),
    )
    assert presence.profile(reused, "events").equals(presence.profile(fresh, "events"))


def _params(tmp_path: Path, client: str, data: Path, engine_section: dict[str, Any] | None) -> Path:
    """A params file for the small generated shop in `data` (generated once, shared by both runs)."""
    path = write_params(tmp_path, client, demo={"customers": 1500, "seed": 11, "profile": "planted"}, data_dir=data)
    if engine_section:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc["engine"] = engine_section
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.e2e
@pytest.mark.slow
def test_the_audit_on_spark_finds_what_duckdb_finds(tmp_path, monkeypatch):
    """The whole audit (every stage notebook) on Spark local mode; then every check on DuckDB over the same canonical
    tables, in this process (the DuckDB notebooks run in the other end-to-end tests): the same findings."""
    need_spark()
    monkeypatch.setenv(MASTER_ENV, "local[2]")
    shared = tmp_path / "shared"
    spark_engine = {"backend": "pyspark", "connection_env": MASTER_ENV, "tables_dir": str(shared)}
    spark = runner.run(_params(tmp_path, "shop-spark", tmp_path / "data", spark_engine), jobs=2, progress=False)
    assert spark.ok, spark.failed
    folders = list(shared.glob("tables/shop-spark/*"))
    assert [f.name for f in folders if (f / "orders.parquet").is_file()], "the canonical tables go to tables_dir"
    assert stored.missing(folders[0], "pyspark") == [], "Spark stored the derived tables beside them, once"
    for name in stages.NOTEBOOKS.values():  # every view of every stage notebook worked on Spark
        page = (spark.run_dir / f"{name}.html").read_text(encoding="utf-8")
        assert "could not be shown" not in page, name

    duck = workbook.open_audit(str(_params(tmp_path, "shop-duckdb", tmp_path / "data", None)), str(folders[0]))
    assert duck.params.engine.backend == "duckdb"
    # the run scrubbed its folder (raw customer ids, secrets of the environment): the DuckDB findings are scrubbed alike
    secrets, ids = privacy.secret_values(names=[MASTER_ENV]), privacy.known_ids(folders[0])
    compared = judged = 0
    for stage in stages.CHECKED:
        on_spark = json.loads((spark.run_dir / "findings" / f"{stage}.json").read_text(encoding="utf-8"))
        text = json.dumps([f.to_dict() for f in duck.run_stage(stage)], indent=1, ensure_ascii=False, default=str)
        on_duckdb = json.loads(privacy.scrub_text(text, secrets, ids))
        assert [f["check_id"] for f in on_duckdb] == [f["check_id"] for f in on_spark], stage
        for a, b in zip(on_duckdb, on_spark, strict=True):
            a.pop("seconds", None), b.pop("seconds", None)
            diff = differences(a, b, a["check_id"])
            assert diff == [], "\n".join(diff[:40])
            compared += 1
            judged += a["status"] in ("pass", "warn", "fail")
    assert compared == len(spark.findings)
    assert judged >= 20, judged  # the comparison covers most of the catalogue, not only checks that did not run
