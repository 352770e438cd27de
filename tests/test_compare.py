"""What changed between two runs (lifecycle_audit.compare), on hand-made findings.json and manifest.json pairs
where every answer is known: fixed, improved, regressed, new, no longer judged, changed thresholds or
definition, runs of an older version with fields missing, and overlapping periods."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from lifecycle_audit import checks, compare, findings, lang, scoring
from lifecycle_audit.errors import RunError
from lifecycle_audit.report import comparison, export, render

RELEVANCE = "conversion.relevance"  # a share, higher is better
SUPPORT = "retention.support_responsiveness"  # hours, lower is better
UNTRACKED = "reach.untracked_traffic"
CARTS = "conversion.cart_abandonment"


def finding(check_id: str, status: str, value: float | None = 0.5, *, at_stake: float | None = None, **extra) -> dict:
    """A finding as findings.json holds it, with the options and definition the runner records."""
    spec = checks.get(check_id)
    f = {
        "check_id": check_id,
        "stage": spec.stage,
        "title": spec.title if status == "pass" else spec.failure_title,
        "status": status,
        "score": {"pass": 95, "warn": 70, "fail": 20}.get(status),
        "value": value if status in ("pass", "warn", "fail") else None,
        "unit": spec.unit,
        "good": spec.good,
        "poor": spec.poor,
        "better": spec.better,
        "at_stake": at_stake,
        "reason": None,
        **compare.settings(check_id),
    }
    f.update(extra)
    return f


def manifest(run_id: str, *, start="2025-07-01", end="2026-06-30", started="2026-07-01T09:00:00+02:00", **extra):
    m = {
        "run_id": run_id,
        "client": "acme",
        "client_name": "Acme",
        "started": started,
        "period": {"start": start, "end": end},
        "params": {"client": "acme", "currency": "EUR", "locale": "en"},
        "versions": {"lifecycle-audit": "0.1.0"},
    }
    m.update(extra)
    return m


def run(run_id: str, rows: list[dict], **m: Any) -> compare.RunRecord:
    """A run of these findings; its manifest's stage scores as the runner computes them unless given."""
    stage_ids = sorted({f["stage"] for f in rows})
    m.setdefault(
        "stages",
        [{"stage": s, "score": scoring.stage_score([f["score"] for f in rows if f["stage"] == s])} for s in stage_ids],
    )
    return compare.record(rows, manifest(run_id, **m))


def change(cmp: compare.Comparison, check_id: str) -> compare.CheckChange:
    return next(c for c in cmp.checks if c.check_id == check_id)


# ---------------------------------------------------------------- status changes


def test_a_failed_check_that_passes_now_is_fixed_with_its_value_and_money_change():
    then = run("q1", [finding(RELEVANCE, "fail", 0.21, at_stake=180.0), finding(CARTS, "fail", 0.82, at_stake=900.0)])
    now = run("q2", [finding(RELEVANCE, "pass", 0.75), finding(CARTS, "fail", 0.82, at_stake=900.0)])
    cmp = compare.compare(then, now)
    fixed = change(cmp, RELEVANCE)
    assert fixed.change == "fixed"
    assert fixed.value_delta == pytest.approx(0.54)
    assert fixed.stake_delta == pytest.approx(-180.0)  # nothing is at stake on a passing check
    assert change(cmp, CARTS).change == "unchanged"
    assert change(cmp, CARTS).stake_delta == 0.0  # the same money at stake
    assert cmp.counts() == {"fixed": 1, "unchanged": 1}
    assert cmp.exit_code("regressed") == 0
    assert cmp.exit_code("failed") == 1  # the cart check still fails in the later run


def test_a_check_that_got_worse_regressed_and_one_that_got_better_without_passing_improved():
    then = run("q1", [finding(RELEVANCE, "pass", 0.7), finding(CARTS, "warn", 0.7), finding(SUPPORT, "fail", 30)])
    now = run("q2", [finding(RELEVANCE, "warn", 0.5), finding(CARTS, "fail", 0.85), finding(SUPPORT, "warn", 8)])
    cmp = compare.compare(then, now)
    assert [change(cmp, c).change for c in (RELEVANCE, CARTS, SUPPORT)] == ["regressed", "regressed", "improved"]
    assert change(cmp, SUPPORT).value_delta == pytest.approx(-22)
    assert cmp.exit_code() == 1
    assert cmp.exit_code("failed") == 1
    with pytest.raises(ValueError, match="fail_on"):
        cmp.exit_code("worse")


