"""sources: reading client files, mapping columns, validating rows, and preparing canonical tables."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifecycle_audit import contract, params, paths, sources
from lifecycle_audit.errors import AuditError, SourceError

CUSTOMERS_CSV = """customer_id,first_seen_at,acquisition_channel
C1,2025-01-01 09:00:00,paid_search
C2,2025-01-02,email
C3,2025-01-03T10:00:00,
"""


def make_params(folder: Path, sources_: dict, **extra) -> params.Params:
    return params.from_dict({"client": "acme", "data_dir": str(folder), "sources": sources_, **extra})


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_text(text, encoding=encoding)
    return path


def only(problems, kind):
    found = [p for p in problems if p.kind == kind]
    assert len(found) == 1, f"expected one {kind} problem, got {[str(p) for p in problems]}"
    return found[0]


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path, monkeypatch):
    """Keep prepare's cache out of the project tree."""
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")


# --- file level -------------------------------------------------------------------------------


def test_missing_file_is_fatal_and_says_where_it_looked(tmp_path):
    write(tmp_path, "customer.csv", CUSTOMERS_CSV)
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, load = sources.load_table(p, "customers")

    assert df is None and not load.usable
    problem = only(load.problems, "missing_file")
    assert problem.fatal and problem.count == 0
    text = str(problem)
    assert text.startswith(f"{tmp_path / 'customers.csv'}: file not found")
    assert "sources.customers.file is 'customers.csv'" in text
    assert "did you mean 'customer.csv'?" in text


def test_missing_column_names_file_column_and_lists_the_columns(tmp_path):
    write(tmp_path, "orders.csv", "Bestellnummer,Kunde,Bestell-Datum,Umsatz\nA1,C1,2025-01-01,10\n")
    p = make_params(tmp_path, {"orders": {"file": "orders.csv", "columns": {
        "order_id": "Bestellnummer", "customer_id": "Kunde", "order_time": "Bestelldatum", "revenue": "Umsatz"}}})

    df, load = sources.load_table(p, "orders")

    assert df is None and not load.usable
    problem = only(load.problems, "missing_column")
    assert problem.fatal and problem.column == "order_time" and problem.client_column == "Bestelldatum"
    text = str(problem)
    assert text.startswith(f"{tmp_path / 'orders.csv'}: column 'Bestelldatum' (contract orders.order_time) is missing")
    assert "the file's columns are: 'Bestellnummer', 'Kunde', 'Bestell-Datum', 'Umsatz'" in text
    assert "did you mean 'Bestell-Datum'?" in text


def test_missing_column_suggests_a_free_column_not_one_mapped_elsewhere(tmp_path):
    write(tmp_path, "orders.csv", "Bestellnummer,Kunde,Datum,Umsatz\nA1,C1,2025-01-01,10\n")
    p = make_params(tmp_path, {"orders": {"file": "orders.csv", "columns": {
        "order_id": "Bestellnummer", "customer_id": "Kunde", "order_time": "Bestelldatum", "revenue": "Umsatz"}}})

    _, load = sources.load_table(p, "orders")

    text = str(only(load.problems, "missing_column"))
    assert "did you mean 'Datum'? (sources.orders.columns: {order_time: 'Datum'})" in text
    assert "did you mean 'Bestellnummer'" not in text


def test_unmapped_required_column_says_its_own_name_was_looked_for(tmp_path):
    write(tmp_path, "customers.csv", "id,first_seen_at,acquisition_channel\nC1,2025-01-01,email\n")
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    _, load = sources.load_table(p, "customers")

    text = str(only(load.problems, "missing_column"))
    assert "sources.customers.columns does not map customer_id" in text
    assert "'id', 'first_seen_at', 'acquisition_channel'" in text


def test_single_column_header_hints_at_the_delimiter(tmp_path):
    write(tmp_path, "customers.csv", "customer_id|first_seen_at|acquisition_channel\nC1|2025-01-01|email\n")
    p = make_params(tmp_path, {"customers": {"file": "customers.csv", "read": {"delimiter": ","}}})

    _, load = sources.load_table(p, "customers")

    assert "is read.delimiter right?" in str(load.problems[0])


