"""Every page of the report fits every language and every screen: opened in Chromium in English, German and
Indonesian at a phone's and a desktop's width, no text is cut and nothing leaves the page.

Text counts as cut when an element's content is wider than its box and the box hides the rest (overflow hidden
or clip, an ellipsis among them), or spills out of it outside any box that scrolls; when a box that scrolls
sideways shows no cue that it does (its shadow is a background image); when a chart's text leaves its chart
(an inline SVG hides what falls outside its viewBox); or when the page itself is wider than the window. Every
folded section is opened first: a client opens them too.

The reports are the test kit's runs: the salted shop (English, tests/kit/salted_run.py, shared with
tests/test_browser.py) and the demo shop in German and Indonesian (tests/kit/locale_runs.py, shared with
tests/test_locale_e2e.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kit.locale_runs import locale_dir, locale_run
from tests.kit.salted_run import fresh_dir, salted_run
from tests.test_browser import DESKTOP, PHONE, _page

# Returns a list of {kind, where, text, px} for what is cut on the page as it is shown.
FIND_CUT_TEXT = """
() => {
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const out = [];
  const label = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (typeof e.className === "string" && e.className.trim() ? "." + e.className.trim().split(/\\s+/).join(".") : "");
  const where = (e) => {
    const parts = [];
    for (let n = e; n && n !== document.documentElement && parts.length < 4; n = n.parentElement) parts.unshift(label(n));
    return parts.join(" > ");
  };
  const text = (e) => (e.textContent || "").replace(/\\s+/g, " ").trim().slice(0, 70);
  const scrolls = (e) => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
  const inScroller = (e) => {
    for (let n = e.parentElement; n && n !== document.body; n = n.parentElement) if (scrolls(n)) return true;
    return false;
  };
  for (const e of document.body.querySelectorAll("*")) {
    if (e.closest("svg") || ["SCRIPT", "STYLE", "TEMPLATE"].includes(e.tagName)) continue;
    const cs = getComputedStyle(e);
    if (cs.display === "none" || cs.visibility === "hidden" || e.clientWidth === 0) continue;
    const px = e.scrollWidth - e.clientWidth;
    if (px <= 1) continue;
    const o = cs.overflowX;
    if (o === "auto" || o === "scroll") {
      if (cs.backgroundImage === "none") out.push({kind: "scrolls without a cue", where: where(e), text: text(e), px});
    } else if (o === "hidden" || o === "clip") {
      const kind = cs.textOverflow === "ellipsis" ? "cut with an ellipsis" : "clipped";
      out.push({kind, where: where(e), text: text(e), px});
    } else if (!inScroller(e)) {
      out.push({kind: "spills out of its box", where: where(e), text: text(e), px});
    }
  }
  for (const svg of document.querySelectorAll("svg")) {
    const box = svg.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    for (const t of svg.querySelectorAll("text")) {
      const r = t.getBoundingClientRect();
      if (!r.width) continue;
      const px = Math.max(box.left - r.left, r.right - box.right, box.top - r.top, r.bottom - box.bottom);
      if (px > 1.5) out.push({kind: "chart text leaves its chart", where: where(svg), text: text(t), px: Math.round(px)});
    }
  }
  const page = document.scrollingElement.scrollWidth - window.innerWidth;
  if (page > 0) out.push({kind: "the page is wider than the window", where: "html", text: "", px: page});
  return out;
}
"""


def report_pages(run_dir: Path) -> list[Path]:
    """The index and every stage page of a run folder."""
    return [run_dir / "index.html", *sorted(run_dir.glob("[0-9][0-9]_*.html"))]


def cut_text(page) -> list[dict]:
    """What is cut on the page loaded in `page` (a Playwright page), as FIND_CUT_TEXT reports it."""
    return page.evaluate(FIND_CUT_TEXT)


def check_reports(browser, reports: dict[str, Path], widths=(PHONE, DESKTOP)) -> tuple[int, list[str]]:
    """Open every page of every report at every width: (pages checked, one line per problem)."""
    checked, problems = 0, []
    for language, run_dir in reports.items():
        pages = report_pages(run_dir)
        for width in widths:
            page, watch = _page(browser, width)
            for f in pages:
                page.goto(f.as_uri(), wait_until="load")
                checked += 1
                for p in cut_text(page):
                    problems.append(
                        f"{language} {width}px {f.name}: {p['kind']} ({p['px']}px) {p['where']}: {p['text']!r}"
                    )
            watch.check()
            page.context.close()
    return checked, problems


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    base = locale_dir(tmp_path_factory)
    return {
        "en": salted_run(fresh_dir(tmp_path_factory)).run_dir,
        "de": locale_run(base, "de", "EUR"),
        "id": locale_run(base, "id", "IDR"),
    }


@pytest.mark.e2e
def test_no_text_is_cut_in_any_language_at_any_width(reports, browser):
    pages = {lang: len(report_pages(d)) for lang, d in reports.items()}
    assert all(n == 8 for n in pages.values()), pages  # the index and seven stages in each language
    checked, problems = check_reports(browser, reports)
    n_pages = max(pages.values())
    print(f"\nchecked {n_pages} pages x 2 widths x {len(reports)} languages = {checked} page views")
    assert checked == n_pages * 2 * len(reports)
    assert not problems, f"{len(problems)} places where text is cut:\n" + "\n".join(problems[:60])
