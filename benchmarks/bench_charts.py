"""Chart drawing speed: median milliseconds per chart of report.charts.svg, over the charts a demo audit draws.

Run on demand (not a test):

    .venv/bin/python benchmarks/bench_charts.py [--repeats 5] [--check DIR] [--module FILE] [--fixed-only]

The charts: every finding's chart of the demo shop (each stage's checks, as `workbook.show` draws them), every
chart a stage notebook's views draw (the notebook's own cells, run with `audit.plot` collecting the chart instead
of showing it), and a fixed set that covers every kind with long titles and axis labels in three languages. The
demo's canonical tables must exist (`make demo` once); the collected charts are kept in .cache/bench-charts/ so a
second run starts drawing at once.

Each round draws every chart once; the figures are medians over the rounds: per chart, then the mean and median of
those over the charts, with the CPU time (user+sys) of a round beside its wall time. The machine is shared: compare
two versions with runs interleaved (`--module` draws with another copy of charts.py, e.g. the main branch's from
`git show main:lib/lifecycle_audit/report/charts.py > /tmp/charts_main.py`).

--check DIR: writes each chart's SVG into DIR when DIR holds none, else compares with what it holds and lists
every chart whose SVG differs (the SVGs' element ids come from their content: matplotlib's svg.hashsalt is fixed).
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import json
import os
import pickle
import re
import statistics
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from lifecycle_audit import lang, paths, stages, workbook
from lifecycle_audit.checks import Chart

CACHE = paths.CACHE / "bench-charts"
PARAMS = "params/demo.yaml"


def _tables_dir() -> Path:
    found = sorted((paths.CACHE / "tables" / "demo").glob("*/"), key=lambda p: p.stat().st_mtime)
    if not found:
        sys.exit("no canonical tables of the demo shop under .cache/tables/demo/: run `make demo` once")
    return found[-1]


def _notebook_charts(audit: workbook.Audit, stage: str) -> list[Chart]:
    """The charts the stage notebook's views draw: its import lines and its view cells, run with audit.plot
    collecting each Chart (and audit.table, workbook.say showing nothing)."""
    nb = json.loads((paths.ROOT / "notebooks" / f"{stages.NOTEBOOKS[stage]}.ipynb").read_text(encoding="utf-8"))
    drawn: list[Chart] = []

    def plot(data, x, y, title, kind="bar", x_label="", y_label="", unit="share", hue=None):
        drawn.append(
            Chart(kind=kind, data=data, x=x, y=y, title=title, x_label=x_label, y_label=y_label, y_unit=unit, hue=hue)
        )

    audit.plot, audit.table = plot, lambda *a, **k: None
    say, workbook.say = workbook.say, lambda *a, **k: None
    namespace = {"audit": audit, "workbook": workbook}
    try:
        for cell in nb["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] != "code":
                continue
            if "audit.plot(" not in source:  # of the other cells only the imports
                source = "\n".join(line for line in source.splitlines() if line.startswith(("from ", "import ")))
            exec(compile(source, f"{stage} notebook", "exec"), namespace)  # the project's own notebook
    finally:
        workbook.say = say
        del audit.plot, audit.table
    return drawn


def demo_charts() -> list[tuple[str, Chart, str, str]]:
    """(name, chart, locale, currency) of every finding and view chart of the demo audit, collected once."""
    folder = _tables_dir()
    cache = CACHE / f"{folder.name}.pkl"
    if cache.is_file():
        return pickle.loads(cache.read_bytes())  # written by this script
    audit = workbook.open_audit(PARAMS, tables_dir=str(folder))
    locale, currency = lang.current(), lang.currency()
    out = []
    for stage in stages.STAGES:
        for f in audit.run_stage(stage):
            if f.chart is not None:
                out.append((f.check_id, f.chart, locale, currency))
        out += [(f"{stage}.view{i}", c, locale, currency) for i, c in enumerate(_notebook_charts(audit, stage))]
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(out))
    return out


LONG_TITLE = (
    "Bestellungen nach Tagen bis zum nächsten Newsletter oder Angebot an den Kunden, nach Monat der Erstbestellung"
)
LONG_Y = "Anteil der Bestellungen, die innerhalb von neunzig Tagen nach der ersten Bestellung eingingen"
LONG_X = "Nächste Marketing-Nachricht nach der Bestellung " * 3


def fixed_charts() -> list[tuple[str, Chart, str, str]]:
    """Every kind, with and without legend and reference line, short and long titles and axis labels."""
    buckets = pd.DataFrame({"bucket": ["within 7 days", "8–30 days", "none"], "share": [0.1, 0.2, 0.7]})
    funnel = pd.DataFrame(
        {
            "step": ["add to cart"] * 3 + ["begin checkout"] * 3 + ["purchase"] * 3,
            "device": ["mobile", "desktop", "tablet"] * 3,
            "step_rate": [0.52, 0.50, 0.53, 0.64, 0.43, 0.40, 0.25, 0.60, 0.31],
        }
    )
    months = pd.date_range("2025-01-01", periods=18, freq="MS")
    monthly = pd.DataFrame(
        {"month": months, "a": np.linspace(0.3, 0.5, 18), "b": np.r_[np.linspace(0.5, 0.2, 9), np.nan, [0.3] * 8]}
    )
    segments = pd.DataFrame(
        {
            "segment": [
                "Kunden ohne funktionierende E-Mail-Adresse, die über einen anderen Kanal angesprochen wurden",
                "premium",
                "at risk",
                "inactive",
                "top spender",
                "repeat",
                "one-time buyers who never came back",
            ],
            "share": [0.05, 0.3, 0.1, 0.2, 0.15, 0.1, 0.1],
        }
    )

    def chart(kind, data, x, y, title, x_label="", y_label="", **kw):
        return Chart(kind=kind, data=data, x=x, y=y, title=title, x_label=x_label, y_label=y_label, **kw)

    charts = {
        "bar.short": chart("bar", buckets, "bucket", "share", "Orders", "Days", "Orders"),
        "bar.long_title": chart("bar", buckets, "bucket", "share", LONG_TITLE, "Days", "Orders"),
        "bar.long_labels": chart("bar", buckets, "bucket", "share", "Orders", LONG_X, LONG_Y),
        "bar.long_all": chart("bar", buckets, "bucket", "share", LONG_TITLE, LONG_X, LONG_Y),
        "bar.hue_reference": chart(
            "bar",
            funnel,
            "step",
            "step_rate",
            "Visits of known customers reaching each step from the one before, by device",
            "Step reached",
            "Share of visits at the step before",
            hue="device",
            reference=0.45,
            reference_label="good",
        ),
        "bar.slanted": chart(
            "bar", segments, "segment", "share", "Share of revenue by RFM segment", "segment", "share"
        ),
        "barh.reference": chart(
            "barh",
            pd.DataFrame({"channel": ["social", "email", "affiliate"], "roas": [1.4, 6.2, 0.8]}),
            "channel",
            "roas",
            "Return on ad spend by channel",
            "Channel",
            "Revenue per euro spent",
            y_unit="number",
            reference=1.0,
            reference_label="Break-even",
        ),
        "barh.long": chart("barh", segments, "segment", "share", LONG_TITLE, LONG_X, LONG_Y),
        "line.two_series_gap": chart(
            "line",
            monthly,
            "month",
            ["a", "b"],
            "Visits and new customers with no recorded channel, by month",
            "Month",
            "Share with unknown channel",
            reference=0.05,
            reference_label="good",
        ),
        "line.long": chart("line", monthly, "month", "a", LONG_TITLE, LONG_X, LONG_Y, y_unit="money"),
        "line.categories": chart(
            "line",
            pd.DataFrame({"week": [f"week {i} of the year" for i in range(12)], "rate": np.linspace(0, 1, 12)}),
            "week",
            "rate",
            "Rate by week",
            "Week",
            "Rate",
        ),
        "empty": chart("bar", buckets.iloc[:0], "bucket", "share", "Nothing to show", "Days", "Orders"),
    }
    return [
        (f"fixed.{name}.{loc}", c, loc, cur)
        for loc, cur in (("en", "EUR"), ("de", "EUR"), ("id", "IDR"))
        for name, c in charts.items()
    ]


def _charts_module(file: str | None):
    if not file:
        from lifecycle_audit.report import charts  # noqa: PLC0415

        return charts
    # a copy of charts.py (another branch's) loaded as a module of the same package, so its relative imports work
    spec = importlib.util.spec_from_file_location("lifecycle_audit.report._charts_bench", file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _file_name(i: int, name: str) -> str:
    safe = re.sub(r"[^\w.-]+", "_", name)
    return f"{i:03d}-{safe}.svg"


def check(drawn: dict[str, str], folder: Path) -> int:
    """Write the SVGs into an empty `folder`, else compare with those it holds; the number that differ."""
    folder.mkdir(parents=True, exist_ok=True)
    stored = sorted(folder.glob("*.svg"))
    if not stored:
        for name, markup in drawn.items():
            (folder / name).write_text(markup, encoding="utf-8")
        print(f"wrote {len(drawn)} SVGs to {folder}")
        return 0
    before = {p.name: p.read_text(encoding="utf-8") for p in stored}
    differ = [name for name in drawn if before.get(name) != drawn[name]]
    missing = sorted(set(before) ^ set(drawn))
    print(f"compared {len(drawn)} SVGs with {folder}: {len(drawn) - len(differ)} identical, {len(differ)} differ")
    for name in missing:
        print(f"  only on one side: {name}")
    worst = 0.0
    for name in differ:
        if name not in before:
            continue
        box = [re.search(r'viewBox="([^"]+)"', s).group(1) for s in (before[name], drawn[name])]
        moved = _moved(before[name], drawn[name])
        if moved is not None:  # the same elements and texts, only coordinates moved
            worst = max(worst, moved)
            print(f"  {name}: same elements and texts, coordinates moved by up to {moved:.3g} pt; viewBox {box[1]}")
            continue
        diff = list(difflib.unified_diff(before[name].splitlines(), drawn[name].splitlines(), lineterm="", n=0))
        changed = sum(1 for line in diff if line.startswith(("+", "-")) and not line.startswith(("+++", "---")))
        print(f"  {name}: {changed} lines differ; viewBox {box[0]} -> {box[1]}")
        for line in diff[2:8]:
            print(f"      {line[:160]}")
    if differ:
        print(f"  largest move of a coordinate where only coordinates moved: {worst:.3g} pt")
    return len(differ) + len(missing)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
_HASH_ID = re.compile(r"\b[mp][0-9a-f]{10}\b")


def _moved(a: str, b: str) -> float | None:
    """How far any number moved between two SVGs that differ only in their numbers (and the ids matplotlib
    derives from them); None when they differ in anything else."""
    a, b = _HASH_ID.sub("ID", a), _HASH_ID.sub("ID", b)
    if _NUMBER.sub("0", a) != _NUMBER.sub("0", b):
        return None
    pairs = zip(_NUMBER.findall(a), _NUMBER.findall(b), strict=True)
    return max((abs(float(x) - float(y)) for x, y in pairs), default=0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="rounds over every chart (default 5)")
    ap.add_argument("--check", metavar="DIR", help="write the SVGs into DIR, or compare with those it holds")
    ap.add_argument("--module", metavar="FILE", help="draw with this copy of report/charts.py")
    ap.add_argument("--fixed-only", action="store_true", help="only the fixed set (no demo tables needed)")
    args = ap.parse_args()

    matplotlib.rcParams["svg.hashsalt"] = "bench"  # element ids from the content: the same picture, the same bytes
    charts = _charts_module(args.module)
    todo = fixed_charts() + ([] if args.fixed_only else demo_charts())
    names = [_file_name(i, name) for i, (name, *_rest) in enumerate(todo)]
    charts.svg(todo[0][1], todo[0][3], todo[0][2])  # fonts loaded, caches warm: what a running kernel has

    times: dict[str, list[float]] = {name: [] for name in names}
    rounds_wall, rounds_cpu = [], []
    drawn: dict[str, str] = {}
    for _ in range(args.repeats):
        cpu0, wall0 = os.times(), time.perf_counter()
        for name, (_label, chart, locale, currency) in zip(names, todo, strict=True):
            start = time.perf_counter()
            drawn[name] = charts.svg(chart, currency, locale)
            times[name].append(time.perf_counter() - start)
        cpu1 = os.times()
        rounds_wall.append(time.perf_counter() - wall0)
        rounds_cpu.append(cpu1.user + cpu1.system - cpu0.user - cpu0.system)

    per_chart = {name: statistics.median(t) * 1000 for name, t in times.items()}
    n = len(per_chart)
    fixed = [v for name, v in per_chart.items() if "-fixed." in name]
    demo = [v for name, v in per_chart.items() if "-fixed." not in name]
    print(f"charts.py: {charts.__file__}")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; {args.repeats} rounds")
    print(
        f"{n} charts ({len(demo)} of the demo audit, {len(fixed)} fixed): per chart mean {sum(per_chart.values()) / n:.0f} ms, "
        f"median {statistics.median(per_chart.values()):.0f} ms (min {min(per_chart.values()):.0f}, "
        f"max {max(per_chart.values()):.0f})"
    )
    if demo:
        print(f"  demo charts: mean {statistics.mean(demo):.0f} ms, median {statistics.median(demo):.0f} ms")
    print(f"  fixed charts: mean {statistics.mean(fixed):.0f} ms, median {statistics.median(fixed):.0f} ms")
    print(
        f"a round of all {n}: median wall {statistics.median(rounds_wall):.2f} s, "
        f"CPU (user+sys) {statistics.median(rounds_cpu):.2f} s"
    )
    if args.check:
        sys.exit(1 if check(drawn, Path(args.check)) else 0)


if __name__ == "__main__":
    main()