def test_the_same_results_twice_change_nothing_and_exit_zero():
    rows = [finding(RELEVANCE, "pass", 0.7), finding(SUPPORT, "warn", 6)]
    cmp = compare.compare(run("q1", rows), run("q2", rows))
    assert cmp.counts() == {"unchanged": 2}
    assert cmp.exit_code("regressed") == 0 and cmp.exit_code("failed") == 0
    assert not cmp.notes


def test_a_check_judged_now_but_not_then_is_new_and_says_why_it_was_not_judged():
    reason = {"msgid": "no table {t}", "params": {"t": "tickets"}}
    then = run("q1", [finding(SUPPORT, "not_run", reason=reason)])
    now = run("q2", [finding(SUPPORT, "pass", 2.0), finding(RELEVANCE, "fail", 0.2)])
    cmp = compare.compare(then, now)
    assert change(cmp, SUPPORT).change == "new"
    assert change(cmp, SUPPORT).reason.render("en") == "not judged in the earlier run: no table tickets"
    assert change(cmp, RELEVANCE).change == "new"
    assert change(cmp, RELEVANCE).reason.render("en") == "the check is not in the earlier run"
    assert change(cmp, RELEVANCE).status_then is None
    assert cmp.exit_code() == 0  # a new failure is not a regression; --fail-on failed catches it
    assert cmp.exit_code("failed") == 1


def test_a_check_judged_then_but_not_now_is_no_longer_judged_with_the_reason():
    reason = {"msgid": "the data covers {days} days; this check needs {need}", "params": {"days": 90, "need": 180}}
    then = run("q1", [finding(SUPPORT, "fail", 30), finding(RELEVANCE, "pass", 0.7), finding(CARTS, "fail", 0.8)])
    now = run("q2", [finding(SUPPORT, "not_run", reason=reason), finding(RELEVANCE, "error")])
    cmp = compare.compare(then, now)
    gone = change(cmp, SUPPORT)
    assert gone.change == "no_longer_judged" and gone.status_now == "not_run"
    assert gone.reason.render("en") == "the data covers 90 days; this check needs 180"
    assert gone.value_delta is None and gone.stake_delta is None
    assert change(cmp, RELEVANCE).reason.render("en") == "the check stopped on an error"
    assert change(cmp, CARTS).change == "no_longer_judged"
    assert change(cmp, CARTS).reason.render("en") == "the check is not in the later run"
    assert cmp.exit_code() == 0


def test_a_check_missing_because_its_stage_did_not_finish_says_so():
    then = run("q1", [finding(SUPPORT, "fail", 30), finding(RELEVANCE, "fail", 0.2)])
    now = run("q2", [finding(RELEVANCE, "pass", 0.8)], failed_stages=[{"stage": "retention", "cell": 3}])
    cmp = compare.compare(then, now)
    assert change(cmp, SUPPORT).change == "no_longer_judged"
    assert change(cmp, SUPPORT).reason.render("en") == "its stage did not finish in the later run"
    assert change(cmp, RELEVANCE).change == "fixed"


def test_a_check_judged_neither_time_is_not_judged():
    cmp = compare.compare(run("q1", [finding(SUPPORT, "not_run")]), run("q2", [finding(SUPPORT, "not_run")]))
    assert change(cmp, SUPPORT).change == "not_judged"


# ---------------------------------------------------------------- changed thresholds, options, definition


def test_changed_thresholds_say_so_instead_of_comparing():
    then = run("q1", [finding(CARTS, "pass", 0.62)])
    options = {**checks.get(CARTS).defaults(), "good": 0.55, "poor": 0.6}
    now = run("q2", [finding(CARTS, "fail", 0.62, good=0.55, poor=0.6, options=options)])
    c = change(compare.compare(then, now), CARTS)
    assert c.change == "not_comparable"
    text = c.reason.render("en")
    assert "not compared" in text and "good: 0.65 → 0.55" in text and "poor: 0.75 → 0.6" in text
    assert c.value_delta is None and c.stake_delta is None
    assert compare.compare(then, now).exit_code() == 0  # pass -> fail under new thresholds is no regression


def test_a_changed_rate_behind_money_at_stake_makes_the_check_not_comparable():
    spec = checks.get("conversion.abandoned_cart_recovery")
    options = {**spec.defaults(), "recovered": 0.03}
    then = run("q1", [finding(spec.id, "fail", 0.1, at_stake=100.0)])
    now = run("q2", [finding(spec.id, "fail", 0.1, at_stake=175.0, options=options)])
    c = change(compare.compare(then, now), spec.id)
    assert c.change == "not_comparable" and "recovered: 0.0171 → 0.03" in c.reason.render("en")


