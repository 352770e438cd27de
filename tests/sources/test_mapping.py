"""Mapping real exports: column alternatives per file, value patterns, shop-wide time zone, ids, JSON paths, items."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from lifecycle_audit import sources
from lifecycle_audit.errors import ParamsError
from lifecycle_audit.sources import mapping as mapping_module
from lifecycle_audit.sources import presets
from tests.kit.sources import make_params, write

ORDERS_HEAD = "order_id,customer_id,order_time,revenue\n"


def checked(tmp_path, sources_: dict, table: str, **extra):
    """check_sources over `sources_` (every file balanced), and the table's load."""
    p = make_params(tmp_path, sources_, max_rejected_share=0.5, **extra)
    prepared = sources.check_sources(p)
    for i in prepared.inputs:
        assert i.balanced, i
    return prepared, prepared.loads[table]


# --- alternatives across the files of one source ---------------------------------------------------


def drifted(tmp_path):
    (tmp_path / "o").mkdir()
    write(tmp_path, "o/day1.csv", "order_id,client_id,order_time,revenue\nA1,C1,2025-01-01,10\nA2,C2,2025-01-01,5\n")
    write(tmp_path, "o/day2.csv", "order_id,clientId,order_time,revenue\nB1,C3,2025-01-02,7\n")


def test_column_alternatives_are_chosen_per_file(tmp_path):
    drifted(tmp_path)
    source = {"file": "o/day*.csv", "columns": {"customer_id": ["client_id", "clientId"]}}
    df, load = sources.load_table(make_params(tmp_path, {"orders": source}), "orders")
    assert df["customer_id"].tolist() == ["C1", "C2", "C3"]
    assert load.rows_used == 3 and not load.rejected
    assert load.mapping["customer_id"] == "client_id | clientId"


def test_a_file_lacking_every_alternative_is_named_not_counted_as_empty_rows(tmp_path):
    drifted(tmp_path)
    write(tmp_path, "o/day3.csv", "order_id,kunde,order_time,revenue\nC1,C4,2025-01-03,7\n")
    source = {"file": "o/day*.csv", "columns": {"customer_id": ["client_id", "clientId"]}}
    _, load = checked(tmp_path, {"orders": source}, "orders")
    (problem,) = load.problems
    assert problem.kind == "missing_column" and problem.fatal and problem.file == "o/day3.csv"
    assert "'client_id', 'clientId'" in problem.message and "'kunde'" in problem.message
    assert "null_value" not in load.rejected


def test_a_single_name_missing_from_one_file_of_several_names_that_file(tmp_path):
    drifted(tmp_path)
    _, load = checked(tmp_path, {"orders": {"file": "o/day*.csv", "columns": {"customer_id": "client_id"}}}, "orders")
    (problem,) = load.problems
    assert problem.kind == "missing_column" and problem.file == "o/day2.csv" and "'clientId'" in problem.message


def test_a_mapped_name_no_file_has_is_reported_under_that_name(tmp_path):
    drifted(tmp_path)
    source = {"file": "o/day*.csv", "columns": {"customer_id": ["client_id", "clientId"], "order_time": "Datum"}}
    _, load = checked(tmp_path, {"orders": source}, "orders")
    (problem,) = load.problems
    assert problem.kind == "missing_column" and "column 'Datum' (contract orders.order_time)" in problem.message


def test_the_single_string_form_still_reads_one_file(tmp_path):
    write(tmp_path, "o.csv", "order_id,kunde,order_time,revenue\nA1,C1,2025-01-01,10\n")
    df, _ = sources.load_table(
        make_params(tmp_path, {"orders": {"file": "o.csv", "columns": {"customer_id": "kunde"}}}), "orders"
    )
    assert df["customer_id"].tolist() == ["C1"]


def test_alternatives_are_read_from_parquet_files_too(tmp_path):
    (tmp_path / "o").mkdir()
    day = {"order_id": ["A1"], "order_time": ["2025-01-01"], "revenue": [10.0], "note": ["x"]}
    pd.DataFrame({**day, "client_id": ["C1"]}).to_parquet(tmp_path / "o" / "a.parquet")
    pd.DataFrame({**day, "order_id": ["B1"], "clientId": ["C2"]}).to_parquet(tmp_path / "o" / "b.parquet")
    source = {"file": "o", "columns": {"customer_id": ["client_id", "clientId"]}}
    df, load = sources.load_table(make_params(tmp_path, {"orders": source}), "orders")
    assert df["customer_id"].tolist() == ["C1", "C2"] and df["revenue"].tolist() == [10.0, 10.0]
    assert not load.rejected