def test_undecodable_file_is_unreadable_and_suggests_an_encoding(tmp_path):
    write(tmp_path, "customers.csv", "customer_id,first_seen_at,acquisition_channel\nMüller,2025-01-01,email\n",
          encoding="cp1252")
    p = make_params(tmp_path, {"customers": {"file": "customers.csv", "read": {"encoding": "utf-8"}}})

    _, load = sources.load_table(p, "customers")

    problem = only(load.problems, "unreadable")
    assert problem.fatal and "read.encoding" in problem.message and "cp1252" in problem.message

    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})     # not set: detected, and noted
    df, load = sources.load_table(p, "customers")
    assert load.usable and df["customer_id"].tolist() == ["Müller"]
    assert any("read as cp1252" in n for n in load.notes)

    p = make_params(tmp_path, {"customers": {"file": "customers.csv", "read": {"encoding": "cp1252"}}})
    df, load = sources.load_table(p, "customers")
    assert load.usable and df["customer_id"].tolist() == ["Müller"]


# --- row level --------------------------------------------------------------------------------


def test_unparsable_date_names_file_column_count_rows_and_values(tmp_path):
    write(tmp_path, "customers.csv", CUSTOMERS_CSV.replace("2025-01-02,", "31/02/2025,").replace(
        "2025-01-03T10:00:00,", "n/a,"))
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, load = sources.load_table(p, "customers")

    problem = only(load.problems, "unparsable_date")
    assert (problem.count, problem.examples, problem.example_values) == (2, [2, 3], ["31/02/2025", "n/a"])
    assert not problem.fatal and problem.column == "first_seen_at"
    text = str(problem)
    assert text.startswith(f"{tmp_path / 'customers.csv'}: column 'first_seen_at' (contract customers.first_seen_at): "
                           "2 rows have a date that cannot be read, e.g. rows 2, 3")
    assert "values '31/02/2025', 'n/a'" in text and "file lines 3, 4" in text
    assert "expected dates like 2025-03-31" in text and "read.date_format" in text
    assert load.rejected == {"unparsable_date": 2} and df["customer_id"].tolist() == ["C1"]


def test_date_format_option_and_day_first_guess(tmp_path):
    write(tmp_path, "a.csv", "customer_id,first_seen_at,acquisition_channel\nC1,03.04.2025 10:30,\nC2,13.04.2025 08:00,\n")
    write(tmp_path, "b.csv", "customer_id,first_seen_at,acquisition_channel\nC1,04/03/25,\nC2,2025-01-01,\n")
    guessed = make_params(tmp_path, {"customers": {"file": "a.csv"}})
    given = make_params(tmp_path, {"customers": {"file": "b.csv", "read": {"date_format": "%m/%d/%y"}}})

    df, load = sources.load_table(guessed, "customers")
    assert df["first_seen_at"].tolist() == [pd.Timestamp("2025-04-03 10:30"), pd.Timestamp("2025-04-13 08:00")]
    assert any("'%d.%m.%Y %H:%M'" in note for note in load.notes)

    df, load = sources.load_table(given, "customers")
    assert df["first_seen_at"].tolist() == [pd.Timestamp("2025-04-03")]
    problem = only(load.problems, "unparsable_date")
    assert problem.examples == [2] and "dates in the layout '%m/%d/%y'" in problem.message


def test_timezone_aware_times_become_naive_utc(tmp_path):
    write(tmp_path, "customers.csv", "customer_id,first_seen_at,acquisition_channel\n"
          "C1,2025-03-01T10:00:00+02:00,\nC2,2025-03-01T10:00:00Z,\nC3,2025-03-01 10:00:00,\n")
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, _ = sources.load_table(p, "customers")

    assert str(df["first_seen_at"].dtype) == "datetime64[us]"
    assert df["first_seen_at"].tolist() == [pd.Timestamp("2025-03-01 08:00"), pd.Timestamp("2025-03-01 10:00"),
                                            pd.Timestamp("2025-03-01 10:00")]


