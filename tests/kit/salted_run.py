"""One audit of a small planted shop salted with what must never leak, shared by the report tests.

The shop is generated, then post-processed: some customers' ids become e-mail addresses (shops keyed by
e-mail are common), a campaign is named `<script>alert(1)</script>`, one message carries that name as its
channel (a rejected row, whose value the data-health stage shows), and the params name an environment
variable holding a warehouse URL with a password. The run writes the single-file HTML too, and the PDF
when Chromium is there. Run once per test session (cached), about 20 s.
"""

from __future__ import annotations

import functools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from lifecycle_audit import runner, synth

from .browser import browser_available

SCRIPT_NAME = "<script>alert(1)</script>"
SECRET_ENV = "LA_TEST_WAREHOUSE_URL"
SECRET = "postgresql://auditor:Zx9-s3cr3t-Pw-41f7@warehouse.internal:5432/shop"
EMAIL_IDS = 40  # customers whose id is an e-mail address
ID_COLUMNS = {
    "customers": ["customer_id"],
    "events": ["customer_id"],
    "orders": ["customer_id"],
    "messages": ["customer_id"],
    "tickets": ["customer_id"],
    "surveys": ["customer_id"],
    "reviews": ["customer_id"],
    "referrals": ["referrer_id", "referred_customer_id"],
    "campaign_members": ["customer_id"],
}


@dataclass
class SaltedRun:
    run_dir: Path
    index: Path
    raw_ids: set[str]  # every customer id in the data, as written in the client's files
    emails: set[str]  # the e-mail addresses among them
    secret: str
    pdf: Path | None
    single_file: Path | None


def salted_shop(folder: Path) -> tuple[set[str], set[str]]:
    """Write the salted shop to folder; returns (raw customer ids, e-mail ids)."""
    shop = synth.generate(customers=800, seed=13, profile="planted")
    ids = shop["customers"]["customer_id"].astype(str).tolist()
    rename = {cid: f"kunde.{i}.mueller@example-shop.de" for i, cid in enumerate(ids[:EMAIL_IDS])}
    for table, cols in ID_COLUMNS.items():
        df = shop.get(table)
        if df is None:
            continue
        for col in cols:
            df[col] = df[col].map(lambda v: rename.get(v, v) if isinstance(v, str) else v)
    msgs = shop["messages"]
    promo = msgs.index[msgs["message_type"] == "promo"]
    msgs.loc[promo[: max(1, len(promo) // 10)], "campaign_id"] = SCRIPT_NAME
    msgs.loc[msgs.index[5], "channel"] = SCRIPT_NAME  # rejected: not a message channel
    synth.write_shop(shop, folder)
    raw = set(shop["customers"]["customer_id"].astype(str))
    return raw, set(rename.values())


@functools.lru_cache(maxsize=1)
def salted_run(base: str) -> SaltedRun:
    base_dir = Path(base)
    data = base_dir / "data"
    raw, emails = salted_shop(data)
    params = {
        "client": "salted",
        "client_name": "Salted test shop",
        "currency": "EUR",
        "data_dir": str(data),
        "output": str(base_dir / "reports"),
        "engine": {"connection_env": SECRET_ENV},
        "sources": {f.stem: {"file": f.name} for f in sorted(data.glob("*.parquet"))},
    }
    path = base_dir / "salted.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    os.environ[SECRET_ENV] = SECRET  # as a consultant's shell would hold it
    result = runner.run(path, jobs=2, progress=False, single_file=True, pdf=browser_available())
    assert result.ok, result.failed
    assert not result.export_errors, result.export_errors
    return SaltedRun(result.run_dir, result.index, raw, emails, SECRET, result.pdf, result.single_file)


def fresh_dir(tmp_path_factory) -> str:
    d = tmp_path_factory.getbasetemp() / "salted-shop"
    if d.exists() and not (d / "reports").exists():
        shutil.rmtree(d)
    d.mkdir(exist_ok=True)
    return str(d)
