"""Nothing that identifies a customer, and no credential, leaves the machine in a run folder; client text is escaped."""

from __future__ import annotations

import contextlib
import html
import json
import re
import zlib
from pathlib import Path

import nbformat
import pytest

from lifecycle_audit import privacy
from tests.kit.salted_run import SCRIPT_NAME, fresh_dir, salted_run

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# An outside address in an attribute or CSS: never. As plain text, only in these citations (threshold sources).
OUTSIDE_IN_ATTR = re.compile(
    r"""(?:src|href|srcset|action|poster|data|xlink:href)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import""",
    re.I,
)
OUTSIDE = re.compile(r"https?://[^\s\"'<>)]+", re.I)
ALLOWED_CITATIONS = ()  # none so far: every threshold source is cited by name, not by address


def _text_of(file: Path) -> str:
    data = file.read_bytes()
    if file.suffix == ".pdf":  # the text streams of a PDF are compressed: look inside them too
        # The file's own text without its streams (compressed bytes can spell "b@8.ie" by chance), then every
        # stream that inflates.
        chunks = [re.sub(rb"stream\r?\n.*?\r?\nendstream", b"stream endstream", data, flags=re.S).decode("latin-1")]
        for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
            with contextlib.suppress(zlib.error):
                chunks.append(zlib.decompress(m.group(1)).decode("latin-1"))
        return "\n".join(chunks)
    if file.suffix in (".png", ".jpg", ".parquet"):
        return ""
    return data.decode("utf-8", errors="replace")


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return salted_run(fresh_dir(tmp_path_factory))


@pytest.mark.e2e
def test_no_file_of_the_run_folder_leaks_ids_emails_secrets_or_outside_addresses(run):
    files = [f for f in run.run_dir.rglob("*") if f.is_file()]
    kinds = {f.suffix for f in files}
    assert {".html", ".json", ".csv", ".ipynb"} <= kinds, kinds
    id_pattern = re.compile(
        r"(?<![A-Za-z0-9_.@-])("
        + "|".join(map(re.escape, sorted(run.raw_ids, key=len, reverse=True)))
        + r")(?![A-Za-z0-9_@-])"
    )
    problems = []
    for f in files:
        text = _text_of(f)
        rel = f.relative_to(run.run_dir)
        text_no_images = re.sub(r"data:[a-z0-9.+/-]+;base64,[A-Za-z0-9+/=]+", "data:…", text, flags=re.I)
        for m in EMAIL.finditer(text_no_images):
            problems.append(f"{rel}: e-mail address {m.group(0)!r}")
        for m in id_pattern.finditer(text_no_images):
            problems.append(f"{rel}: raw customer id {m.group(1)!r}")
        if run.secret in text or html.escape(run.secret) in text or "Zx9-s3cr3t" in text:
            problems.append(f"{rel}: the secret from the environment")
        if f.suffix in (".html", ".htm", ".svg"):
            for m in OUTSIDE_IN_ATTR.finditer(text):
                problems.append(f"{rel}: outside request {text[m.start() : m.end() + 40]!r}")
        for m in OUTSIDE.finditer(text_no_images):
            url = m.group(0)
            if not any(url.startswith(c) for c in ALLOWED_CITATIONS) and "www.w3.org" not in url:
                problems.append(f"{rel}: outside address {url!r}")
    assert not problems, "\n".join(problems[:40])


@pytest.mark.e2e
def test_customer_identifiers_become_stable_pseudonyms(run):
    findings = json.loads((run.run_dir / "findings.json").read_text(encoding="utf-8"))
    assert findings, "the planted shop has findings"
    for f in findings:
        for row in f.get("table") or []:
            for key, value in row.items():
                if privacy.is_personal(key) and value is not None:
                    assert privacy.PSEUDONYM.match(str(value)), (f["check_id"], key, value)
    some = sorted(run.raw_ids)[0]
    assert privacy.pseudonym(some) == privacy.pseudonym(some) != some


@pytest.mark.e2e
def test_a_script_in_a_campaign_name_is_shown_not_run(run):
    seen_escaped = False
    for f in [run.run_dir / "index.html", *sorted(run.run_dir.glob("[0-9][0-9]_*.html")), run.single_file]:
        text = f.read_text(encoding="utf-8")
        # the only <script> elements are the report's own (one, that opens <details> for printing)
        assert "<script>alert(1)" not in text, f.name
        assert len(re.findall(r"<script\b", text, re.I)) <= 1, f.name
        seen_escaped |= html.escape(SCRIPT_NAME, quote=False) in text
    assert seen_escaped, "the data-health page should show the rejected value, escaped"
    for nb_file in (run.run_dir / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(nb_file, as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                page = "".join((out.get("data") or {}).get("text/html", ""))
                assert "<script>alert(1)" not in page, nb_file.name


def test_the_safety_net_scrubs_whatever_a_notebook_printed(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_DB_PASSWORD", "hunter2-very-secret")
    secret_url = "postgres://me:pa55word@db.internal/shop"
    monkeypatch.setenv("ACME_WAREHOUSE", secret_url)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(os.environ)")])
    nb.cells[0].outputs = [
        nbformat.v4.new_output(
            "stream",
            name="stdout",
            text=f"url={secret_url} pw=hunter2-very-secret top customer C004711 (anna.berg@example.com)\n",
        )
    ]
    nbformat.write(nb, tmp_path / "stage.ipynb")
    (tmp_path / "log.log").write_text("connecting with hunter2-very-secret for C004711\n", encoding="utf-8")
    secrets = privacy.secret_values(names=["ACME_WAREHOUSE"])
    assert secret_url in secrets and "hunter2-very-secret" in secrets
    changed = privacy.scrub_run_folder(tmp_path, secrets, {"C004711"})
    assert len(changed) == 2
    for f in changed:
        text = f.read_text(encoding="utf-8")
        assert "hunter2" not in text and "pa55word" not in text and "C004711" not in text
        assert "anna.berg@" not in text
        assert privacy.pseudonym("C004711") in text and privacy.SECRET_REMOVED in text


def test_a_file_scrubbed_before_is_scrubbed_again_only_when_it_changed(tmp_path, monkeypatch):
    """A run scrubs each stage's files as the stage ends and the whole folder at the end: the last pass scrubs what
    is new or was written since (even with the same size), and skips the rest."""
    page, later = tmp_path / "01_reach.html", tmp_path / "index.html"
    page.write_text("top customer C004711\n", encoding="utf-8")
    done: dict = {}
    assert privacy.scrub_files([page, tmp_path / "not-there.json"], [], {"C004711"}, done) == [page]
    assert "C004711" not in page.read_text(encoding="utf-8")
    later.write_text("best customer C004711\n", encoding="utf-8")
    scrubbed = []
    real = privacy.scrub_text
    monkeypatch.setattr(privacy, "scrub_text", lambda text, *a: scrubbed.append(text) or real(text, *a))
    assert privacy.scrub_run_folder(tmp_path, [], {"C004711"}, done) == [later]
    assert scrubbed == ["best customer C004711\n"]  # the page was not scrubbed again
    scrubbed_text = page.read_text(encoding="utf-8")
    same_size = "top customer C004711".ljust(len(scrubbed_text) - 1) + "\n"
    assert len(same_size) == len(scrubbed_text)
    page.write_text(same_size, encoding="utf-8")
    assert privacy.scrub_run_folder(tmp_path, [], {"C004711"}, done) == [page]
    assert "C004711" not in page.read_text(encoding="utf-8")
