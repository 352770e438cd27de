"""Coercion to contract types: dates, time zones, numbers, whole numbers, yes/no, vocabularies."""

from __future__ import annotations

import pandas as pd

from lifecycle_audit import contract, sources
from tests.kit.sources import CUSTOMERS_CSV, make_params, only, write


def test_unparsable_date_names_file_column_count_rows_and_values(tmp_path):
    write(
        tmp_path,
        "customers.csv",
        CUSTOMERS_CSV.replace("2025-01-02,", "31/02/2025,").replace("2025-01-03T10:00:00,", "n/a,"),
    )
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, load = sources.load_table(p, "customers")

    problem = only(load.problems, "unparsable_date")
    assert (problem.count, problem.examples, problem.example_values) == (2, [2, 3], ["31/02/2025", "n/a"])
    assert not problem.fatal and problem.column == "first_seen_at"
    text = str(problem)
    assert text.startswith(
        "customers.csv: column 'first_seen_at' (contract customers.first_seen_at): "
        "2 rows have a date that cannot be read, e.g. rows 2, 3"
    )
    assert "values '31/02/2025', 'n/a'" in text and "file lines 3, 4" in text
    assert "expected dates like 2025-03-31" in text and "read.date_format" in text
    assert load.rejected == {"unparsable_date": 2} and df["customer_id"].tolist() == ["C1"]


def test_date_format_option_and_day_first_guess(tmp_path):
    write(
        tmp_path, "a.csv", "customer_id,first_seen_at,acquisition_channel\nC1,03.04.2025 10:30,\nC2,13.04.2025 08:00,\n"
    )
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
    write(
        tmp_path,
        "customers.csv",
        "customer_id,first_seen_at,acquisition_channel\n"
        "C1,2025-03-01T10:00:00+02:00,\nC2,2025-03-01T10:00:00Z,\nC3,2025-03-01 10:00:00,\n",
    )
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, _ = sources.load_table(p, "customers")

    assert str(df["first_seen_at"].dtype) == "datetime64[us]"
    assert df["first_seen_at"].tolist() == [
        pd.Timestamp("2025-03-01 08:00"),
        pd.Timestamp("2025-03-01 10:00"),
        pd.Timestamp("2025-03-01 10:00"),
    ]


def test_wrong_number_is_rejected_with_the_expected_layout(tmp_path):
    write(
        tmp_path,
        "orders.csv",
        "order_id,customer_id,order_time,revenue\n"
        'A1,C1,2025-01-01,10.5\nA2,C1,2025-01-02,12,50"\nA3,C1,2025-01-03,zehn\nA4,C1,2025-01-04,7\n'.replace(
            '12,50"', '"12,50"'
        ),
    )
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
    write(
        tmp_path, "customers.csv", CUSTOMERS_CSV + "C4,2025-01-04,Paid Search\nC5,2025-01-05,tv\nC6,2025-01-06,radio\n"
    )
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, load = sources.load_table(p, "customers")

    problem = only(load.problems, "not_allowed")
    assert (problem.count, problem.examples, problem.example_values) == (2, [5, 6], ["tv", "radio"])
    assert "expected one of: " + ", ".join(contract.CHANNELS) in str(problem)
    # a spelling variant of an allowed value is mapped onto the contract's spelling, and said so
    assert df.set_index("customer_id").loc["C4", "acquisition_channel"] == "paid_search"
    assert any("'Paid Search' -> 'paid_search'" in note for note in load.notes)
