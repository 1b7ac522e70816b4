"""Pipeline benchmark: landing files to gold tables (and the training dataset) per engine, wall time and
peak memory.

Seeded demo landing files (``store.pipeline.landing_demo``: ``--rows`` paid-media rows over ``--weeks``
weeks, one file per month, plus owned media, daily sales and weather) are written once; then each engine
runs the example config (``assets/pipeline_example``) from an empty work folder to gold, in its own
subprocess. Measured per engine: wall time of the subprocess, its own peak RSS (``ru_maxrss``) and the peak
RSS of its whole process tree (Spark's JVM included), sampled from /proc every 0.1 s. The gold tables of
the engines are then compared (they must be identical).

    .venv/bin/python bench/pipeline.py [--rows 10000000] [--engines duckdb,spark] [--weeks 104]
                                       [--format parquet|csv] [--workdir DIR]

``--rows 100000`` is a quick smoke test. At 10M rows the Parquet landing files take about 0.2 GB of disk
(CSV about 1 GB); Spark runs ``local[*]`` with a 4 GB driver (ARTEMIS_SPARK_DRIVER_MEMORY).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from store.pipeline.landing_demo import generate_landing  # noqa: E402

EXAMPLE = ROOT / "assets" / "pipeline_example"
GOLD = ("media_weekly", "sales_weekly", "controls_weekly")
CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from store.pipeline.run import run_pipeline
t = time.perf_counter()
report = run_pipeline({config!r}, engine={engine!r})
print(json.dumps({{"seconds": time.perf_counter() - t, "self_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "rows": sum(b.rows or 0 for b in report.batches), "statuses": [b.status for b in report.batches]}}))
"""


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ppid = int(fields[1])
            rss[int(entry)] = int(fields[21]) * page
            children.setdefault(ppid, []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def run_engine(engine: str, landing: Path, workdir: Path) -> dict:
    project = workdir / f"project-{engine}"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(EXAMPLE, project)
    cfg = yaml.safe_load((project / "pipeline.yaml").read_text())
    cfg.update(engine=engine, output_format="parquet", as_of="2030-01-01",
               paths={"landing": str(landing), "work": "work", "output": "out"})
    (project / "pipeline.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    code = CHILD.format(root=str(ROOT), config=str(project), engine=engine)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{engine} run failed:\n{err[-4000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(engine=engine, wall=wall, tree_peak=peak, project=str(project))
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=float, default=10_000_000)
    ap.add_argument("--engines", default="duckdb,spark")
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--format", dest="fmt", default="parquet", choices=("parquet", "csv"))
    ap.add_argument("--workdir", default=None, help="keep files here (default: a temp folder, removed after)")
    args = ap.parse_args(argv)
    rows = int(args.rows)
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        landing = workdir / "landing"
        shutil.rmtree(landing, ignore_errors=True)
        t = time.perf_counter()
        generate_landing(landing, rows=rows, weeks=args.weeks, fmt=args.fmt, seed=0)
        size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
        print(f"landing: {rows:,} paid-media rows over {args.weeks} weeks as {args.fmt}, {size / 1e6:,.0f} MB, "
              f"written in {time.perf_counter() - t:.1f} s", flush=True)
        results = []
        for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
            r = run_engine(engine, landing, workdir)
            results.append(r)
            print(f"  {engine}: done in {r['wall']:.1f} s", flush=True)
        print()
        print(f"{'engine':<8} {'rows in':>12} {'wall s':>8} {'pipeline s':>11} {'rows/s':>12} "
              f"{'python RSS MB':>14} {'tree RSS MB':>12}")
        for r in results:
            print(f"{r['engine']:<8} {r['rows']:>12,} {r['wall']:>8.1f} {r['seconds']:>11.1f} "
                  f"{r['rows'] / r['seconds']:>12,.0f} {r['self_maxrss_kb'] / 1024:>14,.0f} {r['tree_peak'] / 2**20:>12,.0f}")
        if len(results) > 1:
            base = results[0]
            for r in results[1:]:
                same = all(pq.read_table(Path(base["project"]) / "out" / "gold" / t).equals(
                    pq.read_table(Path(r["project"]) / "out" / "gold" / t)) for t in GOLD)
                print(f"gold tables of {base['engine']} and {r['engine']} identical: {same}; "
                      f"wall time ratio {r['engine']}/{base['engine']}: {r['wall'] / base['wall']:.1f}x")
        print("(wall: the whole subprocess, imports and Spark's JVM start included; pipeline: run_pipeline only;"
              " tree RSS: peak of the subprocess and its children)")
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
