"""Reading every source: one table, all tables with their references, and the canonical tables prepared."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from .. import contract, paths
from ..errors import ParamsError, SourceError
from . import presets
from .accounting import account_read, plain_inputs
from .cache import cache_folder, cache_key, read_cached, write_cached
from .demo import ensure_demo_data
from .entries import check_params
from .mapping import needed_columns
from .messages import display, pct, plural, preset_message, shown_from, verb
from .model import BLANK_ROW, TOO_MANY_REJECTED, InputFile, Prepared, Problem, Progress, TableLoad, file_problem
from .read import SourceFileError, Unreadable, file_sha256, parquet_header, read_source
from .staged import Staged
from .stream import NotStreamed, load_streamed, streamable
from .validate import check_references, dependency_order, validate_frame
from .web import session_key, with_hit_columns

Validated = tuple[dict[str, pd.DataFrame | Staged], dict[str, TableLoad], list[InputFile]]


def load_table(params, table: str, progress: Progress = None) -> tuple[pd.DataFrame | None, TableLoad]:
    """Read one table: map, coerce and check its rows (not its references to other tables).

    Returns the canonical frame (contract columns and dtypes, the rows that passed) or None when the
    file cannot be used, and its accounting.
    """
    with shown_from(params.data_path):
        df, load = _load(params, table, progress)
    if df is not None:
        df = df.reset_index(drop=True)
    return df, load


def check_sources(params, progress: Progress = None) -> Prepared:
    """Validate every table in params.sources, including references between tables; writes nothing."""
    check_params(params)
    with shown_from(params.data_path), _staging(paths.CACHE / "staging") as stage:
        _, loads, inputs = _validate_all(params, progress, stage=stage)
    return Prepared(folder=None, loads=loads, inputs=inputs)


def rehearse(params, progress: Progress = None) -> tuple[Prepared, Verdict]:
    """What `run` would do with the data, writing no table: the accounting (values as they are), and the
    verdict `prepare` would act on (`judge`: the same decision, the same limits). A demo params file gets its
    generated shop first, as `run` does (never a client's folder: only where params.demo is set)."""
    ensure_demo_data(params, progress)
    prepared = check_sources(params, progress)
    return prepared, judge(prepared, params)


def prepare(params, *, max_rejected_share: float | None = None, progress: Progress = None) -> Prepared:
    """Validate the sources and store them as canonical Parquet in a content-addressed cache folder.

    The folder is paths.CACHE/tables/<client>/<key>, the key hashing the sources mapping, the input
    files' sha256 and the package version. A complete folder is reused without reading the inputs
    again (only hashing them). Raises SourceError when a table cannot be used or rejects more than
    `max_rejected_share` of its rows; that error shows the offending values as they are, while the
    returned accounting (and accounting.json) masks customer identifiers and e-mail addresses in its
    examples, since it feeds the report.
    """
    check_params(params)
    say = progress or (lambda message: None)
    hashes = {str(path): file_sha256(path) for name in params.sources for path in params.input_files(name)}
    key = cache_key(params, hashes)
    folder = cache_folder(params, key)
    cached = read_cached(folder)
    if cached is not None:
        say(f"using the canonical tables prepared earlier ({display(folder)})")
        cached.key, cached.reused = key, True
        raise_if_unfit(cached, max_rejected_share, params)
        return cached
    with shown_from(params.data_path), _staging(folder.parent) as stage:
        frames, loads, inputs = _validate_all(params, progress, hashes, stage)
        prepared = Prepared(folder=folder, loads=loads, key=key, inputs=inputs)
        raise_if_unfit(prepared, max_rejected_share, params)  # the error shows the values as they are
        prepared = prepared.masked()  # what is kept feeds the report: masked
        say(f"writing canonical tables to {display(folder)}")
        write_cached(folder, key, frames, prepared)
    return prepared


@contextmanager
def _staging(parent: Path) -> Iterator[Path]:
    """A folder for the large tables staged while they are checked (sources.stream), removed afterwards."""
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=parent) as folder:
        yield Path(folder)


# --- one table ---------------------------------------------------------------------------------


