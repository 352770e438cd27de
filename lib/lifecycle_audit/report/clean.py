"""Notebook outputs made fit for a page, before the page is rendered: offline, inert, without e-mail addresses.

Every text/html output (and every markdown cell or output, once it is HTML) is parsed (BeautifulSoup)
and cleaned element by element:

- offline: no outside address in src/href/srcset/... or in CSS url()/@import: links become their text with
  the address shown after it, images and scripts lose the address. The page then loads nothing.
- inert: no <script> element, no on*= event handler, no javascript: URL (a safety net under escaping; the
  page's own script is added by its template).
- e-mail addresses in text and attribute values masked ("j***@example.com"), also in printed text.
- the cards' own <style data-la-card-style> blocks dropped: a page carries the whole stylesheet once.
- long values in table cells (a client's file path, a message quoting their data) cut to a readable length, the
  whole value kept as the cell's tooltip (a title attribute); a finding's full evidence is in its CSV as well.

Pages built around the cleaned outputs are never edited afterwards.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from bs4 import BeautifulSoup, Tag

from .. import privacy

# Attributes that make a browser fetch (or go to) an address.
URL_ATTRS = frozenset({"src", "href", "srcset", "poster", "action", "formaction", "background", "data", "xlink:href"})
_EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)
_WEB_LINK = re.compile(r"^\s*(?:https?:)?//", re.I)
_JS_URL = re.compile(r"^\s*javascript:", re.I)
_CSS_URL = re.compile(r"url\(\s*([\"']?)\s*(?:[a-z][a-z0-9+.-]*:)?//[^)]*\)", re.I)
_CSS_IMPORT = re.compile(r"@import\s+[^;]*(?:[a-z][a-z0-9+.-]*:)?//[^;]*;", re.I)
_JS_ATTRS = frozenset({"href", "src", "action", "formaction", "xlink:href"})
CELL_CHARS = 120  # a table cell's text longer than this is cut at a word
TOKEN_CHARS = 32  # a word longer than this (a path, an identifier) keeps its start and its end
# Output data that is text a reader sees (images are left alone: base64, or an SVG document).
_TEXT_TYPES = ("text/plain", "text/markdown", "text/latex")


def _parse(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _offline_css(css: str) -> str:
    return _CSS_URL.sub("none", _CSS_IMPORT.sub("", css))


def _unlink(soup: BeautifulSoup, a: Tag) -> None:
    """A link to the web becomes its text, with the address after it in a span (or the span alone)."""
    url = a["href"].strip()
    text = a.get_text().strip()
    span = soup.new_tag("span", attrs={"class": "la-removed-url"})
    if text == url or not text:
        span.extend(list(a.contents) or [url])
        a.replace_with(span)
        return
    span.string = f"({url})"
    a.insert_after(span)
    a.insert_after(" ")
    a.unwrap()


def _make_offline(soup: BeautifulSoup) -> None:
    for a in soup.find_all("a", href=_WEB_LINK):
        _unlink(soup, a)
    for tag in soup.find_all(True):
        for name in [n for n in tag.attrs if n.lower() in URL_ATTRS]:
            if isinstance(tag[name], str) and _EXTERNAL.match(tag[name]):
                del tag[name]
        if isinstance(tag.get("style"), str):
            tag["style"] = _offline_css(tag["style"])
    for style in soup.find_all("style"):
        if style.string:
            style.string = _offline_css(style.string)


def _make_inert(soup: BeautifulSoup) -> None:
    for script in soup.find_all("script"):
        script.decompose()
    for tag in soup.find_all(True):
        for name in [n for n in tag.attrs if n.lower().startswith("on")]:
            del tag[name]
        for name in [n for n in tag.attrs if n.lower() in _JS_ATTRS]:
            if isinstance(tag[name], str) and _JS_URL.match(tag[name]):
                tag[name] = "#"


def _mask(soup: BeautifulSoup) -> None:
    for text in soup.find_all(string=True):
        masked = privacy.mask_emails(str(text))
        if masked != text:
            text.replace_with(type(text)(masked))
    for tag in soup.find_all(True):
        for name, value in tag.attrs.items():
            if isinstance(value, str):
                tag[name] = privacy.mask_emails(value)


def cut_value(text: str) -> str:
    """A cell's text at a length a table can show: cut after about CELL_CHARS characters at a word, and any
    word longer than TOKEN_CHARS shortened in its middle ("/data/clients/acme/…/orders.csv"); else unchanged."""
    short = " ".join(w if len(w) <= TOKEN_CHARS else _cut_word(w) for w in text.split(" "))
    if len(short) > CELL_CHARS:
        head = short[: CELL_CHARS - 1]
        short = (head.rsplit(" ", 1)[0] if " " in head else head).rstrip(" ,;:") + "…"
    return short


def _cut_word(word: str) -> str:
    """A long word's start and end; a path keeps its last part whole ("/data/clients/…/orders.csv")."""
    tail = word[-(TOKEN_CHARS - 13) :]
    last = max(word.rfind("/"), word.rfind("\\"))
    if last > 0 and len(word) - last <= TOKEN_CHARS:
        tail = word[last:]
    return f"{word[:12]}…{tail}"


def _cut_cells(soup: BeautifulSoup) -> None:
    for td in soup.find_all("td"):
        if len(td.contents) != 1 or td.find(True) is not None:
            continue  # only cells holding plain text
        whole = str(td.string)
        short = cut_value(whole)
        if short != whole:
            span = soup.new_tag("span", attrs={"class": "la-cut", "title": whole})
            span.string = short
            td.string.replace_with(span)


def offline(html: str) -> str:
    """Take every outside address out of src/href/url(): links become their text with the address shown after it,
    images and scripts lose the address. The html then loads nothing from anywhere."""
    soup = _parse(html)
    _make_offline(soup)
    return str(soup)


def inert(html: str) -> str:
    """No script element, event handler or javascript: link left in `html`."""
    soup = _parse(html)
    _make_inert(soup)
    return str(soup)


def clean_html(html: str) -> str:
    """An output's html fit for a page: without card styles, offline, inert, e-mail addresses masked, long
    cell values cut (whole in their tooltip)."""
    soup = _parse(html)
    for style in soup.find_all("style", attrs={"data-la-card-style": True}):
        style.decompose()
    _make_offline(soup)
    _make_inert(soup)
    _mask(soup)
    _cut_cells(soup)
    return str(soup)


def _text(value: Any) -> Any:
    """A text output (a string or nbformat's list of lines) with e-mail addresses masked."""
    if isinstance(value, list):
        return [privacy.mask_emails(v) if isinstance(v, str) else v for v in value]
    return privacy.mask_emails(value) if isinstance(value, str) else value


def _clean_output(output: dict) -> None:
    if output.get("output_type") == "stream":
        output["text"] = _text(output.get("text"))
    elif output.get("output_type") == "error":
        output["ename"], output["evalue"] = _text(output.get("ename")), _text(output.get("evalue"))
        output["traceback"] = [privacy.mask_emails(line) for line in output.get("traceback") or []]
    data = output.get("data") or {}
    if "text/html" in data:
        html = data["text/html"]
        data["text/html"] = clean_html("".join(html) if isinstance(html, list) else html)
    for kind in _TEXT_TYPES:
        if kind in data:
            data[kind] = _text(data[kind])


def clean_outputs(nb):
    """A copy of an (already scrubbed) notebook whose outputs are cleaned: html by clean_html, text masked.
    Markdown becomes html only when the page is rendered; the page's nbconvert template passes it through
    clean_html then (filter "la_clean")."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for output in cell.get("outputs") or []:
            _clean_output(output)
    return nb
