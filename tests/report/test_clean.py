"""Notebook outputs cleaned with a parser before a page is rendered: offline, inert, e-mail addresses masked."""

from __future__ import annotations

import re

from nbformat.v4 import new_code_cell, new_notebook, new_output

from lifecycle_audit.report import clean

EXTERNAL = re.compile(r"""\b(?:src|href|srcset|xlink:href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
CSS_EXTERNAL = re.compile(r"url\(\s*[\"']?\s*(?:https?:)?//", re.I)


def _assert_offline(html: str) -> None:
    assert not EXTERNAL.search(html), EXTERNAL.search(html).group(0)
    assert not CSS_EXTERNAL.search(html) and "@import" not in html


def test_offline_takes_outside_addresses_out():
    html = (
        '<a href="https://example.com/a">source</a> <img src="http://x.test/i.png" alt="i">'
        '<script src="//cdn.test/r.js"></script><div style="background: url(https://x.test/b.png)"></div>'
        '<a href="#local">here</a>'
    )
    out = clean.offline(html)
    _assert_offline(out)
    assert "source" in out and "(https://example.com/a)" in out and 'href="#local"' in out


def test_offline_shows_a_bare_link_once_and_cleans_style_elements():
    out = clean.offline(
        '<a href="https://x.test/p">https://x.test/p</a><style>@import url("//f.test/a.css");'
        'b { background: url(//x.test/b.png) }</style><a href="data.csv" download>csv</a>'
    )
    _assert_offline(out)
    assert out.count("https://x.test/p") == 1 and 'class="la-removed-url"' in out
    assert 'href="data.csv"' in out


def test_inert_drops_scripts_handlers_and_javascript_links():
    out = clean.inert(
        '<p onclick="steal()" ONMOUSEOVER="x()">hi <script>alert(1)</script>'
        '<a href=" javascript:alert(2)">x</a><img src=x onerror=alert(3)></p>'
    )
    assert "<script" not in out and "alert" not in out and "onclick" not in out.lower()
    assert 'href="#"' in out and "hi" in out


def test_clean_html_masks_emails_and_drops_card_styles():
    out = clean.clean_html(
        '<style data-la-card-style>.la-finding{}</style><td title="anna.b@example.com">'
        "anna.b@example.com</td><p>&lt;script&gt;kept as text&lt;/script&gt;</p>"
    )
    assert "anna.b@" not in out and out.count("a***@example.com") == 2
    assert "data-la-card-style" not in out
    assert "&lt;script&gt;kept as text&lt;/script&gt;" in out


def test_clean_outputs_cleans_a_copy_of_every_output():
    nb = new_notebook(
        cells=[
            new_code_cell(
                "x",
                outputs=[
                    new_output("stream", name="stdout", text="top customer: jane.doe@example.org\n"),
                    new_output(
                        "display_data",
                        data={
                            "text/html": '<b onclick="x()">jane.doe@example.org</b><script>1</script>',
                            "text/plain": "jane.doe@example.org",
                        },
                    ),
                    new_output(
                        "error", ename="KeyError", evalue="'jane.doe@example.org'", traceback=["jane.doe@example.org"]
                    ),
                ],
            )
        ]
    )
    cleaned = clean.clean_outputs(nb)
    text = str(cleaned.cells[0].outputs)
    assert "jane.doe@" not in text and "j***@example.org" in text
    assert "<script" not in text and "onclick" not in text
    assert "jane.doe@example.org" in str(nb.cells[0].outputs), "the notebook itself is left as it was"
