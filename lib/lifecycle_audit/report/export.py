"""The report in the forms it travels in: evidence tables as CSV, the whole report as one HTML file, and as a PDF.

- evidence CSVs (report/evidence.py, written by the kernel with each stage's findings; the names
  evidence_file and write_evidence stay importable from here).
- single_file_html: index and every stage page in one file, links between pages rewritten to in-page
  anchors, the CSVs embedded as data: links. Nothing is loaded from anywhere.
- write_pdf: that single file printed by headless Chromium (Debian's /usr/bin/chromium); BrowserMissing
  names what was looked for when there is none.
"""

from __future__ import annotations

import base64
import html as _html
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from .. import i18n, privacy
from ..errors import AuditError
from .evidence import EVIDENCE_DIR, evidence_file, write_evidence  # noqa: F401 - public names of this module

SINGLE_FILE = "report.html"
PDF_FILE = "report.pdf"
# CSVs larger than this stay beside the single file instead of being embedded into it.
EMBED_CSV_LIMIT = 2_000_000
CHROMIUM_ENV = "LIFECYCLE_AUDIT_CHROMIUM"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Flags that let Chromium run headless as root on a machine with no network (docs/stack.md).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                  "--disable-extensions", "--mute-audio")


class BrowserMissing(AuditError):
    """Making a PDF needs Chromium, and none was found."""


# ---------------------------------------------------------------- one file

_MAIN = re.compile(r'<main id="la-main">(.*)</main>', re.S)
_HEADER = re.compile(r'<header class="la-header">(.*?)</header>', re.S)
_NAV = re.compile(r'<nav class="la-nav".*?</nav>', re.S)
_ID = re.compile(r'\bid="([^"]+)"')


def _page_parts(text: str) -> tuple[str, str, str]:
    """(head up to <body>, header without navigation, main's inner html) of a report page."""
    head = text[: text.index("<body")]
    header = _HEADER.search(text)
    main = _MAIN.search(text)
    return head, _NAV.sub("", header.group(1)) if header else "", main.group(1) if main else text


