"""Large tables checked in batches (sources.stream): the same verdicts, messages, accounting and canonical rows as
one frame gives, whatever the batch boundaries; the table is never whole in memory."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifecycle_audit import paths, sources
from lifecycle_audit.sources import doubles, staged, stream
from lifecycle_audit.sources import validate as source_validate
from tests.kit.sources import make_params, only

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


@pytest.mark.parametrize("rows", [7, 4])
def test_batches_give_the_verdicts_and_accounting_of_one_frame(shop, monkeypatch, rows):
    whole = sources.check_sources(shop)
    _streamed(monkeypatch, rows)

    batched = sources.check_sources(shop)

    assert _accounting(batched) == _accounting(whole)
    kinds = {name: {**load.rejected, **load.excluded} for name, load in batched.loads.items()}
    assert kinds == {
        "customers": {"unparsable_date": 1, "not_allowed": 1, "duplicate_key": 1},
        "orders": {"wrong_type": 1, "null_value": 1, doubles.REPEATED_ORDER: 1, "duplicate_key": 1,
                   "parent_rejected": 2, "dangling_reference": 1},
        "events": {"null_value": 1, "not_allowed": 1, doubles.DOUBLED_EVENT: 1, "parent_rejected": 2,
                   "dangling_reference": 1},
    }  # fmt: skip


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
