"""End to end: a dataset folder becomes a complete, trustworthy run folder."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from jobs.analysis import CONTRIBUTION_COLUMNS, SUMMARY_COLUMNS
from jobs.dataset import DatasetError, load_dataset
from jobs.run_folder import RUN_FILES
from jobs.train import train

QUIET = dict(progress_bar=False, say=lambda m: None)


def truth(dataset) -> pd.DataFrame:
    return pd.read_csv(dataset / "ground_truth.csv", keep_default_na=False)


def test_run_folder_is_complete_and_follows_the_contract(trained_run, demo_dataset):
    run = trained_run.run_dir
    assert sorted(p.name for p in run.iterdir()) == sorted(RUN_FILES)
    assert not [p for p in run.parent.iterdir() if p.name.startswith(".partial")]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["run_id"] == run.name
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-[0-9a-f]{7}", run.name)
    assert manifest["status"] in ("completed", "needs_review")
    assert manifest["dataset_fingerprint"] == load_dataset(demo_dataset).fingerprint
    assert manifest["brand"] == "Artemis Burgers"
    assert manifest["config"]["sampler"]["draws"] == 300

    contrib = pd.read_parquet(run / "contributions.parquet")
    assert list(contrib.columns) == CONTRIBUTION_COLUMNS
    assert not contrib.duplicated(["date", "variable"]).any()
    ds = load_dataset(demo_dataset)
    assert set(contrib.loc[contrib.is_media_variable, "variable"]) == set(ds.media)
    assert (contrib.contribution_lo <= contrib.contribution).all() and (contrib.contribution <= contrib.contribution_hi).all()
    summary = pd.read_parquet(run / "summary.parquet")
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert list(summary.variable) == ds.media

    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("max_rhat", "min_ess_bulk", "divergences", "fit_seconds"):
        assert metrics[key] is not None
    for key in ("mape", "r2", "durbin_watson"):
        assert metrics["train"][key] is not None


def test_true_total_media_contribution_is_inside_the_94_percent_interval(trained_run, demo_dataset):
    gt = truth(demo_dataset)
    true_total = gt[gt.kind == "media"].contribution.sum()
    mc = trained_run.metrics["media_contribution"]
    assert mc["lo"] <= true_total <= mc["hi"], (mc, true_total)


def test_contributions_add_up_to_the_observed_transactions(trained_run):
    contrib = pd.read_parquet(trained_run.run_dir / "contributions.parquet")
    weekly = contrib.groupby("date").agg(fitted=("contribution", "sum"), actual=("transactions", "first"))
    mape = (abs(weekly.fitted - weekly.actual) / weekly.actual).mean() * 100
    assert mape < 5
    assert mape == pytest.approx(trained_run.metrics["train"]["mape"], rel=1e-6)


def test_summary_totals_match_weekly_contributions(trained_run):
    contrib = pd.read_parquet(trained_run.run_dir / "contributions.parquet")
    summary = pd.read_parquet(trained_run.run_dir / "summary.parquet").set_index("variable")
    weekly = contrib[contrib.is_media_variable].groupby("variable")[["contribution", "spend"]].sum()
    s = summary.loc[weekly.index]
    np.testing.assert_allclose(s.contribution, weekly.contribution, rtol=1e-9)
    np.testing.assert_allclose(s.spend, weekly.spend, rtol=1e-12)
    assert ((s.cost_per_incremental_transaction_lo < s.spend / s.contribution)
            & (s.spend / s.contribution < s.cost_per_incremental_transaction_hi)).all()


def test_response_draws_reproduce_saved_contributions_and_total_intervals(trained_run, demo_dataset):
    """The response table holds everything needed to recompute a media variable without PyMC, and the
    summary's interval is the HDI of the per-draw total (not a sum of weekly bounds)."""
    import arviz as az

    from jobs.transforms import geometric_adstock, hill_saturation

    resp = pd.read_parquet(trained_run.run_dir / "response.parquet")
    contrib = pd.read_parquet(trained_run.run_dir / "contributions.parquet")
    summary = pd.read_parquet(trained_run.run_dir / "summary.parquet").set_index("variable")
    training = pd.read_csv(demo_dataset / "training.csv")
    for var in ("Paid Search_Brand", "Linear TV_Brand", "CTV_Brand"):
        p = resp[resp.variable == var].pivot(index="draw", columns="parameter", values="value")
        signal = "impressions" if var.startswith("CTV") else "spend"
        x = training[f"{var}_{signal}"].to_numpy(float)
        l_max = int(p.l_max.iloc[0])
        draws = np.array([p.beta[i] * hill_saturation(geometric_adstock(x / p.x_scale[i], p.adstock_decay[i], l_max),
                                                      p.half_saturation[i], p.hill_slope[i]) for i in p.index])
        saved = contrib[contrib.variable == var].sort_values("date").contribution.to_numpy()
        np.testing.assert_allclose(draws.mean(axis=0), saved, rtol=1e-6)
        lo, hi = np.asarray(az.hdi(draws.sum(axis=1)[None, :], prob=0.94)).ravel()
        assert summary.loc[var, "contribution_lo"] == pytest.approx(lo, rel=1e-9)
        assert summary.loc[var, "contribution_hi"] == pytest.approx(hi, rel=1e-9)


