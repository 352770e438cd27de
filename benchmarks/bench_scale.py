"""The scale table: generation, prepare, each stage, rendering, wall and peak memory per shop size, plus the
library against hand-written DuckDB SQL on the four heaviest measures (benchmarks/measures.py), in one run.

Run on demand: `make bench` (sizes from BENCH_SIZES, default 25k,100k,300k,1M; `make bench BENCH_SIZES=5k` for a
quick look). Per size, one child process generates the shop and audits it (runner.run) while this process samples
the resident memory of the child and all its descendants (psutil, every 0.2 s): the peak is the whole process
tree's, generation included; a tree above BENCH_MAX_GB (default 8) is stopped, so that a size too large for the
machine ends as a row instead of taking the machine's memory. A second child times the four measures on the
prepared tables (median of BENCH_REPEATS, default 3). A size that fails (over the memory cap, killed, timeout after BENCH_TIMEOUT seconds,
default 3600) is a row that says so. The table is printed and appended, with the machine and its load, to
benchmarks/RESULTS.md. Data goes to data/bench/<size>/ (git-ignored; BENCH_KEEP=1 keeps it for a rerun).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

from lifecycle_audit import params, paths, runner, sources

sys.path.insert(0, str(Path(__file__).resolve().parent))
import measures  # benchmarks/measures.py, beside this file

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
WORK = ROOT / "data" / "bench"
SAMPLE_SECONDS = 0.2


def parse_size(text: str) -> int:
    """'25k' -> 25000, '1M' -> 1000000, '5000' -> 5000."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def size_label(n: int) -> str:
    """1000000 -> '1M', 25000 -> '25k'."""
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    return f"{n / 1_000:g}k" if n >= 1_000 else str(n)


def load() -> str:
    """The 1, 5 and 15-minute load averages, as `uptime` shows them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """Cores, memory and CPU model of this machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = psutil.virtual_memory().total / 2**30
    return f"{psutil.cpu_count()} cores, {ram:.0f} GB RAM, {model}, Python {platform.python_version()}"


# The children.


def _params_file(n: int, work: Path) -> Path:
    """A params file for a generated shop of n customers under `work` (the demo's sources and thresholds)."""
    data = yaml.safe_load(paths.DEMO_PARAMS.read_text())
    data.update(client=f"bench-{n}", data_dir=str(work / "data"), output=str(work / "reports"))
    data["demo"]["customers"] = n
    path = work / "bench.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def child_audit(n: int, work: Path) -> None:
    """Generate the shop (unless kept from an earlier bench), drop its prepared tables, audit it; write audit.json."""
    params_file = _params_file(n, work)
    p = params.load(params_file)
    started = time.perf_counter()
    generated = sources.ensure_demo_data(p)
    generation = time.perf_counter() - started
    shutil.rmtree(paths.CACHE / "tables" / p.client, ignore_errors=True)  # prepare measured from the files
    shutil.rmtree(work / "reports", ignore_errors=True)
    started = time.perf_counter()
    result = runner.run(params_file, progress=False)
    wall = time.perf_counter() - started
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    rows = manifest.get("rows", {})
    out = {
        "generation": round(generation, 2) if generated else None,
        "wall": round(wall, 2),
        "timings": manifest.get("timings", {}),
        "events": rows.get("events", {}).get("rows_used"),
        "tables_dir": _tables_dir(p),
        "findings": len(result.findings),
        "failed": [f.get("stage") for f in result.failed],
    }
    (work / "audit.json").write_text(json.dumps(out, indent=1, default=str))


def _tables_dir(p) -> str:
    """The prepared canonical tables of the params (the newest cache folder of its client)."""
    folders = sorted((paths.CACHE / "tables" / p.client).glob("*/accounting.json"), key=lambda f: f.stat().st_mtime)
    return str(folders[-1].parent)


def child_ratios(tables_dir: Path, repeats: int, out: Path) -> None:
    """Time the library and the hand-written SQL on each measure (median of `repeats`); write ratios.json."""
    out.write_text(json.dumps(measures.compare(tables_dir, repeats), indent=1))


# The parent.


def tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (those that end while counted are skipped)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_info().rss
    return total


