"""The accounting: rows in = used + rejected, one reason per row, identifiers masked in what travels."""

from __future__ import annotations

import json

import pytest

from lifecycle_audit import sources
from tests.kit.sources import CUSTOMERS_CSV, make_params, only, write


def test_accounting_adds_up_and_blank_rows_are_counted(tmp_path):
    write(
        tmp_path,
        "customers.csv",
        "customer_id,first_seen_at,acquisition_channel\n"
        "C1,2025-01-01,email\n"  # used
        "C2,someday,email\n"  # unparsable date
        "C3,2025-01-03,tv\n"  # not allowed
        ",2025-01-04,email\n"  # null key
        "C1,2025-01-05,email\n"  # duplicate
        "C6,bad,tv\n"  # two reasons, counted once (the first: the date)
        "C7,2025-01-07,\n"  # used
        ",,\n\n",
    )  # blank trailing rows
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    df, load = sources.load_table(p, "customers")

    assert load.rows_in == 9 and load.rows_used == 2 == len(df)
    assert load.rejected == {
        "blank_row": 2,
        "unparsable_date": 2,
        "not_allowed": 1,
        "null_value": 1,
        "duplicate_key": 1,
    }
    assert load.rows_in == load.rows_used + sum(load.rejected.values())
    # a problem counts every row it affects; C6 appears under both
    assert only(load.problems, "not_allowed").examples == [3, 6]
    assert load.rejected_share == pytest.approx(5 / 7)
    json.dumps(sources.Prepared(None, {"customers": load}).to_dict())


def test_to_dict_masks_customer_ids_in_examples(tmp_path):
    write(tmp_path, "customers.csv", CUSTOMERS_CSV + "CUST-000123,2025-02-01,email\nCUST-000123,2025-02-02,email\n")
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}})

    prepared = sources.check_sources(p)

    problem = only(prepared.problems, "duplicate_key")
    assert problem.example_values == ["CUST-000123"]  # the consultant sees the value
    shown = prepared.to_dict()["tables"]["customers"]["problems"][0]
    assert shown["example_values"] == ["CU*********"] and "CUST-000123" not in json.dumps(prepared.to_dict())

    # prepare's accounting feeds the report: masked, in memory and in accounting.json
    prepared = sources.prepare(p, max_rejected_share=0.5)
    assert "CUST-000123" not in str(prepared.problems[0]) and "'CU*********'" in str(prepared.problems[0])
    assert "CUST-000123" not in (prepared.folder / "accounting.json").read_text()
