"""The report in a real browser (Debian's Chromium driven by Playwright, no browser download): it opens offline,
requests nothing from outside, runs nothing it should not, its links lead to the evidence, it fits a phone,
and it travels as one HTML file and as a PDF.

Without Chromium these tests skip, except in CI (CI set), where they fail. The browser is started once per
test process (tests/conftest.py).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from lifecycle_audit.report import export
from tests.kit.browser import need_browser
from tests.kit.salted_run import fresh_dir, salted_run

DESKTOP, PHONE = 1280, 390


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return salted_run(fresh_dir(tmp_path_factory))


class Watch:
    """Everything a page did: requests, console errors, uncaught errors, dialogs (an alert is a script that ran)."""

    def __init__(self, page):
        self.requests, self.errors, self.dialogs = [], [], []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def check(self):
        outside = [u for u in self.requests if not u.startswith(("file://", "data:"))]
        assert not outside, f"requests leaving the machine: {outside}"
        assert not self.errors, self.errors
        assert not self.dialogs, f"a script from the data ran: {self.dialogs}"


def _page(browser, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 600 else 844})
    # Anything that is not a local file is recorded by Watch, and never leaves: aborted here.
    context.route(re.compile(r"^(?!file:|data:).*"), lambda route: route.abort())
    page = context.new_page()
    return page, Watch(page)


def _no_horizontal_overflow(page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]")
    assert max(widths[:2]) <= widths[2] + 1, f"the page is wider than the phone: {widths}"


@pytest.mark.e2e
def test_index_and_stage_pages_open_offline_without_errors(run, browser, tmp_path):
    pages = ["index.html", *sorted(p.name for p in run.run_dir.glob("[0-9][0-9]_*.html"))]
    assert len(pages) == 8
    for width in (DESKTOP, PHONE):
        page, watch = _page(browser, width)
        for name in pages:
            page.goto((run.run_dir / name).as_uri(), wait_until="load")
            assert page.locator("main#la-main").is_visible(), name
            watch.check()
            if width == PHONE:
                _no_horizontal_overflow(page)
        page.context.close()


@pytest.mark.e2e
def test_top_findings_lead_to_their_evidence(run, browser):
    page, watch = _page(browser, DESKTOP)
    index = run.run_dir / "index.html"
    page.goto(index.as_uri(), wait_until="load")
    links = page.locator("table.la-top a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs, "the planted shop has failed or warned findings"
    for href in hrefs[:5]:
        page.goto(index.as_uri(), wait_until="load")
        page.locator(f'table.la-top a[href="{href}"]').first.click()
        page.wait_for_load_state("load")
        file, anchor = href.split("#", 1)
        assert page.url.endswith(f"{file}#{anchor}"), page.url
        card = page.locator(f"#{anchor}")
        assert card.count() == 1, f"{href}: the target anchor is missing"
        assert card.is_visible()
        top = page.evaluate(f"document.getElementById({anchor!r}).getBoundingClientRect().top")
        assert -2 <= top < 900 / 2, f"{href}: the card is not scrolled to (top at {top}px)"
        # the full evidence as CSV, by a relative link to a file that is there
        csv = card.locator("a[href$='.csv']")
        if csv.count():
            target = run.run_dir / csv.first.get_attribute("href")
            assert target.is_file() and target.read_text(encoding="utf-8").count("\n") >= 2
    watch.check()


@pytest.mark.e2e
def test_screenshots_at_desktop_and_phone_width(run, browser, tmp_path_factory):
    shots = tmp_path_factory.mktemp("screenshots")
    stage = sorted(run.run_dir.glob("03_*.html"))[0]
    for width in (DESKTOP, PHONE):
        page, watch = _page(browser, width)
        for f in (run.run_dir / "index.html", stage):
            page.goto(f.as_uri(), wait_until="load")
            out = shots / f"{f.stem}-{width}.png"
            page.screenshot(path=str(out), full_page=True)
            assert out.stat().st_size > 10_000
            if width == PHONE:
                _no_horizontal_overflow(page)
        watch.check()
        page.context.close()


@pytest.mark.e2e
def test_status_is_never_colour_alone(run, browser):
    page, watch = _page(browser, DESKTOP)
    page.goto((run.run_dir / "index.html").as_uri(), wait_until="load")
    badges = page.locator(".la-badge")
    assert badges.count() > 0
    for i in range(badges.count()):
        text = (badges.nth(i).text_content() or "").strip()  # also the badges inside folded groups
        assert re.search(r"[A-Za-zÀ-ÿ]{3,}", text), f"a status badge without a word: {text!r}"
    watch.check()


@pytest.mark.e2e
def test_single_file_holds_every_stage_and_links_in_page(run, browser):
    single = run.single_file
    assert single is not None and single.is_file()
    text = single.read_text(encoding="utf-8")
    assert not re.search(r'href="[^"#]*\.html', text), "the single file links to other .html files"
    assert not re.search(r'href="evidence/', text), "the CSVs are embedded into the single file"
    for stage_page in run.run_dir.glob("[0-9][0-9]_*.html"):
        assert f'id="page-{stage_page.stem}"' in text, stage_page.name
    page, watch = _page(browser, PHONE)
    page.goto(single.as_uri(), wait_until="load")
    ids = page.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
    assert len(ids) == len(set(ids)), "ids are unique in the single file"
    targets = page.evaluate("Array.from(document.querySelectorAll('a[href^=\"#\"]')).map(a => a.getAttribute('href'))")
    # A fragment names its target as the id percent-encoded (a heading may hold an apostrophe or an umlaut).
    missing = sorted({t for t in targets if t != "#" and unquote(t[1:]) not in set(ids)})
    assert not missing, f"in-page links without a target: {missing[:10]}"
    first_top = page.locator("table.la-top a").first
    if first_top.count():
        first_top.click()
        anchor = first_top.get_attribute("href")[1:]
        top = page.evaluate(f"document.getElementById({anchor!r}).getBoundingClientRect().top")
        assert -2 <= top < 844 / 2
    _no_horizontal_overflow(page)
    watch.check()


@pytest.mark.e2e
def test_the_pdf_holds_the_whole_report(run):
    need_browser()
    assert run.pdf is not None and run.pdf.name == "report.pdf"
    data = run.pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert pages > 8, f"{pages} pages for an index and seven stages"
    assert len(data) > 50_000


def test_a_missing_browser_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(export.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    (tmp_path / "index.html").write_text('<html><body><main id="la-main"></main></body></html>', encoding="utf-8")
    with pytest.raises(export.BrowserMissing, match=r"Chromium.*apt-get install chromium"):
        export.write_pdf(tmp_path)
