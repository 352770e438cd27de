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
    monkeypatch.setitem(stored.STORED, "sessions", stored.STORED["sessions"]._replace(module=changed))
    assert stored.attach(Tables.from_folder(folder), folder) == ["first_orders"]


def test_nothing_is_stored_for_a_table_the_shop_did_not_supply(tmp_path):
    folder = _folder(tmp_path, events=True)
    assert stored.store(Tables.from_folder(folder), folder) == ["first_orders"]
    assert not list((folder / stored.FOLDER).glob("sessions.*"))


def test_large_sessions_are_stored_in_parts_that_together_are_the_one_pass(tmp_path, monkeypatch):
    """Split by the hashed session id (signed: a part number must not be negative), every session lies wholly in
    one part: the parts hold each session once, with the same values as one pass over all the events. The events
    are split in several batches, each spread over every part file."""
    folder = _folder(tmp_path)
    one_pass = _sorted(sessions.session_rows(Tables.from_folder(folder)), "session_id")
    events = len(pd.read_parquet(folder / "events.parquet", columns=["session_id"]))
    monkeypatch.setattr(stored, "PART_ROWS", events // 7)  # eight parts
    monkeypatch.setattr(stored, "SPLIT_ROWS", events // 4)  # five batches
    stored.store(Tables.from_folder(folder), folder)
    parts = _sorted(Tables.from_folder(folder).con.read_parquet(stored.stored_path(folder, "sessions")), "session_id")
    assert len(parts) == len(one_pass) > 100
    pd.testing.assert_frame_equal(parts, one_pass)


def test_missing_names_what_a_folder_lacks_for_the_tables_it_holds(tmp_path):
    folder = _folder(tmp_path, events=True)
    assert stored.missing(folder) == ["first_orders"]  # no events: no sessions to store
    stored.store(Tables.from_folder(folder), folder)
    assert stored.missing(folder) == []
