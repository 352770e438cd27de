"""The test-data kit: contract dtypes, time offsets, defaults, ids, and the run helpers."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit import contract
from tests import kit


@pytest.mark.parametrize("name", contract.TABLE_ORDER)
def test_every_table_has_the_contracts_columns_and_dtypes_even_when_empty(name):
    spec = contract.table(name)
    want = {c.name: contract.PANDAS_DTYPES[c.kind] for c in spec.columns}
    for df in (kit.table(name), getattr(kit, name)({})):
        assert list(df.columns) == list(spec.column_names)
        assert {c: str(t) for c, t in df.dtypes.items()} == want


def test_offsets_count_from_t0_on_the_time_column_and_add_up():
    ev = kit.events(dict(session_id="s1", minutes=5), dict(session_id="s2", days=1, hours=2))
    assert list(ev["event_time"]) == [kit.T0 + pd.Timedelta(minutes=5), kit.T0 + pd.Timedelta(days=1, hours=2)]
    od = kit.orders(dict(order_id="O1", days=-3), t0="2026-01-01")
    assert od["order_time"].iloc[0] == pd.Timestamp("2025-12-29")


def test_a_timedelta_counts_from_t0_in_the_time_column_and_from_the_row_elsewhere():
    ms = kit.messages(dict(hours=1, opened_at=pd.Timedelta(minutes=30)), dict(sent_at=pd.Timedelta(days=2)))
    assert ms["sent_at"].tolist() == [kit.T0 + pd.Timedelta(hours=1), kit.T0 + pd.Timedelta(days=2)]
    assert ms["opened_at"].iloc[0] == kit.T0 + pd.Timedelta(minutes=90) and pd.isna(ms["opened_at"].iloc[1])


def test_timestamps_may_be_given_as_such_and_dates_keep_the_day():
    od = kit.orders(dict(order_time="2026-04-01 12:30"), dict(order_time=pd.Timestamp("2026-04-02")))
    assert od["order_time"].tolist() == [pd.Timestamp("2026-04-01 12:30"), pd.Timestamp("2026-04-02")]
    sp = kit.spend(dict(channel="email", amount=10, hours=5))
    assert sp["date"].iloc[0] == kit.T0.normalize()


def test_defaults_fill_what_rows_leave_out_and_lists_give_one_value_a_row():
    ev = kit.events([dict(session_id="s1"), dict(session_id="s2", device="mobile")], device="desktop", minutes=[0, 1])
    assert ev["device"].tolist() == ["desktop", "mobile"]
    assert ev["event_time"].tolist() == [kit.T0, kit.T0 + pd.Timedelta(minutes=1)]
    assert ev["channel"].isna().all() and ev["customer_id"].isna().all()
    od = kit.orders(customer_id=["c1", "c2"], revenue=9)
    assert od["order_id"].tolist() == ["O0", "O1"] and od["revenue"].tolist() == [9.0, 9.0]


def test_columns_keeps_only_the_named_ones():
    cu = kit.customers(dict(customer_id="c1"), columns=["customer_id", "email_opt_in"])
    assert list(cu.columns) == ["customer_id", "email_opt_in"] and str(cu["email_opt_in"].dtype) == "boolean"
    with pytest.raises(ValueError, match="columns= leaves out"):
        kit.customers(dict(customer_id="c1", country="FR"), columns=["customer_id"])


def test_unknown_columns_and_uneven_lists_are_errors():
    with pytest.raises(KeyError, match="no column 'revenu'"):
        kit.orders(dict(revenu=1.0))
    with pytest.raises(ValueError, match="one value per row"):
        kit.orders(customer_id=["a", "b"], revenue=[1.0])
    with pytest.raises(ValueError, match="both order_time and an offset"):
        kit.orders(dict(order_time=kit.T0, days=1))


def test_run_gives_a_finding_and_a_missing_table_is_not_run():
    f = kit.run("retention.over_contacting", overrides={"min_messages": 1}, events=kit.events())
    assert f.check_id == "retention.over_contacting" and f.status == "not_run"


def test_shop_is_made_once_and_handed_out_as_copies():
    a = kit.shop("healthy", 200, 5)
    a["orders"].drop(a["orders"].index, inplace=True)
    b = kit.shop("healthy", 200, 5)
    assert len(b["orders"]) > 0
    assert kit.frames._generated.cache_info().hits >= 1
