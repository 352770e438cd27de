"""Large tables checked in batches (sources.stream): the same verdicts, messages, accounting and canonical rows as
one frame gives, whatever the batch boundaries; the table is never whole in memory."""

from __future__ import annotations

import gzip
import itertools
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifecycle_audit import paths, sources
from lifecycle_audit.sources import batches, doubles, staged, stream
from lifecycle_audit.sources import validate as source_validate
from tests.kit.sources import make_params, only, write

T0 = pd.Timestamp("2025-03-01 10:00:00")


def _parquet(folder, name: str, columns: dict[str, list]) -> None:
    pq.write_table(pa.table({c: pa.array(v) for c, v in columns.items()}), folder / f"{name}.parquet")


def _customers(folder) -> None:
    """40 customers: C5 of a channel outside the contract (its orders and events are blamed on it), C12 again
    in row 31 (a repeated key, batches apart), C20 with a date that cannot be read."""
    ids = [f"C{i}" for i in range(40)] + ["C12"]
    first = [f"2025-01-{1 + i % 28:02d} 09:00:00" for i in range(41)]
    first[20] = "not a date"
    channel = ["email" if i % 2 else "paid_search" for i in range(41)]
    channel[5] = "social"
    channel[7] = "Paid Search"  # another spelling of paid_search: matched, with a note
    _parquet(folder, "customers", {"customer_id": ids, "first_seen_at": first, "acquisition_channel": channel})


def _orders(folder) -> None:
    """30 orders round the customers: a revenue that is not a number (row 4) and one that reads as empty (16), order O7 recorded again in row
    26 (a double, excluded), O9 again with another amount in row 27 (a repeated key), a customer that does not
    exist (row 29), and row 3 pointing at C35, a customer in a later batch."""
    ids = [f"O{i}" for i in range(28)] + ["O7", "O9"]
    cust = [f"C{i % 40}" for i in range(28)] + ["C7", "C9"]
    revenue = [f"{10 + i}.50" for i in range(28)] + ["17.50", "99.00"]
    revenue[3], revenue[15] = "ten", "n/a"
    cust[2], cust[28 - 1] = "C35", "C99"
    times = [(T0 + pd.Timedelta(hours=i)).isoformat(sep=" ") for i in range(30)]
    _parquet(folder, "orders", {"order_id": ids, "customer_id": cust, "order_time": times, "revenue": revenue})


def _events(folder) -> None:
    """60 events: a purchase fired twice 20 seconds apart in rows 7 and 8 (split by a batch of 7 rows), another
    two minutes apart (not a double), a missing session (row 12), an event type outside the contract (row 40),
    events of the rejected customer C5 and of one that does not exist (row 50)."""
    n = 60
    session = [f"S{i // 3}" for i in range(n)]
    cust = [f"C{i % 40}" if i % 4 else None for i in range(n)]
    times = [T0 + pd.Timedelta(minutes=10 * i) for i in range(n)]
    kind = ["page_view"] * n
    product = [None] * n
    for a, b, gap in ((6, 7, 20), (20, 21, 120)):
        cust[a] = cust[b] = "C3"
        kind[a] = kind[b] = "purchase"
        product[a] = product[b] = "P1"
        times[b] = times[a] + pd.Timedelta(seconds=gap)
    session[11] = None
    kind[39] = "click"
    cust[45] = "C5"
    cust[49] = "C404"
    _parquet(
        folder,
        "events",
        {
            "session_id": session,
            "customer_id": cust,
            "anonymous_id": pa.array([None] * n, pa.string()),
            "event_time": pa.array(times, pa.timestamp("us")),
            "event_type": kind,
            "product_id": product,
        },
    )


@pytest.fixture
def shop(tmp_path):
    """Params over a small Parquet shop with a planted problem of every kind the batches must not change."""
    data = tmp_path / "data"
    data.mkdir()
    _customers(data)
    _orders(data)
    _events(data)
    names = ("customers", "orders", "events")
    return make_params(data, {n: {"file": f"{n}.parquet"} for n in names}, max_rejected_share=1.0)


def _streamed(monkeypatch, rows: int) -> None:
    """Tables of more than 10 rows read in batches of `rows`; the staged rows re-read in batches of 5."""
    monkeypatch.setattr(stream, "STREAM_ROWS", 10)
    monkeypatch.setattr(stream, "BATCH_ROWS", rows)
    monkeypatch.setattr(staged, "BATCH_ROWS", 5)


def _accounting(prepared) -> dict:
    out = prepared.to_dict(mask=False)
    out.pop("folder", None)
    return out


# What the planted shop's rows set aside come to, per table and kind (rejected or excluded).
SHOP_SET_ASIDE = {
    "customers": {"unparsable_date": 1, "not_allowed": 1, "duplicate_key": 1},
    "orders": {"wrong_type": 1, "null_value": 1, doubles.REPEATED_ORDER: 1, "duplicate_key": 1,
               "parent_rejected": 2, "dangling_reference": 1},
    "events": {"null_value": 1, "not_allowed": 1, doubles.DOUBLED_EVENT: 1, "parent_rejected": 2,
               "dangling_reference": 1},
}  # fmt: skip


def _set_aside(checked) -> dict:
    return {name: {**load.rejected, **load.excluded} for name, load in checked.loads.items()}


@pytest.mark.parametrize("rows", [7, 4])
def test_batches_give_the_verdicts_and_accounting_of_one_frame(shop, monkeypatch, rows):
    whole = sources.check_sources(shop)
    _streamed(monkeypatch, rows)

    batched = sources.check_sources(shop)

    assert _accounting(batched) == _accounting(whole)
    assert _set_aside(batched) == SHOP_SET_ASIDE


def test_batch_boundaries_split_nothing(shop, monkeypatch):
    _streamed(monkeypatch, 7)

    prepared = sources.check_sources(shop)

    events = prepared.loads["events"]
    assert events.exclusions[0]["examples"] == [8]  # the second of the purchase fired twice, batches apart
    assert only(prepared.loads["customers"].problems, "duplicate_key").examples == [41]
    assert only(prepared.loads["orders"].problems, "duplicate_key").examples == [30]
    blamed = only(events.problems, "parent_rejected")
    assert blamed.count == 2 and "social" in blamed.message  # both events of C5 blamed on its channel
    assert only(prepared.loads["orders"].problems, "dangling_reference").examples == [28]
    blank = only(prepared.loads["orders"].problems, "null_value")  # 'n/a' reads as empty
    assert (blank.count, blank.examples, blank.example_values) == (1, [16], ["n/a"])


