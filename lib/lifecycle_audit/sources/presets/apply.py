"""Running a preset: read the export, rename its columns onto the preset's fields, build, validate, account.

A preset entry takes the options of a plain mapping, applied to the preset's input (its fields, before the
build): `columns:` names their column for a field, `derived:` computes a field by arithmetic over their columns
(e.g. a unit price from a line total), `constants:` gives a field one value for every row, and `values:` maps
a field's values (whatever fed it). The build then judges the fields as it would judge the export's own.
"""

from __future__ import annotations

import pandas as pd

from ...params import ReadOptions
from ..accounting import preset_inputs
from ..mapping import derive, expr_columns, map_values
from ..messages import display, listing
from ..model import BLANK_ROW, REPEATED_HEADER, InputFile, Progress, TableLoad, file_problem
from ..read import RawRead, SourceFileError, read_source
from ..validate import validate_frame
from .base import Built, Context, Preset
from .registry import get, validate


def run(params, entry: str, progress: Progress = None, hashes: dict[str, str] | None = None):
    """Read sources[entry] and build its tables: (frames, loads, per-file accounting)."""
    src = params.sources[entry]
    preset = get(src.preset)
    opts = preset.options.model_validate(_with_shop_timezone(preset, src.options, params))
    wanted = validate(src)
    notes: list[str] = []
    reading = _with_preset_reading(params, entry, preset)
    try:
        raw = read_source(reading, entry, progress, hashes, notes=notes)
    except SourceFileError as err:
        return _unreadable(entry, preset, wanted, err)
    rename, absent = _field_columns(preset, src, list(raw.frame.columns))
    if absent:
        return _missing_fields(entry, preset, wanted, raw, absent)
    data = _fields(raw.frame, rename, preset, src, notes)
    data = _given_fields(data, raw.frame, src, reading.sources[entry].read, notes)
    data = _mapped_values(data, src.values, notes)
    built = preset.build(data, opts, Context(params=params, entry=entry, notes=notes))
    status = pd.Series(built.status, index=data.index)
    notes.extend(n for n in built.notes if n not in notes)
    frames, loads = _validated_tables(built, wanted, preset, src, raw, display(params.source_path(entry)), notes)
    return frames, loads, preset_inputs(entry, preset, wanted, raw, data, status, notes)


def _with_shop_timezone(preset: Preset, options: dict, params) -> dict:
    """The preset's options, with the params file's shop-wide `timezone:` when the preset takes one and none is set."""
    shop = getattr(params, "timezone", None)
    if shop and "timezone" in preset.options.model_fields and options.get("timezone") is None:
        return {**options, "timezone": shop}
    return options


def _with_preset_reading(params, entry: str, preset: Preset):
    """The params with sources[entry] read by the preset's read defaults, overridden by whatever they set."""
    src = params.sources[entry]
    read = {**preset.read, **{k: getattr(src.read, k) for k in src.read.model_fields_set}}
    src_read = src.model_copy(update={"read": ReadOptions(**read)})
    return params.model_copy(update={"sources": {**params.sources, entry: src_read}})


def _unreadable(entry: str, preset: Preset, wanted: list[str], err: SourceFileError):
    loads = {
        t: TableLoad.empty(t, err.file, problems=[file_problem(t, err.file, err.kind, err.message)]) for t in wanted
    }
    files = [
        InputFile(
            source=entry,
            file=err.file,
            sha256="",
            tables=wanted,
            rows_in=0,
            rows_used=0,
            preset=preset.name,
            notes=[err.message],
        )
    ]
    return {}, loads, files


