"""The data contract holds every table and column of the mission's contract."""

import re
from pathlib import Path

import pytest

from lifecycle_audit import contract

MISSION = Path(__file__).resolve().parents[2] / "shared" / "MISSION.md"


def mission_tables() -> dict[str, set[str]]:
    text = MISSION.read_text(encoding="utf-8").split("## The data contract", 1)[1].split("## The demo data", 1)[0]
    out, in_contract = {}, False
    for line in text.splitlines():
        if line.startswith("| table |"):  # the contract's own table; later tables (added checks) are not tables
            in_contract = True
            continue
        if in_contract and not line.startswith("|"):
            in_contract = False
        m = re.match(r"\| (\w+) \| (.+) \|$", line.strip())
        if in_contract and m and not set(m.group(2)) <= set("-| "):
            cols = re.sub(r"\([^)]*\)", "", m.group(2))
            out[m.group(1)] = {c.strip() for c in cols.split(",") if c.strip()}
    return out


ADDED_BY_ISSUES = {"campaign_members"}  # tables the mission's first version does not list (issue 14: control groups)


@pytest.mark.skipif(not MISSION.exists(), reason="the mission text is not beside this checkout")
def test_every_table_and_column_of_the_mission_is_in_the_contract():
    expected = mission_tables()
    assert len(expected) == 11
    assert set(expected) | ADDED_BY_ISSUES == set(contract.TABLES)
    for name, cols in expected.items():
        assert cols == set(contract.TABLES[name].column_names), name


def test_vocabularies_follow_the_mission():
    assert set(contract.EVENT_TYPES) == {
        "page_view",
        "product_view",
        "add_to_cart",
        "begin_checkout",
        "purchase",
        "sign_up",
    }
    assert set(contract.PAGE_TYPES) == {
        "home",
        "landing",
        "category",
        "product",
        "cart",
        "checkout",
        "content",
        "other",
    }
    assert set(contract.MESSAGE_CHANNELS) == {"email", "push", "sms", "postal"}
    assert len(contract.MESSAGE_TYPES) == 11


def test_keys_and_references_point_at_real_columns():
    for t in contract.TABLES.values():
        for k in t.key:
            t.column(k)
        for c in t.columns:
            assert c.kind in contract.PANDAS_DTYPES
            if c.references:
                other, col = c.references.split(".")
                contract.TABLES[other].column(col)
    with pytest.raises(KeyError, match="unknown table 'order'"):
        contract.table("order")
