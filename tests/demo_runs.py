"""Copies of the bundled demo run under other run ids (several runs of one brand for registry and Compare
tests), and cross-validation folders as ``artemis cv`` writes them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from store.paths import BUNDLED_DEMO_RUNS


def bundled_run() -> Path:
    (src,) = [p for p in BUNDLED_DEMO_RUNS.iterdir() if p.is_dir()]
    return src


def copy_demo_run(runs: Path, run_id: str, created_at: str | None = None, status: str | None = None,
                  draws: int | None = None, mlflow: dict | None = None) -> Path:
    """``runs/run_id``: the bundled run with this id, and optionally another creation time, fit status,
    sampler draws in its config or MLflow run (``{"tracking_uri": ..., "run_id": ...}``)."""
    dst = Path(runs) / run_id
    shutil.copytree(bundled_run(), dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["run_id"] = run_id
    if created_at:
        manifest["created_at"] = created_at
    if status:
        manifest["status"] = status
    if mlflow:
        manifest["mlflow"] = mlflow
    (dst / "manifest.json").write_text(json.dumps(manifest))
    if draws is not None:
        config = yaml.safe_load((dst / "config.yaml").read_text())
        config["sampler"]["draws"] = draws
        (dst / "config.yaml").write_text(yaml.safe_dump(config))
    return dst


def write_cv(runs, cv_id: str, *, config: dict, fingerprint: str, brand: str = "Artemis Burgers",
             status: str = "completed", finished: str = "2026-11-20T10:00:00Z", mape=(4.0, 1.5, 3.5),
             mlflow: dict | None = None) -> dict:
    """A cv.json as ``artemis cv`` writes it, with three folds whose test MAPEs are ``mape``."""
    folds = [{"fold": i + 1, "test": {"mape": m, "r2": 0.5 + i / 10, "crps_pct": 2.0 + i, "coverage_94": 0.9}}
             for i, m in enumerate(mape)]
    mean = sum(mape) / len(mape)
    sd = (sum((m - mean) ** 2 for m in mape) / (len(mape) - 1)) ** 0.5
    summary = {
        "cv_id": cv_id, "status": status, "created_at": "2026-11-20T09:00:00Z", "finished_at": finished,
        "dataset": "/data/burgers", "dataset_fingerprint": fingerprint, "brand": brand,
        "settings": {"folds": 3, "test_weeks": 8, "step_weeks": 8, "backend": "local"},
        "config": config, "folds": [{"index": i} for i in range(3)], "fold_metrics": folds, "errors": {},
        "aggregate": {"test_mape_mean": mean, "test_mape_sd": sd, "test_r2_mean": 0.6, "test_r2_sd": 0.1,
                      "test_crps_pct_mean": 3.0, "test_crps_pct_sd": 1.0, "test_coverage_94_mean": 0.9,
                      "folds_scored": 3},
    }
    if mlflow:
        summary["mlflow"] = mlflow
    (runs / "cv" / cv_id).mkdir(parents=True)
    (runs / "cv" / cv_id / "cv.json").write_text(json.dumps(summary))
    return summary
