"""The planted demo shop (1,000 customers) audited through the command line in one language, once per test
session: the German and Indonesian reports that tests/test_locale_e2e.py reads and tests/test_report_fit.py
opens in a browser."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from typer.testing import CliRunner

from lifecycle_audit.cli import app

from .small_runs import ALL_TABLES


@functools.lru_cache(maxsize=4)
def locale_run(base: str, locale: str, currency: str) -> Path:
    """The run folder of the demo shop audited with `locale: locale` and `currency: currency` under `base`."""
    folder = Path(base) / f"shop-{locale}"
    folder.mkdir(parents=True, exist_ok=True)
    params = folder / f"shop-{locale}.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "client": f"shop-{locale}",
                "client_name": f"Testladen {locale}",
                "currency": currency,
                "locale": locale,
                "data_dir": str(folder / "data"),
                "sources": {t: {"file": f"{t}.parquet"} for t in ALL_TABLES},
                "output": str(folder / "reports"),
                "demo": {"customers": 1000, "seed": 11, "profile": "planted"},
            },
            sort_keys=False,
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["run", str(params), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    index = Path([line for line in result.stdout.splitlines() if line.strip()][-1].strip())
    assert index.is_file()
    return index.parent


def locale_dir(tmp_path_factory) -> str:
    """The session's folder for the language runs (shared by every test file of the session)."""
    d = tmp_path_factory.getbasetemp() / "locale-runs"
    d.mkdir(exist_ok=True)
    return str(d)