def run_sampled(args: list[str], timeout: float, max_bytes: float) -> dict:
    """Run a child, sampling its process tree's memory; stopped after `timeout` seconds or above `max_bytes`.
    Returns returncode, peak bytes, seconds, timed_out, over_memory and the last lines of its error output."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(args, cwd=ROOT, stderr=err, stdout=subprocess.DEVNULL, env=_child_env())
        proc, peak, timed_out, over = psutil.Process(child.pid), 0, False, False
        while child.poll() is None:
            try:
                peak = max(peak, tree_rss(proc))
            except psutil.NoSuchProcess:
                break
            timed_out = time.perf_counter() - started > timeout
            over = peak > max_bytes
            if timed_out or over:
                _kill_tree(proc)
                break
            time.sleep(SAMPLE_SECONDS)
        child.wait()
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
    return {
        "returncode": child.returncode,
        "peak": peak,
        "seconds": time.perf_counter() - started,
        "timed_out": timed_out,
        "over_memory": over,
        "error": " / ".join(tail),
    }


def _kill_tree(proc: psutil.Process) -> None:
    for p in [*proc.children(recursive=True), proc]:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "lib"), str(ROOT), env.get("PYTHONPATH")]))
    return env


def _failure(res: dict) -> str:
    if res["timed_out"]:
        return f"timed out after {res['seconds']:.0f} s"
    if res["over_memory"]:
        return f"stopped above the memory cap (BENCH_MAX_GB) after {res['seconds']:.0f} s"
    if res["returncode"] in (-9, 137):
        return "killed (out of memory?)"
    return f"failed (exit {res['returncode']}): {res['error'][:160]}"


def bench_size(n: int, timeout: float, repeats: int, max_bytes: float) -> dict:
    """One row of the table: audit (sampled) then the four measures."""
    work = WORK / str(n)
    work.mkdir(parents=True, exist_ok=True)
    (work / "audit.json").unlink(missing_ok=True)
    row: dict = {"customers": n, "load_before": load()}
    print(f"{size_label(n)}: generating and auditing (load {row['load_before']}) ...", flush=True)
    res = run_sampled([sys.executable, __file__, "--audit", str(n), str(work)], timeout, max_bytes)
    row["peak_gb"] = res["peak"] / 2**30
    if res["returncode"] != 0 or res["timed_out"]:
        row["failure"] = _failure(res)
    else:
        row.update(json.loads((work / "audit.json").read_text()))
        print(f"{size_label(n)}: library against hand-written SQL ...", flush=True)
        ratios_file = work / "ratios.json"
        ratios_file.unlink(missing_ok=True)
        r = run_sampled(
            [sys.executable, __file__, "--ratios", row["tables_dir"], str(repeats), str(ratios_file)],
            timeout,
            max_bytes,
        )
        row["ratios"] = json.loads(ratios_file.read_text()) if r["returncode"] == 0 else {"failure": _failure(r)}
    row["load_after"] = load()
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(work / "data", ignore_errors=True)
    return row


def _s(x) -> str:
    return "—" if x is None else f"{x:.1f}"


def table(rows: list[dict]) -> str:
    """The scale table and the ratio table, as Markdown."""
    stages = sorted({s for r in rows for s in r.get("timings", {}).get("stages", {})})
    head = ["customers", "events", "generate s", "prepare s", *[f"{s} s" for s in stages], "pages s", "wall s"]
    head += ["peak RSS GB", "load before → after"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [size_label(r["customers"])]
        if "failure" in r:
            cells += [r["failure"]] + [""] * (len(head) - 4) + [f"{r['peak_gb']:.2f} (before failing)"]
        else:
            t = r["timings"]
            pages = sum(v or 0 for v in t.get("pages", {}).values())
            cells += [
                f"{r['events']:,}" if r.get("events") else "—",
                _s(r["generation"]) if r["generation"] is not None else "reused",
                _s(t.get("prepare")),
            ]
            cells += [_s(t.get("stages", {}).get(s)) for s in stages]
            cells += [_s(pages), _s(r["wall"]), f"{r['peak_gb']:.2f}"]
        cells.append(f"{r['load_before']} → {r['load_after']}")
        lines.append("| " + " | ".join(cells) + " |")
    ratios = ratio_table(rows)
    if len(ratios) > 2:  # a header and at least one measure
        lines += ["", *ratios]
    return "\n".join(lines)


def ratio_table(rows: list[dict]) -> list[str]:
    """Library / hand-written SQL per measure and size: medians in seconds and their ratio."""
    lines = ["| customers | measure | library s | SQL s | ratio | same result |", "|---|---|---|---|---|---|"]
    for r in rows:
        ratios = r.get("ratios")
        if not ratios:
            continue
        if "failure" in ratios:
            lines.append(f"| {size_label(r['customers'])} | {ratios['failure']} | | | | |")
            continue
        for name, m in ratios.items():
            lines.append(
                f"| {size_label(r['customers'])} | {name} | {m['library']:.2f} | {m['sql']:.2f} | "
                f"{m['library'] / m['sql']:.2f}× | {'yes' if m['same'] else 'NO'} |"
            )
    return lines


def append_results(text: str, started: str, before: str, after: str, repeats: int) -> None:
    """Append a dated section to benchmarks/RESULTS.md, keeping the earlier ones."""
    head = "" if RESULTS.exists() else "# Benchmark results\n\nAppended by `make bench` (benchmarks/bench_scale.py).\n"
    section = (
        f"\n## {started}\n\n"
        f"Machine: {machine()}. Load (1, 5, 15 min) before: {before}; after: {after}.\n"
        f"Times carry the load of a shared machine; memory does not. Ratios: medians of {repeats} runs each.\n\n"
        f"{text}\n"
    )
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(head + section)


def main() -> None:
    """Bench every size in BENCH_SIZES, print the tables, append them to RESULTS.md."""
    sizes = [parse_size(s) for s in os.environ.get("BENCH_SIZES", "25k,100k,300k,1M").split(",") if s.strip()]
    timeout = float(os.environ.get("BENCH_TIMEOUT", "3600"))
    repeats = int(os.environ.get("BENCH_REPEATS", "3"))
    max_bytes = float(os.environ.get("BENCH_MAX_GB", "8")) * 2**30
    started = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    before = load()
    rows = []
    for n in sizes:
        rows.append(bench_size(n, timeout, repeats, max_bytes))
        print(table(rows[-1:]), flush=True)
    text = table(rows)
    after = load()
    print(f"\n{machine()}; load before {before}, after {after}\n\n{text}")
    append_results(text, started, before, after, repeats)
    print(f"\nappended to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--audit":
        child_audit(int(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--ratios":
        child_ratios(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