def test_wrong_number_is_rejected_with_the_expected_layout(tmp_path):
    write(tmp_path, "orders.csv", "order_id,customer_id,order_time,revenue\n"
          "A1,C1,2025-01-01,10.5\nA2,C1,2025-01-02,12,50\"\nA3,C1,2025-01-03,zehn\nA4,C1,2025-01-04,7\n"
          .replace('12,50"', '"12,50"'))
    p = make_params(tmp_path, {"orders": {"file": "orders.csv"}})

    df, load = sources.load_table(p, "orders")

    problem = only(load.problems, "wrong_type")
    assert (problem.count, problem.examples, problem.example_values) == (2, [2, 3], ["12,50", "zehn"])
    assert "column 'revenue' (contract orders.revenue): 2 rows have a value that is not a number" in str(problem)
    assert "decimal mark '.'" in problem.message
    assert df["revenue"].tolist() == [10.5, 7.0] and df["revenue"].dtype == "float64"


def test_whole_numbers_reject_fractions(tmp_path):
    write(tmp_path, "order_lines.csv", "order_id,product_id,unit_price,quantity\nA1,P1,5,2\nA1,P2,5,1.5\nA1,P3,5,3.0\n")
    p = make_params(tmp_path, {"order_lines": {"file": "order_lines.csv"}})

    df, load = sources.load_table(p, "order_lines")

    problem = only(load.problems, "wrong_type")
    assert problem.examples == [2] and "not a whole number" in problem.message
    assert str(df["quantity"].dtype) == "Int64" and df["quantity"].tolist() == [2, 3]


def test_bool_parsing_accepts_common_spellings_and_rejects_others(tmp_path):
    values = ["true", "FALSE", "1", "0", "Yes", "no", "y", "N", "ja", "Nein", "", "maybe"]
    rows = "".join(f"C{i},2025-01-01,,{v}\n" for i, v in enumerate(values))
    write(tmp_path, "customers.csv", "customer_id,first_seen_at,acquisition_channel,email_opt_in\n" + rows)
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, load = sources.load_table(p, "customers")

    assert str(df["email_opt_in"].dtype) == "boolean"
    assert df["email_opt_in"].tolist() == [True, False, True, False, True, False, True, False, True, False, pd.NA]
    problem = only(load.problems, "wrong_type")
    assert (problem.count, problem.examples, problem.example_values) == (1, [12], ["maybe"])
    assert "yes/no" in problem.message


def test_value_not_allowed_lists_the_allowed_values(tmp_path):
    write(tmp_path, "customers.csv", CUSTOMERS_CSV + "C4,2025-01-04,Paid Search\nC5,2025-01-05,tv\nC6,2025-01-06,radio\n")
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, load = sources.load_table(p, "customers")

    problem = only(load.problems, "not_allowed")
    assert (problem.count, problem.examples, problem.example_values) == (2, [5, 6], ["tv", "radio"])
    assert "expected one of: " + ", ".join(contract.CHANNELS) in str(problem)
    # a spelling variant of an allowed value is mapped onto the contract's spelling, and said so
    assert df.set_index("customer_id").loc["C4", "acquisition_channel"] == "paid_search"
    assert any("'Paid Search' -> 'paid_search'" in note for note in load.notes)


def test_negative_amount_is_rejected(tmp_path):
    write(tmp_path, "spend.csv", "date,channel,amount\n2025-01-01,email,10\n2025-01-02,email,-5\n")
    p = make_params(tmp_path, {"spend": {"file": "spend.csv"}})

    df, load = sources.load_table(p, "spend")

    problem = only(load.problems, "negative")
    assert problem.examples == [2] and "at least 0" in problem.message
    assert len(df) == 1 and load.rejected == {"negative": 1}


def test_duplicate_key_keeps_the_first_and_rejects_the_later(tmp_path):
    write(tmp_path, "customers.csv", CUSTOMERS_CSV + "C1,2025-02-01,email\nC2,2025-02-02,email\nC1,2025-02-03,email\n")
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, load = sources.load_table(p, "customers")

    problem = only(load.problems, "duplicate_key")
    assert (problem.count, problem.examples, problem.example_values) == (3, [4, 5, 6], ["C1", "C2", "C1"])
    assert "repeat a customer_id already used by an earlier row" in problem.message
    assert df["customer_id"].tolist() == ["C1", "C2", "C3"]
    assert df["first_seen_at"].iloc[0] == pd.Timestamp("2025-01-01 09:00")   # the first one kept
    assert load.rejected == {"duplicate_key": 3}


