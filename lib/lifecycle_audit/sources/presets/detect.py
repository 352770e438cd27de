"""`lifecycle-audit init`: look at a folder of exports, recognise presets, write a params file to finish."""

from __future__ import annotations

import difflib
import fnmatch
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml

from ... import contract
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
    for shown, group in group_files(files):
        path = group[0]
        headers = [header_of(p) for p in group]
        columns, renamed = drift(headers)
        preset, score = recognise(columns)
        key = _key(path)
        many = f" ({len(group)} files)" if len(group) > 1 else ""
        table = match_table(columns, renamed, used_tables) if preset is None else None
        if preset is not None and not (set(preset.yields) & used_tables):
            used_tables |= set(preset.yields)
            lines += _preset_entry(key, shown, preset, score)
            summary.append(f"{shown}{many}: preset {preset.name} -> {', '.join(preset.yields)}")
        elif table is not None:
            used_tables.add(table[0])
            lines += _table_entry(table[0], table[1], shown, group, headers)
            summary.append(f"{shown}{many}: contract table {table[0]}")
        else:
            lines += [
                f"  # {scalar(key)}:  # DECIDE: not recognised; which contract table is it? columns: "
                + ", ".join(scalar(h) for h in columns[:15])
                + (" ..." if len(columns) > 15 else ""),
                f"  #   file: {scalar(shown)}",
                "  #   columns: {contract column: their column}",
            ]
            lines += [f"  #   (renamed partway: [{', '.join(scalar(n) for n in names)}])" for names in renamed]
            summary.append(f"{shown}{many}: not recognised (left commented out)")
    lines.append("output: reports")
    return "\n".join(lines) + "\n", summary


def _key(path: Path) -> str:
    """A sources key from a file name: lower case, letters and digits, the date stamp left out."""
    stem = _STAMP.sub("", path.name.split(".")[0].lower())
    return "".join(ch if ch.isalnum() else "_" for ch in stem).strip("_") or "input"


# --- a folder of daily files: one pattern, columns renamed partway ------------------------------------

# A date stamp in a file name: 20240101, 2024-01-01, 2024_01_01, 202401.
_STAMP = re.compile(r"(?<!\d)(\d{8}|\d{4}[-_]\d{2}[-_]\d{2}|\d{6})(?!\d)")
# Other names the files of shops give a contract column (compared without case, spaces or punctuation).
_SYNONYMS = {
    "customer_id": ("client_id", "user_id", "customer", "customer_no", "customer_number", "kunde", "kundennummer"),
}


def group_files(files: list[Path]) -> list[tuple[str, list[Path]]]:
    """(name or glob pattern, files): files whose names differ only by a date stamp (events_20240101.csv ...) are one
    group under one pattern (events_*.csv); the pattern matches no other file of the folder."""
    groups: dict[str, list[Path]] = {}
    for path in files:
        groups.setdefault(_STAMP.sub("*", path.name), []).append(path)
    out = []
    for pattern, group in groups.items():
        if len(group) == 1 or "*" not in pattern:
            out.extend((p.name, [p]) for p in group)
            continue
        others = [p.name for p in files if p not in group]
        if any(fnmatch.fnmatchcase(name, pattern) for name in others):
            pattern = pattern.replace("*", "[0-9]*")
        out.append((pattern, group))
    return sorted(out, key=lambda item: item[1][0].name)


def drift(headers: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """(every column in the order first seen, [names in order] of each column renamed partway).

    A column counts as renamed when its names appear in files that do not overlap, one after the other, and the
    names are alike (client_id -> clientId, Customer ID -> customer_id).
    """
    union = list(dict.fromkeys(c for h in headers for c in h))
    where = {c: [i for i, h in enumerate(headers) if c in h] for c in union}
    renamed, taken = [], set()
    for a in union:
        if a in taken or len(where[a]) == len(headers):
            continue
        chain = [a]
        for b in union:
            last = where[chain[-1]][-1]
            if b in taken or b in chain or len(where[b]) == len(headers) or where[b][0] <= last:
                continue
            if _alike(a, b):
                chain.append(b)
        if len(chain) > 1:
            taken |= set(chain)
            renamed.append(chain)
    merged = [c for c in union if c not in taken or any(c == names[0] for names in renamed)]
    return merged, renamed


def _loose(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _alike(a: str, b: str) -> bool:
    return _loose(a) == _loose(b) or difflib.SequenceMatcher(None, _loose(a), _loose(b)).ratio() >= 0.7


def match_table(columns: list[str], renamed: list[list[str]], used: set[str]) -> tuple[str, dict] | None:
    """(contract table, {contract column: client name or [alternatives]}) whose required columns the file has by
    name (or a usual other name); the table matching most columns, None when none does."""
    groups = {names[0]: names for names in renamed}
    best, best_score = None, (0, 0.0)
    for table in contract.TABLES.values():
        if table.name in used:
            continue
        found = {}
        for col in table.columns:
            wanted = {_loose(col.name), *(_loose(s) for s in _SYNONYMS.get(col.name, ()))}
            hit = next((c for c in columns if any(_loose(n) in wanted for n in groups.get(c, [c]))), None)
            if hit is not None:
                found[col.name] = groups.get(hit, hit)
        if not all(c.name in found for c in table.columns if c.required):
            continue
        score = (len(found), len(found) / len(table.columns))
        if score > best_score:
            best, best_score = (table.name, found), score
    return best


def _table_entry(table: str, found: dict, shown: str, group: list[Path], headers: list[list[str]]) -> list[str]:
    """The plain sources entry of a file (or group of files) whose columns name a contract table's."""
    many = f", {len(group)} files" if len(group) > 1 else ""
    lines = [
        f"  {table}:  # recognised: the contract's {table} table by its column names{many}",
        f"    file: {scalar(shown)}",
    ]
    mapped = {c: names for c, names in found.items() if names != c}
    if mapped:
        lines.append("    columns:")
    for col, names in mapped.items():
        if isinstance(names, list):
            since = next(i for i, h in enumerate(headers) if names[-1] in h)
            lines.append(
                f"      {col}: [{', '.join(scalar(n) for n in names)}]  # renamed partway (from {group[since].name} on)"
            )
        else:
            lines.append(f"      {col}: {scalar(names)}")
    return lines


def _preset_entry(key: str, shown: str, preset, score: float) -> list[str]:
    """The sources entry of a recognised export, with the preset's default options shown commented."""
    lines = [
        f"  {scalar(key)}:  # recognised: {preset.title} ({score:.0%} of its columns)",
        f"    preset: {scalar(preset.name)}",
        f"    file: {scalar(shown)}",
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
            lines.append(f"    #   {name}: {scalar(repr(default))[1:-1]}")
    return lines
