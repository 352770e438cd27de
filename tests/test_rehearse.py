"""`validate` rehearses `run`: one decision (sources.judge) whether the data stops the audit, the same counts on
the data-health page, per-source limits, rejections blamed on their cause, and messages in good English.

The table of cases at the end runs both commands on small folders written by tests.kit.rehearsal and asserts
that validate's exit code (0 go, 1 the data would stop the run) agrees with run's (0 went ahead, 2 stopped on
the data); it is printed in the terminal summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lifecycle_audit import health, lang, runner, sources
from lifecycle_audit import params as params_mod
from lifecycle_audit.cli import app
from lifecycle_audit.errors import SourceError
from lifecycle_audit.report import render
from lifecycle_audit.sources import messages
from lifecycle_audit.sources.model import TableLoad
from lifecycle_audit.sources.validate import row_problem
from tests.kit.rehearsal import params_file, plain_shop, quick_notebooks, retail_lines
from tests.kit.small_runs import write_params

cli = CliRunner()
PLAIN = {"customers": {"file": "customers.csv"}, "orders": {"file": "orders.csv"}}
RETAIL = {"retail": {"preset": "transaction_lines", "file": "lines.csv"}}
TABLE: list[tuple[str, int, int, str]] = []  # case, validate's exit code, run's exit code, rows


def _load(path: Path) -> params_mod.Params:
    return params_mod.load(path)


def _validate(path: Path) -> tuple[int, str]:
    result = cli.invoke(app, ["validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


# --- one decision ------------------------------------------------------------------------------------------------


def test_rows_rejected_within_the_share_are_noted_and_validate_exits_0(tmp_path):
    plain_shop(tmp_path / "data", orders=200, bad_orders=1)  # 0.5 %, the default allows 1 %
    code, text = _validate(params_file(tmp_path, "under", PLAIN))
    assert code == 0, text
    assert "noted, within the share allowed (1 problem;" in text
    assert "1 row has a value that is not a number" in text
    assert "`lifecycle-audit run` would go ahead" in text
    assert "would stop the run" not in text


def test_a_preset_rejecting_too_many_raw_rows_stops_validate_as_it_stops_run(tmp_path):
    retail_lines(tmp_path / "data", lines=100, bad=3, cancelled=4)  # 3 of 100 rows rejected: 3 % > 1 %
    path = params_file(tmp_path, "retail", RETAIL)
    code, text = _validate(path)
    assert code == 1, text
    assert "no problems found" not in text
    # the raw file's rows, not only the tables built from it: 100 in = 93 used + 4 excluded + 3 rejected
    assert re.search(r"retail \(transaction_lines\)\s+│?\s*lines\.csv.*100.*93.*4.*3", text), text
    assert "3 of 100 rows (3.0%) were rejected as bad data, more than the 1.0% allowed" in text
    with pytest.raises(SourceError) as err:
        sources.prepare(_load(path))
    said = str(err.value)  # run's message names the export's field and the example rows, as validate does
    assert "3 rows rejected (field quantity): a quantity that is not a whole number, e.g. rows 98, 99, 100" in said
    assert "values 'two', 'two', 'two'" in said


def test_judge_is_what_prepare_acts_on(tmp_path):
    plain_shop(tmp_path / "data", orders=200, bad_orders=4)  # 2 %
    p = _load(params_file(tmp_path, "over", PLAIN))
    _, verdict = sources.rehearse(p)
    assert not verdict.go
    assert [s.kind for s in verdict.stops] == ["wrong_type", "too_many_rejected"]
    with pytest.raises(SourceError) as err:
        sources.prepare(p)
    assert [str(x) for x in err.value.problems] == [str(x) for x in verdict.stops]


def test_validate_generates_a_missing_demo_shop_as_run_does(tmp_path):
    path = write_params(tmp_path, "tiny", demo={"customers": 300, "seed": 3, "profile": "healthy"})
    assert not (tmp_path / "data").exists()
    code, text = _validate(path)
    assert code == 0, text
    assert "`lifecycle-audit run` would go ahead" in text and (tmp_path / "data" / "orders.parquet").is_file()


# --- per-source limits -------------------------------------------------------------------------------------------


def test_a_source_may_allow_a_larger_share_than_the_params_file(tmp_path):
    plain_shop(tmp_path / "data", orders=200, bad_orders=4)  # 2 %
    lenient = {**PLAIN, "orders": {"file": "orders.csv", "max_rejected_share": 0.05}}
    assert sources.rehearse(_load(params_file(tmp_path, "lenient", lenient)))[1].go
    assert not sources.rehearse(_load(params_file(tmp_path, "strict", PLAIN)))[1].go


def test_a_source_may_allow_a_smaller_share_than_the_params_file(tmp_path):
    plain_shop(tmp_path / "data", orders=200, bad_orders=1)  # 0.5 %
    strict = {**PLAIN, "orders": {"file": "orders.csv", "max_rejected_share": 0}}
    _, verdict = sources.rehearse(_load(params_file(tmp_path, "strict", strict, max_rejected_share=0.1)))
    assert [s.kind for s in verdict.stops] == ["wrong_type", "too_many_rejected"]
    assert "more than the 0.00% allowed" in str(verdict.stops[-1])


def test_a_preset_source_limit_applies_to_its_raw_file(tmp_path):
    retail_lines(tmp_path / "data", lines=100, bad=3)
    retail = {"retail": {**RETAIL["retail"], "max_rejected_share": 0.05}}
    assert sources.rehearse(_load(params_file(tmp_path, "retail", retail)))[1].go


def test_the_limit_must_be_a_share():
    with pytest.raises(Exception, match="max_rejected_share"):
        params_mod.from_dict(
            {"client": "a", "data_dir": "x", "sources": {"orders": {"file": "o.csv", "max_rejected_share": 2}}}
        )


# --- the data-health page counts what validate counts ----------------------------------------------------------


def test_the_health_page_lists_the_preset_rejections_validate_prints(tmp_path):
    retail_lines(tmp_path / "data", lines=100, bad=1)  # within the share: the run goes ahead
    prepared = sources.prepare(_load(params_file(tmp_path, "retail", RETAIL)))
    listed = health.rejections(prepared)
    assert list(listed["problem"]) == ["unreadable_quantity"] and list(listed["rows"]) == [1]
    assert listed["rows"].sum() == health.inputs(prepared)["rows_rejected"].sum()
    assert list(listed["message"]) == [str(p.message) for p in sources.judge(prepared, None, 0.01).noted]


def test_the_health_page_of_clean_data_lists_no_rejection(tmp_path):
    plain_shop(tmp_path / "data")
    prepared = sources.prepare(_load(params_file(tmp_path, "clean", PLAIN)))
    assert health.rejections(prepared).empty
    assert (health.inputs(prepared)["rows_rejected"] == 0).all()


# --- a rejection blamed on its cause -----------------------------------------------------------------------------


def test_children_of_a_rejected_parent_are_blamed_on_its_cause(tmp_path):
    plain_shop(tmp_path / "data", customers=100, orders=200, social=3)  # 3 customers, 6 orders of theirs
    lenient = {"customers": {"file": "customers.csv"}, "orders": {"file": "orders.csv"}}
    p = _load(params_file(tmp_path, "blame", lenient, max_rejected_share=0.5))
    prepared, _ = sources.rehearse(p)
    orders = prepared.loads["orders"]
    assert orders.rejected == {"parent_rejected": 6} and orders.rows_used == 194
    (blamed,) = [x for x in orders.problems if x.kind == "parent_rejected"]
    text = str(blamed)
    assert "6 rows point to a customer_id whose row in the customers table was rejected" in text
    assert "3 rows of column 'acquisition_channel' (contract customers.acquisition_channel)" in text
    assert "'social'" in text and "sources.customers.values.acquisition_channel" in text
    assert "cut at a different date" not in text
    (i,) = [i for i in prepared.inputs if i.source == "orders"]
    assert i.balanced and i.rejected == {"parent_rejected": 6}


def test_a_reference_to_a_customer_nobody_rejected_still_points_at_the_exports(tmp_path):
    plain_shop(tmp_path / "data", customers=100, orders=200, social=3)
    (tmp_path / "data" / "customers.csv").write_text(
        "".join(line for line in (tmp_path / "data" / "customers.csv").open() if not line.startswith("C5,")),
        encoding="utf-8",
    )  # customer C5 not in the export at all: orders 5, 105 point nowhere
    p = _load(params_file(tmp_path, "cut", PLAIN, max_rejected_share=0.5))
    orders = sources.rehearse(p)[0].loads["orders"]
    assert orders.rejected == {"parent_rejected": 6, "dangling_reference": 2}
    (dangling,) = [x for x in orders.problems if x.kind == "dangling_reference"]
    assert "cut at a different date" in str(dangling) and "'C5'" in str(dangling)


# --- messages in good English ------------------------------------------------------------------------------------

BAD_GRAMMAR = [
    (r"\b1 (rows|problems|errors|files|values|lines|entries|findings|warnings|dates)\b", "a plural after 1"),
    (r"(?<![\d,.])1 of [\d,]+ rows? \([\d.]+%\) were\b", "'1 … were'"),
    (r"\((s|es)\)", "a '(s)' plural"),
    (r"\ba (?=[aeio])", "'a' before a vowel"),
    (r"\ban (?![aeiouAEIOU'\"])", "'an' before a consonant"),
    (r"\b1 row (have|are|point|repeat)\b", "a plural verb after 1 row"),
    (r"\b([2-9]|\d{2,}) rows (has|is|points|repeats)\b", "a singular verb after several rows"),
]


def _grammar_errors(text: str) -> list[str]:
    return [
        f"{why}: ...{text[max(0, m.start() - 40) : m.end() + 40]}..."
        for rx, why in BAD_GRAMMAR
        for m in re.finditer(rx, text)
    ]


def test_article_and_plural_helpers():
    assert messages.article("order_id") == "an order_id" and messages.article("customer_id") == "a customer_id"
    assert messages.article("unique key") == "a unique key" and messages.article("event") == "an event"
    assert messages.plural(1, "row") == "1 row" and messages.plural(1234, "row") == "1,234 rows"
    assert messages.plural(0, "entry", "entries") == "0 entries" and messages.verb(1, "was", "were") == "was"


def _every_row_message(n: int) -> list[str]:
    """Every row-problem template the sources write, rendered for `n` rows (through row_problem, as they are)."""
    load = TableLoad.empty("orders", "orders.csv")
    load.mapping = {"order_id": "Invoice", "revenue": "Total", "customer_id": "Customer"}
    index = pd.RangeIndex(n + 2)
    mask = np.zeros(n + 2, dtype=bool)
    mask[:n] = True
    raw = pd.Series([f"v{i}" for i in range(n + 2)], index=index)
    whats = [
        ("revenue", "have a value that is not a number"),
        ("revenue", "have a date that cannot be read"),
        ("revenue", "are empty"),
        ("revenue", "have a value outside the allowed list"),
        ("revenue", "have a negative value"),
        ("order_id", f"repeat {messages.article('order_id')} already used by an earlier row"),
        ("customer_id", f"point to {messages.article('customer_id')} that is not in the customers table"),
        ("order_id", f"point to {messages.article('order_id')} that is not in the orders table"),
    ]
    out = []
    for column, what in whats:
        p = row_problem(load, column, "wrong_type", mask, index, raw, what=what, expected="something else")
        out.append(p.message)
        out.append(messages.blame(p))  # as the cause of other rows
    return out


@pytest.mark.parametrize("n", [1, 3])
def test_every_message_reads_well_with_one_and_with_many(tmp_path, n):
    texts = _every_row_message(n)
    texts.append(
        messages.preset_message(
            {
                "rows": n,
                "column": "quantity",
                "description": "a bad quantity",
                "examples": list(range(1, n + 1)),
                "values": ["two"] * n,
            }
        )
    )
    # the whole path: a plain shop and a preset export with n bad rows, validated and run (rejected: too many)
    plain_shop(tmp_path / "data", customers=20, orders=40, bad_orders=n, social=n)
    retail_lines(tmp_path / "data", lines=40, bad=n, cancelled=n)
    for path in (params_file(tmp_path, "plain", PLAIN), params_file(tmp_path, "retail", RETAIL)):
        code, text = _validate(path)
        assert code == 1, text
        texts.append(text)
        with pytest.raises(SourceError) as err:
            sources.prepare(_load(path))
        texts.extend(str(x) for x in err.value.problems)
    errors = [e for t in texts for e in _grammar_errors(t)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("n", [1, 3])
def test_run_counts_its_findings_in_good_english(tmp_path, monkeypatch, n):
    found = [{"check_id": f"reach.c{i}", "stage": "reach", "status": "pass", "details": {}} for i in range(n)]
    done = runner.RunResult(run_dir=tmp_path, index=tmp_path / "index.html", findings=found, seconds=1.0)
    monkeypatch.setattr(runner, "run", lambda *a, **kw: done)
    result = cli.invoke(app, ["run", "params/demo.yaml"])
    assert result.exit_code == 0, result.output
    assert f"{n} {'finding' if n == 1 else 'findings'} in 1.0 s" in result.output
    assert not _grammar_errors(result.output)


def test_the_grammar_check_catches_what_it_should():
    for bad in ["1 rows have", "repeat a order_id", "2 problem(s)", "1 of 99 rows (1.0%) were rejected", "an customer"]:
        assert _grammar_errors(bad), bad
    for good in ["1 row has", "an order_id", "a customer_id", "2 of 99 rows (2.0%) were rejected", "an 'x'"]:
        assert not _grammar_errors(good), good


# --- the table of cases: validate's exit code against run's --------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A client folder, and what validate and run must both decide about it."""

    id: str
    write: object  # folder -> files' rows
    sources: dict
    go: bool
    extra: dict | None = None


