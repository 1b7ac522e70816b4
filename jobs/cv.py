"""Walk-forward cross-validation: build the folds, fit them (local processes in parallel within the
core limit, or one SageMaker Processing job per fold), then score and aggregate them into a CV folder
and log it to MLflow as a parent run with a child run per fold.

The CV folder (``{out}/{cv_id}/``) holds ``cv.json`` (settings, folds, per-fold and aggregate
metrics, status) and one ``fold-NN/`` per fold (``metrics.json``, ``predictions.parquet``).
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import queue
import statistics
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from jobs.config import ModelConfig
from jobs.cv_fold import fold_dir_name, read_fold
from jobs.folds import Fold, make_folds
from jobs.run_folder import json_safe, new_run_id, utc_now, write_json

BACKENDS = ("local", "sagemaker")
SCORES = ("mape", "r2", "crps", "crps_pct", "coverage_94")

Say = Callable[[str], None]
Progress = Callable[[float], None]


class CVError(ValueError):
    """Cross-validation settings that cannot run; raised before anything starts."""


@dataclass
class CVSettings:
    folds: int = 4
    test_weeks: int = 13
    step_weeks: int | None = None  # default: test_weeks
    train_weeks: int | None = None  # default: the most every fold can have
    backend: str = "local"
    parallel: int | None = None  # local folds at once (default: as many as the cores allow)
    cores: int | None = None  # local core limit (default: every core of the machine)
    sagemaker: dict = field(default_factory=dict)  # SageMakerSettings fields (backend "sagemaker")

    @classmethod
    def from_dict(cls, values: dict | None) -> "CVSettings":
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise CVError(f"cross-validation settings: unknown field '{unknown[0]}'")
        s = cls(**values)
        if s.backend not in BACKENDS:
            raise CVError(f"cross-validation settings: backend must be one of {', '.join(BACKENDS)}, got {s.backend!r}")
        for name in ("parallel", "cores"):
            v = getattr(s, name)
            if v is not None and v < 1:
                raise CVError(f"cross-validation settings: {name} must be ≥ 1, got {v}")
        return s

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class CVResult:
    cv_dir: Path
    summary: dict


def plan_folds(ds, cfg: ModelConfig, settings: CVSettings) -> list[Fold]:
    """The folds of the dataset's weeks (every audience shares them); ``FoldError`` if they do not fit."""
    dates = sorted(ds.training["date"].unique())
    return make_folds(dates, settings.folds, settings.test_weeks, settings.step_weeks, cfg.l_max,
                      settings.train_weeks)


