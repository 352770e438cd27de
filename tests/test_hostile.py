"""Hostile and careless inputs: every one gets a clear answer, and nothing of a secret leaks.

Each case builds its files, params or run in tmp_path at test time (no client data in the repository) and
asserts the exact outcome: the exit code of `lifecycle-audit validate` (or `run`, `init`), the words of the
answer (file, column, row, what to do), no traceback, and for files that are read, every row accounted for
(rows in = used + rejected). Most cases are in-process calls of the command or of sources/privacy; the few
full runs are marked e2e, the worker-process case slow. The table of cases and outcomes is printed at the end
of the module (pytest's terminal summary).
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import gzip
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from lifecycle_audit import checks, contract, findings, paths, privacy, runner, sources
from lifecycle_audit import params as params_mod
from lifecycle_audit.cli import app
from lifecycle_audit.engine import Tables
from lifecycle_audit.kernels import pool
from lifecycle_audit.sources.model import Problem
from lifecycle_audit.stages import CHECKED
from tests.kit import shop

cli = CliRunner()
HEADER = "order_id,customer_id,order_time,revenue\n"
N_ROWS = 20
ROWS = "".join(f"O{i},C{i},2025-01-{1 + i % 28:02d},{i}.5\n" for i in range(N_ROWS))
ORDERS = HEADER + ROWS
SECRET = "postgresql://audit:Vq8nR2xLp0TzK4mW@warehouse.example.com:5432/shop"
OUTCOMES: list[tuple[str, str, str, str]] = []  # case, area, expected, outcome


@dataclass
class Outcome:
    """What a case produced: exit code, the text shown, rows (in, used, rejected) per table read."""

    code: int
    text: str
    rows: dict[str, tuple[int, int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """A hostile input and the answer it must get."""

    id: str
    area: str  # files, values, params, injection, privacy, runs
    make: Callable[[Path], Outcome]
    code: int
    says: tuple[str, ...] = ()
    rows: tuple[str, int, int, int] | None = None  # table, rows in, used, rejected
    never: tuple[str, ...] = ()  # words that must not appear (a secret, a raw phone number)


CASES: list[Case] = []


def case(area: str, code: int, *says: str, rows: tuple | None = None, never: tuple[str, ...] = ()):
    """Register the decorated builder as a case."""

    def register(make: Callable[[Path], Outcome]) -> Callable[[Path], Outcome]:
        CASES.append(Case(make.__name__, area, make, code, says, rows, never))
        return make

    return register


# ----------------------------------------------------------------------------------------------------------------
# harness


def _write_params(tmp: Path, sources_: dict, **extra) -> Path:
    data = {"client": "hostile", "data_dir": str(tmp / "data"), "sources": sources_, "output": str(tmp / "reports")}
    data.update(extra)
    file = tmp / "hostile.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return file


def _files(tmp: Path, files: dict[str, str | bytes]) -> Path:
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    for name, content in files.items():
        (data / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return data


def _invoke(args: list[str]) -> tuple[int, str]:
    result = cli.invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback is a failure of the case, shown as such
    return result.exit_code, result.output


def validate(tmp: Path, files: dict[str, str | bytes], sources_: dict, **extra) -> Outcome:
    """`lifecycle-audit validate` on the files, and each table's accounting when it can be read."""
    _files(tmp, files)
    params_file = _write_params(tmp, sources_, **extra)
    code, text = _invoke(["validate", str(params_file)])
    rows = {}
    if code in (0, 1):
        try:
            prepared = sources.check_sources(params_mod.load(params_file))
            rows = {n: (ld.rows_in, ld.rows_used, ld.rows_rejected) for n, ld in prepared.loads.items()}
        except Exception:  # noqa: BLE001 - the command's answer is what the case judges
            pass
    return Outcome(code, text, rows)


def orders(tmp: Path, text: str | bytes, name: str = "orders.csv", **src) -> Outcome:
    """validate on one orders file (bad data allowed: every problem is listed as noted, and the run would go ahead)."""
    return validate(tmp, {name: text}, {"orders": {"file": name, **src}}, max_rejected_share=1)


def validate_params_text(tmp: Path, text: str | bytes) -> Outcome:
    file = tmp / "p.yaml"
    file.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return Outcome(*_invoke(["validate", str(file)]))


def value(text: str, code: int = 0) -> Outcome:
    """An outcome from an in-process call (privacy, run folders): the text it produced."""
    return Outcome(code, text)


