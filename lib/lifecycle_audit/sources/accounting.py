"""Per input file: rows in = rows used + rows excluded + rows rejected, with the reason for every row set aside."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .messages import listing, mask_value, show_value
from .model import BLANK_ROW, MAX_EXAMPLES, NOT_DATA, USED, InputFile, TableLoad
from .read import RawRead


def account_read(load: TableLoad, raw: RawRead, shown: str) -> None:
    """What reading told about a table: format, rows in, checksum, parts, and the rows that are not data."""
    load.format = raw.fmt
    load.rows_in = sum(f["rows_in"] for f in raw.files)
    load.line_offset = raw.line_offset
    load.sha256 = raw.sha256
    if len(raw.files) > 1:
        load.file = shown
        load.parts = [[f["file"], f["start"]] for f in raw.files]
        load.notes.append(f"{len(raw.files)} files read as one: " + listing([f["file"] for f in raw.files], 12))
    else:
        load.file = raw.files[0]["file"]
    for reason in NOT_DATA:
        n = sum(f[reason] for f in raw.files)
        if n:
            load.rejected[reason] = n


def _not_data(info: dict[str, Any]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The blank and repeated header rows of one file: as excluded counts, and as reasons."""
    excluded = {r: info[r] for r in NOT_DATA if info[r]}
    reasons = [
        {
            "reason": r,
            "category": "excluded",
            "rows": n,
            "examples": [],
            "description": "empty row" if r == BLANK_ROW else "the header row repeated inside the data",
        }
        for r, n in excluded.items()
    ]
    return excluded, reasons


def unread_inputs(name: str, load: TableLoad) -> list[InputFile]:
    """The accounting of a plain table whose file could not be read at all."""
    return [
        InputFile(
            source=name,
            file=load.file,
            sha256=load.sha256,
            tables=[name],
            rows_in=load.rows_in,
            rows_used=0,
            rejected={"unusable file": load.rows_in} if load.rows_in else {},
            notes=[p.message for p in load.problems if p.fatal],
        )
    ]


def plain_inputs(name: str, load: TableLoad) -> list[InputFile]:
    """Per-file accounting of a plain (mapped) table: its rows used, and rejected per reason."""
    raw: RawRead | None = getattr(load, "_read", None)
    if raw is None:  # the file could not be read at all
        return unread_inputs(name, load)
    status: pd.Series = load._status
    if len(raw.files) == 1:  # no row numbers to place (a large table's status is compact: categorical)
        return [_plain_input(name, load, raw.files[0], status, several=False)]
    codes = raw.file_codes(status.index)
    return [
        _plain_input(name, load, info, status[codes == k], several=len(raw.files) > 1)
        for k, info in enumerate(raw.files)
    ]


def _plain_input(name: str, load: TableLoad, info: dict[str, Any], mine: pd.Series, several: bool) -> InputFile:
    counts = mine.value_counts()
    counts = counts[counts > 0]  # a categorical status counts its unused reasons too
    rejected = {str(r): int(n) for r, n in counts.items() if r != USED and r not in load.excluded}
    excluded, reasons = _not_data(info)
    for rule in load.exclusions:  # set aside by a rule (sources.doubles): expected, with count and examples
        n = int(counts.get(rule["reason"], 0))
        if n:
            excluded[rule["reason"]] = n
            reasons.append({**rule, "category": "excluded", "rows": n, **_in_file(rule, info)})
    for p in load.problems:
        if p.fatal or p.kind not in rejected:
            continue
        if p.example_files and info["file"] not in p.example_files and several:
            continue
        reasons.append(
            {
                "reason": p.kind,
                "category": "rejected",
                "rows": rejected.get(p.kind, 0),
                "column": p.column,
                "description": p.masked().message,
                "examples": p.examples,
            }
        )
    return InputFile(
        source=name,
        file=info["file"],
        sha256=info["sha256"],
        tables=[name],
        rows_in=info["rows_in"],
        rows_used=int(counts.get(USED, 0)),
        excluded=excluded,
        rejected=rejected,
        reasons=reasons,
    )


def _in_file(rule: dict[str, Any], info: dict[str, Any]) -> dict[str, list]:
    """A rule's examples (1-based rows of all files read as one) that lie in this file, as its own row numbers."""
    start, end = info["start"], info["start"] + info["rows_in"]
    mine = [(r, v) for r, v in zip(rule["examples"], rule["values"], strict=True) if start < r <= end]
    return {"examples": [r - start for r, _ in mine], "values": [v for _, v in mine]}


def preset_inputs(
    entry: str, preset, tables: list[str], raw: RawRead, data: pd.DataFrame, status: pd.Series, notes: list[str]
) -> list[InputFile]:
    """Per-file accounting of a preset's export: every raw row used, excluded by a rule or rejected."""
    codes = raw.file_codes(status.index)
    files = []
    for k, info in enumerate(raw.files):
        mine = status[codes == k]
        counts = mine.value_counts()
        excluded, reasons = _not_data(info)
        reasons = [{**r, "column": None} for r in reasons]
        rejected: dict[str, int] = {}
        for label, n in counts.items():
            if label == USED:
                continue
            reason = preset.reason(label)
            (excluded if reason.category == "excluded" else rejected)[label] = int(n)
            reasons.append(_preset_reason(preset, reason, int(n), mine, label, info, data))
        files.append(
            InputFile(
                source=entry,
                file=info["file"],
                sha256=info["sha256"],
                tables=tables,
                rows_in=info["rows_in"],
                rows_used=int(counts.get(USED, 0)),
                excluded=excluded,
                rejected=rejected,
                preset=preset.name,
                reasons=reasons,
                notes=list(notes),
            )
        )
    return files


def _preset_reason(
    preset, reason, n: int, mine: pd.Series, label: str, info: dict[str, Any], data: pd.DataFrame
) -> dict[str, Any]:
    """One reason of a preset's rules, with up to MAX_EXAMPLES row numbers and their (masked) values."""
    rows = mine.index[(mine == label).to_numpy()][:MAX_EXAMPLES]
    examples = [int(i) - info["start"] + 1 for i in rows]
    values = []
    if reason.column and reason.column in data:
        values = [show_value(v) for v in data.loc[rows, reason.column]]
        if reason.column in preset.personal or any("@" in v for v in values):
            values = [mask_value(v) for v in values]
    return {
        "reason": label,
        "category": reason.category,
        "rows": n,
        "column": reason.column,
        "description": reason.description,
        "examples": examples,
        "values": values,
    }