def test_composite_key_duplicates(tmp_path):
    write(tmp_path, "prices.csv", "product_id,valid_from,price\nP1,2025-01-01,10\nP1,2025-02-01,11\nP1,2025-01-01,12\n")
    p = make_params(tmp_path, {"prices": {"file": "prices.csv"}})

    df, load = sources.load_table(p, "prices")

    problem = only(load.problems, "duplicate_key")
    assert problem.column == "product_id, valid_from" and problem.example_values == ["P1 | 2025-01-01"]
    assert str(problem).endswith("columns 'product_id', 'valid_from' (contract prices key product_id + valid_from): "
                                 "1 row repeats a product_id + valid_from already used by an earlier row (the first "
                                 "is kept, the later ones rejected), e.g. row 3 (value 'P1 | 2025-01-01'; file line 4); "
                                 "expected each product_id + valid_from to appear once")
    assert df["price"].tolist() == [10.0, 11.0]


def test_dangling_reference_is_rejected_when_both_tables_are_supplied(tmp_path):
    write(tmp_path, "customers.csv", CUSTOMERS_CSV)
    write(tmp_path, "orders.csv", "order_id,customer_id,order_time,revenue\n"
          "A1,C1,2025-01-05,10\nA2,C9,2025-01-06,20\nA3,,2025-01-07,30\nA4,C8,2025-01-08,40\n")
    write(tmp_path, "reviews.csv", "review_id,customer_id,order_id,created_at,rating\n"
          "R1,C1,A1,2025-01-09,5\nR2,C1,A2,2025-01-10,4\n")
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}, "orders": {"file": "orders.csv"},
                               "reviews": {"file": "reviews.csv"}})

    prepared = sources.check_sources(p)

    assert prepared.folder is None
    orders = prepared.loads["orders"]
    problem = only(orders.problems, "dangling_reference")
    assert (problem.count, problem.examples, problem.example_values) == (2, [2, 4], ["C9", "C8"])
    assert "point to a customer_id that is not in the customers table" in problem.message
    assert orders.rows_used == 2 and orders.rejected == {"dangling_reference": 2}   # A3 is a guest order: kept
    assert orders.date_max == "2025-01-07T00:00:00"
    # a review of an order that was itself rejected dangles too (tables are checked in dependency order)
    assert only(prepared.loads["reviews"].problems, "dangling_reference").examples == [2]

    # without the customers table, the reference is not checked (and a note says so)
    p = make_params(tmp_path, {"orders": {"file": "orders.csv"}})
    orders = sources.check_sources(p).loads["orders"]
    assert orders.rows_used == 4 and not orders.problems
    assert any("not checked against customers.customer_id" in note for note in orders.notes)


def test_null_in_non_nullable_column(tmp_path):
    write(tmp_path, "customers.csv", CUSTOMERS_CSV + ",2025-01-04,email\nC5,  ,email\n")
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, load = sources.load_table(p, "customers")

    by_column = {pr.column: pr for pr in load.problems if pr.kind == "null_value"}
    assert set(by_column) == {"customer_id", "first_seen_at"}
    assert by_column["customer_id"].examples == [4] and by_column["first_seen_at"].examples == [5]
    assert "1 row is empty, e.g. row 4 (file line 5); expected a value in every row" in str(by_column["customer_id"])
    # a nullable column may be empty: C3 has no acquisition channel and is kept
    assert df["customer_id"].tolist() == ["C1", "C2", "C3"] and df["acquisition_channel"].isna().tolist()[2]


def test_optional_column_absent_is_filled_with_nulls(tmp_path):
    write(tmp_path, "customers.csv", CUSTOMERS_CSV)
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, load = sources.load_table(p, "customers")

    assert not load.problems and load.mapping["email_opt_in"] is None
    assert list(df.columns) == list(contract.TABLES["customers"].column_names)
    for name in ("country", "email_opt_in", "has_postal_address", "loyalty_member_since", "payment_default"):
        assert df[name].isna().all()
    assert {name: str(df[name].dtype) for name in df.columns} == {
        c.name: contract.PANDAS_DTYPES[c.kind] for c in contract.TABLES["customers"].columns}