# ----------------------------------------------------------------------------------------------------------------
# files: encodings, compression, layout


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def utf8_bom_then_cp1252_bytes(tmp):
    return orders(tmp, codecs.BOM_UTF8 + ORDERS.replace("C1,", "Cé,").encode("cp1252"))


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def utf8_with_bom(tmp):
    return orders(tmp, codecs.BOM_UTF8 + ORDERS.encode())


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def excel_unicode_text_utf16_tabs(tmp):
    return orders(tmp, ORDERS.replace(",", "\t").encode("utf-16"))


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def utf16_le_without_bom(tmp):
    return orders(tmp, ORDERS.encode("utf-16-le"))


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def utf16_be_with_bom(tmp):
    return orders(tmp, codecs.BOM_UTF16_BE + ORDERS.encode("utf-16-be"))


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def utf32_with_bom(tmp):
    return orders(tmp, ORDERS.encode("utf-32"))


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def cp1252_without_bom(tmp):
    return orders(tmp, ORDERS.replace("C3,", "Cäß,").encode("cp1252"))


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def gzip_named_csv(tmp):
    return orders(tmp, gzip.compress(ORDERS.encode()))


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def gzip_named_gz(tmp):
    return orders(tmp, gzip.compress(ORDERS.encode()), name="orders.csv.gz")


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def bz2_named_csv(tmp):
    return orders(tmp, bz2.compress(ORDERS.encode()))


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def zip_of_one_csv_named_csv(tmp):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("orders.csv", ORDERS)
    return orders(tmp, buf.getvalue())


@case("files", 1, "orders.csv.gz", "ends early", "copy or download the file again")
def cut_gz(tmp):
    return orders(tmp, gzip.compress((ORDERS * 200).encode())[:400], name="orders.csv.gz")


@case("files", 1, "orders.csv", "is an Excel workbook", "format: excel")
def excel_workbook_named_csv(tmp):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<x/>")
        z.writestr("xl/workbook.xml", "<x/>")
    return orders(tmp, buf.getvalue())


@case("files", 1, "orders.csv", "zip archive of 2 files", "unpack it")
def zip_of_two_files(tmp):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.csv", ORDERS)
        z.writestr("b.csv", ORDERS)
    return orders(tmp, buf.getvalue())


@case("files", 1, "orders.csv", "NUL bytes", "save it as CSV")
def binary_file_named_csv(tmp):
    return orders(tmp, bytes(range(256)) * 40)


@case("files", 1, "orders.csv", "'revenue' in columns 4, 5", "rename or remove the copies")
def duplicate_header(tmp):
    return orders(tmp, HEADER.strip() + ",revenue\n" + ROWS.replace("\n", ",\n"))


@case("files", 1, "orders.csv", "'customer_id' in columns 2, 3")
def duplicate_header_first_copy_empty(tmp):
    return orders(tmp, "order_id,customer_id,customer_id,order_time,revenue\nO1,,C1,2025-01-01,1\n")


@case("files", 1, "orders.xlsx", "'revenue' in columns 4, 5")
def duplicate_header_in_an_excel_sheet(tmp):
    pytest.importorskip("openpyxl")
    buf = io.BytesIO()
    frame = pd.DataFrame([["O1", "C1", "2025-01-01", "", "1"]])
    frame.columns = ["order_id", "customer_id", "order_time", "revenue", "revenue"]
    frame.to_excel(buf, index=False)
    return orders(tmp, buf.getvalue(), name="orders.xlsx")


@case("files", 1, "orders.parquet", "'revenue' in columns 4, 5")
def duplicate_column_in_parquet(tmp):
    table = pa.table([["O1"], ["C1"], ["2025-01-01"], [None], [1.0]], names=[*HEADER.strip().split(","), "revenue"])
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return orders(tmp, buf.getvalue(), name="orders.parquet")


@case("files", 2, "sources.orders", "cannot be followed", "replace the link by the file")
def symlink_loop(tmp):
    data = _files(tmp, {})
    (data / "orders.csv").symlink_to(data / "orders.csv")
    return validate(tmp, {}, {"orders": {"file": "orders.csv"}})


@case("files", 0, "rows 2, 3", "file lines 4, 6", rows=("orders", 3, 1, 2))
def line_numbers_after_quoted_newlines(tmp):
    return orders(tmp, HEADER + 'O1,"C\n1",2025-01-01,1\n"O\n2",C2,2025-01-02,x\nO3,C3,2025-01-03,y\n')


@case("files", 0, "no problems found", rows=("orders", 2, 2, 0))
def quoted_newline_in_an_address_is_data(tmp):
    return orders(tmp, HEADER + 'O1,"C1\nsecond line",2025-01-01,1\nO2,C2,2025-01-02,2\n')


@case(
    "files",
    1,
    "orders.csv",
    "line 2: a quote",
    "runs on to line 6",
    "taking in 4 lines that look like",
    "close or remove that quote",
)
def unbalanced_quote_swallowing_rows(tmp):
    body = "".join(f"O{i},C{i},2025-01-02,{i}\n" for i in range(2, 6))
    return orders(tmp, HEADER + 'O1,"C1,2025-01-01,1\n' + body[:-1] + '",x\nO9,C9,2025-01-09,9\n')


@case("files", 1, "orders.csv", "never closes", "close or remove that quote")
def quote_never_closed(tmp):
    return orders(tmp, HEADER + 'O1,"C1,2025-01-01,1\nO2,C2,2025-01-02,2\n')


@case("files", 1, "orders.csv", "the file is empty")
def empty_file(tmp):
    return orders(tmp, "")


@case("files", 1, "orders.csv", "is a folder with no files in it")
def empty_folder_where_a_file_should_be(tmp):
    (tmp / "data" / "orders.csv").mkdir(parents=True)
    return validate(tmp, {}, {"orders": {"file": "orders.csv"}})