def test_streamed_prepare_writes_the_canonical_tables_of_one_frame(shop, monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "CACHE", tmp_path / "whole")
    whole = sources.prepare(shop, max_rejected_share=1.0)
    monkeypatch.setattr(paths, "CACHE", tmp_path / "batched")
    _streamed(monkeypatch, 7)

    batched = sources.prepare(shop, max_rejected_share=1.0)

    for name in ("customers", "orders", "events"):
        pd.testing.assert_frame_equal(pd.read_parquet(batched.path(name)), pd.read_parquet(whole.path(name)))
    assert _accounting(batched) == _accounting(whole)
    assert not list((tmp_path / "batched" / "tables" / "acme").glob(".staging-*"))  # the staging files are gone


def test_small_tables_stay_on_the_frame_path_and_point_at_staged_ones(shop, monkeypatch):
    whole = sources.check_sources(shop)
    calls = []
    monkeypatch.setattr(stream, "STREAM_ROWS", 40)  # customers (41 rows) and events (60) are large; orders not
    monkeypatch.setattr(stream, "BATCH_ROWS", 7)
    real = source_validate.row_checks
    monkeypatch.setattr(stream, "row_checks", lambda name, *a: calls.append(name) or real(name, *a))

    mixed = sources.check_sources(shop)

    assert set(calls) == {"customers", "events"}
    assert _accounting(mixed) == _accounting(whole)  # orders (a frame) checked against customers (staged)


def test_a_missing_column_makes_a_streamed_table_unusable(shop, monkeypatch):
    _streamed(monkeypatch, 7)
    shop.sources["orders"].columns["revenue"] = "amount"

    prepared = sources.check_sources(shop)

    assert not prepared.loads["orders"].usable
    assert only(prepared.loads["orders"].problems, "missing_column").fatal


def test_a_layout_guessed_batch_by_batch_is_noted_once_not_per_batch(tmp_path, monkeypatch):
    n = 40
    times = [f"2025-03-{1 + i % 28:02d} 10:00:00" for i in range(n)]
    for i in (1, 9, 10, 17, 30):  # day-first dates in four batches of 7, two in one of them
        times[i] = f"{1 + i % 28:02d}.03.2025 10:00"
    _parquet(tmp_path, "events", {
        "session_id": [f"S{i}" for i in range(n)], "customer_id": [None] * n, "anonymous_id": [f"A{i}" for i in range(n)],
        "event_time": times, "event_type": ["page_view"] * n,
    })  # fmt: skip
    p = make_params(tmp_path, {"events": {"file": "events.parquet"}})
    whole = sources.check_sources(p).loads["events"]
    _streamed(monkeypatch, 7)

    batched = sources.check_sources(p).loads["events"]

    assert batched.rows_used == whole.rows_used == n
    assert batched.date_min == whole.date_min and batched.date_max == whole.date_max
    about = [note for note in batched.notes if note.startswith("events.event_time")]
    assert len(about) == 2 and "read as '%d.%m.%Y %H:%M'" in about[0] and "a later batch noted" in about[1]


# --- delimited text and several files read in batches ----------------------------------------------------------


def _shop_parts(folder, parts: int):
    """Each of the shop's tables (name, its rows in `parts` pieces), its Parquet file removed and, when parts > 1,
    a folder of its name made for the pieces."""
    for name in ("customers", "orders", "events"):
        df = pd.read_parquet(folder / f"{name}.parquet")
        (folder / f"{name}.parquet").unlink()
        if parts > 1:
            (folder / name).mkdir()
        yield name, [df] if parts == 1 else _split(df, parts)


def _as_text(folder, sep: str = ",", suffix: str = "csv", parts: int = 1, gzip_it: bool = False) -> None:
    """The shop's Parquet tables written as delimited text (every value as written, None as empty), in `parts`
    files of a folder per table when parts > 1; the Parquet files removed."""
    for name, chunks in _shop_parts(folder, parts):
        for k, part in enumerate(chunks):
            path = folder / name / f"part-{k + 1}.{suffix}" if parts > 1 else folder / f"{name}.{suffix}"
            part.to_csv(path, sep=sep, index=False, compression="gzip" if gzip_it else None)


def _split(df: pd.DataFrame, parts: int) -> list[pd.DataFrame]:
    """Consecutive pieces of unequal sizes (2/9, 3/9 and 4/9 of the rows), so that files and batches do not line up."""
    cuts = [0, len(df) * 2 // 9, len(df) * 5 // 9, len(df)]
    return [df.iloc[a:b] for a, b in itertools.pairwise(cuts)]


def _text_params(folder, suffix: str, parts: int = 1):
    files = {n: {"file": n if parts > 1 else f"{n}.{suffix}"} for n in ("customers", "orders", "events")}
    return make_params(folder, files, max_rejected_share=1.0)


def _streamed_equals_whole(params, monkeypatch, tmp_path, rows: int = 7, tables=("customers", "orders", "events")):
    """Prepare read whole, then in batches (counting the batches checked per table): the accounting and the
    canonical tables must be the same. Returns what was prepared in batches and the batches checked per table."""
    monkeypatch.setattr(paths, "CACHE", tmp_path / "whole")
    whole = sources.prepare(params, max_rejected_share=1.0)
    monkeypatch.setattr(paths, "CACHE", tmp_path / "batched")
    _streamed(monkeypatch, rows)
    calls: dict[str, int] = {}
    real = source_validate.row_checks
    monkeypatch.setattr(
        stream, "row_checks", lambda name, *a: calls.update({name: calls.get(name, 0) + 1}) or real(name, *a)
    )

    batched = sources.prepare(params, max_rejected_share=1.0)

    assert _accounting(batched) == _accounting(whole)
    for name in tables:
        pd.testing.assert_frame_equal(pd.read_parquet(batched.path(name)), pd.read_parquet(whole.path(name)))
    return batched, calls


@pytest.mark.parametrize(
    ("sep", "suffix", "gzip_it"),
    [(",", "csv", False), ("\t", "tsv", False), (",", "csv.gz", True), (";", "csv", False)],
)
def test_text_in_batches_gives_what_reading_it_whole_gives(shop, monkeypatch, tmp_path, sep, suffix, gzip_it):
    data = shop.data_path
    _as_text(data, sep=sep, suffix=suffix, gzip_it=gzip_it)
    p = _text_params(data, suffix)

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path)

    assert calls == {"customers": 6, "orders": 5, "events": 9}  # 41, 30 and 60 rows in batches of 7
    kinds = {name: {**load.rejected, **load.excluded} for name, load in batched.loads.items()}
    assert kinds["orders"] == {"wrong_type": 1, "null_value": 1, doubles.REPEATED_ORDER: 1, "duplicate_key": 1,
                               "parent_rejected": 2, "dangling_reference": 1}  # fmt: skip
    assert batched.loads["events"].line_offset == 1 and batched.loads["events"].format == suffix.split(".")[0]


