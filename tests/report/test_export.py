"""The report in the forms it travels in: evidence CSVs, the card's link to its CSV, and the single file (no kernel)."""

from __future__ import annotations

import csv
import re

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lifecycle_audit import privacy
from lifecycle_audit.errors import AuditError
from lifecycle_audit.findings import Finding
from lifecycle_audit.report import evidence, export
from lifecycle_audit.report.cards import finding_html
from lifecycle_audit.report.render import index_html, stage_html, write_page

STAGES = [
    {"stage": "reach", "title": "Reach", "file": "01_reach.html"},
    {"stage": "conversion", "title": "Conversion", "file": "03_conversion.html"},
]
RUN_INFO = {
    "client": "Demo Shop",
    "run_id": "20261122-100000",
    "currency": "EUR",
    "stages": STAGES,
    "failed_stages": [],
}


def _finding(check_id: str, table: pd.DataFrame | None) -> Finding:
    return Finding(
        check_id=check_id,
        stage=check_id.split(".")[0],
        title="Most carts are abandoned",
        status="fail",
        score=23,
        value=0.81,
        unit="share",
        good=0.6,
        poor=0.8,
        better="lower",
        table=table,
        summary="3,972 of 4,900 carts were not bought.",
    )


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": ["C001", "C002", "C003"], "campaign": ['=HYPERLINK("x")', "Summer", "-5"], "carts": [3, 1, 2]}
    )


def _stage_notebook(path, card: str) -> None:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [
        new_markdown_cell("## What we looked at\n\nCarts and orders."),
        new_code_cell("show()", outputs=[new_output("display_data", data={"text/html": card, "text/plain": "cards"})]),
    ]
    nbformat.write(nb, str(path))


@pytest.fixture
def run_dir(tmp_path):
    """A run folder: the index, two stage pages whose headings share an id, one finding's evidence CSV."""
    f = _finding("conversion.cart_abandonment", _table())
    findings = [f.to_dict()]
    evidence.write_evidence(findings, tmp_path)
    for stage, card in (
        ("reach", finding_html(_finding("reach.channel_concentration", None))),
        ("conversion", finding_html(f, csv=evidence.csv_link(f.check_id, f.table))),
    ):
        nb = tmp_path / "notebooks" / f"{stage}.ipynb"
        nb.parent.mkdir(exist_ok=True)
        _stage_notebook(nb, card)
        page = next(s["file"] for s in STAGES if s["stage"] == stage)
        write_page(tmp_path / page, stage_html(nb, stage, RUN_INFO))
    for row in findings:
        row["page"] = "03_conversion.html"
    stages = [{**s, "score": 23, "status": "ok"} for s in STAGES]
    write_page(tmp_path / "index.html", index_html(findings, stages, RUN_INFO))
    return tmp_path


# ---------------------------------------------------------------- evidence CSVs and the card's link


def test_evidence_csv_is_pseudonymised_and_defused(tmp_path):
    links = evidence.write_evidence([_finding("conversion.cart_abandonment", _table()).to_dict()], tmp_path)
    assert links == {"conversion.cart_abandonment": {"href": "evidence/conversion.cart_abandonment.csv", "rows": 3}}
    rows = list(csv.DictReader((tmp_path / links["conversion.cart_abandonment"]["href"]).open(encoding="utf-8")))
    assert [r["customer_id"] for r in rows] == [privacy.pseudonym(c) for c in ("C001", "C002", "C003")]
    assert rows[0]["campaign"] == '\'=HYPERLINK("x")' and rows[2]["campaign"] == "-5"


def test_csv_link_only_for_a_table_with_rows():
    assert evidence.csv_link("a.b", _table()) == {"href": "evidence/a.b.csv", "rows": 3}
    assert evidence.csv_link("a.b", _table().head(0)) is None
    assert evidence.csv_link("a.b", None) is None
    assert evidence.evidence_file("a.b/c d") == "evidence/a.b_c_d.csv"


def test_a_card_in_a_run_links_its_csv_after_the_evidence_summary():
    f = _finding("conversion.cart_abandonment", pd.concat([_table()] * 1000, ignore_index=True))
    html = finding_html(f, csv=evidence.csv_link(f.check_id, f.table))
    link = (
        '<p class="la-f-csv"><a href="evidence/conversion.cart_abandonment.csv" download>'
        "Full table as CSV (rows: 3,000)</a></p>"
    )
    assert link in html
    assert html.index("</summary>") < html.index(link) < html.index("<table")
    assert "la-f-csv" not in finding_html(f)  # an interactive notebook: no link
    de = finding_html(f, csv=evidence.csv_link(f.check_id, f.table), locale="de")
    assert "3.000" in de.split('class="la-f-csv"', 1)[1].split("</p>", 1)[0]


# ---------------------------------------------------------------- the single file


def test_single_file_holds_every_page_with_unique_ids_and_in_page_links(run_dir):
    text = export.single_file_html(run_dir)
    for stem in ("index", "01_reach", "03_conversion"):
        assert f'id="page-{stem}"' in text
    assert not re.search(r'href="[^"#]*\.html', text), "the single file links to other .html files"
    assert not re.search(r'href="evidence/', text), "the CSVs are embedded"
    soup = BeautifulSoup(text, "html.parser")
    ids = [t["id"] for t in soup.find_all(id=True)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    targets = {a["href"][1:] for a in soup.find_all("a", href=re.compile("^#."))}
    assert targets <= set(ids), targets - set(ids)
    assert soup.find("a", href="#conversion-cart_abandonment"), "the index's top finding leads to its card"
    csv_link = soup.find("p", class_="la-f-csv").a
    assert csv_link["href"].startswith("data:text/csv;charset=utf-8;base64,")
    assert csv_link["download"] == "conversion.cart_abandonment.csv"
    nav = soup.find("nav", class_="la-nav")
    assert [a["href"] for a in nav.find_all("a")] == ["#page-index", "#page-01_reach", "#page-03_conversion"]
    assert [a.get_text() for a in nav.find_all("a")][1:] == ["Reach", "Conversion"]
    assert len(soup.find_all("script")) == 1 and soup.find("footer", class_="la-footer")
    assert "la-single" in soup.body["class"]


def test_single_file_for_print_opens_every_details_and_keeps_csv_links(run_dir):
    soup = BeautifulSoup(export.single_file_html(run_dir, open_details=True, embed_csv=False), "html.parser")
    details = soup.find_all("details")
    assert details and all(d.has_attr("open") for d in details)
    assert soup.find("p", class_="la-f-csv").a["href"] == "evidence/conversion.cart_abandonment.csv"


def test_single_file_needs_an_index(tmp_path):
    with pytest.raises(AuditError, match=r"no index\.html"):
        export.single_file_html(tmp_path)


def test_write_single_file_writes_report_html(run_dir):
    path = export.write_single_file(run_dir)
    assert path == run_dir / export.SINGLE_FILE and 'id="page-03_conversion"' in path.read_text(encoding="utf-8")
