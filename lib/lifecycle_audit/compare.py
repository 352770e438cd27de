"""Audit over time: what changed between two runs of a client, read from their findings.json and manifest.json only.

A run folder keeps its findings (findings.json) and what it was run on (manifest.json). `load_run` reads the
two files of a folder into a `RunRecord`; `record` makes one from the same data in memory (the runner compares
a run with the client's previous one before its own manifest is written). `compare(then, now)` gives, per
stage, the score then and now, and per check the status change:

    fixed              judged both times, failed or warned then, passes now
    improved           failed then, warns now
    regressed          judged both times, worse now (pass -> warn or fail, warn -> fail)
    unchanged          judged both times, same status
    new                judged now, not then (not in the earlier run, or it could not be judged then: why)
    no_longer_judged   judged then, not now (the reason the later run gives, or: not in the later run)
    not_comparable     judged both times, but the check's thresholds, options or definition changed between
                       the runs: the comparison says so instead of comparing
    not_judged         judged neither time

with the change of its measured value and of its money at stake, and whether the two periods overlap.

Runs made by an older version still compare: what is missing (a manifest, the checks' options, the period)
becomes a note, never an error. Since this module exists, the runner records each check's options and a
fingerprint of its definition in findings.json (`settings`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import checks, findings, scoring
from .errors import CheckError, RunError
from .i18n import N_, Text, count, number, share
from .stages import CHECKED, STAGES

__all__ = [
    "CHANGES",
    "CheckChange",
    "Comparison",
    "Overlap",
    "RunRecord",
    "StageChange",
    "check_title",
    "compare",
    "day",
    "definition",
    "find_run",
    "history",
    "load_run",
    "previous_run",
    "record",
    "settings",
]

JUDGED = ("pass", "warn", "fail")
_RANK = {"fail": 0, "warn": 1, "pass": 2}
# The order the report lists changes in: what needs attention first.
CHANGES = (
    "regressed",
    "fixed",
    "improved",
    "new",
    "no_longer_judged",
    "not_comparable",
    "unchanged",
    "not_judged",
)
CHANGE_WORDS = {
    "regressed": N_("regressed"),
    "fixed": N_("fixed"),
    "improved": N_("improved"),
    "new": N_("new"),
    "no_longer_judged": N_("no longer judged"),
    "not_comparable": N_("not comparable"),
    "unchanged": N_("unchanged"),
    "not_judged": N_("not judged"),
}
FAIL_ON = ("regressed", "failed")
_TOLERANCE = 1e-9


# --------------------------------------------------------------------------------------------
# What a run recorded.


@dataclass
class RunRecord:
    """One run as a comparison sees it: its findings and what its manifest says (or what could be made up for
    a missing part, with a note)."""

    run_id: str
    findings: list[dict[str, Any]]
    client: str | None = None
    client_name: str | None = None
    started: dt.datetime | None = None
    period: tuple[dt.date, dt.date] | None = None
    stage_scores: dict[str, int | None] = field(default_factory=dict)
    currency: str | None = None
    locale: str | None = None
    version: str | None = None
    folder: Path | None = None
    notes: list[Text] = field(default_factory=list)  # what this run did not record, and what was done instead
    failed_stages: set[str] = field(default_factory=set)  # stages whose notebook did not finish

    @property
    def by_check(self) -> dict[str, dict[str, Any]]:
        return {f["check_id"]: f for f in self.findings if f.get("check_id")}

    @property
    def overall(self) -> int | None:
        return scoring.overall_score([self.stage_scores.get(s) for s in CHECKED])

    @property
    def at_stake(self) -> float:
        """The run's money at stake, overlaps counted once (findings.total_at_stake)."""
        return findings.total_at_stake(self.findings).total

    @property
    def recorded_settings(self) -> bool:
        """Whether the run recorded its checks' options and definitions (runs from before this module did not)."""
        judged = [f for f in self.findings if f.get("status") in JUDGED]
        return all("options" in f and "definition" in f for f in judged)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise RunError(f"cannot read {path}: {err.strerror or err}") from None
    except ValueError as err:
        raise RunError(f"{path} is not valid JSON: {err}") from None


