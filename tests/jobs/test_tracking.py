"""jobs/tracking.py against a real MLflow server and the default local sqlite store."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

import jobs.tracking
from jobs.tracking import TrackingUnavailable, check_reachable, default_tracking_uri, log_run

CONFIG = {
    "target": "total_transactions",
    "model": {"adstock": {"kind": "geometric", "l_max": 8}, "saturation": "hill"},
    "sampler": {"draws": 1000, "chains": 4, "target_accept": 0.9},
    "media": ["Linear TV_Brand", "Search_Performance"],
}
NESTED_METRICS = {
    "train": {"mape": 0.071, "r2": 0.93, "durbin_watson": 1.94},
    "test": {"mape": 0.112, "r2": 0.81, "durbin_watson": 2.05},
    "max_rhat": 1.004,
    "min_ess_bulk": 812,
    "divergences": 0,
    "fit_seconds": 431.5,
}
FLAT_METRICS = {"train_mape": 0.05, "test_mape": 0.09, "max_rhat": 1.01, "divergences": 3}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_run_folder(parent: Path, metrics: dict = NESTED_METRICS) -> Path:
    """A small run folder shaped like docs/data-contract.md, with a unique run id."""
    run_id = f"2026-11-23T21-05-00Z-{uuid.uuid4().hex[:7]}"
    folder = parent / run_id
    folder.mkdir()
    manifest = {
        "run_id": run_id,
        "status": "succeeded",
        "created_at": "2026-11-23T21:05:00+00:00",
        "finished_at": "2026-11-23T21:12:11+00:00",
        "dataset_fingerprint": "sha256:1f2e3d4c",
        "config": CONFIG,
        "code_version": "0.1.0+g3f9c2a1",
        "brand": "Acme",
        "audience": "national",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    (folder / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
    pd.DataFrame({
        "date": pd.to_datetime(["2026-01-05", "2026-01-12"]),
        "variable": ["Linear TV_Brand", "Linear TV_Brand"],
        "contribution": [120.5, 98.25],
        "spend": [1000.0, 800.0],
    }).to_parquet(folder / "contributions.parquet")
    return folder


def test_log_run_records_config_metrics_tags_and_files(mlflow_server, tmp_path):
    folder = make_run_folder(tmp_path)

    run_id = log_run(folder, tracking_uri=mlflow_server)

    run = MlflowClient(mlflow_server).get_run(run_id)
    assert run.info.run_name == folder.name
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["target"] == "total_transactions"
    assert params["model.adstock.l_max"] == "8"
    assert params["model.adstock.kind"] == "geometric"
    assert params["sampler.target_accept"] == "0.9"
    assert json.loads(params["media"]) == CONFIG["media"]
    assert params["artemis.brand"] == "Acme"
    assert params["artemis.dataset_fingerprint"] == "sha256:1f2e3d4c"
    assert params["artemis.code_version"] == "0.1.0+g3f9c2a1"
    assert run.data.metrics == {
        "train_mape": 0.071, "train_r2": 0.93, "train_durbin_watson": 1.94,
        "test_mape": 0.112, "test_r2": 0.81, "test_durbin_watson": 2.05,
        "max_rhat": 1.004, "min_ess_bulk": 812.0, "divergences": 0.0, "fit_seconds": 431.5,
    }  # fmt: skip
    tags = run.data.tags
    assert tags["artemis.run_id"] == folder.name
    assert tags["artemis.brand"] == "Acme"
    assert tags["artemis.status"] == "succeeded"
    assert tags["artemis.audience"] == "national"


def test_every_file_of_the_run_folder_is_an_artifact(mlflow_server, tmp_path):
    folder = make_run_folder(tmp_path)

    run_id = log_run(folder, tracking_uri=mlflow_server)

    client = MlflowClient(mlflow_server)
    names = {Path(a.path).name for a in client.list_artifacts(run_id, "run")}
    assert names == {"manifest.json", "config.yaml", "metrics.json", "contributions.parquet"}
    local = client.download_artifacts(run_id, "run/contributions.parquet", str(tmp_path / "back"))
    pd.testing.assert_frame_equal(pd.read_parquet(local), pd.read_parquet(folder / "contributions.parquet"))


def test_flat_metrics_json_is_logged_as_is(mlflow_server, tmp_path):
    folder = make_run_folder(tmp_path, metrics=FLAT_METRICS | {"note": "not a number", "converged": True})

    run_id = log_run(folder, tracking_uri=mlflow_server, experiment="artemis-flat")

    metrics = MlflowClient(mlflow_server).get_run(run_id).data.metrics
    assert metrics == {k: float(v) for k, v in FLAT_METRICS.items()}


def test_logging_the_same_run_twice_keeps_one_mlflow_run(mlflow_server, tmp_path):
    folder = make_run_folder(tmp_path)

    first = log_run(folder, tracking_uri=mlflow_server)
    second = log_run(folder, tracking_uri=mlflow_server)

    assert second == first
    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("artemis")
    runs = client.search_runs([experiment.experiment_id], f"tags.`artemis.run_id` = '{folder.name}'")
    assert [r.info.run_id for r in runs] == [first]


def test_unreachable_server_fails_fast_with_how_to_log_later(tmp_path):
    folder = make_run_folder(tmp_path)
    uri = f"http://127.0.0.1:{free_port()}"

    started = time.monotonic()
    with pytest.raises(TrackingUnavailable) as raised:
        log_run(folder, tracking_uri=uri)

    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert uri in message
    assert f"artemis log {folder} --tracking-uri {uri}" in message


def test_server_lost_after_the_health_check_fails_fast_too(tmp_path, monkeypatch):
    # The server answers /health, then is gone: MLflow's own retries (by default about 7, with
    # backoff and 120 s timeouts) must not keep the caller waiting for minutes.
    monkeypatch.setattr(jobs.tracking, "check_reachable", lambda uri, timeout=3.0: None)
    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    folder = make_run_folder(tmp_path)
    uri = f"http://127.0.0.1:{free_port()}"

    started = time.monotonic()
    with pytest.raises(TrackingUnavailable, match="artemis log"):
        log_run(folder, tracking_uri=uri)

    assert time.monotonic() - started < 10
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ  # only set during the call


def test_check_reachable_names_the_uri_and_the_artemis_log_hint():
    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TrackingUnavailable, match=r"artemis log RUN_FOLDER --tracking-uri http://127\.0\.0\.1:\d+"):
        check_reachable(uri, timeout=1)


def test_default_uri_is_a_sqlite_file_in_the_artemis_data_dir(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("ARTEMIS_DATA_DIR", str(data_dir))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    folder = make_run_folder(tmp_path)

    uri = default_tracking_uri()
    run_id = log_run(folder)

    assert uri == f"sqlite:///{(data_dir / 'mlflow.db').resolve().as_posix()}"
    client = MlflowClient(uri)
    assert client.get_run(run_id).data.metrics["test_mape"] == NESTED_METRICS["test"]["mape"]
    assert {Path(a.path).name for a in client.list_artifacts(run_id, "run")} >= {"contributions.parquet"}
    assert (data_dir / "mlflow.db").is_file()
    assert list(workdir.iterdir()) == []  # nothing (no ./mlruns) left in the working directory