@case("files", 1, "orders.csv", "named pipe", "save the export as a file")
def named_pipe_where_a_file_should_be(tmp):
    (tmp / "data").mkdir()
    os.mkfifo(tmp / "data" / "orders.csv")
    return validate(tmp, {}, {"orders": {"file": "orders.csv"}})


@case("files", 1, "orders.csv: file not found", "did you mean 'order.csv'?")
def missing_file(tmp):
    return validate(tmp, {"order.csv": ORDERS}, {"orders": {"file": "orders.csv"}})


@case("files", 2, "sources.orders", "leads outside data_dir", "inputs_outside_data_dir: true")
def dot_dot_out_of_data_dir(tmp):
    (tmp / "elsewhere.csv").write_text(ORDERS, encoding="utf-8")
    return validate(tmp, {}, {"orders": {"file": "../elsewhere.csv"}})


@case("files", 2, "leads outside data_dir")
def symlink_out_of_data_dir(tmp):
    (tmp / "secret.csv").write_text(ORDERS, encoding="utf-8")
    data = _files(tmp, {})
    (data / "orders.csv").symlink_to(tmp / "secret.csv")
    return validate(tmp, {}, {"orders": {"file": "orders.csv"}})


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def outside_data_dir_when_the_params_allow_it(tmp):
    (tmp / "elsewhere.csv").write_text(ORDERS, encoding="utf-8")
    return validate(tmp, {}, {"orders": {"file": "../elsewhere.csv"}}, inputs_outside_data_dir=True)


@case("files", 1, "orders.csv", "read.skip_rows is 1,000,000,000,000", "only 21 lines;")
def skip_rows_beyond_the_file(tmp):
    return orders(tmp, ORDERS, read={"skip_rows": 1_000_000_000_000})


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def skip_rows_above_the_header(tmp):
    return orders(tmp, "Export of 2025\nshop: acme\n" + ORDERS, read={"skip_rows": 2})


@case("files", 0, "no problems found", rows=("orders", 20, 20, 0))
def crlf_line_ends(tmp):
    return orders(tmp, ORDERS.replace("\n", "\r\n"))


@case("files", 0, "no problems found", rows=("orders", 22, 20, 2))
def blank_and_repeated_header_rows(tmp):
    lines = ORDERS.splitlines(keepends=True)
    return orders(tmp, "".join(lines[:5] + [",,,\n", HEADER] + lines[5:]))


@case("files", 1, "orders.dat", "cannot tell the format", "set `format:`")
def unknown_suffix(tmp):
    return orders(tmp, ORDERS, name="orders.dat")


@case("files", 1, "orders.parquet", "cannot be read as Parquet")
def garbage_named_parquet(tmp):
    return orders(tmp, b"PAR1 not really", name="orders.parquet")


@case("files", 0, "contract orders.revenue", "not a number", "is empty", rows=("orders", 4, 1, 3))
def nan_and_infinity_in_typed_parquet(tmp):
    df = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3", "O4"],
            "customer_id": ["C1", "C2", "C3", "C4"],
            "order_time": pd.to_datetime(["2025-01-01"] * 4),
            "revenue": [1.0, np.nan, np.inf, -np.inf],
        }
    )
    buf = io.BytesIO()
    df.to_parquet(buf)
    return orders(tmp, buf.getvalue(), name="orders.parquet")


# ----------------------------------------------------------------------------------------------------------------
# values


def lines_file(tmp: Path, quantity: str) -> Outcome:
    text = f"order_id,product_id,unit_price,quantity\nO1,P1,2.5,{quantity}\nO2,P1,2.5,3\n"
    return validate(tmp, {"order_lines.csv": text}, {"order_lines": {"file": "order_lines.csv"}}, max_rejected_share=1)


@case(
    "values", 0, "contract order_lines.quantity", "'99999999999999999999'", "file line 2", rows=("order_lines", 2, 1, 1)
)
def quantity_beyond_int64(tmp):
    return lines_file(tmp, "99999999999999999999")


@case("values", 0, "not a whole number", "'-9223372036854775809'", rows=("order_lines", 2, 1, 1))
def quantity_just_below_int64(tmp):
    return lines_file(tmp, "-9223372036854775809")


@case("values", 0, "not a whole number", "'2.5'", rows=("order_lines", 2, 1, 1))
def fractional_quantity(tmp):
    return lines_file(tmp, "2.5")


@case("values", 0, "no problems found", rows=("order_lines", 2, 2, 0))
def large_but_fine_quantity(tmp):
    return lines_file(tmp, "9007199254740992")


def dated(tmp: Path, when: str) -> Outcome:
    return orders(tmp, HEADER + f"O1,C1,{when},1\nO2,C2,2025-01-02,2\n")


@case("values", 0, "'0001-01-01'", "before 1990-01-01", "file line 2", rows=("orders", 2, 1, 1))
def date_in_year_1(tmp):
    return dated(tmp, "0001-01-01")


