"""Generating: the same arguments give the same tables; arguments are checked; shops are written out."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit import synth
from lifecycle_audit.contract import TABLES


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