def _load(
    params, name: str, progress: Progress = None, hashes: dict[str, str] | None = None
) -> tuple[pd.DataFrame | None, TableLoad]:
    spec = contract.table(name)
    if name not in params.sources:
        raise ParamsError(
            f"the {name} table is not listed under sources in {params.source_file or 'the params'}; "
            f"listed: {', '.join(params.sources) or 'none'}"
        )
    src = params.sources[name]
    shown = display(params.source_path(name))
    load = TableLoad.empty(name, shown)
    files = params.input_files(name)
    try:
        raw = read_source(params, name, progress, hashes, columns=_parquet_columns(spec, src, files), notes=load.notes)
    except SourceFileError as err:
        load.file = err.file if len(files) <= 1 else shown
        load.problems.append(file_problem(name, err.file, err.kind, err.message))
        return None, load
    account_read(load, raw, shown)
    if src.web is not None:  # raw web hits: sessions, channel, page type and device derived (sources/web.py)
        frame = with_hit_columns(raw.frame, src, session_key(params.client), load.notes)
        raw = replace(raw, frame=frame, header=list(frame.columns))
    return validate_frame(name, raw, src, load)


def _parquet_columns(spec: contract.Table, src, files) -> list[str] | None:
    """For a source of Parquet files: only the columns the mapping needs (read from the header); else None (all)."""
    if src.web is not None:  # raw web hits: the URL, referrer and user agent columns are read too
        return None
    if not files or not all(src.format_of(f) == "parquet" for f in files if _format_ok(src, f)):
        return None
    try:
        names, _ = parquet_header(files[0])
    except Unreadable:
        return None
    return needed_columns(spec, src, names)


def _format_ok(src, path) -> bool:
    try:
        src.format_of(path)
        return True
    except ParamsError:
        return False


# --- all tables --------------------------------------------------------------------------------


def _validate_all(
    params, progress: Progress, hashes: dict[str, str] | None = None, stage: Path | None = None
) -> Validated:
    """Read and check every source: presets first (they yield several tables), then plain mappings,
    then the references between tables; frames and loads in contract order, inputs in sources order.
    With a `stage` folder, a large plain table (Parquet or delimited text) is checked in batches and staged there
    (sources.stream)."""
    frames, loads, from_presets = _run_presets(params, progress, hashes)
    plain = [name for name, src in params.sources.items() if src.preset is None]
    for name in dependency_order(plain):
        streamed = None
        try:
            if stage is not None and streamable(params, name):
                streamed = load_streamed(params, name, stage, progress, hashes)
        except NotStreamed:  # a later file's header differs from the first's: its columns are joined as read whole
            pass
        df, loads[name] = streamed or _load(params, name, progress, hashes=hashes)
        if df is not None:
            frames[name] = df
    if progress and len(frames) > 1:
        progress("checking references between tables")
    for name in dependency_order(frames):
        check_references(name, frames, loads[name], loads)
    inputs: list[InputFile] = []
    for entry, src in params.sources.items():
        if src.preset is not None:
            inputs.extend(f for f in from_presets if f.source == entry)
        else:
            inputs.extend(plain_inputs(entry, loads[entry]))
    ordered = {name: loads[name] for name in contract.TABLE_ORDER if name in loads}
    return {name: frames[name] for name in contract.TABLE_ORDER if name in frames}, ordered, inputs


def _run_presets(params, progress: Progress, hashes: dict[str, str] | None) -> Validated:
    frames: dict[str, pd.DataFrame] = {}
    loads: dict[str, TableLoad] = {}
    inputs: list[InputFile] = []
    for entry, src in params.sources.items():
        if src.preset is not None:
            out_frames, out_loads, files = presets.run(params, entry, progress, hashes)
            frames.update(out_frames)
            loads.update(out_loads)
            inputs.extend(files)
    return frames, loads, inputs


# --- the too-many-rejected rule: one decision for validate and run -----------------------------


@dataclass
class Verdict:
    """Whether the data lets the audit run: what stops it, and what is only noted (rows rejected within the
    share allowed). `validate` prints it and `run` raises with `stops`: the two decide the same."""

    stops: list[Problem] = field(default_factory=list)
    noted: list[Problem] = field(default_factory=list)

    @property
    def go(self) -> bool:
        """True when the audit would go ahead on this data."""
        return not self.stops


def limits(params, prepared: Prepared, overall: float | None = None) -> dict[str, float]:
    """The largest rejected share allowed per sources entry and per table: the entry's own max_rejected_share,
    else `overall` (default: the params file's)."""
    if overall is None:
        overall = getattr(params, "max_rejected_share", 0.01)
    sources = getattr(params, "sources", {}) or {}

    def of(entry: str | None) -> float:
        own = getattr(sources.get(entry), "max_rejected_share", None) if entry in sources else None
        return overall if own is None else own

    out = {entry: of(entry) for entry in sources}
    entry_of = {t: i.source for i in prepared.inputs for t in i.tables}
    for name in prepared.loads:
        out[name] = of(entry_of.get(name, name))
    return out


