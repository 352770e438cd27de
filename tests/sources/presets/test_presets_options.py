"""A preset entry takes the options of a plain mapping: `derived:`, `constants:` and `values:` apply to the preset's
input fields, before its build, so the build judges them as it judges the export's own columns."""

from __future__ import annotations

import pytest

from lifecycle_audit import params, sources
from lifecycle_audit.errors import ParamsError

from .test_presets import run

# Invoice lines whose export has a line total instead of a unit price, and no country column.
LINE_TOTALS = """Beleg;Artikel;Menge;Datum;Zeilensumme;Kunde
R1;A-1;2;2024-03-01 10:00;13,90;K1
R1;A-2;1;2024-03-01 10:00;6,75;K1
R2;A-1;3;2024-03-02 11:00;20,85;K2
R3;A-3;2;2024-03-03 12:00;zwölf;K2
"""
COLUMNS = {
    "invoice": "Beleg",
    "stock_code": "Artikel",
    "quantity": "Menge",
    "invoice_date": "Datum",
    "customer_id": "Kunde",
}


def test_a_unit_price_derived_from_a_line_total_and_a_constant_country(tmp_path):
    prepared, t = run(
        tmp_path,
        {"lines.csv": LINE_TOTALS},
        {
            "preset": "transaction_lines",
            "file": "lines.csv",
            "columns": COLUMNS,
            "derived": {"price": "Zeilensumme / Menge"},
            "constants": {"country": "Deutschland"},
            "values": {"country": {"Deutschland": "DE"}},
        },
        max_rejected_share=0.5,
    )
    (i,) = prepared.inputs
    assert (i.rows_in, i.rows_used, i.rejected) == (4, 3, {"unreadable_price": 1})
    assert i.rows_in == i.rows_used + i.rows_excluded + i.rows_rejected
    bad = next(r for r in i.reasons if r["reason"] == "unreadable_price")
    assert bad["examples"] == [4] and bad["values"] == ["zwölf"]  # the client's value, not an empty price
    lines = t["order_lines"].sort_values(["order_id", "product_id"])
    assert lines["unit_price"].tolist() == pytest.approx([6.95, 6.75, 6.95])
    assert t["orders"].set_index("order_id")["revenue"].to_dict() == pytest.approx({"R1": 20.65, "R2": 20.85})
    assert set(t["customers"]["country"]) == {"DE"}
    assert any("price derived as Zeilensumme / Menge" in n for n in i.notes)


def test_without_the_derived_price_the_missing_column_is_named(tmp_path):
    with pytest.raises(Exception, match=r"column 'Price' \(preset transaction_lines field price\) is missing"):
        run(
            tmp_path,
            {"lines.csv": LINE_TOTALS},
            {"preset": "transaction_lines", "file": "lines.csv", "columns": COLUMNS},
        )


def test_a_derived_field_whose_input_is_missing_is_named(tmp_path):
    source = {
        "preset": "transaction_lines",
        "file": "lines.csv",
        "columns": COLUMNS,
        "derived": {"price": "Summe / Menge"},
    }
    with pytest.raises(Exception, match=r"column 'Summe' \(preset transaction_lines field price\) is missing"):
        run(tmp_path, {"lines.csv": LINE_TOTALS}, source)


@pytest.mark.parametrize("part", ["derived", "constants"])
def test_a_derived_or_constant_name_that_is_not_a_field_is_an_error(tmp_path, part):
    value = "Zeilensumme / Menge" if part == "derived" else "x"
    p = params.from_dict(
        {
            "client": "a",
            "data_dir": str(tmp_path),
            "sources": {"x": {"preset": "transaction_lines", "file": "a.csv", part: {"unit_price": value}}},
        },
        "a.yaml",
    )
    with pytest.raises(ParamsError, match=rf"{part} names 'unit_price', not a field of preset transaction_lines"):
        sources.check_params(p)