def test_problems_found_over_all_rows_name_file_column_and_line(shop, monkeypatch, tmp_path):
    data = shop.data_path
    _as_text(data)

    batched, _ = _streamed_equals_whole(_text_params(data, "csv"), monkeypatch, tmp_path)

    repeated = str(only(batched.loads["orders"].problems, "duplicate_key"))  # O9 again in row 30, the 5th batch
    assert repeated.startswith("orders.csv: column 'order_id' (contract orders.order_id)")
    assert "e.g. row 30 (value 'O9'; file line 31)" in repeated and "each order_id to appear once" in repeated
    dangling = str(only(batched.loads["orders"].problems, "dangling_reference"))  # C99 in row 28 (masked: '***')
    assert dangling.startswith("orders.csv: column 'customer_id' (contract orders.customer_id)")
    assert "e.g. row 28 (value '***'; file line 29)" in dangling and "to exist in customers.customer_id" in dangling


def test_a_bad_value_in_the_second_batch_keeps_its_file_line(tmp_path, monkeypatch):
    rows = [f"O{i},C1,2025-03-01 10:00:00,{i}.50" for i in range(20)]
    rows[9] = "O9,C1,2025-03-01 10:00:00,nine"  # data row 10: in the second batch of 7
    write(tmp_path, "orders.csv", "order_id,customer_id,order_time,revenue\n" + "\n".join(rows) + "\n")
    p = make_params(tmp_path, {"orders": {"file": "orders.csv"}}, max_rejected_share=1.0)

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path, tables=("orders",))

    assert calls == {"orders": 3}
    text = str(only(batched.loads["orders"].problems, "wrong_type"))
    assert text.startswith("orders.csv: column 'revenue' (contract orders.revenue)")
    assert "e.g. row 10 (value 'nine'; file line 11)" in text and "a number" in text


def test_blank_lines_and_a_repeated_header_between_batches_are_counted_and_lines_kept(tmp_path, monkeypatch):
    header = "order_id,customer_id,order_time,revenue"
    lines = [f"O{i},C1,2025-03-01 10:00:00,{i}.50" for i in range(24)]
    lines[17] = "O17,C1,2025-03-01 10:00:00,abc"  # a revenue that is no number, after them: its file line must be right
    lines[6:6] = ["", header]  # data rows 7 and 8: the last of batch 1, the first of batch 2
    lines[14:14] = [",,,"]  # an empty row of commas in batch 2
    write(tmp_path, "orders.csv", header + "\n" + "\n".join(lines) + "\n")
    p = make_params(tmp_path, {"orders": {"file": "orders.csv"}}, max_rejected_share=1.0)

    batched, _ = _streamed_equals_whole(p, monkeypatch, tmp_path, tables=("orders",))

    load = batched.loads["orders"]
    assert load.rejected == {"blank_row": 2, "repeated_header": 1, "wrong_type": 1}
    assert load.rows_in == 27 and load.rows_used == 23
    assert "e.g. row 21 (value 'abc'; file line 22)" in str(only(load.problems, "wrong_type"))
    assert batched.inputs[0].excluded == {"blank_row": 2, "repeated_header": 1} and batched.inputs[0].balanced


def test_a_quoted_value_spanning_lines_keeps_file_lines_across_batches(tmp_path, monkeypatch):
    rows = [f'O{i},C1,2025-03-01 10:00:00,{i}.50,"note {i}"' for i in range(20)]
    rows[5] = 'O5,C1,2025-03-01 10:00:00,5.50,"gift\nwrapped"'  # data row 6: batch 1
    rows[7] = 'O7,C1,2025-03-01 10:00:00,7.50,"to the\ndoor,\nplease"'  # data row 8: batch 2
    rows[3] = "O3,C1,2025-03-01 10:00:00,three,x"  # batch 1, before the breaks: line 5
    rows[12] = "O12,C1,2025-03-01 10:00:00,twelve,x"  # batch 2, after three breaks: line 17
    write(tmp_path, "orders.csv", "order_id,customer_id,order_time,revenue,note\n" + "\n".join(rows) + "\n")
    p = make_params(tmp_path, {"orders": {"file": "orders.csv"}}, max_rejected_share=1.0)

    batched, _ = _streamed_equals_whole(p, monkeypatch, tmp_path, tables=("orders",))

    bad = only(batched.loads["orders"].problems, "wrong_type")
    assert (bad.examples, bad.example_lines) == ([4, 13], [5, 17])
    assert "file lines 5, 17" in bad.message


