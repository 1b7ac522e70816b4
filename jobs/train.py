"""Training: validate a dataset, fit each series, and write the complete run folder (then MLflow)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from jobs.config import ModelConfig, dump_config
from jobs.dataset import Dataset, load_dataset
from jobs.design import ModelData, build_model_data, series_for, series_names
from jobs.run_folder import code_version, json_safe, new_run_id, staged_run, utc_now, write_json

RHAT_LIMIT = 1.05

Say = Callable[[str], None]


class TrainingError(ValueError):
    """The dataset and config cannot be fitted together; nothing was written."""


@dataclass
class TrainResult:
    run_dir: Path
    manifest: dict
    metrics: dict
    mlflow_run_id: str | None


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def prepare(ds: Dataset, cfg: ModelConfig) -> list[ModelData]:
    """The model data of every series the config's variant fits, checked before anything runs."""
    if cfg.target != ds.target:
        raise TrainingError(f"config target '{cfg.target}' differs from the dataset's '{ds.target}'")
    try:
        names = series_names(ds, cfg.variant)
    except ValueError as e:
        raise TrainingError(str(e)) from None
    out = []
    for name in names:
        try:
            out.append(build_model_data(ds, series_for(ds, name), cfg, audience=name))
        except ValueError as e:
            raise TrainingError(f"{ds.path}: {e}") from None
    return out


def train(
    dataset: str | Path,
    runs_root: str | Path,
    cfg: ModelConfig,
    tracking_uri: str | None = None,
    say: Say = _stderr,
    progress: Callable[[float, int], None] | None = None,
    progress_bar: bool = True,
    log_to_mlflow: bool = True,
    dataset_label: str | None = None,
) -> TrainResult:
    """Validate, fit and write a run folder; returns where it is. ``dataset_label`` names the dataset in
    the manifest when ``dataset`` is a local copy (a container's input folder).

    Raises ``DatasetError`` (invalid dataset) or ``TrainingError`` before anything is written.
    """
    from jobs.analysis import analyse
    from jobs.fit import sample

    created = utc_now()
    ds = load_dataset(dataset, target=cfg.target)
    for w in ds.warnings:
        say(f"warning: {w}")
    series = prepare(ds, cfg)
    dataset_name = dataset_label or str(dataset)
    brand = cfg.brand or ds.meta.get("brand") or Path(dataset_name.rstrip("/")).name

    t0 = time.perf_counter()
    tables: dict[str, list[pd.DataFrame]] = {"contributions": [], "summary": [], "response": []}
    per_series: dict[str, dict] = {}
    traces = []
    for k, d in enumerate(series):
        label = d.audience or "national"
        say(f"fitting {label}: {d.T} weeks ({d.n_train} train, {d.T - d.n_train} test), "
            f"{len(d.media)} media variables, {len(d.others)} controls and holidays")

        def part_progress(frac: float, div: int, k=k) -> None:
            if progress is not None:
                progress((k + frac) / len(series), div)

        fit = sample(d, cfg, progress=part_progress if progress else None, progress_bar=progress_bar)
        result = analyse(d, fit.params, ds.taxonomy, cfg.saturation, cfg.hdi_prob)
        for name in tables:
            tables[name].append(result[name])
        per_series[label] = {**result["metrics"], **fit.diagnostics, "fit_seconds": fit.seconds}
        traces.append((d.audience, fit.trace))
    fit_seconds = time.perf_counter() - t0

    metrics = _combine_metrics(per_series, fit_seconds)
    reasons = []
    if metrics["max_rhat"] is not None and metrics["max_rhat"] > RHAT_LIMIT:
        reasons.append(f"max R-hat {metrics['max_rhat']:.3f} > {RHAT_LIMIT}")
    if metrics["divergences"]:
        reasons.append(f"{metrics['divergences']} divergent transitions")
    status = "needs_review" if reasons else "completed"

    config_text = dump_config(cfg)
    run_id = new_run_id(ds.fingerprint, config_text)
    first = series[0]
    manifest = {
        "run_id": run_id,
        "status": status,
        "status_reason": "; ".join(reasons) or None,
        "created_at": created,
        "finished_at": utc_now(),
        "brand": brand,
        "brand_id": ds.meta.get("brand_id"),
        "audience": [d.audience for d in series] if cfg.variant == "per_audience" else None,
        "variant": cfg.variant,
        "dataset_path": dataset_name,
        "dataset_fingerprint": ds.fingerprint,
        "code_version": code_version(),
        "target": ds.target,
        "weeks": first.T,
        "train_start": str(pd.Timestamp(first.dates[0]).date()),
        "train_end": str(pd.Timestamp(first.dates[first.n_train - 1]).date()),
        "test_start": str(pd.Timestamp(first.dates[first.n_train]).date()) if first.n_train < first.T else None,
        "test_end": str(pd.Timestamp(first.dates[-1]).date()) if first.n_train < first.T else None,
        "media_variables": list(first.media),
        "dropped_variables": list(ds.dropped),
        "warnings": list(ds.warnings),
        "config": cfg.to_dict(),
    }
    with staged_run(runs_root, run_id) as tmp:
        write_json(tmp / "manifest.json", json_safe(manifest))
        (tmp / "config.yaml").write_text(config_text)
        write_json(tmp / "metrics.json", json_safe(metrics))
        for name, frames in tables.items():
            pd.concat(frames, ignore_index=True).to_parquet(tmp / f"{name}.parquet", index=False)
        _write_idata(tmp / "idata.nc", traces)
    run_dir = Path(runs_root) / run_id
    say(f"run {run_id}: {status}" + (f" ({manifest['status_reason']})" if reasons else ""))

    mlflow_id = None
    if log_to_mlflow:
        mlflow_id = log_to_tracking(run_dir, tracking_uri, say)
    return TrainResult(run_dir, manifest, metrics, mlflow_id)


