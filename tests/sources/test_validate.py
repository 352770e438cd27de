"""Mapping and contract validation of a table: missing columns, empty values, keys, references, renames."""

from __future__ import annotations

import pandas as pd

from lifecycle_audit import contract, sources
from tests.kit.sources import CUSTOMERS_CSV, make_params, only, write


def test_missing_column_names_file_column_and_lists_the_columns(tmp_path):
    write(tmp_path, "orders.csv", "Bestellnummer,Kunde,Bestell-Datum,Umsatz\nA1,C1,2025-01-01,10\n")
    p = make_params(
        tmp_path,
        {
            "orders": {
                "file": "orders.csv",
                "columns": {
                    "order_id": "Bestellnummer",
                    "customer_id": "Kunde",
                    "order_time": "Bestelldatum",
                    "revenue": "Umsatz",
                },
            }
        },
    )

    df, load = sources.load_table(p, "orders")

    assert df is None and not load.usable
    problem = only(load.problems, "missing_column")
    assert problem.fatal and problem.column == "order_time" and problem.client_column == "Bestelldatum"
    text = str(problem)
    assert text.startswith("orders.csv: column 'Bestelldatum' (contract orders.order_time) is missing")
    assert "the file's columns are: 'Bestellnummer', 'Kunde', 'Bestell-Datum', 'Umsatz'" in text
    assert "did you mean 'Bestell-Datum'?" in text


def test_missing_column_suggests_a_free_column_not_one_mapped_elsewhere(tmp_path):
    write(tmp_path, "orders.csv", "Bestellnummer,Kunde,Datum,Umsatz\nA1,C1,2025-01-01,10\n")
    p = make_params(
        tmp_path,
        {
            "orders": {
                "file": "orders.csv",
                "columns": {
                    "order_id": "Bestellnummer",
                    "customer_id": "Kunde",
                    "order_time": "Bestelldatum",
                    "revenue": "Umsatz",
                },
            }
        },
    )

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
    assert df["first_seen_at"].iloc[0] == pd.Timestamp("2025-01-01 09:00")  # the first one kept
    assert load.rejected == {"duplicate_key": 3}


def test_composite_key_duplicates(tmp_path):
    write(tmp_path, "prices.csv", "product_id,valid_from,price\nP1,2025-01-01,10\nP1,2025-02-01,11\nP1,2025-01-01,12\n")
    p = make_params(tmp_path, {"prices": {"file": "prices.csv"}})

    df, load = sources.load_table(p, "prices")

    problem = only(load.problems, "duplicate_key")
    assert problem.column == "product_id, valid_from" and problem.example_values == ["P1 | 2025-01-01"]
    assert str(problem).endswith(
        "columns 'product_id', 'valid_from' (contract prices key product_id + valid_from): "
        "1 row repeats a product_id + valid_from already used by an earlier row (the first "
        "is kept, the later ones rejected), e.g. row 3 (value 'P1 | 2025-01-01'; file line 4); "
        "expected each product_id + valid_from to appear once"
    )
    assert df["price"].tolist() == [10.0, 11.0]


def test_dangling_reference_is_rejected_when_both_tables_are_supplied(tmp_path):
    write(tmp_path, "customers.csv", CUSTOMERS_CSV)
    write(
        tmp_path,
        "orders.csv",
        "order_id,customer_id,order_time,revenue\n"
        "A1,C1,2025-01-05,10\nA2,C9,2025-01-06,20\nA3,,2025-01-07,30\nA4,C8,2025-01-08,40\n",
    )
    write(
        tmp_path,
        "reviews.csv",
        "review_id,customer_id,order_id,created_at,rating\nR1,C1,A1,2025-01-09,5\nR2,C1,A2,2025-01-10,4\n",
    )
    p = make_params(
        tmp_path,
        {"customers": {"file": "customers.csv"}, "orders": {"file": "orders.csv"}, "reviews": {"file": "reviews.csv"}},
    )

    prepared = sources.check_sources(p)

    assert prepared.folder is None
    orders = prepared.loads["orders"]
    problem = only(orders.problems, "dangling_reference")
    assert (problem.count, problem.examples, problem.example_values) == (2, [2, 4], ["C9", "C8"])
    assert "point to a customer_id that is not in the customers table" in problem.message
    assert orders.rows_used == 2 and orders.rejected == {"dangling_reference": 2}  # A3 is a guest order: kept
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
        c.name: contract.PANDAS_DTYPES[c.kind] for c in contract.TABLES["customers"].columns
    }


def test_column_renames_map_client_columns_and_ignore_extras(tmp_path):
    write(
        tmp_path,
        "kunden.csv",
        "Kundennummer,Erstkontakt,Kanal,Land,Newsletter,Notiz\n"
        "K1,2025-01-01,email,DE,ja,hello\nK2,2025-01-02,direct,AT,nein,\n",
    )
    p = make_params(
        tmp_path,
        {
            "customers": {
                "file": "kunden.csv",
                "columns": {
                    "customer_id": "Kundennummer",
                    "first_seen_at": "Erstkontakt",
                    "acquisition_channel": "Kanal",
                    "country": "Land",
                    "email_opt_in": "Newsletter",
                },
            }
        },
    )

    df, load = sources.load_table(p, "customers")

    assert not load.problems
    assert list(df.columns) == list(contract.TABLES["customers"].column_names)  # "Notiz" ignored
    assert df["customer_id"].tolist() == ["K1", "K2"] and df["country"].tolist() == ["DE", "AT"]
    assert df["email_opt_in"].tolist() == [True, False]
    assert load.mapping["customer_id"] == "Kundennummer"
