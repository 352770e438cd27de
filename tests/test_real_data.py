"""End to end on real public data in ../shared/data: Online Retail II and CDNOW, through their presets.

Every input row must be accounted for on the data-health page: rows in = used + excluded + rejected.
Outside this project's CI the data may be absent: then these tests say so and skip (under CI=true
they fail instead: CI has ../shared beside the clone).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from html import unescape
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lifecycle_audit import paths
from lifecycle_audit.cli import app

SHARED = paths.ROOT.parent / "shared" / "data"
ONLINE_RETAIL = SHARED / "online_retail_ii" / "online_retail_II.csv.gz"
CDNOW = SHARED / "cdnow" / "CDNOW_master.txt"


def need(path: Path) -> None:
    if path.is_file():
        return
    message = f"real data not found at {path} (expected ../shared/data beside the project)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must have it")
    pytest.skip(message)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def page_text(path: Path) -> str:
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)))


def audit(tmp_path: Path, client: str, data: Path, source: dict, currency: str) -> tuple[dict, str, float]:
    params = tmp_path / f"{client}.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "client": client,
                "currency": currency,
                "data_dir": str(data.parent),
                "output": str(tmp_path / "reports"),
                "sources": {"input": {**source, "file": data.name}},
            }
        ),
        encoding="utf-8",
    )
    before = sha(data)
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["run", str(params), "--jobs", "2", "--quiet"])
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert sha(data) == before, "the client's file was modified"
    index = Path(result.stdout.strip().splitlines()[-1])
    manifest = json.loads((index.parent / "manifest.json").read_text(encoding="utf-8"))
    health = page_text(index.parent / "00_data_health.html")
    print(f"{client}: audit in {seconds:.1f} s")
    return manifest, health, seconds


def accounted(manifest: dict, rows: int) -> dict:
    (entry,) = manifest["inputs"]["inputs"]
    assert entry["rows_in"] == rows
    assert entry["rows_in"] == entry["rows_used"] + sum(entry["excluded"].values()) + sum(entry["rejected"].values())
    assert entry["balanced"]
    print(json.dumps({k: entry[k] for k in ("rows_in", "rows_used", "excluded", "rejected")}, indent=1))
    return entry


@pytest.mark.e2e
def test_online_retail_ii_through_its_preset(tmp_path):
    need(ONLINE_RETAIL)
    manifest, health, _seconds = audit(tmp_path, "online-retail", ONLINE_RETAIL, {"preset": "transaction_lines"}, "GBP")
    entry = accounted(manifest, 1_067_370)
    assert entry["excluded"]["cancellation"] == 19_494  # the published count of 'C' invoices
    assert entry["excluded"]["no_customer_id"] > 200_000
    assert entry["excluded"]["zero_or_negative_price"] > 0
    assert entry["rejected"] == {}  # nothing in this export is unreadable
    assert manifest["failed_stages"] == []
    for text in (
        "1,067,370",
        "cancellation",
        "no_customer_id",
        "zero_or_negative_price",
        "duplicate_line",
        f"{entry['rows_used']:,}",
    ):
        assert text in health, f"{text!r} not on the data-health page"
    tables = manifest["inputs"]["tables"]
    assert set(tables) == {"customers", "orders", "order_lines"}
    assert tables["order_lines"]["rows_used"] == entry["rows_used"]


@pytest.mark.e2e
def test_cdnow_through_its_preset(tmp_path):
    need(CDNOW)
    manifest, health, _seconds = audit(tmp_path, "cdnow", CDNOW, {"preset": "customer_transactions"}, "USD")
    entry = accounted(manifest, 69_659)
    assert entry["excluded"] == {"zero_value": 80}
    assert manifest["failed_stages"] == []
    for text in ("69,659", "zero_value", f"{entry['rows_used']:,}"):
        assert text in health, f"{text!r} not on the data-health page"