def load_run(folder: str | Path) -> RunRecord:
    """A run folder's findings.json and manifest.json as a RunRecord; RunError when there is no findings.json."""
    folder = Path(folder)
    found = folder / "findings.json"
    if not found.is_file():
        raise RunError(f"{folder} holds no findings.json: not a run folder of the workbook")
    rows = _read_json(found)
    if not isinstance(rows, list):
        raise RunError(f"{found}: expected a list of findings")
    manifest_file = folder / "manifest.json"
    manifest = _read_json(manifest_file) if manifest_file.is_file() else None
    if manifest is not None and not isinstance(manifest, dict):
        manifest = None
    return record(rows, manifest, folder=folder, run_id=folder.name)


def record(
    rows: list[dict[str, Any]],
    manifest: dict[str, Any] | None,
    *,
    folder: Path | None = None,
    run_id: str | None = None,
) -> RunRecord:
    """A RunRecord from a run's findings (their JSON form) and its manifest (None when it has none)."""
    rows = [r for r in findings.as_dicts(rows) if isinstance(r, dict)]
    m = manifest or {}
    rid = str(m.get("run_id") or run_id or (folder.name if folder else "?"))
    notes: list[Text] = []
    if manifest is None:
        notes.append(
            Text(
                "Run {run} has no manifest.json: its stage scores were computed from its findings, and its period "
                "is unknown.",
                run=rid,
            )
        )
    params = m.get("params") if isinstance(m.get("params"), dict) else {}
    scores = _stage_scores(m.get("stages"))
    if manifest is not None and scores is None:
        notes.append(Text("Run {run} recorded no stage scores: they were computed from its findings.", run=rid))
    period = _period(m, params)
    if manifest is not None and period is None:
        notes.append(Text("Run {run} recorded no analysis period: whether the periods overlap is unknown.", run=rid))
    rec = RunRecord(
        run_id=rid,
        findings=rows,
        client=m.get("client") or params.get("client"),
        client_name=m.get("client_name") or params.get("client_name"),
        started=_datetime(m.get("started")),
        period=period,
        stage_scores=scores if scores is not None else _scores_from(rows),
        currency=params.get("currency"),
        locale=params.get("locale"),
        version=(m.get("versions") or {}).get("lifecycle-audit") if isinstance(m.get("versions"), dict) else None,
        folder=folder,
        notes=notes,
        failed_stages={f["stage"] for f in m.get("failed_stages") or [] if isinstance(f, dict) and f.get("stage")},
    )
    if not rec.recorded_settings:
        notes.append(
            Text(
                "Run {run} was made by an older version that did not record each check's options and definition: "
                "only their control points (good, poor), unit and direction were compared.",
                run=rid,
            )
        )
    return rec


def _stage_scores(stages: Any) -> dict[str, int | None] | None:
    """The stage scores as the manifest recorded them; None when it recorded none."""
    if not isinstance(stages, list):
        return None
    scores = {s["stage"]: s.get("score") for s in stages if isinstance(s, dict) and s.get("stage")}
    if not scores or not any("score" in s for s in stages if isinstance(s, dict)):
        return None
    return scores


def _scores_from(rows: list[dict[str, Any]]) -> dict[str, int | None]:
    """Each stage's score as the runner computes it (scoring.stage_score of its findings' scores)."""
    present = {f.get("stage") for f in rows}
    return {
        s: scoring.stage_score([f.get("score") for f in rows if f.get("stage") == s]) for s in CHECKED if s in present
    }