def test_an_optional_column_absent_from_some_files_is_empty_there(tmp_path):
    (tmp_path / "o").mkdir()
    write(tmp_path, "o/a.csv", ORDERS_HEAD.strip() + ",currency\nA1,C1,2025-01-01,10,EUR\n")
    write(tmp_path, "o/b.csv", ORDERS_HEAD + "B1,C2,2025-01-02,7\n")
    df, load = sources.load_table(make_params(tmp_path, {"orders": {"file": "o"}}), "orders")
    assert df["currency"].tolist()[0] == "EUR" and pd.isna(df["currency"].tolist()[1]) and not load.problems


# --- value maps by pattern -------------------------------------------------------------------------


def test_value_patterns_apply_after_exact_keys_in_the_order_written(tmp_path):
    write(
        tmp_path,
        "customers.csv",
        "customer_id,first_seen_at,acquisition_channel\nC1,2025-01-01,google / cpc\nC2,2025-01-01,googlemail\n"
        "C3,2025-01-01,google organic\nC4,2025-01-01,newsletter\nC5,2025-01-01,email\n",
    )
    values = {
        "googlemail": "email",
        "re:^google.*cpc": "paid_search",
        "re:^google": "organic_search",
        "re:news": "email",
    }
    source = {"file": "customers.csv", "values": {"acquisition_channel": values}}
    df, load = sources.load_table(make_params(tmp_path, {"customers": source}), "customers")
    assert df["acquisition_channel"].tolist() == ["paid_search", "email", "organic_search", "email", "email"]
    assert not load.rejected


def test_a_bad_pattern_is_a_params_error_naming_source_and_key(tmp_path):
    with pytest.raises(ParamsError, match=r"sources\.customers.*values\.acquisition_channel.*'re:\(google'"):
        make_params(tmp_path, {"customers": {"file": "c.csv", "values": {"acquisition_channel": {"re:(google": "x"}}}})


# --- one shop-wide time zone --------------------------------------------------------------------------


def test_the_shop_timezone_applies_unless_a_source_names_its_own(tmp_path):
    write(tmp_path, "customers.csv", "customer_id,first_seen_at,acquisition_channel\nC1,2025-01-01T10:00:00Z,\n")
    write(tmp_path, "orders.csv", ORDERS_HEAD + "A1,C1,2025-01-01T10:00:00Z,10\n")
    p = make_params(
        tmp_path,
        {"customers": {"file": "customers.csv"}, "orders": {"file": "orders.csv", "timezone": "Asia/Jakarta"}},
        timezone="Europe/Berlin",
    )
    assert p.sources["customers"].timezone == "Europe/Berlin" and p.sources["orders"].timezone == "Asia/Jakarta"
    customers, _ = sources.load_table(p, "customers")
    orders, _ = sources.load_table(p, "orders")
    assert str(customers["first_seen_at"][0]) == "2025-01-01 11:00:00"
    assert str(orders["order_time"][0]) == "2025-01-01 17:00:00"


GA4_ONE_EVENT = (
    "event_date,event_timestamp,event_name,user_pseudo_id,user_id,ga_session_id,traffic_source_source,"
    "traffic_source_medium,device_category,page_location,item_id,item_category\n"
    "20240105,1704448801000000,page_view,111.222,,1704448800,google,organic,mobile,https://shop.example/,,\n"
)


@pytest.mark.parametrize(
    ("options", "shown"), [({}, "2024-01-05 11:00:01"), ({"timezone": "UTC"}, "2024-01-05 10:00:01")]
)
def test_a_preset_takes_the_shop_timezone_as_its_option_unless_it_sets_its_own(tmp_path, options, shown):
    write(tmp_path, "ga4.csv", GA4_ONE_EVENT)
    source = {"preset": "ga4_events", "file": "ga4.csv", "options": options}
    p = make_params(tmp_path, {"ga4": source}, timezone="Europe/Berlin")
    frames, _, _ = presets.run(p, "ga4")
    assert str(frames["events"]["event_time"].iloc[0]) == shown  # 10:00:01 UTC


