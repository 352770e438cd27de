"""Notebook outputs made fit for a page, before the page is rendered: offline, inert, without e-mail addresses.

Every text/html output (and every markdown cell or output, once it is HTML) is parsed (BeautifulSoup)
and cleaned element by element:

- offline: no outside address in src/href/srcset/... or in CSS url()/@import: links become their text with
  the address shown after it, images and scripts lose the address. The page then loads nothing.
- inert: no <script> element, no on*= event handler, no javascript: URL (a safety net under escaping; the
  page's own script is added by its template).
- e-mail addresses in text and attribute values masked ("j***@example.com"), also in printed text.
- the cards' own <style data-la-card-style> blocks dropped: a page carries the whole stylesheet once.

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
    """An output's html fit for a page: without card styles, offline, inert, e-mail addresses masked."""
    soup = _parse(html)
    for style in soup.find_all("style", attrs={"data-la-card-style": True}):
        style.decompose()
    _make_offline(soup)
    _make_inert(soup)
    _mask(soup)
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