def test_a_quote_swallowing_rows_in_a_later_batch_is_an_error_as_read_whole(tmp_path, monkeypatch):
    rows = [f"O{i},C1,2025-03-01 10:00:00,{i}.50,x" for i in range(20)]
    rows[2] = 'O2,C1,2025-03-01 10:00:00,2.50,"two\nlines"'  # batch 1: the lines after it are one further on
    rows[9] = 'O9,C1,2025-03-01 10:00:00,9.50,"oops'  # batch 2, file line 12: left open, it swallows three rows
    rows[12] = 'O12,C1,2025-03-01 10:00:00,12.50,closed"'
    write(tmp_path, "orders.csv", "order_id,customer_id,order_time,revenue,note\n" + "\n".join(rows) + "\n")
    p = make_params(tmp_path, {"orders": {"file": "orders.csv"}}, max_rejected_share=1.0)
    whole = sources.check_sources(p)
    _streamed(monkeypatch, 7)

    batched = sources.check_sources(p)

    assert _accounting(batched) == _accounting(whole)
    problem = only(batched.loads["orders"].problems, "unreadable")
    assert (
        problem.fatal
        and "line 12: a quote (\") opens a value in column 'note' that runs on to line 15" in problem.message
    )


def _cp1252_customers(folder, rows: int) -> None:
    """Customers whose only byte that is not UTF-8 ('é' in cp1252) lies in their last row, far past the first
    batches and past the parser's first buffer."""
    lines = [f"C{i},2025-01-{1 + i % 28:02d} 09:00:00,email,Berlin" for i in range(rows)]
    lines[-1] = f"C{rows - 1},2025-01-01 09:00:00,email,Montréal"
    text = "customer_id,first_seen_at,acquisition_channel,city\n" + "\n".join(lines) + "\n"
    (folder / "customers.csv").write_bytes(text.encode("cp1252"))


def test_cp1252_text_whose_first_odd_byte_is_in_a_later_batch_is_read_again_as_cp1252(tmp_path, monkeypatch):
    _cp1252_customers(tmp_path, 12_000)  # 0.5 MB: the odd byte is past the parser's first buffer
    p = make_params(tmp_path, {"customers": {"file": "customers.csv"}}, max_rejected_share=1.0)
    attempts = []
    real = stream._load
    monkeypatch.setattr(stream, "_load", lambda *a: attempts.append(1) or real(*a))

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path, rows=3_000, tables=("customers",))

    assert len(attempts) == 2 and calls["customers"] > 4  # UTF-8 up to a later batch, then all 4 batches as cp1252
    load = batched.loads["customers"]
    assert load.rows_used == 12_000 and batched.inputs[0].rows_used == 12_000  # nothing staged twice
    assert any("not UTF-8" in n and "read as cp1252" in n for n in load.notes)
    assert pd.read_parquet(batched.path("customers"))["customer_id"].is_unique


def test_a_folder_of_three_csv_files_streams_as_read_whole(shop, monkeypatch, tmp_path):
    data = shop.data_path
    _as_text(data, parts=3)

    batched, calls = _streamed_equals_whole(_text_params(data, "csv", parts=3), monkeypatch, tmp_path)

    assert calls == {"customers": 7, "orders": 5, "events": 9}  # batches of 7 within each file (9, 13, 19 rows; ...)
    events = batched.loads["events"]
    assert events.parts == [["events/part-1.csv", 0], ["events/part-2.csv", 13], ["events/part-3.csv", 33]]
    outside = only(events.problems, "not_allowed")  # data row 40 of all: row 7 of part-3.csv, in the 6th batch
    assert (outside.examples, outside.example_files) == ([7], ["events/part-3.csv"])
    assert "e.g. row 7 of part-3.csv (value 'click'; file line 8)" in outside.message
    blamed = only(events.problems, "parent_rejected")  # C5's events: one in part-1.csv, one in part-3.csv
    assert blamed.example_files == ["events/part-1.csv", "events/part-3.csv"] and blamed.examples == [6, 13]
    assert [i.rows_in for i in batched.inputs if i.source == "events"] == [13, 20, 27]


def test_a_folder_of_two_parquet_files_streams_as_read_whole(shop, monkeypatch, tmp_path):
    data = shop.data_path
    for name in ("customers", "orders", "events"):
        df = pq.read_table(data / f"{name}.parquet")
        (data / f"{name}.parquet").unlink()
        (data / name).mkdir()
        half = len(df) // 3
        pq.write_table(df.slice(0, half), data / name / "a.parquet")
        pq.write_table(df.slice(half), data / name / "b.parquet")
    p = make_params(data, {n: {"file": n} for n in ("customers", "orders", "events")}, max_rejected_share=1.0)

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path)

    assert calls == {"customers": 6, "orders": 5, "events": 9}
    assert batched.loads["events"].parts == [["events/a.parquet", 0], ["events/b.parquet", 20]]
    outside = only(batched.loads["events"].problems, "not_allowed")  # data row 40 of all: row 20 of b.parquet
    assert (outside.examples, outside.example_files) == ([20], ["events/b.parquet"])
    assert [i.rows_in for i in batched.inputs if i.source == "events"] == [20, 40]


def test_text_files_whose_headers_differ_are_read_whole(shop, monkeypatch, tmp_path):
    data = shop.data_path
    _as_text(data, parts=3)
    part = data / "orders" / "part-3.csv"
    df = pd.read_csv(part, dtype="string", keep_default_na=False)
    df.insert(2, "note", "x")  # a column the first two files lack: read whole, the columns joined and noted
    df.to_csv(part, index=False)
    p = _text_params(data, "csv", parts=3)

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path)

    assert set(calls) == {"customers", "events"}  # the headers told apart before reading any rows
    assert any("part-3.csv has other columns" in n for n in batched.loads["orders"].notes)


def test_a_header_that_differs_once_read_in_another_encoding_falls_back_to_the_whole_read(shop, monkeypatch, tmp_path):
    data = shop.data_path
    _as_text(data, parts=3)
    for k in (1, 2, 3):  # the same header bytes in every file: a column named 'café' (UTF-8)
        part = data / "orders" / f"part-{k}.csv"
        df = pd.read_csv(part, dtype="string", keep_default_na=False)
        df["café"] = "Montréal" if k == 3 else "Berlin"
        head, _, body = df.to_csv(index=False).partition("\n")
        part.write_bytes(head.encode("utf-8") + b"\n" + body.encode("cp1252"))  # part-3: a cp1252 value below
    p = _text_params(data, "csv", parts=3)

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path)

    assert "orders" in calls  # read in batches until part-3.csv, read as cp1252, showed another header
    notes = batched.loads["orders"].notes
    assert any("part-3.csv: not UTF-8" in n for n in notes) and any("part-3.csv has other columns" in n for n in notes)