def test_a_changed_definition_makes_the_check_not_comparable_and_a_same_one_does_not():
    then = run("q1", [finding(CARTS, "pass", 0.6, definition="aaaaaaaaaaaa")])
    now = run("q2", [finding(CARTS, "fail", 0.9)])
    c = change(compare.compare(then, now), CARTS)
    assert c.change == "not_comparable" and "definition changed" in c.reason.render("en")
    changed_unit = run("q2", [finding(CARTS, "fail", 0.9, unit="count")])
    assert change(compare.compare(then, changed_unit), CARTS).change == "not_comparable"
    same = run("q1", [finding(CARTS, "pass", 0.6)])
    assert change(compare.compare(same, now), CARTS).change == "regressed"


def test_settings_record_the_options_with_the_clients_overrides_and_a_stable_definition():
    spec = checks.get(CARTS)
    recorded = compare.settings(CARTS, {"good": 0.55, "poor": 0.75})
    assert recorded["options"] == {**spec.defaults(), "good": 0.55, "poor": 0.75}
    assert recorded["definition"] == compare.definition(spec) == compare.settings(CARTS)["definition"]
    assert compare.definition(spec) != compare.definition(checks.get(RELEVANCE))
    assert compare.settings("conversion.no_such_check") == {}
    json.dumps(recorded)  # goes into findings.json as it is


# ---------------------------------------------------------------- runs of an older version


def _older(f: dict) -> dict:
    """A finding as a version before the comparison wrote it: no options, no definition."""
    return {k: v for k, v in f.items() if k not in ("options", "definition")}


def test_an_older_run_without_manifest_options_or_definitions_still_compares_with_notes(tmp_path):
    old = tmp_path / "20260101-090000"
    old.mkdir()
    rows = [_older(finding(RELEVANCE, "fail", 0.2, at_stake=50.0)), _older(finding(CARTS, "fail", 0.8))]
    (old / "findings.json").write_text(json.dumps(rows), encoding="utf-8")
    then = compare.load_run(old)
    assert then.run_id == "20260101-090000" and then.period is None
    assert then.stage_scores == {"conversion": 20}  # computed from its findings as the runner does
    now = run("q2", [finding(RELEVANCE, "pass", 0.8), finding(CARTS, "fail", 0.8)])
    cmp = compare.compare(then, now)
    assert change(cmp, RELEVANCE).change == "fixed" and change(cmp, CARTS).change == "unchanged"
    notes = " ".join(n.render("en") for n in cmp.notes)
    assert "has no manifest.json" in notes
    assert "did not record each check's options and definition" in notes
    assert cmp.overlap.kind == "unknown"


def test_an_older_run_is_compared_on_its_control_points():
    then = run("q1", [_older(finding(CARTS, "pass", 0.62, good=0.7))])
    now = run("q2", [finding(CARTS, "warn", 0.62)])
    c = change(compare.compare(then, now), CARTS)
    assert c.change == "not_comparable" and "good: 0.7 → 0.65" in c.reason.render("en")
    same = run("q1", [_older(finding(CARTS, "pass", 0.62))])
    assert change(compare.compare(same, now), CARTS).change == "regressed"


def test_a_manifest_without_period_or_stage_scores_and_a_finding_without_a_value_are_noted():
    then = compare.record([finding(RELEVANCE, "fail", None)], {"run_id": "q1", "stages": [{"stage": "conversion"}]})
    now = run("q2", [finding(RELEVANCE, "pass", 0.8)])
    cmp = compare.compare(then, now)
    notes = " ".join(n.render("en") for n in cmp.notes)
    assert "recorded no analysis period" in notes and "recorded no stage scores" in notes
    c = change(cmp, RELEVANCE)
    assert c.change == "fixed" and c.value_delta is None
    assert [n.render("en") for n in c.notes] == ["the earlier run recorded no value"]


def test_the_period_of_an_older_manifest_comes_from_its_params_or_its_inputs():
    inputs = {"tables": {"orders": {"date_min": "2025-01-02T08:00:00", "date_max": "2025-12-30T20:00:00"}}}
    m = {"run_id": "old", "inputs": inputs, "params": {"period": {"start": None, "end": None}}}
    assert compare.record([], m).period == (compare.day("2025-01-02"), compare.day("2025-12-30"))
    m["params"]["period"] = {"start": "2025-03-01", "end": "2025-09-30"}
    assert compare.record([], m).period == (compare.day("2025-03-01"), compare.day("2025-09-30"))


