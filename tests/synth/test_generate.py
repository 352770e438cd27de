"""Generating: the same arguments give the same tables; arguments are checked; shops are written out."""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow.parquet as pq
import pytest

from lifecycle_audit import synth
from lifecycle_audit.contract import TABLES
from lifecycle_audit.synth.generate import chunk_sizes


def test_same_seed_same_tables_other_seed_other_tables():
    a = synth.generate(customers=600, seed=11)
    b = synth.generate(customers=600, seed=11)
    c = synth.generate(customers=600, seed=12)
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["orders"].equals(c["orders"])
    assert not a["events"].equals(c["events"])


def test_no_mistakes_is_the_healthy_shop():
    a = synth.generate(customers=400, seed=3, mistakes=[])
    b = synth.generate(customers=400, seed=3, profile="healthy")
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name])


def test_unknown_mistake_or_profile():
    with pytest.raises(ValueError, match="weak_homepage"):
        synth.generate(customers=200, mistakes=["weak_homepage", "slow_checkout"])
    with pytest.raises(ValueError, match="healthy"):
        synth.generate(customers=200, profile="broken")


def test_other_end_and_months():
    t = synth.generate(customers=300, seed=5, end="2025-12-31", months=12)
    ev = t["events"]["event_time"]
    assert ev.max() < pd.Timestamp("2026-01-01") and ev.min() >= pd.Timestamp("2025-01-01")


def test_write_shop(tmp_path):
    t = synth.generate(customers=200, seed=1)
    paths = synth.write_shop(t, tmp_path / "shop")
    assert set(paths) == set(TABLES)
    for name, path in paths.items():
        assert path == tmp_path / "shop" / f"{name}.parquet"
        back = pd.read_parquet(path)
        assert list(back.columns) == list(t[name].columns) and len(back) == len(t[name])


# --- large shops, made of chunks -------------------------------------------------------------------------------

# sha256 of the tables of generate(customers=600, seed=11) as drawn before shops were made of chunks: a shop of
# up to synth.CHUNK customers must stay exactly that shop (the golden findings and planted-mistake tests use it).
BEFORE_CHUNKS = "008dfe4588c9c0f7"


def _digest(tables: dict[str, pd.DataFrame]) -> str:
    h = hashlib.sha256()
    for name in sorted(tables):
        h.update(name.encode())
        h.update(pd.util.hash_pandas_object(tables[name], index=False).values.tobytes())
    return h.hexdigest()[:16]


def test_a_shop_of_one_chunk_is_drawn_as_before():
    assert synth.CHUNK >= 600
    assert _digest(synth.generate(customers=600, seed=11)) == BEFORE_CHUNKS


def test_chunk_sizes_are_near_equal_and_at_most_the_chunk():
    assert chunk_sizes(700, 300) == [234, 233, 233]
    assert chunk_sizes(600, 600) == [600]
    assert chunk_sizes(100_001) == [50_001, 50_000]


def test_a_shop_of_chunks_holds_together():
    t = synth.generate(customers=700, seed=4, chunk=300)
    first = synth.generate(customers=234, seed=4)
    # the first chunk is the shop of its customers; the later ones are other customers with their own ids
    assert t["customers"]["customer_id"].iloc[:234].tolist() == first["customers"]["customer_id"].tolist()
    assert len(t["customers"]) == 700 and t["customers"]["customer_id"].is_unique
    assert t["customers"]["customer_id"].str.endswith("-2").sum() == 233
    for name, table in TABLES.items():
        if table.key:
            assert not t[name].duplicated(list(table.key)).any(), (name, table.key)
        for col in table.columns:
            if col.references:
                ref_table, ref_col = col.references.split(".")
                values = t[name][col.name].dropna()
                assert values.isin(t[ref_table][ref_col]).all(), (name, col.name)
    # one row per day and paid channel, the chunks' amounts summed; the catalogue is the same in every chunk
    assert not t["spend"].duplicated(["date", "channel"]).any()
    assert len(t["spend"]) == len(first["spend"])
    assert t["spend"]["amount"].sum() > 2.5 * first["spend"]["amount"].sum()
    pd.testing.assert_frame_equal(t["prices"], first["prices"])
    assert t["events"]["product_id"].dropna().isin(t["prices"]["product_id"]).all()


def test_write_generated_writes_the_generated_shop_chunk_by_chunk(tmp_path):
    rows = synth.write_generated(tmp_path / "shop", customers=700, seed=4, chunk=300)
    t = synth.generate(customers=700, seed=4, chunk=300)
    assert rows == {name: len(df) for name, df in t.items()}
    for name in TABLES:
        back = pd.read_parquet(tmp_path / "shop" / f"{name}.parquet")
        pd.testing.assert_frame_equal(back, t[name], check_dtype=False, obj=name)
        assert pq.ParquetFile(tmp_path / "shop" / f"{name}.parquet").num_row_groups == (
            1 if name in ("spend", "prices") else 3
        )
