"""The Jobs tab without a browser: the form follows the model config, a filled form makes the job's spec
(bad input said before anything starts), and the jobs table reads what users scan for."""

from __future__ import annotations

import pytest

from artemis_panel import jobs_data as jd
from jobs.config import ConfigError, ModelConfig, SamplerConfig
from jobs.dataset import DatasetError
from jobs.folds import FoldError
from jobs.local_runner import JobRecord


def test_the_form_fields_carry_the_configs_types_defaults_and_choices():
    fields = {f.name: f for f in jd.form_fields()}
    cfg, sampler = ModelConfig(), SamplerConfig()
    assert fields["variant"].choices == ("national", "per_audience") and fields["variant"].default == cfg.variant
    assert fields["trend"].kind is bool and fields["trend"].default is cfg.trend
    assert fields["draws"].kind is int and fields["draws"].default == sampler.draws
    assert fields["target_accept"].kind is float and fields["target_accept"].default == sampler.target_accept
    assert fields["l_max"].default == cfg.l_max


def test_a_filled_form_makes_a_training_spec_with_the_forms_config(demo_dataset, tmp_path):
    spec = jd.make_spec("train", str(demo_dataset), {"draws": 40, "chains": 1, "variant": "national", "trend": False},
                        tmp_path / "runs", tmp_path / "cv")
    assert spec.kind == "train" and spec.out == str(tmp_path / "runs")
    assert spec.dataset == str(demo_dataset.resolve())
    cfg = spec.model_config()
    assert cfg.sampler.draws == 40 and cfg.sampler.chains == 1 and cfg.trend is False


def test_a_cv_form_makes_a_cv_spec_and_folds_that_do_not_fit_are_refused(demo_dataset, tmp_path):
    cv = {"folds": 3, "test_weeks": 8, "step_weeks": 8, "backend": "local", "sagemaker": {}}
    spec = jd.make_spec("cv", str(demo_dataset), {"draws": 40}, tmp_path / "runs", tmp_path / "cv", cv=cv)
    assert spec.kind == "cv" and spec.out == str(tmp_path / "cv") and spec.cv["folds"] == 3
    with pytest.raises(FoldError, match="156 weeks"):
        jd.make_spec("cv", str(demo_dataset), {}, tmp_path / "runs", tmp_path / "cv",
                     cv=cv | {"folds": 12, "test_weeks": 13, "step_weeks": 13})


def test_bad_form_input_names_the_field_or_the_folder(demo_dataset, tmp_path):
    with pytest.raises(ValueError, match="Dataset: give a dataset folder"):
        jd.make_spec("train", "  ", {}, tmp_path, tmp_path)
    with pytest.raises(ValueError, match="no folder at"):
        jd.make_spec("train", str(tmp_path / "nowhere"), {}, tmp_path, tmp_path)
    with pytest.raises(ConfigError, match="sampler.draws"):
        jd.make_spec("train", str(demo_dataset), {"draws": 0}, tmp_path, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="training"):
        jd.make_spec("train", str(empty), {}, tmp_path, tmp_path)


def test_the_jobs_table_shows_status_progress_and_the_result_or_error(tmp_path):
    base = dict(kind="train", name="Train demo", backend="local", created_at="2026-11-24T05:00:00Z", dir=tmp_path)
    jobs = [
        JobRecord(job_id="b", status="succeeded", progress=1.0, started_at="2026-11-24T05:00:00Z",
                  finished_at="2026-11-24T05:01:05Z", result={"run_id": "2026-11-24T05-01-00Z-abc"}, **base),
        JobRecord(job_id="a", status="failed", progress=0.4, error="1 problem in dataset x", **base),
        JobRecord(job_id="c", status="queued", progress=0.0, message="waiting for 2 free core(s)", **base),
    ]
    table = jd.jobs_table(jobs)
    assert list(table["job"]) == ["b", "a", "c"]
    assert table.loc[0, "status"].endswith("succeeded") and table.loc[0, "detail"] == "2026-11-24T05-01-00Z-abc"
    assert table.loc[0, "elapsed"] == "1:05" and table.loc[0, "progress"] == 100.0
    assert table.loc[1, "detail"] == "1 problem in dataset x" and table.loc[1, "progress"] == 40.0
    assert table.loc[2, "detail"] == "waiting for 2 free core(s)" and table.loc[2, "elapsed"] == "0:00"