def log_to_tracking(run_dir: Path, tracking_uri: str | None, say: Say = _stderr) -> str | None:
    """Log a finished run folder to MLflow and link it in the manifest; warn, never fail, if unreachable."""
    from jobs.run_folder import read_manifest
    from jobs.tracking import TrackingUnavailable, default_tracking_uri, log_run

    uri = tracking_uri or default_tracking_uri()
    try:
        mlflow_id = log_run(run_dir, uri)
    except TrackingUnavailable as e:
        say(f"warning: MLflow not reached, the run folder is kept. {e}")
        return None
    manifest = read_manifest(run_dir)
    manifest["mlflow"] = {"tracking_uri": uri, "run_id": mlflow_id}
    write_json(Path(run_dir) / "manifest.json", manifest)
    say(f"logged to MLflow at {uri} (run {mlflow_id})")
    return mlflow_id


def _combine_metrics(per_series: dict[str, dict], fit_seconds: float) -> dict:
    """Metrics of a run: the national series' own, or per audience with worst-case diagnostics."""
    keys_worst = {"max_rhat": max, "min_ess_bulk": min}
    if len(per_series) == 1:
        only = next(iter(per_series.values()))
        return {**only, "fit_seconds": fit_seconds}
    out: dict = {k: f(v[k] for v in per_series.values()) for k, f in keys_worst.items()}
    out["divergences"] = sum(v["divergences"] for v in per_series.values())
    out["fit_seconds"] = fit_seconds
    for split in ("train", "test"):
        vals = {m: [v[split][m] for v in per_series.values() if v[split][m] is not None]
                for m in ("mape", "r2", "durbin_watson")}
        out[split] = {m: (sum(x) / len(x) if x else None) for m, x in vals.items()}
    out["media_contribution"] = {"mean": sum(v["media_contribution"]["mean"] for v in per_series.values())}
    out["audiences"] = per_series
    return out


def _write_idata(path: Path, traces: list[tuple[str, object]]) -> None:
    """The full posterior; with several audiences, stacked along an ``audience`` dimension."""
    if len(traces) == 1:
        traces[0][1].to_netcdf(path)
        return
    import xarray as xr

    groups = {}
    for group in ("posterior", "sample_stats"):
        parts = [t[group].to_dataset().expand_dims(audience=[a]) for a, t in traces]
        groups[group] = xr.concat(parts, dim="audience")
    xr.DataTree.from_dict(groups).to_netcdf(path)
