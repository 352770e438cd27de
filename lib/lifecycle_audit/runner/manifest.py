"""What a run records about itself: package versions, the analysis period, rows per table, JSON files."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import __version__

# Packages whose versions go into the manifest (distribution names).
VERSIONED = ("lifecycle-audit", "pandas", "ibis-framework", "duckdb", "papermill", "nbconvert", "matplotlib")


def package_versions() -> dict[str, str]:
    """Python and the packages that shape a report, for the manifest and the report's footer."""
    versions = {"python": platform.python_version()}
    for dist in VERSIONED:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = __version__ if dist == "lifecycle-audit" else "not installed"
    return versions


def day(value: Any) -> str | None:
    """A date or datetime (or anything) as its ISO day, "2025-01-31"."""
    if value is None:
        return None
    return (value.isoformat() if hasattr(value, "isoformat") else str(value))[:10]


def period(p, prepared) -> dict[str, str | None]:
    """The analysis period: as set in params, else the span of the orders (or events, or messages) supplied."""
    start, end = p.period.start, p.period.end
    if start is None or end is None:
        for name in ("orders", "events", "messages"):
            load = prepared.loads.get(name)
            if load is not None and load.date_min is not None:
                start = start or load.date_min
                end = end or load.date_max
                break
    return {"start": day(start), "end": day(end)}


def rows(prepared) -> dict[str, dict[str, Any]]:
    """Rows read, used and rejected per table, with the reasons for rejections."""
    return {
        name: {
            "file": str(load.file),
            "rows_in": load.rows_in,
            "rows_used": load.rows_used,
            "rows_rejected": load.rows_rejected,
            "rejected": dict(load.rejected),
        }
        for name, load in prepared.loads.items()
    }


def write_json(path: Path, data: Any) -> None:
    """JSON as the run folder keeps it: indented, UTF-8, anything unusual as its str()."""
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