# ---------------------------------------------------------------- periods and scores


@pytest.mark.parametrize(
    ("then", "now", "kind", "days"),
    [
        (("2025-01-01", "2025-12-31"), ("2025-01-01", "2025-12-31"), "same", 365),
        (("2025-01-01", "2025-12-31"), ("2025-10-01", "2026-09-30"), "overlap", 92),
        (("2025-01-01", "2025-06-30"), ("2025-07-01", "2025-12-31"), "apart", 0),
    ],
)
def test_overlapping_periods(then, now, kind, days):
    a = run("q1", [], start=then[0], end=then[1])
    b = run("q2", [], start=now[0], end=now[1])
    o = compare.compare(a, b).overlap
    assert (o.kind, o.days) == (kind, days)
    if kind == "overlap":
        assert o.share == pytest.approx(92 / 365)
        assert "overlap by 92 days (25% of the later period)" in o.text.render("en")


def test_stage_scores_come_from_the_manifest_and_the_overall_score_from_them():
    stages = [{"stage": "conversion", "score": 40}, {"stage": "retention", "score": 60}, {"stage": "data_health"}]
    then = run("q1", [finding(RELEVANCE, "fail", 0.2)], stages=stages)
    now = run("q2", [finding(RELEVANCE, "pass", 0.8)], stages=[{"stage": "conversion", "score": 70}])
    cmp = compare.compare(then, now)
    by_stage = {s.stage: (s.score_then, s.score_now, s.delta) for s in cmp.stages}
    assert by_stage == {"conversion": (40, 70, 30), "retention": (60, None, None)}
    assert (then.overall, now.overall) == (50, 70)


def test_runs_compared_backwards_or_across_clients_or_versions_say_so():
    then = run("q2", [], started="2026-10-01T09:00:00+00:00")
    now = run("q1", [], started="2026-07-01T09:00:00+00:00", client="other", versions={"lifecycle-audit": "0.2.0"})
    notes = " ".join(n.render("en") for n in compare.compare(then, now).notes)
    assert "runs backwards in time" in notes and "different clients" in notes and "different versions" in notes


# ---------------------------------------------------------------- run folders


