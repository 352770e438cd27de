"""The stage notebooks are committed clean: no outputs, no execution counts, and the papermill `parameters` tag.

Outputs in git carry a shop's figures into the history and make every diff noisy; the nbstripout filter
(.gitattributes, set up by `make setup`) strips them on `git add`. The `parameters` tag on the first code cell
is where papermill injects the run's parameters: without it a stage runs on the notebook's defaults.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
STRIP = "strip them with `.venv/bin/nbstripout notebooks/{}` (after `make setup`, `git add` strips what it stages)"


def code_cells(path: Path) -> list[dict]:
    """The code cells of a notebook, read as plain JSON."""
    with path.open(encoding="utf-8") as fh:
        return [c for c in json.load(fh)["cells"] if c["cell_type"] == "code"]


def test_there_are_stage_notebooks():
    assert PATHS, f"no notebooks found in {NOTEBOOKS}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_notebook_has_no_outputs_or_execution_counts(path: Path):
    dirty = [i for i, c in enumerate(code_cells(path), 1) if c.get("outputs") or c.get("execution_count") is not None]
    assert not dirty, f"{path.name}: code cells {dirty} have outputs or execution counts; {STRIP.format(path.name)}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_first_code_cell_is_tagged_parameters(path: Path):
    cells = code_cells(path)
    assert cells, f"{path.name} has no code cell"
    tags = cells[0].get("metadata", {}).get("tags", [])
    assert "parameters" in tags, f"{path.name}: the first code cell lacks the papermill tag 'parameters' (has {tags})"
