"""`lifecycle-audit init`: look at a folder of exports, recognise presets, write a params file to finish."""

from __future__ import annotations

import difflib
import fnmatch
import gzip
import io
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml

from ... import contract
from .. import jsonlines
from .propose import propose
from .registry import all_presets, get

_TEXT = (".csv", ".txt", ".tsv", ".gz")


def header_of(path: Path) -> list[str]:
    """The column names of a file (first row), read through the same quirks as an audit would."""
    name = path.name.lower()
    try:
        if name.endswith((".xlsx", ".xls")):
            return [str(c) for c in pd.read_excel(path, nrows=0).columns]
        if name.endswith((".parquet", ".pq")):
            return list(pq.ParquetFile(path).schema_arrow.names)
        if name.endswith(jsonlines.SUFFIXES) or name.endswith(tuple(x + ".gz" for x in jsonlines.SUFFIXES)):
            return _json_lines_header(path)
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


def _json_lines_header(path: Path, lines: int = 200) -> list[str]:
    """The flattened field names of the first objects of a JSON-lines file (gzip-compressed or not)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = b"".join(line for _, line in zip(range(lines), fh, strict=False))
    return list(jsonlines.read(io.BytesIO(head), "utf-8-sig").columns)


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
        header, renamed = drift(headers)
        preset, score = recognise(header)
        proposal = propose(path, header)  # exports under the shop's own names, and what their values need
        if proposal is not None and (preset is None or score < 1 or proposal.preset is preset):
            preset, score = proposal.preset, proposal.score
        else:
            proposal = None
        fields: dict[str, str] = {}
        if preset is None:  # a raw tracking log (Segment / Snowplow kind) under its own column names
            preset, score, fields = recognise_tracking_log(header)
        key = _key(path) if len(group) > 1 else _plain_key(path)
        many = f" ({len(group)} files)" if len(group) > 1 else ""
        table = match_table(header, renamed, used_tables) if preset is None else None
        if preset is not None and not (set(preset.yields) & used_tables):
            used_tables |= set(preset.yields)
            lines += _preset_entry(key, shown, preset, score) + _tracking_log_lines(preset, fields)
            lines += proposal.entry_lines() if proposal is not None else []
            summary.append(f"{shown}{many}: preset {preset.name} -> {', '.join(preset.yields)}")
        elif table is not None:
            used_tables.add(table[0])
            lines += _table_entry(table[0], table[1], shown, group, headers)
            summary.append(f"{shown}{many}: contract table {table[0]}")
        else:
            lines += [
                f"  # {scalar(key)}:  # DECIDE: not recognised; which contract table is it? columns: "
                + ", ".join(scalar(h) for h in header[:15])
                + (" ..." if len(header) > 15 else ""),
                f"  #   file: {scalar(shown)}",
                "  #   columns: {contract column: their column}",
            ]
            lines += [f"  #   (renamed partway: [{', '.join(scalar(n) for n in names)}])" for names in renamed]
            summary.append(f"{shown}{many}: not recognised (left commented out)")
    lines.append("output: reports")
    return "\n".join(lines) + "\n", summary


def _plain_key(path: Path) -> str:
    """A sources key from a file name: lower case, letters and digits."""
    return "".join(ch if ch.isalnum() else "_" for ch in path.stem.split(".")[0].lower()).strip("_") or "input"


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
            default = field.get_default(call_default_factory=True)
            if isinstance(default, (dict, list)) and len(str(default)) > 60:
                continue
            lines.append(f"    #   {name}: {_shown(default)}")
    return lines


# --- raw tracking logs (Segment / Snowplow kind) ---------------------------------------------------------------

# The names each field of the tracking_log preset goes by: Segment's warehouse tables and flattened JSON
# (context_page_url, properties_revenue), Snowplow's atomic events (domain_userid, page_url, useragent, mkt_*),
# and plain names. Compared in lower case with "." and "-" read as "_".
TRACKING_LOG_NAMES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "original_timestamp", "sent_at", "received_at", "derived_tstamp", "collector_tstamp"),
    "anonymous_id": ("anonymous_id", "anonymousid", "domain_userid", "network_userid", "visitor_id", "cookie_id"),
    "user_id": ("user_id", "userid", "customer_id"),
    "type": ("type",),
    "event": ("event", "event_name", "event_text"),
    "url": ("url", "context_page_url", "page_url", "properties_url", "page_location"),
    "referrer": ("referrer", "context_page_referrer", "page_referrer", "properties_referrer", "referer"),
    "user_agent": ("user_agent", "context_user_agent", "useragent", "context_useragent"),
    "utm_source": ("utm_source", "context_campaign_source", "mkt_source"),
    "utm_medium": ("utm_medium", "context_campaign_medium", "mkt_medium"),
    "utm_campaign": ("utm_campaign", "context_campaign_name", "mkt_campaign"),
    "device": ("device", "device_type", "device_category", "context_device_type"),
    "product_id": ("product_id", "properties_product_id", "properties_sku", "sku", "item_id"),
    "category": ("category", "properties_category", "item_category"),
    "order_id": ("order_id", "properties_order_id", "tr_orderid", "transaction_id"),
    "revenue": ("revenue", "properties_revenue", "properties_total", "tr_total"),
    "currency": ("currency", "properties_currency", "tr_currency"),
    "products": ("products", "properties_products"),
}


def _loose(name: str) -> str:
    return name.strip().lower().replace(".", "_").replace("-", "_")


def tracking_log_fields(header: list[str]) -> dict[str, str]:
    """{tracking_log field: the file's column} for every field found under one of its names."""
    have = {_loose(h): h for h in header}
    found = {}
    for fld, names in TRACKING_LOG_NAMES.items():
        column = next((have[n] for n in names if n in have), None)
        if column is not None:
            found[fld] = column
    return found


def recognise_tracking_log(header: list[str]):
    """(the tracking_log preset, share of its key fields found, {field: column}) when the header is a raw tracking
    log (a time, an anonymous id, an event name or type, and URL, referrer or user agent), else (None, 0, {})."""
    found = tracking_log_fields(header)
    key = ("timestamp", "anonymous_id", "url", "referrer", "user_agent")
    hit = (
        {"timestamp", "anonymous_id"} <= set(found)
        and bool({"event", "type"} & set(found))
        and bool({"url", "referrer", "user_agent"} & set(found))
    )
    if not hit:
        return None, 0.0, {}
    return get("tracking_log"), sum(k in found for k in key) / len(key), found


def _tracking_log_lines(preset, fields: dict[str, str]) -> list[str]:
    """The columns a recognised tracking log names otherwise than the preset, and `tables:` without orders."""
    if preset.name != "tracking_log" or not fields:
        return []
    renamed = {f: c for f, c in fields.items() if c != preset.fields[f]}
    lines = []
    if renamed:
        lines.append("    columns:")
        lines += [f"      {f}: {scalar(c)}" for f, c in renamed.items()]
    if not {"order_id", "revenue"} <= set(fields):
        lines.append("    tables: [events]  # the log carries no order ids and revenue: no orders from it")
    elif "products" not in fields:
        lines.append("    tables: [events, orders]  # the log's purchases carry no products array: no order lines")
    return lines


def _shown(default) -> str:
    """An option's default as YAML on one line: a text as a scalar, None as null, numbers, dates and flags plain."""
    if isinstance(default, str):
        return scalar(default)
    text = yaml.safe_dump(default, default_flow_style=True, width=1 << 30).strip()
    return text.removesuffix("...").strip()
