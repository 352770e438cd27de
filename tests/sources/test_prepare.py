"""prepare: canonical Parquet in a content-keyed cache, the too-many-rejected rule, the demo shop."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path

import pandas as pd
import pytest

from lifecycle_audit import contract, params, sources
from lifecycle_audit.errors import AuditError, SourceError
from lifecycle_audit.sources import read as source_read
from tests.kit.sources import CUSTOMERS_CSV, make_params, write


def shop(tmp_path) -> params.Params:
    write(tmp_path, "customers.csv", CUSTOMERS_CSV)
    write(
        tmp_path, "orders.csv", "order_id;customer_id;order_time;revenue\nA1;C1;2025-01-05;10,5\nA2;C2;2025-01-06;20\n"
    )
    return make_params(
        tmp_path, {"customers": {"file": "customers.csv"}, "orders": {"file": "orders.csv", "read": {"decimal": ","}}}
    )


def test_prepare_writes_canonical_parquet_with_contract_dtypes(tmp_path):
    p = shop(tmp_path)

    prepared = sources.prepare(p)

    assert prepared.folder.parent == tmp_path / "cache" / "tables" / "acme"
    assert sorted(f.name for f in prepared.folder.iterdir()) == [
        "accounting.json",
        "customers.parquet",
        "orders.parquet",
    ]
    for name in ("customers", "orders"):
        df = pd.read_parquet(prepared.path(name))
        assert {c: str(t) for c, t in df.dtypes.items()} == {
            c.name: contract.PANDAS_DTYPES[c.kind] for c in contract.TABLES[name].columns
        }
    assert pd.read_parquet(prepared.path("orders"))["revenue"].tolist() == [10.5, 20.0]
    accounting = json.loads((prepared.folder / "accounting.json").read_text())
    assert accounting["tables"]["orders"]["rows_used"] == 2
    assert (
        prepared.to_dict()["tables"]["customers"]["sha256"]
        == hashlib.sha256((tmp_path / "customers.csv").read_bytes()).hexdigest()
    )


def test_prepare_reuses_a_complete_cache_without_reading_again(tmp_path, monkeypatch):
    p = shop(tmp_path)
    reads = []
    real = source_read._read_text
    monkeypatch.setattr(source_read, "_read_text", lambda *a, **k: reads.append(a[0].name) or real(*a, **k))

    first = sources.prepare(p)
    stamp = first.path("orders").stat().st_mtime_ns
    second = sources.prepare(p)

    assert sorted(reads) == ["customers.csv", "orders.csv"]  # read once, by the first call only
    assert second.reused and not first.reused and second.folder == first.folder
    assert second.path("orders").stat().st_mtime_ns == stamp
    assert second.to_dict() == {**first.to_dict()}  # the accounting comes back from the cache

    # a changed input file gives a new folder
    write(tmp_path, "orders.csv", "order_id;customer_id;order_time;revenue\nA1;C1;2025-01-05;11\n")
    third = sources.prepare(p)
    assert third.folder != first.folder and not third.reused and third.loads["orders"].rows_used == 1


def test_prepare_raises_when_too_many_rows_are_rejected(tmp_path):
    rows = "".join(f"C{i},2025-01-01,email\n" for i in range(97)) + "C97,soon,email\nC98,2025-01-01,tv\n"
    write(tmp_path, "customers.csv", "customer_id,first_seen_at,acquisition_channel\n" + rows)
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    with pytest.raises(SourceError) as err:
        sources.prepare(p)

    message = str(err.value)
    assert "table customers: 2 of 99 rows (2.0%) were rejected, more than the 1.0% allowed" in message
    assert "unparsable_date" not in message and "'soon'" in message  # the reasons come with it
    assert isinstance(err.value, AuditError)
    assert {pr.kind for pr in err.value.problems} == {"unparsable_date", "not_allowed", "too_many_rejected"}
    assert not (tmp_path / "cache" / "tables" / "acme").exists() or not any(
        (tmp_path / "cache" / "tables" / "acme").iterdir()
    )

    prepared = sources.prepare(p, max_rejected_share=0.05)
    assert prepared.loads["customers"].rows_used == 97
    with pytest.raises(SourceError):  # the cache does not bypass the limit
        sources.prepare(p)


def test_prepare_raises_on_fatal_problems(tmp_path):
    p = make_params(tmp_path, {"customers": {"file": "nowhere.csv"}})
    with pytest.raises(SourceError) as err:
        sources.prepare(p)
    assert [pr.kind for pr in err.value.problems] == ["missing_file"]
    assert "nowhere.csv: file not found" in str(err.value)


def test_client_files_are_not_modified(tmp_path):
    p = shop(tmp_path)
    before = {
        f.name: (hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns) for f in tmp_path.glob("*.csv")
    }

    prepared = sources.prepare(p)

    after = {f.name: (hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns) for f in tmp_path.glob("*.csv")}
    assert after == before
    assert prepared.loads["customers"].sha256 == before["customers.csv"][0]
    assert sorted(f.name for f in tmp_path.iterdir() if f.is_file()) == ["customers.csv", "orders.csv"]


def test_demo_data_is_made_anew_when_its_settings_or_the_generator_change(tmp_path):
    names = list(contract.TABLE_ORDER)
    sources_ = {name: {"file": f"{name}.parquet"} for name in names}
    p = make_params(tmp_path / "demo", sources_, demo={"customers": 200, "seed": 3, "profile": "healthy"})
    assert sources.ensure_demo_data(p) is True
    assert sources.ensure_demo_data(p) is False
    other_seed = make_params(tmp_path / "demo", sources_, demo={"customers": 200, "seed": 4, "profile": "healthy"})
    assert sources.ensure_demo_data(other_seed) is True  # other settings: a new shop
    stamp = tmp_path / "demo" / sources.DEMO_STAMP
    stamp.write_text(stamp.read_text().replace('"generator": "', '"generator": "old'))
    assert sources.ensure_demo_data(other_seed) is True  # an older generator's shop is replaced
    assert sources.ensure_demo_data(other_seed) is False


def test_ensure_demo_data_generates_once_and_the_shop_meets_the_contract(tmp_path):
    names = list(contract.TABLE_ORDER)
    p = make_params(
        tmp_path / "demo",
        {name: {"file": f"{name}.parquet"} for name in names},
        demo={"customers": 200, "seed": 3, "profile": "healthy"},
    )  # planted: no reviews at 200

    assert sources.ensure_demo_data(p) is True
    assert sources.ensure_demo_data(p) is False  # everything is there now
    assert sorted(f.name for f in (tmp_path / "demo").iterdir() if not f.name.startswith(".")) == sorted(
        f"{n}.parquet" for n in names
    )

    prepared = sources.prepare(p, max_rejected_share=0.0)  # the generator writes clean tables
    assert prepared.usable == names and not prepared.problems
    for name in names:
        load = prepared.loads[name]
        assert load.rows_in == load.rows_used > 0 and not load.rejected

    assert sources.ensure_demo_data(make_params(tmp_path / "x", {"customers": {"file": "c.csv"}})) is False


def _ensure_in_another_process(folder: str) -> bool:
    names = list(contract.TABLE_ORDER)
    p = make_params(
        Path(folder), {name: {"file": f"{name}.parquet"} for name in names}, demo={"customers": 200, "seed": 3}
    )
    return sources.ensure_demo_data(p)


@pytest.mark.heavy
def test_processes_asking_for_the_demo_shop_at_once_generate_it_once(tmp_path):
    """Chapters opened side by side (or notebooks tested in parallel) all ask for the demo shop: one generates it,
    the others wait and find it complete, instead of writing the same files at the same time."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        generated = pool.map(_ensure_in_another_process, [str(tmp_path / "demo")] * 3)
    assert sorted(generated) == [False, False, True]
    p = make_params(
        tmp_path / "demo",
        {name: {"file": f"{name}.parquet"} for name in contract.TABLE_ORDER},
        demo={"customers": 200, "seed": 3},
    )
    assert sources.prepare(p).usable == list(contract.TABLE_ORDER)
    assert (tmp_path / ".demo.lock").is_file()  # beside the shop's folder, not in it
    assert not [f.name for f in (tmp_path / "demo").iterdir() if f.suffix == ".lock"]