CASES = [
    Case("clean", lambda d: plain_shop(d), PLAIN, True),
    Case("under the limit (0.5 % of orders)", lambda d: plain_shop(d, bad_orders=1), PLAIN, True),
    Case("over the limit (2.5 % of orders)", lambda d: plain_shop(d, bad_orders=5), PLAIN, False),
    Case("preset with bad rows (3 % of raw lines)", lambda d: retail_lines(d, bad=3, cancelled=4), RETAIL, False),
    Case(
        "per-table limit allows 5 % (2.5 % of orders)",
        lambda d: plain_shop(d, bad_orders=5),
        {**PLAIN, "orders": {"file": "orders.csv", "max_rejected_share": 0.05}},
        True,
    ),
    Case(
        "per-table limit 0 % under an overall 10 % (0.5 %)",
        lambda d: plain_shop(d, bad_orders=1),
        {**PLAIN, "orders": {"file": "orders.csv", "max_rejected_share": 0}},
        False,
        {"max_rejected_share": 0.1},
    ),
    Case(
        "dangling children of a rejected parent (2 % customers allowed, their 4 % orders not)",
        lambda d: plain_shop(d, customers=100, orders=200, social=2),
        {"customers": {"file": "customers.csv", "max_rejected_share": 0.05}, "orders": {"file": "orders.csv"}},
        False,
    ),
]