@case("values", 0, "'9999-12-31'", "more than a year ahead", rows=("orders", 2, 1, 1))
def date_in_year_9999(tmp):
    return dated(tmp, "9999-12-31")


@case("values", 0, "'1989-12-31'", "date_out_of_range", rows=("orders", 2, 1, 1))
def date_just_before_1990(tmp):
    return dated(tmp, "1989-12-31")


@case("values", 0, "no problems found", rows=("orders", 2, 2, 0))
def date_on_1990_01_01(tmp):
    return dated(tmp, "1990-01-01")


@case("values", 0, "more than a year ahead", rows=("orders", 2, 1, 1))
def date_two_years_ahead(tmp):
    return dated(tmp, (pd.Timestamp.now() + pd.Timedelta(days=800)).strftime("%Y-%m-%d"))


@case("values", 0, "date that cannot be read", "'31/02/2025'", rows=("orders", 2, 1, 1))
def impossible_date(tmp):
    return dated(tmp, "31/02/2025")


@case(
    "values",
    1,
    "orders.csv",
    "2 rows have a date before 1990-01-01",
    "'0001-01-01', '9999-12-31'",
    rows=("orders", 2, 0, 2),
)
def one_order_in_year_1_and_one_in_9999(tmp):
    text = HEADER + "O1,C1,0001-01-01,1\nO2,C2,9999-12-31,2\n"
    return validate(tmp, {"orders.csv": text}, {"orders": {"file": "orders.csv"}})


def revenue(tmp: Path, text: str) -> Outcome:
    return orders(tmp, HEADER + f"O1,C1,2025-01-01,{text}\nO2,C2,2025-01-02,2\n")


@case("values", 0, "'inf'", "not a number", rows=("orders", 2, 1, 1))
def infinity_written_out(tmp):
    return revenue(tmp, "inf")


@case("values", 0, "'1e309'", "not a number", rows=("orders", 2, 1, 1))
def number_beyond_float(tmp):
    return revenue(tmp, "1e309")


@case("values", 0, "is empty", rows=("orders", 2, 1, 1))
def nan_written_out(tmp):
    return revenue(tmp, "NaN")


@case("values", 0, "contract orders.discount", "negative", "'-5'", rows=("orders", 2, 1, 1))
def negative_discount(tmp):
    text = HEADER.strip() + ",discount\nO1,C1,2025-01-01,1,-5\nO2,C2,2025-01-02,2,0\n"
    return orders(tmp, text)


@case("values", 0, "…'", rows=("orders", 2, 1, 1))
def ten_thousand_character_value(tmp):
    return revenue(tmp, "x" * 10_000)


@case("values", 0, "1 row repeats an order_id", "file line 3", rows=("orders", 3, 2, 1))
def repeated_order_id(tmp):
    return orders(tmp, HEADER + "O1,C1,2025-01-01,1\nO1,C2,2025-01-02,2\nO3,C3,2025-01-03,3\n")


def derived(tmp: Path, expr: str, rows_text: str = "O1,C1,2025-01-01,4,2\nO2,C2,2025-01-02,3,0\n") -> Outcome:
    text = "order_id,customer_id,order_time,a,b\n" + rows_text
    return orders(tmp, text, derived={"revenue": expr})


@case("values", 0, "division by zero", "derived.revenue", rows=("orders", 2, 1, 1))
def derived_division_by_zero_in_a_row(tmp):
    return derived(tmp, "a / b")


@case("values", 0, "no problems found", rows=("orders", 2, 2, 0))
def derived_healthy(tmp):
    return derived(tmp, "a * (b + 1)")


@case("values", 0, "'x'", "not a number in a column used by derived.revenue", rows=("orders", 2, 1, 1))
def derived_input_not_a_number(tmp):
    return derived(tmp, "a * b", "O1,C1,2025-01-01,x,2\nO2,C2,2025-01-02,3,0\n")


@case("params", 2, "sources.orders.derived.revenue", "'1/0' cannot be computed", "correct the expression")
def derived_constant_division_by_zero(tmp):
    return derived(tmp, "1/0")


@case("params", 2, "derived.revenue", "10,001 characters, more than the 500 allowed")
def derived_with_5000_nested_brackets(tmp):
    return derived(tmp, "(" * 5000 + "a" + ")" * 5000)


@case("params", 2, "derived.revenue", "brackets nested 25 deep, more than the 20 allowed")
def derived_nested_25_deep(tmp):
    return derived(tmp, "(" * 25 + "a" + ")" * 25)


@case("params", 2, "derived.revenue", "the brackets do not balance")
def derived_unbalanced_brackets(tmp):
    return derived(tmp, "(a * b")


@case("params", 2, "derived.revenue", "is not arithmetic over columns")
def derived_with_a_function_call(tmp):
    return derived(tmp, "__import__('os').system('id')")


# ----------------------------------------------------------------------------------------------------------------
# params files


@case("params", 2, "is not UTF-8 text", "save it as UTF-8")
def params_not_utf8(tmp):
    return validate_params_text(tmp, b"client: caf\xe9\ndata_dir: x\n")


