"""Fit benchmark: this project's model against pymc-marketing's MMM on the demo dataset, one run.

Both fit the same data with nutpie and the same chains / draws / tune; printed side by side with
ratios: wall seconds (model build, compilation and sampling; imports excluded), min bulk ESS,
ESS per second, max R-hat, divergences, and recovery of the demo's known truth (median absolute %
error of each media variable's total contribution; share of true totals inside the 94% HDI).

    .venv/bin/python bench/fit.py [--dataset DIR] [--chains 2 --draws 500 --tune 500 --seed 0]

Anchor from the issue (pymc-marketing 1.3, nutpie, 2 x 500 after 500, 156 weeks, 11 variables):
101 s, min bulk ESS 53 (0.52 ESS/s), 16 divergences, max R-hat 1.054, 68% median error.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pymc_marketing_fit import fit_pymc_marketing  # noqa: E402
from jobs.analysis import hdi  # noqa: E402


def recovery(totals: pd.DataFrame, truth: pd.Series) -> dict[str, float]:
    """Median absolute % error of posterior-mean totals, and share of truths inside the 94% HDI."""
    errors, inside = [], []
    for var in totals.columns:
        draws = totals[var].to_numpy(float)
        errors.append(abs(draws.mean() - truth[var]) / truth[var] * 100)
        lo, hi = hdi(draws, 0.94)
        inside.append(lo <= truth[var] <= hi)
    return {"median_error_pct": float(np.median(errors)), "coverage": float(np.mean(inside))}


def fit_artemis(dataset: Path, chains: int, draws: int, tune: int, seed: int) -> dict:
    from jobs.config import load_config
    from jobs.dataset import load_dataset
    from jobs.design import build_model_data, series_for
    from jobs.fit import sample
    from jobs.response import components

    t0 = time.perf_counter()
    cfg = load_config(chains=chains, draws=draws, tune=tune, seed=seed)
    ds = load_dataset(dataset)
    d = build_model_data(ds, series_for(ds, ""), cfg)
    fit = sample(d, cfg, progress_bar=False)
    wall = time.perf_counter() - t0
    media = components(d, fit.params, cfg.saturation)["media"][:, : d.n_train].sum(axis=1)
    return {"wall_s": wall, **fit.diagnostics, "contributions": pd.DataFrame(media, columns=d.media)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, default=None, help="demo dataset folder (default: generate one)")
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    dataset = args.dataset
    if dataset is None:
        from jobs.demo_data import generate_demo_dataset

        dataset = generate_demo_dataset(Path(tempfile.mkdtemp(prefix="artemis-bench-")) / "demo")
    gt = pd.read_csv(dataset / "ground_truth.csv", keep_default_na=False)
    truth = gt[gt.kind == "media"].groupby("variable").contribution.sum()
    weeks = gt.date.nunique()
    print(f"dataset {dataset}: {weeks} weeks, {len(truth)} media variables; "
          f"{args.chains} chains x {args.draws} draws after {args.tune} tuning, nutpie", flush=True)

    import pymc  # noqa: F401  (imports outside the timings)
    import pymc_marketing.mmm  # noqa: F401

    results = {}
    for name, fn in (("artemis", fit_artemis), ("pymc-marketing", fit_pymc_marketing)):
        print(f"fitting {name} ...", flush=True)
        r = fn(dataset, chains=args.chains, draws=args.draws, tune=args.tune, seed=args.seed)
        r.update(recovery(r["contributions"], truth))
        r["ess_per_s"] = r["min_ess_bulk"] / r["wall_s"]
        results[name] = r

    a, p = results["artemis"], results["pymc-marketing"]
    rows = [
        ("wall seconds", "wall_s", "{:.1f}", "pm/artemis", p["wall_s"] / a["wall_s"]),
        ("min bulk ESS", "min_ess_bulk", "{:.0f}", "artemis/pm", a["min_ess_bulk"] / p["min_ess_bulk"]),
        ("ESS per second", "ess_per_s", "{:.2f}", "artemis/pm", a["ess_per_s"] / p["ess_per_s"]),
        ("max R-hat", "max_rhat", "{:.3f}", "", None),
        ("divergences", "divergences", "{:d}", "", None),
        ("median |error| of totals %", "median_error_pct", "{:.1f}", "pm/artemis", p["median_error_pct"] / max(a["median_error_pct"], 1e-9)),
        ("truths inside 94% HDI", "coverage", "{:.0%}", "", None),
    ]
    print()
    print(f"{'':30s} {'artemis':>12s} {'pymc-marketing':>15s} {'ratio':>16s}")
    for label, key, fmt, rlabel, ratio in rows:
        rtxt = f"{ratio:.2f}x {rlabel}" if ratio is not None else ""
        print(f"{label:30s} {fmt.format(a[key]):>12s} {fmt.format(p[key]):>15s} {rtxt:>16s}")
    print()
    print("anchor (issue): pymc-marketing 101 s, min ESS 53, 0.52 ESS/s, 16 divergences, R-hat 1.054, 68% error")
    print("targets: >= 5x pymc-marketing's ESS/s, 0 divergences, R-hat <= 1.01, error <= 25%, coverage >= 80%")


if __name__ == "__main__":
    main()