def test_column_renames_map_client_columns_and_ignore_extras(tmp_path):
    write(tmp_path, "kunden.csv", "Kundennummer,Erstkontakt,Kanal,Land,Newsletter,Notiz\n"
          "K1,2025-01-01,email,DE,ja,hello\nK2,2025-01-02,direct,AT,nein,\n")
    p = make_params(tmp_path, {"customers": {"file": "kunden.csv", "columns": {
        "customer_id": "Kundennummer", "first_seen_at": "Erstkontakt", "acquisition_channel": "Kanal",
        "country": "Land", "email_opt_in": "Newsletter"}}})

    df, load = sources.load_table(p, "customers")

    assert not load.problems
    assert list(df.columns) == list(contract.TABLES["customers"].column_names)   # "Notiz" ignored
    assert df["customer_id"].tolist() == ["K1", "K2"] and df["country"].tolist() == ["DE", "AT"]
    assert df["email_opt_in"].tolist() == [True, False]
    assert load.mapping["customer_id"] == "Kundennummer"


def test_semicolon_delimiter_and_decimal_comma(tmp_path):
    write(tmp_path, "orders.csv", "order_id;customer_id;order_time;revenue;discount\n"
          "A1;C1;31.01.2025 10:00;1.234,50;0,5\nA2;C2;01.02.2025 11:00;12,00;\n")
    p = make_params(tmp_path, {"orders": {"file": "orders.csv",
                                          "read": {"decimal": ",", "thousands": ".", "date_format": "%d.%m.%Y %H:%M"}}})

    df, load = sources.load_table(p, "orders")

    assert not load.problems
    assert any("delimiter ';' detected" in note for note in load.notes)
    assert df["revenue"].tolist() == [1234.5, 12.0]
    assert df["discount"].iloc[0] == 0.5 and np.isnan(df["discount"].iloc[1])
    assert df["order_time"].tolist() == [pd.Timestamp("2025-01-31 10:00"), pd.Timestamp("2025-02-01 11:00")]
    assert (load.date_min, load.date_max) == ("2025-01-31T10:00:00", "2025-02-01T11:00:00")


def test_accounting_adds_up_and_blank_rows_are_counted(tmp_path):
    write(tmp_path, "customers.csv", "customer_id,first_seen_at,acquisition_channel\n"
          "C1,2025-01-01,email\n"          # used
          "C2,someday,email\n"             # unparsable date
          "C3,2025-01-03,tv\n"             # not allowed
          ",2025-01-04,email\n"            # null key
          "C1,2025-01-05,email\n"          # duplicate
          "C6,bad,tv\n"                    # two reasons, counted once (the first: the date)
          "C7,2025-01-07,\n"               # used
          ",,\n\n")                        # blank trailing rows
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, load = sources.load_table(p, "customers")

    assert load.rows_in == 9 and load.rows_used == 2 == len(df)
    assert load.rejected == {"blank_row": 2, "unparsable_date": 2, "not_allowed": 1, "null_value": 1,
                             "duplicate_key": 1}
    assert load.rows_in == load.rows_used + sum(load.rejected.values())
    # a problem counts every row it affects; C6 appears under both
    assert only(load.problems, "not_allowed").examples == [3, 6]
    assert load.rejected_share == pytest.approx(5 / 7)
    json.dumps(sources.Prepared(None, {"customers": load}).to_dict())


