"""Peak memory and wall of generating and auditing a large shop, for the whole process tree (kernels included).

Run on demand, one size at a time (the machine is shared; memory figures do not depend on the load, times do):

    .venv/bin/python benchmarks/scale_memory.py generate 100000   # writes data/scale-100000/
    .venv/bin/python benchmarks/scale_memory.py audit 100000      # prepares (cold) and audits that shop
    .venv/bin/python benchmarks/scale_memory.py audit 5000 out.json   # ... and keeps the run's findings.json
    .venv/bin/python benchmarks/scale_memory.py prepare 100000 [DATA_DIR]  # prepare alone (cold, a fresh cache)

In DATA_DIR a table may be a text export instead of Parquet (events.csv, events.csv.gz, events.tsv): it is read
so, to measure reading large delimited text.

Each step runs the `lifecycle-audit` command in a child process; the resident memory of the child and all its
descendants is summed every 0.1 s. Prints the peak of the sum, the wall time, the load average before and after,
the largest single processes, and for `audit` the timings of the run's manifest (prepare, each stage).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SECONDS = 0.1


def tree_rss(proc: psutil.Process, peaks: dict[int, tuple[int, str]]) -> int:
    """The resident memory of a process and its descendants, now; records each process's own peak."""
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in members:
        try:
            rss = p.memory_info().rss
        except psutil.Error:
            continue
        total += rss
        if rss > peaks.get(p.pid, (0, ""))[0]:
            try:
                name = " ".join(p.cmdline()[1:4])[:70]
            except psutil.Error:
                name = "?"
            peaks[p.pid] = (rss, name)
    return total


def measure(cmd: list[str]) -> tuple[float, int, dict[int, tuple[int, str]], int]:
    """Run cmd; returns (wall seconds, peak tree RSS in bytes, each process's peak, exit code)."""
    started = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": f"{ROOT / 'lib'}:{ROOT}"})
    proc = psutil.Process(child.pid)
    peak, peaks = 0, {}
    while child.poll() is None:
        peak = max(peak, tree_rss(proc, peaks))
        time.sleep(SAMPLE_SECONDS)
    return time.perf_counter() - started, peak, peaks, child.returncode


def audit_params(customers: int, folder: Path, data_dir: Path | None = None) -> Path:
    """A params file for the generated shop of this size (the demo's sources, no demo generation)."""
    data = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text())
    data.pop("demo", None)
    data_dir = data_dir or ROOT / "data" / f"scale-{customers}"
    for name, source in data["sources"].items():  # a table exported as text instead (events.csv, events.csv.gz)
        if not (data_dir / source["file"]).exists():
            found = [f"{name}{s}" for s in (".csv", ".csv.gz", ".tsv") if (data_dir / f"{name}{s}").exists()]
            source["file"] = found[0] if found else source["file"]
    data.update(client=f"scale{customers}", data_dir=str(data_dir.resolve()), output=str(folder))
    path = folder / "scale.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


PREPARE = """
import sys, time
from lifecycle_audit import params, paths, sources
from pathlib import Path
paths.CACHE = Path(sys.argv[2])
started = time.perf_counter()
prepared = sources.prepare(params.load(sys.argv[1]), max_rejected_share=1.0)
print(f"prepared in {time.perf_counter() - started:.1f} s:",
      {name: (load.rows_in, load.rows_used) for name, load in prepared.loads.items()})
"""


def main() -> None:
    step, customers = sys.argv[1], int(sys.argv[2])
    cli = [sys.executable, "-m", "lifecycle_audit"]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        if step == "generate":
            cmd = [*cli, "generate", "--customers", str(customers), "--out", f"data/scale-{customers}"]
        elif step == "prepare":  # reading, validating and writing the canonical tables, nothing else
            data = Path(sys.argv[3]) if len(sys.argv) > 3 else ROOT / "data" / f"scale-{customers}"
            params_file = audit_params(customers, Path(tmp), data)
            cmd = [sys.executable, "-c", PREPARE, str(params_file), str(Path(tmp) / "cache")]
        else:
            cmd = [*cli, "run", str(audit_params(customers, Path(tmp)))]
        wall, peak, peaks, code = measure(cmd)
        manifests = list(Path(tmp).glob("scale*/*/manifest.json"))
        timings = json.loads(manifests[0].read_text())["timings"] if manifests else {}
        if manifests and len(sys.argv) > 3:
            shutil.copy(manifests[0].parent / "findings.json", sys.argv[3])
    load_after = os.getloadavg()
    print(
        f"{step} {customers:,} customers: exit {code}, wall {wall:.1f} s, peak RSS of the tree "
        f"{peak / 2**30:.2f} GiB; load {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        f"(1-min), {load_after[1]:.1f} (5-min)"
    )
    for rss, name in sorted(peaks.values(), reverse=True)[:6]:
        print(f"  {rss / 2**30:5.2f} GiB  {name}")
    if timings:
        print("  timings:", json.dumps({k: v for k, v in timings.items() if k != "pages"}))


if __name__ == "__main__":
    main()