def _field_columns(preset: Preset, src, header: list[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """({client column: preset field}, [(field, client column)] of the required fields the file lacks, and of the
    columns a derived field uses that the file lacks)."""
    stripped = {h.strip().lower(): h for h in header}
    rename, absent = {}, []
    for fld, expr in src.derived.items():
        absent.extend((fld, c) for c in expr_columns(expr) if _found(c, header, stripped) is None)
    for fld, default in preset.fields.items():
        if fld in src.constants or fld in src.derived:
            continue
        client = src.columns.get(fld, default)
        found = _found(client, header, stripped)
        if found is None:
            if fld in preset.required:
                absent.append((fld, client))
        else:
            rename[found] = fld
    return rename, absent


def _found(client: str, header: list[str], stripped: dict[str, str]) -> str | None:
    """The file's column of that name, or of that name in another case or with surrounding spaces."""
    return client if client in header else stripped.get(client.strip().lower())


def _missing_fields(entry: str, preset: Preset, wanted: list[str], raw: RawRead, absent: list[tuple[str, str]]):
    header = list(raw.frame.columns)
    message = (
        "; ".join(f"column '{client}' (preset {preset.name} field {fld}) is missing" for fld, client in absent)
        + f"; the file's columns are: {listing([repr(h) for h in header])}; map them under sources.{entry}.columns "
        f"({{field: their column}})"
    )
    first = raw.files[0]
    loads = {
        t: TableLoad.empty(
            t,
            first["file"],
            first["sha256"],
            problems=[
                file_problem(
                    t, first["file"], "missing_column", message, column=absent[0][0], client_column=absent[0][1]
                )
            ],
        )
        for t in wanted
    }
    files = [
        InputFile(
            source=entry,
            file=f["file"],
            sha256=f["sha256"],
            tables=wanted,
            rows_in=f["rows_in"],
            rows_used=0,
            rejected={"unusable file": f["rows_in"]},
            preset=preset.name,
            notes=[message],
        )
        for f in raw.files
    ]
    return {}, loads, files


def _fields(frame: pd.DataFrame, rename: dict[str, str], preset: Preset, src, notes: list[str]) -> pd.DataFrame:
    """The export's rows under the preset's field names (absent fields empty)."""
    data = frame[list(rename)].rename(columns=rename)
    for fld in preset.fields:
        if fld not in data:
            data[fld] = pd.Series(pd.NA, index=data.index, dtype="string")
    return data


def _given_fields(data: pd.DataFrame, frame: pd.DataFrame, src, read: ReadOptions, notes: list[str]) -> pd.DataFrame:
    """The fields the entry computes (`derived:`) or sets (`constants:`) instead of reading them from a column.

    A derived value is written as text, and where an input is not a number the input itself is kept, so the
    preset rejects the row under its own rule (an unreadable price) with the client's value as the example."""
    header = list(frame.columns)
    stripped = {h.strip().lower(): h for h in header}
    for fld, expr in src.derived.items():
        values, bad, shown, note = derive(expr, frame, lambda c: _found(c, header, stripped), read)
        data[fld] = values.astype("string").mask(bad, shown)
        notes.append(f"{fld} derived as {expr}" + (f" ({note})" if note else ""))
    for fld, value in src.constants.items():
        data[fld] = pd.Series(None if value is None else str(value), index=data.index, dtype="string")
        notes.append(f"{fld} set to {value!r} for every row (constants)")
    return data


def _mapped_values(data: pd.DataFrame, values: dict, notes: list[str]) -> pd.DataFrame:
    """The fields' values mapped onto the preset's (`values:`), whatever fed the field."""
    for fld, mapping in values.items():
        data[fld], note = map_values(data[fld], mapping)
        if note:
            notes.append(f"{fld}: {note}")
    return data


def _validated_tables(
    built: Built, wanted: list[str], preset: Preset, src, raw: RawRead, shown: str, notes: list[str]
) -> tuple[dict[str, pd.DataFrame], dict[str, TableLoad]]:
    """Contract validation of the tables the preset built (a safety net: they should pass whole)."""
    plain = src.model_copy(
        update={
            "preset": None,
            "options": {},
            "tables": None,
            "columns": {},
            "values": {},
            "constants": {},
            "derived": {},
            "read": ReadOptions(),
        }
    )
    frames, loads = {}, {}
    for t in wanted:
        table = built.tables[t].reset_index(drop=True)
        load = TableLoad.empty(
            t,
            shown if len(raw.files) > 1 else raw.files[0]["file"],
            raw.sha256,
            rows_in=len(table),
            format=f"preset {preset.name}",
        )
        load.notes.append(f"derived by preset {preset.name} from {load.file}")
        typed = RawRead(
            frame=table,
            header=list(table.columns),
            fmt="parquet",
            text=False,
            files=[
                {
                    "file": load.file,
                    "sha256": raw.sha256,
                    "rows_in": len(table),
                    "start": 0,
                    BLANK_ROW: 0,
                    REPEATED_HEADER: 0,
                }
            ],
        )
        df, load = validate_frame(t, typed, plain, load)
        load.notes.extend(notes)
        loads[t] = load
        if df is not None:
            frames[t] = df
    return frames, loads