@pytest.mark.parametrize(
    ("where", "line", "kind"),
    [
        (16, "O16,C1,2025-03-01 10:00:00,16.50,extra", "unreadable"),  # a row of 5 fields in the 3rd batch
        (None, None, "missing_column"),  # no revenue column: known from the header, the rows still counted
    ],
)
def test_a_file_a_later_batch_cannot_use_gives_the_verdict_of_a_whole_read(tmp_path, monkeypatch, where, line, kind):
    rows = [f"O{i},C1,2025-03-01 10:00:00,{i}.50" for i in range(20)]
    if where is not None:
        rows[where] = line
    header = "order_id,customer_id,order_time,revenue" if where is not None else "order_id,customer_id,order_time,rev"
    write(tmp_path, "orders.csv", header + "\n" + "\n".join(rows) + "\n")
    p = make_params(tmp_path, {"orders": {"file": "orders.csv"}}, max_rejected_share=1.0)
    whole = sources.check_sources(p)
    _streamed(monkeypatch, 7)
    assert stream.streamable(p, "orders")

    batched = sources.check_sources(p)

    assert _accounting(batched) == _accounting(whole)
    problem = only(batched.loads["orders"].problems, kind)
    assert problem.fatal and not batched.loads["orders"].usable
    if kind == "unreadable":
        assert "Expected 4 fields in line 18, saw 5" in problem.message
    else:
        assert batched.loads["orders"].rows_in == 20 and batched.inputs[0].rows_in == 20


def test_a_gzip_file_cut_short_is_unreadable_as_read_whole(tmp_path, monkeypatch):
    rows = "".join(f"O{i},C1,2025-03-01 10:00:00,{i}.50\n" for i in range(60_000))  # 2.2 MB
    data = gzip.compress(("order_id,customer_id,order_time,revenue\n" + rows).encode())
    (tmp_path / "orders.csv.gz").write_bytes(data[: len(data) * 2 // 3])  # cut short, as a broken download
    p = make_params(tmp_path, {"orders": {"file": "orders.csv.gz"}}, max_rejected_share=1.0)
    whole = sources.check_sources(p)
    _streamed(monkeypatch, 20_000)
    assert stream.streamable(p, "orders")  # more than 10 lines before the cut: read in batches

    batched = sources.check_sources(p)

    assert _accounting(batched) == _accounting(whole)
    problem = only(batched.loads["orders"].problems, "unreadable")
    assert problem.fatal and "the gzip data ends early or is damaged (EOFError" in problem.message


def test_file_lines_of_a_folder_whose_second_file_has_values_spanning_lines(tmp_path, monkeypatch):
    header = "order_id,customer_id,order_time,revenue,note\n"
    first = [f"A{i},C1,2025-03-01 10:00:00,{i}.50,x" for i in range(12)]
    first[9] = "A9,C1,2025-03-01 10:00:00,nine,x"  # no value spans lines here: line 11
    second = [f"B{i},C1,2025-03-01 10:00:00,{i}.50,x" for i in range(12)]
    second[2] = 'B2,C1,2025-03-01 10:00:00,2.50,"one\ntwo\nthree"'  # two breaks in row 3 of b.csv
    second[10] = "B10,C1,2025-03-01 10:00:00,ten,x"  # row 11 of b.csv: line 12 + 2
    (tmp_path / "orders").mkdir()
    write(tmp_path, "orders/a.csv", header + "\n".join(first) + "\n")
    write(tmp_path, "orders/b.csv", header + "\n".join(second) + "\n")
    p = make_params(tmp_path, {"orders": {"file": "orders"}}, max_rejected_share=1.0)

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path, rows=5, tables=("orders",))

    assert calls == {"orders": 6}
    bad = only(batched.loads["orders"].problems, "wrong_type")
    assert (bad.examples, bad.example_files, bad.example_lines) == (
        [10, 11],
        ["orders/a.csv", "orders/b.csv"],
        [11, 14],
    )
    assert "e.g. rows 10 of a.csv, 11 of b.csv (values 'nine', 'ten'; file lines 11, 14)" in bad.message


# --- JSON lines read in batches ---------------------------------------------------------------------------------


def _record(row: dict, nest: dict[str, str]) -> dict:
    """One shop row as a tracking tool writes it: the fields of `nest` ({column: parent}) inside a nested object,
    timestamps as ISO text, missing values null, but a missing session left out of its line (no key at all)."""
    out: dict = {}
    for col, value in row.items():
        if pd.isna(value) and col == "session_id":
            continue
        value = None if pd.isna(value) else value.isoformat(sep=" ") if isinstance(value, pd.Timestamp) else str(value)
        (out.setdefault(nest[col], {}) if col in nest else out)[col] = value
    return out


_NEST = {"events": {"session_id": "context", "product_id": "properties"}, "orders": {"revenue": "properties"}}


def _as_json_lines(folder, parts: int = 1, gzip_it: bool = False) -> None:
    """The shop's Parquet tables written as JSON lines (orders' revenue and events' session and product nested, as
    `properties.revenue`), in `parts` files of a folder per table when parts > 1; the Parquet files removed."""
    for name, chunks in _shop_parts(folder, parts):
        suffix = "jsonl.gz" if gzip_it else "jsonl"
        for k, part in enumerate(chunks):
            path = folder / name / f"part-{k + 1}.{suffix}" if parts > 1 else folder / f"{name}.{suffix}"
            lines = [json.dumps(_record(r, _NEST.get(name, {}))) for r in part.to_dict("records")]
            data = ("\n".join(lines) + "\n").encode()
            path.write_bytes(gzip.compress(data) if gzip_it else data)


def _json_params(folder, suffix: str = "jsonl", parts: int = 1, **mappings):
    files = {n: {"file": n if parts > 1 else f"{n}.{suffix}"} for n in ("customers", "orders", "events")}
    files["orders"]["columns"] = {"revenue": "properties.revenue"}
    files["events"]["columns"] = {"session_id": "context.session_id", "product_id": "properties.product_id"}
    for name, columns in mappings.items():
        files[name]["columns"] = columns
    return make_params(folder, files, max_rejected_share=1.0)


@pytest.mark.parametrize(("parts", "gzip_it"), [(1, False), (1, True), (3, False), (3, True)])
def test_json_lines_in_batches_give_what_reading_them_whole_gives(shop, monkeypatch, tmp_path, parts, gzip_it):
    data = shop.data_path
    _as_json_lines(data, parts=parts, gzip_it=gzip_it)
    p = _json_params(data, "jsonl.gz" if gzip_it else "jsonl", parts=parts)
    assert all(stream.streamable(p, n) is False for n in ("customers", "orders", "events"))  # 60 rows or fewer
    monkeypatch.setattr(stream, "STREAM_ROWS", 10)
    assert all(stream.streamable(p, n) for n in ("customers", "orders", "events"))
    monkeypatch.undo()
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path)

    # batches of 7 rows within each file: 41, 30 and 60 rows; 9 + 13 + 19, 6 + 10 + 14, 13 + 20 + 27 in three
    assert calls == ({"customers": 6, "orders": 5, "events": 9} if parts == 1 else
                     {"customers": 7, "orders": 5, "events": 9})  # fmt: skip
    assert _set_aside(batched) == SHOP_SET_ASIDE
    events = batched.loads["events"]
    assert events.format == "jsonl" and events.line_offset == 0
    outside = only(events.problems, "not_allowed")  # data row 40 of all: line 40, or line 7 of part-3
    if parts == 1:
        assert "e.g. row 40 (value 'click'; file line 40)" in outside.message
    else:
        assert outside.example_files == [f"events/part-3.jsonl{'.gz' if gzip_it else ''}"]
        assert "e.g. row 7 of part-3.jsonl" in outside.message and "file line 7)" in outside.message
        assert [i.rows_in for i in batched.inputs if i.source == "events"] == [13, 20, 27]