def _write_run(folder: Path, rows: list[dict], m: dict | None) -> Path:
    folder.mkdir(parents=True)
    (folder / "findings.json").write_text(json.dumps(rows), encoding="utf-8")
    if m is not None:
        (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    return folder


def test_runs_are_found_by_id_or_folder_and_the_previous_run_is_the_latest_earlier_one(tmp_path):
    client = tmp_path / "reports" / "acme"
    a = _write_run(client / "20260101-090000", [], manifest("20260101-090000", started="2026-01-01T09:00:00+00:00"))
    b = _write_run(client / "20260401-090000", [], manifest("20260401-090000", started="2026-04-01T09:00:00+00:00"))
    (client / "20260501-090000").mkdir()  # a run that never got its findings
    # a run still being written (or killed) has findings.json in its hidden partial folder: no run to compare with
    _write_run(
        client / ".20260601-090000.partial", [], manifest("20260601-090000", started="2026-06-01T09:00:00+00:00")
    )
    assert compare.history(client) == [a, b]
    assert compare.previous_run(client, "20260701-090000") == b
    assert compare.previous_run(client, "20260401-090000") == a
    assert compare.previous_run(client, "20260101-090000") is None
    assert compare.previous_run(client, "x", started=dt.datetime(2026, 2, 1, tzinfo=dt.UTC)) == a
    assert compare.find_run("20260101-090000", tmp_path / "reports") == a
    assert compare.find_run("acme/20260401-090000", tmp_path / "reports") == b
    assert compare.find_run(str(a), tmp_path / "elsewhere") == a
    with pytest.raises(RunError, match="no run 'nope'"):
        compare.find_run("nope", tmp_path / "reports")
    with pytest.raises(RunError, match=r"no findings\.json"):
        compare.load_run(client / "20260501-090000")


def test_an_unreadable_findings_file_is_named(tmp_path):
    bad = _write_run(tmp_path / "r1", [], None)
    (bad / "findings.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(RunError, match="not valid JSON"):
        compare.load_run(bad)


def test_total_money_at_stake_is_counted_as_the_index_counts_it():
    rows = [finding(RELEVANCE, "fail", 0.2, at_stake=100.0), finding(CARTS, "warn", 0.7, at_stake=50.0)]
    assert run("q1", rows).at_stake == findings.total_at_stake(rows).total == 150.0


# ---------------------------------------------------------------- as the report words it


def test_the_section_words_every_change_in_each_language():
    then = run("q1", [finding(RELEVANCE, "fail", 0.21, at_stake=180.0), finding(SUPPORT, "pass", 2.0)])
    now = run("q2", [finding(RELEVANCE, "pass", 0.75), finding(SUPPORT, "fail", 30.0)])
    cmp = compare.compare(then, now)
    expected = {
        "en": ("fixed", "regressed", "+54.0 pts", "Score per stage"),
        "de": ("behoben", "verschlechtert", "+54,0 Pp.", "Punktzahl je Phase"),
        "id": ("diperbaiki", "memburuk", "+54,0 poin", "Skor per tahap"),
    }
    for locale, words in expected.items():
        with lang.use(locale, "EUR"):
            html = str(comparison.section_html(cmp, trend="trend.html"))
            assert 'data-change="fixed"' in html and 'data-change="regressed"' in html
            for word in words[:3]:
                assert word in html, (locale, word)
            v = comparison.view(cmp)
            assert [r.check_id for r in v.changed] == [SUPPORT, RELEVANCE]  # regressions first
            assert v.regressed == 1


@pytest.mark.parametrize(
    ("d", "unit", "text"),
    [
        (0.054, "share", "+5.4 pts"),
        (-1200.0, "money", "−€1,200"),
        (-22.5, "hours", "−22.5 hours"),
        (0, "ratio", "±0.00"),
    ],
)
def test_changes_are_signed_in_their_unit(d, unit, text):
    with lang.use("en", "EUR"):
        assert comparison.delta(d, unit) == text


def test_the_index_shows_the_comparison_before_the_top_findings_and_links_the_trend():
    rows = [finding(RELEVANCE, "pass", 0.75), finding(CARTS, "fail", 0.82, at_stake=900.0)]
    cmp = compare.compare(run("q1", [finding(RELEVANCE, "fail", 0.2), rows[1]]), run("q2", rows))
    stages = [{"stage": "conversion", "score": 58}]
    with lang.use("en", "EUR"):
        html = render.index_html(rows, stages, {"client": "Acme", "run_id": "q2"}, comparison=cmp, trend="trend.html")
        plain = render.index_html(rows, stages, {"client": "Acme", "run_id": "q2"})
    assert html.index('id="la-compare"') < html.index('id="la-top"')
    assert "What changed since run q1" in html and 'href="trend.html"' in html
    assert 'id="la-compare"' not in plain


def test_the_trend_page_draws_the_scores_and_the_top_findings_over_runs_of_any_version(tmp_path):
    old = tmp_path / "q1"
    old.mkdir()
    (old / "findings.json").write_text(
        json.dumps([_older(finding(RELEVANCE, "fail", 0.2, at_stake=180.0)), _older(finding(CARTS, "fail", 0.8))]),
        encoding="utf-8",
    )
    now = run("q2", [finding(RELEVANCE, "pass", 0.75), finding(CARTS, "fail", 0.82, at_stake=900.0)])
    assert comparison.top_checks(now) == [CARTS]
    with lang.use("de", "EUR"):
        html = comparison.trend_html([compare.load_run(old), now], {"client": "Acme", "stages": ["conversion"]})
    assert html.count('class="la-chart-svg"') == 2  # the score per stage, and the one failing check's value
    assert "Punktzahl je Phase" in html and "Verlauf über alle Läufe" in html and "q1" in html and "q2" in html


def test_the_single_file_report_holds_the_trend_page_and_links_it_in_page(tmp_path):
    page = '<html><head></head><body><header class="la-header"><h1>{t}</h1><nav class="la-nav" aria-label="Pages"></nav></header><main id="la-main">{m}</main></body></html>'
    (tmp_path / "index.html").write_text(page.format(t="Index", m='<a href="trend.html">trend</a>'), encoding="utf-8")
    (tmp_path / "trend.html").write_text(page.format(t="Trend", m="<p>charts</p>"), encoding="utf-8")
    html = export.single_file_html(tmp_path)
    assert 'id="page-trend"' in html and 'href="#page-trend"' in html and 'href="trend.html"' not in html
