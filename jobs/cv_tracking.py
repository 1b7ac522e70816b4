"""Logging a finished CV folder to MLflow: a parent run (settings, aggregate scores, cv.json) with one
child run per fold (its window, scores and predictions)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from jobs.tracking import (
    TrackingUnavailable,
    _experiment_id,
    _fast_http,
    _first_line,
    _is_connection_error,
    _metrics,
    _param_value,
    _flatten,
    _key,
    check_reachable,
)

CV_ID_TAG = "artemis.cv_id"
PARENT_TAG = "mlflow.parentRunId"


def log_cv(cv_dir: str | Path, tracking_uri: str, experiment: str = "artemis-cv") -> str:
    """Log the CV folder; returns the parent run's id. Raises ``TrackingUnavailable`` if MLflow is not reached."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    cv_dir = Path(cv_dir)
    summary = json.loads((cv_dir / "cv.json").read_text())
    check_reachable(tracking_uri)
    now = int(time.time() * 1000)
    with _fast_http():
        try:
            client = MlflowClient(tracking_uri=tracking_uri)
            exp = _experiment_id(client, experiment, tracking_uri)
            params = {"cv." + k: v for k, v in summary["settings"].items() if k != "sagemaker"}
            params.update({"config." + k: v for k, v in _flatten(summary["config"], ".")})
            params["dataset"] = summary["dataset"]
            parent = client.create_run(exp, run_name=summary["cv_id"],
                                       tags={CV_ID_TAG: summary["cv_id"], "artemis.status": summary["status"]})
            pid = parent.info.run_id
            client.log_batch(pid, metrics=[Metric(k, v, now, 0) for k, v in _metrics(summary["aggregate"]).items()],
                             params=[Param(_key(k), _param_value(v)) for k, v in params.items()])
            client.log_artifact(pid, str(cv_dir / "cv.json"))
            for m in summary["fold_metrics"]:
                child = client.create_run(exp, run_name=f"{summary['cv_id']} fold {m['fold']}",
                                          tags={PARENT_TAG: pid, CV_ID_TAG: summary["cv_id"]})
                cid = child.info.run_id
                window = {k: m[k] for k in ("fold", "warmup_start", "train_start", "test_start", "test_end",
                                            "train_weeks", "test_weeks")}
                scores = {k: v for k, v in m.items() if k not in window}
                client.log_batch(cid, metrics=[Metric(k, v, now, 0) for k, v in _metrics(scores).items()],
                                 params=[Param(k, _param_value(v)) for k, v in window.items()])
                fold_dir = cv_dir / f"fold-{m['fold']:02d}"
                if fold_dir.is_dir():
                    client.log_artifacts(cid, str(fold_dir), artifact_path="fold")
                client.set_terminated(cid, "FINISHED")
            client.set_terminated(pid, "FINISHED" if summary["status"] == "completed" else "FAILED")
            return pid
        except Exception as error:
            if _is_connection_error(error):
                raise TrackingUnavailable(tracking_uri, _first_line(error), cv_dir) from error
            raise