def day(value: Any) -> dt.date | None:
    """A date, datetime or ISO string ("2025-01-31…") as a date; None for anything else."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _datetime(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _period(m: dict[str, Any], params: dict[str, Any]) -> tuple[dt.date, dt.date] | None:
    """The analysis period: as recorded (manifest "period"), else as set in the params, else the span of the
    orders (or events, or messages) in the inputs, as the runner determines it (runner.manifest.period)."""
    for given in (m.get("period"), params.get("period")):
        if isinstance(given, dict):
            start, end = day(given.get("start")), day(given.get("end"))
            if start and end:
                return start, end
    tables = (m.get("inputs") or {}).get("tables") if isinstance(m.get("inputs"), dict) else None
    if isinstance(tables, dict):
        for name in ("orders", "events", "messages"):
            t = tables.get(name)
            if isinstance(t, dict) and day(t.get("date_min")) and day(t.get("date_max")):
                return day(t["date_min"]), day(t["date_max"])
    return None


# --------------------------------------------------------------------------------------------
# What the runner records so that later runs can tell a changed check.


def definition(spec: checks.CheckSpec) -> str:
    """A fingerprint of what a check measures and needs: its unit, direction, needs and option names. A change of
    any of them means its values and statuses no longer compare with an earlier run's."""
    what = {
        "unit": spec.unit,
        "better": spec.better,
        "bounded": spec.bounded,
        "needs": sorted(spec.needs),
        "options": sorted(spec.option_names),
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:12]


