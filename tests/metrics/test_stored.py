"""Derived tables stored beside the canonical tables: computed once, read back unchanged, never read stale."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit import contract, synth
from lifecycle_audit.engine import Tables
from lifecycle_audit.metrics import cohorts, presence, sessions, stored
from tests.kit import shop, sorted_rows

PROFILES = [presence.stored_key(name) for name in contract.TABLE_ORDER]


def _folder(tmp_path, **leave_out):
    frames = {k: v for k, v in shop(customers=600).items() if k not in leave_out}
    synth.write_shop(frames, tmp_path)
    return tmp_path


def test_stored_sessions_and_first_orders_are_those_computed_in_the_kernel(tmp_path):
    folder = _folder(tmp_path)
    supplied = [presence.stored_key(name) for name in Tables.from_folder(folder).names]
    assert stored.store(Tables.from_folder(folder), folder) == ["sessions", "first_orders", *supplied]
    assert stored.store(Tables.from_folder(folder), folder) == []  # stored once: a second run reuses them
    fresh, reused = Tables.from_folder(folder), Tables.from_folder(folder)
    assert stored.attach(reused, folder) == ["sessions", "first_orders", *supplied]
    assert "derived_sessions" not in reused.con.list_tables()  # opened when first asked for
    pd.testing.assert_frame_equal(
        sorted_rows(sessions.sessions(reused), "session_id"), sorted_rows(sessions.sessions(fresh), "session_id")
    )
    # read from the file: the engine scans the Parquet file, no table is cached in memory
    assert "derived_sessions" in reused.con.list_tables()
    pd.testing.assert_frame_equal(
        sorted_rows(cohorts.first_orders(reused), "customer_id"),
        sorted_rows(cohorts.first_orders(fresh), "customer_id"),
    )
    assert sessions.by_channel(reused).equals(sessions.by_channel(fresh))


def test_a_derived_table_of_other_code_is_not_read(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    stored.store(Tables.from_folder(folder), folder)
    changed = tmp_path / "sessions_changed.py"
    changed.write_text("# the sessions defined otherwise\n")
    monkeypatch.setitem(stored.STORED, "sessions", stored.STORED["sessions"]._replace(module=changed))
    assert stored.attach(Tables.from_folder(folder), folder)[:2] == ["first_orders", "presence.customers"]


def test_nothing_is_stored_for_a_table_the_shop_did_not_supply(tmp_path):
    folder = _folder(tmp_path, events=True)
    written = stored.store(Tables.from_folder(folder), folder)
    assert written[0] == "first_orders" and "sessions" not in written and "presence.events" not in written
    assert not list((folder / stored.FOLDER).glob("sessions.*"))
    assert not list((folder / stored.FOLDER).glob("presence.events.*"))


def test_large_sessions_are_stored_in_parts_that_together_are_the_one_pass(tmp_path, monkeypatch):
    """Split by the hashed session id (signed: a part number must not be negative), every session lies wholly in
    one part: the parts hold each session once, with the same values as one pass over all the events. The events
    are split in several batches, each spread over every part file."""
    folder = _folder(tmp_path)
    one_pass = sorted_rows(sessions.session_rows(Tables.from_folder(folder)), "session_id")
    events = len(pd.read_parquet(folder / "events.parquet", columns=["session_id"]))
    monkeypatch.setattr(stored, "PART_ROWS", events // 7)  # eight parts
    monkeypatch.setattr(stored, "SPLIT_ROWS", events // 4)  # five batches
    stored.store(Tables.from_folder(folder), folder)
    parts = sorted_rows(
        Tables.from_folder(folder).con.read_parquet(stored.stored_path(folder, "sessions")), "session_id"
    )
    assert len(parts) == len(one_pass) > 100
    pd.testing.assert_frame_equal(parts, one_pass)


def test_missing_names_what_a_folder_lacks_for_the_tables_it_holds(tmp_path):
    folder = _folder(tmp_path, events=True)
    supplied = [key for key in PROFILES if (folder / f"{key.split('.')[1]}.parquet").is_file()]
    assert "presence.events" not in supplied and "presence.orders" in supplied
    assert stored.missing(folder) == ["first_orders", *supplied]  # no events: no sessions, no profile of them
    stored.store(Tables.from_folder(folder), folder)
    assert stored.missing(folder) == []


@pytest.mark.parametrize("name", ["events", "messages", "customers", "orders"])
def test_a_stored_profile_is_the_one_computed_and_is_read_not_computed(tmp_path, monkeypatch, name):
    """Every stage asks which columns and kinds a table holds: the answer is read from the stored rows, the same
    profile (filled rows, kinds, booleans as "true" / "false") as the grouped query over the whole table gives."""
    folder = _folder(tmp_path)
    fresh = presence.profile(Tables.from_folder(folder), name)
    stored.store(Tables.from_folder(folder), folder)
    reused = Tables.from_folder(folder)
    assert presence.stored_key(name) in stored.attach(reused, folder)

    def not_again(*_a, **_kw):
        raise AssertionError("the profile was computed again")

    monkeypatch.setattr(presence, "profile_rows", not_again)
    kept = presence.profile(reused, name)
    key = [c for c in fresh.columns if c != presence.ROWS]
    pd.testing.assert_frame_equal(
        kept.sort_values(key, ignore_index=True, na_position="first"),
        fresh.sort_values(key, ignore_index=True, na_position="first"),
    )
    assert fresh[presence.ROWS].sum() == len(pd.read_parquet(folder / f"{name}.parquet"))
