"""Staged rows: the contract columns in one file, the row numbers and keys beside them, row group for row group."""

from __future__ import annotations

import duckdb
import pandas as pd

from lifecycle_audit.sources.staged import KEY, ROW, Staged


def _staged(tmp_path) -> Staged:
    """Two batches of rows numbered 0-2 and 5-6 (rows 3 and 4 rejected by the per-row checks), with their keys."""
    staged = Staged(tmp_path / "orders.staging.parquet", ["order_id", "revenue"])
    first = pd.DataFrame({"order_id": ["A", "B", "C"], "revenue": [1.5, 2.0, None]}, index=[0, 1, 2])
    second = pd.DataFrame({"order_id": ["F", "G"], "revenue": [7.0, 8.25]}, index=[5, 6])
    for batch in (first, second):
        staged.append(batch, {KEY: batch["order_id"].str.lower()})
    staged.close()
    return staged


def test_rows_read_back_with_their_numbers_and_keys(tmp_path):
    staged = _staged(tmp_path)
    assert staged.read(["order_id"])["order_id"].tolist() == ["A", "B", "C", "F", "G"]
    assert staged.read(["order_id", KEY]).index.tolist() == [0, 1, 2, 5, 6]
    with duckdb.connect() as con:  # the engine reads the two files side by side, row for row
        pairs = con.execute(f'SELECT "{ROW}", order_id, "{KEY}" FROM {staged.sql()} ORDER BY 1').fetchall()
    assert pairs == [(0, "A", "a"), (1, "B", "b"), (2, "C", "c"), (5, "F", "f"), (6, "G", "g")]


def test_with_no_row_set_aside_the_staged_file_becomes_the_canonical_table(tmp_path):
    staged = _staged(tmp_path)
    dest = tmp_path / "orders.parquet"
    staged.write(dest)
    expected = pd.DataFrame({"order_id": ["A", "B", "C", "F", "G"], "revenue": [1.5, 2.0, None, 7.0, 8.25]})
    pd.testing.assert_frame_equal(pd.read_parquet(dest), expected)
    assert not (tmp_path / "orders.staging.parquet").exists()  # moved, not copied


def test_rows_set_aside_are_left_out_of_the_canonical_table(tmp_path):
    staged = _staged(tmp_path)
    staged.drop([1, 6])
    dest = tmp_path / "orders.parquet"
    staged.write(dest)
    expected = pd.DataFrame({"order_id": ["A", "C", "F"], "revenue": [1.5, None, 7.0]})
    pd.testing.assert_frame_equal(pd.read_parquet(dest), expected)
    assert len(staged) == 3