@pytest.mark.e2e
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validate_and_run_agree(tmp_path, case):
    files = case.write(tmp_path / "data")
    path = params_file(tmp_path, "case", case.sources, **(case.extra or {}))
    v_code, v_text = _validate(path)
    result = cli.invoke(
        app,
        [
            "run",
            str(path),
            "--stage",
            "data_health",
            "--notebooks",
            str(quick_notebooks(tmp_path)),
            "--quiet",
            "-j",
            "1",
        ],
    )
    r_code = result.exit_code
    prepared = sources.check_sources(_load(path))
    for i in prepared.inputs:  # rows in = used + excluded + rejected, per raw file
        assert i.balanced, i
    rows = "; ".join(
        f"{Path(i.file).name} {i.rows_in} = {i.rows_used} + {i.rows_excluded} + {i.rows_rejected}"
        for i in prepared.inputs
    )
    assert {Path(i.file).name: i.rows_in for i in prepared.inputs} == files
    TABLE.append((case.id, v_code, r_code, rows))
    assert (v_code, r_code) == ((0, 0) if case.go else (1, 2)), f"validate:\n{v_text}\nrun:\n{result.output}"
    if not case.go:  # run names what validate named as stopping it
        stops = [line.strip() for line in v_text.split("would stop the run", 1)[1].splitlines()[1:] if "  " in line]
        assert stops and all(s.split(": ", 1)[1][:60] in result.output for s in stops if ": " in s), result.output
    if "dangling" in case.id:
        assert "whose row in the customers table was rejected" in v_text and "'social'" in v_text
        assert "cut at a different date" not in v_text


def pytest_terminal_summary_table() -> str:
    """The table of cases as the terminal summary shows it."""
    lines = [f"{'case':<85} validate  run  rows (in = used + excluded + rejected)"]
    lines += [f"{c:<85} {v:>8} {r:>4}  {rows}" for c, v, r, rows in TABLE]
    return "\n".join(lines)


@pytest.fixture(scope="module", autouse=True)
def _print_table():
    yield
    if TABLE:
        print("\n" + pytest_terminal_summary_table())


@pytest.mark.parametrize("locale", ["en", "de", "id"])
def test_the_index_counts_one_error_and_one_warning_in_the_singular(locale):
    one = render._counts([{"status": "error"}, {"status": "warn"}])
    many = render._counts([{"status": "error"}] * 2 + [{"status": "warn"}] * 2)
    assert one == "1 warning · 1 error" and many == "2 warnings · 2 errors"
    with lang.use(locale, "EUR"):
        assert "{n}" not in render._counts([{"status": "error"}])