def _orders_json(rows: int = 20) -> list[str]:
    return [
        json.dumps({"order_id": f"O{i}", "customer_id": "C1", "order_time": "2025-03-01 10:00:00",
                    "properties": {"revenue": f"{i}.50"}})
        for i in range(rows)
    ]  # fmt: skip


def _orders_json_params(folder, file: str = "orders.jsonl"):
    columns = {"revenue": "properties.revenue"}
    return make_params(folder, {"orders": {"file": file, "columns": columns}}, max_rejected_share=1.0)


@pytest.mark.parametrize("piece", [batches.PIECE, 2])  # 2: a batch made of several frames, one of blank lines
def test_json_lines_blank_lines_and_bad_values_keep_their_file_lines_across_batches(tmp_path, monkeypatch, piece):
    monkeypatch.setattr(batches, "PIECE", piece)
    lines = _orders_json(24)
    lines[17] = lines[17].replace('"17.50"', '"abc"')  # a revenue that is no number, after the blank lines
    lines[4] = lines[4].replace(', "properties": {"revenue": "4.50"}', "")  # no revenue at all: empty
    lines[6:6] = ["", "   ", "{}"]  # file lines 7 to 9: the last of batch 1, the first two of batch 2
    lines[14:14] = [json.dumps({"order_id": "order_id", "customer_id": "customer_id", "order_time": "order_time",
                                "properties": {"revenue": "properties.revenue"}})]  # fmt: skip
    write(tmp_path, "orders.jsonl", "\n".join(lines) + "\n")
    p = _orders_json_params(tmp_path)

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path, tables=("orders",))

    assert calls == {"orders": 4}  # 28 lines in batches of 7
    load = batched.loads["orders"]
    assert load.rejected == {"blank_row": 3, "repeated_header": 1, "wrong_type": 1, "null_value": 1}
    assert load.rows_in == 28 and load.rows_used == 22
    assert "e.g. row 22 (value 'abc'; file line 22)" in str(only(load.problems, "wrong_type"))
    assert "e.g. row 5 (file line 5)" in str(only(load.problems, "null_value"))
    assert batched.inputs[0].excluded == {"blank_row": 3, "repeated_header": 1} and batched.inputs[0].balanced


def test_a_batch_of_blank_json_lines_only_keeps_its_rows(tmp_path, monkeypatch):
    lines = _orders_json(20)
    lines[7:14] = [""] * 4 + ["{}"] * 3  # lines 8 to 14: the whole second batch, no field in any of them
    lines[16] = lines[16].replace('"16.50"', '"sixteen"')
    write(tmp_path, "orders.jsonl", "\n".join(lines) + "\n")

    batched, calls = _streamed_equals_whole(_orders_json_params(tmp_path), monkeypatch, tmp_path, tables=("orders",))

    load = batched.loads["orders"]
    assert calls == {"orders": 3} and load.rejected == {"blank_row": 7, "wrong_type": 1} and load.rows_in == 20
    assert "e.g. row 17 (value 'sixteen'; file line 17)" in str(only(load.problems, "wrong_type"))


def test_a_json_field_met_only_in_a_later_batch_is_a_column_of_every_batch(tmp_path, monkeypatch):
    lines = _orders_json(20)
    for k, discount in ((15, "1.00"), (18, "lots")):  # a field of the last batch only, mapped: empty until then
        lines[k] = lines[k].replace("}}", f', "discount": "{discount}"}}, "tags": ["gift", "wrap"]}}')
    write(tmp_path, "orders.jsonl", "\n".join(lines) + "\n")
    columns = {"revenue": "properties.revenue", "discount": "properties.discount", "currency": "tags"}
    p = make_params(tmp_path, {"orders": {"file": "orders.jsonl", "columns": columns}}, max_rejected_share=1.0)

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path, tables=("orders",))

    assert calls == {"orders": 3}  # not a missing column in the first two batches
    load = batched.loads["orders"]
    assert load.rows_used == 19 and "e.g. row 19 (value 'lots'; file line 19)" in str(only(load.problems, "wrong_type"))
    kept = pd.read_parquet(batched.path("orders"))
    assert kept["discount"].notna().sum() == 1 and kept["currency"].dropna().tolist() == ['["gift", "wrap"]']


