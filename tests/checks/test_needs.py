"""What a check needs to judge: the declarations parse, and absent data is never a finding.

Every check runs on a generated shop with each of its declared inputs blanked in turn (the table absent, the
table without rows, the column empty on every row, the rows of the needed kind removed): each time it is "not
run" with a reason naming what is missing. On the complete shop every check judges.
"""

from __future__ import annotations

import itertools
import re

import pandas as pd
import pytest

from lifecycle_audit import checks, engine, findings
from lifecycle_audit.checks import CheckError, parse_need
from lifecycle_audit.engine import Tables
from lifecycle_audit.metrics import presence
from tests.kit import customers, messages, orders, run, shop, tables

SHOP = dict(profile="healthy", customers=2000)


# ---------------------------------------------------------------- the notation


def test_needs_parse_into_a_table_a_column_and_kind_conditions():
    assert parse_need("orders") == checks.Need("orders", "orders")
    assert parse_need("customers.loyalty_member_since").column == "loyalty_member_since"
    n = parse_need("messages.channel=email&message_type=promo|newsletter")
    assert n.table == "messages" and n.column is None
    assert n.where == (("channel", ("email",)), ("message_type", ("promo", "newsletter")))
    assert n.condition == "channel = email, message_type = promo / newsletter"
    n = parse_need("messages.unsubscribed_at&channel=email")
    assert n.column == "unsubscribed_at" and n.where == (("channel", ("email",)),)
    assert parse_need("customers.email_opt_in=true").where == (("email_opt_in", ("true",)),)


@pytest.mark.parametrize(
    "text, says",
    [
        ("order", "unknown table 'order'"),
        ("customers.loyalty", "no column 'loyalty'"),
        ("messages.message_type=thanks", "not thanks"),
        ("messages.category=shoes", "no closed set of values"),
        ("messages.channel=email&unsubscribed_at", "comes first"),
        ("messages.channel=email&channel=sms", "named twice"),
    ],
)
def test_a_need_the_contract_does_not_have_is_an_error(text, says):
    with pytest.raises(CheckError, match=says):
        parse_need(text)


def test_a_check_declaring_an_unknown_column_is_refused_when_declared():
    with pytest.raises(CheckError, match=re.escape("conversion.bad_needs: need 'orders.voucher'")):
        checks.check(
            id="conversion.bad_needs",
            stage="conversion",
            title="t",
            failure_title="f",
            needs=("orders.voucher",),
            better="lower",
            good=1,
            poor=2,
            unit="count",
            source="s",
            description="d",
            advice=("a",),
        )


# ---------------------------------------------------------------- present but empty is absent


def loyal_shop(**customer_columns) -> dict:
    """Three customers with three orders each; the loyalty column as given."""
    od = orders([dict(customer_id=c, days=d, revenue=50.0) for c in ("c1", "c2", "c3") for d in (1, 40, 80)])
    return {"orders": od, "customers": customers(customer_id=["c1", "c2", "c3"], **customer_columns)}


def test_an_empty_loyalty_column_is_not_run_not_nobody_is_a_member():
    f = run(
        "loyalty.unrecognised_loyal",
        overrides={"min_loyal": 1},
        **loyal_shop(loyalty_member_since=[pd.NaT] * 3),
    )
    assert f.status == "not_run" and f.unmet == ["customers.loyalty_member_since"]
    assert f.reason == "needs loyalty_member_since in the customers table, which is empty on every row"
    judged = run(
        "loyalty.unrecognised_loyal",
        overrides={"min_loyal": 1},
        **loyal_shop(loyalty_member_since=[pd.Timestamp("2024-01-01"), pd.NaT, pd.NaT]),
    )
    assert judged.ran and judged.value == pytest.approx(2 / 3)


def test_postal_campaigns_only_leave_thank_you_not_run_naming_what_the_messages_hold():
    od = orders([dict(customer_id=f"c{i}", days=i) for i in range(60)])
    ms = messages([dict(customer_id=f"c{i}", days=i + 1) for i in range(60)], channel="postal", message_type="promo")
    f = run("conversion.thank_you", orders=od, messages=ms)
    assert f.status == "not_run"
    assert str(f.reason).startswith(
        "needs rows with message_type = thank_you in the messages table; it holds none (it holds: promo). "
        "Either the shop sends none"
    )


def test_an_empty_unsubscribe_column_is_not_run_rather_than_a_pass_at_zero():
    ms = messages(
        [dict(customer_id=f"c{i % 50}", days=i % 90, message_type="promo") for i in range(3000)],
        channel="email",
    )
    f = run("retention.over_contacting", messages=ms)
    assert f.status == "not_run"
    assert "unsubscribed_at" in f.reason and "channel = email" in f.reason
    ms.loc[::200, "unsubscribed_at"] = ms.loc[::200, "sent_at"] + pd.Timedelta(hours=1)
    assert run("retention.over_contacting", messages=ms).ran


def test_a_table_supplied_without_rows_is_not_run():
    f = run("retention.repeat_purchase", orders=orders([]))
    assert f.status == "not_run" and f.reason == "needs the orders table, which has no rows"