def test_a_shop_timezone_that_is_no_zone_is_a_params_error(tmp_path):
    with pytest.raises(ParamsError, match="Mars/Base"):
        make_params(tmp_path, {}, timezone="Mars/Base")


# --- ids a file does not have --------------------------------------------------------------------------


def test_an_id_from_a_combination_of_columns(tmp_path):
    write(
        tmp_path,
        "customers.csv",
        "store,card_no,first_seen_at,acquisition_channel\n12,40017,2025-01-01,\n12,40018,2025-01-01,\n"
        "13,40017,2025-01-02,\n13,,2025-01-02,\n",
    )
    source = {"file": "customers.csv", "ids": {"customer_id": ["store", "card_no"]}}
    checked(tmp_path, {"customers": source}, "customers")
    df, load = sources.load_table(make_params(tmp_path, {"customers": source}), "customers")
    assert df["customer_id"].tolist() == ["12|40017", "12|40018", "13|40017"]
    assert load.rejected == {"null_value": 1}


def test_an_id_from_the_row_number_where_each_row_is_one_customer(tmp_path):
    (tmp_path / "c").mkdir()
    write(tmp_path, "c/a.csv", "first_seen_at,acquisition_channel\n2025-01-01,\n2025-01-02,\n")
    write(tmp_path, "c/b.csv", "first_seen_at,acquisition_channel\n2025-01-03,\n")
    source = {"file": "c", "ids": {"customer_id": "row_number"}}
    df, _ = sources.load_table(make_params(tmp_path, {"customers": source}), "customers")
    again, _ = sources.load_table(make_params(tmp_path, {"customers": source}), "customers")
    assert df["customer_id"].tolist() == ["1", "2", "3"] == again["customer_id"].tolist()


def test_an_id_given_twice_is_a_params_error(tmp_path):
    with pytest.raises(ParamsError, match="more than once"):
        make_params(
            tmp_path,
            {"customers": {"file": "c.csv", "columns": {"customer_id": "a"}, "ids": {"customer_id": "row_number"}}},
        )


# --- JSON --------------------------------------------------------------------------------------------------


def json_orders(tmp_path, rows: list[tuple[str, str, object]]) -> None:
    lines = ["order_id,customer_id,order_time,payload"]
    for order, customer, payload in rows:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        lines.append(f'{order},{customer},2025-01-01,"{text.replace(chr(34), chr(34) * 2)}"')
    write(tmp_path, "orders.csv", "\n".join(lines) + "\n")


def test_a_value_inside_a_json_column_is_read_with_a_path(tmp_path):
    json_orders(tmp_path, [("A1", "C1", {"revenue": 12.5, "meta": {"cur": "EUR"}}), ("A2", "C2", {"revenue": 3})])
    columns = {"revenue": "payload.$.revenue", "currency": "payload.$.meta.cur"}
    df, load = sources.load_table(
        make_params(tmp_path, {"orders": {"file": "orders.csv", "columns": columns}}), "orders"
    )
    assert df["revenue"].tolist() == [12.5, 3.0] and df["currency"].tolist()[0] == "EUR"
    assert not load.rejected


def test_bad_json_is_a_rejection_naming_file_row_and_column(tmp_path):
    json_orders(tmp_path, [("A1", "C1", {"revenue": 12.5}), ("A2", "C2", '{"revenue": 3')])
    columns = {"revenue": "payload.$.revenue"}
    _, load = checked(tmp_path, {"orders": {"file": "orders.csv", "columns": columns}}, "orders")
    assert load.rejected == {"bad_json": 1}
    (problem,) = load.problems
    assert "'payload'" in problem.message and "not JSON" in problem.message and problem.examples == [2]
    assert problem.file == "orders.csv" and "file line 3" in problem.message


def test_a_bad_json_path_is_a_params_error(tmp_path):
    with pytest.raises(ParamsError, match="not a JSON path"):
        make_params(tmp_path, {"orders": {"file": "o.csv", "columns": {"revenue": "payload.$.items[x]"}}})


