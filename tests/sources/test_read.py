"""Reading client files: missing and unreadable files, encodings, delimiters, Excel, Parquet."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from lifecycle_audit import contract, sources
from tests.kit.sources import CUSTOMERS_CSV, make_params, only, write


def test_missing_file_is_fatal_and_says_where_it_looked(tmp_path):
    write(tmp_path, "customer.csv", CUSTOMERS_CSV)
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, load = sources.load_table(p, "customers")

    assert df is None and not load.usable
    problem = only(load.problems, "missing_file")
    assert problem.fatal and problem.count == 0
    text = str(problem)
    assert text.startswith("customers.csv: file not found")  # paths relative to data_dir
    assert "sources.customers.file is 'customers.csv'" in text
    assert "did you mean 'customer.csv'?" in text


def test_single_column_header_hints_at_the_delimiter(tmp_path):
    write(tmp_path, "customers.csv", "customer_id|first_seen_at|acquisition_channel\nC1|2025-01-01|email\n")
    p = make_params(tmp_path, {"customers": {"file": "customers.csv", "read": {"delimiter": ","}}})

    _, load = sources.load_table(p, "customers")

    assert "is read.delimiter right?" in str(load.problems[0])


def test_undecodable_file_is_unreadable_and_suggests_an_encoding(tmp_path):
    write(
        tmp_path,
        "customers.csv",
        "customer_id,first_seen_at,acquisition_channel\nMüller,2025-01-01,email\n",
        encoding="cp1252",
    )
    p = make_params(tmp_path, {"customers": {"file": "customers.csv", "read": {"encoding": "utf-8"}}})

    _, load = sources.load_table(p, "customers")

    problem = only(load.problems, "unreadable")
    assert problem.fatal and "read.encoding" in problem.message and "cp1252" in problem.message

    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})  # not set: detected, and noted
    df, load = sources.load_table(p, "customers")
    assert load.usable and df["customer_id"].tolist() == ["Müller"]
    assert any("read as cp1252" in n for n in load.notes)

    p = make_params(tmp_path, {"customers": {"file": "customers.csv", "read": {"encoding": "cp1252"}}})
    df, load = sources.load_table(p, "customers")
    assert load.usable and df["customer_id"].tolist() == ["Müller"]


def test_semicolon_delimiter_and_decimal_comma(tmp_path):
    write(
        tmp_path,
        "orders.csv",
        "order_id;customer_id;order_time;revenue;discount\n"
        "A1;C1;31.01.2025 10:00;1.234,50;0,5\nA2;C2;01.02.2025 11:00;12,00;\n",
    )
    p = make_params(
        tmp_path,
        {"orders": {"file": "orders.csv", "read": {"decimal": ",", "thousands": ".", "date_format": "%d.%m.%Y %H:%M"}}},
    )

    df, load = sources.load_table(p, "orders")

    assert not load.problems
    assert any("delimiter ';' detected" in note for note in load.notes)
    assert df["revenue"].tolist() == [1234.5, 12.0]
    assert df["discount"].iloc[0] == 0.5 and np.isnan(df["discount"].iloc[1])
    assert df["order_time"].tolist() == [pd.Timestamp("2025-01-31 10:00"), pd.Timestamp("2025-02-01 11:00")]
    assert (load.date_min, load.date_max) == ("2025-01-31T10:00:00", "2025-02-01T11:00:00")


def test_typed_parquet_input_takes_the_fast_path_and_is_still_checked(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": pd.array(["C1", "C2", "C2", None], dtype="string"),
            "first_seen_at": pd.to_datetime(
                ["2025-01-01 10:00", "2025-01-02", "2025-01-03", "2025-01-04"], format="ISO8601"
            ).tz_localize("Europe/Berlin"),
            "acquisition_channel": pd.array(["email", "tv", "email", "direct"], dtype="string"),
            "email_opt_in": pd.array([True, None, False, True], dtype="boolean"),
            "unused": [1, 2, 3, 4],
        }
    )
    frame.to_parquet(tmp_path / "customers.parquet")
    p = make_params(tmp_path, {"customers": {"file": "customers.parquet"}})

    df, load = sources.load_table(p, "customers")

    assert load.rows_in == 4 and load.rows_used == 2
    assert load.rejected == {"not_allowed": 1, "null_value": 1}
    assert df["first_seen_at"].tolist() == [pd.Timestamp("2025-01-01 09:00"), pd.Timestamp("2025-01-02 23:00")]
    assert df["email_opt_in"].tolist() == [True, False]
    assert {c: str(t) for c, t in df.dtypes.items()} == {
        c.name: contract.PANDAS_DTYPES[c.kind] for c in contract.TABLES["customers"].columns
    }
    # row numbers are 1-based data rows; Parquet has no file lines
    problem = only(load.problems, "not_allowed")
    assert problem.examples == [2] and "file line" not in problem.message


def test_excel_without_its_reader_package_says_what_to_install(tmp_path):
    pytest.importorskip("pandas")
    try:
        import openpyxl  # noqa: F401, PLC0415 - only whether it is installed
    except ImportError:
        pass
    else:
        pytest.skip("openpyxl is installed")
    with zipfile.ZipFile(tmp_path / "customers.xlsx", "w") as z:  # looks like a workbook to pandas
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    p = make_params(tmp_path, {"customers": {"file": "customers.xlsx"}})

    _, load = sources.load_table(p, "customers")

    problem = only(load.problems, "unreadable")
    assert problem.fatal and "pip install openpyxl" in problem.message
