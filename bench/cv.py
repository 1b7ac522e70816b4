"""Cross-validation benchmark: 4 walk-forward folds on this machine, folds in parallel (as many at once as
the cores allow) against one after another, in one run; prints both wall times and the speed-up.

Both runs fit the same folds with the same settings (``artemis cv``'s code path, without MLflow). The
sequential run fits the folds in one worker process (the model compiled once) with every core for the
chains; the parallel run puts the folds in ``min(folds, cores)`` worker processes (each compiles the
model once) with the cores shared among them.

    .venv/bin/python bench/cv.py [--dataset DIR] [--folds 4] [--test-weeks 13] [--draws 500 --tune 500 --chains 2]

The issue names no anchor for this figure: the speed-up is the figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jobs.config import load_config  # noqa: E402
from jobs.cv import CVSettings, local_layout, run_cv  # noqa: E402


def timed_cv(dataset: Path, out: Path, cfg, folds: int, test_weeks: int, parallel: int | None) -> tuple[float, dict]:
    settings = CVSettings(folds=folds, test_weeks=test_weeks, parallel=parallel)
    t0 = time.perf_counter()
    result = run_cv(str(dataset), cfg, settings, out, log_to_mlflow=False, say=lambda m: None)
    seconds = time.perf_counter() - t0
    if result.summary["status"] != "completed":
        raise SystemExit(f"CV failed: {result.summary['errors']}")
    return seconds, result.summary["aggregate"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=None, help="dataset folder (default: a fresh demo dataset)")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--test-weeks", type=int, default=13)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--chains", type=int, default=2)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="artemis-bench-cv-") as tmp:
        tmp = Path(tmp)
        dataset = args.dataset
        if dataset is None:
            from jobs.demo_data import generate_demo_dataset

            dataset = generate_demo_dataset(tmp / "demo")
        cfg = load_config(draws=args.draws, tune=args.tune, chains=args.chains, seed=0)
        cores = os.cpu_count() or 1
        at_once, threads = local_layout(args.folds, args.chains, None, cores)
        print(f"{args.folds} folds × {args.test_weeks} test weeks, {args.chains} chains × {args.draws} draws "
              f"after {args.tune}, on {cores} cores", flush=True)
        seq_s, seq_agg = timed_cv(dataset, tmp / "seq", cfg, args.folds, args.test_weeks, parallel=1)
        print(f"  sequential: {seq_s:7.1f} s  (1 fold at a time, {min(args.chains, cores)} sampler threads)", flush=True)
        par_s, par_agg = timed_cv(dataset, tmp / "par", cfg, args.folds, args.test_weeks, parallel=None)
        print(f"  parallel:   {par_s:7.1f} s  ({at_once} folds at a time, {threads} sampler thread(s) each)", flush=True)
        print()
        print(f"| | sequential | parallel | speed-up |")
        print(f"|---|---|---|---|")
        print(f"| wall time, {args.folds} folds | {seq_s:.1f} s | {par_s:.1f} s | {seq_s / par_s:.2f}× |")
        print(f"| test MAPE, mean over folds | {seq_agg['test_mape_mean']:.2f}% | {par_agg['test_mape_mean']:.2f}% | |")
        print(f"| test CRPS, mean over folds | {seq_agg['test_crps_mean']:.0f} | {par_agg['test_crps_mean']:.0f} | |")


if __name__ == "__main__":
    main()