def local_layout(n_folds: int, chains: int, parallel: int | None = None, cores: int | None = None) -> tuple[int, int]:
    """(folds fitted at once, sampler threads per fold) within the core limit."""
    cores = cores or os.cpu_count() or 1
    at_once = max(1, min(parallel or cores, n_folds, cores))
    return at_once, max(1, min(chains, cores // at_once))


def aggregate(fold_metrics: list[dict]) -> dict:
    """Mean and standard deviation over the folds of every test and train score."""
    out: dict = {}
    for split in ("test", "train"):
        for score in SCORES:
            vals = [m[split].get(score) for m in fold_metrics if m.get(split) and m[split].get(score) is not None]
            if not vals:
                continue
            out[f"{split}_{score}_mean"] = statistics.fmean(vals)
            out[f"{split}_{score}_sd"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
    out["folds_scored"] = len(fold_metrics)
    return out


def run_cv(dataset: str, cfg: ModelConfig, settings: CVSettings, out: str | Path,
           tracking_uri: str | None = None, log_to_mlflow: bool = True, say: Say = print,
           progress: Progress | None = None, sagemaker_client=None, s3_client=None) -> CVResult:
    """Cross-validate ``dataset`` with ``cfg``; the CV folder is created under ``out``.

    Raises ``DatasetError`` / ``FoldError`` / ``CVError`` before anything starts.
    """
    from jobs.dataset import load_dataset

    ds = load_dataset(dataset, target=cfg.target)
    folds = plan_folds(ds, cfg, settings)
    if settings.backend == "sagemaker":
        from jobs.sagemaker_runner import SageMakerSettings

        SageMakerSettings.from_dict(settings.sagemaker)  # bad settings fail here, before any job
    cv_id = "cv-" + new_run_id(ds.fingerprint, repr(cfg.to_dict()))
    cv_dir = Path(out) / cv_id
    cv_dir.mkdir(parents=True)
    summary = {
        "cv_id": cv_id, "status": "running", "created_at": utc_now(), "finished_at": None,
        "dataset": str(dataset), "dataset_fingerprint": ds.fingerprint, "brand": cfg.brand or ds.meta.get("brand"),
        "settings": settings.to_dict() | {"sagemaker": {k: v for k, v in settings.sagemaker.items() if k != "role_arn"}},
        "config": cfg.to_dict(), "folds": [f.to_dict() for f in folds], "fold_metrics": [], "errors": {},
        "aggregate": {},
    }
    write_json(cv_dir / "cv.json", json_safe(summary))
    for f in folds:
        say(f.describe())
    t0 = time.perf_counter()
    if settings.backend == "local":
        at_once, threads = local_layout(len(folds), cfg.sampler.chains, settings.parallel, settings.cores)
        say(f"{len(folds)} folds, {at_once} at once, {threads} sampler thread(s) each")
        errors = _run_local(str(dataset), cfg, folds, cv_dir, at_once, threads, progress)
    else:
        from jobs.sagemaker_runner import run_folds_on_sagemaker

        errors = run_folds_on_sagemaker(str(dataset), cfg, folds, cv_dir, settings.sagemaker, say=say,
                                        progress=progress, sagemaker_client=sagemaker_client, s3_client=s3_client)
    metrics = []
    for f in folds:
        path = cv_dir / fold_dir_name(f)
        if f.index + 1 in errors:
            continue
        try:
            metrics.append(read_fold(path)[0])
        except (OSError, ValueError) as e:
            errors[f.index + 1] = f"no readable result in {path} ({e})"
    summary.update(
        fold_metrics=metrics, errors={str(k): v for k, v in sorted(errors.items())}, aggregate=aggregate(metrics),
        status="completed" if not errors else "failed", finished_at=utc_now(),
        wall_seconds=time.perf_counter() - t0,
    )
    write_json(cv_dir / "cv.json", json_safe(summary))
    for line in report_lines(summary):
        say(line)
    if log_to_mlflow:
        from jobs.cv_tracking import log_cv
        from jobs.tracking import TrackingUnavailable, default_tracking_uri

        uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()
        try:
            parent = log_cv(cv_dir, uri)
            summary["mlflow"] = {"tracking_uri": uri, "run_id": parent}
            write_json(cv_dir / "cv.json", json_safe(summary))
            say(f"logged to MLflow at {uri} (parent run {parent})")
        except TrackingUnavailable as e:
            say(f"warning: MLflow not reached, the CV folder is kept. {e}")
    return CVResult(cv_dir, summary)


def report_lines(summary: dict) -> list[str]:
    """A table of the folds' test scores and their mean ± sd."""
    lines = [f"{'fold':>4}  {'test weeks':<23}  {'MAPE %':>7}  {'R²':>6}  {'CRPS':>9}  {'94% cov':>7}"]
    for m in summary["fold_metrics"]:
        t = m["test"]
        lines.append(f"{m['fold']:>4}  {m['test_start']} .. {m['test_end']}  {_f(t.get('mape'), 2):>7}  "
                     f"{_f(t.get('r2'), 3):>6}  {_f(t.get('crps'), 1):>9}  {_f(t.get('coverage_94'), 2):>7}")
    a = summary["aggregate"]
    if summary["fold_metrics"]:
        def ms(score: str, digits: int) -> str:
            return f"{_f(a.get(f'test_{score}_mean'), digits)} ± {_f(a.get(f'test_{score}_sd'), digits)}"
        lines.append(f"mean ± sd: MAPE {ms('mape', 2)} %, R² {ms('r2', 3)}, CRPS {ms('crps', 1)}")
    for k, v in summary["errors"].items():
        lines.append(f"fold {k} failed: {v}")
    lines.append(f"{summary['cv_id']}: {summary['status']}")
    return lines


def _f(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


# --- local folds: worker processes, each compiling the model once ---------------------------------

_progress_queue = None
_datasets: dict = {}


def _init_worker(q) -> None:
    global _progress_queue
    _progress_queue = q


def _fold_task(dataset: str, config: dict, fold: dict, cv_dir: str, threads: int) -> int:
    from jobs.config import config_from_dict
    from jobs.cv_fold import fit_fold, write_fold
    from jobs.dataset import load_dataset

    cfg = config_from_dict(config)
    cfg.sampler.cores = threads
    f = Fold.from_dict(fold)
    if dataset not in _datasets:
        _datasets[dataset] = load_dataset(dataset, target=cfg.target)

    def progress(frac: float) -> None:
        if _progress_queue is not None:
            _progress_queue.put((f.index, frac))

    metrics, predictions = fit_fold(_datasets[dataset], cfg, f, progress=progress)
    write_fold(cv_dir, f, metrics, predictions)
    progress(1.0)
    return f.index


def _run_local(dataset: str, cfg: ModelConfig, folds: list[Fold], cv_dir: Path, at_once: int, threads: int,
               progress: Progress | None) -> dict[int, str]:
    """Fit the folds in ``at_once`` worker processes; returns {fold number: error} of those that failed."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    done = {f.index: 0.0 for f in folds}
    errors: dict[int, str] = {}
    bar = _bar(len(folds))
    with ProcessPoolExecutor(max_workers=at_once, mp_context=ctx, initializer=_init_worker, initargs=(q,)) as pool:
        pending = {pool.submit(_fold_task, dataset, cfg.to_dict(), f.to_dict(), str(cv_dir), threads): f for f in folds}
        while pending:
            finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in finished:
                f = pending.pop(fut)
                error = fut.exception()
                if error is not None:
                    errors[f.index + 1] = f"{type(error).__name__}: {error}"
                done[f.index] = 1.0
            try:
                while True:
                    i, frac = q.get_nowait()
                    done[i] = max(done[i], frac)
            except queue.Empty:
                pass
            total = sum(done.values()) / len(done)
            if bar is not None:
                bar.n = round(total * len(folds), 2)
                bar.refresh()
            if progress is not None:
                progress(total)
    if bar is not None:
        bar.close()
    return errors


def _bar(n: int):
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=n, desc="folds", unit="fold", bar_format="{l_bar}{bar}| {n:.1f}/{total} folds [{elapsed}]")