def test_an_array_of_items_yields_one_order_line_per_item(tmp_path):
    items = [{"item_id": "P1", "price": 9.5, "quantity": 2}, {"item_id": "P2", "price": 3, "quantity": 1}]
    json_orders(
        tmp_path,
        [
            ("A1", "C1", {"items": items}),
            ("A2", "C2", {"items": [items[0]]}),
            ("A3", "C3", "{bad"),
            ("A4", "C4", {"items": []}),
        ],
    )
    source = {
        "file": "orders.csv",
        "items": {
            "column": "payload.$.items",
            "fields": {"product_id": "item_id", "unit_price": "price", "quantity": "quantity"},
        },
    }
    checked(tmp_path, {"order_lines": source}, "order_lines")
    df, load = sources.load_table(make_params(tmp_path, {"order_lines": source}), "order_lines")
    assert df[["order_id", "product_id", "unit_price", "quantity"]].values.tolist() == [
        ["A1", "P1", 9.5, 2],
        ["A1", "P2", 3.0, 1],
        ["A2", "P1", 9.5, 2],
    ]
    assert load.rows_in == 5 and load.rejected == {"bad_json": 1, "no_items": 1}
    assert sorted(p.kind for p in load.problems) == ["bad_json", "no_items"]  # not "empty" as well
    bad = next(p for p in load.problems if p.kind == "bad_json")
    assert "file line 4" in bad.message  # the 3rd row of the file, under its header


def test_items_accounting_balances_per_file(tmp_path):
    (tmp_path / "o").mkdir()
    items = [{"id": "P1", "p": 1, "q": 1}, {"id": "P2", "p": 2, "q": 1}]
    write(tmp_path, "o/a.csv", 'order_id,items\nA1,"' + json.dumps(items).replace('"', '""') + '"\n\nA2,[]\n')
    write(tmp_path, "o/b.csv", 'order_id,items\nB1,"' + json.dumps(items[:1]).replace('"', '""') + '"\n')
    source = {
        "file": "o",
        "items": {"column": "items", "fields": {"product_id": "id", "unit_price": "p", "quantity": "q"}},
    }
    prepared, _ = checked(tmp_path, {"order_lines": source}, "order_lines")
    assert [(i.file, i.rows_in, i.rows_used, i.rows_excluded, i.rows_rejected) for i in prepared.inputs] == [
        ("o/a.csv", 4, 2, 1, 1),
        ("o/b.csv", 1, 1, 0, 0),
    ]


def test_raw_web_hits_build_sessions_from_a_renamed_id_column(tmp_path):
    (tmp_path / "hits").mkdir()
    head = "event_time,event_type,page_url,"
    write(tmp_path, "hits/d1.csv", head + "client_id\n2025-01-01 10:00:00,page_view,https://s.example/,C1\n")
    write(tmp_path, "hits/d2.csv", head + "clientId\n2025-01-02 10:00:00,page_view,https://s.example/,C2\n")
    source = {
        "file": "hits",
        "columns": {"customer_id": ["client_id", "clientId"]},
        "constants": {"anonymous_id": None},
        "web": {"url": "page_url"},
    }
    df, load = sources.load_table(make_params(tmp_path, {"events": source}), "events")
    assert df["customer_id"].tolist() == ["C1", "C2"] and df["session_id"].nunique() == 2
    assert not load.rejected


def test_value_tallies_of_consecutive_rows_add_up_to_the_note_of_all_rows():
    values = ["b", "a", "x", "a", "b", "c", "gmail.com", "c", "B", None, "a", "yahoo.de", "c"]
    s = pd.Series(values, index=pd.RangeIndex(100, 100 + len(values)), dtype="string")
    mapping = {"a": "A", "b": "B", "c": None, "zzz": "Z", "re:\\.(com|de)$": "web"}
    whole, note = mapping_module.map_values(s, mapping)
    total = mapping_module.ValueTally()
    parts = []
    for cut in ((0, 4), (4, 9), (9, 13)):  # 'c' is not met in the first rows, 'a' and 'b' are
        out, tally = mapping_module.tally_values(s.iloc[slice(*cut)], mapping)
        total.add(tally)
        parts.append(out)

    # 'a' and 'c' tie at 3 rows: 'a' was met first
    assert note == "values mapped: 'a' -> 'A' (3), 'c' -> empty (3), 'b' -> 'B' (2), 're:\\.(com|de)$' -> 'web' (2)"
    assert mapping_module.value_note(mapping, total) == note
    pd.testing.assert_series_equal(pd.concat(parts), whole)
    assert mapping_module.value_note(mapping, mapping_module.ValueTally()).startswith("none of the values in values:")
