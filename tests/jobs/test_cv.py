"""Walk-forward cross-validation end to end on a short demo dataset: folds fitted in parallel worker
processes, scores recomputed from the saved predictions, MLflow parent and child runs on a real server."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from jobs.config import load_config
from jobs.cv import CVSettings, aggregate, local_layout, run_cv
from jobs.cv_fold import fold_series
from jobs.dataset import load_dataset
from jobs.demo_data import generate_demo_dataset
from jobs.folds import FoldError, make_folds
from jobs.scores import crps_draws  # noqa: F401 - the score the fold metrics use


@pytest.fixture(scope="module")
def short_dataset(tmp_path_factory):
    return generate_demo_dataset(tmp_path_factory.mktemp("cv") / "demo", weeks=80, seed=3)


@pytest.fixture(scope="module")
def cv_run(short_dataset, mlflow_server, tmp_path_factory):
    cfg = load_config(draws=60, tune=60, chains=2, seed=2)
    settings = CVSettings(folds=2, test_weeks=6, step_weeks=6, parallel=2)
    lines: list[str] = []
    progress: list[float] = []
    result = run_cv(str(short_dataset), cfg, settings, tmp_path_factory.mktemp("cvout"), tracking_uri=mlflow_server,
                    say=lines.append, progress=progress.append)
    return result, lines, progress


def test_every_fold_is_scored_on_its_own_test_weeks(cv_run, short_dataset):
    result, lines, progress = cv_run
    summary = json.loads((result.cv_dir / "cv.json").read_text())
    assert summary["status"] == "completed" and not summary["errors"]
    dates = sorted(pd.read_csv(short_dataset / "training.csv", parse_dates=["date"])["date"].unique())
    assert [m["test_end"] for m in summary["fold_metrics"]] == [f"{dates[-7]:%Y-%m-%d}", f"{dates[-1]:%Y-%m-%d}"]
    for m in summary["fold_metrics"]:
        pred = pd.read_parquet(result.cv_dir / f"fold-{m['fold']:02d}" / "predictions.parquet")
        test = pred[pred.split == "test"]
        assert len(test) == 6 and f"{test.date.min():%Y-%m-%d}" == m["test_start"]
        # MAPE and R² of the predictive mean, recomputed here from the saved predictions
        ape = np.abs(test.actual - test.predicted) / test.actual
        assert m["test"]["mape"] == pytest.approx(100 * ape.mean(), rel=1e-9)
        ss = ((test.actual - test.predicted) ** 2).sum() / ((test.actual - test.actual.mean()) ** 2).sum()
        assert m["test"]["r2"] == pytest.approx(1 - ss, rel=1e-9)
        # a fitted model forecasts a few weeks ahead within a sane error, and its bands hold most actuals
        assert m["test"]["mape"] < 15
        assert 0 < m["test"]["crps"] < np.abs(test.actual - test.actual.mean()).mean() * 2
        assert m["test"]["coverage_94"] >= 0.5
        inside = ((test.actual >= test.predicted_lo) & (test.actual <= test.predicted_hi)).mean()
        assert inside == pytest.approx(m["test"]["coverage_94"], abs=0.2)
    agg = summary["aggregate"]
    mapes = [m["test"]["mape"] for m in summary["fold_metrics"]]
    assert agg["test_mape_mean"] == pytest.approx(np.mean(mapes))
    assert agg["test_mape_sd"] == pytest.approx(np.std(mapes, ddof=1))
    assert progress and progress[-1] == pytest.approx(1.0)
    assert any("mean ± sd" in line for line in lines)


def test_mlflow_has_a_parent_run_with_a_child_per_fold(cv_run, mlflow_server):
    result, _, _ = cv_run
    summary = json.loads((result.cv_dir / "cv.json").read_text())
    client = MlflowClient(tracking_uri=mlflow_server)
    parent = client.get_run(summary["mlflow"]["run_id"])
    assert parent.info.run_name == summary["cv_id"] and parent.info.status == "FINISHED"
    assert parent.data.metrics["test_mape_mean"] == pytest.approx(summary["aggregate"]["test_mape_mean"])
    assert parent.data.params["cv.folds"] == "2"
    exp = parent.info.experiment_id
    children = client.search_runs([exp], filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert sorted(int(c.data.params["fold"]) for c in children) == [1, 2]
    by_fold = {int(c.data.params["fold"]): c for c in children}
    for m in summary["fold_metrics"]:
        assert by_fold[m["fold"]].data.metrics["test_crps"] == pytest.approx(m["test"]["crps"])
        assert by_fold[m["fold"]].data.params["test_start"] == m["test_start"]


def test_a_cv_folder_syncs_into_the_store_with_its_scores(cv_run, tmp_path):
    """What ``artemis cv`` writes is what the store reads (``{runs}/cv/{cv_id}/cv.json``), folds left behind."""
    import shutil

    import duckdb

    from store.cv_results import model_key
    from store.sync import sync

    result, _, _ = cv_run
    summary = json.loads((result.cv_dir / "cv.json").read_text())
    shutil.copytree(result.cv_dir, tmp_path / "runs" / "cv" / result.cv_dir.name)
    report = sync(tmp_path / "runs", tmp_path / "store.duckdb")
    assert report.cv == [summary["cv_id"]] and not report.skipped and not report.added
    with duckdb.connect(str(tmp_path / "store.duckdb"), read_only=True) as con:
        row = con.execute("SELECT status, folds, folds_scored, test_weeks, test_mape_mean, test_crps_pct_sd, "
                          "mlflow_run_id, dataset_fingerprint, model_key FROM cv_results").fetchall()
    agg = summary["aggregate"]
    assert row == [("completed", 2, 2, 6, pytest.approx(agg["test_mape_mean"]), pytest.approx(agg["test_crps_pct_sd"]),
                    summary["mlflow"]["run_id"], summary["dataset_fingerprint"], model_key(summary["config"]))]


def test_a_fold_carries_over_the_warm_up_weeks_spend(short_dataset):
    cfg = load_config()
    ds = load_dataset(short_dataset)
    dates = sorted(ds.training["date"].unique())
    fold = make_folds(dates, 2, 6, 6, cfg.l_max)[1]
    (d,) = fold_series(ds, cfg, fold)
    assert d.T == fold.train_weeks + fold.test_weeks and d.n_train == fold.train_weeks
    x = d.x / d.x_scale
    lag1_first_week = d.xlag[1, 0]  # media input one week before the first training week
    frame = ds.training.sort_values("date").reset_index(drop=True)
    j = next(i for i, s in enumerate(d.signal) if s == "spend")
    expected = frame[f"{d.media[j]}_spend"].iloc[fold.train_start - 1] / d.x_scale[j]
    assert lag1_first_week[j] == pytest.approx(expected)
    assert np.allclose(d.xlag[0], x)


def test_a_dataset_too_short_is_refused_before_anything_starts(short_dataset, tmp_path):
    cfg = load_config(draws=10, tune=10)
    with pytest.raises(FoldError, match="80 weeks"):
        run_cv(str(short_dataset), cfg, CVSettings(folds=6, test_weeks=13), tmp_path, log_to_mlflow=False)
    assert list(tmp_path.iterdir()) == []


def test_the_cv_command_refuses_folds_that_do_not_fit_with_status_2(short_dataset, tmp_path, capsys):
    from artemis_panel.cli import main

    rc = main(["cv", str(short_dataset), "--folds", "6", "--test-weeks", "13", "--out", str(tmp_path), "--no-mlflow"])
    err = capsys.readouterr().err
    assert rc == 2 and "80 weeks" in err and "6 folds of 13 test weeks" in err
    assert list(tmp_path.iterdir()) == []


def test_local_layout_stays_within_the_core_limit():
    assert local_layout(4, chains=2, cores=2) == (2, 1)
    assert local_layout(4, chains=2, cores=16) == (4, 2)
    assert local_layout(4, chains=4, parallel=1, cores=8) == (1, 4)
    assert local_layout(1, chains=2, cores=8) == (1, 2)


def test_aggregate_means_and_sds_over_folds():
    folds = [{"test": {"mape": 2.0, "crps": 10.0}, "train": {"mape": 1.0}},
             {"test": {"mape": 4.0, "crps": 30.0}, "train": {"mape": 3.0}}]
    agg = aggregate(folds)
    assert agg["test_mape_mean"] == 3.0 and agg["test_crps_mean"] == 20.0
    assert agg["test_mape_sd"] == pytest.approx(np.sqrt(2.0))
