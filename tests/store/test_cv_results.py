"""Cross-validation results synced into the store (``{source}/cv/{cv_id}/cv.json``) and matched to the runs
of the same model on the same dataset."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from store.cv_results import cv_for_runs
from store.reader import StoreReader
from store.sync import sync
from tests.demo_runs import bundled_run, copy_demo_run, write_cv

OTHER = "2026-01-01T00-00-00Z-aaaaaaa"


@pytest.fixture
def source(tmp_path):
    """Two runs of the demo model (the bundled one, and a copy sampled with fewer draws) in a runs folder."""
    runs = tmp_path / "runs"
    shutil.copytree(bundled_run(), runs / bundled_run().name)
    copy_demo_run(runs, OTHER, created_at="2026-01-01T00:00:00Z", draws=100)
    manifest = json.loads((bundled_run() / "manifest.json").read_text())
    config = yaml.safe_load((bundled_run() / "config.yaml").read_text())
    return runs, manifest["dataset_fingerprint"], config


def scores(store, run_ids, brands=None):
    reader = StoreReader(store)
    try:
        return cv_for_runs(reader, run_ids, brands).set_index("run_id")
    finally:
        reader.close()


def test_a_cv_of_the_same_model_and_dataset_scores_every_run_of_it(source, tmp_path):
    runs, fp, config = source
    faster = {**config, "sampler": {**config["sampler"], "draws": 50, "chains": 4}, "holdout_weeks": 0}
    cv = write_cv(runs, "cv-a", config=faster, fingerprint=fp, mlflow={"tracking_uri": "http://127.0.0.1:5000", "run_id": "abc"})
    store = tmp_path / "store.duckdb"
    report = sync(runs, store)
    assert report.cv == ["cv-a"] and not report.skipped
    got = scores(store, [bundled_run().name, OTHER])
    assert set(got.index) == {bundled_run().name, OTHER}  # sampler settings do not change the model
    row = got.loc[OTHER]
    assert row.cv_id == "cv-a" and row.folds_scored == 3 and row.test_weeks == 8
    mape = [f["test"]["mape"] for f in cv["fold_metrics"]]
    assert row.test_mape_mean == pytest.approx(sum(mape) / 3)
    assert row.mlflow_run_id == "abc" and row.mlflow_tracking_uri == "http://127.0.0.1:5000"


def test_another_model_or_dataset_or_a_failed_cv_does_not_count(source, tmp_path):
    runs, fp, config = source
    write_cv(runs, "cv-lmax", config={**config, "l_max": 4}, fingerprint=fp)
    write_cv(runs, "cv-data", config=config, fingerprint="0" * 64)
    write_cv(runs, "cv-failed", config=config, fingerprint=fp, status="failed", finished="2026-11-23T00:00:00Z")
    store = tmp_path / "store.duckdb"
    sync(runs, store)
    assert scores(store, [bundled_run().name]).empty
    # the newest completed one wins
    write_cv(runs, "cv-old", config=config, fingerprint=fp, finished="2026-10-01T00:00:00Z", mape=(9, 9, 9))
    write_cv(runs, "cv-new", config=config, fingerprint=fp, finished="2026-11-01T00:00:00Z", mape=(2, 3, 4))
    report = sync(runs, store)
    assert sorted(report.cv) == ["cv-new", "cv-old"]  # only what changed is read again
    row = scores(store, [bundled_run().name]).loc[bundled_run().name]
    assert row.cv_id == "cv-new" and row.test_mape_mean == pytest.approx(3.0)
    # another brand's session sees no scores of these runs
    assert scores(store, [bundled_run().name], brands=["Luna Tacos"]).empty
    # a CV folder deleted at the source goes from the store
    shutil.rmtree(runs / "cv" / "cv-new")
    assert sync(runs, store).published
    assert scores(store, [bundled_run().name]).loc[bundled_run().name].cv_id == "cv-old"


def test_a_bad_cv_json_is_skipped_with_its_file_and_field_named(source, tmp_path):
    runs, fp, config = source
    write_cv(runs, "cv-good", config=config, fingerprint=fp)
    (runs / "cv" / "cv-broken").mkdir()
    (runs / "cv" / "cv-broken" / "cv.json").write_text("{not json")
    bad = write_cv(runs, "cv-bad", config=config, fingerprint=fp)
    bad["aggregate"]["test_mape_mean"] = "low"
    (runs / "cv" / "cv-bad" / "cv.json").write_text(json.dumps(bad))
    said = []
    store = tmp_path / "store.duckdb"
    report = sync(runs, store, say=said.append)
    assert report.cv == ["cv-good"]
    assert set(report.skipped) == {"cv/cv-broken", "cv/cv-bad"}
    assert "cv-broken/cv.json" in report.skipped["cv/cv-broken"] and "JSON" in report.skipped["cv/cv-broken"]
    assert "cv-bad/cv.json" in report.skipped["cv/cv-bad"] and "test_mape_mean" in report.skipped["cv/cv-bad"]
    assert any("cv-bad" in line for line in said)
    assert len(report.added) == 2  # the runs synced all the same
    assert scores(store, [bundled_run().name]).loc[bundled_run().name].cv_id == "cv-good"