def test_invalid_dataset_writes_nothing(demo_dataset, tiny_config, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(demo_dataset, bad)
    df = pd.read_csv(bad / "training.csv")
    df.loc[5, "OOH_Brand_spend"] = -100
    df.to_csv(bad / "training.csv", index=False)
    runs = tmp_path / "runs"
    with pytest.raises(DatasetError) as e:
        train(bad, runs, tiny_config, log_to_mlflow=False, **QUIET)
    assert "OOH_Brand_spend" in str(e.value) and "line 7" in str(e.value)
    assert not runs.exists()


def test_poorly_converged_run_is_written_and_marked_needs_review(demo_dataset, tiny_config, tmp_path):
    cfg = replace(tiny_config, sampler=replace(tiny_config.sampler, draws=5, tune=5))
    result = train(demo_dataset, tmp_path, cfg, log_to_mlflow=False, **QUIET)
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "needs_review"
    assert "R-hat" in manifest["status_reason"] or "divergent" in manifest["status_reason"]


def test_holdout_weeks_are_scored_as_test(demo_dataset, tiny_config, tmp_path):
    cfg = replace(tiny_config, holdout_weeks=13)
    result = train(demo_dataset, tmp_path, cfg, log_to_mlflow=False, **QUIET)
    contrib = pd.read_parquet(result.run_dir / "contributions.parquet")
    test_dates = contrib.loc[contrib.split == "test", "date"].unique()
    assert len(test_dates) == 13
    assert result.manifest["test_start"] == str(pd.Timestamp(test_dates.min()).date())
    assert result.metrics["test"]["mape"] is not None and result.metrics["test"]["mape"] < 15
    # summary covers the training weeks only
    summary = pd.read_parquet(result.run_dir / "summary.parquet")
    train_spend = contrib[(contrib.split == "train") & contrib.is_media_variable].groupby("variable").spend.sum()
    np.testing.assert_allclose(summary.set_index("variable").spend[train_spend.index], train_spend)


def test_per_audience_variant_fits_each_audience(tiny_config, tmp_path):
    from jobs.demo_data import generate_demo_dataset

    ds = generate_demo_dataset(tmp_path / "aud", audiences=["Adults 18-34", "Families"])
    cfg = replace(tiny_config, variant="per_audience")
    result = train(ds, tmp_path / "runs", cfg, log_to_mlflow=False, **QUIET)
    contrib = pd.read_parquet(result.run_dir / "contributions.parquet")
    assert set(contrib.audience) == {"Adults 18-34", "Families"}
    summary = pd.read_parquet(result.run_dir / "summary.parquet")
    assert summary.groupby("audience").size().to_dict() == {"Adults 18-34": 12, "Families": 12}
    assert set(result.metrics["audiences"]) == {"Adults 18-34", "Families"}
    gt = truth(ds)
    for aud, m in result.metrics["audiences"].items():
        true_total = gt[(gt.kind == "media") & (gt.audience == aud)].contribution.sum()
        assert m["media_contribution"]["lo"] <= true_total <= m["media_contribution"]["hi"]
