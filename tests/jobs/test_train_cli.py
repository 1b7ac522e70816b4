"""The `artemis` commands for training, and training's MLflow logging against a real server."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from artemis_panel.cli import main
from jobs.train import train


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_reports_every_problem_with_file_column_and_line(demo_dataset, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(demo_dataset, bad)
    df = pd.read_csv(bad / "training.csv")
    df.loc[2, "Audio_Value_spend"] = -5.0
    df.loc[9, "total_transactions"] = None
    df.to_csv(bad / "training.csv", index=False)
    code, out, err = run_cli(capsys, "validate", str(bad))
    assert code == 2
    assert "training.csv, column 'Audio_Value_spend', line 4" in err
    assert "training.csv, column 'total_transactions', line 11" in err


def test_validate_accepts_the_demo_and_the_public_example(demo_dataset, capsys):
    code, out, _ = run_cli(capsys, "validate", str(demo_dataset))
    assert code == 0 and "valid: 156 weeks" in out and "12 media variables" in out
    code, out, _ = run_cli(capsys, "validate", "../shared/datasets/pymc-marketing-example")
    assert code == 0 and "2 media variables" in out


def test_demo_data_command_refuses_to_overwrite(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "demo-data", str(tmp_path / "d"), "--brand", "luna-tacos", "--weeks", "160")
    assert code == 0 and (tmp_path / "d" / "training.csv").exists()
    assert len(pd.read_csv(tmp_path / "d" / "training.csv")) == 160
    before = (tmp_path / "d" / "training.csv").read_bytes()
    code, _, err = run_cli(capsys, "demo-data", str(tmp_path / "d"))
    assert code == 2 and str(tmp_path / "d") in err
    assert (tmp_path / "d" / "training.csv").read_bytes() == before


def test_train_command_prints_the_run_folder_last_and_logs_to_mlflow(demo_dataset, tmp_path, capsys, mlflow_server):
    from mlflow import MlflowClient

    code, out, err = run_cli(capsys, "train", str(demo_dataset), "--out", str(tmp_path / "runs"),
                             "--draws", "100", "--tune", "200", "--chains", "2", "--seed", "3",
                             "--tracking-uri", mlflow_server)
    assert code == 0, err
    run_dir = out.strip().splitlines()[-1]
    manifest = json.loads((tmp_path / "runs" / run_dir.rsplit("/", 1)[-1] / "manifest.json").read_text())
    assert run_dir.endswith(manifest["run_id"])
    client = MlflowClient(mlflow_server)
    run = client.get_run(manifest["mlflow"]["run_id"])
    assert run.data.tags["artemis.run_id"] == manifest["run_id"]
    metrics = json.loads((tmp_path / "runs" / manifest["run_id"] / "metrics.json").read_text())
    assert run.data.metrics["train_mape"] == pytest.approx(metrics["train"]["mape"])
    assert run.data.params["sampler.draws"] == "100"
    names = {a.path for a in client.list_artifacts(run.info.run_id, "run")}
    assert "run/summary.parquet" in names and "run/idata.nc" in names


def test_unreachable_mlflow_keeps_the_run_and_artemis_log_logs_it_later(demo_dataset, tiny_config, tmp_path, capsys, mlflow_server):
    from mlflow import MlflowClient

    from tests.jobs.conftest import free_port

    said = []
    dead = f"http://127.0.0.1:{free_port()}"
    result = train(demo_dataset, tmp_path, tiny_config, tracking_uri=dead, progress_bar=False, say=said.append)
    assert result.mlflow_run_id is None
    assert result.run_dir.is_dir() and "mlflow" not in json.loads((result.run_dir / "manifest.json").read_text())
    warning = next(m for m in said if "MLflow" in m)
    assert dead in warning and "artemis log" in warning

    code, out, err = run_cli(capsys, "log", str(result.run_dir), "--tracking-uri", mlflow_server)
    assert code == 0, err
    mlflow_id = out.strip().splitlines()[-1]
    assert MlflowClient(mlflow_server).get_run(mlflow_id).data.tags["artemis.run_id"] == result.run_dir.name
    assert json.loads((result.run_dir / "manifest.json").read_text())["mlflow"]["run_id"] == mlflow_id