def settings(check_id: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """What findings.json records of a check besides its result: the options it ran with (defaults and the
    client's overrides) and the fingerprint of its definition; nothing for a check the catalogue does not know."""
    try:
        spec = checks.get(check_id)
        opts = findings.options(spec, overrides)
    except CheckError:
        return {}
    return {"options": opts.model_dump(mode="json"), "definition": definition(spec)}


# --------------------------------------------------------------------------------------------
# The comparison.


@dataclass
class StageChange:
    """A stage's score then and now."""

    stage: str
    score_then: int | None
    score_now: int | None

    @property
    def delta(self) -> int | None:
        return None if self.score_then is None or self.score_now is None else self.score_now - self.score_then


@dataclass
class CheckChange:
    """One check in both runs: statuses, scores, values and money at stake, and what changed."""

    check_id: str
    stage: str
    title: Any  # a msgid (str) or a Text's dict form, as findings.json holds it
    change: str  # one of CHANGES
    status_then: str | None  # None: not in that run
    status_now: str | None
    score_then: int | None = None
    score_now: int | None = None
    value_then: float | None = None
    value_now: float | None = None
    unit: str | None = None
    stake_then: float | None = None
    stake_now: float | None = None
    reason: Text | None = None  # why: not judged, no longer judged, or not comparable
    notes: list[Text] = field(default_factory=list)

    @property
    def value_delta(self) -> float | None:
        if self.change == "not_comparable" or self.value_then is None or self.value_now is None:
            return None
        return self.value_now - self.value_then

    @property
    def stake_delta(self) -> float | None:
        if self.change == "not_comparable" or self.stake_then is None or self.stake_now is None:
            return None
        if not self.stake_then and not self.stake_now:
            return None
        return self.stake_now - self.stake_then


@dataclass
class Overlap:
    """Whether the two runs' analysis periods overlap: same, overlap, apart or unknown, and by how many days."""

    kind: str
    days: int | None = None
    share: float | None = None  # of the later run's period

    @property
    def text(self) -> Text:
        if self.kind == "same":
            return Text(
                "Both runs audit the same period: differences come from changed data or settings, not from time "
                "passing."
            )
        if self.kind == "overlap":
            return Text(
                "The periods overlap by {days} days ({share} of the later period): orders in the overlap count in "
                "both audits, so changes show less than on separate periods.",
                days=count(self.days),
                share=share(self.share, 0),
            )
        if self.kind == "apart":
            return Text("The periods do not overlap: each audit judges its own orders.")
        return Text("Whether the periods overlap is unknown: a run did not record its period.")


@dataclass
class Comparison:
    """What changed from one run (then) to another (now), per stage and per check, with notes on missing fields."""

    then: RunRecord
    now: RunRecord
    stages: list[StageChange]
    checks: list[CheckChange]
    overlap: Overlap
    notes: list[Text]

    def of(self, change: str) -> list[CheckChange]:
        """The checks with this change."""
        return [c for c in self.checks if c.change == change]

    def counts(self) -> dict[str, int]:
        """How many checks have each change, in the order of CHANGES (changes with none left out)."""
        return {k: n for k in CHANGES if (n := len(self.of(k)))}

    @property
    def failed(self) -> list[CheckChange]:
        """The checks that fail in the later run."""
        return [c for c in self.checks if c.status_now == "fail"]

    def exit_code(self, fail_on: str = "regressed") -> int:
        """1 when a check regressed (fail_on="regressed") or fails in the later run (fail_on="failed"), else 0."""
        if fail_on not in FAIL_ON:
            raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
        bad = self.of("regressed") if fail_on == "regressed" else self.failed
        return 1 if bad else 0


def compare(then: RunRecord, now: RunRecord) -> Comparison:
    """What changed from run `then` to run `now`, per stage and per check."""
    a, b = then.by_check, now.by_check
    ids = _check_order(a, b)
    absent = (_absent(then, "earlier"), _absent(now, "later"))
    rows = [_check_change(cid, a.get(cid), b.get(cid), absent) for cid in ids]
    stage_ids = [s for s in STAGES if s in then.stage_scores or s in now.stage_scores]
    stage_rows = [StageChange(s, then.stage_scores.get(s), now.stage_scores.get(s)) for s in stage_ids if s in CHECKED]
    return Comparison(
        then=then,
        now=now,
        stages=stage_rows,
        checks=rows,
        overlap=overlap(then.period, now.period),
        notes=_run_notes(then, now),
    )


def _check_order(a: dict[str, dict], b: dict[str, dict]) -> list[str]:
    """The checks of both runs in the catalogue's order, then any the catalogue no longer knows."""
    known = [s.id for s in checks.specs()]
    either = set(a) | set(b)
    rest = sorted(either - set(known), key=lambda c: (_stage_index(c, a, b), c))
    return [c for c in known if c in either] + rest


def _stage_index(check_id: str, a: dict[str, dict], b: dict[str, dict]) -> int:
    stage = (b.get(check_id) or a.get(check_id) or {}).get("stage") or check_id.split(".", 1)[0]
    return STAGES.index(stage) if stage in STAGES else len(STAGES)


def _judged(f: dict[str, Any] | None) -> bool:
    return f is not None and f.get("status") in JUDGED


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return None if math.isnan(v) or math.isinf(v) else float(v)


def _stake(f: dict[str, Any] | None) -> float | None:
    """Money at stake as the totals count it: a failed or warned finding's figure, nothing for a pass."""
    if not _judged(f):
        return None
    if f["status"] == "pass":
        return 0.0
    return _number(f.get("at_stake"))


def check_title(check_id: str, then: dict | None, now: dict | None) -> Any:
    """The check's name as the catalogue states it (the passing form); else as a run recorded it."""
    try:
        return checks.get(check_id).title
    except CheckError:
        return (now or then or {}).get("title") or check_id


def _absent(rec: RunRecord, which: str) -> dict[str, Text]:
    """Why a check is missing from a run, by stage: its stage did not finish there, or it is not in the run."""
    words = {
        "earlier": (N_("the check is not in the earlier run"), N_("its stage did not finish in the earlier run")),
        "later": (N_("the check is not in the later run"), N_("its stage did not finish in the later run")),
    }[which]
    return {s: Text(words[1]) for s in rec.failed_stages} | {"": Text(words[0])}


def _missing(absent: dict[str, Text], stage: str) -> Text:
    return absent.get(stage, absent[""])


def _check_change(
    check_id: str, then: dict | None, now: dict | None, absent: tuple[dict[str, Text], dict[str, Text]]
) -> CheckChange:
    either = now or then or {}
    row = CheckChange(
        check_id=check_id,
        stage=either.get("stage") or check_id.split(".", 1)[0],
        title=check_title(check_id, then, now),
        change="unchanged",
        status_then=(then or {}).get("status"),
        status_now=(now or {}).get("status"),
        score_then=(then or {}).get("score"),
        score_now=(now or {}).get("score"),
        value_then=_number((then or {}).get("value")) if _judged(then) else None,
        value_now=_number((now or {}).get("value")) if _judged(now) else None,
        unit=either.get("unit"),
        stake_then=_stake(then),
        stake_now=_stake(now),
    )
    if not _judged(then) and not _judged(now):
        row.change, row.reason = "not_judged", _why_not(now, _missing(absent[1], row.stage))
    elif not _judged(now):
        row.change, row.reason = "no_longer_judged", _why_not(now, _missing(absent[1], row.stage))
    elif not _judged(then):
        row.change = "new"
        row.reason = (
            _missing(absent[0], row.stage)
            if then is None
            else Text("not judged in the earlier run: {reason}", reason=_why_not(then, Text("no reason was given")))
        )
    else:
        changed = _changed_settings(then, now)
        if changed is not None:
            row.change, row.reason = "not_comparable", changed
        else:
            row.change = _status_change(then["status"], now["status"])
    if row.change not in ("not_judged", "no_longer_judged", "not_comparable"):
        row.notes = _missing_fields(then, now)
    return row


def _status_change(then: str, now: str) -> str:
    if _RANK[now] > _RANK[then]:
        return "fixed" if now == "pass" else "improved"
    if _RANK[now] < _RANK[then]:
        return "regressed"
    return "unchanged"


def _why_not(f: dict | None, absent: Text) -> Text:
    """Why a run did not judge a check: the reason it recorded, that it stopped on an error, or `absent`."""
    if f is None:
        return absent
    if f.get("status") == "error":
        return Text("the check stopped on an error")
    reason = f.get("reason")
    if isinstance(reason, dict) and "msgid" in reason:
        return Text.from_dict(reason)
    if isinstance(reason, str) and reason:
        return Text(reason)
    return Text("no reason was given")


def _missing_fields(then: dict | None, now: dict | None) -> list[Text]:
    """A note for each field a judged finding should hold and does not (a run made by an older version)."""
    notes = []
    for which, f in (("earlier", then), ("later", now)):
        if not _judged(f):
            continue
        for key in ("value", "score"):
            if _number(f.get(key)) is None:
                notes.append(Text(_MISSING[which, key]))
    return notes


_MISSING = {
    ("earlier", "value"): N_("the earlier run recorded no value"),
    ("earlier", "score"): N_("the earlier run recorded no score"),
    ("later", "value"): N_("the later run recorded no value"),
    ("later", "score"): N_("the later run recorded no score"),
}


def _changed_settings(then: dict, now: dict) -> Text | None:
    """What changed in how the check judges between the runs (its definition, unit, direction, thresholds or
    options), as one sentence; None when nothing did. Options are compared where both runs recorded them, else
    only the control points every finding holds."""
    parts: list[Text] = []
    d_then, d_now = then.get("definition"), now.get("definition")
    if (d_then and d_now and d_then != d_now) or any(
        then.get(k) and now.get(k) and then.get(k) != now.get(k) for k in ("unit", "better")
    ):
        parts.append(Text("its definition changed (what it measures or the data it needs)"))
    o_then, o_now = then.get("options"), now.get("options")
    if not (isinstance(o_then, dict) and isinstance(o_now, dict)):
        o_then = {k: then.get(k) for k in ("good", "poor")}
        o_now = {k: now.get(k) for k in ("good", "poor")}
    for name in sorted(set(o_then) | set(o_now), key=lambda k: (k not in ("good", "poor"), k)):
        x, y = o_then.get(name), o_now.get(name)
        if x is None or y is None or _same(x, y):
            continue
        parts.append(Text("{option}: {then} → {now}", option=name, then=_shown(x), now=_shown(y)))
    if not parts:
        return None
    head, *rest = parts
    joined = head
    for p in rest:
        joined = Text("{a}; {b}", a=joined, b=p)
    return Text("its thresholds or definition changed between the runs, so it is not compared: {what}", what=joined)


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return math.isclose(float(x), float(y), rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)
    return x == y


def _shown(v: Any) -> Any:
    """An option's value as the note shows it: a number with the decimals it has (0.05, not 0.050)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    decimals = next(d for d in range(7) if d == 6 or round(v, d) == round(v, 6))
    return number(v, decimals)


def overlap(then: tuple[dt.date, dt.date] | None, now: tuple[dt.date, dt.date] | None) -> Overlap:
    """Whether two analysis periods (first and last day, both included) overlap, and by how many days."""
    if then is None or now is None:
        return Overlap("unknown")
    if then == now:
        days = (now[1] - now[0]).days + 1
        return Overlap("same", days, 1.0)
    days = (min(then[1], now[1]) - max(then[0], now[0])).days + 1
    if days <= 0:
        return Overlap("apart", 0, 0.0)
    later = max(then, now, key=lambda p: (p[1], p[0]))
    return Overlap("overlap", days, days / ((later[1] - later[0]).days + 1))


def _run_notes(then: RunRecord, now: RunRecord) -> list[Text]:
    notes = list({n.render("en"): n for n in [*then.notes, *now.notes]}.values())  # a run compared with itself
    if then.client and now.client and then.client != now.client:
        notes.append(Text("The runs audit different clients ({then} and {now}).", then=then.client, now=now.client))
    if then.started and now.started and _naive(then.started) > _naive(now.started):
        notes.append(
            Text(
                "Run {then} was made after run {now}: the comparison runs backwards in time.",
                then=then.run_id,
                now=now.run_id,
            )
        )
    if then.version and now.version and then.version != now.version:
        notes.append(
            Text(
                "The runs were made by different versions of the workbook ({then} and {now}).",
                then=then.version,
                now=now.version,
            )
        )
    return notes


def _naive(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


# --------------------------------------------------------------------------------------------
# Finding runs.


def _runs_in(client_dir: Path) -> list[Path]:
    """The complete run folders (holding findings.json) of a client's reports folder: a run still being written, or
    one that was killed, sits in a hidden `.<run-id>.partial` folder and is no run to compare with."""
    if not client_dir.is_dir():
        return []
    return [
        p for p in client_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "findings.json").is_file()
    ]


def _started(folder: Path) -> tuple:
    """A run folder's sort key: when it started (its manifest), else its name (a run id is its start time)."""
    try:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        when = _datetime(m.get("started")) if isinstance(m, dict) else None
    except (OSError, ValueError):
        when = None
    return (_naive(when) if when else dt.datetime.min, folder.name)


def history(client_dir: str | Path) -> list[Path]:
    """Every run folder of a client, oldest first."""
    return sorted(_runs_in(Path(client_dir)), key=_started)


def previous_run(client_dir: str | Path, run_id: str, started: dt.datetime | None = None) -> Path | None:
    """The client's run before `run_id`: the latest that started before it (`started`, else when its manifest says it
    started); a run not in the folder yet and not dated comes after every run there."""
    own = Path(client_dir) / run_id
    if started is not None:
        key = (_naive(started), run_id)
    elif (own / "manifest.json").is_file():
        key = _started(own)
    else:
        key = None
    runs = [p for p in history(client_dir) if p.name != run_id and (key is None or _started(p) < key)]
    return runs[-1] if runs else None


def find_run(ref: str, reports: str | Path) -> Path:
    """A run folder named by `ref`: a folder's path, "client/run-id", or a run id under `reports`/<client>/."""
    path = Path(ref)
    if (path / "findings.json").is_file():
        return path
    base = Path(reports)
    direct = base / ref
    if (direct / "findings.json").is_file():
        return direct
    hits = sorted(p for p in base.glob(f"*/{ref}") if (p / "findings.json").is_file()) if "/" not in ref else []
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise RunError(f"run {ref!r} is in several clients' folders: {', '.join(str(h) for h in hits)}; name one")
    raise RunError(f"no run {ref!r}: give a run folder, or a run id under {base}")
