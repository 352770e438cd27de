"""Params files and stage notebooks for runs on small generated shops (the command's and the runner's tests)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ALL_TABLES = (
    "customers",
    "events",
    "orders",
    "order_lines",
    "messages",
    "tickets",
    "surveys",
    "reviews",
    "referrals",
    "spend",
    "prices",
    "campaign_members",
)


def write_params(
    folder: Path, client: str, *, demo: dict | None = None, sources: dict | None = None, data_dir: Path | None = None
) -> Path:
    """A params file in `folder` whose data and reports stay under `folder` (absolute paths)."""
    data = {
        "client": client,
        "client_name": f"Test shop {client}",
        "currency": "EUR",
        "data_dir": str(data_dir or folder / "data"),
        "sources": sources or {t: {"file": f"{t}.parquet"} for t in ALL_TABLES},
        "output": str(folder / "reports"),
    }
    if demo:
        data["demo"] = demo
    path = folder / f"{client}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def notebook(*sources: str) -> nbformat.NotebookNode:
    """A stage notebook: the parameters cell, then one code cell per source."""
    params = new_code_cell('params_file = ""\ntables_dir = ""\nfindings_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_markdown_cell("A test stage."), *(new_code_cell(s) for s in sources)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb
