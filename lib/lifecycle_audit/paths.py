"""Every path the workbook uses, derived from the project root (never from the working directory)."""

from __future__ import annotations

import os
from pathlib import Path


def _find_root() -> Path:
    """The project root: LIFECYCLE_AUDIT_ROOT if set, else the folder holding pyproject.toml above this file."""
    env = os.environ.get("LIFECYCLE_AUDIT_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "notebooks").is_dir():
            return parent
    # Installed without the project tree (e.g. a wheel): work from the current folder.
    return Path.cwd().resolve()


ROOT = _find_root()
NOTEBOOKS = ROOT / "notebooks"
PARAMS = ROOT / "params"
DATA = ROOT / "data"
REPORTS = ROOT / "reports"
CACHE = ROOT / ".cache"
DEMO_PARAMS = PARAMS / "demo.yaml"
# The environment variable in which the runner names a stage's log file to the kernel executing the stage.
RUN_LOG_ENV = "LIFECYCLE_AUDIT_LOG"


def resolve(path: str | os.PathLike, base: Path = ROOT) -> Path:
    """An absolute path: `path` itself if absolute, else relative to `base` (the project root by default)."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base / p).resolve()