def test_an_empty_opt_in_column_counts_as_not_recorded_like_an_absent_one():
    t_empty = tables(customers=customers(customer_id=["a", "b"], email_opt_in=[None, None]))
    t_absent = tables(customers=customers(customer_id=["a", "b"]).drop(columns="email_opt_in"))
    t_set = tables(customers=customers(customer_id=["a", "b"], email_opt_in=[True, None]))
    assert not presence.has_values(t_empty, "customers", "email_opt_in")
    assert not presence.has_values(t_absent, "customers", "email_opt_in")
    assert presence.has_values(t_set, "customers", "email_opt_in")


# ---------------------------------------------------------------- every check, every input blanked


def _blankings():
    """(check id, need, how it is blanked) for every declared need of every check."""
    out = []
    for spec in checks.specs():
        for need in spec.requirements:
            hows = ["absent", "no rows"]
            if need.column:
                hows.append("column empty")
            if need.where:
                hows.append("kind removed")
            out += [(spec.id, need.text, how) for how in hows]
    return out


BLANKINGS = _blankings()


@pytest.fixture(scope="module")
def supplied():
    """The generated shop's frames and their tables in one DuckDB connection (each blanking adds one table)."""
    frames = shop(**SHOP)
    con = engine.connect()
    return frames, con, {name: con.create_table(name, df) for name, df in frames.items()}


def _blanked(frame: pd.DataFrame, need: checks.Need, how: str) -> pd.DataFrame:
    df = frame.copy()
    if how == "no rows":
        return df.iloc[0:0]
    hit = pd.Series(True, index=df.index)
    for col, values in need.where:
        hit &= df[col].astype("string").str.lower().isin(values).fillna(False)
    if how == "column empty":
        df[need.column] = df[need.column].where(pd.Series(False, index=df.index))  # missing, in the column's type
        return df
    return df[~hit]


_names = itertools.count()


def test_the_blankings_cover_all_checks_and_their_inputs():
    assert {c for c, _, _ in BLANKINGS} == {s.id for s in checks.specs()}
    assert len(checks.specs()) == 30
    assert len({(c, n) for c, n, _ in BLANKINGS}) == sum(len(s.needs) for s in checks.specs())


@pytest.mark.slow  # a sweep of 184 blankings: make test (and CI) runs it, make test-fast does not
@pytest.mark.parametrize("check_id, need_text, how", BLANKINGS, ids=[" ".join(b) for b in BLANKINGS])
def test_a_check_whose_input_is_blanked_is_not_run_naming_it(supplied, check_id, need_text, how):
    frames, con, base = supplied
    need = parse_need(need_text)
    available = dict(base)
    if how == "absent":
        del available[need.table]
    else:
        name = f"{need.table}_{next(_names)}"
        available[need.table] = con.create_table(name, _blanked(frames[need.table], need, how))
    f = findings.run_check(checks.get(check_id), Tables(con, available))
    assert f.status == "not_run", f"{check_id} judged with {need_text} blanked ({how}): {f.status} {f.value}"
    assert need_text in f.unmet
    reason = str(f.reason)
    assert f"the {need.table} table" in reason
    if how == "absent":
        assert "not supplied" in reason
    elif how == "no rows":
        assert "no rows" in reason
    elif how == "column empty":
        assert need.column in reason and "empty" in reason
    else:
        assert need.condition in reason and "it holds none" in reason


@pytest.mark.heavy
def test_every_check_judges_the_complete_shop(supplied):
    _, con, base = supplied
    t = Tables(con, dict(base))
    found = {s.id: findings.run_check(s, t) for s in checks.specs()}
    assert {c: f.unmet for c, f in found.items() if f.unmet} == {}
    assert {c: f.status for c, f in found.items() if not f.ran} == {}


# ---------------------------------------------------------------- the coverage of the catalogue


def _finding(check_id: str, status: str, unmet=()) -> dict:
    return {"check_id": check_id, "status": status, "unmet": list(unmet)}


def test_coverage_is_the_share_judged_and_names_the_inputs_that_unlock_most_checks():
    found = [
        _finding("a.one", "pass"),
        _finding("a.two", "fail"),
        _finding("a.three", "not_run"),  # thin data: judged as far as inputs go
        _finding("a.four", "not_run", ["messages.opened_at"]),
        _finding("a.five", "not_run", ["messages.opened_at"]),
        _finding("a.six", "not_run", ["messages.opened_at", "surveys"]),
        _finding("a.seven", "not_run", ["surveys", "tickets"]),
        _finding("a.eight", "not_run", ["reviews"]),
    ]
    c = findings.coverage(found)
    assert (c.checks, c.judged, c.score) == (8, 3, 38)
    assert c.unlocks == [("messages.opened_at", 2, 3), ("reviews", 1, 1), ("surveys", 0, 2)]
    every = findings.coverage([_finding("a.one", "pass")])
    assert every.share == 1 and every.unlocks == []
    tangled = findings.coverage([_finding("a.x", "not_run", ["surveys", "tickets"])])
    assert tangled.unlocks == [("surveys", 0, 1), ("tickets", 0, 1)]