def judge(prepared: Prepared, params, overall: float | None = None) -> Verdict:
    """The one decision whether the data stops the audit (used by `validate` and by `prepare` for `run`).

    Stops it: a table that cannot be used; a preset's input file, or a table, rejecting more than the share
    allowed (the source's max_rejected_share, else the overall one). Rows a preset excludes by its rules, and
    blank rows, do not count. Rejections within the share are noted, with their reasons.
    """
    allowed = limits(params, prepared, overall)
    entry_of = {t: i.source for i in prepared.inputs for t in i.tables}
    verdict = Verdict(stops=list(prepared.fatal))
    from_presets = {t for i in prepared.inputs if i.preset for t in i.tables}
    for i in prepared.inputs:
        if i.preset and i.rows_rejected:
            reasons = preset_problems(i)
            limit = allowed[i.source] if i.source in allowed else min(allowed.values(), default=0.01)
            if i.rejected_share > limit:
                verdict.stops.extend(reasons + [_preset_overflow(i, limit)])
            else:
                verdict.noted.extend(reasons)
    for name, load in prepared.loads.items():
        if not load.usable or (name in from_presets and load.rows_rejected == 0):
            continue
        reasons = [p for p in load.problems if not p.fatal]
        if load.rejected_share > allowed[name]:
            verdict.stops.extend(reasons + [_table_overflow(name, load, allowed[name], entry_of.get(name, name))])
        else:
            verdict.noted.extend(reasons)
    return verdict


def rejections(prepared: Prepared) -> list[Problem]:
    """Every row problem, as validate prints them and the data-health page lists them: the plain tables' (and
    the reference checks') problems, and the rejected reasons of each preset input file."""
    out = [p for load in prepared.loads.values() for p in load.problems if not p.fatal]
    for i in prepared.inputs:
        if i.preset:
            out.extend(preset_problems(i))
    return out


def raise_if_unfit(prepared: Prepared, max_rejected_share: float, params=None) -> None:
    """Raise SourceError with what stops the audit (see `judge`), if anything does."""
    verdict = judge(prepared, params, max_rejected_share)
    if not verdict.go:
        raise SourceError(verdict.stops)


def preset_problems(i: InputFile) -> list[Problem]:
    """The rejected reasons of a preset's input file, each naming the export's field and example rows."""
    tables = ", ".join(i.tables)
    return [
        Problem(
            table=tables,
            file=i.file,
            column=r.get("column"),
            kind=r["reason"],
            message=preset_message(r),
            count=r["rows"],
            examples=r.get("examples", []),
            example_values=list(r.get("values") or []),
        )
        for r in i.reasons
        if r["category"] == "rejected"
    ]


def _preset_overflow(i: InputFile, max_rejected_share: float) -> Problem:
    """The summary that a preset's input file rejects too many rows."""
    excluded = (
        f"; the {plural(i.rows_excluded, 'row')} the preset {i.preset} excludes by its rules do not count"
        if i.rows_excluded
        else ""
    )
    return Problem(
        table=", ".join(i.tables),
        file=i.file,
        column=None,
        kind=TOO_MANY_REJECTED,
        fatal=True,
        count=i.rows_rejected,
        message=(
            f"{i.rows_rejected:,} of {plural(i.rows_in, 'row')} ({pct(i.rejected_share)}) "
            f"{verb(i.rows_rejected, 'was', 'were')} rejected as bad data, more than the {pct(max_rejected_share)} "
            f"allowed (max_rejected_share{excluded}); the reasons are listed above: fix the export or the preset's "
            f"options, or allow a larger share (sources.{i.source}.max_rejected_share)"
        ),
    )


def _table_overflow(name: str, load: TableLoad, max_rejected_share: float, entry: str) -> Problem:
    data_rows = load.rows_in - load.rejected.get(BLANK_ROW, 0)
    bad = load.rows_rejected - load.rejected.get(BLANK_ROW, 0)
    return Problem(
        table=name,
        file=load.file,
        column=None,
        kind=TOO_MANY_REJECTED,
        fatal=True,
        count=bad,
        message=(
            f"table {name}: {bad:,} of {plural(data_rows, 'row')} ({pct(load.rejected_share)}) "
            f"{verb(bad, 'was', 'were')} rejected, more than the {pct(max_rejected_share)} allowed "
            "(max_rejected_share); the reasons are listed above: fix the export or the column mapping, or allow "
            f"a larger share (sources.{entry}.max_rejected_share)"
        ),
    )
