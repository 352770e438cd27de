"""`lifecycle-audit init`: look at a folder of exports, recognise presets, write a params file to finish."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml

from .propose import propose
from .registry import all_presets

_TEXT = (".csv", ".txt", ".tsv", ".gz")


def header_of(path: Path) -> list[str]:
    """The column names of a file (first row), read through the same quirks as an audit would."""
    name = path.name.lower()
    try:
        if name.endswith((".xlsx", ".xls")):
            return [str(c) for c in pd.read_excel(path, nrows=0).columns]
        if name.endswith((".parquet", ".pq")):
            return list(pq.ParquetFile(path).schema_arrow.names)
        for enc in ("utf-8-sig", "cp1252"):
            try:
                df = pd.read_csv(path, sep=None, engine="python", nrows=5, encoding=enc, dtype=str)
                cols = [str(c).strip() for c in df.columns]
                if len(cols) == 1 and len(cols[0].split()) > 1:
                    cols = cols[0].split()
                return cols
            except UnicodeDecodeError:
                continue
    except Exception:  # noqa: BLE001 - an unreadable file is reported as such
        return []
    return []


def recognise(header: list[str]):
    """(preset, share of its signature columns present) for the best-matching preset, or (None, 0)."""
    have = {h.strip().lower() for h in header}
    best, score = None, 0.0
    for preset in all_presets():
        sig = [s.lower() for s in preset.signature]
        share = sum(s in have for s in sig) / len(sig) if sig else 0
        if share > score:
            best, score = preset, share
    return (best, score) if score >= 0.75 else (None, score)


def scalar(value: str) -> str:
    """`value` as one line of YAML, quoted and escaped by the YAML dumper: a file name or a header from the client
    ("export #2: {x}.csv", a line separator U+2028) stays a value and never becomes YAML of its own."""
    for style in (None, '"'):  # plain when the dumper can, else double-quoted with escapes
        text = yaml.dump(value, Dumper=yaml.SafeDumper, default_style=style, allow_unicode=False, width=1 << 30)
        text = text.rstrip("\n").removesuffix("\n...").rstrip("\n")
        if "\n" not in text:
            return text
    return text


def write_params(client: str, folder: Path, data_dir: str) -> tuple[str, list[str]]:
    """The params file's text and a summary line per file."""
    lines = [
        f"# Written by `lifecycle-audit init {client}` from the files in {scalar(data_dir)}.",
        "# Lines marked DECIDE need the consultant; then run `lifecycle-audit validate` on this file.",
        f"client: {scalar(client)}",
        f"client_name: {scalar(client)}  # DECIDE: as shown in the report",
        "currency: EUR  # DECIDE",
        "locale: en  # DECIDE: en, de or id",
        f"data_dir: {scalar(data_dir)}",
        "max_rejected_share: 0.01",
        "sources:",
    ]
    summary, used_tables = [], set()
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))
    for path in files:
        header = header_of(path)
        preset, score = recognise(header)
        proposal = propose(path, header)  # exports under the shop's own names, and what their values need
        if proposal is not None and (preset is None or score < 1 or proposal.preset is preset):
            preset, score = proposal.preset, proposal.score
        else:
            proposal = None
        key = "".join(ch if ch.isalnum() else "_" for ch in path.stem.split(".")[0].lower()).strip("_") or "input"
        if preset is not None and not (set(preset.yields) & used_tables):
            used_tables |= set(preset.yields)
            lines += _preset_entry(key, path, preset, score)
            lines += proposal.entry_lines() if proposal is not None else []
            summary.append(f"{path.name}: preset {preset.name} -> {', '.join(preset.yields)}")
        else:
            lines += [
                f"  # {scalar(key)}:  # DECIDE: not recognised; which contract table is it? columns: "
                + ", ".join(scalar(h) for h in header[:15])
                + (" ..." if len(header) > 15 else ""),
                f"  #   file: {scalar(path.name)}",
                "  #   columns: {contract column: their column}",
            ]
            summary.append(f"{path.name}: not recognised (left commented out)")
    lines.append("output: reports")
    return "\n".join(lines) + "\n", summary


def _preset_entry(key: str, path: Path, preset, score: float) -> list[str]:
    """The sources entry of a recognised export, with the preset's default options shown commented."""
    lines = [
        f"  {scalar(key)}:  # recognised: {preset.title} ({score:.0%} of its columns)",
        f"    preset: {scalar(preset.name)}",
        f"    file: {scalar(path.name)}",
    ]
    opts = preset.options.model_fields
    if opts:
        lines.append(
            "    # options:  # DECIDE: the preset's defaults, shown commented; see params/templates/"
            f"{preset.template}.yaml"
        )
        for name, field in opts.items():
            default = field.default
            if isinstance(default, (dict, list)) and len(str(default)) > 60:
                continue
            lines.append(f"    #   {name}: {_shown(default)}")
    return lines


def _shown(default) -> str:
    """An option's default as YAML on one line: a text as a scalar, None as null, numbers, dates and flags plain."""
    if isinstance(default, str):
        return scalar(default)
    text = yaml.safe_dump(default, default_flow_style=True, width=1 << 30).strip()
    return text.removesuffix("...").strip()
