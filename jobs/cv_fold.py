"""Fit one cross-validation fold and write its folder: ``fold-NN/metrics.json`` and ``predictions.parquet``.

A fold is fitted exactly as ``artemis train`` fits a run with a holdout (same model, same priors,
same sampler settings), on the fold's training weeks, with the warm-up weeks' spend carried over
by the adstock. Its test weeks are scored against the posterior predictive (expected transactions
per draw plus the observation noise): MAPE and R² of the predictive mean, CRPS and the 94%
interval's coverage.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from jobs.analysis import fit_metrics
from jobs.config import ModelConfig
from jobs.design import ModelData, build_model_data, media_input, series_for, series_names
from jobs.folds import Fold
from jobs.run_folder import json_safe, staged_folder
from jobs.scores import coverage, crps_draws

Progress = Callable[[float], None]


def fold_dir_name(fold: Fold) -> str:
    return f"fold-{fold.index + 1:02d}"


def fold_media(ds, fold: Fold, frames: list[pd.DataFrame]) -> tuple[list[str], list[str]]:
    """(media variables fitted in the fold, those left out): a variable never spent in the fold's
    training weeks (of every series) has no effect to estimate there, as ``artemis validate`` drops a
    variable never spent at all."""
    kept, dropped = [], []
    for v in ds.media:
        spent = any(f[f"{v}_spend"].iloc[fold.train_start:fold.test_start].sum() > 0 for f in frames)
        (kept if spent else dropped).append(v)
    return kept, dropped


def fold_series(ds, cfg: ModelConfig, fold: Fold) -> list[ModelData]:
    """The model data of every series the config's variant fits, cut to the fold's weeks (media never
    spent in them left out, see :func:`fold_media`)."""
    names = series_names(ds, cfg.variant)
    fold_cfg = dataclasses.replace(cfg, holdout_weeks=fold.test_weeks)
    frames = [series_for(ds, name) for name in names]
    kept, dropped = fold_media(ds, fold, frames)
    if dropped:
        ds = dataclasses.replace(ds, media=kept, dropped=list(ds.dropped) + dropped)
    out = []
    for name, frame in zip(names, frames):
        window = frame.iloc[fold.train_start:fold.test_end].reset_index(drop=True)
        try:
            d = build_model_data(ds, window, fold_cfg, audience=name)
        except ValueError as e:
            raise ValueError(f"{ds.path}, fold {fold.index + 1} ({fold.dates[1]} .. {fold.dates[3]}): {e}") from None
        d.x_before = media_input(ds, frame.iloc[fold.warmup_start:fold.train_start])[2]
        out.append(d)
    return out


def fit_fold(ds, cfg: ModelConfig, fold: Fold, progress: Progress | None = None,
             progress_bar: bool = False) -> tuple[dict, pd.DataFrame]:
    """Sample the fold's series and score the test weeks; returns (metrics, predictions)."""
    from jobs.fit import sample
    from jobs.response import components

    t0 = time.perf_counter()
    series = fold_series(ds, cfg, fold)
    rng = np.random.default_rng(cfg.sampler.seed * 1000 + fold.index)
    total_pred, total_mu, total_y = None, None, None
    diag = {"max_rhat": 0.0, "min_ess_bulk": np.inf, "divergences": 0}
    for k, d in enumerate(series):
        def part(frac: float, _div: int, k=k) -> None:
            if progress is not None:
                progress((k + frac) / len(series))

        fit = sample(d, cfg, progress=part, progress_bar=progress_bar)
        mu = components(d, fit.params, cfg.saturation)["mu"]  # (D, T) expected transactions
        noise = fit.params["sigma"][:, None] * d.y_scale * rng.standard_normal(mu.shape)
        pred = mu + noise
        total_pred = pred if total_pred is None else total_pred + pred
        total_mu = mu if total_mu is None else total_mu + mu
        total_y = d.y if total_y is None else total_y + d.y
        diag["max_rhat"] = max(diag["max_rhat"], fit.diagnostics["max_rhat"])
        diag["min_ess_bulk"] = min(diag["min_ess_bulk"], fit.diagnostics["min_ess_bulk"])
        diag["divergences"] += fit.diagnostics["divergences"]

    first = series[0]
    n = first.n_train
    left_out = [v for v in ds.media if v not in first.media]
    mean = total_mu.mean(axis=0)
    test_y, test_pred = total_y[n:], total_pred[:, n:]
    test = fit_metrics(test_y, mean[n:])
    test.pop("durbin_watson", None)
    test["crps"] = float(crps_draws(test_pred, test_y).mean())
    test["crps_pct"] = float(test["crps"] / test_y.mean() * 100) if test_y.mean() > 0 else None
    test["coverage_94"] = coverage(test_pred, test_y, 0.94)
    train = fit_metrics(total_y[:n], mean[:n])
    train.pop("durbin_watson", None)
    metrics = {
        "fold": fold.index + 1,
        "warmup_start": fold.dates[0],
        "train_start": fold.dates[1],
        "test_start": fold.dates[2],
        "test_end": fold.dates[3],
        "train_weeks": fold.train_weeks,
        "test_weeks": fold.test_weeks,
        "media_left_out": left_out,
        "train": train,
        "test": test,
        **{k: float(v) for k, v in diag.items()},
        "fit_seconds": time.perf_counter() - t0,
    }
    lo, hi = np.quantile(total_pred, [0.03, 0.97], axis=0)
    predictions = pd.DataFrame({
        "fold": fold.index + 1,
        "date": first.dates,
        "split": np.where(np.arange(first.T) < n, "train", "test"),
        "actual": total_y,
        "predicted": mean,
        "predicted_lo": lo,
        "predicted_hi": hi,
    })
    return metrics, predictions


def write_fold(out_dir: str | Path, fold: Fold, metrics: dict, predictions: pd.DataFrame) -> Path:
    """Write ``out_dir/fold-NN/`` complete or not at all (a temporary folder renamed at the end)."""
    final = Path(out_dir) / fold_dir_name(fold)
    with staged_folder(final) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(json_safe(metrics), indent=2) + "\n")
        predictions.to_parquet(tmp / "predictions.parquet", index=False)
    return final


def read_fold(fold_dir: str | Path) -> tuple[dict, pd.DataFrame]:
    fold_dir = Path(fold_dir)
    return json.loads((fold_dir / "metrics.json").read_text()), pd.read_parquet(fold_dir / "predictions.parquet")