def _line_not_json(tmp_path):
    lines = _orders_json(20)
    lines[16] = '{"order_id": "O16", "customer_id": "C1",'  # cut short: line 17, in the third batch
    lines[18] = "[1, 2]"  # not an object either, but further on: the first bad line is named
    write(tmp_path, "orders.jsonl", "\n".join(lines) + "\n")
    return _orders_json_params(tmp_path), 7, "line 17 is not JSON"


def _gzip_cut_short(tmp_path):
    data = gzip.compress(("\n".join(_orders_json(30_000)) + "\n").encode())
    (tmp_path / "orders.jsonl.gz").write_bytes(data[: len(data) * 2 // 3])  # cut short, as a broken download
    return _orders_json_params(tmp_path, "orders.jsonl.gz"), 5_000, "the gzip data ends early or is damaged (EOFError"


@pytest.mark.parametrize("damaged", [_line_not_json, _gzip_cut_short], ids=["line not JSON", "gzip cut short"])
def test_json_lines_unreadable_in_a_later_batch_are_unreadable_as_read_whole(tmp_path, monkeypatch, damaged):
    p, batch, said = damaged(tmp_path)
    whole = sources.check_sources(p)
    _streamed(monkeypatch, batch)
    assert stream.streamable(p, "orders")

    batched = sources.check_sources(p)

    assert _accounting(batched) == _accounting(whole)
    problem = only(batched.loads["orders"].problems, "unreadable")
    assert problem.fatal and said in problem.message


def test_json_lines_files_whose_fields_differ_stream_and_are_joined_as_read_whole(tmp_path, monkeypatch):
    first = [line.replace("}}", '}, "channel": "web"}') for line in _orders_json(9)]  # a field b.jsonl lacks
    second = [  # the fields in another order, one more (coupon), and a row repeating this file's own header
        json.dumps({"customer_id": "C2", "properties": {"revenue": f"{i}.00"}, "order_id": f"B{i}",
                    "order_time": "2025-03-02 10:00:00", "coupon": "SPRING" if i % 3 else None})
        for i in range(12)
    ]  # fmt: skip
    second[5] = json.dumps({"customer_id": "customer_id", "properties": {"revenue": "properties.revenue"},
                            "order_id": "order_id", "order_time": "order_time", "coupon": "coupon"})  # fmt: skip
    second[8] = second[8].replace('"8.00"', '"eight"')
    (tmp_path / "orders").mkdir()
    write(tmp_path, "orders/a.jsonl", "\n".join(first) + "\n")
    write(tmp_path, "orders/b.jsonl", "\n".join(second) + "\n")
    p = _orders_json_params(tmp_path, "orders")

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path, rows=5, tables=("orders",))

    assert calls == {"orders": 5}  # 9 rows in two batches, 12 in three
    load = batched.loads["orders"]
    other = "orders/b.jsonl has other columns than orders/a.jsonl: lacks channel; adds coupon"
    assert other in load.notes
    assert load.rejected == {"repeated_header": 1, "wrong_type": 1}
    assert "e.g. row 9 of b.jsonl (value 'eight'; file line 9)" in str(only(load.problems, "wrong_type"))


@pytest.mark.parametrize("piece", [batches.PIECE, 3])
def test_json_paths_into_json_lines_values_stream_as_read_whole(tmp_path, monkeypatch, piece):
    monkeypatch.setattr(batches, "PIECE", piece)
    lines = [
        json.dumps({"order_id": f"O{i}", "customer_id": "C1", "order_time": "2025-03-01 10:00:00",
                    "properties": json.dumps({"revenue": f"{i}.50"})})
        for i in range(20)
    ]  # fmt: skip
    lines[9] = lines[9].replace('\\"9.50\\"}', "")  # text that is no JSON in the second batch: line 10
    write(tmp_path, "orders.jsonl", "\n".join(lines) + "\n")
    columns = {"revenue": "properties.$.revenue"}
    p = make_params(tmp_path, {"orders": {"file": "orders.jsonl", "columns": columns}}, max_rejected_share=1.0)

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path, tables=("orders",))

    assert calls == {"orders": 3}
    bad = only(batched.loads["orders"].problems, "bad_json")
    assert bad.examples == [10] and "file line 10" in bad.message and batched.loads["orders"].rows_used == 19


def test_one_row_per_item_is_read_whole(tmp_path, monkeypatch):
    lines = [
        json.dumps({"order_id": f"O{i}", "customer_id": "C1", "order_time": "2025-03-01 10:00:00",
                    "items": [{"sku": "A", "price": 2.5, "qty": 1}, {"sku": "B", "price": 1.5, "qty": 2}]})
        for i in range(20)
    ]  # fmt: skip
    write(tmp_path, "order_lines.jsonl", "\n".join(lines) + "\n")
    items = {"column": "items", "fields": {"product_id": "sku", "unit_price": "price", "quantity": "qty"}}
    p = make_params(tmp_path, {"order_lines": {"file": "order_lines.jsonl", "items": items}}, max_rejected_share=1.0)
    _streamed(monkeypatch, 7)

    assert not stream.streamable(p, "order_lines")  # items renumber the rows over the whole table


# --- mappings that shape the rows, one row at a time, read in batches --------------------------------------------


def _shaped_orders(folder, rows: int = 24) -> None:
    """Orders as a point-of-sale export: no order id but a till and a receipt number (the id joined from both), the
    amount inside a JSON column, gross and net prices (the discount derived), currencies spelled out. Planted: the
    receipt T2|5 again in row 12 (a repeated key, batches apart), an empty receipt number (row 9), a payload that is
    not JSON (row 10), an amount that is no number (row 16), a net price that is no number (row 20), and a currency
    mapped to empty (row 4; the column may be empty)."""
    header = "till,receipt,customer,placed,payload,gross,net,currency"
    lines = [
        f'T{1 + i % 2},{i},C{i % 5},2025-03-01 10:{i:02d}:00,"{{""amount"": {10 + i}.5, ""n"": 1}}",{20 + i},'
        f"{18 + i},{'euro' if i % 3 else 'EUR'}"
        for i in range(rows)
    ]
    lines[11] = lines[11].replace("T2,11,", "T2,5,")  # the receipt of row 6 again
    lines[8] = lines[8].replace("T1,8,", "T1,,")
    lines[9] = lines[9].replace('"{""amount"": 19.5, ""n"": 1}"', '"{""amount"": 19.5, "')
    lines[15] = lines[15].replace('""amount"": 25.5', '""amount"": ""ten""')
    lines[19] = lines[19].replace(",37,", ",thirty,")
    lines[3] = lines[3].replace(",EUR", ",unknown")
    write(folder, "orders.csv", header + "\n" + "\n".join(lines) + "\n")