def test_typed_parquet_input_takes_the_fast_path_and_is_still_checked(tmp_path):
    frame = pd.DataFrame({
        "customer_id": pd.array(["C1", "C2", "C2", None], dtype="string"),
        "first_seen_at": pd.to_datetime(["2025-01-01 10:00", "2025-01-02", "2025-01-03", "2025-01-04"], format="ISO8601")
        .tz_localize("Europe/Berlin"),
        "acquisition_channel": pd.array(["email", "tv", "email", "direct"], dtype="string"),
        "email_opt_in": pd.array([True, None, False, True], dtype="boolean"),
        "unused": [1, 2, 3, 4],
    })
    frame.to_parquet(tmp_path / "customers.parquet")
    p = make_params(tmp_path, {"customers": {"file": "customers.parquet"}})

    df, load = sources.load_table(p, "customers")

    assert load.rows_in == 4 and load.rows_used == 2
    assert load.rejected == {"not_allowed": 1, "null_value": 1}
    assert df["first_seen_at"].tolist() == [pd.Timestamp("2025-01-01 09:00"), pd.Timestamp("2025-01-02 23:00")]
    assert df["email_opt_in"].tolist() == [True, False]
    assert {c: str(t) for c, t in df.dtypes.items()} == {
        c.name: contract.PANDAS_DTYPES[c.kind] for c in contract.TABLES["customers"].columns}
    # row numbers are 1-based data rows; Parquet has no file lines
    problem = only(load.problems, "not_allowed")
    assert problem.examples == [2] and "file line" not in problem.message


def test_excel_without_its_reader_package_says_what_to_install(tmp_path):
    pytest.importorskip("pandas")
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("openpyxl is installed")
    import zipfile

    with zipfile.ZipFile(tmp_path / "customers.xlsx", "w") as z:   # looks like a workbook to pandas
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    p = make_params(tmp_path, {"customers": {"file": "customers.xlsx"}})

    _, load = sources.load_table(p, "customers")

    problem = only(load.problems, "unreadable")
    assert problem.fatal and "pip install openpyxl" in problem.message


# --- prepare ----------------------------------------------------------------------------------


def shop(tmp_path) -> params.Params:
    write(tmp_path, "customers.csv", CUSTOMERS_CSV)
    write(tmp_path, "orders.csv", "order_id;customer_id;order_time;revenue\nA1;C1;2025-01-05;10,5\nA2;C2;2025-01-06;20\n")
    return make_params(tmp_path, {"customers": {"file": "customers.csv"},
                                  "orders": {"file": "orders.csv", "read": {"decimal": ","}}})


def test_prepare_writes_canonical_parquet_with_contract_dtypes(tmp_path):
    p = shop(tmp_path)

    prepared = sources.prepare(p)

    assert prepared.folder.parent == tmp_path / "cache" / "tables" / "acme"
    assert sorted(f.name for f in prepared.folder.iterdir()) == ["accounting.json", "customers.parquet", "orders.parquet"]
    for name in ("customers", "orders"):
        df = pd.read_parquet(prepared.path(name))
        assert {c: str(t) for c, t in df.dtypes.items()} == {
            c.name: contract.PANDAS_DTYPES[c.kind] for c in contract.TABLES[name].columns}
    assert pd.read_parquet(prepared.path("orders"))["revenue"].tolist() == [10.5, 20.0]
    accounting = json.loads((prepared.folder / "accounting.json").read_text())
    assert accounting["tables"]["orders"]["rows_used"] == 2
    assert prepared.to_dict()["tables"]["customers"]["sha256"] == hashlib.sha256(
        (tmp_path / "customers.csv").read_bytes()).hexdigest()


def test_prepare_reuses_a_complete_cache_without_reading_again(tmp_path, monkeypatch):
    p = shop(tmp_path)
    reads = []
    real = sources._read_text
    monkeypatch.setattr(sources, "_read_text", lambda *a, **k: reads.append(a[0].name) or real(*a, **k))

    first = sources.prepare(p)
    stamp = first.path("orders").stat().st_mtime_ns
    second = sources.prepare(p)

    assert sorted(reads) == ["customers.csv", "orders.csv"]          # read once, by the first call only
    assert second.reused and not first.reused and second.folder == first.folder
    assert second.path("orders").stat().st_mtime_ns == stamp
    assert second.to_dict() == {**first.to_dict()}                   # the accounting comes back from the cache

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
    assert "unparsable_date" not in message and "'soon'" in message     # the reasons come with it
    assert isinstance(err.value, AuditError)
    assert {pr.kind for pr in err.value.problems} == {"unparsable_date", "not_allowed", "too_many_rejected"}
    assert not (tmp_path / "cache" / "tables" / "acme").exists() or not any(
        (tmp_path / "cache" / "tables" / "acme").iterdir())

    prepared = sources.prepare(p, max_rejected_share=0.05)
    assert prepared.loads["customers"].rows_used == 97
    with pytest.raises(SourceError):                                   # the cache does not bypass the limit
        sources.prepare(p)


