"""Cross-validation results in the store: how a CV folder's ``cv.json`` becomes a ``cv_results`` row, and
which runs a CV scores.

A CV scores a model specification on a dataset, not one fitted run: it matches every run of the same
brand fitted to the same dataset (its fingerprint) with the same model (the config without the sampler
settings, the holdout and the interval width, which change the fit of a run but not the model that was
cross-validated), see :func:`model_key`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Sequence

import duckdb
import pandas as pd
import yaml

# Config keys that do not change the model a CV validates.
NOT_MODEL = ("sampler", "holdout_weeks", "hdi_prob", "brand")
SCORES = ("test_mape_mean", "test_mape_sd", "test_r2_mean", "test_r2_sd", "test_crps_pct_mean",
          "test_crps_pct_sd", "test_coverage_94_mean")


class CVFileError(ValueError):
    """A ``cv.json`` that cannot be read as a cross-validation summary (the message names the field)."""


def model_key(config: dict | None) -> str | None:
    """A short hash of the model specification in ``config`` (a run's or a CV's model config)."""
    if not config:
        return None
    spec = {k: v for k, v in config.items() if k not in NOT_MODEL}
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _number(d: dict, key: str, where: str) -> float | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise CVFileError(f"{where}: {key} must be a number, got {v!r}")
    return float(v)


def insert_cv(con: duckdb.DuckDBPyConnection, source: str, summary: Any, where: str) -> None:
    """Replace the row of the CV in ``summary`` (the parsed ``cv.json`` found at ``where``)."""
    if not isinstance(summary, dict):
        raise CVFileError(f"{where}: not a JSON object")
    for key in ("cv_id", "dataset_fingerprint", "config"):
        if not summary.get(key):
            raise CVFileError(f"{where}: field {key} is missing")
    if not isinstance(summary["config"], dict):
        raise CVFileError(f"{where}: field config must be an object")
    agg = summary.get("aggregate") or {}
    settings = summary.get("settings") or {}
    if not isinstance(agg, dict) or not isinstance(settings, dict):
        raise CVFileError(f"{where}: fields aggregate and settings must be objects")
    scores = [_number(agg, k, where) for k in SCORES]
    from store.sync import _ts  # (sync imports this module)

    mlflow = summary.get("mlflow") or {}
    con.execute("DELETE FROM cv_results WHERE cv_id = ?", [summary["cv_id"]])
    con.execute(
        f"""INSERT INTO cv_results (cv_id, brand, dataset_fingerprint, model_key, status, created_at, finished_at,
                folds, folds_scored, test_weeks, step_weeks, {", ".join(SCORES)},
                mlflow_tracking_uri, mlflow_run_id, summary, source, synced_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {", ".join("?" * len(SCORES))}, ?, ?, ?, ?, ?)""",
        [summary["cv_id"], summary.get("brand"), summary["dataset_fingerprint"], model_key(summary["config"]),
         summary.get("status"), _ts(summary.get("created_at")), _ts(summary.get("finished_at")),
         len(summary.get("folds") or []), agg.get("folds_scored"), settings.get("test_weeks"),
         settings.get("step_weeks"), *scores, mlflow.get("tracking_uri"), mlflow.get("run_id"),
         json.dumps(summary, default=str), source, datetime.now(timezone.utc).replace(tzinfo=None)],
    )


def cv_for_runs(reader, run_ids: Sequence[str], brands: Sequence[str] | None = None) -> pd.DataFrame:
    """For each run (that the brands may see), the newest completed CV of its model on its dataset:
    one row per run with ``run_id`` and the CV's id, settings and scores; runs without one are left out."""
    from store.queries import _as_list, _in

    cols = ["run_id", "cv_id", "status", "folds", "folds_scored", "test_weeks", "step_weeks", *SCORES,
            "mlflow_tracking_uri", "mlflow_run_id", "finished_at"]
    if not run_ids or reader.schema_version < 5:
        return pd.DataFrame(columns=cols)
    params: list[Any] = list(run_ids)
    where = f"run_id IN ({', '.join('?' * len(run_ids))})"
    if brands is not None:
        where += " AND " + _in("brand", _as_list(brands, "brands"), params)
    runs = reader.query(f"SELECT run_id, brand, dataset_fingerprint, config_yaml FROM runs WHERE {where}", params)
    if runs.empty:
        return pd.DataFrame(columns=cols)
    runs["model_key"] = [model_key(yaml.safe_load(c) if c else None) for c in runs["config_yaml"]]
    fps = sorted(set(runs["dataset_fingerprint"].dropna()))
    if not fps:
        return pd.DataFrame(columns=cols)
    cvs = reader.query(
        f"""SELECT * EXCLUDE (summary, source, synced_at) FROM cv_results
            WHERE status = 'completed' AND dataset_fingerprint IN ({', '.join('?' * len(fps))})
            ORDER BY finished_at DESC NULLS LAST, cv_id DESC""", fps)
    out = []
    for run in runs.itertuples():
        match = cvs[(cvs.dataset_fingerprint == run.dataset_fingerprint) & (cvs.model_key == run.model_key)
                    & (cvs.brand.isna() | (cvs.brand == run.brand))]
        if not match.empty:
            out.append({"run_id": run.run_id, **{c: match.iloc[0][c] for c in cols[1:]}})
    return pd.DataFrame(out, columns=cols)
