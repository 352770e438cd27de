"""Audit over time, end to end: the German demo audit of the test kit (1,000 customers, every mistake planted)
is run again on the same shop with two mistakes fixed. The second run's index compares itself with the first:
exactly those two checks are fixed, nothing else changed status; `lifecycle-audit compare` exits 0 on the way
forward and 1 on the way back (the two checks regress). Then the comparison page, rendered from the same two
runs in English, German and Indonesian, is opened in Chromium at a phone's and a desktop's width.

The first run is tests/kit/locale_runs.py's German run, shared with tests/test_locale_e2e.py and
tests/test_report_fit.py (tests/conftest.py keeps these files in one test process): one extra run here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lifecycle_audit import compare
from lifecycle_audit.cli import app
from tests.kit.locale_runs import locale_dir, locale_run
from tests.test_browser import DESKTOP, PHONE, _page
from tests.test_report_fit import cut_text

cli = CliRunner()
FIXED = {"irrelevant_offers": "conversion.relevance", "no_thank_you": "conversion.thank_you"}
HEADINGS = {
    "en": "What changed since run {run}",
    "de": "Was sich seit Lauf {run} geändert hat",
    "id": "Apa yang berubah sejak proses {run}",
}
FIXED_WORD = {"en": "fixed", "de": "behoben", "id": "diperbaiki"}


def _last_line(text: str) -> str:
    return [line for line in text.splitlines() if line.strip()][-1].strip()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    """(the first run, the second run with two mistakes fixed) of the same client."""
    then = locale_run(locale_dir(tmp_path_factory), "de", "EUR")
    folder = then.parents[2]  # <base>/shop-de, holding the params, the data and the reports
    params = yaml.safe_load((folder / "shop-de.yaml").read_text(encoding="utf-8"))
    params["data_dir"] = str(folder / "data-fixed")
    params["demo"]["fix"] = sorted(FIXED)
    fixed = folder / "shop-de-fixed.yaml"
    fixed.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    result = cli.invoke(app, ["run", str(fixed), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    now = Path(_last_line(result.stdout)).parent
    assert now.parent == then.parent and now != then
    return then, now


@pytest.mark.e2e
def test_the_second_run_shows_exactly_the_two_fixed_checks_as_fixed(runs):
    then, now = runs
    cmp = compare.compare(compare.load_run(then), compare.load_run(now))
    changed = {c.check_id: c for c in cmp.checks if c.change not in ("unchanged", "not_judged")}
    assert set(changed) == set(FIXED.values()), {k: c.change for k, c in changed.items()}
    for c in changed.values():
        assert (c.change, c.status_then, c.status_now) == ("fixed", "fail", "pass")
    assert cmp.overlap.kind == "same"
    assert not cmp.notes  # both runs recorded everything a comparison reads
    assert cmp.exit_code("regressed") == 0

    manifest = json.loads((now / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["compared_with"] == then.name and manifest["period"]["start"]
    recorded = json.loads((now / "findings.json").read_text(encoding="utf-8"))
    assert all("options" in f and "definition" in f for f in recorded)

    index = (now / "index.html").read_text(encoding="utf-8")
    assert HEADINGS["de"].format(run=then.name) in index
    assert sorted(re.findall(r'data-check="([^"]+)" data-change="fixed"', index)) == sorted(FIXED.values())
    assert 'data-change="regressed"' not in index and 'href="trend.html"' in index
    trend = (now / "trend.html").read_text(encoding="utf-8")
    assert trend.count("<svg") >= 3 and then.name in trend and now.name in trend  # scores and the top findings


@pytest.mark.e2e
def test_compare_exits_zero_forward_and_one_backward(runs):
    then, now = runs
    forward = cli.invoke(app, ["compare", str(then), str(now), "--locale", "en"])
    assert forward.exit_code == 0, forward.output
    assert "2 fixed" in forward.output
    backward = cli.invoke(app, ["compare", str(now), str(then), "--locale", "en"])
    assert backward.exit_code == 1, backward.output
    assert "2 regressed" in backward.output
    for check_id in FIXED.values():
        assert re.search(rf"regressed.*{re.escape(check_id)}", backward.output), check_id


@pytest.mark.e2e
def test_the_comparison_page_in_every_language_in_a_browser(runs, browser, tmp_path):
    then, now = runs
    problems = []
    for locale in ("en", "de", "id"):
        target = tmp_path / f"compare-{locale}.html"
        result = cli.invoke(app, ["compare", str(then), str(now), "--locale", locale, "--html", str(target)])
        assert result.exit_code == 0, result.output
        for width in (DESKTOP, PHONE):
            page, watch = _page(browser, width)
            page.goto(target.as_uri(), wait_until="load")
            assert page.locator("html").get_attribute("lang") == locale
            heading = page.locator("#la-compare-h")
            assert heading.inner_text().strip() == HEADINGS[locale].format(run=then.name)
            fixed = page.locator('table.la-compare-changed tr[data-change="fixed"]')
            assert fixed.count() == 2 and fixed.first.is_visible()
            assert FIXED_WORD[locale] in fixed.first.inner_text()
            problems += [f"{locale} {width}px: {p['kind']} {p['where']}: {p['text']!r}" for p in cut_text(page)]
            watch.check()
            page.context.close()
    page, watch = _page(browser, PHONE)
    for name in ("index.html", "trend.html"):  # the run's own pages, in the client's language (German)
        page.goto((now / name).as_uri(), wait_until="load")
        problems += [f"de {PHONE}px {name}: {p['kind']} {p['where']}: {p['text']!r}" for p in cut_text(page)]
    assert page.locator("svg.la-chart-svg").count() >= 3
    watch.check()
    page.context.close()
    assert not problems, "\n".join(problems[:30])
