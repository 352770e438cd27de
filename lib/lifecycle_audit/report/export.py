"""The report in the forms it travels in: evidence tables as CSV, the whole report as one HTML file, and as a PDF.

- evidence CSVs: report/evidence.py, written by the kernel with each stage's findings.
- single_file_html: index and every stage page in one file, links between pages rewritten to in-page
  anchors, the CSVs embedded as data: links. Nothing is loaded from anywhere.
- write_pdf: that single file printed by headless Chromium (Debian's /usr/bin/chromium); BrowserMissing
  names what was looked for when there is none.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bs4 import BeautifulSoup, Tag

from ..errors import AuditError
from .evidence import EVIDENCE_DIR

SINGLE_FILE = "report.html"
PDF_FILE = "report.pdf"
# CSVs larger than this stay beside the single file instead of being embedded into it.
EMBED_CSV_LIMIT = 2_000_000
CHROMIUM_ENV = "LIFECYCLE_AUDIT_CHROMIUM"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Flags that let Chromium run headless as root on a machine with no network (docs/stack.md).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-extensions",
    "--mute-audio",
)


class BrowserMissing(AuditError):
    """Making a PDF needs Chromium, and none was found."""


# ---------------------------------------------------------------- one file

_PAGE_LINK = re.compile(r"^(?:\./)?([^#/:]+\.html)(?:#(.*))?$")
_CSV_LINK = re.compile(r"^" + EVIDENCE_DIR + r"/.+\.csv$")
_ID_REFS = ("for", "aria-labelledby", "aria-describedby", "aria-controls", "aria-owns")
_URL_REF = re.compile(r"url\(#([^)]+)\)")
_SINGLE_CSS = (
    ".la-page-part + .la-page-part { border-top: 2px solid #ccc; margin-top: 48px; }"
    "@media print { .la-page-part + .la-page-part { break-before: page; border-top: 0; margin-top: 0; } }"
)


def _read(file: Path) -> BeautifulSoup:
    return BeautifulSoup(file.read_text(encoding="utf-8"), "html.parser")


def _default_pages(run_dir: Path) -> list[str]:
    """index.html, then the stage pages 00_…html to 06_…html present, then the client's trend (trend.html) if any."""
    trend = ["trend.html"] if (run_dir / "trend.html").is_file() else []
    return ["index.html", *sorted(p.name for p in run_dir.glob("[0-9][0-9]_*.html")), *trend]


def _parts(soup: BeautifulSoup) -> list[Tag]:
    """The elements of a page that go into the single file: its header and its main element."""
    return [t for t in (soup.find("header", class_="la-header"), soup.find("main", id="la-main")) if t]


def _unique_ids(soups: dict[str, BeautifulSoup], taken: set[str]) -> dict[str, dict[str, str]]:
    """Per page, the ids that must change to be unique across the document ({old: new}); the first keeps its own."""
    id_maps: dict[str, dict[str, str]] = {}
    for name, soup in soups.items():
        mapping: dict[str, str] = {}
        for part in _parts(soup):
            for tag in part.find_all(id=True):
                old = tag["id"]
                if old in mapping:
                    continue
                new = old if old not in taken else f"{Path(name).stem}--{old}"
                taken.add(new)
                if new != old:
                    mapping[old] = new
        id_maps[name] = mapping
    return id_maps


class _Rewriter:
    """Rewrites one page's elements for the single file: ids, links between pages, CSV links, open details."""

    def __init__(
        self,
        run_dir: Path,
        section_of: dict[str, str],
        id_maps: dict[str, dict[str, str]],
        open_details: bool,
        embed_csv: bool,
    ):
        self.run_dir, self.section_of, self.id_maps = run_dir, section_of, id_maps
        self.open_details, self.embed_csv = open_details, embed_csv

    def page(self, name: str, part: Tag) -> None:
        mapping = self.id_maps[name]
        for tag in [part, *part.find_all(True)]:
            if tag.get("id") in mapping:
                tag["id"] = mapping[tag["id"]]
            for attr in _ID_REFS:
                if isinstance(tag.get(attr), str):
                    tag[attr] = " ".join(mapping.get(i, i) for i in tag[attr].split())
            for attr, value in list(tag.attrs.items()):
                if isinstance(value, str) and "url(#" in value:
                    tag[attr] = _URL_REF.sub(lambda m: f"url(#{mapping.get(m.group(1), m.group(1))})", value)
            for attr in ("href", "xlink:href"):
                if isinstance(tag.get(attr), str):
                    self.link(tag, attr, mapping)
            if self.open_details and tag.name == "details":
                tag["open"] = ""

    def link(self, tag: Tag, attr: str, mapping: dict[str, str]) -> None:
        """An in-page anchor to its new id, a page to its section, a page's anchor to its new id, a CSV inline."""
        href = tag[attr]
        if href.startswith("#"):
            tag[attr] = "#" + mapping.get(href[1:], href[1:])
            return
        page = _PAGE_LINK.match(href)
        if page and page.group(1) in self.section_of:
            target, frag = page.group(1), page.group(2)
            tag[attr] = f"#{self.id_maps[target].get(frag, frag)}" if frag else f"#{self.section_of[target]}"
            return
        if self.embed_csv and attr == "href" and _CSV_LINK.match(href):
            file = self.run_dir / href
            if file.is_file() and file.stat().st_size <= EMBED_CSV_LIMIT:
                data = base64.b64encode(file.read_bytes()).decode("ascii")
                tag["href"] = f"data:text/csv;charset=utf-8;base64,{data}"
                tag["download"] = file.name