@case("params", 2, "is a folder, not a params file")
def params_path_is_a_folder(tmp):
    return Outcome(*_invoke(["validate", str(tmp)]))


@case("params", 2, "params file not found")
def params_missing(tmp):
    return Outcome(*_invoke(["validate", str(tmp / "nope.yaml")]))


@case("params", 2, "nested more than 40 levels deep")
def params_20000_nested_brackets(tmp):
    return validate_params_text(tmp, "client: a\ndata_dir: x\nsources: " + "[" * 20_000)


@case("params", 2, "nested more than 40 levels deep")
def params_deep_mappings(tmp):
    return validate_params_text(
        tmp, "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 60)) + "  " * 60 + "x: 1\n"
    )


@case("params", 2, "expand to more than 100,000 values")
def params_billion_laughs(tmp):
    lines = ["a: &a {k: [1, 1, 1, 1, 1, 1, 1, 1, 1]}"]
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} {{" + ", ".join(f"k{j}: *{prev}" for j in range(9)) + "}")
    return validate_params_text(tmp, "\n".join(lines) + "\n")


@case("params", 2, "more than 100 YAML aliases")
def params_too_many_aliases(tmp):
    return validate_params_text(tmp, "a: &a 1\nb: [" + ", ".join(["*a"] * 101) + "]\n")


@case("params", 2, "the key 'client' is given twice", "line 3", "first on line 1")
def params_duplicate_top_level_key(tmp):
    return validate_params_text(tmp, "client: acme\ndata_dir: x\nclient: evil\n")


@case("params", 2, "the key 'file' is given twice")
def params_duplicate_nested_key(tmp):
    return validate_params_text(tmp, "client: a\ndata_dir: x\nsources:\n  orders:\n    file: a.csv\n    file: b.csv\n")


@case("params", 0, "no problems found")
def params_with_an_anchor_and_a_merge_key(tmp):
    _files(tmp, {"orders.csv": ORDERS})
    text = (
        f"client: &name a\nclient_name: *name\ndata_dir: {tmp / 'data'}\noutput: {tmp / 'reports'}\n"
        "sources:\n  orders:\n    <<: {file: orders.csv}\n    read: {delimiter: ','}\n"
    )
    return validate_params_text(tmp, text)


@case("params", 2, "read.encoding 'klingon' is not an encoding", "utf-8, cp1252")
def params_unknown_encoding(tmp):
    return orders(tmp, ORDERS, read={"encoding": "klingon"})


@case("params", 2, "read.date_format '%Q' holds '%Q'", "'%d.%m.%Y %H:%M'")
def params_bad_date_directive(tmp):
    return orders(tmp, ORDERS, read={"date_format": "%Q"})


@case("params", 0, "no problems found", rows=("orders", 20, 20, 0))
def params_good_date_format(tmp):
    return orders(tmp, ORDERS, read={"date_format": "%Y-%m-%d"})


@case("params", 0, "no problems found", rows=("orders", 20, 20, 0))
def params_encoding_given(tmp):
    return orders(tmp, ORDERS.replace("C3,", "Cé,").encode("latin-1"), read={"encoding": "latin-1"})


@case("params", 2, "more than a params file ever needs")
def params_over_a_megabyte(tmp):
    return validate_params_text(tmp, "client: a\ndata_dir: x\n" + "# padding\n" * 120_000)


@case("params", 2, "secrets do not belong in a params file")
def params_with_a_password(tmp):
    return validate_params_text(tmp, "client: a\ndata_dir: x\nengine: {password: hunter2}\n")


@case("params", 2, "expected a mapping of settings at the top level")
def params_top_level_list(tmp):
    return validate_params_text(tmp, "- client\n- a\n")


@case("params", 2, "not valid YAML")
def params_tab_indented(tmp):
    return validate_params_text(tmp, "client: a\nsources:\n\torders: {}\n")


@case("params", 2, "skip_rows", "greater than or equal to 0")
def params_negative_skip_rows(tmp):
    return orders(tmp, ORDERS, read={"skip_rows": -1})


@case("params", 2, "period.start 0001-01-01 is outside the dates an export can hold")
def params_period_from_year_1(tmp):
    return validate(tmp, {"orders.csv": ORDERS}, {"orders": {"file": "orders.csv"}}, period={"start": "0001-01-01"})


@case("params", 2, "period.warmup_days", "less than or equal to 3650")
def params_warmup_of_a_trillion_days(tmp):
    return validate(tmp, {"orders.csv": ORDERS}, {"orders": {"file": "orders.csv"}}, period={"warmup_days": 10**12})


@case("params", 0, "no problems found", rows=("orders", 20, 20, 0))
def params_period_inside_the_data(tmp):
    period = {"start": "2025-01-01", "end": "2025-12-31", "warmup_days": 0}
    return validate(tmp, {"orders.csv": ORDERS}, {"orders": {"file": "orders.csv"}}, period=period)


@case("params", 2, "unknown table 'bestellungen'")
def params_unknown_table(tmp):
    return validate(tmp, {}, {"bestellungen": {"file": "x.csv"}})


# ----------------------------------------------------------------------------------------------------------------
# injection: what the client names files and columns, what a consultant types


def init(tmp: Path, files: dict[str, str]) -> tuple[Outcome, dict]:
    folder = tmp / "exports"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    params_dir = tmp / "params"
    params_dir.mkdir()
    old = paths.PARAMS
    paths.PARAMS = params_dir
    try:
        code, text = _invoke(["init", "acme", "--from", str(folder)])
    finally:
        paths.PARAMS = old
    written = (params_dir / "acme.yaml").read_text(encoding="utf-8")
    return Outcome(code, text + written), params_mod.parse_yaml(written)


@case("injection", 0, "'export #2: {x}.csv'", "not recognised")
def init_file_name_with_yaml_syntax(tmp):
    out, _loaded = init(tmp, {"export #2: {x}.csv": "a,b\n1,2\n"})
    assert "export #2: {x}.csv" in out.text and "#   file: 'export #2: {x}.csv'" in out.text
    return out


@case("injection", 0, "wrote", never=("\u2028",))
def init_header_with_line_separators(tmp):
    header = "a\u2028client_name: Evil Corp\u2028max_rejected_share: 1\u2028x,b"
    out, loaded = init(tmp, {"orders.csv": header + "\n1,2\n"})
    assert loaded["client_name"] == "acme" and loaded["max_rejected_share"] == 0.01
    assert "client_name: Evil Corp" not in [line.strip() for line in out.text.splitlines()]
    return out


@case("injection", 0, "wrote")
def init_header_with_a_newline_in_quotes(tmp):
    out, loaded = init(tmp, {"orders.csv": '"a\nmax_rejected_share: 1",b\n1,2\n'})
    assert loaded["max_rejected_share"] == 0.01 and set(loaded) >= {"client", "sources"}
    return out


def run_cli(tmp: Path, *args: str) -> Outcome:
    _files(tmp, {"orders.csv": ORDERS})
    params_file = _write_params(tmp, {"orders": {"file": "orders.csv"}})
    return Outcome(*_invoke(["run", str(params_file), "--quiet", *args]))


@case("injection", 2, "--run-id '../x'", "a plain name")
def run_id_climbing_out(tmp):
    out = run_cli(tmp, "--run-id", "../x")
    assert not (tmp / "x").exists() and not (tmp / "reports" / "x").exists()
    return out


@case("injection", 2, "--run-id 'a/b'", "a plain name")
def run_id_with_a_slash(tmp):
    return run_cli(tmp, "--run-id", "a/b")


@case("injection", 2, "--run-id '.hidden'")
def run_id_hidden(tmp):
    return run_cli(tmp, "--run-id", ".hidden")


@case("injection", 2, "--run-id '/etc/x'")
def run_id_absolute(tmp):
    return run_cli(tmp, "--run-id", "/etc/x")


@case("injection", 0, "'=HYPERLINK(\"http://x\")'", "not a number")
def formula_in_a_value_is_shown_as_text(tmp):
    return revenue(tmp, '"=HYPERLINK(""http://x"")"')


@case("injection", 0, "'<script>alert(1)</script>'")
def script_in_a_value_is_shown_as_text(tmp):
    return revenue(tmp, "<script>alert(1)</script>")


# ----------------------------------------------------------------------------------------------------------------
# privacy


@case("privacy", 0, "'[secret removed]…'", never=(SECRET[:39], SECRET[5:17]))
def secret_cut_short_in_an_example_value(tmp):
    return value(privacy.remove_secrets(f"values '{SECRET[:39]}…'", [SECRET]))


@case("privacy", 0, "label [secret removed] ", never=(SECRET[20:34],))
def secret_fragment_in_a_chart_label(tmp):
    return value(privacy.remove_secrets(f"<text>label {SECRET[20:34]} </text>", [SECRET]))


@case("privacy", 0, SECRET[20:31])
def eleven_characters_of_a_secret_stay(tmp):
    return value(privacy.remove_secrets(f"label {SECRET[20:31]} ok", [SECRET]))


@case("privacy", 0, "[secret removed]", never=("Vq8nR2xLp0Tz",))
def secret_fragment_html_escaped(tmp):
    secret = "tok&en<Vq8nR2xLp0TzK4mW>"
    return value(privacy.remove_secrets("<td>" + "en&lt;Vq8nR2xLp0Tz" + "</td>", [secret]))


@case("privacy", 0, "[secret removed]", never=("Lp0TzK4mW@wareh",))
def secret_fragment_in_an_executed_notebook(tmp):
    nb = {"cells": [{"cell_type": "code", "outputs": [{"text": f"connecting to ...{SECRET[25:50]}"}]}]}
    run_dir = tmp / "run"
    run_dir.mkdir()
    (run_dir / "01_reach.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    privacy.scrub_run_folder(run_dir, [SECRET])
    return value((run_dir / "01_reach.ipynb").read_text(encoding="utf-8"))


@case("privacy", 0, "+4* *** *****67", never=("170 1234567",))
def phone_international_in_free_text(tmp):
    return value(privacy.mask_text("call me on +49 170 1234567 please"))


@case("privacy", 0, "01**/*****78,", never=("2345678",))
def phone_national_in_free_text(tmp):
    return value(privacy.mask_text("Rückruf 0171/2345678, danke"))


@case("privacy", 0, "DE** **** **** **** **** 00", never=("3704 0044",))
def iban_in_free_text(tmp):
    return value(privacy.mask_text("refund to DE89 3704 0044 0532 0130 00"))


@case("privacy", 0, "12.345.678 and 1234567890 and 2025-01-03 and 01-03-2025 and 0,12345678")
def amounts_and_dates_are_not_phone_numbers(tmp):
    return value(privacy.mask_text("12.345.678 and 1234567890 and 2025-01-03 and 01-03-2025 and 0,12345678"))


@case("privacy", 0, "j***@example.com", "+4* *** *****67", never=("john.doe", "170 1234567"))
def free_text_column_of_an_evidence_table(tmp):
    df = pd.DataFrame({"note": ["mail john.doe@example.com or +49 170 1234567"], "customer_id": ["C1"]})
    out = privacy.pseudonymise_frame(df)
    assert privacy.PSEUDONYM.match(out["customer_id"][0])
    return value(out["note"][0])


@case("privacy", 0, "'+4* *** *****67'", never=("170 1234567",))
def phone_in_a_rejected_example_value(tmp):
    p = Problem(
        "orders", "orders.csv", "revenue", "wrong_type", "", 1, [1], ["+49 170 1234567"], what="x", expected="y"
    )
    return value(str(p.masked().example_values))


@case("privacy", 0, "[secret removed]", never=(SECRET[:30],))
def secret_whole_in_a_log(tmp):
    return value(privacy.scrub_text(f"error: could not connect to {SECRET}", [SECRET]))


# ----------------------------------------------------------------------------------------------------------------
# runs


@case("runs", 2, "cannot write the report into", "Nothing was run")
def output_folder_cannot_be_written(tmp):
    (tmp / "blocker").write_text("a file, not a folder", encoding="utf-8")
    _files(tmp, {"orders.csv": ORDERS})
    params_file = _write_params(tmp, {"orders": {"file": "orders.csv"}}, output=str(tmp / "blocker" / "reports"))
    return Outcome(*_invoke(["run", str(params_file), "--quiet"]))


@case("runs", 0, ".20261122-093005.partial", "20261122-093005-2")
def a_partial_run_folder_holds_its_name(tmp):
    rid, folder = runner._make_run_dir(tmp, "20261122-093005")
    taken = runner.new_run_id(tmp, pd.Timestamp("2026-11-22 09:30:05").to_pydatetime())
    assert not (tmp / rid).exists(), "the run id's folder appears only when the run is complete"
    return value(f"{folder.name} {taken}")


@case("runs", 0, "20261122-093005 index.html", never=(".partial",))
def a_complete_run_takes_its_name(tmp):
    rid, folder = runner._make_run_dir(tmp, "20261122-093005")
    (folder / "index.html").write_text("<html></html>", encoding="utf-8")
    r = SimpleNamespace(run_id=rid, run_dir=folder, single_path=folder / "report.html", pdf_path=None)
    runner._complete(r)
    assert r.single_path == tmp / rid / "report.html"
    return value(" ".join(f"{p.parent.name} {p.name}" for p in sorted(tmp.rglob("*")) if p.is_file()))


@case("runs", 2, "exists already")
def run_id_of_a_complete_run_is_not_reused(tmp):
    (tmp / "done").mkdir()
    try:
        runner._make_run_dir(tmp, "done")
    except runner.RunError as err:
        return value(str(err), 2)
    return value("no error")


@case("runs", 1, "stopped on an unexpected error (RuntimeError: boom)", "the traceback is in", "--debug")
def an_unexpected_error_is_one_line_and_a_log(tmp):
    original = sources.rehearse

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    sources.rehearse = boom
    old_cache = paths.CACHE
    paths.CACHE = tmp / "cache"
    try:
        out = orders(tmp, ORDERS)
        logs = list((tmp / "cache" / "logs").glob("validate-*.log"))
        assert len(logs) == 1 and "RuntimeError: boom" in logs[0].read_text(encoding="utf-8")
        with pytest.raises(RuntimeError):
            cli.invoke(app, ["--debug", "validate", str(tmp / "hostile.yaml")], catch_exceptions=False)
    finally:
        sources.rehearse = original
        paths.CACHE = old_cache
    return out


# ----------------------------------------------------------------------------------------------------------------
# the table


@pytest.fixture(scope="module", autouse=True)
def outcome_table(request):
    """Print the table of cases and outcomes, and the count by outcome, after the module's tests."""
    yield
    if not OUTCOMES:
        return
    counts: dict[str, int] = {}
    lines = [f"{'case':<48} {'area':<10} {'expected':<10} outcome"]
    for name, area, expected, outcome in OUTCOMES:
        counts[outcome] = counts.get(outcome, 0) + 1
        lines.append(f"{name:<48} {area:<10} {expected:<10} {outcome}")
    lines.append("by outcome: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n--- hostile inputs: cases and outcomes ---\n" + "\n".join(lines))
    table = os.environ.get("LIFECYCLE_AUDIT_HOSTILE_TABLE")
    if table:
        Path(table).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _kind(code: int, c: Case) -> str:
    """The outcome in a word: accepted (exit 0), rejected (1: the data), refused (2: params or command line);
    for the privacy cases, masked (something had to go) or kept (nothing had to)."""
    if c.area == "privacy" and code == 0:
        return "masked" if c.never else "kept"
    return {0: "accepted", 1: "rejected", 2: "refused"}.get(code, f"exit {code}")


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_hostile_input_gets_a_clear_answer(c: Case, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    started = time.perf_counter()
    out = c.make(tmp_path)
    seconds = time.perf_counter() - started
    OUTCOMES.append((c.id, c.area, _kind(c.code, c), f"{_kind(out.code, c)}{'' if out.code == c.code else ' (WRONG)'}"))
    text = " ".join(out.text.split())
    assert out.code == c.code, out.text
    assert "Traceback" not in out.text, out.text
    for words in c.says:
        assert " ".join(words.split()) in text, f"{words!r} not in: {out.text}"
    for words in c.never:
        assert words not in out.text, f"{words!r} leaked: {out.text}"
    if c.rows is not None:
        table, rows_in, used, rejected = c.rows
        assert out.rows.get(table) == (rows_in, used, rejected), out.rows
        assert rows_in == used + rejected
    assert seconds < 30, f"{c.id} took {seconds:.0f} s"


def test_there_are_at_least_80_cases_in_every_area():
    areas = {c.area for c in CASES}
    assert len(CASES) >= 80, len(CASES)
    assert areas == {"files", "values", "params", "injection", "privacy", "runs"}


# ----------------------------------------------------------------------------------------------------------------
# processes and whole runs


_POOL_SCRIPT = """
import sys, time
from lifecycle_audit.kernels import pool
p, q = pool.start(2, sys.argv[1], sys.argv[2])
for f in [p.submit(time.sleep, 2) for _ in range(2)]:  # both workers busy at once: both set up
    f.result()
print(" ".join(str(pid) for pid in p._processes), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_when_the_run_is_killed(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pool.LIB_DIR), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _POOL_SCRIPT, str(pool.LIB_DIR), str(paths.ROOT)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        workers = [int(pid) for pid in proc.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
        proc.kill()  # SIGKILL: no shutdown code runs in the parent
        proc.wait(10)
        deadline = time.time() + 30
        while time.time() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.2)
        left = [pid for pid in workers if _alive(pid)]
        OUTCOMES.append(
            ("workers of a SIGKILLed run", "runs", "all gone", f"{len(left)} alive" if left else "all gone")
        )
        assert not left, "workers outlived the killed run"
    finally:
        if proc.poll() is None:
            proc.kill()


def _span_shapes() -> dict[str, Callable[[dict[str, pd.DataFrame]], dict[str, pd.DataFrame]]]:
    """The spans the issue found failing: 300 years, every timestamp the same instant, zero orders."""

    def same_instant(frames):
        out = {}
        for name, df in frames.items():
            df = df.copy()
            for col in contract.TABLES[name].columns:
                if col.kind in (contract.TIMESTAMP, contract.DATE) and col.name in df:
                    df[col.name] = df[col.name].where(df[col.name].isna(), pd.Timestamp("2025-06-01 12:00"))
            out[name] = df
        return out

    def three_hundred_years(frames):
        o = frames["orders"]
        old = o["order_time"] - pd.DateOffset(years=300)
        return {**frames, "orders": o.assign(order_time=o["order_time"].where(o.index % 2 == 0, old))}

    def zero_orders(frames):
        return {**frames, "orders": frames["orders"].iloc[0:0], "order_lines": frames["order_lines"].iloc[0:0]}

    return {"300 years": three_hundred_years, "same instant": same_instant, "zero orders": zero_orders}


@pytest.mark.slow
@pytest.mark.parametrize("shape", list(_span_shapes()))
def test_absurd_spans_end_in_not_run_never_in_an_error(shape):
    """Every check on the shape is a finding: passed, failed or not run (not enough data), never an error."""
    frames = _span_shapes()[shape](shop(customers=300, seed=3))
    t = Tables.from_frames(frames)
    found = [f for stage in CHECKED for f in findings.run_stage(stage, t, {})]
    errors = [(f.check_id, f.details.get("exception")) for f in found if f.status == "error"]
    not_run = sum(f.status == "not_run" for f in found)
    label = f"span {shape}: {not_run} of {len(found)} checks not run"
    OUTCOMES.append((label, "runs", "no error", "no error" if not errors else f"{len(errors)} errors (WRONG)"))
    assert not errors, errors
    if shape == "zero orders":
        needs_orders = [f for f in found if any(n.startswith("orders") for n in _needs(f.check_id))]
        assert needs_orders and all(f.status == "not_run" for f in needs_orders)


def _needs(check_id: str) -> tuple[str, ...]:
    """The declared needs of a check."""
    return next(s.needs for s in checks.specs() if s.id == check_id)