def test_prepare_raises_on_fatal_problems(tmp_path):
    p = make_params(tmp_path, {"customers": {"file": "nowhere.csv"}})
    with pytest.raises(SourceError) as err:
        sources.prepare(p)
    assert [pr.kind for pr in err.value.problems] == ["missing_file"]
    assert "nowhere.csv: file not found" in str(err.value)


def test_client_files_are_not_modified(tmp_path):
    p = shop(tmp_path)
    before = {f.name: (hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns)
              for f in tmp_path.glob("*.csv")}

    prepared = sources.prepare(p)

    after = {f.name: (hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns)
             for f in tmp_path.glob("*.csv")}
    assert after == before
    assert prepared.loads["customers"].sha256 == before["customers.csv"][0]
    assert sorted(f.name for f in tmp_path.iterdir() if f.is_file()) == ["customers.csv", "orders.csv"]


def test_to_dict_masks_customer_ids_in_examples(tmp_path):
    write(tmp_path, "customers.csv", CUSTOMERS_CSV + "CUST-000123,2025-02-01,email\nCUST-000123,2025-02-02,email\n")
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    prepared = sources.check_sources(p)

    problem = only(prepared.problems, "duplicate_key")
    assert problem.example_values == ["CUST-000123"]                 # the consultant sees the value
    shown = prepared.to_dict()["tables"]["customers"]["problems"][0]
    assert shown["example_values"] == ["CU*********"] and "CUST-000123" not in json.dumps(prepared.to_dict())

    # prepare's accounting feeds the report: masked, in memory and in accounting.json
    prepared = sources.prepare(p, max_rejected_share=0.5)
    assert "CUST-000123" not in str(prepared.problems[0]) and "'CU*********'" in str(prepared.problems[0])
    assert "CUST-000123" not in (prepared.folder / "accounting.json").read_text()


# --- the demo shop ----------------------------------------------------------------------------


def test_demo_data_is_made_anew_when_its_settings_or_the_generator_change(tmp_path):
    names = list(contract.TABLE_ORDER)
    sources_ = {name: {"file": f"{name}.parquet"} for name in names}
    p = make_params(tmp_path / "demo", sources_, demo={"customers": 200, "seed": 3, "profile": "healthy"})
    assert sources.ensure_demo_data(p) is True
    assert sources.ensure_demo_data(p) is False
    other_seed = make_params(tmp_path / "demo", sources_, demo={"customers": 200, "seed": 4, "profile": "healthy"})
    assert sources.ensure_demo_data(other_seed) is True                 # other settings: a new shop
    stamp = tmp_path / "demo" / sources.DEMO_STAMP
    stamp.write_text(stamp.read_text().replace('"generator": "', '"generator": "old'))
    assert sources.ensure_demo_data(other_seed) is True                 # an older generator's shop is replaced
    assert sources.ensure_demo_data(other_seed) is False


def test_ensure_demo_data_generates_once_and_the_shop_meets_the_contract(tmp_path):
    names = list(contract.TABLE_ORDER)
    p = make_params(tmp_path / "demo", {name: {"file": f"{name}.parquet"} for name in names},
                    demo={"customers": 200, "seed": 3, "profile": "healthy"})  # planted: no reviews at 200

    assert sources.ensure_demo_data(p) is True
    assert sources.ensure_demo_data(p) is False                        # everything is there now
    assert sorted(f.name for f in (tmp_path / "demo").iterdir() if not f.name.startswith(".")) == sorted(
        f"{n}.parquet" for n in names)

    prepared = sources.prepare(p, max_rejected_share=0.0)              # the generator writes clean tables
    assert prepared.usable == names and not prepared.problems
    for name in names:
        load = prepared.loads[name]
        assert load.rows_in == load.rows_used > 0 and not load.rejected

    assert sources.ensure_demo_data(make_params(tmp_path / "x", {"customers": {"file": "c.csv"}})) is False
