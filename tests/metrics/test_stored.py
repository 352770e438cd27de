"""Derived tables stored beside the canonical tables: computed once, read back unchanged, never read stale."""

from __future__ import annotations

import pandas as pd

from lifecycle_audit import synth
from lifecycle_audit.engine import Tables
from lifecycle_audit.metrics import cohorts, sessions, stored
from tests.kit import shop


def _folder(tmp_path, **leave_out):
    frames = {k: v for k, v in shop(customers=600).items() if k not in leave_out}
    synth.write_shop(frames, tmp_path)
    return tmp_path


def _sorted(t, key: str) -> pd.DataFrame:
    return t.to_pandas().sort_values(key, ignore_index=True)


def test_stored_sessions_and_first_orders_are_those_computed_in_the_kernel(tmp_path):
    folder = _folder(tmp_path)
    assert stored.store(Tables.from_folder(folder), folder) == ["sessions", "first_orders"]
    assert stored.store(Tables.from_folder(folder), folder) == []  # stored once: a second run reuses them
    fresh, reused = Tables.from_folder(folder), Tables.from_folder(folder)
    assert stored.attach(reused, folder) == ["sessions", "first_orders"]
    # read from the file: the engine scans the Parquet file, no table is cached in memory
    assert "derived_sessions" in reused.con.list_tables()
    pd.testing.assert_frame_equal(
        _sorted(sessions.sessions(reused), "session_id"), _sorted(sessions.sessions(fresh), "session_id")
    )
    pd.testing.assert_frame_equal(
        _sorted(cohorts.first_orders(reused), "customer_id"), _sorted(cohorts.first_orders(fresh), "customer_id")
    )
    assert sessions.by_channel(reused).equals(sessions.by_channel(fresh))


def test_a_derived_table_of_other_code_is_not_read(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    stored.store(Tables.from_folder(folder), folder)
    changed = tmp_path / "sessions_changed.py"
    changed.write_text("# the sessions defined otherwise\n")
    needs, rows, _ = stored.STORED["sessions"]
    monkeypatch.setitem(stored.STORED, "sessions", (needs, rows, changed))
    assert stored.attach(Tables.from_folder(folder), folder) == ["first_orders"]


def test_nothing_is_stored_for_a_table_the_shop_did_not_supply(tmp_path):
    folder = _folder(tmp_path, events=True)
    assert stored.store(Tables.from_folder(folder), folder) == ["first_orders"]
    assert not list((folder / stored.FOLDER).glob("sessions.*"))