def _shaped_params(folder, **extra):
    source = {
        "ids": {"order_id": ["till", "receipt"]},
        "columns": {"customer_id": ["client", "customer"], "order_time": "placed", "revenue": "payload.$.amount"},
        "derived": {"discount": "gross - net"},
        "values": {"currency": {"euro": "EUR", "unknown": None}},
        **extra,
    }
    return make_params(folder, {"orders": source}, max_rejected_share=1.0)


@pytest.mark.parametrize(("rows", "fmt"), [(7, "csv"), (5, "csv"), (7, "parquet")])
def test_ids_json_paths_alternatives_derivations_and_value_maps_stream_as_read_whole(tmp_path, monkeypatch, rows, fmt):
    _shaped_orders(tmp_path)
    if fmt == "parquet":  # the same text, in a Parquet file of strings
        df = pd.read_csv(tmp_path / "orders.csv", dtype="string", keep_default_na=False)
        df.to_parquet(tmp_path / "orders.parquet", index=False)
    p = _shaped_params(tmp_path, file=f"orders.{fmt}")
    line = (lambda n: f"; file line {n + 1})") if fmt == "csv" else (lambda n: ")")
    _streamed(monkeypatch, rows)
    assert stream.streamable(p, "orders")
    monkeypatch.undo()
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path, rows=rows, tables=("orders",))

    assert calls == {"orders": -(-24 // rows)}
    load = batched.loads["orders"]
    assert {**load.rejected, **load.excluded} == {
        "null_value": 1, "bad_json": 1, "wrong_type": 2, "duplicate_key": 1
    }  # fmt: skip
    repeated = str(only(load.problems, "duplicate_key"))
    assert "e.g. row 12 (value 'T2|5'" + line(12) in repeated
    assert "e.g. row 10 (value '{\"amount\": 19.5, '" + line(10) in str(only(load.problems, "bad_json"))
    wrong = {p.column: (p.examples, p.example_values) for p in load.problems if p.kind == "wrong_type"}
    assert wrong == {"revenue": ([16], ["ten"]), "discount": ([20], ["thirty"])}
    kept = pd.read_parquet(batched.path("orders"))
    assert kept["order_id"].iloc[0] == "T1|0" and kept["revenue"].iloc[0] == 10.5 and kept["discount"].iloc[0] == 2.0
    assert kept["currency"].isna().sum() == 1 and set(kept["currency"].dropna()) == {"EUR"}


def test_alternatives_chosen_per_json_lines_file_row_numbers_and_a_value_map_met_late_stream_as_read_whole(
    tmp_path, monkeypatch
):
    def order(i: int, amount: str, currency: str) -> str:  # amounts with a decimal comma: detected, noted
        return json.dumps({"customer_id": f"C{i % 3}", "placed": "2025-03-01 10:00:00", amount: f"{i},5",
                           "currency": currency})  # fmt: skip

    first = [order(i, "amount", "EUR") for i in range(9)]  # 'amount'; no currency the map knows
    second = [order(i, "total", "euro" if i % 2 else "Euro") for i in range(12)]  # 'total', currencies spelled out
    second[4] = second[4].replace('"4,5"', '"four"')  # row 5 of b.jsonl, the 11th of all
    second[7] = second[7].replace('"placed": "2025-03-01 10:00:00"', '"placed": "unknown"')  # row 8: mapped to empty
    second[10] = second[10].replace('"10,5"', '"gratis"')  # mapped to 0, in the last batch
    (tmp_path / "orders").mkdir()
    write(tmp_path, "orders/a.jsonl", "\n".join(first) + "\n")
    write(tmp_path, "orders/b.jsonl", "\n".join(second) + "\n")
    source = {
        "file": "orders",
        "ids": {"order_id": "row_number"},
        "columns": {"order_time": "placed", "revenue": ["amount", "total"]},
        "values": {
            "currency": {"euro": "EUR", "Euro": "EUR", "dollar": "USD"},
            "order_time": {"unknown": None},
            "revenue": {"gratis": "0"},
        },
    }
    p = make_params(tmp_path, {"orders": source}, max_rejected_share=1.0)

    batched, calls = _streamed_equals_whole(p, monkeypatch, tmp_path, rows=5, tables=("orders",))

    assert calls == {"orders": 5}  # 9 rows in two batches, 12 in three; the first two map no currency
    load = batched.loads["orders"]
    mapped = "orders.currency ('currency'): values mapped: 'Euro' -> 'EUR' (6), 'euro' -> 'EUR' (6)"  # as first met
    assert mapped in load.notes
    assert "orders.order_time ('placed'): values mapped: 'unknown' -> empty (1)" in load.notes
    about_revenue = [n.partition(": ")[2] for n in load.notes if n.startswith("orders.revenue")]
    assert about_revenue[0] == "values mapped: 'gratis' -> '0' (1)"  # in the last batch; the first batch met none
    assert about_revenue[1].startswith("numbers written with a decimal comma") and len(about_revenue) == 2
    wrong = only(load.problems, "wrong_type")
    assert (wrong.examples, wrong.example_files, wrong.client_column) == ([5], ["orders/b.jsonl"], "amount | total")
    assert only(load.problems, "null_value").examples == [8]
    kept = pd.read_parquet(batched.path("orders"))
    assert kept["order_id"].tolist() == [str(n) for n in range(1, 22) if n not in (14, 17)]  # rows numbered over all