def _section(doc: BeautifulSoup, soup: BeautifulSoup, section_id: str) -> Tag:
    """A page as a section of the single file: its header without navigation, then its main's content."""
    section = doc.new_tag("section", attrs={"class": "la-page-part", "id": section_id})
    header, main = soup.find("header", class_="la-header"), soup.find("main", id="la-main")
    if header is not None:
        for nav in header.find_all("nav", class_="la-nav"):
            nav.decompose()
        section.append(header)
    for child in list(main.contents if main is not None else soup.body.contents if soup.body else []):
        section.append(child.extract())
    return section


def _title(soup: BeautifulSoup, name: str) -> str:
    h1 = soup.find("header", class_="la-header")
    h1 = h1.find("h1") if h1 is not None else None
    return h1.get_text().strip() if h1 is not None and h1.get_text().strip() else Path(name).stem


def _contents_nav(doc: BeautifulSoup, nav: Tag, titles: list[tuple[str, str]]) -> Tag:
    """The index's navigation (its label in the report's language), listing the sections of the single file."""
    nav = nav.extract()
    nav.clear()
    ol = doc.new_tag("ol")
    for section_id, title in titles:
        li, a = doc.new_tag("li"), doc.new_tag("a", href=f"#{section_id}")
        a.string = title
        li.append(a)
        ol.append(li)
    nav.append(ol)
    return nav


def single_file_html(
    run_dir: str | os.PathLike, pages: list[str] | None = None, *, open_details: bool = False, embed_csv: bool = True
) -> str:
    """Index and stage pages of a run folder as one self-contained HTML document.

    pages: the page files in order (default: index.html, the stage pages 00_…html to 06_…html and trend.html present).
    open_details: every <details> open (for printing, where nobody can click).
    The pages are parsed; ids are made unique across the document, links between pages become links to
    their sections and anchors, and the evidence CSVs are embedded as data: links (embed_csv).
    """
    run_dir = Path(run_dir)
    files = {name: run_dir / name for name in (pages or _default_pages(run_dir)) if (run_dir / name).is_file()}
    if "index.html" not in files:
        raise AuditError(f"{run_dir} has no index.html: is it a run folder?")
    soups = {name: _read(file) for name, file in files.items()}
    section_of = {name: "page-" + Path(name).stem for name in soups}
    rewriter = _Rewriter(run_dir, section_of, _unique_ids(soups, set(section_of.values())), open_details, embed_csv)
    titles = [(section_of[name], _title(soup, name)) for name, soup in soups.items()]

    doc = _read(files["index.html"])  # the shell: head, skip link, footer and script of the index page
    style = doc.new_tag("style")
    style.string = _SINGLE_CSS
    doc.head.append(style)
    doc.body["class"] = ["la-page", "la-single"]
    header, main = doc.find("header", class_="la-header"), doc.find("main", id="la-main")
    header.replace_with(_contents_nav(doc, header.find("nav", class_="la-nav"), titles))
    main.clear()
    for name, soup in soups.items():
        for part in _parts(soup):
            rewriter.page(name, part)
        main.append(_section(doc, soup, section_of[name]))
    return str(doc)


def write_single_file(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write the single-file report (default: report.html in the run folder)."""
    run_dir = Path(run_dir)
    path = Path(out) if out else run_dir / SINGLE_FILE
    path.write_text(single_file_html(run_dir), encoding="utf-8")
    return path


# ---------------------------------------------------------------- PDF


def find_chromium() -> str | None:
    """The Chromium to print with: $LIFECYCLE_AUDIT_CHROMIUM, else /usr/bin/chromium or one on the PATH."""
    env = os.environ.get(CHROMIUM_ENV)
    if env:
        return env if Path(env).is_file() and os.access(env, os.X_OK) else None
    for c in CHROMIUM_CANDIDATES:
        found = c if Path(c).is_absolute() and os.access(c, os.X_OK) else shutil.which(c)
        if found:
            return found
    return None


def _missing_message() -> str:
    env = os.environ.get(CHROMIUM_ENV)
    where = f"{CHROMIUM_ENV}={env} is not an executable file" if env else f"looked for {', '.join(CHROMIUM_CANDIDATES)}"
    return (
        f"making the PDF needs the Chromium browser, which was not found ({where}). Install it "
        f"(Debian/Ubuntu: apt-get install chromium) or set {CHROMIUM_ENV} to its path. "
        f"The HTML report was written; only the PDF is missing."
    )


def write_pdf(run_dir: str | os.PathLike, out: str | os.PathLike | None = None, *, timeout: float = 180) -> Path:
    """Print the whole report (index and every stage, all evidence open) to report.pdf with headless Chromium."""
    browser = find_chromium()
    if browser is None:
        raise BrowserMissing(_missing_message())
    run_dir = Path(run_dir).resolve()
    pdf = Path(out).resolve() if out else run_dir / PDF_FILE
    with tempfile.TemporaryDirectory(prefix="la-pdf-") as tmp:
        page = Path(tmp) / "print.html"
        page.write_text(single_file_html(run_dir, open_details=True, embed_csv=False), encoding="utf-8")
        cmd = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "HOME": tmp})
        except subprocess.TimeoutExpired:
            raise AuditError(f"Chromium ({browser}) did not finish the PDF within {timeout:.0f} s") from None
    if proc.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-5:])
        raise AuditError(f"Chromium ({browser}) could not print the PDF (exit {proc.returncode}): {tail}")
    return pdf