def single_file_html(run_dir: str | os.PathLike, pages: list[str] | None = None, *, open_details: bool = False,
                     embed_csv: bool = True) -> str:
    """Index and stage pages of a run folder as one self-contained HTML document.

    pages: the page files in order (default: index.html, then the stage pages 00_…html to 06_…html present).
    open_details: every <details> open (for printing, where nobody can click).
    """
    run_dir = Path(run_dir)
    if pages is None:
        stages = sorted(p.name for p in run_dir.glob("[0-9][0-9]_*.html"))
        pages = ["index.html", *stages]
    texts = {name: (run_dir / name).read_text(encoding="utf-8") for name in pages if (run_dir / name).is_file()}
    if "index.html" not in texts:
        raise AuditError(f"{run_dir} has no index.html: is it a run folder?")
    head, _, _ = _page_parts(texts["index.html"])
    section_of = {name: "page-" + Path(name).stem for name in texts}

    used: set[str] = set(section_of.values())
    sections: list[str] = []
    id_maps: dict[str, dict[str, str]] = {}
    parts: dict[str, tuple[str, str]] = {}
    for name, text in texts.items():      # first pass: make every id unique across the document
        _, header, main = _page_parts(text)
        body = header + "\n" + main
        ids = _ID.findall(body)
        mapping = {}
        for i in dict.fromkeys(ids):
            new = i if i not in used else f"{Path(name).stem}--{i}"
            used.add(new)
            if new != i:
                mapping[i] = new
        id_maps[name] = mapping
        parts[name] = (header, main)

    def rewrite(body: str, name: str) -> str:
        mapping = id_maps[name]
        if mapping:
            body = _ID.sub(lambda m: f'id="{mapping.get(m.group(1), m.group(1))}"', body)
            body = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{mapping.get(m.group(1), m.group(1))}"', body)
            body = re.sub(r'\b(aria-labelledby|aria-describedby|for)="([^"]+)"',
                          lambda m: f'{m.group(1)}="{mapping.get(m.group(2), m.group(2))}"', body)

        def page_link(m: re.Match) -> str:
            target, frag = m.group(2), m.group(3)
            if target not in section_of:
                return m.group(0)
            if frag:
                return f'{m.group(1)}="#{id_maps[target].get(frag, frag)}"'
            return f'{m.group(1)}="#{section_of[target]}"'

        body = re.sub(r'(href)="(?:\./)?([^"#/:]+\.html)(?:#([^"]*))?"', page_link, body)
        if embed_csv:
            def csv_link(m: re.Match) -> str:
                file = run_dir / _html.unescape(m.group(1))
                if not file.is_file() or file.stat().st_size > EMBED_CSV_LIMIT:
                    return m.group(0)
                data = base64.b64encode(file.read_bytes()).decode("ascii")
                return f'href="data:text/csv;charset=utf-8;base64,{data}" download="{file.name}"'
            body = re.sub(r'href="(' + EVIDENCE_DIR + r'/[^"]+\.csv)"(?: download)?', csv_link, body)
        if open_details:
            body = re.sub(r"<details\b(?![^>]*\bopen\b)", "<details open", body)
        return body

    for name in texts:
        header, main = parts[name]
        sections.append(f'<section class="la-page-part" id="{section_of[name]}">\n'
                        f'<header class="la-header">{rewrite(header, name)}</header>\n'
                        f'{rewrite(main, name)}\n</section>')

    titles = []
    for name in texts:
        m = re.search(r"<h1>(.*?)</h1>", parts[name][0], re.S)
        titles.append((section_of[name], re.sub(r"<[^>]+>", "", m.group(1)).strip() if m else Path(name).stem))
    nav = "".join(f'<li><a href="#{sid}">{_html.escape(_html.unescape(t))}</a></li>' for sid, t in titles)
    tail = texts["index.html"]
    footer = re.search(r'<footer class="la-footer">.*?</footer>', tail, re.S)
    script = re.search(r"<script>.*?</script>", tail, re.S)
    extra_css = ("<style>.la-page-part + .la-page-part { border-top: 2px solid #ccc; margin-top: 48px; }"
                 "@media print { .la-page-part + .la-page-part { break-before: page; border-top: 0; margin-top: 0; } }"
                 "</style>\n")
    lang = re.search(r'<html[^>]*\blang="([a-z]{2})', head)
    lang = lang.group(1) if lang and lang.group(1) in i18n.LOCALES else "en"  # the pages' own language
    skip, pages = (_html.escape(i18n.gettext(m, lang)) for m in ("Skip to the content", "Report pages"))
    return (head.replace("</head>", extra_css + "</head>") + '<body class="la-page la-single">\n'
            f'<a class="la-skip" href="#la-main">{skip}</a>\n<div class="la-container">\n'
            f'<nav class="la-nav" aria-label="{pages}"><ol>{nav}</ol></nav>\n'
            f'<main id="la-main">\n' + "\n".join(sections) + "\n</main>\n"
            + (footer.group(0) if footer else "") + "\n</div>\n" + (script.group(0) if script else "")
            + "\n</body>\n</html>\n")


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
    where = f"{CHROMIUM_ENV}={env} is not an executable file" if env else \
        f"looked for {', '.join(CHROMIUM_CANDIDATES)}"
    return (f"making the PDF needs the Chromium browser, which was not found ({where}). Install it "
            f"(Debian/Ubuntu: apt-get install chromium) or set {CHROMIUM_ENV} to its path. "
            f"The HTML report was written; only the PDF is missing.")


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
        cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}", "--no-pdf-header-footer",
               f"--print-to-pdf={pdf}", page.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "HOME": tmp})
        except subprocess.TimeoutExpired:
            raise AuditError(f"Chromium ({browser}) did not finish the PDF within {timeout:.0f} s") from None
    if proc.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-5:])
        raise AuditError(f"Chromium ({browser}) could not print the PDF (exit {proc.returncode}): {tail}")
    return pdf
