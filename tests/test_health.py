"""Stage 0: what each column of the supplied tables holds, and which checks the data lets judge."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit import health, synth
from lifecycle_audit.engine import Tables
from lifecycle_audit.metrics import stored
from tests.kit import T0, customers, events, messages, shop, tables


def _tables():
    cu = customers(customer_id=["a", "b", "c", "d"], days=[0, 1, 2, 30], email_opt_in=[True, False, None, None])
    ev = events(
        session_id=["s1", "s1", "s2"],
        customer_id=["a", "a", None],
        event_type=["page_view", "add_to_cart", "page_view"],
        page_type=["home", "product", "home"],
        channel=None,
        hours=[0, 1, 50],
    )
    ms = messages(customer_id=["a", "b"], channel="postal", message_type=["promo", "winback"], days=[3, 4])
    return tables(customers=cu, events=ev, messages=ms)


def test_coverage_measures_each_column_filled_distinct_span_and_kinds():
    c = health.coverage(_tables()).set_index("column")
    assert set(c["table"]) == {"customers", "events", "messages"}
    opt = c.loc["customers.email_opt_in"]
    assert opt["rows"] == 4 and opt["filled"] == pytest.approx(0.5) and opt["distinct"] == 2
    assert opt["kinds"] == "false 1 · true 1"  # most frequent first, ties by value
    seen = c.loc["customers.first_seen_at"]
    assert pd.Timestamp(seen["from"]) == T0 and pd.Timestamp(seen["to"]) == T0 + pd.Timedelta(days=30)
    assert c.loc["customers.loyalty_member_since", "filled"] == 0  # empty on every row: shown as such
    assert c.loc["customers.loyalty_member_since", "kinds"] == "not supplied"
    assert c.loc["events.event_type", "kinds"] == "page_view 2 · add_to_cart 1"
    assert c.loc["events.page_type", "kinds"] == "home 2 · product 1"
    assert c.loc["events.channel", "filled"] == 0 and c.loc["events.channel", "kinds"] == "not supplied"
    assert c.loc["events.customer_id", "filled"] == pytest.approx(2 / 3)
    assert c.loc["messages.channel", "kinds"] == "postal 2"
    assert c.loc["messages.message_type", "kinds"] == "promo 1 · winback 1"


def test_readiness_names_the_unmet_needs_of_each_check():
    r = health.readiness(_tables()).set_index("check")
    untracked = r.loc["reach.untracked_traffic"]
    assert untracked["state"] == "cannot run" and untracked["missing"] == "events.channel"
    assert "channel" in untracked["reason"] and "empty on every row" in untracked["reason"]
    thanks = r.loc["conversion.thank_you"]
    assert thanks["missing"] == "orders.customer_id, messages.message_type=thank_you"
    assert "orders table, which was not supplied" in thanks["reason"]
    home = r.loc["acquisition.homepage_value_proposition"]
    assert home["state"] == "ready" and home["missing"] == ""


def test_readiness_by_stage_counts_each_state_per_stage_in_catalogue_order():
    ready = health.readiness(_tables())
    per = health.readiness_by_stage(ready).set_index("stage")
    assert list(per.index) == list(dict.fromkeys(ready["stage"]))  # the catalogue's stage order, not alphabetical
    for stage, rows in ready.groupby("stage"):
        assert per.loc[stage, "ready"] == (rows["state"] == "ready").sum()
        assert per.loc[stage, "cannot run"] == (rows["state"] == "cannot run").sum()
    assert per[["ready", "cannot run"]].to_numpy().sum() == len(ready)


def test_coverage_counts_exactly_what_an_independent_count_of_the_same_rows_finds():
    """Every count of the coverage view against pandas counting the very frames: rows, filled rows and distinct
    values, on a generated shop with values repeated, columns partly and wholly empty and yes/no kinds."""
    frames = shop(customers=800, seed=5)
    cu = frames["customers"].copy()
    cu.loc[cu.index[::3], "country"] = None
    cu.loc[cu.index[::4], "email_opt_in"] = None
    cu["loyalty_member_since"] = pd.NaT
    frames["customers"] = cu
    t = tables(**frames)
    c = health.coverage(t).set_index("column")
    for name in c["table"].unique():
        df = t[name].to_pandas()
        for col in df.columns:
            row = c.loc[f"{name}.{col}"]
            assert row["rows"] == len(df), col
            assert row["distinct"] == df[col].nunique(), col
            assert row["filled"] == (pytest.approx(df[col].notna().sum() / len(df)) if len(df) else None), col
    assert c.loc["customers.email_opt_in", "distinct"] == 2 and c.loc["customers.loyalty_member_since", "distinct"] == 0


def test_coverage_takes_the_distinct_sessions_from_the_stored_sessions_and_they_are_exact(tmp_path, monkeypatch):
    """With the sessions stored (as in a run), the events' distinct session ids are the stored sessions' rows and
    a one-column key's distinct values its filled rows, not counted again: the same figures as pandas counting the
    files, and as the coverage of tables with nothing stored."""
    synth.write_shop(shop(customers=500, seed=3), tmp_path)
    plain = health.coverage(Tables.from_folder(tmp_path)).set_index("column")
    stored.store(Tables.from_folder(tmp_path), tmp_path)
    t = Tables.from_folder(tmp_path)
    stored.attach(t, tmp_path)
    counted = []
    real_nunique = type(t["events"].session_id).nunique
    monkeypatch.setattr(
        type(t["events"].session_id), "nunique", lambda c: counted.append(c.get_name()) or real_nunique(c)
    )
    c = health.coverage(t).set_index("column")
    assert "session_id" not in counted and "message_id" not in counted and "order_id" in counted  # lines: no key
    pd.testing.assert_frame_equal(c, plain)
    for name, col in [("events", "session_id"), ("messages", "message_id"), ("customers", "customer_id")]:
        assert c.loc[f"{name}.{col}", "distinct"] == pd.read_parquet(tmp_path / f"{name}.parquet")[col].nunique() > 10
