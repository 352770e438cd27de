"""The content-keyed cache of canonical tables: one Parquet file per table and accounting.json per key."""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__, contract
from .model import FORMAT_VERSION, Prepared
from .staged import Staged


def cache_key(params, hashes: dict[str, str]) -> str:
    """A key for the sources mapping, the input files' sha256, the contract and the package version."""
    spec = {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "contract": repr(sorted((t.name, t.columns, t.key) for t in contract.TABLES.values())),
        "sources": {
            name: {
                "source": src.model_dump(mode="json"),
                "files": [[str(p), hashes.get(str(p))] for p in params.input_files(name)],
            }
            for name, src in sorted(params.sources.items())
        },
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:20]


def cache_folder(params, key: str) -> Path:
    """Where the canonical tables of this client and key live: paths.CACHE/tables/<client>/<key>, or under the
    params' engine.tables_dir (a folder a Spark cluster's executors share)."""
    return params.tables_path / key


def read_cached(folder: Path) -> Prepared | None:
    """The accounting of a complete cache folder (every usable table present), else None."""
    accounting = folder / "accounting.json"
    if not accounting.is_file():
        return None
    try:
        data = json.loads(accounting.read_text(encoding="utf-8"))
        prepared = Prepared.from_dict(data, folder)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all((folder / f"{name}.parquet").is_file() for name in prepared.usable):
        return None
    return prepared


def write_cached(folder: Path, key: str, frames: dict[str, pd.DataFrame | Staged], prepared: Prepared) -> None:
    """Write the tables and accounting.json into a temporary folder, then rename it into place.

    accounting.json is written last: its presence marks the folder complete. A concurrent twin that
    won the race leaves its complete folder, which is kept.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{key}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    try:
        for name, df in frames.items():
            if isinstance(df, Staged):  # a large table staged on disk: copied batch by batch
                df.write(tmp / f"{name}.parquet")
                continue
            table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
            pq.write_table(table, tmp / f"{name}.parquet")
        (tmp / "accounting.json").write_text(
            json.dumps(prepared.to_dict(mask=False), indent=1, default=str), encoding="utf-8"
        )
        try:
            tmp.rename(folder)
        except OSError:
            if read_cached(folder) is None:  # not a concurrent twin that won the race
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
